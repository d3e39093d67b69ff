//! The clustering pipeline: unit-normalise, reduce with PCA (randomised SVD fitted on a
//! sample, `pca`), cluster (k-means with k chosen by silhouette, or HDBSCAN on a UMAP embedding),
//! flag outliers, compute centroids in the original space, and lay out a 2-D map (UMAP).
//! Deterministic: the same rows, in the same order, and the same seed give the same result.

pub mod assign;
pub mod communities;
pub mod kmeans;
pub mod knn;
pub mod labels;
pub mod lineage;
pub mod metrics;
pub mod params;
pub mod pca;
pub mod titles;
pub mod umap;

use crate::error::{EngineError, ErrorKind, Result};
use ndarray::{Array2, ArrayView2, Axis};
pub use params::{Method, Params};
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use std::time::Instant;

/// What a run of the pipeline produces. Clusters are numbered 0.. by decreasing size;
/// label -1 marks an outlier.
#[derive(Debug, Clone)]
pub struct Clustering {
    pub labels: Vec<i32>,
    pub n_clusters: usize,
    /// The theme (parent group, 0..n_themes) of each cluster.
    pub themes: Vec<usize>,
    pub n_themes: usize,
    /// Unit-length centroids of the themes' items, and their mean map positions.
    pub theme_centroids: Vec<Vec<f32>>,
    pub theme_coords: Vec<[f32; 2]>,
    /// Unit-length centroids in the input space, one per cluster.
    pub centroids: Vec<Vec<f32>>,
    /// Per cluster: the cosine distance past which an item is an outlier of it.
    pub radius: Vec<f32>,
    /// Cosine distance of each item to its cluster's centroid (outliers: the nearest one).
    pub distance: Vec<f32>,
    /// Position of each item in its cluster by distance, 0 = closest (outliers ranked too).
    pub rank: Vec<u32>,
    pub coords: Vec<[f32; 2]>,
    pub centroid_coords: Vec<[f32; 2]>,
    pub quality: Quality,
    /// Seconds per phase: reduce, cluster, project.
    pub timings: Vec<(&'static str, f64)>,
}

/// The job's previous run, to keep clusters' identity: its centroids (input space) and,
/// for each row being clustered, its cluster in that run (-1: an outlier, `ABSENT`: not in
/// it; an empty slice when unknown).
#[derive(Debug, Clone, Copy)]
pub struct Previous<'a> {
    pub centroids: &'a [Vec<f32>],
    pub labels: &'a [i32],
}

impl Previous<'_> {
    pub const ABSENT: i32 = i32::MIN;
}

/// The previous run as the clustering step uses it: centroids in the reduced space.
struct PreviousReduced<'a> {
    centroids: Array2<f32>,
    labels: &'a [i32],
}

/// A k tried by k-means: (k, silhouette, largest cluster's share, smallest cluster's share).
pub type Candidate = (usize, f64, f64, f64);

#[derive(Debug, Clone, Default)]
pub struct Quality {
    pub method: String,
    /// Mean silhouette of the chosen clustering on a sample, in the reduced space.
    pub silhouette: f64,
    pub outlier_share: f64,
    pub largest_cluster_share: f64,
    /// k-means: each k tried.
    pub k_candidates: Vec<Candidate>,
    pub pca_dims: usize,
    pub pca_explained_variance: f64,
}

