//! Cluster identity across runs: matches a run's clusters to the previous run's, one to
//! one and optimally, and names what happened to each: continued, new, gone, split, merged.
//!
//! Similarity of a new cluster `i` and a previous cluster `j`:
//! - when the two runs share at least [`MIN_SHARED_ITEMS`] items: the Jaccard index of the
//!   two clusters' items among the shared items, `|i ∩ j| / |i ∪ j|`;
//! - otherwise (windows that barely overlap): the cosine similarity of the centroids.
//!
//! Pairs are matched by the assignment that maximises the total similarity (Hungarian
//! algorithm); a matched pair continues the previous cluster's identity only when its
//! similarity reaches [`MIN_JACCARD`] (or [`MIN_COSINE`] for centroids).
//! With shared items, a previous cluster whose shared items went, for the most part, into
//! two or more new clusters has split: the unmatched ones among them are `Split` from it.
//! A new cluster that took most of the shared items of two or more previous clusters is a
//! merge: the unmatched ones among those are `Merged` into it.

use crate::cluster::labels::ClusterLabel;
use crate::cluster::titles::Titles;
use crate::error::{EngineError, Result};

/// Fewest items two runs must share for item overlap to decide the matching.
pub const MIN_SHARED_ITEMS: u64 = 20;
/// Least Jaccard index of a continued cluster.
pub const MIN_JACCARD: f64 = 0.3;
/// Least centroid cosine similarity of a continued cluster (when few items are shared).
pub const MIN_COSINE: f64 = 0.9;
/// Share of a cluster's shared items that must come from (or go to) another cluster for a
/// split or a merge.
pub const MOST: f64 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The new cluster carries on the previous one (same stable id).
    Continued,
    /// A new cluster with no predecessor.
    New,
    /// A previous cluster with no successor.
    Gone,
    /// A new cluster split off a previous one (`previous` is the cluster it split from).
    Split,
    /// A previous cluster merged into a new one (`new` is the cluster it merged into).
    Merged,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Continued => "continued",
            Event::New => "new",
            Event::Gone => "gone",
            Event::Split => "split",
            Event::Merged => "merged",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub event: Event,
    /// Index of the cluster in the new run (None for `Gone`).
    pub new: Option<usize>,
    /// Index of the cluster in the previous run (None for `New`).
    pub previous: Option<usize>,
    /// The similarity (or share, for splits and merges) that decided the event.
    pub similarity: f64,
}

/// What the matcher needs to know about two runs.
pub struct Overlap {
    /// `shared[i][j]`: items in new cluster i and previous cluster j.
    pub shared: Vec<Vec<u64>>,
    /// Shared items (in both runs) per new cluster, wherever they were before (outliers too).
    pub shared_new: Vec<u64>,
    /// Shared items per previous cluster, wherever they went.
    pub shared_previous: Vec<u64>,
    /// `cosine[i][j]`: cosine similarity of the centroids.
    pub cosine: Vec<Vec<f64>>,
}

impl Overlap {
    /// The overlap of a new run (`new_centroids`, one per cluster) and the previous one:
    /// `shared_items` are `(new cluster, previous cluster, items)` over the items both runs
    /// have, `None` where an item was an outlier (or in a cluster not compared).
    pub fn from_shared(
        shared_items: &[(Option<usize>, Option<usize>, u64)],
        new_centroids: &[impl AsRef<[f32]>],
        previous_centroids: &[impl AsRef<[f32]>],
    ) -> Self {
        let (n_new, n_previous) = (new_centroids.len(), previous_centroids.len());
        let mut o = Overlap {
            shared: vec![vec![0; n_previous]; n_new],
            shared_new: vec![0; n_new],
            shared_previous: vec![0; n_previous],
            cosine: centroid_cosines(new_centroids, previous_centroids),
        };
        for &(new, previous, count) in shared_items {
            let new = new.filter(|&i| i < n_new);
            let previous = previous.filter(|&j| j < n_previous);
            if let Some(i) = new {
                o.shared_new[i] += count;
            }
            if let Some(j) = previous {
                o.shared_previous[j] += count;
            }
            if let (Some(i), Some(j)) = (new, previous) {
                o.shared[i][j] += count;
            }
        }
        o
    }
}

