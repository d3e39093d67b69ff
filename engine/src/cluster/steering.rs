//! Steering: what a person decided about a job's clusters (`llm_clusters.steering`), applied
//! to every later run after the clustering found its own clusters.
//!
//! - A **merge** makes one cluster of the clusters it names.
//! - A **split** re-clusters one cluster's items into `parts` (k-means, started from the
//!   parts of the job's previous run when it had them, so that they keep their identity).
//! - A **pin** is a topic with a fixed centroid (its examples' embeddings): the run keeps it
//!   as a cluster, and items nearer to it than to their own cluster (within a run-calibrated
//!   radius) join it.
//!
//! Runs number their clusters afresh, so a steer finds its clusters by centroids, its
//! *anchors*: the centroids of the clusters it was made on and of the clusters it made in
//! the job's previous run. Each anchor claims the cluster of the run nearest it (cosine) when
//! that one is at least [`MIN_ANCHOR_COSINE`] alike; a cluster claimed by an older steer is
//! not claimed again (a pin also claims a cluster that already is its topic). A steer that claims nothing (its topic is gone from the window) is idle
//! this run and applies again when its clusters come back.

use super::groups::{centroids_of, cluster_sizes, renumber_by_size};
use super::kmeans::{self, nearest_centroid};
use super::outliers::{calibrated_radii, ranks};
use crate::error::{EngineError, ErrorKind, Result};
use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

/// Least cosine similarity of an anchor and the cluster it claims: the same topic from one
/// window to the next stays well above it; distinct topics of one job mostly fall below.
pub const MIN_ANCHOR_COSINE: f32 = 0.8;
/// Share of the run's clustered items that lie within a pin's radius of their own
/// centroid: a pin reaches as far as a typical cluster does.
pub const PIN_REACH_QUANTILE: f64 = 0.9;
/// k-means restarts and iterations of a split.
const SPLIT_RUNS: usize = 4;
const SPLIT_ITERATIONS: usize = 50;

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Merge,
    Split {
        parts: usize,
    },
    /// The topic's unit centroid, in the items' space.
    Pin {
        centroid: Vec<f32>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Merge,
    Split,
    Pin,
}

impl Kind {
    /// The name `llm_clusters.steering.kind` and `clusters.steering` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Merge => "merge",
            Kind::Split => "split",
            Kind::Pin => "pin",
        }
    }
}

/// One row of `llm_clusters.steering`, as a run applies it.
#[derive(Debug, Clone)]
pub struct Steer {
    pub id: i32,
    pub action: Action,
    /// Centroids of the clusters the steer was made on (none for a pin).
    pub anchors: Vec<Vec<f32>>,
    /// Centroids of the clusters it made in the job's previous run (a split's parts in order).
    pub previous: Vec<Vec<f32>>,
}

impl Steer {
    pub fn kind(&self) -> Kind {
        match self.action {
            Action::Merge => Kind::Merge,
            Action::Split { .. } => Kind::Split,
            Action::Pin { .. } => Kind::Pin,
        }
    }
}

/// Which steer made a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub steering_id: i32,
    pub kind: Kind,
}

/// `runs.quality.steering`: which steers shaped the run, and which found nothing to act on.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SteeringSummary {
    pub applied: Vec<i32>,
    pub idle: Vec<i32>,
}

impl SteeringSummary {
    /// No steering at all (the job has none).
    pub fn is_empty(&self) -> bool {
        self.applied.is_empty() && self.idle.is_empty()
    }
}

/// A run's clusters after steering: labels dense 0.. by decreasing size (-1 outliers), and
/// per cluster the steer that made it and, for a pin, its fixed centroid.
#[derive(Debug, Clone)]
pub struct Steered {
    pub labels: Vec<i32>,
    pub n_clusters: usize,
    pub marks: Vec<Option<Mark>>,
    pub fixed: Vec<Option<Vec<f32>>>,
    pub summary: SteeringSummary,
}