/// Clusters `n` rows of `dim` floats (row-major, finite). Normalises `data` in place.
/// `previous`: the job's previous run, if any: the clustering starts from its clusters and
/// keeps them unless the data clearly says otherwise, so that clusters keep their
/// identity from run to run.
/// `check` is called between units of work; an error from it stops the run.
pub fn cluster(
    data: &mut [f32],
    dim: usize,
    params: &Params,
    previous: Option<Previous>,
    check: &dyn Fn() -> Result<()>,
) -> Result<Clustering> {
    if dim == 0 || !data.len().is_multiple_of(dim) {
        return Err(EngineError::new(ErrorKind::Internal, format!("{} floats do not make rows of {dim}", data.len())));
    }
    let n = data.len() / dim;
    if n < 3 {
        return Err(EngineError::new(
            ErrorKind::InvalidParameter,
            format!("need at least 3 items to cluster, got {n}"),
        ));
    }
    crate::embedding::normalise_rows(data, dim);
    let x = ArrayView2::from_shape((n, dim), data).map_err(internal)?;
    let mut timings = Vec::new();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(params.seed);

    let t = Instant::now();
    let (reduced, projection, explained) = reduce(x, params, &mut rng)?;
    let previous =
        previous.filter(|p| !p.centroids.is_empty() && p.centroids.iter().all(|r| r.len() == dim)).map(|p| {
            let c = p.centroids;
            let rows = Array2::from_shape_fn((c.len(), dim), |(i, j)| c[i][j]);
            PreviousReduced { centroids: projection.apply(rows.view()), labels: p.labels }
        });
    timings.push(("reduce", t.elapsed().as_secs_f64()));
    check()?;

    let t = Instant::now();
    let mut graph: Option<SampledGraph> = None;
    let (mut labels, mut quality) = match params.method {
        Method::KMeans => {
            kmeans_auto(reduced.view(), params, previous.as_ref().map(|p| &p.centroids), &mut rng, check)?
        }
        Method::Hdbscan => hdbscan_on_umap(reduced.view(), params, &mut rng, check)?,
        Method::Graph => {
            let (labels, quality, sampled) =
                graph_communities(reduced.view(), params, previous.as_ref(), &mut rng, check)?;
            graph = Some(sampled);
            (labels, quality)
        }
    };
    quality.pca_dims = reduced.ncols();
    quality.pca_explained_variance = explained;
    let n_clusters = renumber_by_size(&mut labels);
    let mut centroids = centroids_of(x, &labels, n_clusters);
    let (mut distance, radius) = match params.method {
        // Graph outliers are already chosen by their neighbourhoods; radii are calibrated on them.
        Method::Graph => calibrated_radii(x, &labels, &centroids),
        method => outliers(x, &mut labels, &centroids, params.outlier_z, method == Method::KMeans),
    };
    // Outlier removal can empty a cluster only in degenerate data; keep numbering dense.
    let n_clusters = renumber_by_size(&mut labels);
    if n_clusters != centroids.len() {
        centroids = centroids_of(x, &labels, n_clusters);
        distance = nearest_distances(x, &labels, &centroids);
    }
    let radius = if radius.len() == n_clusters { radius } else { vec![f32::INFINITY; n_clusters] };
    let rank = ranks(&labels, &distance);
    quality.outlier_share = labels.iter().filter(|&&l| l < 0).count() as f64 / n as f64;
    quality.largest_cluster_share = cluster_sizes(&labels, n_clusters).into_iter().max().unwrap_or(0) as f64 / n as f64;
    timings.push(("cluster", t.elapsed().as_secs_f64()));
    check()?;

    let graph = match graph {
        Some(g) => g,
        None => sampled_graph(reduced.view(), params, &mut rng),
    };
    let themes = themes_of(&centroids, &cluster_sizes(&labels, n_clusters));
    let n_themes = themes.iter().copied().max().map_or(0, |m| m + 1);
    check()?;

    let t = Instant::now();
    let map = project(reduced.view(), params, graph, check)?;
    let coords: Vec<[f32; 2]> = map.rows().into_iter().map(|r| [r[0], r[1]]).collect();
    let centroid_coords = mean_coords(&coords, &labels, n_clusters);
    let item_themes = item_themes(&labels, &themes);
    let theme_coords = mean_coords(&coords, &item_themes, n_themes);
    let theme_centroids = centroids_of(x, &item_themes, n_themes);
    timings.push(("project", t.elapsed().as_secs_f64()));

    Ok(Clustering {
        labels,
        n_clusters,
        themes,
        n_themes,
        theme_centroids,
        theme_coords,
        centroids,
        radius,
        distance,
        rank,
        coords,
        centroid_coords,
        quality,
        timings,
    })
}

impl Clustering {
    /// The theme of a cluster (-1 for Outliers).
    pub fn theme_of(&self, cluster: i32) -> i32 {
        theme_of(&self.themes, cluster)
    }

    /// The theme of each item (-1 for outliers).
    pub fn item_themes(&self) -> Vec<i32> {
        item_themes(&self.labels, &self.themes)
    }
}

fn theme_of(themes: &[usize], cluster: i32) -> i32 {
    if cluster < 0 {
        -1
    } else {
        themes[cluster as usize] as i32
    }
}

fn item_themes(labels: &[i32], themes: &[usize]) -> Vec<i32> {
    labels.iter().map(|&l| theme_of(themes, l)).collect()
}

/// Mean map position of each group's items (groups 0..k; -1 left out).
fn mean_coords(coords: &[[f32; 2]], labels: &[i32], k: usize) -> Vec<[f32; 2]> {
    let sizes = cluster_sizes(labels, k);
    let mut out = vec![[0.0f32; 2]; k];
    for (l, c) in labels.iter().zip(coords) {
        if *l >= 0 {
            let o = &mut out[*l as usize];
            o[0] += c[0] / sizes[*l as usize] as f32;
            o[1] += c[1] / sizes[*l as usize] as f32;
        }
    }
    out
}

