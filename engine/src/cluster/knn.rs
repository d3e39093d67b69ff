//! Exact k-nearest neighbours by blocks of matrix products (squared Euclidean distance).
//! Rows are independent, so the parallel loop gives the same answer on any thread count.
//! Against many points, the points are first grouped into cells (a few rounds of k-means)
//! and a block of queries skips every cell that the triangle inequality puts beyond each
//! of its queries' k-th nearest so far: the same neighbours and distances, bit for bit,
//! for a fraction of the products when the points have structure.

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
/// Points from which a search goes by cells, and the largest `k` it does so for: fewer
/// points are one or two blocks of products anyway, and a large `k` (the quality check's
/// every-other-row) reaches into every cell.
const CELLS_FROM: usize = 4096;
const CELLS_UP_TO_K: usize = 64;
/// Rounds of k-means that place the cells: cells need only be compact, not optimal.
const CELL_ROUNDS: usize = 3;
/// What a bound gives away to rounding, as a share of the data's scale (the longest row):
/// far above the f32 products' error, so a skipped cell is one the exact distances would
/// have left out too.
const SLACK_SHARE: f32 = 4e-3;

/// For each row of `queries`, the indices and distances (not squared) of its `k` nearest
/// rows of `points`, nearest first (ties: the lower index). With `skip_self`, a query i
/// never lists point i (queries and points are then the same rows).
pub fn knn(
    queries: ArrayView2<f32>,
    points: ArrayView2<f32>,
    k: usize,
    skip_self: bool,
) -> (Vec<Vec<u32>>, Vec<Vec<f32>>) {
    crate::threads::init_pool();
    let k = k.min(points.nrows().saturating_sub(usize::from(skip_self)));
    let found = if k > 0 && k <= CELLS_UP_TO_K && points.nrows() >= CELLS_FROM && queries.nrows() >= QUERY_BLOCK {
        Cells::new(points).search(queries, k, skip_self)
    } else {
        let ids: Vec<u32> = (0..points.nrows() as u32).collect();
        let norms = row_norms(points);
        all_points(queries, points, &ids, &norms, k, skip_self)
    };
    found
        .into_iter()
        .map(|n| (n.best.iter().map(|c| c.1).collect(), n.best.iter().map(|c| c.0.sqrt()).collect()))
        .unzip()
}

fn row_norms(rows: ArrayView2<f32>) -> Vec<f32> {
    rows.rows().into_iter().map(|r| r.dot(&r)).collect()
}

/// The length of the longest of `rows`: the data's scale, for a bound's slack.
fn largest_norm(rows: ArrayView2<f32>) -> f32 {
    row_norms(rows).into_iter().fold(0.0f32, f32::max).sqrt()
}

/// Each row's nearest of `others` (few: the cells' centres), by the full search.
fn nearest_row(rows: ArrayView2<f32>, others: ArrayView2<f32>) -> Vec<u32> {
    knn(rows, others, 1, false).0.into_iter().map(|nearest| nearest.first().copied().unwrap_or(0)).collect()
}

/// Every query against every point (`ids[j]` is point j's index, `norms[j]` its squared
/// norm), by blocks of products.
fn all_points(
    queries: ArrayView2<f32>,
    points: ArrayView2<f32>,
    ids: &[u32],
    norms: &[f32],
    k: usize,
    skip_self: bool,
) -> Vec<Nearest> {
    let blocks: Vec<usize> = (0..queries.nrows()).step_by(QUERY_BLOCK).collect();
    let results: Vec<Vec<Nearest>> = blocks
        .par_iter()
        .map(|&start| {
            let end = (start + QUERY_BLOCK).min(queries.nrows());
            let q = queries.slice(s![start..end, ..]);
            let query_norms = row_norms(q);
            let mut nearest: Vec<Nearest> = (0..end - start).map(|_| Nearest::new(k)).collect();
            let mut distances = Vec::with_capacity(POINT_BLOCK);
            for first in (0..points.nrows()).step_by(POINT_BLOCK) {
                let last = (first + POINT_BLOCK).min(points.nrows());
                let skip = |offset: usize| skip_self.then_some((start + offset) as u32);
                offer_block(
                    q,
                    &query_norms,
                    points.slice(s![first..last, ..]),
                    &ids[first..last],
                    &norms[first..last],
                    &mut nearest,
                    &mut distances,
                    skip,
                );
            }
            nearest
        })
        .collect();
    results.into_iter().flatten().collect()
}