impl Steered {
    /// Unit centroids of the steered clusters: a pin's is its own, the others their items'.
    pub(super) fn centroids(&self, x: ArrayView2<f32>) -> Vec<Vec<f32>> {
        let mut centroids = centroids_of(x, &self.labels, self.n_clusters);
        for (c, fixed) in self.fixed.iter().enumerate() {
            if let Some(f) = fixed {
                centroids[c] = f.clone();
            }
        }
        centroids
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    dot / (na.sqrt() * nb.sqrt()).max(f32::MIN_POSITIVE)
}

/// Applies `steers` (oldest first) to `labels` (clusters 0..k, -1 outliers) of the unit rows
/// `x`. Steers whose vectors have another dimension than `x` are idle. `check` (a cancel)
/// is asked during each split's k-means.
pub fn apply(
    x: ArrayView2<f32>,
    labels: &[i32],
    steers: &[Steer],
    seed: u64,
    check: &dyn Fn() -> Result<()>,
) -> Result<Steered> {
    let dim = x.ncols();
    let k = labels.iter().copied().max().map_or(0, |m| (m + 1).max(0) as usize);
    let centroids = centroids_of(x, labels, k);
    let sizes = cluster_sizes(labels, k);
    let fits = |s: &Steer| {
        s.anchors.iter().chain(&s.previous).all(|a| a.len() == dim)
            && !matches!(&s.action, Action::Pin { centroid } if centroid.len() != dim)
    };
    // Each anchor claims the nearest cluster (an empty one never).
    let mut owner: Vec<Option<usize>> = vec![None; k];
    for (s, steer) in steers.iter().enumerate().filter(|(_, s)| fits(s)) {
        // A pin also claims a cluster that already is its topic.
        let own = match &steer.action {
            Action::Pin { centroid } => Some(centroid),
            _ => None,
        };
        for anchor in steer.anchors.iter().chain(&steer.previous).chain(own) {
            let best = (0..k)
                .filter(|&c| sizes[c] > 0)
                .map(|c| (c, cosine(&centroids[c], anchor)))
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
            if let Some((c, similarity)) = best {
                if similarity >= MIN_ANCHOR_COSINE && owner[c].is_none() {
                    owner[c] = Some(s);
                }
            }
        }
    }
    let mut labels = labels.to_vec();
    let mut next = k as i32;
    // New label -> (steer index) for every cluster a steer made.
    let mut made: Vec<(i32, usize)> = Vec::new();
    let claimed = |s: usize| (0..k).filter(|&c| owner[c] == Some(s)).collect::<Vec<_>>();
    for (s, steer) in steers.iter().enumerate() {
        let clusters = claimed(s);
        match &steer.action {
            Action::Merge if !clusters.is_empty() => {
                let into = clusters[0] as i32;
                labels.iter_mut().filter(|l| **l >= 0 && clusters.contains(&(**l as usize))).for_each(|l| *l = into);
                made.push((into, s));
            }
            Action::Split { parts } if !clusters.is_empty() => {
                let region: Vec<usize> =
                    (0..labels.len()).filter(|&i| labels[i] >= 0 && clusters.contains(&(labels[i] as usize))).collect();
                if region.len() < 2 * parts {
                    // Too few items to split: the region stays one cluster, still the split's.
                    let into = clusters[0] as i32;
                    region.iter().for_each(|&i| labels[i] = into);
                    made.push((into, s));
                    continue;
                }
                let rows = x.select(Axis(0), &region);
                let start = (steer.previous.len() == *parts)
                    .then(|| Array2::from_shape_fn((*parts, dim), |(p, j)| steer.previous[p][j]));
                let (part_of, n_parts) =
                    split_rows(rows.view(), *parts, start.as_ref(), seed ^ steer.id as u64, check)?;
                for p in 0..n_parts as i32 {
                    made.push((next + p, s));
                }
                region.iter().zip(&part_of).for_each(|(&i, &p)| labels[i] = next + p);
                next += n_parts as i32;
            }
            _ => {}
        }
    }
    // Pins last: they take items from any cluster no other steer made.
    let protected: Vec<i32> = made.iter().map(|m| m.0).collect();
    let reach = pin_reach(x, &labels, &centroids_of(x, &labels, next as usize));
    for (s, steer) in steers.iter().enumerate() {
        let Action::Pin { centroid } = &steer.action else { continue };
        if centroid.len() != dim {
            continue;
        }
        check()?;
        let current = centroids_of(x, &labels, next as usize);
        let dissolved: Vec<i32> = claimed(s).into_iter().map(|c| c as i32).collect();
        let pin = next;
        let mut members = 0;
        for (i, row) in x.rows().into_iter().enumerate() {
            let l = labels[i];
            if protected.contains(&l) {
                continue;
            }
            let row = row.as_slice().map_or_else(|| row.to_vec(), <[f32]>::to_vec);
            let to_pin = 1.0 - cosine(&row, centroid);
            let to_own = if l >= 0 {
                1.0 - cosine(&row, &current[l as usize])
            } else {
                current.iter().map(|c| 1.0 - cosine(&row, c)).fold(f32::INFINITY, f32::min)
            };
            let joins = to_pin <= reach && (dissolved.contains(&l) || to_pin < to_own);
            if joins {
                labels[i] = pin;
                members += 1;
            } else if dissolved.contains(&l) {
                labels[i] = -1;
            }
        }
        if members > 0 {
            made.push((pin, s));
            next += 1;
        }
    }
    Ok(renumber(labels, next as usize, &made, steers))
}

/// k-means of a split: each row's part (0..) and the number of parts, started from `start`
/// (the parts of the job's previous run) when given, else from `seed`.
fn split_rows(
    rows: ArrayView2<f32>,
    parts: usize,
    start: Option<&Array2<f32>>,
    seed: u64,
    check: &dyn Fn() -> Result<()>,
) -> Result<(Vec<i32>, usize)> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let centres = kmeans::fit(rows, parts, SPLIT_RUNS, SPLIT_ITERATIONS, start, &mut rng, check)?;
    Ok((nearest_centroid(rows, &centres), centres.nrows()))
}

