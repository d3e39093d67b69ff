//! What a row of `llm_clusters.runs` records about a run: its status (the table's CHECK
//! constraint lists the same four) and the `quality` document, written through serde so
//! that its keys are declared once, here.

use crate::cluster::steering::SteeringSummary;
use crate::cluster::{Clustering, Quality};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Started, not finished.
    Running,
    /// Clustered; its clusters, themes and assignments are written.
    Succeeded,
    /// An error rolled its work back; `runs.error` says what.
    Failed,
    /// Nothing to cluster (too few items, no embeddings); `runs.error` says why.
    Skipped,
}

impl RunStatus {
    pub const ALL: [RunStatus; 4] = [RunStatus::Running, RunStatus::Succeeded, RunStatus::Failed, RunStatus::Skipped];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// `runs.quality`: what was read, and for a clustered run, how it went.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunQuality {
    pub items_in_window: i64,
    pub sampled: bool,
    /// `max_items` or `max_memory_mb`: the limit that made the run read a sample.
    pub sampled_by: Option<&'static str>,
    pub max_items_read: usize,
    pub skipped_null_embedding: i64,
    pub skipped_invalid_embedding: i64,
    pub skipped_non_finite: i64,
    pub skipped_over_max_dimension: i64,
    pub skipped_other_dimension: i64,
    /// Items left out because their item id or trace id is longer than 1,024 bytes.
    pub skipped_long_id: i64,
    pub dimension: usize,
    /// Absent for a run that was skipped.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub clustered: Option<ClusteredQuality>,
}

/// The part of `runs.quality` a clustered run adds.
#[derive(Debug, Clone, Serialize)]
pub struct ClusteredQuality {
    pub method: String,
    pub n_themes: usize,
    pub silhouette: f64,
    pub outlier_share: f64,
    pub largest_cluster_share: f64,
    pub pca_dims: usize,
    pub pca_explained_variance: f64,
    pub lineage: LineageSummary,
    /// Absent when the job has no steering.
    #[serde(skip_serializing_if = "SteeringSummary::is_empty")]
    pub steering: SteeringSummary,
    pub k_candidates: Vec<KCandidate>,
}

impl ClusteredQuality {
    pub fn of(result: &Clustering, lineage: LineageSummary) -> Self {
        let q: &Quality = &result.quality;
        ClusteredQuality {
            method: q.method.clone(),
            n_themes: result.n_themes,
            silhouette: q.silhouette,
            outlier_share: q.outlier_share,
            largest_cluster_share: q.largest_cluster_share,
            pca_dims: q.pca_dims,
            pca_explained_variance: q.pca_explained_variance,
            lineage,
            steering: result.steering_summary.clone(),
            k_candidates: q
                .k_candidates
                .iter()
                .map(|&(k, silhouette, largest_share, smallest_share)| KCandidate {
                    k,
                    silhouette,
                    largest_share,
                    smallest_share,
                })
                .collect(),
        }
    }
}

/// One k that k-means tried.
#[derive(Debug, Clone, Serialize)]
pub struct KCandidate {
    pub k: usize,
    pub silhouette: f64,
    pub largest_share: f64,
    pub smallest_share: f64,
}

/// `runs.quality.lineage`: what happened to the previous run's clusters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LineageSummary {
    pub previous_run_id: Option<i64>,
    pub continued: usize,
    pub new: usize,
    pub gone: usize,
    pub split: usize,
    pub merged: usize,
    pub titles_kept: usize,
}

/// `runs.quality.ai_labels`: how many clusters the AI service named, and why the others
/// kept their offline labels (by cluster id).
#[derive(Debug, Clone, Default, Serialize)]
pub struct AiLabelOutcome {
    pub labelled: usize,
    pub fallback: usize,
    pub failures: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        assert!(RunStatus::ALL.iter().all(|&s| RunStatus::parse(s.as_str()) == Some(s)));
        assert_eq!(RunStatus::parse("Succeeded"), None);
    }

    #[test]
    fn quality_of_a_skipped_run_has_no_clustering_keys() {
        let read = RunQuality { items_in_window: 3, sampled_by: None, dimension: 8, ..Default::default() };
        let v = serde_json::to_value(&read).unwrap();
        assert_eq!(v["items_in_window"], 3);
        assert_eq!(v["sampled_by"], serde_json::Value::Null);
        assert!(v.get("method").is_none() && v.get("lineage").is_none());
        let outcome =
            AiLabelOutcome { labelled: 1, fallback: 1, failures: [("2".to_string(), "HTTP 500".to_string())].into() };
        assert_eq!(
            serde_json::to_value(&outcome).unwrap(),
            serde_json::json!({"labelled": 1, "fallback": 1, "failures": {"2": "HTTP 500"}})
        );
    }
}
