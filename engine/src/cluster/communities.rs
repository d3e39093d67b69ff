//! Communities of a weighted graph by Louvain modularity optimisation (Blondel et al.,
//! 2008): each node moves to the neighbouring community that raises modularity most, then
//! communities become nodes and the process repeats until nothing moves. The number of
//! communities follows from the graph's structure, not from a target; `resolution`
//! (γ in Q = Σ_c [w_in(c)/m − γ (tot(c)/2m)²]) makes them finer above 1, coarser below.
//! Deterministic: nodes are visited in index order and ties keep the lowest community.
//!
//! The pipeline's default method (`graph_communities`) applies it to the fuzzy
//! k-nearest-neighbour graph of a sample of the rows (`SampledGraph`, which the 2-D map
//! reuses): small communities are absorbed, the other rows follow their sampled
//! neighbours, and items of low local density become outliers. With `params.refine`,
//! communities are first split where the data has finer groups (`refine`).

use super::groups::sample_rows;
use super::kmeans::nearest_centroid;
use super::knn::{knn, majority};
use super::outliers::low_density;
use super::params::Params;
use super::previous::{Previous, PreviousReduced};
use super::quality::Quality;
use super::umap;
use crate::error::{EngineError, ErrorKind, Result};
use ndarray::{Array2, ArrayView2, Axis};
use rand_xoshiro::Xoshiro256PlusPlus;

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

/// A sample of the rows (`map_sample` of them), each one's nearest others among them,
/// and their fuzzy k-nearest-neighbour graph (indices into the sample): made once, read by
/// the clustering, the themes and the map.
pub(super) struct SampledGraph {
    pub(super) rows: Vec<usize>,
    pub(super) sel: Array2<f32>,
    neighbours: Neighbours,
    pub(super) edges: Vec<(u32, u32, f32)>,
}

/// The nearest sampled rows of the rows outside the sample, `k` per row, in one flat
/// vector each (row-major): at a million rows, two small vectors per row held several
/// times the memory of their values.
pub(super) struct RestNeighbours {
    pub(super) k: usize,
    pub(super) idx: Vec<u32>,
    pub(super) dist: Vec<f32>,
}

impl RestNeighbours {
    fn with_capacity(k: usize, rows: usize) -> Self {
        RestNeighbours { k, idx: Vec::with_capacity(k * rows), dist: Vec::with_capacity(k * rows) }
    }

    /// Appends rows as `knn` gives them (each of `k` neighbours).
    fn extend(&mut self, idx: &[Vec<u32>], dist: &[Vec<f32>]) {
        self.idx.extend(idx.iter().flatten());
        self.dist.extend(dist.iter().flatten());
    }

    /// Rows `span` as `knn` gave them.
    pub(super) fn rows(&self, span: std::ops::Range<usize>) -> (Vec<Vec<u32>>, Vec<Vec<f32>>) {
        let k = self.k;
        span.map(|r| {
            let at = r * k..(r + 1) * k;
            (self.idx.get(at.clone()).unwrap_or_default().to_vec(), self.dist.get(at).unwrap_or_default().to_vec())
        })
        .unzip()
    }
}

/// Per row: the indices of its nearest sampled rows and the distances to them.
struct Neighbours {
    idx: Vec<Vec<u32>>,
    dist: Vec<Vec<f32>>,
}

/// The sample of `x`'s rows and its graph (`SampledGraph`).
pub(super) fn sampled_graph(x: ArrayView2<f32>, params: &Params, rng: &mut Xoshiro256PlusPlus) -> SampledGraph {
    let rows = sample_rows(x.nrows(), params.map_sample, rng);
    let sel = x.select(Axis(0), &rows);
    let (idx, dist) = knn(sel.view(), sel.view(), NEIGHBOURS, true);
    let edges = umap::fuzzy_graph(&idx, &dist);
    SampledGraph { rows, sel, neighbours: Neighbours { idx, dist }, edges }
}

/// Neighbours per item in the graph, as UMAP's default.
pub(super) const NEIGHBOURS: usize = 15;

