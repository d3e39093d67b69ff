//! The offline labels of a run's clusters: the texts they are made from (each cluster's
//! items nearest its centre) and the built-in model that re-ranks titles.

use crate::items::item_texts;
use crate::jobs::{Job, Source};
use llm_clusters_engine::cluster::labels::{offline_labels, Embed, RunLabels};
use llm_clusters_engine::cluster::Clustering;
use llm_clusters_engine::embedder::minilm;
use llm_clusters_engine::{EngineError, ErrorKind};
use std::collections::HashMap;

/// Items per cluster whose text feeds its keywords (the closest to the centre).
const LABEL_ITEMS_PER_CLUSTER: u32 = 200;

/// Offline labels of the clusters and of the themes, from the text of each cluster's items
/// nearest its centre; titles re-ranked by the built-in model when the run's embeddings
/// have its dimensions and it is the configured embedder.
pub fn run_labels(job: &Job, source: &Source, ids: &[String], result: &Clustering) -> RunLabels {
    let docs = near_centre_texts(job, source, ids, &result.labels, &result.rank);
    let docs: Vec<(i32, u32, &str)> = docs.iter().map(|(c, r, t)| (*c, *r, t.as_str())).collect();
    let dim = result.centroids.first().map_or(0, Vec::len);
    with_title_embedder(dim, |embedder| offline_labels(&docs, result, embedder))
}

/// `(group, rank, text)` of the items `ids` whose rank in their group (`groups`, `rank`)
/// is below [`LABEL_ITEMS_PER_CLUSTER`]: the texts that labels are made from.
pub fn near_centre_texts(
    job: &Job,
    source: &Source,
    ids: &[String],
    groups: &[i32],
    rank: &[u32],
) -> Vec<(i32, u32, String)> {
    let chosen: Vec<usize> = (0..ids.len()).filter(|&i| rank[i] < LABEL_ITEMS_PER_CLUSTER).collect();
    let wanted: Vec<String> = chosen.iter().map(|&i| ids[i].clone()).collect();
    let mut texts: HashMap<String, String> = item_texts(source, job.team_id, wanted, i32::MAX);
    chosen.iter().filter_map(|&i| texts.remove(&ids[i]).map(|t| (groups[i], rank[i], t))).collect()
}

/// Runs `f` with the built-in model as the embedder that re-ranks titles, when centroids
/// of `dim` dimensions are in its space and it is the configured embedder (else none).
pub fn with_title_embedder<T>(dim: usize, f: impl FnOnce(Option<Embed>) -> T) -> T {
    let model = (dim == minilm::DIMENSIONS).then(crate::embed::builtin_model_if_used).flatten();
    let embed = |texts: &[String]| {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        match &model {
            Some(m) => crate::embed::embed_builtin(m, &refs),
            None => Err(EngineError::new(ErrorKind::NotConfigured, "no built-in model")),
        }
    };
    f(model.as_ref().map(|_| &embed as Embed))
}
