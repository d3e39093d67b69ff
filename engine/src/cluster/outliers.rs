//! Outliers and radii: which items lie too far from their cluster, each cluster's radius for
//! placing new items, and each item's distance and rank within its cluster.

use crate::stats::median;
use ndarray::{ArrayView1, ArrayView2};
use rayon::prelude::*;

/// Flags as outliers (label -1) the items farther from their centroid than the cluster's
/// radius: median + z * 1.4826 * MAD of its distances (a robust z-score). With
/// `flag` false (HDBSCAN already chose its noise) radii are computed but nobody moves.
pub(super) fn outliers(
    x: ArrayView2<f32>,
    labels: &mut [i32],
    centroids: &[Vec<f32>],
    z: f64,
    flag: bool,
) -> (Vec<f32>, Vec<f32>) {
    let distance = nearest_distances(x, labels, centroids);
    let mut radius = Vec::with_capacity(centroids.len());
    for c in 0..centroids.len() {
        let mut d: Vec<f32> = labels.iter().zip(&distance).filter(|(l, _)| **l == c as i32).map(|(_, d)| *d).collect();
        if d.is_empty() {
            radius.push(f32::INFINITY);
            continue;
        }
        let med = median(&mut d).unwrap_or_default();
        let mut dev: Vec<f32> = d.iter().map(|v| (v - med).abs()).collect();
        let mad = median(&mut dev).unwrap_or_default();
        let max = d.iter().copied().fold(0.0f32, f32::max);
        let r = if flag { med + (z as f32) * 1.4826 * mad } else { max };
        radius.push(r.max(med));
    }
    if flag {
        for (l, d) in labels.iter_mut().zip(&distance) {
            if *l >= 0 && *d > radius[*l as usize] {
                *l = -1;
            }
        }
    }
    (distance, radius)
}

/// Each cluster's radius for placing new items (`assign`, `assign_pending`), calibrated on
/// the run: of the run's items nearest that cluster's centroid (its members and the
/// outliers nearest it), the same share lies beyond the radius as the run flagged. A new
/// item is then an outlier at the rate the run's own items were, cluster by cluster.
pub(super) fn calibrated_radii(x: ArrayView2<f32>, labels: &[i32], centroids: &[Vec<f32>]) -> (Vec<f32>, Vec<f32>) {
    let mut distance = Vec::with_capacity(labels.len());
    let mut pools: Vec<(Vec<f32>, usize)> = vec![(Vec::new(), 0); centroids.len()];
    for ((nearest, d), &l) in all_own_or_nearest(x, labels, centroids).into_iter().zip(labels) {
        distance.push(d);
        if let Some(pool) = pools.get_mut(nearest) {
            pool.0.push(d);
            pool.1 += usize::from(l < 0);
        }
    }
    let radius = pools
        .into_iter()
        .map(|(mut d, flagged)| {
            if d.is_empty() {
                return f32::INFINITY;
            }
            d.sort_unstable_by(f32::total_cmp);
            let kept = d.len() - flagged.min(d.len() - 1);
            d[kept - 1]
        })
        .collect();
    (distance, radius)
}

/// Items whose k-th neighbour is unusually far for this run: log distance more than `z`
/// robust standard deviations (1.4826 MAD) above the median. The score is the local
/// density the notes found to flag injected noise best; calibrated on each run's items.
/// Exact duplicates are common in real traffic (retries, templated prompts): when most
/// items have k identical neighbours the distances have no scale and nothing is flagged,
/// and the spread is never taken as narrower than 5% (in log units), so that a run of
/// near-copies does not make every small difference an outlier.
pub(super) fn low_density(kth_distance: &[f32], z: f64) -> Vec<bool> {
    let mut sorted = kth_distance.to_vec();
    let typical = median(&mut sorted).unwrap_or_default();
    if typical <= 1e-6 {
        return vec![false; kth_distance.len()];
    }
    let logs: Vec<f32> = kth_distance.iter().map(|d| d.max(1e-3 * typical).ln()).collect();
    let mut sorted = logs.clone();
    let med = median(&mut sorted).unwrap_or_default();
    let mut dev: Vec<f32> = logs.iter().map(|v| (v - med).abs()).collect();
    let mad = median(&mut dev).unwrap_or_default().max(0.05);
    logs.iter().map(|v| f64::from((v - med) / (1.4826 * mad)) > z).collect()
}

/// Distance of each row to its own centroid, or to the nearest one for outliers.
pub(super) fn nearest_distances(x: ArrayView2<f32>, labels: &[i32], centroids: &[Vec<f32>]) -> Vec<f32> {
    all_own_or_nearest(x, labels, centroids).into_iter().map(|(_, d)| d).collect()
}

/// [`own_or_nearest`] of every row, rows in parallel (each computed as alone).
fn all_own_or_nearest(x: ArrayView2<f32>, labels: &[i32], centroids: &[Vec<f32>]) -> Vec<(usize, f32)> {
    crate::threads::init_pool();
    (0..x.nrows().min(labels.len())).into_par_iter().map(|i| own_or_nearest(x.row(i), labels[i], centroids)).collect()
}

