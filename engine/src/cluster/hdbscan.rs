//! HDBSCAN (hdbscan-rs) on a 5-D UMAP of a sample: the density-based method a job can
//! ask for (`"method": "hdbscan"`).

use super::groups::sample_rows;
use super::knn::{knn, majority};
use super::params::Params;
use super::quality::{self, Quality};
use super::umap;
use crate::error::{EngineError, Result};
use ndarray::{ArrayView2, Axis};
use rand_xoshiro::Xoshiro256PlusPlus;

/// HDBSCAN (hdbscan-rs) on a 5-D UMAP of a sample; other rows take the majority label of
/// their nearest sampled rows.
pub(super) fn hdbscan_on_umap(
    x: ArrayView2<f32>,
    params: &Params,
    rng: &mut Xoshiro256PlusPlus,
    check: &dyn Fn() -> Result<()>,
) -> Result<(Vec<i32>, Quality)> {
    let n = x.nrows();
    let idx = sample_rows(n, params.map_sample, rng);
    let sel = x.select(Axis(0), &idx);
    let up = umap::UmapParams { n_components: 5, tight: true, seed: params.seed, ..Default::default() };
    let layout = umap::fit(sel.view(), &up, check)?;
    let min_cluster_size = ((sel.nrows() as f64 * params.min_cluster_share) as usize).max(5);
    let hp = hdbscan_rs::HdbscanParams { min_cluster_size, ..Default::default() };
    let mut model = hdbscan_rs::Hdbscan::new(hp);
    let sample_labels = model.fit_predict(&layout.embedding.mapv(f64::from).view()).map_err(EngineError::internal)?;
    check()?;
    let mut labels = vec![-1i32; n];
    let in_sample: Vec<Option<usize>> = {
        let mut v = vec![None; n];
        idx.iter().enumerate().for_each(|(p, &i)| v[i] = Some(p));
        v
    };
    let rest: Vec<usize> = (0..n).filter(|i| in_sample[*i].is_none()).collect();
    let (nn, _) = knn(x.select(Axis(0), &rest).view(), sel.view(), 15, false);
    for (r, &i) in rest.iter().enumerate() {
        labels[i] = majority(nn[r].iter().map(|&j| sample_labels[j as usize])).0;
    }
    for (p, &i) in idx.iter().enumerate() {
        labels[i] = sample_labels[p];
    }
    let k = labels.iter().copied().max().unwrap_or(-1) + 1;
    let sil_idx = sample_rows(n, params.k_sample, rng);
    let sil_labels: Vec<i32> = sil_idx.iter().map(|&i| labels[i]).collect();
    let silhouette = if k >= 2 { quality::silhouette(x.select(Axis(0), &sil_idx).view(), &sil_labels) } else { 0.0 };
    Ok((labels, Quality { method: "hdbscan".into(), silhouette, ..Default::default() }))
}
