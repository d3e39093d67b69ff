//! UMAP (McInnes, Healy & Melville 2018), as umap-learn computes it: a fuzzy k-nearest-
//! neighbour graph (per-point `rho` and `sigma`), symmetrised by fuzzy union, laid out by
//! stochastic gradient descent with negative sampling. Single-threaded with a seeded RNG,
//! so the same input and seed give the same layout. Points outside the fitted set are
//! placed at the membership-weighted mean of their nearest fitted points.

use super::knn::knn;
use crate::error::Result;
use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

#[derive(Debug, Clone)]
pub struct UmapParams {
    pub n_neighbors: usize,
    pub n_components: usize,
    pub n_epochs: usize,
    /// Layout curve: `min_dist` 0.1 (maps) or 0.0 (tight clumps, for clustering).
    pub tight: bool,
    pub negative_sample_rate: usize,
    pub seed: u64,
}

impl Default for UmapParams {
    fn default() -> Self {
        Self { n_neighbors: 15, n_components: 2, n_epochs: 200, tight: false, negative_sample_rate: 5, seed: 42 }
    }
}

/// A fitted layout: the coordinates of the fitted points.
pub struct Umap {
    pub embedding: Array2<f32>,
}

/// Membership strengths of each point's neighbours: exp(-(d - rho) / sigma), with sigma
/// chosen so that they sum to log2(k) (umap-learn's smooth_knn_dist).
fn memberships(dists: &[Vec<f32>]) -> Vec<Vec<f32>> {
    dists
        .iter()
        .map(|d| {
            let k = d.len().max(1) as f64;
            let target = k.log2();
            let rho = d.iter().copied().find(|&x| x > 0.0).unwrap_or(0.0) as f64;
            let (mut lo, mut hi, mut sigma) = (0.0f64, f64::INFINITY, 1.0f64);
            for _ in 0..64 {
                let sum: f64 = d.iter().map(|&x| (-((f64::from(x) - rho).max(0.0)) / sigma).exp()).sum();
                if (sum - target).abs() < 1e-5 {
                    break;
                }
                if sum > target {
                    hi = sigma;
                    sigma = (lo + hi) / 2.0;
                } else {
                    lo = sigma;
                    sigma = if hi.is_infinite() { sigma * 2.0 } else { (lo + hi) / 2.0 };
                }
            }
            let mean = d.iter().map(|&x| f64::from(x)).sum::<f64>() / k;
            let sigma = sigma.max(1e-3 * mean).max(1e-12);
            d.iter().map(|&x| (-((f64::from(x) - rho).max(0.0)) / sigma).exp() as f32).collect()
        })
        .collect()
}

/// Fits a layout of the rows of `x`. `check` is called between epochs and may stop the fit.
pub fn fit(x: ArrayView2<f32>, params: &UmapParams, check: &dyn Fn() -> Result<()>) -> Result<Umap> {
    if x.nrows() < 3 {
        return Ok(Umap { embedding: initial_layout(x, params.n_components) });
    }
    let (idx, dist) = knn(x, x, params.n_neighbors, true);
    check()?;
    fit_graph(x, fuzzy_graph(&idx, &dist), params, check)
}

/// UMAP's fuzzy graph of k nearest neighbours (`idx`, `dist` of each row, from `knn`):
/// one edge per unordered pair of neighbours, weighted by the fuzzy union
/// w_ij + w_ji - w_ij * w_ji of their memberships. The clustering step reads communities
/// from the same graph.
pub fn fuzzy_graph(idx: &[Vec<u32>], dist: &[Vec<f32>]) -> Vec<(u32, u32, f32)> {
    let n = idx.len();
    let w = memberships(dist);
    let mut directed: Vec<(u32, u32, f32)> = Vec::with_capacity(n * idx.first().map_or(0, Vec::len));
    for i in 0..n {
        for (j, wij) in idx[i].iter().zip(&w[i]) {
            let (a, b) = if (i as u32) < *j { (i as u32, *j) } else { (*j, i as u32) };
            directed.push((a, b, *wij));
        }
    }
    directed.sort_unstable_by_key(|p| (p.0, p.1));
    let mut edges: Vec<(u32, u32, f32)> = Vec::with_capacity(directed.len());
    for (a, b, wv) in directed {
        match edges.last_mut() {
            Some(last) if last.0 == a && last.1 == b => last.2 = last.2 + wv - last.2 * wv,
            _ => edges.push((a, b, wv)),
        }
    }
    edges
}