/// `cosine[i][j]` of the centroids (any length; 0 between centroids of different dimensions).
fn centroid_cosines(new: &[impl AsRef<[f32]>], previous: &[impl AsRef<[f32]>]) -> Vec<Vec<f64>> {
    let unit = |v: &[f32]| {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
        v.iter().map(|x| x / norm).collect::<Vec<f32>>()
    };
    let previous: Vec<Vec<f32>> = previous.iter().map(|p| unit(p.as_ref())).collect();
    new.iter()
        .map(|c| {
            let c = unit(c.as_ref());
            previous
                .iter()
                .map(|p| if p.len() == c.len() { c.iter().zip(p).map(|(a, b)| f64::from(a * b)).sum() } else { 0.0 })
                .collect()
        })
        .collect()
}

/// The links of a job's first run: every cluster is new.
pub fn all_new(n_new: usize) -> Vec<Link> {
    (0..n_new).map(|i| Link { event: Event::New, new: Some(i), previous: None, similarity: 0.0 }).collect()
}

/// A continued cluster keeps its previous title while at least this many of its keywords
/// are still among the previous run's keywords for it.
pub const KEEP_TITLE_SHARED_KEYWORDS: usize = 2;

/// The title and keywords a previous cluster had.
pub struct PreviousTitle<'a> {
    pub title: &'a str,
    pub keywords: &'a [String],
}

/// The run's titles and which were kept: a continued cluster keeps its previous title
/// while its keywords did not change much (a stable name for a stable cluster); every other
/// cluster keeps its fresh title, numbered when a kept title took it ([`Titles`]).
pub fn carry_titles(labels: &[ClusterLabel], links: &[Link], previous: &[PreviousTitle]) -> (Vec<String>, Vec<bool>) {
    let mut titles: Vec<Option<String>> = vec![None; labels.len()];
    let mut taken = Titles::new();
    for link in links.iter().filter(|l| l.event == Event::Continued) {
        let (Some(i), Some(p)) = (link.new, link.previous.and_then(|j| previous.get(j))) else { continue };
        let Some(label) = labels.get(i) else { continue };
        let shared = label.keywords.iter().filter(|k| p.keywords.contains(k)).count();
        if shared >= KEEP_TITLE_SHARED_KEYWORDS && !p.title.is_empty() && taken.claim(p.title) {
            titles[i] = Some(p.title.to_string());
        }
    }
    let kept: Vec<bool> = titles.iter().map(Option::is_some).collect();
    let titles = titles
        .into_iter()
        .zip(labels)
        .map(|(kept, label)| kept.unwrap_or_else(|| taken.claim_numbered(&label.title)))
        .collect();
    (titles, kept)
}

/// The lineage of the new run's clusters: exactly one event per new cluster (continued,
/// new or split) and one per previous cluster that did not continue (gone or merged).
pub fn match_clusters(o: &Overlap, check: &dyn Fn() -> Result<()>) -> Result<Vec<Link>> {
    let n_new = o.shared_new.len();
    let n_prev = o.shared_previous.len();
    let by_items = o.shared_new.iter().sum::<u64>() >= MIN_SHARED_ITEMS;
    let sim = |i: usize, j: usize| -> f64 {
        if by_items {
            let both = o.shared[i][j] as f64;
            let union = o.shared_new[i] as f64 + o.shared_previous[j] as f64 - both;
            if union > 0.0 {
                both / union
            } else {
                0.0
            }
        } else {
            o.cosine[i][j]
        }
    };
    let threshold = if by_items { MIN_JACCARD } else { MIN_COSINE };
    let weights: Vec<Vec<f64>> = (0..n_new).map(|i| (0..n_prev).map(|j| sim(i, j)).collect()).collect();
    let mut new_match: Vec<Option<usize>> = vec![None; n_new];
    let mut prev_match: Vec<Option<usize>> = vec![None; n_prev];
    for (i, j) in max_weight_matching(&weights, check)? {
        if weights[i][j] >= threshold {
            new_match[i] = Some(j);
            prev_match[j] = Some(i);
        }
    }
    let share = |part: u64, whole: u64| if whole > 0 { part as f64 / whole as f64 } else { 0.0 };
    // came_from[i][j]: share of new cluster i's shared items that were in previous cluster j;
    // went_to[i][j]: share of previous cluster j's shared items that are in new cluster i.
    let came_from: Vec<Vec<f64>> =
        (0..n_new).map(|i| (0..n_prev).map(|j| share(o.shared[i][j], o.shared_new[i])).collect()).collect();
    let went_to: Vec<Vec<f64>> =
        (0..n_new).map(|i| (0..n_prev).map(|j| share(o.shared[i][j], o.shared_previous[j])).collect()).collect();
    // A previous cluster that fed most of two or more new ones split; a new cluster that
    // took most of two or more previous ones is a merge.
    let split = |j: usize| by_items && (0..n_new).filter(|&k| came_from[k][j] >= MOST).count() >= 2;
    let merge = |i: usize| by_items && (0..n_prev).filter(|&k| went_to[i][k] >= MOST).count() >= 2;
    let mut links = Vec::new();
    for i in 0..n_new {
        let link = match new_match[i] {
            Some(j) => Link { event: Event::Continued, new: Some(i), previous: Some(j), similarity: weights[i][j] },
            None => match (0..n_prev).find(|&j| came_from[i][j] >= MOST && split(j)) {
                Some(j) => Link { event: Event::Split, new: Some(i), previous: Some(j), similarity: came_from[i][j] },
                None => Link { event: Event::New, new: Some(i), previous: None, similarity: 0.0 },
            },
        };
        links.push(link);
    }
    for j in (0..n_prev).filter(|&j| prev_match[j].is_none()) {
        links.push(match (0..n_new).find(|&i| went_to[i][j] >= MOST && merge(i)) {
            Some(i) => Link { event: Event::Merged, new: Some(i), previous: Some(j), similarity: went_to[i][j] },
            None => Link { event: Event::Gone, new: None, previous: Some(j), similarity: 0.0 },
        });
    }
    Ok(links)
}

