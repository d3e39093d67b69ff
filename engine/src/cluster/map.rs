//! The 2-D map: UMAP laid out from the sampled graph, and the mean positions of groups.

use super::communities::SampledGraph;
use super::groups::cluster_sizes;
use super::params::Params;
use super::umap;
use crate::error::Result;
use ndarray::{Array2, ArrayView2, Axis};

/// The 2-D map: UMAP laid out from the sample graph, the other rows placed by transform.
pub(super) fn project(
    x: ArrayView2<f32>,
    params: &Params,
    graph: SampledGraph,
    check: &dyn Fn() -> Result<()>,
) -> Result<Array2<f32>> {
    let n = x.nrows();
    let up = umap::UmapParams { n_components: 2, seed: params.seed, n_epochs: params.map_epochs, ..Default::default() };
    let SampledGraph { rows: idx, edges, rest: neighbours } = graph;
    let layout = umap::fit_graph(x.select(Axis(0), &idx).view(), edges, &up, check)?;
    let sel = x.select(Axis(0), &idx);
    let mut out = Array2::zeros((n, 2));
    let mut in_sample = vec![false; n];
    for (p, &i) in idx.iter().enumerate() {
        out.row_mut(i).assign(&layout.embedding.row(p));
        in_sample[i] = true;
    }
    let rest: Vec<usize> = (0..n).filter(|&i| !in_sample[i]).collect();
    for (c, chunk) in rest.chunks(20_000).enumerate() {
        let placed = match &neighbours {
            // The clustering's neighbours of these rows, found among the same sample.
            Some(rest) => {
                let (nn, nd) = rest.rows(c * 20_000..c * 20_000 + chunk.len());
                layout.place(&nn, &nd)
            }
            None => layout.transform(sel.view(), x.select(Axis(0), chunk).view(), up.n_neighbors),
        };
        for (p, &i) in chunk.iter().enumerate() {
            out.row_mut(i).assign(&placed.row(p));
        }
        check()?;
    }
    Ok(out)
}

/// Mean map position of each group's items (groups 0..k; -1 left out).
pub(super) fn mean_coords(coords: &[[f32; 2]], labels: &[i32], k: usize) -> Vec<[f32; 2]> {
    let sizes = cluster_sizes(labels, k);
    let mut out = vec![[0.0f32; 2]; k];
    for (l, c) in labels.iter().zip(coords) {
        if *l >= 0 {
            let o = &mut out[*l as usize];
            o[0] += c[0] / sizes[*l as usize] as f32;
            o[1] += c[1] / sizes[*l as usize] as f32;
        }
    }
    out
}
