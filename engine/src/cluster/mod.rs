//! The clustering pipeline, which only orchestrates the steps in their own modules:
//! unit-normalise; reduce with PCA (randomised SVD fitted on a sample, `pca`); cluster, by
//! default into the communities of a sampled k-nearest-neighbour graph (`communities`), or
//! by k-means with k chosen by silhouette (`kmeans`) or HDBSCAN on a UMAP embedding
//! (`hdbscan`) when a job asks; flag outliers and size each cluster's radius (`outliers`);
//! compute centroids in the original space (`groups`); group the clusters into themes
//! (`themes`); and lay out a 2-D map (UMAP, `map`; its fit runs in a thread of its own
//! from the moment the sample's graph exists, beside the clustering). Starting from the
//! job's previous run (`previous`) keeps clusters' identity from run to run.
//! Deterministic: the same rows, in the same order, and the same seed give the same result.

pub mod assign;
pub mod communities;
#[cfg(test)]
mod fixtures;
mod groups;
mod hdbscan;
pub mod kmeans;
pub mod knn;
pub mod labels;
pub mod lineage;
mod map;
mod outliers;
pub mod params;
pub mod pca;
mod previous;
pub mod quality;
pub mod requests;
pub mod spelling;
pub mod steering;
pub mod themes;
pub mod titles;
pub mod umap;

use crate::error::{EngineError, ErrorKind, Result};
use communities::SampledGraph;
pub use groups::cluster_sizes;
use groups::{centroids_of, renumber_by_size};
use map::PendingMap;
use ndarray::{Array2, ArrayView2};
use outliers::{calibrated_radii, nearest_distances, ranks};
pub use params::{Method, Params};
pub use previous::Previous;
use previous::PreviousReduced;
pub use quality::{Candidate, Quality};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::time::Instant;
use steering::{Mark, Steer, SteeringSummary};

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
    /// Per cluster: the steer (`steering`) that made it, if one did.
    pub steering: Vec<Option<Mark>>,
    /// Which of the job's steers shaped the run, and which found nothing to act on.
    pub steering_summary: SteeringSummary,
    /// Seconds per phase: reduce, cluster, steer (when the job has steering), project.
    pub timings: Vec<(&'static str, f64)>,
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
    cluster_steered(data, dim, params, previous, &[], check)
}