/// Offers every point of `points` (indices `ids`, squared norms `norms`) to each query of
/// `q` (squared norms `query_norms`), through one matrix product.
#[allow(clippy::too_many_arguments)]
fn offer_block(
    q: ArrayView2<f32>,
    query_norms: &[f32],
    points: ArrayView2<f32>,
    ids: &[u32],
    norms: &[f32],
    nearest: &mut [Nearest],
    distances: &mut Vec<f32>,
    skip: impl Fn(usize) -> Option<u32>,
) {
    let dots: Array2<f32> = q.dot(&points.t());
    for (offset, drow) in dots.axis_iter(Axis(0)).enumerate() {
        let qn = query_norms[offset];
        // Contiguous (the products are a new array): a loop over slices is vectorised.
        let drow = drow.as_slice().map_or_else(|| Cow::Owned(drow.to_vec()), Cow::Borrowed);
        distances.clear();
        distances.extend(drow.iter().zip(norms).map(|(d, pn)| (qn + pn - 2.0 * d).max(0.0)));
        // `ids` rise (a block of the points, or of a cell's rows in index order).
        let skip_at = skip(offset).and_then(|s| ids.binary_search(&s).ok());
        nearest[offset].offer(distances, ids, skip_at);
    }
}

/// The points grouped into cells: each cell's rows contiguous (`rows`, in the order of
/// `ids`, their indices in the points given), its centre and its radius.
struct Cells {
    rows: Array2<f32>,
    ids: Vec<u32>,
    norms: Vec<f32>,
    /// Cell c holds rows `starts[c]..starts[c + 1]`.
    starts: Vec<usize>,
    centres: Array2<f32>,
    centre_norms: Vec<f32>,
    radius: Vec<f32>,
    /// What a bound gives away to rounding, for the points' scale (`SLACK_SHARE`).
    slack: f32,
}

impl Cells {
    fn new(points: ArrayView2<f32>) -> Cells {
        let n = points.nrows();
        let m = ((n as f64).sqrt().round() as usize).clamp(8, 512);
        let point_ids: Vec<u32> = (0..n as u32).collect();
        let point_norms = row_norms(points);
        // Deterministic seeds, spread over the rows.
        let mut centres = points.select(Axis(0), &(0..m).map(|c| c * n / m).collect::<Vec<_>>());
        let mut cell = nearest_row(points, centres.view());
        for _ in 0..CELL_ROUNDS {
            // Each centre to the mean of its rows (an empty cell keeps its centre).
            let mut sums = Array2::<f32>::zeros(centres.dim());
            let mut counts = vec![0usize; m];
            for (row, &c) in points.rows().into_iter().zip(&cell) {
                sums.row_mut(c as usize).scaled_add(1.0, &row);
                counts[c as usize] += 1;
            }
            for (c, &count) in counts.iter().enumerate() {
                if count > 0 {
                    centres.row_mut(c).assign(&(&sums.row(c) / count as f32));
                }
            }
            cell = nearest_row(points, centres.view());
        }
        let mut ids = point_ids;
        ids.sort_by_key(|&i| (cell[i as usize], i));
        let mut starts = vec![0usize; m + 1];
        for &i in &ids {
            starts[cell[i as usize] as usize + 1] += 1;
        }
        for c in 0..m {
            starts[c + 1] += starts[c];
        }
        let order: Vec<usize> = ids.iter().map(|&i| i as usize).collect();
        let rows = points.select(Axis(0), &order);
        let norms: Vec<f32> = order.iter().map(|&i| point_norms[i]).collect();
        let mut radius = vec![0.0f32; m];
        for c in 0..m {
            let centre = centres.row(c);
            for r in starts[c]..starts[c + 1] {
                let d = rows.row(r).iter().zip(centre).map(|(a, b)| (a - b) * (a - b)).sum::<f32>().sqrt();
                radius[c] = radius[c].max(d);
            }
        }
        let centre_norms = row_norms(centres.view());
        Cells { rows, ids, norms, starts, centres, centre_norms, radius, slack: largest_norm(points) * SLACK_SHARE }
    }

