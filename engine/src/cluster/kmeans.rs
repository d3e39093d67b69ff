//! Lloyd's k-means with k-means++ seeding, distances by matrix products. Written here
//! because the k search runs hundreds of fits: linfa-clustering's KMeans measured ~10x
//! slower on these shapes (10 restarts at k = 20 on 1,500 x 50: 0.2–0.35 s), which put the
//! 10k-item run over its 5 s budget. Deterministic for a given random stream.
//!
//! `kmeans_auto`, the pipeline's k-means method, chooses k by the silhouette on a sample.

use super::groups::{cluster_sizes, sample_rows};
use super::knn::knn;
use super::params::Params;
use super::quality::{silhouette_by, Candidate, Quality};
use crate::error::{EngineError, Result};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// Squared distances of every row of `x` to every row of `c` (rows x k).
fn squared_distances(x: ArrayView2<f32>, x_norms: &Array1<f32>, c: &Array2<f32>) -> Array2<f32> {
    let c_norms: Array1<f32> = c.rows().into_iter().map(|r| r.dot(&r)).collect();
    let mut d = x.dot(&c.t());
    for (i, mut row) in d.rows_mut().into_iter().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (x_norms[i] + c_norms[j] - 2.0 * *v).max(0.0);
        }
    }
    d
}

/// k-means++: each next centre drawn with probability proportional to the squared
/// distance to the nearest centre so far.
fn seed(
    x: ArrayView2<f32>,
    x_norms: &Array1<f32>,
    k: usize,
    rng: &mut Xoshiro256PlusPlus,
    check: &dyn Fn() -> Result<()>,
) -> Result<Array2<f32>> {
    let n = x.nrows();
    let mut centres = Array2::zeros((k, x.ncols()));
    centres.row_mut(0).assign(&x.row(rng.gen_range(0..n)));
    let mut nearest: Vec<f32> = vec![f32::INFINITY; n];
    for c in 1..k {
        check()?;
        let last = centres.slice(ndarray::s![c - 1..c, ..]).to_owned();
        let d = squared_distances(x, x_norms, &last);
        for (i, v) in d.column(0).iter().enumerate() {
            nearest[i] = nearest[i].min(*v);
        }
        let total: f64 = nearest.iter().map(|&v| f64::from(v)).sum();
        let pick = if total > 0.0 {
            let mut target = rng.gen::<f64>() * total;
            nearest
                .iter()
                .position(|&v| {
                    target -= f64::from(v);
                    target <= 0.0
                })
                .unwrap_or(n - 1)
        } else {
            rng.gen_range(0..n)
        };
        centres.row_mut(c).assign(&x.row(pick));
    }
    Ok(centres)
}