/// No cluster smaller than this many items, whatever the share.
const MIN_CLUSTER_ITEMS: usize = 5;

/// Communities (Louvain, `params.resolution`) of the fuzzy kNN graph of a sample
/// (`sampled`, of the rows of `x`); small ones are absorbed by the community they are most
/// connected to; rows outside the sample take the majority label of their nearest sampled
/// rows, which are returned for the map. Items of low local density (a k-th neighbour
/// distance that is a robust outlier over the run) become outliers.
pub(super) fn graph_communities(
    x: ArrayView2<f32>,
    sampled: &SampledGraph,
    params: &Params,
    previous: Option<&PreviousReduced>,
    check: &dyn Fn() -> Result<()>,
) -> Result<(Vec<i32>, Quality, RestNeighbours)> {
    let n = x.nrows();
    let SampledGraph { rows, sel, neighbours: Neighbours { idx, dist }, edges } = sampled;
    check()?;
    let (nearest, farthest) =
        dist.iter().flatten().fold((f32::INFINITY, 0.0f32), |(lo, hi), &d| (lo.min(d), hi.max(d)));
    if farthest > 0.0 && farthest - nearest <= 1e-4 * farthest {
        return Err(EngineError::new(
            ErrorKind::NothingToGroup,
            "every item is equally far from every other: there is nothing to group",
        ));
    }
    let graph = Graph::from_edges(sel.nrows(), edges);
    let min_size = ((sel.nrows() as f64 * params.min_cluster_share).ceil() as usize).max(MIN_CLUSTER_ITEMS);
    // Refined before the comparison below, so that it weighs like against like: the
    // previous run's clusters were refined too.
    let fresh = refine(&graph, &louvain(&graph, params.resolution), params.resolution, min_size, params.refine);
    // Hysteresis, as for k-means: the previous run's clusters are kept (an item that was in
    // them stays where it was; a new one starts in the nearest cluster and moves to the
    // community that raises modularity most) unless today's fresh communities are clearly
    // better (modularity higher by more than `k_tolerance` of it), so clusters keep their
    // identity from day to day and change when the data does.
    let found = match previous {
        Some(prev) => {
            let nearest = nearest_centroid(sel.view(), &prev.centroids);
            let known =
                |i: usize| prev.labels.get(i).copied().filter(|&l| l >= 0 && (l as usize) < prev.centroids.nrows());
            let start: Vec<usize> =
                rows.iter().zip(nearest).map(|(&i, near)| known(i).unwrap_or(near) as usize).collect();
            let movable: Vec<bool> = rows.iter().map(|&i| known(i).is_none()).collect();
            let warm = complete(&graph, params.resolution, &start, &movable);
            let (q_warm, q_fresh) =
                (graph.modularity(&warm, params.resolution), graph.modularity(&fresh, params.resolution));
            if q_warm >= q_fresh - params.k_tolerance * q_fresh.abs() {
                warm
            } else {
                fresh
            }
        }
        None => fresh,
    };
    let sample_labels = absorb_small(&graph, &found, min_size);
    check()?;
    let mut labels = vec![-1i32; n];
    let mut kth_distance = vec![0.0f32; n];
    let mut share = vec![1.0f64; n];
    let mut in_sample = vec![false; n];
    for (p, &i) in rows.iter().enumerate() {
        labels[i] = sample_labels[p];
        kth_distance[i] = dist[p].last().copied().unwrap_or(0.0);
        share[i] = majority(idx[p].iter().map(|&j| sample_labels[j as usize])).1;
        in_sample[i] = true;
    }
    let rest: Vec<usize> = (0..n).filter(|&i| !in_sample[i]).collect();
    // knn gives every row min(k, points) neighbours.
    let mut rest_neighbours = RestNeighbours::with_capacity(NEIGHBOURS.min(sel.nrows()), rest.len());
    for chunk in rest.chunks(20_000) {
        let (nn, nd) = knn(x.select(Axis(0), chunk).view(), sel.view(), NEIGHBOURS, false);
        for (r, &i) in chunk.iter().enumerate() {
            (labels[i], share[i]) = majority(nn[r].iter().map(|&j| sample_labels[j as usize]));
            kth_distance[i] = nd[r].last().copied().unwrap_or(0.0);
        }
        rest_neighbours.extend(&nn, &nd);
        check()?;
    }
    // An item fits when one cluster holds more than a third of its neighbours. Hysteresis
    // so that items near that line do not flip from day to day: an outlier of the previous
    // run stays one until a cluster holds half of them; an item that was in a cluster stays
    // in one while a cluster holds more than a quarter.
    let before = |i: usize| previous.and_then(|p| p.labels.get(i).copied()).unwrap_or(Previous::ABSENT);
    let sparse = low_density(&kth_distance, params.outlier_z);
    for (i, l) in labels.iter_mut().enumerate() {
        let needed = match before(i) {
            -1 => 0.5,
            Previous::ABSENT => 1.0 / 3.0,
            _ => 0.25,
        };
        if sparse[i] || share[i] <= needed {
            *l = -1;
        }
    }
    Ok((labels, Quality { method: "graph".into(), ..Default::default() }, rest_neighbours))
}

