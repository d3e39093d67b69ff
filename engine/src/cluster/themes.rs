//! Themes: the parent groups of a run's clusters.

/// Groups clusters into themes by average-linkage agglomeration of their centroids
/// (cosine distance, pairs weighted by cluster size) and cuts the tree where it is most
/// natural: at the widest gap between successive merge heights, among cuts that leave 2
/// to k/2 themes (a theme must group). Fewer than 4 clusters: each is its own theme.
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
    // Merge until one group is left, remembering the partition before each merge.
    let mut heights = Vec::new();
    let mut partitions = Vec::new();
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
        members[best.0].extend(merged);
    }
    // partitions[i] has k - i groups and was split by a merge at heights[i]; cutting
    // before merge i keeps the groups it would join apart: its gap is heights[i] - heights[i-1].
    let mut cut = (k - 1, f64::NEG_INFINITY);
    for i in 1..heights.len() {
        let groups = k - i;
        if groups >= 2 && groups <= k / 2 {
            let gap = heights[i] - heights[i - 1];
            if gap > cut.1 {
                cut = (i, gap);
            }
        }
    }
    let mut theme = vec![0usize; k];
    let mut groups = partitions[cut.0].clone();
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
}
