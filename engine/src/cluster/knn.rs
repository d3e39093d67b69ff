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
            q.rows()
                .into_iter()
                .zip(dots.axis_iter(Axis(0)))
                .enumerate()
                .map(|(offset, (qrow, drow))| {
                    let qn = qrow.dot(&qrow);
                    let me = start + offset;
                    let mut cand: Vec<(f32, u32)> = drow
                        .iter()
                        .zip(&point_norms)
                        .enumerate()
                        .filter(|(j, _)| !(skip_self && *j == me))
                        .map(|(j, (d, pn))| ((qn + pn - 2.0 * d).max(0.0), j as u32))
                        .collect();
                    if k < cand.len() {
                        cand.select_nth_unstable_by(k, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                        cand.truncate(k);
                    }
                    cand.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    (cand.iter().map(|c| c.1).collect(), cand.iter().map(|c| c.0.sqrt()).collect())
                })
                .collect()
        })
        .collect();
    results.into_iter().flatten().unzip()
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
}