/// A row's cluster and its cosine distance to it: its own for a member (`label` >= 0),
/// the nearest one for an outlier.
fn own_or_nearest(row: ArrayView1<f32>, label: i32, centroids: &[Vec<f32>]) -> (usize, f32) {
    if label >= 0 {
        return (label as usize, cosine_distance(&centroids[label as usize], row));
    }
    centroids.iter().map(|c| cosine_distance(c, row)).enumerate().fold((0, f32::INFINITY), |best, (c, d)| {
        if d < best.1 {
            (c, d)
        } else {
            best
        }
    })
}

fn cosine_distance(a: &[f32], b: ArrayView1<f32>) -> f32 {
    (1.0 - a.iter().zip(b).map(|(p, q)| p * q).sum::<f32>()).max(0.0)
}

pub(super) fn ranks(labels: &[i32], distance: &[f32]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|&a, &b| labels[a].cmp(&labels[b]).then(distance[a].total_cmp(&distance[b])).then(a.cmp(&b)));
    let mut rank = vec![0u32; labels.len()];
    let mut prev = None;
    let mut r = 0;
    for i in order {
        if prev != Some(labels[i]) {
            r = 0;
            prev = Some(labels[i]);
        }
        rank[i] = r;
        r += 1;
    }
    rank
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::run;
    use super::super::{assign, quality, Params};
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn items_between_clusters_are_outliers_and_share_no_cluster() {
        // Two tight groups and items halfway between them (and noise around nothing).
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let dim = 32;
        let mut data = Vec::new();
        for i in 0..400 {
            let row: Vec<f32> = (0..dim)
                .map(|d| {
                    let base = match i % 20 {
                        0 => {
                            if d < 2 {
                                0.7
                            } else {
                                0.0
                            }
                        }
                        g if g % 2 == 0 => f32::from(d == 0),
                        _ => f32::from(d == 1),
                    };
                    base + 0.1 * rng.gen_range(-1.0f32..1.0)
                        + if i % 20 == 0 { 0.4 * rng.gen_range(-1.0f32..1.0) } else { 0.0 }
                })
                .collect();
            data.extend(row);
        }
        let r = run(&mut data, dim, &Params { map_epochs: 20, ..Params::default() }).unwrap();
        let flagged_between = (0..400).filter(|i| i % 20 == 0 && r.labels[*i] < 0).count();
        let flagged_inside = (0..400).filter(|i| i % 20 != 0 && r.labels[*i] < 0).count();
        assert!(flagged_between >= 10, "{flagged_between} of 20 in-between items flagged");
        assert!(flagged_inside <= 8, "{flagged_inside} of 380 group items flagged");
        assert!(r.quality.outlier_share < 0.1);
    }

    /// 5 topics in 32-d, one item in ten halfway between two of them.
    fn topics_and_strays(seed: u64) -> Vec<f32> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        (0..600)
            .flat_map(|i| {
                let (a, b) = (i % 5, (i / 5) % 5);
                let stray = i % 10 == 0 && a != b;
                (0..32).map(move |d| (d, a, b, stray)).collect::<Vec<_>>()
            })
            .map(|(d, a, b, stray)| {
                let base = if stray { 0.7 * (f32::from(d == a) + f32::from(d == b)) } else { f32::from(d == a) };
                base + 0.15 * rng.gen_range(-1.0f32..1.0)
            })
            .collect()
    }

    #[test]
    fn new_items_are_flagged_at_the_runs_rate() {
        let params = Params { map_epochs: 10, ..Params::default() };
        let r = run(&mut topics_and_strays(11), 32, &params).unwrap();
        // Tomorrow's items of the same kind, placed by the run's centroids and radii.
        let mut fresh = topics_and_strays(12);
        crate::vectors::normalise_rows(&mut fresh, 32);
        let placed =
            assign::Centroids::new(r.centroids.clone(), r.radius.clone()).unwrap().place(&fresh, &|| Ok(())).unwrap();
        let new_share = placed.iter().filter(|(c, _)| *c < 0).count() as f64 / placed.len() as f64;
        assert!(r.quality.outlier_share > 0.03, "the run flagged {}", r.quality.outlier_share);
        assert!(
            (new_share - r.quality.outlier_share).abs() < 0.04,
            "run {} vs new {}",
            r.quality.outlier_share,
            new_share
        );
    }

    #[test]
    fn exact_duplicates_are_not_outliers() {
        // As the demo: 24 prompts, each sent 20 times verbatim and 5 times with a small
        // change ("Thanks!"): one cluster per prompt, no outliers.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
        let prompts: Vec<Vec<f32>> = (0..24).map(|_| (0..32).map(|_| rng.gen_range(-1.0f32..1.0)).collect()).collect();
        let variants: Vec<Vec<f32>> =
            prompts.iter().map(|p| p.iter().map(|v| v + 0.05 * rng.gen_range(-1.0f32..1.0)).collect()).collect();
        let mut data: Vec<f32> = (0..600)
            .flat_map(|i| if i % 5 == 0 { variants[i % 24].clone() } else { prompts[i % 24].clone() })
            .collect();
        let r = run(&mut data, 32, &Params { map_epochs: 10, ..Params::default() }).unwrap();
        let truth: Vec<i32> = (0..600).map(|i| i % 24).collect();
        assert_eq!(r.n_clusters, 24);
        assert_eq!(r.quality.outlier_share, 0.0);
        assert!(quality::adjusted_rand_index(&truth, &r.labels) > 0.99);
    }
}
