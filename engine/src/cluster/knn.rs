//! Exact k-nearest neighbours by blocks of matrix products (squared Euclidean distance).
//! Rows are independent, so the parallel loop gives the same answer on any thread count.

use ndarray::{s, Array2, ArrayView2, Axis};
use rayon::prelude::*;
use std::borrow::Cow;

/// Queries per block of products, and points per product: a block of products (256 x
/// 2,048 floats, 2 MiB) is read back while it is still in cache, where products against
/// every point at once (512 x 10,000 floats at 100k items) went to memory and back.
const QUERY_BLOCK: usize = 256;
const POINT_BLOCK: usize = 2048;
/// Distances screened at once against the k-th so far (one vector comparison).
const SCREEN: usize = 16;

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
    let blocks: Vec<usize> = (0..queries.nrows()).step_by(QUERY_BLOCK).collect();
    let results: Vec<Vec<(Vec<u32>, Vec<f32>)>> = blocks
        .par_iter()
        .map(|&start| {
            let end = (start + QUERY_BLOCK).min(queries.nrows());
            let q = queries.slice(s![start..end, ..]);
            let query_norms: Vec<f32> = q.rows().into_iter().map(|r| r.dot(&r)).collect();
            let mut nearest: Vec<Nearest> = (0..end - start).map(|_| Nearest::new(k)).collect();
            let mut distances = Vec::with_capacity(POINT_BLOCK);
            for first in (0..points.nrows()).step_by(POINT_BLOCK) {
                let last = (first + POINT_BLOCK).min(points.nrows());
                let dots: Array2<f32> = q.dot(&points.slice(s![first..last, ..]).t());
                for (offset, drow) in dots.axis_iter(Axis(0)).enumerate() {
                    let qn = query_norms[offset];
                    // Contiguous (the products are a new array): a loop over slices is vectorised.
                    let drow = drow.as_slice().map_or_else(|| Cow::Owned(drow.to_vec()), Cow::Borrowed);
                    distances.clear();
                    distances
                        .extend(drow.iter().zip(&point_norms[first..last]).map(|(d, pn)| (qn + pn - 2.0 * d).max(0.0)));
                    nearest[offset].offer(&distances, first, skip_self.then_some(start + offset));
                }
            }
            nearest
                .into_iter()
                .map(|n| (n.best.iter().map(|c| c.1).collect(), n.best.iter().map(|c| c.0.sqrt()).collect()))
                .collect()
        })
        .collect();
    results.into_iter().flatten().unzip()
}

/// The `k` smallest distances offered so far with their indices, by (distance, index):
/// what sorting them all and keeping the first `k` gives, keeping only `k`. Candidates
/// are offered in ascending index order; most are rejected by one vector comparison of
/// `SCREEN` of them with the k-th so far (sorting all 10,000 per query, then comparing
/// each, was most of the time of the graph's neighbours).
struct Nearest {
    k: usize,
    best: Vec<(f32, u32)>,
    kth: f32,
}

impl Nearest {
    fn new(k: usize) -> Self {
        Nearest { k, best: Vec::with_capacity(k + 1), kth: f32::INFINITY }
    }

    /// Offers `distances[j]` as candidate `first + j`, never `skip`.
    fn offer(&mut self, distances: &[f32], first: usize, skip: Option<usize>) {
        if self.k == 0 {
            return;
        }
        for (c, screen) in distances.chunks(SCREEN).enumerate() {
            let base = first + c * SCREEN;
            let skip_here = skip.is_some_and(|s| (base..base + screen.len()).contains(&s));
            // Conservative: a NaN or a tie with the k-th goes to the exact comparison.
            let kth = self.kth;
            let any = match <&[f32; SCREEN]>::try_from(screen) {
                Ok(full) => full.iter().fold(false, |a, &d| a | (d <= kth) | d.is_nan()),
                Err(_) => screen.iter().any(|&d| d <= kth || d.is_nan()),
            };
            if self.best.len() < self.k || skip_here || any {
                for (o, &d) in screen.iter().enumerate() {
                    self.consider(d, base + o, skip);
                }
            }
        }
    }

    fn consider(&mut self, d: f32, j: usize, skip: Option<usize>) {
        let k = self.k;
        // Indices rise, so a later candidate loses a tie: it must come strictly before
        // the k-th.
        if self.best.len() == k && d.total_cmp(&self.kth).is_ge() || Some(j) == skip {
            return;
        }
        if self.best.len() == k {
            self.best.pop();
        }
        let at = self.best.partition_point(|b| b.0.total_cmp(&d).is_le());
        self.best.insert(at, (d, j as u32));
        if self.best.len() == k {
            self.kth = self.best[k - 1].0;
        }
    }
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
            // Offered in pieces of any length, as blocks of points are.
            let mut nearest = Nearest::new(k);
            let mut first = 0;
            while first < n {
                let last = (first + rng.gen_range(1..40)).min(n);
                nearest.offer(&distances[first..last], first, skip);
                first = last;
            }
            assert_eq!(nearest.best, sorted, "case {case}: {n} candidates, k = {k}, skip {skip:?}");
        }
    }
}
