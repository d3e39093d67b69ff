//! Themes: the parent groups of a run's clusters, from the data's own hierarchy: the
//! average-linkage tree of their centroids, cut where its merge heights jump most (by
//! ratio, so that a jump low in the tree, between siblings and cousins, counts as much as
//! one near the top), whatever number of themes that gives. A cut with a theme over
//! [`MAX_THEME_SHARE`] of the items is passed over; when every cut has one (the tree
//! joined a large cluster to others early), a theme over the cap is split where it was
//! last merged until none is, unless it is one cluster (the data is that lopsided).
//!
//! A run that starts from the job's previous run keeps the previous run's grouping of its
//! clusters (each cluster in the theme most of its items were in) unless the fresh cut is
//! clearly better (by [`THEME_HYSTERESIS`] of silhouette of the clusters' centroids), as
//! clusters keep their items: themes do not flip between near-equal cuts from day to day.

/// Largest share of a run's items one theme of several clusters may hold (one cluster
/// may hold more: the data is that lopsided).
pub const MAX_THEME_SHARE: f64 = 0.35;
/// How much better (silhouette of the clusters' centroids among themes, -1 to 1) a fresh cut
/// must be than the previous run's grouping to replace it.
pub const THEME_HYSTERESIS: f64 = 0.05;
/// Merge heights (cosine distances) below this count as this when comparing jumps, so
/// that near-duplicate clusters merging at ~0 make no jump of their own.
const HEIGHT_FLOOR: f64 = 0.02;

/// An agglomeration of `k` leaves: `partitions[i]` is the partition (groups of leaves)
/// before merge `i`, made at `heights[i]`, which joined the two groups `merges[i]`.
pub struct Tree {
    pub partitions: Vec<Vec<Vec<usize>>>,
    pub heights: Vec<f64>,
    pub merges: Vec<(Vec<usize>, Vec<usize>)>,
}

/// Merges the closest two groups of leaves by `pair` (a distance between groups) until one
/// group is left.
pub fn agglomerate(k: usize, pair: &dyn Fn(&[usize], &[usize]) -> f64) -> Tree {
    let mut members: Vec<Vec<usize>> = (0..k).map(|c| vec![c]).collect();
    let mut tree = Tree { partitions: Vec::new(), heights: Vec::new(), merges: Vec::new() };
    while members.len() > 1 {
        let mut best = (0, 1, f64::INFINITY);
        for a in 0..members.len() {
            for b in a + 1..members.len() {
                let d = pair(&members[a], &members[b]);
                if d < best.2 {
                    best = (a, b, d);
                }
            }
        }
        tree.partitions.push(members.clone());
        tree.heights.push(best.2);
        let merged = members.remove(best.1);
        tree.merges.push((members[best.0].clone(), merged.clone()));
        members[best.0].extend(merged);
    }
    tree
}