/// A merge or split made at once on the run it names (`merge_now`, `split_now`): the items
/// of the clusters named, regrouped into parts numbered 0.. by decreasing size (a merge has
/// one), with what the run stores of each part and item.
#[derive(Debug, Clone, PartialEq)]
pub struct Regrouped {
    /// Each item's part.
    pub parts: Vec<i32>,
    pub n_parts: usize,
    /// Per part: its unit centroid, and its radius for placing new items (its farthest
    /// item: the items of the clusters named are all members, none an outlier).
    pub centroids: Vec<Vec<f32>>,
    pub radius: Vec<f32>,
    /// Per item: its cosine distance to its part's centroid, and its rank in the part by it.
    pub distance: Vec<f32>,
    pub rank: Vec<u32>,
}

fn regrouped(x: ArrayView2<f32>, mut parts: Vec<i32>) -> Regrouped {
    let n_parts = renumber_by_size(&mut parts);
    let centroids = centroids_of(x, &parts, n_parts);
    let (distance, radius) = calibrated_radii(x, &parts, &centroids);
    let rank = ranks(&parts, &distance);
    Regrouped { parts, n_parts, centroids, radius, distance, rank }
}

/// `data`, unit rows of `dim` floats (the items of the clusters a merge names), as one cluster.
pub fn merge_now(data: &[f32], dim: usize) -> Result<Regrouped> {
    let x = rows(data, dim)?;
    Ok(regrouped(x, vec![0; x.nrows()]))
}

fn rows(data: &[f32], dim: usize) -> Result<ArrayView2<'_, f32>> {
    ArrayView2::from_shape((data.len() / dim.max(1), dim), data).map_err(EngineError::internal)
}

/// `data`, unit rows of `dim` floats (the items of the cluster a split names), in `parts`
/// parts by k-means (the same as later runs' splits, seeded by `seed` and the steer's id).
/// `check` (a cancel) is asked before each k-means step: a step costs items x parts x dim.
pub fn split_now(
    data: &[f32],
    dim: usize,
    parts: usize,
    steering_id: i32,
    seed: u64,
    check: &dyn Fn() -> Result<()>,
) -> Result<Regrouped> {
    let x = rows(data, dim)?;
    if parts < 2 || x.nrows() < 2 * parts {
        return Err(EngineError::new(
            ErrorKind::InvalidParameter,
            format!("the cluster has {} items with an embedding: too few to split into {parts} parts", x.nrows()),
        )
        .with_hint("A split needs at least two items per part: ask for fewer parts."));
    }
    let (parts, _) = split_rows(x, parts, None, seed ^ steering_id as u64, check)?;
    let split = regrouped(x, parts);
    if split.n_parts < 2 {
        return Err(EngineError::new(
            ErrorKind::InvalidParameter,
            "the cluster's items are all alike: k-means finds no parts in them",
        )
        .with_hint("Nothing to split: merge it with another cluster, or leave it."));
    }
    Ok(split)
}

