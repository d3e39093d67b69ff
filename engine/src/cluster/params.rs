//! Job parameters (`llm_clusters.jobs.params`): parsed and validated in one place.

use crate::capture::{json_type, truncate};
use crate::error::{EngineError, Result};
use crate::lens::{self, Lens};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// k-means on PCA coordinates, k chosen by silhouette, robust distance outliers.
    KMeans,
    /// HDBSCAN on a 5-D UMAP of a sample (BERTopic-style); noise = outliers.
    Hdbscan,
    /// Louvain communities of the fuzzy k-nearest-neighbour graph; low-density outliers.
    Graph,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Length of the run's window, as PostgreSQL interval text (checked by the extension).
    pub window: String,
    /// At most this many items are clustered; a larger window is sampled uniformly.
    pub max_items: usize,
    /// Fewer items than this and the run is skipped.
    pub min_items: usize,
    pub seed: u64,
    pub method: Method,
    pub pca_dims: usize,
    pub pca_sample: usize,
    pub max_clusters: usize,
    pub max_cluster_share: f64,
    /// k-means: the smallest k whose silhouette is within this fraction of the best wins.
    pub k_tolerance: f64,
    pub min_cluster_share: f64,
    pub outlier_z: f64,
    pub k_sample: usize,
    pub fit_sample: usize,
    pub kmeans_runs: usize,
    pub map_sample: usize,
    pub map_epochs: usize,
    /// Graph: Louvain's resolution; above 1 finer clusters, below 1 coarser.
    pub resolution: f64,
    /// Graph: 0 (off), or how much more of its edge weight a finer part of a community may
    /// lose to the rest than the run's communities lose on average and still become a
    /// cluster of its own (`communities::refine`); 1.5 follows many small groups.
    pub refine: f64,
    /// What the items are embedded from (`"lens"`, see `lens::Lens`; `"embed": "summary"`
    /// is the summary lens): the job's default source is the lens's item view.
    pub lens: Lens,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            window: "7 days".into(),
            max_items: 1_000_000,
            min_items: 20,
            seed: 42,
            method: Method::Graph,
            pca_dims: 50,
            pca_sample: 5_000,
            max_clusters: 30,
            max_cluster_share: 0.5,
            k_tolerance: 0.1,
            min_cluster_share: 0.02,
            outlier_z: 3.5,
            k_sample: 1_500,
            fit_sample: 20_000,
            kmeans_runs: 3,
            map_sample: 10_000,
            map_epochs: 200,
            resolution: 1.0,
            refine: 0.0,
            lens: Lens::Request,
        }
    }
}

/// Every key `params` may hold, with what it takes; documented in the README.
pub const KEYS: &[&str] = &[
    "window",
    "max_items",
    "min_items",
    "seed",
    "method",
    "pca_dims",
    "pca_sample",
    "max_clusters",
    "max_cluster_share",
    "k_tolerance",
    "min_cluster_share",
    "outlier_z",
    "k_sample",
    "fit_sample",
    "kmeans_runs",
    "map_sample",
    "map_epochs",
    "resolution",
    "refine",
    "embed",
    "lens",
];