/// Groups clusters into themes by average-linkage agglomeration of their centroids
/// (cosine distance, pairs weighted by cluster size) and cuts the tree at the largest
/// ratio between successive merge heights, among cuts that leave 2 to k/2 themes (a theme
/// must group) and no theme over the share cap if there is such a cut. Any theme still
/// over the cap is split into the two groups whose merge made it, repeatedly, so that no
/// theme of several clusters is over the cap. Fewer than 4 clusters: each is its own theme.
/// Themes are numbered by their largest cluster (clusters are numbered by size).
pub fn themes_of(centroids: &[Vec<f32>], sizes: &[usize]) -> Vec<usize> {
    let k = centroids.len();
    if k < 4 {
        return (0..k).collect();
    }
    // Distance between groups of clusters: the size-weighted mean of their pairs.
    let pair = |a: &[usize], b: &[usize]| {
        let (mut sum, mut weight) = (0.0, 0.0);
        for &i in a {
            for &j in b {
                let w = (sizes[i] * sizes[j]).max(1) as f64;
                sum += w * (1.0 - dot(&centroids[i], &centroids[j])).max(0.0);
                weight += w;
            }
        }
        sum / weight
    };
    let Tree { partitions, heights, merges } = agglomerate(k, &pair);
    // partitions[i] has k - i groups and was split by a merge at heights[i]; cutting
    // before merge i keeps the groups it would join apart: its jump is heights[i] / heights[i-1].
    let n = sizes.iter().sum::<usize>().max(1) as f64;
    let share = |group: &[usize]| group.iter().map(|&c| sizes[c]).sum::<usize>() as f64 / n;
    let over_cap = |group: &[usize]| group.len() > 1 && share(group) > MAX_THEME_SHARE + 1e-9;
    let within_cap = |groups: &[Vec<usize>]| !groups.iter().any(|g| over_cap(g));
    let cuts: Vec<usize> = (1..heights.len()).filter(|&i| k - i >= 2 && k - i <= k / 2).collect();
    let jump = |i: usize| heights[i].max(HEIGHT_FLOOR) / heights[i - 1].max(HEIGHT_FLOOR);
    let by_jump = |&a: &usize, &b: &usize| jump(a).total_cmp(&jump(b)).then(b.cmp(&a));
    let cut = cuts
        .iter()
        .copied()
        .filter(|&i| within_cap(&partitions[i]))
        .max_by(by_jump)
        .or_else(|| cuts.iter().copied().max_by(by_jump))
        .unwrap_or(k - 1);
    let mut groups = partitions[cut].clone();
    while let Some(g) = groups.iter().position(|g| over_cap(g)) {
        let same = |a: &[usize], b: &[usize]| a.len() == b.len() && a.iter().all(|c| b.contains(c));
        let Some((left, right)) = merges
            .iter()
            .find(|(a, b)| a.len() + b.len() == groups[g].len() && same(&[&a[..], &b[..]].concat(), &groups[g]))
        else {
            break;
        };
        groups[g] = left.clone();
        groups.push(right.clone());
    }
    let mut theme = vec![0usize; k];
    groups.iter_mut().for_each(|g| g.sort_unstable());
    groups.sort_by_key(|g| g[0]);
    for (t, g) in groups.iter().enumerate() {
        g.iter().for_each(|&c| theme[c] = t);
    }
    theme
}

/// For each of the run's clusters (`labels`: each item's, `n` clusters), the previous run's
/// theme most of its items were in (`before`: each item's, None when it had none); None
/// for a cluster none of whose items had one. None when nothing is known of the previous run.
pub(super) fn previous_themes(labels: &[i32], n: usize, before: &[Option<i32>]) -> Option<Vec<Option<i32>>> {
    if before.len() != labels.len() || before.iter().all(Option::is_none) {
        return None;
    }
    let mut votes: Vec<Vec<(i32, usize)>> = vec![Vec::new(); n];
    for (&l, &t) in labels.iter().zip(before) {
        let (Some(c), Some(t)) = (usize::try_from(l).ok().filter(|&c| c < n), t) else { continue };
        match votes[c].iter_mut().find(|(theme, _)| *theme == t) {
            Some((_, count)) => *count += 1,
            None => votes[c].push((t, 1)),
        }
    }
    Some(votes.iter().map(|v| v.iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))).map(|&(t, _)| t)).collect())
}