/// [`cluster`], with the job's steering (`steers`, oldest first) applied to the clusters
/// found before their themes and map are made (see `steering`).
pub fn cluster_steered(
    data: &mut [f32],
    dim: usize,
    params: &Params,
    previous: Option<Previous>,
    steers: &[Steer],
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
    crate::vectors::normalise_rows(data, dim);
    let x = ArrayView2::from_shape((n, dim), data).map_err(EngineError::internal)?;
    let mut timings = Vec::new();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(params.seed);

    let t = Instant::now();
    let (reduced, projection, explained) = pca::reduce(x, params, &mut rng)?;
    // Each item's theme in the previous run, from which the run's themes start.
    let previous_item_themes: Vec<Option<i32>> = previous.as_ref().map_or(Vec::new(), |p| {
        p.labels
            .iter()
            .map(|&l| usize::try_from(l).ok().and_then(|c| p.themes.get(c).copied()).filter(|&t| t >= 0))
            .collect()
    });
    let previous =
        previous.filter(|p| !p.centroids.is_empty() && p.centroids.iter().all(|r| r.len() == dim)).map(|p| {
            let c = p.centroids;
            let rows = Array2::from_shape_fn((c.len(), dim), |(i, j)| c[i][j]);
            PreviousReduced { centroids: projection.apply(rows.view()), labels: p.labels }
        });
    timings.push(("reduce", t.elapsed().as_secs_f64()));
    check()?;

    let t = Instant::now();
    let mut sampled: Option<(SampledGraph, PendingMap)> = None;
    let mut rest_neighbours = None;
    let (mut labels, mut quality) = match params.method {
        Method::KMeans => {
            kmeans::kmeans_auto(reduced.view(), params, previous.as_ref().map(|p| &p.centroids), &mut rng, check)?
        }
        Method::Hdbscan => hdbscan::hdbscan_on_umap(reduced.view(), params, &mut rng, check)?,
        Method::Graph => {
            let graph = communities::sampled_graph(reduced.view(), params, &mut rng);
            let map = map::start(&graph, params);
            let (labels, quality, rest) =
                communities::graph_communities(reduced.view(), &graph, params, previous.as_ref(), check)?;
            (sampled, rest_neighbours) = (Some((graph, map)), Some(rest));
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
        method => outliers::outliers(x, &mut labels, &centroids, params.outlier_z, method == Method::KMeans),
    };
    // Outlier removal can empty a cluster only in degenerate data; keep numbering dense.
    let mut n_clusters = renumber_by_size(&mut labels);
    if n_clusters != centroids.len() {
        centroids = centroids_of(x, &labels, n_clusters);
        distance = nearest_distances(x, &labels, &centroids);
    }
    let mut radius = if radius.len() == n_clusters { radius } else { vec![f32::INFINITY; n_clusters] };
    timings.push(("cluster", t.elapsed().as_secs_f64()));
    check()?;

    let t = Instant::now();
    let mut marks = vec![None; n_clusters];
    let mut steering_summary = SteeringSummary::default();
    if !steers.is_empty() {
        let steered = steering::apply(x, &labels, steers, params.seed, check)?;
        // A run no steer acted on stays exactly the clustering's.
        if !steered.summary.applied.is_empty() {
            centroids = steered.centroids(x);
            (labels, n_clusters, marks) = (steered.labels, steered.n_clusters, steered.marks);
            (distance, radius) = calibrated_radii(x, &labels, &centroids);
        }
        steering_summary = steered.summary;
        timings.push(("steer", t.elapsed().as_secs_f64()));
        check()?;
    }
    let rank = ranks(&labels, &distance);
    quality.outlier_share = labels.iter().filter(|&&l| l < 0).count() as f64 / n as f64;
    quality.largest_cluster_share = cluster_sizes(&labels, n_clusters).into_iter().max().unwrap_or(0) as f64 / n as f64;

    let (graph, map) = sampled.unwrap_or_else(|| {
        let graph = communities::sampled_graph(reduced.view(), params, &mut rng);
        let map = map::start(&graph, params);
        (graph, map)
    });
    let sizes = cluster_sizes(&labels, n_clusters);
    let fresh = themes::themes_of(&centroids, &sizes);
    let themes = match themes::previous_themes(&labels, n_clusters, &previous_item_themes) {
        Some(before) => themes::keep_previous_themes(&centroids, &sizes, &before, fresh),
        None => fresh,
    };
    let n_themes = themes.iter().copied().max().map_or(0, |m| m + 1);
    check()?;

    let t = Instant::now();
    let map = map.finish(reduced.view(), &graph, rest_neighbours.as_ref(), check)?;
    let coords: Vec<[f32; 2]> = map.rows().into_iter().map(|r| [r[0], r[1]]).collect();
    let centroid_coords = map::mean_coords(&coords, &labels, n_clusters);
    let item_themes = themes::item_themes(&labels, &themes);
    let theme_coords = map::mean_coords(&coords, &item_themes, n_themes);
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
        steering: marks,
        steering_summary,
        timings,
    })
}

impl Clustering {
    /// The theme of a cluster (-1 for Outliers).
    pub fn theme_of(&self, cluster: i32) -> i32 {
        themes::theme_of(&self.themes, cluster)
    }

    /// The theme of each item (-1 for outliers).
    pub fn item_themes(&self) -> Vec<i32> {
        themes::item_themes(&self.labels, &self.themes)
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{planted, run};
    use super::*;

    #[test]
    fn a_set_within_the_samples_gives_the_same_run_whatever_the_seed() {
        let mut a = planted(6, 100, 64, 0.6, 1);
        let mut b = a.clone();
        let seeded = |seed| Params { map_epochs: 50, seed, ..Params::default() };
        let ra = cluster(&mut a, 64, &seeded(1), None, &|| Ok(())).unwrap();
        let rb = cluster(&mut b, 64, &seeded(2), None, &|| Ok(())).unwrap();
        // The seed still lays out the map (its negative sampling), nothing else here.
        assert!(ra.labels == rb.labels && ra.themes == rb.themes, "the clusters depend on the seed");
        assert_eq!(ra.quality.pca_explained_variance, rb.quality.pca_explained_variance);
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
        assert!(quality::adjusted_rand_index(&truth, &ra.labels) > 0.95);
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
            Some(Previous { centroids: &first.centroids, labels: &[], themes: &[] }),
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
            Some(Previous { centroids: two, labels: &[], themes: &[] }),
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
            Some(Previous { centroids: &other, labels: &[], themes: &[] }),
            &|| Ok(()),
        )
        .unwrap();
        assert_eq!(ignored.n_clusters, 6);
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