impl Params {
    /// Parses a job's `params` object; absent keys take their defaults.
    pub fn from_json(value: &Value) -> Result<Self> {
        let empty = Map::new();
        let obj = match value {
            Value::Null => &empty,
            Value::Object(o) => o,
            other => {
                return Err(EngineError::invalid_parameter(format!(
                    "params must be a JSON object, got {}",
                    json_type(other)
                )))
            }
        };
        if let Some(key) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(EngineError::invalid_parameter(format!(
                "unknown key \"{key}\" in params; known keys: {}",
                KEYS.join(", ")
            )));
        }
        let mut p = Params::default();
        if let Some(v) = obj.get("window") {
            p.window = v.as_str().map(str::to_string).ok_or_else(|| {
                EngineError::invalid_parameter(format!(
                    "params.window must be an interval string such as \"7 days\", got {v}"
                ))
            })?;
        }
        let int = |key: &str, min: u64, max: u64, default: usize| -> Result<usize> {
            match obj.get(key) {
                None => Ok(default),
                Some(v) => v.as_u64().filter(|n| (min..=max).contains(n)).map(|n| n as usize).ok_or_else(|| {
                    EngineError::invalid_parameter(format!(
                        "params.{key} must be a whole number from {min} to {max}, got {v}"
                    ))
                }),
            }
        };
        let real = |key: &str, min: f64, max: f64, default: f64| -> Result<f64> {
            match obj.get(key) {
                None => Ok(default),
                Some(v) => v.as_f64().filter(|x| (min..=max).contains(x)).ok_or_else(|| {
                    EngineError::invalid_parameter(format!(
                        "params.{key} must be a number from {min} to {max}, got {v}"
                    ))
                }),
            }
        };
        p.max_items = int("max_items", 3, 100_000_000, p.max_items)?;
        p.min_items = int("min_items", 3, 100_000_000, p.min_items)?;
        p.seed = int("seed", 0, i64::MAX as u64, p.seed as usize)? as u64;
        p.pca_dims = int("pca_dims", 2, 256, p.pca_dims)?;
        p.pca_sample = int("pca_sample", 100, 1_000_000, p.pca_sample)?;
        p.max_clusters = int("max_clusters", 2, 200, p.max_clusters)?;
        p.max_cluster_share = real("max_cluster_share", 0.05, 1.0, p.max_cluster_share)?;
        p.k_tolerance = real("k_tolerance", 0.0, 1.0, p.k_tolerance)?;
        p.min_cluster_share = real("min_cluster_share", 0.0, 0.5, p.min_cluster_share)?;
        p.outlier_z = real("outlier_z", 0.5, 100.0, p.outlier_z)?;
        p.k_sample = int("k_sample", 50, 10_000, p.k_sample)?;
        p.fit_sample = int("fit_sample", 100, 10_000_000, p.fit_sample)?;
        p.kmeans_runs = int("kmeans_runs", 1, 50, p.kmeans_runs)?;
        p.map_sample = int("map_sample", 100, 1_000_000, p.map_sample)?;
        p.map_epochs = int("map_epochs", 10, 2_000, p.map_epochs)?;
        p.resolution = real("resolution", 0.05, 20.0, p.resolution)?;
        p.refine = real("refine", 0.0, 10.0, p.refine)?;
        p.method = match obj.get("method") {
            None => p.method,
            Some(Value::String(s)) if s == "kmeans" => Method::KMeans,
            Some(Value::String(s)) if s == "hdbscan" => Method::Hdbscan,
            Some(Value::String(s)) if s == "graph" => Method::Graph,
            Some(v) => {
                return Err(EngineError::invalid_parameter(format!(
                    "params.method must be \"graph\", \"kmeans\" or \"hdbscan\", got {v}"
                )))
            }
        };
        let embed_summaries = match obj.get("embed") {
            None => None,
            Some(Value::String(s)) if s == "content" => Some(false),
            Some(Value::String(s)) if s == "summary" => Some(true),
            Some(v) => {
                return Err(EngineError::invalid_parameter(format!(
                    "params.embed must be \"content\" or \"summary\", got {}",
                    truncate(&v.to_string(), 100)
                )))
            }
        };
        let lens = match obj.get("lens") {
            None => None,
            Some(Value::String(s)) => Some(Lens::parse(s)?),
            Some(v) => {
                return Err(EngineError::invalid_parameter(format!(
                    "params.lens must be a string, got {}",
                    json_type(v)
                ))
                .with_hint(lens::hint()))
            }
        };
        // params.embed = "summary" is the summary lens; "content" any other.
        p.lens = match (embed_summaries, lens) {
            (Some(true), None) => Lens::Summary,
            (_, None) => Lens::Request,
            (Some(true), Some(l)) if l != Lens::Summary => return Err(conflict(l)),
            (Some(false), Some(Lens::Summary)) => return Err(conflict(Lens::Summary)),
            (_, Some(l)) => l,
        };
        if p.min_items > p.max_items {
            return Err(EngineError::invalid_parameter(format!(
                "params.min_items ({}) is larger than params.max_items ({})",
                p.min_items, p.max_items
            )));
        }
        Ok(p)
    }
}

fn conflict(lens: Lens) -> EngineError {
    EngineError::invalid_parameter(format!(
        "params.embed and params.lens disagree: lens \"{}\" with embed \"{}\"",
        lens.as_str(),
        if lens == Lens::Summary { "content" } else { "summary" }
    ))
    .with_hint("params.embed = \"summary\" is params.lens = \"summary\": give one of them.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::json;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(Params::from_json(&json!({})).unwrap(), Params::default());
        let p = Params::from_json(&json!({"method": "hdbscan", "seed": 7, "window": "1 day", "outlier_z": 2})).unwrap();
        assert_eq!((p.method, p.seed, p.window.as_str(), p.outlier_z), (Method::Hdbscan, 7, "1 day", 2.0));
        assert_eq!(Params::default().refine, 0.0);
        assert_eq!(Params::from_json(&json!({"refine": 1.5})).unwrap().refine, 1.5);
    }

    #[test]
    fn lens_and_its_embed_synonym() {
        let lens = |v: Value| Params::from_json(&v).unwrap().lens;
        assert_eq!(lens(json!({})), Lens::Request);
        assert_eq!(lens(json!({"embed": "summary"})), Lens::Summary);
        assert_eq!(lens(json!({"embed": "summary", "lens": "summary"})), Lens::Summary);
        assert_eq!(lens(json!({"embed": "content", "lens": "flow"})), Lens::Flow);
        assert_eq!(lens(json!({"lens": "error"})), Lens::Error);
        let e = Params::from_json(&json!({"lens": "mood"})).unwrap_err();
        assert!(e.hint.unwrap().contains("request"), "the error hints the lenses");
    }

    #[test]
    fn rejects_bad_params() {
        for (v, needle) in [
            (json!([]), "params must be a JSON object"),
            (json!({"k": 5}), "unknown key \"k\""),
            (json!({"seed": -1}), "params.seed must be a whole number"),
            (json!({"max_clusters": 1}), "params.max_clusters must be a whole number from 2 to 200, got 1"),
            (json!({"method": "dbscan"}), "params.method must be"),
            (json!({"window": 7}), "params.window must be an interval string"),
            (json!({"outlier_z": "high"}), "params.outlier_z must be a number"),
            (json!({"refine": -1}), "params.refine must be a number from 0 to 10, got -1"),
            (json!({"min_items": 50, "max_items": 10}), "is larger than"),
            (json!({"lens": "mood"}), "unknown lens \"mood\""),
            (json!({"lens": 3}), "params.lens must be a string"),
            (json!({"lens": "error", "embed": "summary"}), "disagree"),
            (json!({"lens": "summary", "embed": "content"}), "disagree"),
        ] {
            let e = Params::from_json(&v).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidParameter);
            assert!(e.message.contains(needle), "{v}: {}", e.message);
        }
    }
}