/// One Lloyd run from `centres`: returns the final centres and their inertia. `check` is
/// asked before each iteration: an iteration costs rows x k x dim, and a cancel must not
/// wait for all of them.
fn lloyd(
    x: ArrayView2<f32>,
    x_norms: &Array1<f32>,
    mut centres: Array2<f32>,
    iterations: usize,
    check: &dyn Fn() -> Result<()>,
) -> Result<(Array2<f32>, f64)> {
    let (n, k) = (x.nrows(), centres.nrows());
    let mut labels = vec![usize::MAX; n];
    let mut inertia = f64::INFINITY;
    for _ in 0..iterations.max(1) {
        check()?;
        let d = squared_distances(x, x_norms, &centres);
        let mut changed = false;
        inertia = 0.0;
        for (i, row) in d.rows().into_iter().enumerate() {
            let (best, dist) =
                row.iter().enumerate().fold((0, f32::INFINITY), |a, (j, &v)| if v < a.1 { (j, v) } else { a });
            inertia += f64::from(dist);
            if labels[i] != best {
                labels[i] = best;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        let mut sums = Array2::<f32>::zeros((k, x.ncols()));
        let mut counts = vec![0usize; k];
        for (i, &l) in labels.iter().enumerate() {
            sums.row_mut(l).scaled_add(1.0, &x.row(i));
            counts[l] += 1;
        }
        for (c, &count) in counts.iter().enumerate() {
            if count > 0 {
                centres.row_mut(c).assign(&(&sums.row(c) / count as f32));
            } else {
                // An empty cluster takes the point farthest from its centre.
                let far = (0..n).max_by(|&a, &b| d[[a, labels[a]]].total_cmp(&d[[b, labels[b]]])).unwrap_or(0);
                centres.row_mut(c).assign(&x.row(far));
            }
        }
    }
    Ok((centres, inertia))
}

/// The centres with the lowest inertia over `runs` k-means++ starts (or one run from
/// `start`), each at most `iterations` Lloyd steps; `check` (a cancel) is asked before each
/// step and each centre drawn.
pub fn fit(
    x: ArrayView2<f32>,
    k: usize,
    runs: usize,
    iterations: usize,
    start: Option<&Array2<f32>>,
    rng: &mut Xoshiro256PlusPlus,
    check: &dyn Fn() -> Result<()>,
) -> Result<Array2<f32>> {
    let k = k.clamp(1, x.nrows().max(1));
    let x_norms: Array1<f32> = x.map_axis(Axis(1), |r| r.dot(&r));
    if let Some(c) = start {
        return Ok(lloyd(x, &x_norms, c.clone(), iterations, check)?.0);
    }
    let mut best: Option<(Array2<f32>, f64)> = None;
    for _ in 0..runs.max(1) {
        let run = lloyd(x, &x_norms, seed(x, &x_norms, k, rng, check)?, iterations, check)?;
        if best.as_ref().is_none_or(|b| run.1.total_cmp(&b.1).is_lt()) {
            best = Some(run);
        }
    }
    Ok(best.map_or_else(|| Array2::zeros((k, x.ncols())), |(c, _)| c))
}

/// k-means restarts for each k tried: a poor local optimum at the right k would hide it.
const SEARCH_RUNS: usize = 10;

/// Iterations of each of them: enough to rank the k, not to polish the centroids.
const SEARCH_ITERATIONS: usize = 25;

fn fit_kmeans(
    x: ArrayView2<f32>,
    k: usize,
    runs: usize,
    iterations: usize,
    start: Option<&Array2<f32>>,
    rng: &mut Xoshiro256PlusPlus,
    check: &dyn Fn() -> Result<()>,
) -> Result<Array2<f32>> {
    let centroids = fit(x, k, runs, iterations, start, &mut rng.clone(), check);
    rng.jump(); // the next fit draws from a fresh stream
    centroids
}

/// Index of the nearest row of `centroids` for each row of `x`.
pub(super) fn nearest_centroid(x: ArrayView2<f32>, centroids: &Array2<f32>) -> Vec<i32> {
    let (idx, _) = knn(x, centroids.view(), 1, false);
    idx.into_iter().map(|v| v[0] as i32).collect()
}

/// k-means with k chosen by the silhouette on a sample, among the k whose largest cluster
/// holds at most `max_cluster_share` of the sample (the collapse guard).
pub(super) fn kmeans_auto(
    x: ArrayView2<f32>,
    params: &Params,
    previous: Option<&Array2<f32>>,
    rng: &mut Xoshiro256PlusPlus,
    check: &dyn Fn() -> Result<()>,
) -> Result<(Vec<i32>, Quality)> {
    let n = x.nrows();
    let sel = x.select(Axis(0), &sample_rows(n, params.k_sample, rng));
    let m = sel.nrows();
    let norms: Vec<f32> = sel.rows().into_iter().map(|r| r.dot(&r)).collect();
    let gram = sel.dot(&sel.t());
    let dist = Array2::from_shape_fn((m, m), |(i, j)| (norms[i] + norms[j] - 2.0 * gram[[i, j]]).max(0.0).sqrt());
    let max_k = params.max_clusters.min(m / 5).max(2);
    // Each k gets its own random stream (the one a sequential search would use), so the
    // k can be tried in parallel and the result does not depend on the threads. `check`
    // touches PostgreSQL: only between batches, on this thread.
    crate::threads::init_pool();
    let ks: Vec<usize> = (2..=max_k).collect();
    let mut streams: Vec<Xoshiro256PlusPlus> = ks
        .iter()
        .map(|_| {
            let stream = rng.clone();
            rng.jump();
            stream
        })
        .collect();
    let try_k = |k: usize, stream: &mut Xoshiro256PlusPlus| -> Result<Candidate> {
        // On a pool thread, where `check` (it touches PostgreSQL) must not run: the batches
        // of k check between them, and each fit is on the k_sample rows only.
        let centroids = fit_kmeans(sel.view(), k, SEARCH_RUNS, SEARCH_ITERATIONS, None, stream, &|| Ok(()))?;
        let labels = nearest_centroid(sel.view(), &centroids);
        let sizes = cluster_sizes(&labels, k);
        let share = |s: Option<usize>| s.unwrap_or(0) as f64 / m as f64;
        let (largest, smallest) = (share(sizes.iter().copied().max()), share(sizes.iter().copied().min()));
        Ok((k, silhouette_by(&labels, |i, j| dist[[i, j]]), largest, smallest))
    };
    let mut candidates = Vec::new();
    for (batch, batch_streams) in ks.chunks(4).zip(streams.chunks_mut(4)) {
        let tried: Vec<Result<Candidate>> =
            batch.par_iter().zip(batch_streams.par_iter_mut()).map(|(&k, s)| try_k(k, s)).collect();
        for candidate in tried {
            candidates.push(candidate?);
        }
        check()?;
    }
    // Silhouettes of neighbouring k differ by less than their sampling noise in high
    // dimensions, so the smallest k within `k_tolerance` of the best one wins. Guards: no
    // cluster over `max_cluster_share` (collapse), none under `min_cluster_share` (many
    // tiny clusters lift the silhouette of structureless data).
    let guarded: Vec<_> = candidates
        .iter()
        .filter(|c| c.2 <= params.max_cluster_share && c.3 >= params.min_cluster_share)
        .copied()
        .collect();
    let top = guarded.iter().map(|c| c.1).fold(f64::NEG_INFINITY, f64::max);
    let near_top = |c: &&Candidate| c.1 >= top - params.k_tolerance * top.abs();
    // Hysteresis: the previous run's k is kept unless another k is clearly better (by more
    // than twice the tolerance), so clusters keep their identity from day to day instead
    // of flickering between nearly equal silhouettes.
    let kept = |c: &&Candidate| c.1 >= top - 2.0 * params.k_tolerance * top.abs();
    let previous_k = previous.map(|c| c.nrows());
    let best = previous_k
        .and_then(|k| guarded.iter().filter(kept).find(|c| c.0 == k))
        .or_else(|| guarded.iter().find(near_top))
        .or_else(|| candidates.iter().min_by(|a, b| a.2.total_cmp(&b.2)))
        .copied()
        .ok_or_else(|| EngineError::internal("no k was tried"))?;
    let fit_rows = x.select(Axis(0), &sample_rows(n, params.fit_sample, rng));
    let start = previous.filter(|c| c.nrows() == best.0);
    let centroids = fit_kmeans(fit_rows.view(), best.0, params.kmeans_runs, 100, start, rng, check)?;
    check()?;
    let labels = nearest_centroid(x, &centroids);
    Ok((
        labels,
        Quality { method: "kmeans".into(), silhouette: best.1, k_candidates: candidates, ..Default::default() },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn finds_separated_groups_deterministically() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let x =
            Array2::from_shape_fn((300, 4), |(i, j)| if j == i % 3 { 5.0 } else { 0.0 } + rng.gen_range(-0.5f32..0.5));
        let a = fit(x.view(), 3, 5, 50, None, &mut Xoshiro256PlusPlus::seed_from_u64(1), &|| Ok(())).unwrap();
        let b = fit(x.view(), 3, 5, 50, None, &mut Xoshiro256PlusPlus::seed_from_u64(1), &|| Ok(())).unwrap();
        assert_eq!(a, b);
        // Each centre sits near one group's corner.
        let mut corners: Vec<usize> = a
            .rows()
            .into_iter()
            .map(|r| r.iter().enumerate().fold(0, |m, (j, v)| if *v > r[m] { j } else { m }))
            .collect();
        corners.sort_unstable();
        assert_eq!(corners, vec![0, 1, 2]);
    }

    #[test]
    fn a_start_is_refined_not_replaced() {
        let x = Array2::from_shape_vec((4, 1), vec![0.0, 0.2, 10.0, 10.2]).unwrap();
        let start = Array2::from_shape_vec((2, 1), vec![1.0, 9.0]).unwrap();
        let c = fit(x.view(), 2, 1, 10, Some(&start), &mut Xoshiro256PlusPlus::seed_from_u64(0), &|| Ok(())).unwrap();
        assert!((c[[0, 0]] - 0.1).abs() < 1e-6 && (c[[1, 0]] - 10.1).abs() < 1e-6, "{c:?}");
    }
}