fn internal(e: impl std::fmt::Display) -> EngineError {
    EngineError::new(ErrorKind::Internal, e.to_string())
}

/// Indices of at most `m` of `n` rows, chosen by `rng`, in ascending order.
fn sample_rows(n: usize, m: usize, rng: &mut Xoshiro256PlusPlus) -> Vec<usize> {
    if m >= n {
        return (0..n).collect();
    }
    let mut idx = sample(rng, n, m).into_vec();
    idx.sort_unstable();
    idx
}

/// A fitted PCA, or the identity when no reduction is needed.
struct Projection(Option<pca::Pca>);

impl Projection {
    fn apply(&self, x: ArrayView2<f32>) -> Array2<f32> {
        match &self.0 {
            Some(p) => p.apply(x),
            None => x.to_owned(),
        }
    }
}

/// PCA to `params.pca_dims`, fitted on a sample, applied to every row in f32.
fn reduce(x: ArrayView2<f32>, params: &Params, rng: &mut Xoshiro256PlusPlus) -> Result<(Array2<f32>, Projection, f64)> {
    let dims = params.pca_dims.min(x.ncols()).min(x.nrows() - 1);
    if dims >= x.ncols() {
        return Ok((x.to_owned(), Projection(None), 1.0));
    }
    let idx = sample_rows(x.nrows(), params.pca_sample, rng);
    // Low-rank data may give fewer components than asked for: use what there is.
    let fitted = pca::fit(x.select(Axis(0), &idx).view(), dims, rng);
    let explained = fitted.explained_variance_ratio;
    let projection = Projection(Some(fitted));
    Ok((projection.apply(x), projection, explained))
}

/// k-means restarts for each k tried: a poor local optimum at the right k would hide it.
const SEARCH_RUNS: usize = 10;
/// Iterations of each of them: enough to rank the k, not to polish the centroids.
const SEARCH_ITERATIONS: usize = 25;

fn fit_kmeans(
    x: ArrayView2<f32>,
    k: usize,
    runs: usize,
    iterations: usize,
    start: Option<&Array2<f32>>,
    rng: &mut Xoshiro256PlusPlus,
) -> Array2<f32> {
    let centroids = kmeans::fit(x, k, runs, iterations, start, &mut rng.clone());
    rng.jump(); // the next fit draws from a fresh stream
    centroids
}

/// Index of the nearest row of `centroids` for each row of `x`.
fn nearest_centroid(x: ArrayView2<f32>, centroids: &Array2<f32>) -> Vec<i32> {
    let (idx, _) = knn::knn(x, centroids.view(), 1, false);
    idx.into_iter().map(|v| v[0] as i32).collect()
}