/// The subgraph of `graph` on `nodes` (edges with both ends among them), nodes renumbered
/// in the order given.
fn induced(graph: &Graph, nodes: &[usize]) -> Graph {
    let mut local = vec![u32::MAX; graph.len()];
    nodes.iter().enumerate().for_each(|(p, &i)| local[i] = p as u32);
    let adjacency = nodes
        .iter()
        .map(|&i| {
            graph.adjacency[i]
                .iter()
                .filter(|(j, _)| local[*j as usize] != u32::MAX)
                .map(|&(j, w)| (local[j as usize], w))
                .collect()
        })
        .collect();
    Graph { adjacency }
}

/// Per-community refinement, for data of many small groups: Louvain at one resolution
/// merges groups too small to raise modularity on the whole graph (its resolution
/// limit), so each community is split into the communities of its own subgraph, and
/// those parts of at least `min_size` nodes become clusters when they are about as
/// separate as the communities found on the whole graph: their volume-weighted
/// conductance (the share of their edge weight that leaves them) is at most `factor`
/// times the communities'. The scale of "separate" comes from the data, so a homogeneous
/// community, whose halves share much of their edge weight, stays whole. Parts are
/// refined again the same way. Returns the new communities, numbered 0.. in order of
/// their first node; `factor` 0 returns `found` as it is.
pub(super) fn refine(graph: &Graph, found: &[usize], resolution: f64, min_size: usize, factor: f64) -> Vec<usize> {
    let k = found.iter().copied().max().map_or(0, |m| m + 1);
    if factor <= 0.0 || k == 0 {
        return found.to_vec();
    }
    let limit = factor * conductance(graph, found);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    found.iter().enumerate().for_each(|(i, &c)| members[c].push(i));
    let mut out = vec![0usize; found.len()];
    let mut next = 0usize;
    let mut part_of = vec![usize::MAX; graph.len()];
    // Depth first, in order, so that the numbering is deterministic.
    let mut pending: Vec<Vec<usize>> = members.into_iter().rev().collect();
    while let Some(nodes) = pending.pop() {
        let mut split = None;
        if nodes.len() >= 2 * min_size {
            let sub = induced(graph, &nodes);
            let (local, kept) = absorb_all(&sub, &louvain(&sub, resolution), min_size);
            if kept >= 2 {
                nodes.iter().zip(&local).for_each(|(&i, &l)| part_of[i] = l);
                if conductance(graph, &part_of) <= limit {
                    split = Some((local, kept));
                }
                nodes.iter().for_each(|&i| part_of[i] = usize::MAX);
            }
        }
        match split {
            Some((local, kept)) => {
                let mut parts: Vec<Vec<usize>> = vec![Vec::new(); kept];
                local.iter().zip(&nodes).for_each(|(&l, &i)| parts[l].push(i));
                pending.extend(parts.into_iter().rev());
            }
            None => {
                nodes.iter().for_each(|&i| out[i] = next);
                next += 1;
            }
        }
    }
    dense(&out).0
}