/// Lays out the rows of `x` from their fuzzy graph (`fuzzy_graph` of the same rows).
pub fn fit_graph(
    x: ArrayView2<f32>,
    mut edges: Vec<(u32, u32, f32)>,
    params: &UmapParams,
    check: &dyn Fn() -> Result<()>,
) -> Result<Umap> {
    let n = x.nrows();
    let dim = params.n_components;
    let mut embedding = initial_layout(x, dim);
    if n < 3 || edges.is_empty() {
        return Ok(Umap { embedding });
    }
    let max_w = edges.iter().map(|e| e.2).fold(0.0f32, f32::max);
    let n_epochs = params.n_epochs as f32;
    edges.retain(|e| e.2 >= max_w / n_epochs);
    let epochs_per_sample: Vec<f32> = edges.iter().map(|e| max_w / e.2).collect();
    let neg_rate = params.negative_sample_rate as f32;
    let epochs_per_negative: Vec<f32> = epochs_per_sample.iter().map(|e| e / neg_rate).collect();
    let mut next_sample = epochs_per_sample.clone();
    let mut next_negative = epochs_per_negative.clone();
    let (a, b) = if params.tight { (1.896_082_4_f32, 0.800_637_3_f32) } else { (1.576_943_5_f32, 0.895_060_9_f32) };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(params.seed);
    let mut cur = vec![0.0f32; dim];
    for epoch in 0..params.n_epochs {
        let alpha = 1.0 - epoch as f32 / n_epochs;
        let now = epoch as f32;
        for e in 0..edges.len() {
            if next_sample[e] > now {
                continue;
            }
            let (i, j) = (edges[e].0 as usize, edges[e].1 as usize);
            let d2 = squared_distance(&embedding, i, j);
            if d2 > 0.0 {
                let coeff = -2.0 * a * b * d2.powf(b - 1.0) / (a * d2.powf(b) + 1.0);
                for c in 0..dim {
                    let g = (coeff * (embedding[[i, c]] - embedding[[j, c]])).clamp(-4.0, 4.0) * alpha;
                    embedding[[i, c]] += g;
                    embedding[[j, c]] -= g;
                }
            }
            next_sample[e] += epochs_per_sample[e];
            let n_neg = ((now - next_negative[e]) / epochs_per_negative[e]).max(0.0) as usize;
            for _ in 0..n_neg {
                let other = rng.gen_range(0..n);
                if other == i {
                    continue;
                }
                let d2 = squared_distance(&embedding, i, other);
                cur.iter_mut().enumerate().for_each(|(c, v)| *v = embedding[[i, c]] - embedding[[other, c]]);
                let coeff = if d2 > 0.0 { 2.0 * b / ((0.001 + d2) * (a * d2.powf(b) + 1.0)) } else { 0.0 };
                for (c, diff) in cur.iter().enumerate() {
                    let g = if coeff > 0.0 { (coeff * diff).clamp(-4.0, 4.0) } else { 4.0 };
                    embedding[[i, c]] += g * alpha;
                }
            }
            next_negative[e] += n_neg as f32 * epochs_per_negative[e];
        }
        if epoch % 10 == 0 {
            check()?;
        }
    }
    Ok(Umap { embedding })
}

impl Umap {
    /// Places new points given in the same space as the fitted `x`.
    pub fn transform(&self, fitted: ArrayView2<f32>, new: ArrayView2<f32>, n_neighbors: usize) -> Array2<f32> {
        let (idx, dist) = knn(new, fitted, n_neighbors, false);
        self.place(&idx, &dist)
    }

    /// Places new points from their nearest fitted points (`idx`, `dist` as `knn` gives
    /// them): each at the membership-weighted mean of its neighbours' positions.
    pub fn place(&self, idx: &[Vec<u32>], dist: &[Vec<f32>]) -> Array2<f32> {
        let w = memberships(dist);
        let dim = self.embedding.ncols();
        let mut out = Array2::zeros((idx.len(), dim));
        for r in 0..idx.len() {
            let total: f32 = w[r].iter().sum::<f32>().max(1e-12);
            for (j, wj) in idx[r].iter().zip(&w[r]) {
                for c in 0..dim {
                    out[[r, c]] += self.embedding[[*j as usize, c]] * wj / total;
                }
            }
        }
        out
    }
}

fn squared_distance(e: &Array2<f32>, i: usize, j: usize) -> f32 {
    e.row(i).iter().zip(e.row(j)).map(|(p, q)| (p - q) * (p - q)).sum()
}

/// The first `dim` columns of `x` (leading principal components when `x` comes from PCA),
/// scaled into [-10, 10] as umap-learn scales its spectral initialisation.
fn initial_layout(x: ArrayView2<f32>, dim: usize) -> Array2<f32> {
    let mut e = Array2::zeros((x.nrows(), dim));
    for c in 0..dim.min(x.ncols()) {
        let col = x.column(c);
        let max = col.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
        e.column_mut(c).assign(&col.mapv(|v| v / max * 10.0));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::quality::trustworthiness;

    fn blobs(n_per: usize, centers: &[[f32; 5]], seed: u64) -> Array2<f32> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        Array2::from_shape_fn((n_per * centers.len(), 5), |(i, j)| centers[i / n_per][j] + rng.gen_range(-1.0..1.0))
    }

    #[test]
    fn layout_is_deterministic_and_keeps_neighbourhoods() {
        let x = blobs(60, &[[0.0; 5], [8.0, 0.0, 0.0, 0.0, 0.0], [0.0, 8.0, 8.0, 0.0, 0.0]], 1);
        let ok = || Ok(());
        let p = UmapParams { n_epochs: 100, ..Default::default() };
        let a = fit(x.view(), &p, &ok).unwrap();
        let b = fit(x.view(), &p, &ok).unwrap();
        assert_eq!(a.embedding, b.embedding);
        assert!(trustworthiness(x.view(), a.embedding.view(), 10) > 0.85);
        let placed = a.transform(x.view(), x.slice(ndarray::s![0..3, ..]), 15);
        assert_eq!(placed.nrows(), 3);
    }
}