    fn search(&self, queries: ArrayView2<f32>, k: usize, skip_self: bool) -> Vec<Nearest> {
        let m = self.radius.len();
        // Queries in the order of their nearest cell, so that a block's queries want the
        // same cells.
        let home = nearest_row(queries, self.centres.view());
        let mut order: Vec<u32> = (0..queries.nrows() as u32).collect();
        order.sort_by_key(|&i| (home[i as usize], i));
        let slack = self.slack + largest_norm(queries) * SLACK_SHARE;
        let blocks: Vec<&[u32]> = order.chunks(QUERY_BLOCK).collect();
        let results: Vec<Vec<(u32, Nearest)>> = blocks
            .par_iter()
            .map(|block| {
                let rows: Vec<usize> = block.iter().map(|&i| i as usize).collect();
                let q = queries.select(Axis(0), &rows);
                let query_norms = row_norms(q.view());
                // Distances to the centres, and what each cell can offer at best.
                let to_centres: Array2<f32> = q.dot(&self.centres.t());
                let bound = |offset: usize, c: usize| {
                    let d =
                        (query_norms[offset] + self.centre_norms[c] - 2.0 * to_centres[[offset, c]]).max(0.0).sqrt();
                    let lower = (d - self.radius[c] - slack).max(0.0);
                    lower * lower
                };
                let mut cells: Vec<(f32, usize)> = (0..m)
                    .filter(|&c| self.starts[c] < self.starts[c + 1])
                    .map(|c| ((0..rows.len()).map(|o| bound(o, c)).fold(f32::INFINITY, f32::min), c))
                    .collect();
                cells.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                let mut nearest: Vec<Nearest> = (0..rows.len()).map(|_| Nearest::new(k)).collect();
                let mut distances = Vec::new();
                for &(_, c) in &cells {
                    let wanted = nearest.iter().enumerate().any(|(o, n)| !n.full() || bound(o, c) <= n.kth);
                    if !wanted {
                        continue;
                    }
                    let span = self.starts[c]..self.starts[c + 1];
                    for first in span.clone().step_by(POINT_BLOCK) {
                        let last = (first + POINT_BLOCK).min(span.end);
                        let skip = |offset: usize| skip_self.then_some(block[offset]);
                        offer_block(
                            q.view(),
                            &query_norms,
                            self.rows.slice(s![first..last, ..]),
                            &self.ids[first..last],
                            &self.norms[first..last],
                            &mut nearest,
                            &mut distances,
                            skip,
                        );
                    }
                }
                block.iter().copied().zip(nearest).collect()
            })
            .collect();
        let mut found: Vec<Option<Nearest>> = (0..queries.nrows()).map(|_| None).collect();
        for (i, n) in results.into_iter().flatten() {
            found[i as usize] = Some(n);
        }
        found.into_iter().map(|n| n.unwrap_or_else(|| Nearest::new(k))).collect()
    }
}

/// The `k` smallest distances offered so far with their indices, by (distance, index):
/// what sorting them all and keeping the first `k` gives, keeping only `k`, whatever the
/// order candidates come in. Most are rejected by one vector comparison of `SCREEN` of
/// them with the k-th so far (sorting all 10,000 per query, then comparing each, was most
/// of the time of the graph's neighbours).
struct Nearest {
    k: usize,
    best: Vec<(f32, u32)>,
    kth: f32,
}

impl Nearest {
    fn new(k: usize) -> Self {
        Nearest { k, best: Vec::with_capacity(k + 1), kth: f32::INFINITY }
    }

    fn full(&self) -> bool {
        self.best.len() == self.k
    }