/// The volume-weighted mean conductance of the parts of `part_of` (a node in none:
/// usize::MAX): the share of their nodes' edge weight that leads out of their part.
fn conductance(graph: &Graph, part_of: &[usize]) -> f64 {
    let (mut cut, mut volume) = (0.0, 0.0);
    for (i, edges) in graph.adjacency.iter().enumerate() {
        if part_of[i] == usize::MAX {
            continue;
        }
        for &(j, w) in edges {
            volume += w;
            if part_of[j as usize] != part_of[i] {
                cut += w;
            }
        }
    }
    if volume > 0.0 {
        cut / volume
    } else {
        0.0
    }
}

/// `parts` with every part of fewer than `min_size` nodes dissolved into the kept parts
/// (those at least that big): each node of a small part joins the kept part it has the
/// most edge weight to, passing through the other absorbed nodes, or the largest kept
/// part when it has no path to one (all nodes are one part when no part is that big).
/// Returns the parts (dense) and their number.
fn absorb_all(graph: &Graph, parts: &[usize], min_size: usize) -> (Vec<usize>, usize) {
    let mut sizes = std::collections::HashMap::new();
    parts.iter().for_each(|&p| *sizes.entry(p).or_insert(0usize) += 1);
    if sizes.values().all(|&s| s < min_size) {
        return (vec![0; parts.len()], 1);
    }
    let mut labels = absorb_small(graph, parts, min_size);
    let largest = {
        let mut sizes = std::collections::BTreeMap::new();
        labels.iter().filter(|&&l| l >= 0).for_each(|&l| *sizes.entry(l).or_insert(0usize) += 1);
        sizes.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))).map_or(0, |(l, _)| l)
    };
    for _ in 0..graph.len() {
        let before = labels.clone();
        for (i, l) in labels.iter_mut().enumerate() {
            if *l >= 0 {
                continue;
            }
            let mut weight = std::collections::BTreeMap::new();
            for &(j, w) in &graph.adjacency[i] {
                if before[j as usize] >= 0 {
                    *weight.entry(before[j as usize]).or_insert(0.0) += w;
                }
            }
            if let Some((c, _)) = weight.into_iter().max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0))) {
                *l = c;
            }
        }
        if labels == before {
            break;
        }
    }
    dense(&labels.iter().map(|&l| if l < 0 { largest as usize } else { l as usize }).collect::<Vec<_>>())
}