/// k-means with k chosen by the silhouette on a sample, among the k whose largest cluster
/// holds at most `max_cluster_share` of the sample (the collapse guard).
fn kmeans_auto(
    x: ArrayView2<f32>,
    params: &Params,
    previous: Option<&Array2<f32>>,
    rng: &mut Xoshiro256PlusPlus,
    check: &dyn Fn() -> Result<()>,
) -> Result<(Vec<i32>, Quality)> {
    let n = x.nrows();
    let sel = x.select(Axis(0), &sample_rows(n, params.k_sample, rng));
    let m = sel.nrows();
    let norms: Vec<f32> = sel.rows().into_iter().map(|r| r.dot(&r)).collect();
    let gram = sel.dot(&sel.t());
    let dist = Array2::from_shape_fn((m, m), |(i, j)| (norms[i] + norms[j] - 2.0 * gram[[i, j]]).max(0.0).sqrt());
    let max_k = params.max_clusters.min(m / 5).max(2);
    // Each k gets its own random stream (the one a sequential search would use), so the
    // k can be tried in parallel and the result does not depend on the threads. `check`
    // touches PostgreSQL: only between batches, on this thread.
    crate::threads::init_pool();
    let ks: Vec<usize> = (2..=max_k).collect();
    let mut streams: Vec<Xoshiro256PlusPlus> = ks
        .iter()
        .map(|_| {
            let stream = rng.clone();
            rng.jump();
            stream
        })
        .collect();
    let try_k = |k: usize, stream: &mut Xoshiro256PlusPlus| -> Result<Candidate> {
        let centroids = fit_kmeans(sel.view(), k, SEARCH_RUNS, SEARCH_ITERATIONS, None, stream);
        let labels = nearest_centroid(sel.view(), &centroids);
        let sizes = cluster_sizes(&labels, k);
        let share = |s: Option<usize>| s.unwrap_or(0) as f64 / m as f64;
        let (largest, smallest) = (share(sizes.iter().copied().max()), share(sizes.iter().copied().min()));
        Ok((k, metrics::silhouette_by(&labels, |i, j| dist[[i, j]]), largest, smallest))
    };
    let mut candidates = Vec::new();
    for (batch, batch_streams) in ks.chunks(4).zip(streams.chunks_mut(4)) {
        let tried: Vec<Result<Candidate>> =
            batch.par_iter().zip(batch_streams.par_iter_mut()).map(|(&k, s)| try_k(k, s)).collect();
        for candidate in tried {
            candidates.push(candidate?);
        }
        check()?;
    }
    // Silhouettes of neighbouring k differ by less than their sampling noise in high
    // dimensions, so the smallest k within `k_tolerance` of the best one wins. Guards: no
    // cluster over `max_cluster_share` (collapse), none under `min_cluster_share` (many
    // tiny clusters lift the silhouette of structureless data).
    let guarded: Vec<_> = candidates
        .iter()
        .filter(|c| c.2 <= params.max_cluster_share && c.3 >= params.min_cluster_share)
        .copied()
        .collect();
    let top = guarded.iter().map(|c| c.1).fold(f64::NEG_INFINITY, f64::max);
    let near_top = |c: &&Candidate| c.1 >= top - params.k_tolerance * top.abs();
    // Hysteresis: the previous run's k is kept unless another k is clearly better (by more
    // than twice the tolerance), so clusters keep their identity from day to day instead
    // of flickering between nearly equal silhouettes.
    let kept = |c: &&Candidate| c.1 >= top - 2.0 * params.k_tolerance * top.abs();
    let previous_k = previous.map(|c| c.nrows());
    let best = previous_k
        .and_then(|k| guarded.iter().filter(kept).find(|c| c.0 == k))
        .or_else(|| guarded.iter().find(near_top))
        .or_else(|| candidates.iter().min_by(|a, b| a.2.total_cmp(&b.2)))
        .copied()
        .ok_or_else(|| internal("no k was tried"))?;
    let fit_rows = x.select(Axis(0), &sample_rows(n, params.fit_sample, rng));
    let start = previous.filter(|c| c.nrows() == best.0);
    let centroids = fit_kmeans(fit_rows.view(), best.0, params.kmeans_runs, 100, start, rng);
    check()?;
    let labels = nearest_centroid(x, &centroids);
    Ok((
        labels,
        Quality { method: "kmeans".into(), silhouette: best.1, k_candidates: candidates, ..Default::default() },
    ))
}

/// A sample of the rows and their fuzzy k-nearest-neighbour graph (indices into the
/// sample): made once, read by the clustering, the themes and the map.
struct SampledGraph {
    rows: Vec<usize>,
    edges: Vec<(u32, u32, f32)>,
    /// The nearest sampled rows of every other row (ascending row order), when the
    /// clustering step found them: the map places those rows from them.
    rest: Option<Neighbours>,
}

/// Per row: the indices of its nearest sampled rows and the distances to them.
struct Neighbours {
    idx: Vec<Vec<u32>>,
    dist: Vec<Vec<f32>>,
}

/// A sample of the rows (`map_sample` of them), the sampled rows, and each one's nearest
/// others among them: what the graph is built from.
struct Sample {
    rows: Vec<usize>,
    sel: Array2<f32>,
    neighbours: Neighbours,
}

fn sample_neighbours(x: ArrayView2<f32>, params: &Params, rng: &mut Xoshiro256PlusPlus) -> Sample {
    let rows = sample_rows(x.nrows(), params.map_sample, rng);
    let sel = x.select(Axis(0), &rows);
    let (idx, dist) = knn::knn(sel.view(), sel.view(), NEIGHBOURS, true);
    Sample { rows, sel, neighbours: Neighbours { idx, dist } }
}

fn sampled_graph(x: ArrayView2<f32>, params: &Params, rng: &mut Xoshiro256PlusPlus) -> SampledGraph {
    let Sample { rows, neighbours, .. } = sample_neighbours(x, params, rng);
    SampledGraph { rows, edges: umap::fuzzy_graph(&neighbours.idx, &neighbours.dist), rest: None }
}

