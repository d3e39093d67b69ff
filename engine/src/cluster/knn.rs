//! Exact k-nearest neighbours by blocks of matrix products (squared Euclidean distance).
//! Rows are independent, so the parallel loop gives the same answer on any thread count.

use ndarray::{s, Array2, ArrayView2, Axis};
use rayon::prelude::*;

const BLOCK: usize = 512;

/// For each row of `queries`, the indices and distances (not squared) of its `k` nearest
/// rows of `points`, nearest first. With `skip_self`, a query i never lists point i
/// (queries and points are then the same rows).
pub fn knn(
    queries: ArrayView2<f32>,
    points: ArrayView2<f32>,
    k: usize,
    skip_self: bool,
) -> (Vec<Vec<u32>>, Vec<Vec<f32>>) {
    crate::threads::init_pool();
    let k = k.min(points.nrows().saturating_sub(usize::from(skip_self)));
    let point_norms: Vec<f32> = points.rows().into_iter().map(|r| r.dot(&r)).collect();
    let blocks: Vec<usize> = (0..queries.nrows()).step_by(BLOCK).collect();
    let results: Vec<Vec<(Vec<u32>, Vec<f32>)>> = blocks
        .par_iter()
        .map(|&start| {
            let end = (start + BLOCK).min(queries.nrows());
            let q = queries.slice(s![start..end, ..]);
            let dots: Array2<f32> = q.dot(&points.t());
            let mut distances = Vec::with_capacity(points.nrows());
            q.rows()
                .into_iter()
                .zip(dots.axis_iter(Axis(0)))
                .enumerate()
                .map(|(offset, (qrow, drow))| {
                    let qn = qrow.dot(&qrow);
                    distances.clear();
                    distances.extend(drow.iter().zip(&point_norms).map(|(d, pn)| (qn + pn - 2.0 * d).max(0.0)));
                    let cand = smallest(&distances, skip_self.then_some(start + offset), k);
                    (cand.iter().map(|c| c.1).collect(), cand.iter().map(|c| c.0.sqrt()).collect())
                })
                .collect()
        })
        .collect();
    results.into_iter().flatten().unzip()
}

/// The `k` smallest `distances` with their indices (never `skip`), by (distance, index):
/// what sorting them all and keeping the first `k` gives, in one pass that keeps only `k`.
/// Most candidates are rejected by one comparison with the k-th so far; sorting all
/// 10,000 per query was most of the time of the graph's neighbours.
fn smallest(distances: &[f32], skip: Option<usize>, k: usize) -> Vec<(f32, u32)> {
    let mut best: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return best;
    }
    let mut kth = f32::INFINITY;
    for (j, &d) in distances.iter().enumerate() {
        // Indices rise, so a later candidate loses a tie: it must come strictly before
        // the k-th.
        if best.len() == k && d.total_cmp(&kth).is_ge() || Some(j) == skip {
            continue;
        }
        if best.len() == k {
            best.pop();
        }
        let at = best.partition_point(|b| b.0.total_cmp(&d).is_le());
        best.insert(at, (d, j as u32));
        if best.len() == k {
            kth = best[k - 1].0;
        }
    }
    best
}

/// The most frequent label among an item's neighbours (ties: the smallest; outliers, -1,
/// vote like any label), and the share of them it holds.
pub(super) fn majority(votes: impl Iterator<Item = i32>) -> (i32, f64) {
    let mut counts = std::collections::BTreeMap::new();
    let mut total = 0usize;
    votes.for_each(|v| {
        *counts.entry(v).or_insert(0usize) += 1;
        total += 1;
    });
    let (label, count) = counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))).unwrap_or((-1, 0));
    (label, count as f64 / total.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn finds_nearest_points() {
        let p = array![[0.0f32, 0.0], [1.0, 0.0], [5.0, 0.0], [0.0, 2.0]];
        let (idx, dist) = knn(p.view(), p.view(), 2, true);
        assert_eq!(idx[0], vec![1, 3]);
        assert_eq!(dist[0], vec![1.0, 2.0]);
        assert_eq!(idx[2], vec![1, 0]);
        let (idx, _) = knn(array![[4.0f32, 0.0]].view(), p.view(), 1, false);
        assert_eq!(idx[0], vec![2]);
    }

    /// Property: the k kept are the first k of all candidates fully sorted by (distance,
    /// index), ties and repeated distances included, for every k.
    #[test]
    fn keeps_what_a_full_sort_keeps() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
        for case in 0..300 {
            let n = rng.gen_range(0..60);
            // Few distinct distances, so that ties are common.
            let levels = rng.gen_range(1..8);
            let distances: Vec<f32> = (0..n).map(|_| rng.gen_range(0..levels) as f32 * 0.5).collect();
            let skip = (case % 2 == 0 && n > 0).then(|| rng.gen_range(0..n));
            let mut sorted: Vec<(f32, u32)> =
                distances.iter().enumerate().filter(|(j, _)| Some(*j) != skip).map(|(j, &d)| (d, j as u32)).collect();
            sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let k = rng.gen_range(0..=n + 2);
            sorted.truncate(k);
            assert_eq!(smallest(&distances, skip, k), sorted, "case {case}: {n} candidates, k = {k}, skip {skip:?}");
        }
    }
}