/// How far a pin reaches: the [`PIN_REACH_QUANTILE`] of clustered items' cosine distance to
/// their own centroid.
fn pin_reach(x: ArrayView2<f32>, labels: &[i32], centroids: &[Vec<f32>]) -> f32 {
    let mut d: Vec<f32> = x
        .rows()
        .into_iter()
        .zip(labels)
        .filter(|(_, l)| **l >= 0)
        .map(|(row, &l)| 1.0 - row.iter().zip(&centroids[l as usize]).map(|(a, b)| a * b).sum::<f32>())
        .collect();
    if d.is_empty() {
        return 0.0;
    }
    d.sort_unstable_by(f32::total_cmp);
    d[((d.len() - 1) as f64 * PIN_REACH_QUANTILE).round() as usize].max(0.0)
}

/// Dense labels by decreasing size (ties by old label), with each made cluster's mark.
fn renumber(mut labels: Vec<i32>, k: usize, made: &[(i32, usize)], steers: &[Steer]) -> Steered {
    let sizes = cluster_sizes(&labels, k);
    let mut order: Vec<usize> = (0..k).filter(|&c| sizes[c] > 0).collect();
    order.sort_by(|a, b| sizes[*b].cmp(&sizes[*a]).then(a.cmp(b)));
    let mut new_id = vec![-1i32; k];
    order.iter().enumerate().for_each(|(new, &old)| new_id[old] = new as i32);
    labels.iter_mut().filter(|l| **l >= 0).for_each(|l| *l = new_id[*l as usize]);
    let mut marks = vec![None; order.len()];
    let mut fixed = vec![None; order.len()];
    let mut applied = Vec::new();
    for &(label, s) in made {
        let Some(&c) = new_id.get(label as usize).filter(|c| **c >= 0) else { continue };
        let steer = &steers[s];
        marks[c as usize] = Some(Mark { steering_id: steer.id, kind: steer.kind() });
        if let Action::Pin { centroid } = &steer.action {
            let norm = centroid.iter().map(|v| v * v).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
            fixed[c as usize] = Some(centroid.iter().map(|v| v / norm).collect());
        }
        if !applied.contains(&steer.id) {
            applied.push(steer.id);
        }
    }
    let idle = steers.iter().map(|s| s.id).filter(|id| !applied.contains(id)).collect();
    Steered { labels, n_clusters: order.len(), marks, fixed, summary: SteeringSummary { applied, idle } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use std::collections::HashSet;

    /// `groups` directions in 8-d (group g on axis g), `per` unit items each, a little noise.
    fn items(groups: usize, per: usize, seed: u64) -> (Array2<f32>, Vec<i32>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut x = Array2::from_shape_fn((groups * per, 8), |(i, d)| {
            f32::from(u8::from(d == i % groups)) + 0.05 * rng.gen_range(-1.0f32..1.0)
        });
        x.rows_mut().into_iter().for_each(|mut r| {
            let n = r.dot(&r).sqrt();
            r /= n;
        });
        (x, (0..groups * per).map(|i| (i % groups) as i32).collect())
    }

    fn axis(d: usize) -> Vec<f32> {
        (0..8).map(|j| f32::from(u8::from(j == d))).collect()
    }

    fn merge(id: i32, anchors: Vec<Vec<f32>>) -> Steer {
        Steer { id, action: Action::Merge, anchors, previous: vec![] }
    }

    #[test]
    fn a_merge_makes_one_cluster_of_the_named_ones_whatever_their_numbers() {
        let (x, labels) = items(4, 20, 1);
        // The run numbered the groups differently: the anchors find them by direction.
        let shuffled: Vec<i32> = labels.iter().map(|l| [2, 0, 3, 1][*l as usize]).collect();
        let s = apply(x.view(), &shuffled, &[merge(7, vec![axis(1), axis(3)])], 0, &|| Ok(())).unwrap();
        assert_eq!(s.n_clusters, 3);
        let merged = s.labels[1];
        assert!((0..80).all(|i| (s.labels[i] == merged) == (i % 4 == 1 || i % 4 == 3)));
        assert_eq!(merged, 0, "the merged cluster is the largest");
        assert_eq!(s.marks[0], Some(Mark { steering_id: 7, kind: Kind::Merge }));
        assert!(s.marks[1..].iter().all(Option::is_none));
        assert_eq!(s.summary, SteeringSummary { applied: vec![7], idle: vec![] });
    }

    #[test]
    fn a_merge_already_in_place_is_still_marked_and_a_gone_topic_is_idle() {
        let (x, labels) = items(3, 20, 2);
        let together: Vec<i32> = labels.iter().map(|&l| if l == 2 { 1 } else { l }).collect();
        let merged_before = centroids_of(x.view(), &together, 2)[1].clone();
        let steers = [
            Steer { id: 1, action: Action::Merge, anchors: vec![axis(1), axis(2)], previous: vec![merged_before] },
            merge(2, vec![axis(6)]),
        ];
        let s = apply(x.view(), &together, &steers, 0, &|| Ok(())).unwrap();
        assert_eq!(s.n_clusters, 2);
        assert_eq!(s.marks.iter().flatten().count(), 1);
        assert_eq!(s.summary, SteeringSummary { applied: vec![1], idle: vec![2] });
    }

    #[test]
    fn a_split_makes_its_parts_and_keeps_their_order_from_the_previous_run() {
        // Groups 0 and 1 were found as one cluster; the split separates them again.
        let (x, labels) = items(3, 30, 3);
        let joined: Vec<i32> = labels.iter().map(|&l| if l == 2 { 1 } else { 0 }).collect();
        let joined_centroid = centroids_of(x.view(), &joined, 2)[0].clone();
        let split = |previous| Steer {
            id: 4,
            action: Action::Split { parts: 2 },
            anchors: vec![joined_centroid.clone()],
            previous,
        };
        let s = apply(x.view(), &joined, &[split(vec![])], 9, &|| Ok(())).unwrap();
        assert_eq!(s.n_clusters, 3);
        let truth: Vec<i32> = (0..90).map(|i| i % 3).collect();
        assert!(super::super::quality::adjusted_rand_index(&truth, &s.labels) > 0.99);
        let parts: Vec<usize> = (0..3).filter(|&c| s.marks[c].is_some()).collect();
        assert_eq!(parts.len(), 2);
        assert!(s.marks.iter().flatten().all(|m| *m == Mark { steering_id: 4, kind: Kind::Split }));
        // Next run: the items still come as one cluster; started from yesterday's parts, the
        // split gives the same parts, and does not split a part again.
        let previous: Vec<Vec<f32>> = vec![axis(1), axis(0)];
        let again = apply(x.view(), &joined, &[split(previous)], 10, &|| Ok(())).unwrap();
        assert_eq!(again.n_clusters, 3);
        assert!(super::super::quality::adjusted_rand_index(&truth, &again.labels) > 0.99);
        // Parts found separately by the run (the warm start kept them) are claimed by the
        // previous parts' centroids and split again into two, not four.
        let kept = apply(x.view(), &labels, &[split(vec![axis(0), axis(1)])], 11, &|| Ok(())).unwrap();
        assert_eq!(kept.n_clusters, 3);
        assert!(super::super::quality::adjusted_rand_index(&truth, &kept.labels) > 0.99);
    }

    #[test]
    fn a_merge_now_is_one_cluster_of_every_item_with_its_centroid_and_ranks() {
        let (x, _) = items(2, 10, 7);
        let m = merge_now(x.as_slice().unwrap(), 8).unwrap();
        assert_eq!((m.n_parts, m.parts.iter().all(|&p| p == 0)), (1, true));
        let mean = centroids_of(x.view(), &[0; 20], 1);
        assert_eq!(m.centroids, mean);
        // Every item is a member: the radius reaches the farthest, and ranks order by distance.
        let farthest = m.distance.iter().copied().fold(0.0f32, f32::max);
        assert_eq!(m.radius, vec![farthest]);
        let mut by_rank: Vec<(u32, f32)> = m.rank.iter().copied().zip(m.distance.iter().copied()).collect();
        by_rank.sort_by_key(|r| r.0);
        assert_eq!(by_rank.iter().map(|r| r.0).collect::<Vec<_>>(), (0..20).collect::<Vec<u32>>());
        assert!(by_rank.windows(2).all(|w| w[0].1 <= w[1].1));
    }

    #[test]
    fn a_split_now_finds_the_groups_inside_a_cluster_the_same_way_each_time() {
        let (x, _) = items(3, 12, 8);
        let truth: Vec<i32> = (0..36).map(|i| i % 3).collect();
        let s = split_now(x.as_slice().unwrap(), 8, 3, 5, 42, &|| Ok(())).unwrap();
        assert_eq!(s.n_parts, 3);
        assert!(super::super::quality::adjusted_rand_index(&truth, &s.parts) > 0.99);
        assert_eq!((s.centroids.len(), s.radius.len(), s.distance.len(), s.rank.len()), (3, 3, 36, 36));
        let sizes = cluster_sizes(&s.parts, 3);
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "parts numbered by size: {sizes:?}");
        assert_eq!(split_now(x.as_slice().unwrap(), 8, 3, 5, 42, &|| Ok(())).unwrap(), s, "deterministic");
        // Two parts of three groups: two of them go together, none is cut in half.
        let two = split_now(x.as_slice().unwrap(), 8, 2, 5, 42, &|| Ok(())).unwrap();
        assert_eq!(two.n_parts, 2);
        assert!((0..3).all(|g| (0..36).filter(|i| i % 3 == g).map(|i| two.parts[i]).collect::<HashSet<_>>().len() == 1));
    }

    #[test]
    fn a_split_now_refuses_too_few_items_and_items_all_alike() {
        let (x, _) = items(2, 3, 9);
        let e = split_now(x.as_slice().unwrap(), 8, 4, 1, 0, &|| Ok(())).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
        assert!(e.message.contains("6 items"), "{}", e.message);
        let same = Array2::from_elem((10, 8), 0.5f32);
        assert_eq!(
            split_now(same.as_slice().unwrap(), 8, 2, 1, 0, &|| Ok(())).unwrap_err().kind,
            ErrorKind::InvalidParameter
        );
    }

    /// Attack: a split's k-means ran without asking for cancels, so split_cluster on a large
    /// cluster of wide embeddings ignored statement_timeout and pg_terminate_backend for
    /// minutes (70 s for a 10 s timeout on 15,000 x 2,000 into 20 parts). Now every
    /// k-means step and every pin asks `check`, and its error ends the split or the run.
    #[test]
    fn a_cancel_stops_a_split_and_the_steers_of_a_run_at_their_next_step() {
        use std::cell::Cell;
        let (x, labels) = items(3, 12, 8);
        let asked = Cell::new(0);
        let cancel_at = |n: usize| {
            let asked = &asked;
            move || {
                asked.set(asked.get() + 1);
                if asked.get() >= n {
                    Err(EngineError::new(ErrorKind::Cancelled, "canceling statement due to statement timeout"))
                } else {
                    Ok(())
                }
            }
        };
        let e = split_now(x.as_slice().unwrap(), 8, 3, 5, 42, &cancel_at(3)).unwrap_err();
        assert_eq!((e.kind, asked.get()), (ErrorKind::Cancelled, 3));
        asked.set(0);
        let whole: Vec<i32> = labels.iter().map(|_| 0).collect();
        let anchors = vec![centroids_of(x.view(), &whole, 1)[0].clone()];
        let split = Steer { id: 4, action: Action::Split { parts: 3 }, anchors, previous: vec![] };
        let e = apply(x.view(), &whole, &[split], 9, &cancel_at(2)).unwrap_err();
        assert_eq!((e.kind, asked.get()), (ErrorKind::Cancelled, 2));
        asked.set(0);
        let pin = Steer { id: 1, action: Action::Pin { centroid: vec![1.0; 8] }, anchors: vec![], previous: vec![] };
        assert_eq!(apply(x.view(), &labels, &[pin], 0, &cancel_at(1)).unwrap_err().kind, ErrorKind::Cancelled);
    }

    #[test]
    fn a_pin_takes_the_items_nearer_to_it_and_keeps_its_centroid() {
        // Group 3 sits between nothing: the run put it with group 0 (one cluster of two topics).
        let (x, labels) = items(4, 25, 4);
        let run: Vec<i32> = labels.iter().map(|&l| if l == 3 { 0 } else { l }).collect();
        let pin = Steer { id: 9, action: Action::Pin { centroid: axis(3) }, anchors: vec![], previous: vec![] };
        let s = apply(x.view(), &run, &[pin], 0, &|| Ok(())).unwrap();
        assert_eq!(s.n_clusters, 4);
        let pinned = (0..4).find(|&c| s.marks[c].is_some()).unwrap() as i32;
        assert!((0..100).all(|i| (s.labels[i] == pinned) == (i % 4 == 3)), "{:?}", s.labels);
        assert_eq!(s.fixed[pinned as usize].as_deref(), Some(&axis(3)[..]));
        // A pin nothing is near is idle, and takes nobody.
        let far = Steer { id: 10, action: Action::Pin { centroid: axis(7) }, anchors: vec![], previous: vec![] };
        let s = apply(x.view(), &labels, &[far], 0, &|| Ok(())).unwrap();
        assert_eq!((s.n_clusters, s.summary.idle.clone()), (4, vec![10]));
        assert_eq!(s.labels, labels);
    }

    #[test]
    fn vectors_of_another_dimension_are_ignored() {
        let (x, labels) = items(2, 10, 5);
        let pin = Steer { id: 1, action: Action::Pin { centroid: vec![1.0; 3] }, anchors: vec![], previous: vec![] };
        let s =
            apply(x.view(), &labels, &[pin, merge(2, vec![vec![1.0; 3], vec![0.0, 1.0, 0.0]])], 0, &|| Ok(())).unwrap();
        assert_eq!(s.labels, labels);
        assert_eq!(s.summary, SteeringSummary { applied: vec![], idle: vec![1, 2] });
    }

    #[test]
    fn a_steered_run_has_the_steered_clusters_their_centroids_and_themes() {
        use super::super::{cluster, cluster_steered, Params};
        let (x, _) = items(4, 30, 6);
        let data: Vec<f32> = x.iter().copied().collect();
        let params = Params { map_epochs: 10, ..Params::default() };
        let plain = cluster(&mut data.clone(), 8, &params, None, &|| Ok(())).unwrap();
        assert_eq!(plain.n_clusters, 4);
        assert!(plain.steering.iter().all(Option::is_none) && plain.steering_summary.is_empty());
        let far_pin = Steer { id: 2, action: Action::Pin { centroid: axis(6) }, anchors: vec![], previous: vec![] };
        let steers = [merge(1, vec![axis(0), axis(1)]), far_pin];
        let c = cluster_steered(&mut data.clone(), 8, &params, None, &steers, &|| Ok(())).unwrap();
        assert_eq!(c.n_clusters, 3);
        assert_eq!(
            (c.centroids.len(), c.radius.len(), c.themes.len(), c.centroid_coords.len(), c.steering.len()),
            (3, 3, 3, 3, 3)
        );
        assert_eq!(c.steering[0], Some(Mark { steering_id: 1, kind: Kind::Merge }));
        assert_eq!(c.steering_summary, SteeringSummary { applied: vec![1], idle: vec![2] });
        assert!(c.quality.largest_cluster_share >= 0.45, "{}", c.quality.largest_cluster_share);
        assert!(c.timings.iter().any(|(phase, _)| *phase == "steer"));
        // Steers that act on nothing leave the run as the clustering made it.
        let idle = cluster_steered(&mut data.clone(), 8, &params, None, &steers[1..], &|| Ok(())).unwrap();
        assert_eq!((idle.labels, idle.radius), (plain.labels, plain.radius));
    }
}