/// Groups clusters into themes by average-linkage agglomeration of their centroids
/// (cosine distance, pairs weighted by cluster size) and cuts the tree where it is most
/// natural: at the widest gap between successive merge heights, among cuts that leave 2
/// to k/2 themes (a theme must group). Fewer than 4 clusters: each is its own theme.
/// Themes are numbered by their largest cluster (clusters are numbered by size).
fn themes_of(centroids: &[Vec<f32>], sizes: &[usize]) -> Vec<usize> {
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

/// Neighbours per item in the graph, as UMAP's default.
const NEIGHBOURS: usize = 15;
/// No cluster smaller than this many items, whatever the share.
const MIN_CLUSTER_ITEMS: usize = 5;

/// Communities (Louvain, `params.resolution`) of the fuzzy kNN graph of a sample; small
/// ones are absorbed by the community they are most connected to; rows outside the sample
/// take the majority label of their nearest sampled rows. Items of low local density (a
/// k-th neighbour distance that is a robust outlier over the run) become outliers.
fn graph_communities(
    x: ArrayView2<f32>,
    params: &Params,
    previous: Option<&PreviousReduced>,
    rng: &mut Xoshiro256PlusPlus,
    check: &dyn Fn() -> Result<()>,
) -> Result<(Vec<i32>, Quality, SampledGraph)> {
    let n = x.nrows();
    let Sample { rows, sel, neighbours: Neighbours { idx, dist } } = sample_neighbours(x, params, rng);
    check()?;
    let (nearest, farthest) =
        dist.iter().flatten().fold((f32::INFINITY, 0.0f32), |(lo, hi), &d| (lo.min(d), hi.max(d)));
    if farthest > 0.0 && farthest - nearest <= 1e-4 * farthest {
        return Err(EngineError::new(
            ErrorKind::NothingToGroup,
            "every item is equally far from every other: there is nothing to group",
        ));
    }
    let edges = umap::fuzzy_graph(&idx, &dist);
    let graph = communities::Graph::from_edges(sel.nrows(), &edges);
    let min_size = ((sel.nrows() as f64 * params.min_cluster_share).ceil() as usize).max(MIN_CLUSTER_ITEMS);
    let fresh = communities::louvain(&graph, params.resolution);
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
            let warm = communities::complete(&graph, params.resolution, &start, &movable);
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
    let (mut rest_idx, mut rest_dist) = (Vec::with_capacity(rest.len()), Vec::with_capacity(rest.len()));
    for chunk in rest.chunks(20_000) {
        let (nn, nd) = knn::knn(x.select(Axis(0), chunk).view(), sel.view(), NEIGHBOURS, false);
        for (r, &i) in chunk.iter().enumerate() {
            (labels[i], share[i]) = majority(nn[r].iter().map(|&j| sample_labels[j as usize]));
            kth_distance[i] = nd[r].last().copied().unwrap_or(0.0);
        }
        rest_idx.extend(nn);
        rest_dist.extend(nd);
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
    let graph = SampledGraph { rows, edges, rest: Some(Neighbours { idx: rest_idx, dist: rest_dist }) };
    Ok((labels, Quality { method: "graph".into(), ..Default::default() }, graph))
}

/// The most frequent label among an item's neighbours (ties: the smallest; outliers, -1,
/// vote like any label), and the share of them it holds.
fn majority(votes: impl Iterator<Item = i32>) -> (i32, f64) {
    let mut counts = std::collections::BTreeMap::new();
    let mut total = 0usize;
    votes.for_each(|v| {
        *counts.entry(v).or_insert(0usize) += 1;
        total += 1;
    });
    let (label, count) = counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))).unwrap_or((-1, 0));
    (label, count as f64 / total.max(1) as f64)
}

