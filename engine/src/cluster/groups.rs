//! What every step of the clustering shares: samples of rows, and the groups a labelling
//! makes (their sizes, their numbering by size, their centroids).

use ndarray::{s, ArrayView2};
use rand::seq::index::sample;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use std::borrow::Cow;

/// Indices of at most `m` of `n` rows, chosen by `rng`, in ascending order.
pub(super) fn sample_rows(n: usize, m: usize, rng: &mut Xoshiro256PlusPlus) -> Vec<usize> {
    if m >= n {
        return (0..n).collect();
    }
    let mut idx = sample(rng, n, m).into_vec();
    idx.sort_unstable();
    idx
}

/// Renumbers clusters 0.. by decreasing size (ties: by old number); returns their count.
pub(super) fn renumber_by_size(labels: &mut [i32]) -> usize {
    let k = labels.iter().copied().max().map_or(0, |m| (m + 1).max(0) as usize);
    let sizes = cluster_sizes(labels, k);
    let mut order: Vec<usize> = (0..k).filter(|&c| sizes[c] > 0).collect();
    order.sort_by(|a, b| sizes[*b].cmp(&sizes[*a]).then(a.cmp(b)));
    let mut new_id = vec![-1i32; k];
    order.iter().enumerate().for_each(|(new, &old)| new_id[old] = new as i32);
    labels.iter_mut().filter(|l| **l >= 0).for_each(|l| *l = new_id[*l as usize]);
    order.len()
}

/// Items of each group 0..k (-1, outliers, left out).
pub fn cluster_sizes(labels: &[i32], k: usize) -> Vec<usize> {
    let mut sizes = vec![0usize; k];
    labels.iter().filter(|&&l| l >= 0 && (l as usize) < k).for_each(|&l| sizes[l as usize] += 1);
    sizes
}

/// Columns summed per task by `centroids_of`.
const CENTROID_COLUMNS: usize = 64;

/// Unit-length mean of each cluster's (unit-length) rows. Blocks of columns are summed in
/// parallel, each over the rows in order: the same sums as one pass over the rows.
pub(super) fn centroids_of(x: ArrayView2<f32>, labels: &[i32], k: usize) -> Vec<Vec<f32>> {
    crate::threads::init_pool();
    let d = x.ncols();
    let blocks: Vec<Vec<Vec<f64>>> = (0..d)
        .step_by(CENTROID_COLUMNS)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|first| {
            let columns = x.slice(s![.., first..(first + CENTROID_COLUMNS).min(d)]);
            let mut sums = vec![vec![0.0f64; columns.ncols()]; k];
            for (row, &l) in columns.rows().into_iter().zip(labels) {
                if l >= 0 {
                    // A row of a block is contiguous: summed as a slice, the loop is vectorised.
                    let row = row.as_slice().map_or_else(|| Cow::Owned(row.to_vec()), Cow::Borrowed);
                    sums[l as usize].iter_mut().zip(row.iter()).for_each(|(s, v)| *s += f64::from(*v));
                }
            }
            sums
        })
        .collect();
    let sums = (0..k).map(|c| blocks.iter().flat_map(|b| b[c].iter().copied()).collect::<Vec<f64>>());
    sums.map(|s| {
        let norm = s.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        s.iter().map(|v| (v / norm) as f32).collect()
    })
    .collect()
}