    /// Offers `distances[j]` as candidate `ids[j]`, except the one at `skip_at`.
    fn offer(&mut self, distances: &[f32], ids: &[u32], skip_at: Option<usize>) {
        if self.k == 0 {
            return;
        }
        for (c, (screen, screen_ids)) in distances.chunks(SCREEN).zip(ids.chunks(SCREEN)).enumerate() {
            let base = c * SCREEN;
            let skip_here = skip_at.is_some_and(|s| (base..base + screen.len()).contains(&s));
            // Conservative: a NaN or a tie with the k-th goes to the exact comparison.
            let kth = self.kth;
            let any = match <&[f32; SCREEN]>::try_from(screen) {
                Ok(full) => full.iter().fold(false, |a, &d| a | (d <= kth) | d.is_nan()),
                Err(_) => screen.iter().any(|&d| d <= kth || d.is_nan()),
            };
            if !self.full() || skip_here || any {
                for (o, (&d, &j)) in screen.iter().zip(screen_ids).enumerate() {
                    if Some(base + o) != skip_at {
                        self.consider(d, j);
                    }
                }
            }
        }
    }

    fn consider(&mut self, d: f32, j: u32) {
        let k = self.k;
        let before = |a: &(f32, u32), b: &(f32, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).is_lt();
        if self.full() && !before(&(d, j), &self.best[k - 1]) {
            return;
        }
        if self.full() {
            self.best.pop();
        }
        let at = self.best.partition_point(|b| before(b, &(d, j)));
        self.best.insert(at, (d, j));
        if self.full() {
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

    /// Points in `groups` tight groups of `dim` dimensions, a tenth of them exact copies of
    /// others (ties), as rows of a matrix.
    fn grouped(n: usize, dim: usize, groups: usize, seed: u64) -> Array2<f32> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let centres: Vec<f32> = (0..groups * dim).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let mut rows = Array2::<f32>::zeros((n, dim));
        for i in 0..n {
            if i > 0 && rng.gen_range(0..10) == 0 {
                let copy = rows.row(rng.gen_range(0..i)).to_owned();
                rows.row_mut(i).assign(&copy);
                continue;
            }
            let g = rng.gen_range(0..groups);
            for j in 0..dim {
                rows[[i, j]] = centres[g * dim + j] + rng.gen_range(-0.1..0.1);
            }
        }
        rows
    }

    /// The search by cells keeps exactly what offering every point keeps, distances bit for
    /// bit and ties to the lower index, with and without a query's own row, for grouped
    /// points (cells skipped) and for points with no groups (every cell searched).
    #[test]
    fn cells_keep_what_every_point_gives() {
        for (case, (n, dim, groups, k)) in
            [(1500, 8, 12, 15), (1200, 5, 1, 7), (2000, 20, 40, 1), (900, 3, 6, 64)].into_iter().enumerate()
        {
            let points = grouped(n, dim, groups, case as u64);
            let ids: Vec<u32> = (0..n as u32).collect();
            let norms = row_norms(points.view());
            let cells = Cells::new(points.view());
            let best = |found: Vec<Nearest>| found.into_iter().map(|f| f.best).collect::<Vec<_>>();
            let own = best(cells.search(points.view(), k, true));
            assert_eq!(
                own,
                best(all_points(points.view(), points.view(), &ids, &norms, k, true)),
                "case {case}, own rows"
            );
            assert!(own.iter().enumerate().all(|(i, b)| b.len() == k && b.iter().all(|c| c.1 as usize != i)));
            // Other queries: new rows near the groups and copies of points.
            let mut queries = grouped(700, dim, groups, case as u64 + 100);
            for r in 0..50 {
                queries.row_mut(r * 7).assign(&points.row(r * 13));
            }
            assert_eq!(
                best(cells.search(queries.view(), k, false)),
                best(all_points(queries.view(), points.view(), &ids, &norms, k, false)),
                "case {case}, other queries"
            );
        }
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
            let ids: Vec<u32> = (0..n as u32).collect();
            let mut first = 0;
            while first < n {
                let last = (first + rng.gen_range(1..40)).min(n);
                let skip_at = skip.filter(|s| (first..last).contains(s)).map(|s| s - first);
                nearest.offer(&distances[first..last], &ids[first..last], skip_at);
                first = last;
            }
            assert_eq!(nearest.best, sorted, "case {case}: {n} candidates, k = {k}, skip {skip:?}");
        }
    }
}
