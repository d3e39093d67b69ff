//! Themes: the parent groups of a run's clusters, from the data's own hierarchy: the
//! average-linkage tree of their centroids, cut where its merge heights jump most (by
//! ratio, so that a jump low in the tree, between siblings and cousins, counts as much as
//! one near the top), whatever number of themes that gives. A cut with a theme over
//! [`MAX_THEME_SHARE`] of the items is passed over; when every cut has one (the tree
//! joined a large cluster to others early), a theme over the cap is split where it was
//! last merged until none is, unless it is one cluster (the data is that lopsided).

/// Largest share of a run's items one theme of several clusters may hold (one cluster
/// may hold more: the data is that lopsided).
pub const MAX_THEME_SHARE: f64 = 0.35;
/// Merge heights (cosine distances) below this count as this when comparing jumps, so
/// that near-duplicate clusters merging at ~0 make no jump of their own.
const HEIGHT_FLOOR: f64 = 0.02;

/// Groups clusters into themes by average-linkage agglomeration of their centroids
/// (cosine distance, pairs weighted by cluster size) and cuts the tree at the largest
/// ratio between successive merge heights, among cuts that leave 2 to k/2 themes (a theme
/// must group) and no theme over the share cap if there is such a cut. Any theme still
/// over the cap is split into the two groups whose merge made it, repeatedly, so that no
/// theme of several clusters is over the cap. Fewer than 4 clusters: each is its own theme.
/// Themes are numbered by their largest cluster (clusters are numbered by size).
pub(super) fn themes_of(centroids: &[Vec<f32>], sizes: &[usize]) -> Vec<usize> {
    let k = centroids.len();
    if k < 4 {
        return (0..k).collect();
    }
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(p, q)| f64::from(*p) * f64::from(*q)).sum::<f64>();
    // members[g]: the clusters of group g; distance between groups as size-weighted mean.
    let mut members: Vec<Vec<usize>> = (0..k).map(|c| vec![c]).collect();
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
    // Merge until one group is left, remembering the partition before each merge and the
    // two groups each merge joined.
    let mut heights = Vec::new();
    let mut partitions = Vec::new();
    let mut merges: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
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
        partitions.push(members.clone());
        heights.push(best.2);
        let merged = members.remove(best.1);
        merges.push((members[best.0].clone(), merged.clone()));
        members[best.0].extend(merged);
    }
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