/// Communities of fewer than `min_size` nodes (or than the largest, if none is that big)
/// are dissolved: each of their nodes joins the
/// kept community it has the most edge weight to, or none (-1) when it has no edge to one.
fn absorb_small(graph: &Graph, found: &[usize], min_size: usize) -> Vec<i32> {
    let k = found.iter().copied().max().map_or(0, |m| m + 1);
    let mut sizes = vec![0usize; k];
    found.iter().for_each(|&c| sizes[c] += 1);
    // A window of few items still gets its largest community as a cluster.
    let min_size = min_size.min(sizes.iter().copied().max().unwrap_or(0));
    let kept = |c: usize| sizes[c] >= min_size;
    found
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if kept(c) {
                return c as i32;
            }
            let mut weight = std::collections::BTreeMap::new();
            for &(j, w) in &graph.adjacency[i] {
                let other = found[j as usize];
                if kept(other) {
                    *weight.entry(other).or_insert(0.0) += w;
                }
            }
            weight.into_iter().max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0))).map_or(-1, |(c, _)| c as i32)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{planted, run};
    use super::super::quality;
    use super::*;

    #[test]
    fn rest_neighbours_give_back_the_rows_they_were_given() {
        let idx: Vec<Vec<u32>> = (0..7u32).map(|r| (0..3).map(|j| r * 10 + j).collect()).collect();
        let dist: Vec<Vec<f32>> = (0..7).map(|r| (0..3).map(|j| (r * 3 + j) as f32 * 0.5).collect()).collect();
        let mut rest = RestNeighbours::with_capacity(3, 7);
        rest.extend(&idx[..4], &dist[..4]);
        rest.extend(&idx[4..], &dist[4..]);
        assert_eq!(rest.rows(0..7), (idx.clone(), dist.clone()));
        assert_eq!(rest.rows(2..5), (idx[2..5].to_vec(), dist[2..5].to_vec()));
        assert_eq!(rest.rows(7..7), (vec![], vec![]));
    }

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
    fn refinement_splits_what_the_first_level_merged_and_only_that() {
        let g = ring_of_cliques(12, 6);
        let cliques: Vec<usize> = (0..72).map(|i| i / 6).collect();
        // The first level merged cliques 0-2 into one community; the others are apart.
        let merged: Vec<usize> = cliques.iter().map(|&c| c.saturating_sub(2)).collect();
        assert_eq!(refine(&g, &merged, 1.0, 3, 1.5), cliques);
        // Off, or asked for parts more separate than the communities are: nothing moves.
        assert_eq!(refine(&g, &merged, 1.0, 3, 0.0), merged);
        assert_eq!(refine(&g, &merged, 1.0, 3, 1.0), merged);
        // Parts smaller than the minimum are not clusters.
        assert_eq!(refine(&g, &merged, 1.0, 7, 1.5), merged);
        // The cliques themselves have no structure to split.
        assert_eq!(refine(&g, &cliques, 1.0, 2, 1.5), cliques);
    }

    /// A blob of `blob` items around one direction and `groups` of 18 to 28 items around
    /// others, in 64 dimensions; the truth (0 = the blob).
    fn blob_and_small_groups(blob: usize, groups: usize, seed: u64) -> (Vec<f32>, Vec<i32>) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let sizes: Vec<usize> = std::iter::once(blob).chain((0..groups).map(|g| 18 + (g * 7) % 11)).collect();
        let (mut data, mut truth) = (Vec::new(), Vec::new());
        for (g, &size) in sizes.iter().enumerate() {
            for _ in 0..size {
                data.extend((0..64).map(|d| if d == g { 1.0 } else { 0.0 } + 0.12 * rng.gen_range(-1.0f32..1.0)));
                truth.push(g as i32);
            }
        }
        (data, truth)
    }

    #[test]
    fn refinement_keeps_many_small_groups_and_one_large_blob_whole() {
        let params = Params { map_epochs: 10, refine: 1.5, min_cluster_share: 0.01, ..Params::default() };
        let (data, truth) = blob_and_small_groups(600, 24, 5);
        let r = run(&mut data.clone(), 64, &params).unwrap();
        assert!(quality::adjusted_rand_index(&truth, &r.labels) > 0.95);
        assert_eq!(r.n_clusters, 25);
        let blob: std::collections::HashSet<i32> =
            truth.iter().zip(&r.labels).filter(|(t, l)| **t == 0 && **l >= 0).map(|(_, l)| *l).collect();
        assert_eq!(blob.len(), 1, "the blob is one cluster");
        // Deterministic for a seed.
        assert_eq!(run(&mut data.clone(), 64, &params).unwrap().labels, r.labels);
    }

    #[test]
    fn empty_and_edgeless_graphs() {
        assert!(louvain(&Graph::from_edges(0, &[]), 1.0).is_empty());
        assert_eq!(louvain(&Graph::from_edges(3, &[]), 1.0), vec![0, 1, 2]);
    }

    #[test]
    fn graph_finds_groups_whatever_their_number_and_groups_them_into_themes() {
        let params = Params { map_epochs: 20, ..Params::default() };
        for k in [3, 12, 25] {
            let mut data = planted(k, 40, 64, 0.3, 3);
            let r = run(&mut data, 64, &params).unwrap();
            let truth: Vec<i32> = (0..k as i32 * 40).map(|i| i % k as i32).collect();
            assert_eq!(r.n_clusters, k, "k = {k}");
            assert!(quality::adjusted_rand_index(&truth, &r.labels) > 0.95, "k = {k}");
            assert_eq!(r.themes.len(), k);
            assert!(r.n_themes >= 1 && r.n_themes <= k);
        }
    }
}
