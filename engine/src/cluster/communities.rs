//! Communities of a weighted graph by Louvain modularity optimisation (Blondel et al.,
//! 2008): each node moves to the neighbouring community that raises modularity most, then
//! communities become nodes and the process repeats until nothing moves. The number of
//! communities follows from the graph's structure, not from a target; `resolution`
//! (γ in Q = Σ_c [w_in(c)/m − γ (tot(c)/2m)²]) makes them finer above 1, coarser below.
//! Deterministic: nodes are visited in index order and ties keep the lowest community.

/// An undirected weighted graph as adjacency lists (each edge listed at both ends; a
/// self-loop once, with its full weight).
#[derive(Debug, Clone)]
pub struct Graph {
    pub adjacency: Vec<Vec<(u32, f64)>>,
}

impl Graph {
    /// Builds the graph of `n` nodes from undirected edges `(a, b, w)`, each given once.
    pub fn from_edges(n: usize, edges: &[(u32, u32, f32)]) -> Self {
        let mut adjacency = vec![Vec::new(); n];
        for &(a, b, w) in edges {
            let w = f64::from(w);
            if a == b {
                adjacency[a as usize].push((b, w));
            } else {
                adjacency[a as usize].push((b, w));
                adjacency[b as usize].push((a, w));
            }
        }
        Self { adjacency }
    }

    fn len(&self) -> usize {
        self.adjacency.len()
    }

    /// Weighted degree of each node (a self-loop counts twice, as in modularity).
    fn degrees(&self) -> Vec<f64> {
        self.adjacency
            .iter()
            .enumerate()
            .map(|(i, edges)| edges.iter().map(|&(j, w)| if j as usize == i { 2.0 * w } else { w }).sum())
            .collect()
    }

    /// The graph whose nodes are the communities of `labels` (0..k), edge weights summed.
    pub fn aggregate(&self, labels: &[usize], k: usize) -> Graph {
        let mut sums: Vec<std::collections::BTreeMap<u32, f64>> = vec![Default::default(); k];
        for (i, edges) in self.adjacency.iter().enumerate() {
            for &(j, w) in edges {
                let (a, b) = (labels[i], labels[j as usize]);
                // Each non-loop edge is seen from both ends: a loop at the new level gets
                // both halves; an edge between communities keeps one copy per direction.
                if a == b {
                    if j as usize == i {
                        *sums[a].entry(a as u32).or_default() += w;
                    } else {
                        *sums[a].entry(a as u32).or_default() += w / 2.0;
                    }
                } else {
                    *sums[a].entry(b as u32).or_default() += w;
                }
            }
        }
        Graph { adjacency: sums.into_iter().map(|m| m.into_iter().collect()).collect() }
    }

    /// Modularity of a partition at `resolution`.
    pub fn modularity(&self, labels: &[usize], resolution: f64) -> f64 {
        let degrees = self.degrees();
        let two_m: f64 = degrees.iter().sum();
        if two_m <= 0.0 {
            return 0.0;
        }
        let k = labels.iter().copied().max().map_or(0, |m| m + 1);
        let (mut inside, mut total) = (vec![0.0; k], vec![0.0; k]);
        for (i, edges) in self.adjacency.iter().enumerate() {
            total[labels[i]] += degrees[i];
            for &(j, w) in edges {
                if labels[j as usize] == labels[i] {
                    inside[labels[i]] += if j as usize == i { 2.0 * w } else { w };
                }
            }
        }
        inside.iter().zip(&total).map(|(w, t)| w / two_m - resolution * (t / two_m).powi(2)).sum()
    }
}

/// Louvain communities of `graph`, numbered 0.. in order of their first node.
pub fn louvain(graph: &Graph, resolution: f64) -> Vec<usize> {
    louvain_levels(graph, resolution)
}

/// The partition `initial` (one label per node) completed: only the nodes marked
/// `movable` move, each to the community that raises modularity most; communities are not
/// merged. A previous day's clusters carry over and the new items join them.
pub fn complete(graph: &Graph, resolution: f64, initial: &[usize], movable: &[bool]) -> Vec<usize> {
    let (start, _) = dense(initial);
    dense(&local_moving(graph, resolution, Some((start, movable))).1).0
}

/// Louvain communities of `graph`, numbered 0.. in order of their first node.
fn louvain_levels(graph: &Graph, resolution: f64) -> Vec<usize> {
    let mut labels: Vec<usize> = (0..graph.len()).collect();
    let mut level = graph.clone();
    loop {
        let (moved, local) = local_moving(&level, resolution, None);
        let (local, k) = dense(&local);
        labels.iter_mut().for_each(|l| *l = local[*l]);
        if !moved || k == level.len() {
            break;
        }
        level = level.aggregate(&local, k);
    }
    dense(&labels).0
}