/// The previous run's grouping of the clusters (`before`: each cluster's previous theme;
/// a cluster with none joins the group nearest it by average linkage) when it is a valid
/// cut (at least two groups, none of several clusters over the cap) and the fresh cut
/// (`fresh`, from [`themes_of`]) is not better by [`THEME_HYSTERESIS`]; else `fresh`.
pub(super) fn keep_previous_themes(
    centroids: &[Vec<f32>],
    sizes: &[usize],
    before: &[Option<i32>],
    fresh: Vec<usize>,
) -> Vec<usize> {
    let k = centroids.len();
    let distance = |i: usize, j: usize| (1.0 - dot(&centroids[i], &centroids[j])).max(0.0);
    let mut groups: Vec<(i32, Vec<usize>)> = Vec::new();
    for c in 0..k {
        if let Some(t) = before.get(c).copied().flatten() {
            match groups.iter_mut().find(|(theme, _)| *theme == t) {
                Some((_, members)) => members.push(c),
                None => groups.push((t, vec![c])),
            }
        }
    }
    if groups.len() < 2 {
        return fresh;
    }
    for c in (0..k).filter(|&c| before.get(c).copied().flatten().is_none()) {
        let linkage = |members: &[usize]| members.iter().map(|&m| distance(c, m)).sum::<f64>() / members.len() as f64;
        if let Some(g) = (0..groups.len()).min_by(|&a, &b| linkage(&groups[a].1).total_cmp(&linkage(&groups[b].1))) {
            groups[g].1.push(c);
        }
    }
    let n = sizes.iter().sum::<usize>().max(1) as f64;
    let over_cap =
        |g: &[usize]| g.len() > 1 && g.iter().map(|&c| sizes[c]).sum::<usize>() as f64 / n > MAX_THEME_SHARE + 1e-9;
    if groups.iter().any(|(_, g)| over_cap(g)) {
        return fresh;
    }
    let mut kept = vec![0usize; k];
    let mut members: Vec<Vec<usize>> = groups.into_iter().map(|(_, g)| g).collect();
    members.iter_mut().for_each(|g| g.sort_unstable());
    members.sort_by_key(|g| g[0]);
    for (t, g) in members.iter().enumerate() {
        g.iter().for_each(|&c| kept[c] = t);
    }
    let score = |themes: &[usize]| {
        let labels: Vec<i32> = themes.iter().map(|&t| t as i32).collect();
        super::quality::silhouette_by(&labels, |i, j| distance(i, j) as f32)
    };
    if score(&fresh) > score(&kept) + THEME_HYSTERESIS {
        fresh
    } else {
        kept
    }
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(p, q)| f64::from(*p) * f64::from(*q)).sum()
}

/// The theme of the cluster a merge made, from the merged clusters' `(theme, size)`: the
/// theme that held most of its items (the lowest theme id on a tie). The themes it left
/// lose those clusters, so their titles are made again from the clusters they keep.
pub fn theme_of_merge(parts: &[(i32, usize)]) -> Option<i32> {
    let mut held: Vec<(i32, usize)> = Vec::new();
    for &(theme, size) in parts {
        match held.iter_mut().find(|(t, _)| *t == theme) {
            Some((_, total)) => *total += size,
            None => held.push((theme, size)),
        }
    }
    held.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))).map(|(theme, _)| theme)
}

pub(super) fn theme_of(themes: &[usize], cluster: i32) -> i32 {
    if cluster < 0 {
        -1
    } else {
        themes[cluster as usize] as i32
    }
}