/// Communities of fewer than `min_size` nodes (or than the largest, if none is that big)
/// are dissolved: each of their nodes joins the
/// kept community it has the most edge weight to, or none (-1) when it has no edge to one.
fn absorb_small(graph: &communities::Graph, found: &[usize], min_size: usize) -> Vec<i32> {
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

/// Items whose k-th neighbour is unusually far for this run: log distance more than `z`
/// robust standard deviations (1.4826 MAD) above the median. The score is the local
/// density the notes found to flag injected noise best; calibrated on each run's items.
/// Exact duplicates are common in real traffic (retries, templated prompts): when most
/// items have k identical neighbours the distances have no scale and nothing is flagged,
/// and the spread is never taken as narrower than 5% (in log units), so that a run of
/// near-copies does not make every small difference an outlier.
fn low_density(kth_distance: &[f32], z: f64) -> Vec<bool> {
    let mut sorted = kth_distance.to_vec();
    let typical = median(&mut sorted);
    if typical <= 1e-6 {
        return vec![false; kth_distance.len()];
    }
    let logs: Vec<f32> = kth_distance.iter().map(|d| d.max(1e-3 * typical).ln()).collect();
    let mut sorted = logs.clone();
    let med = median(&mut sorted);
    let mut dev: Vec<f32> = logs.iter().map(|v| (v - med).abs()).collect();
    let mad = median(&mut dev).max(0.05);
    logs.iter().map(|v| f64::from((v - med) / (1.4826 * mad)) > z).collect()
}

/// HDBSCAN (hdbscan-rs) on a 5-D UMAP of a sample; other rows take the majority label of
/// their nearest sampled rows.
fn hdbscan_on_umap(
    x: ArrayView2<f32>,
    params: &Params,
    rng: &mut Xoshiro256PlusPlus,
    check: &dyn Fn() -> Result<()>,
) -> Result<(Vec<i32>, Quality)> {
    let n = x.nrows();
    let idx = sample_rows(n, params.map_sample, rng);
    let sel = x.select(Axis(0), &idx);
    let up = umap::UmapParams { n_components: 5, tight: true, seed: params.seed, ..Default::default() };
    let layout = umap::fit(sel.view(), &up, check)?;
    let min_cluster_size = ((sel.nrows() as f64 * params.min_cluster_share) as usize).max(5);
    let hp = hdbscan_rs::HdbscanParams { min_cluster_size, ..Default::default() };
    let mut model = hdbscan_rs::Hdbscan::new(hp);
    let sample_labels = model.fit_predict(&layout.embedding.mapv(f64::from).view()).map_err(internal)?;
    check()?;
    let mut labels = vec![-1i32; n];
    let in_sample: Vec<Option<usize>> = {
        let mut v = vec![None; n];
        idx.iter().enumerate().for_each(|(p, &i)| v[i] = Some(p));
        v
    };
    let rest: Vec<usize> = (0..n).filter(|i| in_sample[*i].is_none()).collect();
    let (nn, _) = knn::knn(x.select(Axis(0), &rest).view(), sel.view(), 15, false);
    for (r, &i) in rest.iter().enumerate() {
        labels[i] = majority(nn[r].iter().map(|&j| sample_labels[j as usize])).0;
    }
    for (p, &i) in idx.iter().enumerate() {
        labels[i] = sample_labels[p];
    }
    let k = labels.iter().copied().max().unwrap_or(-1) + 1;
    let sil_idx = sample_rows(n, params.k_sample, rng);
    let sil_labels: Vec<i32> = sil_idx.iter().map(|&i| labels[i]).collect();
    let silhouette = if k >= 2 { metrics::silhouette(x.select(Axis(0), &sil_idx).view(), &sil_labels) } else { 0.0 };
    Ok((labels, Quality { method: "hdbscan".into(), silhouette, ..Default::default() }))
}

/// Renumbers clusters 0.. by decreasing size (ties: by old number); returns their count.
fn renumber_by_size(labels: &mut [i32]) -> usize {
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

/// Unit-length mean of each cluster's (unit-length) rows.
fn centroids_of(x: ArrayView2<f32>, labels: &[i32], k: usize) -> Vec<Vec<f32>> {
    let mut sums = vec![vec![0.0f64; x.ncols()]; k];
    for (row, &l) in x.rows().into_iter().zip(labels) {
        if l >= 0 {
            sums[l as usize].iter_mut().zip(row).for_each(|(s, v)| *s += f64::from(*v));
        }
    }
    sums.into_iter()
        .map(|s| {
            let norm = s.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
            s.iter().map(|v| (v / norm) as f32).collect()
        })
        .collect()
}

fn cosine_distance(a: &[f32], b: ndarray::ArrayView1<f32>) -> f32 {
    (1.0 - a.iter().zip(b).map(|(p, q)| p * q).sum::<f32>()).max(0.0)
}

/// Distance of each row to its own centroid, or to the nearest one for outliers.
fn nearest_distances(x: ArrayView2<f32>, labels: &[i32], centroids: &[Vec<f32>]) -> Vec<f32> {
    x.rows().into_iter().zip(labels).map(|(row, &l)| own_or_nearest(row, l, centroids).1).collect()
}

/// A row's cluster and its cosine distance to it: its own for a member (`label` >= 0),
/// the nearest one for an outlier.
fn own_or_nearest(row: ndarray::ArrayView1<f32>, label: i32, centroids: &[Vec<f32>]) -> (usize, f32) {
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

/// Flags as outliers (label -1) the items farther from their centroid than the cluster's
/// radius: median + z * 1.4826 * MAD of its distances (a robust z-score). With
/// `flag` false (HDBSCAN already chose its noise) radii are computed but nobody moves.
fn outliers(
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
        let med = median(&mut d);
        let mut dev: Vec<f32> = d.iter().map(|v| (v - med).abs()).collect();
        let mad = median(&mut dev);
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
fn calibrated_radii(x: ArrayView2<f32>, labels: &[i32], centroids: &[Vec<f32>]) -> (Vec<f32>, Vec<f32>) {
    let mut distance = Vec::with_capacity(labels.len());
    let mut pools: Vec<(Vec<f32>, usize)> = vec![(Vec::new(), 0); centroids.len()];
    for (row, &l) in x.rows().into_iter().zip(labels) {
        let (nearest, d) = own_or_nearest(row, l, centroids);
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

fn median(v: &mut [f32]) -> f32 {
    v.sort_unstable_by(f32::total_cmp);
    v[v.len() / 2]
}

fn ranks(labels: &[i32], distance: &[f32]) -> Vec<u32> {
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

/// The 2-D map: UMAP laid out from the sample graph, the other rows placed by transform.
fn project(
    x: ArrayView2<f32>,
    params: &Params,
    graph: SampledGraph,
    check: &dyn Fn() -> Result<()>,
) -> Result<Array2<f32>> {
    let n = x.nrows();
    let up = umap::UmapParams { n_components: 2, seed: params.seed, n_epochs: params.map_epochs, ..Default::default() };
    let SampledGraph { rows: idx, edges, rest: neighbours } = graph;
    let layout = umap::fit_graph(x.select(Axis(0), &idx).view(), edges, &up, check)?;
    let sel = x.select(Axis(0), &idx);
    let mut out = Array2::zeros((n, 2));
    let mut in_sample = vec![false; n];
    for (p, &i) in idx.iter().enumerate() {
        out.row_mut(i).assign(&layout.embedding.row(p));
        in_sample[i] = true;
    }
    let rest: Vec<usize> = (0..n).filter(|&i| !in_sample[i]).collect();
    for (c, chunk) in rest.chunks(20_000).enumerate() {
        let placed = match &neighbours {
            // The clustering's neighbours of these rows, found among the same sample.
            Some(Neighbours { idx: nn, dist: nd }) => {
                let span = c * 20_000..c * 20_000 + chunk.len();
                layout.place(&nn[span.clone()], &nd[span])
            }
            None => layout.transform(sel.view(), x.select(Axis(0), chunk).view(), up.n_neighbors),
        };
        for (p, &i) in chunk.iter().enumerate() {
            out.row_mut(i).assign(&placed.row(p));
        }
        check()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// `k` well separated directions in `dim` dimensions, `per` noisy items around each.
    fn planted(k: usize, per: usize, dim: usize, noise: f32, seed: u64) -> Vec<f32> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        (0..k * per)
            .flat_map(|i| (0..dim).map(move |d| (i, d)).collect::<Vec<_>>())
            .map(|(i, d)| if d % k == i % k { 1.0 } else { 0.0 } + noise * rng.gen_range(-1.0f32..1.0))
            .collect()
    }

    #[test]
    fn finds_planted_clusters_deterministically() {
        let params = Params { map_epochs: 50, ..Params::default() };
        let mut a = planted(6, 100, 64, 0.3, 1);
        let mut b = a.clone();
        let ra = cluster(&mut a, 64, &params, None, &|| Ok(())).unwrap();
        let rb = cluster(&mut b, 64, &params, None, &|| Ok(())).unwrap();
        assert_eq!(ra.n_clusters, 6);
        assert_eq!(ra.labels, rb.labels);
        assert_eq!(ra.coords, rb.coords);
        let truth: Vec<i32> = (0..600).map(|i| i % 6).collect();
        assert!(metrics::adjusted_rand_index(&truth, &ra.labels) > 0.95);
        assert!(ra.quality.largest_cluster_share <= 0.5);
        assert!(ra.rank.iter().zip(&ra.labels).filter(|(_, l)| **l >= 0).any(|(r, _)| *r == 0));
    }

    #[test]
    fn stops_when_asked() {
        let mut data = planted(3, 50, 16, 0.1, 2);
        let stop = || Err(EngineError::new(ErrorKind::Cancelled, "canceling statement"));
        let err = cluster(&mut data, 16, &Params::default(), None, &stop).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Cancelled);
    }

    #[test]
    fn previous_centroids_keep_a_good_k_but_not_a_bad_one() {
        let params = Params { map_epochs: 20, ..Params::default() };
        let first = cluster(&mut planted(6, 100, 64, 0.3, 1), 64, &params, None, &|| Ok(())).unwrap();
        // The next day's items: same topics, new noise. Started from yesterday's centroids.
        let next = cluster(
            &mut planted(6, 100, 64, 0.3, 9),
            64,
            &params,
            Some(Previous { centroids: &first.centroids, labels: &[] }),
            &|| Ok(()),
        )
        .unwrap();
        assert_eq!(next.n_clusters, 6);
        // A previous k that is clearly worse than the data's is not kept.
        let two = &first.centroids[..2];
        let fresh = cluster(
            &mut planted(6, 100, 64, 0.3, 9),
            64,
            &params,
            Some(Previous { centroids: two, labels: &[] }),
            &|| Ok(()),
        )
        .unwrap();
        assert_eq!(fresh.n_clusters, 6);
        // Centroids of another dimension are ignored.
        let other: Vec<Vec<f32>> = vec![vec![1.0; 8]; 6];
        let ignored = cluster(
            &mut planted(6, 100, 64, 0.3, 9),
            64,
            &params,
            Some(Previous { centroids: &other, labels: &[] }),
            &|| Ok(()),
        )
        .unwrap();
        assert_eq!(ignored.n_clusters, 6);
    }

    fn run(data: &mut [f32], dim: usize, params: &Params) -> Result<Clustering> {
        cluster(data, dim, params, None, &|| Ok(()))
    }

    #[test]
    fn graph_finds_groups_whatever_their_number_and_groups_them_into_themes() {
        let params = Params { map_epochs: 20, ..Params::default() };
        for k in [3, 12, 25] {
            let mut data = planted(k, 40, 64, 0.3, 3);
            let r = run(&mut data, 64, &params).unwrap();
            let truth: Vec<i32> = (0..k as i32 * 40).map(|i| i % k as i32).collect();
            assert_eq!(r.n_clusters, k, "k = {k}");
            assert!(metrics::adjusted_rand_index(&truth, &r.labels) > 0.95, "k = {k}");
            assert_eq!(r.themes.len(), k);
            assert!(r.n_themes >= 1 && r.n_themes <= k);
        }
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
        assert!(metrics::adjusted_rand_index(&truth, &r.labels) > 0.9);
        assert_eq!(r.n_themes, 4);
        let theme_of_item: Vec<i32> =
            r.labels.iter().map(|&l| if l < 0 { -1 } else { r.themes[l as usize] as i32 }).collect();
        let parents: Vec<i32> = (0..480).map(|i| (i % 16) / 4).collect();
        assert!(metrics::adjusted_rand_index(&parents, &theme_of_item) > 0.95);
    }

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
        crate::embedding::normalise_rows(&mut fresh, 32);
        let placed = assign::Centroids::new(r.centroids.clone(), r.radius.clone()).unwrap().place(&fresh).unwrap();
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
        assert!(metrics::adjusted_rand_index(&truth, &r.labels) > 0.99);
    }

    #[test]
    fn degenerate_windows_succeed_or_say_why() {
        let params = Params { map_epochs: 10, ..Params::default() };
        // All identical: one cluster, no outliers.
        let mut same = vec![0.5f32; 50 * 8];
        let r = run(&mut same, 8, &params).unwrap();
        assert_eq!((r.n_clusters, r.n_themes), (1, 1));
        assert!(r.labels.iter().all(|&l| l == 0));
        // All orthogonal: every item as far from every other: nothing to group.
        let mut orthogonal = vec![0.0f32; 40 * 40];
        (0..40).for_each(|i| orthogonal[i * 40 + i] = 1.0);
        let e = run(&mut orthogonal, 40, &params).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NothingToGroup);
        // Three items: one cluster of them (too few to split).
        let mut three = vec![1.0, 0.0, 0.9, 0.1, 0.8, 0.2];
        let r = run(&mut three, 2, &params).unwrap();
        assert_eq!(r.n_clusters, 1);
        // More clusters asked of k-means than there are items: a k that fits.
        let mut few = planted(2, 5, 8, 0.1, 4);
        let r = run(&mut few, 8, &Params { method: Method::KMeans, max_clusters: 200, ..params.clone() }).unwrap();
        assert!(r.n_clusters >= 1 && r.n_clusters <= 10);
    }
}