/// Moves nodes between communities until no move raises modularity. Returns whether any
/// node moved, and each node's community.
fn local_moving(graph: &Graph, resolution: f64, start: Option<(Vec<usize>, &[bool])>) -> (bool, Vec<usize>) {
    let n = graph.len();
    let degrees = graph.degrees();
    let two_m: f64 = degrees.iter().sum();
    let (mut community, movable) = match start {
        Some((labels, movable)) => (labels, Some(movable)),
        None => ((0..n).collect(), None),
    };
    if two_m <= 0.0 {
        return (false, community);
    }
    let mut total = vec![0.0; n];
    community.iter().zip(&degrees).for_each(|(&c, d)| total[c] += d);
    let mut weight_to: Vec<f64> = vec![0.0; n];
    let mut touched: Vec<usize> = Vec::new();
    let mut any_move = false;
    // Each pass visits every node; a pass that gains less than this stops the loop (the
    // tail of tiny gains changes nothing a reader would see).
    for _pass in 0..100 {
        let mut moves = 0usize;
        for i in 0..n {
            if movable.is_some_and(|m| !m[i]) {
                continue;
            }
            let own = community[i];
            for &c in &touched {
                weight_to[c] = 0.0;
            }
            touched.clear();
            for &(j, w) in &graph.adjacency[i] {
                if j as usize == i {
                    continue;
                }
                let c = community[j as usize];
                if weight_to[c] == 0.0 {
                    touched.push(c);
                }
                weight_to[c] += w;
            }
            total[own] -= degrees[i];
            let gain = |c: usize, w: f64| w - resolution * total[c] * degrees[i] / two_m;
            let mut best = (own, gain(own, weight_to[own]));
            touched.sort_unstable();
            for &c in &touched {
                let g = gain(c, weight_to[c]);
                if g > best.1 + 1e-12 {
                    best = (c, g);
                }
            }
            total[best.0] += degrees[i];
            if best.0 != own {
                community[i] = best.0;
                moves += 1;
            }
        }
        if moves == 0 {
            break;
        }
        any_move = true;
    }
    (any_move, community)
}

/// Renumbers labels 0.. in order of first appearance; returns them and their count.
fn dense(labels: &[usize]) -> (Vec<usize>, usize) {
    let mut new_id = std::collections::HashMap::new();
    let out = labels
        .iter()
        .map(|l| {
            let next = new_id.len();
            *new_id.entry(*l).or_insert(next)
        })
        .collect();
    (out, new_id.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `k` cliques of `size` nodes, each joined to the next by one light edge.
    fn ring_of_cliques(k: usize, size: usize) -> Graph {
        let mut edges = Vec::new();
        for c in 0..k {
            let base = (c * size) as u32;
            for a in 0..size as u32 {
                for b in a + 1..size as u32 {
                    edges.push((base + a, base + b, 1.0));
                }
            }
            edges.push((base, (((c + 1) % k) * size) as u32, 0.1));
        }
        Graph::from_edges(k * size, &edges)
    }

    #[test]
    fn finds_the_cliques_whatever_their_number() {
        for k in [2, 7, 30] {
            let g = ring_of_cliques(k, 6);
            let labels = louvain(&g, 1.0);
            assert_eq!(labels.iter().max().map(|m| m + 1), Some(k), "k = {k}");
            for c in 0..k {
                assert!(labels[c * 6..(c + 1) * 6].iter().all(|l| *l == labels[c * 6]));
            }
            assert!(g.modularity(&labels, 1.0) > g.modularity(&vec![0; k * 6], 1.0));
        }
    }

    #[test]
    fn aggregation_keeps_modularity() {
        let g = ring_of_cliques(5, 4);
        let labels: Vec<usize> = (0..20).map(|i| i / 4).collect();
        let coarse = g.aggregate(&labels, 5);
        let q_fine = g.modularity(&labels, 1.0);
        let q_coarse = coarse.modularity(&(0..5).collect::<Vec<_>>(), 1.0);
        assert!((q_fine - q_coarse).abs() < 1e-9, "{q_fine} vs {q_coarse}");
    }

    #[test]
    fn a_start_is_completed_moving_only_what_may_move() {
        let g = ring_of_cliques(6, 5);
        let truth: Vec<usize> = (0..30).map(|i| i / 5).collect();
        let all = vec![true; 30];
        assert_eq!(complete(&g, 1.0, &truth, &all), truth);
        // A movable node started in another clique's community goes home; a fixed one stays.
        let mut start = truth.clone();
        start[0] = 2;
        assert_eq!(complete(&g, 1.0, &start, &all), truth);
        let mut fixed = all.clone();
        fixed[0] = false;
        assert_eq!(complete(&g, 1.0, &start, &fixed)[0], complete(&g, 1.0, &start, &fixed)[10]);
    }

    #[test]
    fn empty_and_edgeless_graphs() {
        assert!(louvain(&Graph::from_edges(0, &[]), 1.0).is_empty());
        assert_eq!(louvain(&Graph::from_edges(3, &[]), 1.0), vec![0, 1, 2]);
    }
}