pub(super) fn item_themes(labels: &[i32], themes: &[usize]) -> Vec<i32> {
    labels.iter().map(|&l| theme_of(themes, l)).collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::run;
    use super::super::{quality, Params};
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Unit vector along `axis` tilted by `tilt` towards axis 7 (a direction they share).
    fn towards(axis: usize, tilt: f32) -> Vec<f32> {
        let mut v = [0.0f32; 8];
        v[axis] = 1.0;
        v[7] = tilt;
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / norm).collect()
    }

    #[test]
    fn the_previous_grouping_is_kept_unless_a_fresh_cut_is_clearly_better() {
        let keep = super::keep_previous_themes;
        // Six equidistant clusters: every grouping in pairs is as good as another, so the
        // previous run's is kept whatever the fresh cut, numbered by its largest cluster.
        let apart: Vec<Vec<f32>> = (0..6).map(|a| towards(a, 0.0)).collect();
        let sizes = [10; 6];
        let fresh = super::themes_of(&apart, &sizes);
        let before = [Some(5), Some(9), Some(9), Some(5), Some(2), Some(2)];
        let kept = keep(&apart, &sizes, &before, fresh.clone());
        assert_eq!(kept, vec![0, 1, 1, 0, 2, 2]);
        // Three pairs of near twins: a previous grouping that puts far clusters together is
        // clearly worse than the fresh cut, which replaces it.
        let pairs =
            [towards(0, 0.0), towards(0, 0.3), towards(1, 0.0), towards(1, 0.3), towards(2, 0.0), towards(2, 0.3)];
        let fresh = super::themes_of(&pairs, &sizes);
        assert_eq!(fresh, vec![0, 0, 1, 1, 2, 2]);
        let crossed = [Some(0), Some(1), Some(1), Some(0), Some(2), Some(2)];
        assert_eq!(keep(&pairs, &sizes, &crossed, fresh.clone()), fresh);
        // The fresh grouping numbered otherwise is itself; a cluster with no previous theme
        // joins the group nearest it.
        let renumbered = [Some(7), Some(7), Some(3), Some(3), Some(1), None];
        assert_eq!(keep(&pairs, &sizes, &renumbered, fresh.clone()), fresh);
        // A previous group over the cap, or a single one: the fresh cut.
        let over = [Some(0), Some(0), Some(0), Some(0), Some(1), Some(1)];
        assert_eq!(keep(&apart, &sizes, &over, vec![0, 0, 1, 1, 2, 2]), vec![0, 0, 1, 1, 2, 2]);
        assert_eq!(keep(&apart, &sizes, &[Some(1); 6], vec![0, 0, 1, 1, 2, 2]), vec![0, 0, 1, 1, 2, 2]);
    }

    #[test]
    fn a_cluster_continues_the_theme_most_of_its_items_were_in() {
        let labels = [0, 0, 0, 1, 1, -1, 2];
        let before = [Some(4), Some(4), Some(2), None, None, Some(4), None];
        assert_eq!(super::previous_themes(&labels, 3, &before), Some(vec![Some(4), None, None]));
        assert_eq!(super::previous_themes(&labels, 3, &[None; 7]), None);
        assert_eq!(super::previous_themes(&labels, 3, &[]), None);
    }

    #[test]
    fn a_merged_cluster_joins_the_theme_that_held_most_of_its_items() {
        // 30 items from theme 4 and 20 + 15 from theme 1: theme 1 held more (35).
        assert_eq!(super::theme_of_merge(&[(4, 30), (1, 20), (1, 15)]), Some(1));
        assert_eq!(super::theme_of_merge(&[(4, 30), (1, 20)]), Some(4));
        // A tie goes to the lowest theme id, whatever the order named.
        assert_eq!(super::theme_of_merge(&[(3, 10), (2, 10)]), Some(2));
        assert_eq!(super::theme_of_merge(&[]), None);
    }

    #[test]
    fn themes_of_a_run_started_from_the_previous_one_continue() {
        // Run B clusters 7 of 8 days, 6 of them run A's, starting from A as the extension does:
        // the clusters' own matcher finds each of A's themes again in B (continued, itself).
        use super::super::lineage::{match_clusters, Event, Overlap};
        use super::super::{cluster, Previous};
        let (data, dim, _) = nested(&[4, 3, 2, 3], 5);
        let n = data.len() / dim;
        let rows = |day: std::ops::Range<usize>| -> Vec<usize> { (0..n).filter(|i| day.contains(&(i % 8))).collect() };
        let (rows_a, rows_b) = (rows(0..7), rows(1..8));
        let take =
            |rows: &[usize]| -> Vec<f32> { rows.iter().flat_map(|&r| data[r * dim..(r + 1) * dim].to_vec()).collect() };
        let params = Params { map_epochs: 10, ..Params::default() };
        let a = run(&mut take(&rows_a), dim, &params).unwrap();
        let labels: Vec<i32> =
            rows_b.iter().map(|r| rows_a.binary_search(r).map_or(Previous::ABSENT, |p| a.labels[p])).collect();
        let themes: Vec<i32> = a.themes.iter().map(|&t| t as i32).collect();
        let previous = Previous { centroids: &a.centroids, labels: &labels, themes: &themes };
        let b = cluster(&mut take(&rows_b), dim, &params, Some(previous), &|| Ok(())).unwrap();
        let (ta, tb) = (a.item_themes(), b.item_themes());
        let shared: Vec<(Option<usize>, Option<usize>, u64)> = rows_b
            .iter()
            .enumerate()
            .filter_map(|(pb, r)| rows_a.binary_search(r).ok().map(|pa| (pb, pa)))
            .map(|(pb, pa)| (usize::try_from(tb[pb]).ok(), usize::try_from(ta[pa]).ok(), 1))
            .collect();
        let links =
            match_clusters(&Overlap::from_shared(&shared, &b.theme_centroids, &a.theme_centroids), &|| Ok(())).unwrap();
        assert_eq!(a.n_themes, 4);
        assert_eq!(b.n_themes, 4);
        let continued: Vec<_> = links.iter().filter(|l| l.event == Event::Continued).collect();
        assert_eq!(continued.len(), 4, "{links:?}");
        assert!(continued.iter().all(|l| l.similarity > 0.9), "{links:?}");
    }

    #[test]
    fn a_theme_is_labelled_from_the_clusters_it_holds() {
        // After a merge moved the email cluster from theme 0 to theme 1, theme 0 is titled
        // from passwords alone and theme 1 also from email addresses.
        use super::super::labels::{label_themes, ThemeMembers};
        let asks = [
            ["How do I reset my password?", "reset my password please", "I forgot my password, reset it"],
            ["How do I change my email address?", "change my email address", "update the email address on my account"],
            ["How do I bake sourdough bread?", "bake sourdough bread at home", "sourdough bread recipe to bake"],
        ];
        let docs: Vec<(i32, u32, &str)> = asks
            .iter()
            .enumerate()
            .flat_map(|(c, a)| a.iter().enumerate().map(move |(r, t)| (c as i32, r as u32, *t)))
            .collect();
        let titles = ["Password resets".to_string(), "Email address changes".into(), "Sourdough baking".into()];
        let label = |themes: [usize; 3]| {
            let members = ThemeMembers {
                themes: &themes.map(Some),
                titles: &titles,
                sizes: &[3, 3, 3],
                centroids: &[vec![1.0, 0.0], vec![0.0, 1.0]],
            };
            label_themes(&docs, &members, None)
        };
        let words =
            |l: &super::super::labels::ClusterLabel| format!("{} {}", l.title, l.keywords.join(" ")).to_lowercase();
        let before = label([0, 0, 1]);
        assert!(words(&before[0]).contains("email"), "{before:?}");
        let after = label([0, 1, 1]);
        assert!(!words(&after[0]).contains("email") && words(&after[0]).contains("password"), "{after:?}");
        assert!(words(&after[1]).contains("email") || after[1].description.contains("email"), "{after:?}");
    }

    #[test]
    fn a_theme_over_the_cap_splits_where_it_was_merged() {
        // Three pairs of near-twin clusters: every allowed cut (2 or 3 themes) has the
        // first pair, 50% of the items, in one theme. It splits; the other pairs stay.
        let centroids =
            [towards(0, 0.0), towards(0, 0.1), towards(1, 0.0), towards(1, 0.1), towards(2, 0.0), towards(2, 0.1)];
        let sizes = [25, 25, 10, 10, 15, 15];
        let themes = super::themes_of(&centroids, &sizes);
        assert_ne!(themes[0], themes[1]);
        assert_eq!((themes[2], themes[4]), (themes[3], themes[5]));
        let mut share = [0usize; 6];
        themes.iter().zip(sizes).for_each(|(&t, s)| share[t] += s);
        assert!(share.iter().all(|&s| s <= 35), "{themes:?}");
        // One cluster over the cap stays one theme: the data is that lopsided.
        let themes = super::themes_of(&centroids, &[60, 10, 10, 10, 5, 5]);
        assert_eq!(themes.iter().filter(|&&t| t == themes[0]).count(), 1);
    }

    #[test]
    fn themes_are_the_parents_of_nested_groups() {
        // 4 parent directions, each with 4 child directions near it: 16 groups of 30.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(8);
        let dim = 48;
        let mut data = Vec::new();
        for i in 0..480 {
            let (child, parent) = (i % 16, (i % 16) / 4);
            data.extend((0..dim).map(|d| {
                let p = if d == parent { 1.0 } else { 0.0 };
                let c = if d == 4 + child { 0.55 } else { 0.0 };
                p + c + 0.08 * rng.gen_range(-1.0f32..1.0)
            }));
        }
        let r = run(&mut data, dim, &Params { map_epochs: 20, ..Params::default() }).unwrap();
        let truth: Vec<i32> = (0..480).map(|i| i % 16).collect();
        assert_eq!(r.n_clusters, 16);
        assert!(quality::adjusted_rand_index(&truth, &r.labels) > 0.9);
        assert_eq!(r.n_themes, 4);
        let theme_of_item: Vec<i32> =
            r.labels.iter().map(|&l| if l < 0 { -1 } else { r.themes[l as usize] as i32 }).collect();
        let parents: Vec<i32> = (0..480).map(|i| (i % 16) / 4).collect();
        assert!(quality::adjusted_rand_index(&parents, &theme_of_item) > 0.95);
    }

    /// `children` groups of 30 items under each parent (sizes by `per_parent`), in `dim`-d:
    /// a parent's direction plus, less, its child's own. The items, each item's parent.
    fn nested(per_parent: &[usize], seed: u64) -> (Vec<f32>, usize, Vec<i32>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let parents = per_parent.len();
        let dim = parents + per_parent.iter().sum::<usize>();
        let (mut data, mut truth) = (Vec::new(), Vec::new());
        let mut child_axis = parents;
        for (p, &children) in per_parent.iter().enumerate() {
            for _ in 0..children {
                for _ in 0..30 {
                    data.extend((0..dim).map(|d| {
                        f32::from(u8::from(d == p))
                            + 0.55 * f32::from(u8::from(d == child_axis))
                            + 0.08 * rng.gen_range(-1.0f32..1.0)
                    }));
                    truth.push(p as i32);
                }
                child_axis += 1;
            }
        }
        (data, dim, truth)
    }

    fn item_themes(r: &super::super::Clustering) -> Vec<i32> {
        r.item_themes()
    }

    #[test]
    fn themes_recover_the_parents_whatever_their_number() {
        // 7 parents with 2 to 4 children each (unequal sizes): 7 themes, not 2 or 3.
        let (mut data, dim, parents) = nested(&[4, 3, 2, 3, 2, 4, 2], 3);
        let r = run(&mut data, dim, &Params { map_epochs: 10, ..Params::default() }).unwrap();
        assert_eq!(r.n_clusters, 20);
        assert_eq!(r.n_themes, 7);
        assert!(quality::normalized_mutual_info(&parents, &item_themes(&r)) > 0.95);
    }

    #[test]
    fn a_parent_of_most_items_is_not_one_theme() {
        // One parent holds 60% of the items (6 of 10 children): it is not one theme.
        let (mut data, dim, _) = nested(&[6, 2, 2], 4);
        let r = run(&mut data, dim, &Params { map_epochs: 10, ..Params::default() }).unwrap();
        let themes = item_themes(&r);
        let largest = (0..r.n_themes as i32).map(|t| themes.iter().filter(|&&x| x == t).count()).max().unwrap();
        let share = largest as f64 / themes.len() as f64;
        assert!(r.n_themes >= 3 && share < 0.5, "{} themes, the largest {share}", r.n_themes);
    }
}