/// The one-to-one pairs `(row, column)` of `weights` (rows x columns, any shape) with the
/// largest total weight: the Hungarian algorithm on costs `max - weight`, O(r^2 c) for r
/// the smaller side and c the larger, and `check` (a cancel) asked at every step. The
/// previous run's clusters are rows admins may plant: squared with padding, 20,000 of
/// them made it O(20,000^3), with no interrupt check, so that neither the job's time limit
/// nor pg_terminate_backend ended the backend (nor the worker's job process, which the
/// worker then waited for, for good). A weight that is not finite counts as 0.
pub fn max_weight_matching(weights: &[Vec<f64>], check: &dyn Fn() -> Result<()>) -> Result<Vec<(usize, usize)>> {
    let rows = weights.len();
    let cols = weights.first().map_or(0, Vec::len);
    if rows == 0 || cols == 0 {
        return Ok(Vec::new());
    }
    if rows > cols {
        let transposed: Vec<Vec<f64>> = (0..cols).map(|j| weights.iter().map(|row| row[j]).collect()).collect();
        let mut pairs: Vec<(usize, usize)> =
            max_weight_matching(&transposed, check)?.into_iter().map(|(j, i)| (i, j)).collect();
        pairs.sort_unstable();
        return Ok(pairs);
    }
    let weight = |i: usize, j: usize| Some(weights[i][j]).filter(|w| w.is_finite()).unwrap_or(0.0);
    let top = (0..rows).flat_map(|i| (0..cols).map(move |j| (i, j))).map(|(i, j)| weight(i, j)).fold(0.0f64, f64::max);
    let cost = |i: usize, j: usize| top - weight(i, j);
    // rows <= cols: every row is matched. Potentials u (rows) and v (columns), 1-based
    // with 0 as the sentinel column.
    let (mut u, mut v) = (vec![0.0f64; rows + 1], vec![0.0f64; cols + 1]);
    let mut owner = vec![0usize; cols + 1]; // owner[col] = row matched to col
    let mut way = vec![0usize; cols + 1];
    for row in 1..=rows {
        owner[0] = row;
        let mut col0 = 0;
        let mut min_to = vec![f64::INFINITY; cols + 1];
        let mut used = vec![false; cols + 1];
        loop {
            check()?;
            used[col0] = true;
            let i0 = owner[col0];
            let (mut delta, mut col1) = (f64::INFINITY, 0);
            for col in 1..=cols {
                if !used[col] {
                    let reduced = cost(i0 - 1, col - 1) - u[i0] - v[col];
                    if reduced < min_to[col] {
                        min_to[col] = reduced;
                        way[col] = col0;
                    }
                    if min_to[col] < delta {
                        delta = min_to[col];
                        col1 = col;
                    }
                }
            }
            if col1 == 0 {
                // Only with costs that are not numbers; finite ones always reach a column.
                return Err(EngineError::internal("the lineage's matching found no column to extend"));
            }
            for col in 0..=cols {
                if used[col] {
                    u[owner[col]] += delta;
                    v[col] -= delta;
                } else {
                    min_to[col] -= delta;
                }
            }
            col0 = col1;
            if owner[col0] == 0 {
                break;
            }
        }
        loop {
            let col1 = way[col0];
            owner[col0] = owner[col1];
            col0 = col1;
            if col0 == 0 {
                break;
            }
        }
    }
    let mut pairs: Vec<(usize, usize)> = (1..=cols).filter(|&c| owner[c] >= 1).map(|c| (owner[c] - 1, c - 1)).collect();
    pairs.sort_unstable();
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Overlap of two labelings of the same items (no outliers), with cosine unused.
    fn overlap(new: &[usize], prev: &[usize]) -> Overlap {
        let n_new = new.iter().max().map_or(0, |m| m + 1);
        let n_prev = prev.iter().max().map_or(0, |m| m + 1);
        let mut shared = vec![vec![0u64; n_prev]; n_new];
        for (&a, &b) in new.iter().zip(prev) {
            shared[a][b] += 1;
        }
        let shared_new = shared.iter().map(|r| r.iter().sum()).collect();
        let shared_previous = (0..n_prev).map(|j| shared.iter().map(|r| r[j]).sum()).collect();
        Overlap { shared, shared_new, shared_previous, cosine: vec![vec![0.0; n_prev]; n_new] }
    }

    fn events(links: &[Link]) -> Vec<(&'static str, Option<usize>, Option<usize>)> {
        let mut e: Vec<_> = links.iter().map(|l| (l.event.as_str(), l.new, l.previous)).collect();
        e.sort();
        e
    }

    #[test]
    fn a_cancel_stops_the_matching() {
        let w = vec![vec![0.5; 50]; 40];
        let calls = std::cell::Cell::new(0);
        let check = || {
            calls.set(calls.get() + 1);
            match calls.get() > 3 {
                true => Err(EngineError::new(crate::ErrorKind::Cancelled, "cancelled")),
                false => Ok(()),
            }
        };
        assert!(max_weight_matching(&w, &check).is_err());
        assert_eq!(calls.get(), 4);
    }

    #[test]
    fn weights_that_are_not_numbers_count_as_zero() {
        let w = vec![vec![f64::NAN, 0.9], vec![0.8, f64::INFINITY]];
        assert_eq!(max_weight_matching(&w, &|| Ok(())).unwrap(), vec![(0, 1), (1, 0)]);
    }

    /// A previous run's 20,000 planted clusters against a new run's 3: rectangular, every
    /// new cluster matched (squared with padding, this took O(20,000^3)).
    #[test]
    fn many_previous_clusters_cost_each_new_one_a_pass() {
        let w: Vec<Vec<f64>> =
            (0..3).map(|i| (0..20_000).map(|j| if j == i * 7 { 1.0 } else { 0.0 }).collect()).collect();
        assert_eq!(max_weight_matching(&w, &|| Ok(())).unwrap(), vec![(0, 0), (1, 7), (2, 14)]);
        let tall: Vec<Vec<f64>> =
            (0..20_000).map(|i| (0..3).map(|j| if i == j * 7 { 1.0 } else { 0.0 }).collect()).collect();
        assert_eq!(max_weight_matching(&tall, &|| Ok(())).unwrap(), vec![(0, 0), (7, 1), (14, 2)]);
    }

    #[test]
    fn hungarian_finds_the_best_total_not_the_greedy_one() {
        // Greedy takes (0,0)=0.9 and is left with (1,1)=0.1; the optimum is 0.8 + 0.8.
        let w = vec![vec![0.9, 0.8], vec![0.8, 0.1]];
        assert_eq!(max_weight_matching(&w, &|| Ok(())).unwrap(), vec![(0, 1), (1, 0)]);
        let rect = vec![vec![0.1, 0.7, 0.2]];
        assert_eq!(max_weight_matching(&rect, &|| Ok(())).unwrap(), vec![(0, 1)]);
        let tall = vec![vec![0.2], vec![0.9], vec![0.5]];
        assert_eq!(max_weight_matching(&tall, &|| Ok(())).unwrap(), vec![(1, 0)]);
        assert!(max_weight_matching(&[], &|| Ok(())).unwrap().is_empty());
    }

    #[test]
    fn relabelled_clusters_continue() {
        // Same items, clusters renumbered: 0->2, 1->0, 2->1.
        let prev: Vec<usize> = (0..90).map(|i| i % 3).collect();
        let new: Vec<usize> = prev.iter().map(|&p| [2, 0, 1][p]).collect();
        let links = match_clusters(&overlap(&new, &prev), &|| Ok(())).unwrap();
        assert_eq!(
            events(&links),
            vec![("continued", Some(0), Some(1)), ("continued", Some(1), Some(2)), ("continued", Some(2), Some(0))]
        );
        assert!(links.iter().all(|l| (l.similarity - 1.0).abs() < 1e-12));
    }

    #[test]
    fn a_split_and_a_merge_are_named() {
        // prev: A (0..40), B (40..60), C (60..80). new: A split into 0 and 1; B and C merged into 2.
        let prev: Vec<usize> = (0..80)
            .map(|i| {
                if i < 40 {
                    0
                } else if i < 60 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let new: Vec<usize> = (0..80)
            .map(|i| {
                if i < 20 {
                    0
                } else if i < 40 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let links = match_clusters(&overlap(&new, &prev), &|| Ok(())).unwrap();
        // A continues in one half, the other half split off; C (or B) continues in 2, the other merged.
        let e = events(&links);
        assert_eq!(e.iter().filter(|x| x.0 == "continued").count(), 2, "{e:?}");
        assert!(e.contains(&("split", Some(1), Some(0))) || e.contains(&("split", Some(0), Some(0))), "{e:?}");
        assert!(e.contains(&("merged", Some(2), Some(1))) || e.contains(&("merged", Some(2), Some(2))), "{e:?}");
        assert!(!e.iter().any(|x| x.0 == "new" || x.0 == "gone"), "{e:?}");
    }

    #[test]
    fn unrelated_clusters_are_new_and_gone() {
        let prev = vec![0usize; 30];
        let new = vec![0usize; 30];
        let mut o = overlap(&new, &prev);
        o.shared = vec![vec![0]];
        o.shared_new = vec![30];
        o.shared_previous = vec![30];
        assert_eq!(
            events(&match_clusters(&o, &|| Ok(())).unwrap()),
            vec![("gone", None, Some(0)), ("new", Some(0), None)]
        );
    }

    #[test]
    fn without_shared_items_centroids_decide() {
        let o = Overlap {
            shared: vec![vec![0, 0], vec![0, 0]],
            shared_new: vec![0, 0],
            shared_previous: vec![0, 0],
            cosine: vec![vec![0.2, 0.95], vec![0.5, 0.3]],
        };
        assert_eq!(
            events(&match_clusters(&o, &|| Ok(())).unwrap()),
            vec![("continued", Some(0), Some(1)), ("gone", None, Some(0)), ("new", Some(1), None)]
        );
    }

    #[test]
    fn overlap_counts_shared_items_and_compares_centroids() {
        // New cluster 0 took 5 items of previous 1 and 2 outliers; previous 0 lost 3 to outliers.
        let shared = [(Some(0), Some(1), 5), (Some(0), None, 2), (None, Some(0), 3), (Some(7), Some(9), 4)];
        let o = Overlap::from_shared(&shared, &[vec![1.0, 0.0]], &[vec![0.0, 2.0], vec![3.0, 0.0], vec![1.0]]);
        assert_eq!(o.shared, vec![vec![0, 5, 0]]);
        assert_eq!(o.shared_new, vec![7]);
        assert_eq!(o.shared_previous, vec![3, 5, 0]);
        assert_eq!(o.cosine, vec![vec![0.0, 1.0, 0.0]], "orthogonal, the same direction, another dimension");
        assert_eq!(events(&all_new(2)), vec![("new", Some(0), None), ("new", Some(1), None)]);
    }

    #[test]
    fn continued_clusters_keep_their_titles_while_their_keywords_hold() {
        let label = |title: &str, keywords: &[&str]| ClusterLabel {
            title: title.into(),
            description: String::new(),
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
        };
        let labels = [
            label("Password reset links", &["password", "reset", "link"]),
            label("Invoices", &["invoice", "pdf"]),
            label("Reset my password", &["reset", "email"]),
        ];
        let continued =
            |new, previous| Link { event: Event::Continued, new: Some(new), previous: Some(previous), similarity: 1.0 };
        let links = [
            continued(0, 0),
            continued(1, 1),
            Link { event: Event::New, new: Some(2), previous: None, similarity: 0.0 },
        ];
        let (kw0, kw1) = (["password".to_string(), "reset".to_string()], ["refund".to_string(), "pdf".to_string()]);
        let previous = [
            PreviousTitle { title: "Reset my password", keywords: &kw0 },
            PreviousTitle { title: "Refunds", keywords: &kw1 },
        ];
        let (titles, kept) = carry_titles(&labels, &links, &previous);
        // Cluster 0 shares two keywords and keeps its title; cluster 1 shares one and is
        // renamed; the new cluster's own title is the kept one, so it is numbered.
        assert_eq!(titles, vec!["Reset my password", "Invoices", "Reset my password (2)"]);
        assert_eq!(kept, vec![true, false, false]);
    }
}
