//! AI labels through an OpenAI-compatible service (`http`), only with consent
//! (`llm_clusters.ai_data_processing`). Labelling is three steps so that the worker can
//! make the HTTP calls outside any transaction: gather the requests (SPI), call the
//! service (no SPI), apply (SPI).

use crate::error::{raise, OrRaise};
use crate::gucs::CentroidBudget;
use crate::http::{chat_service, post_within};
use crate::items::nearest_items;
use crate::jobs::{run_team_and_source, Source};
use crate::pg::Required;
use llm_clusters_engine::ai::{
    accept_labels, label_inputs, label_request, parse_label, Accepted, LabelCluster, LabelResult, LABEL_ITEMS,
};
use llm_clusters_engine::clean::{clean, Field};
use llm_clusters_engine::runs::AiLabelOutcome;
use llm_clusters_engine::{to_json, EngineError, ErrorKind};
use pgrx::prelude::*;
use serde_json::Value;
use std::collections::HashMap;

/// One cluster's label request.
pub struct LabelRequest {
    cluster_id: i32,
    body: Value,
}

/// The label requests of the clusters (not Outliers) of run `run_id` of `team_id`, whose
/// items' texts are read from `source` (none: the job or its relation is gone), or None
/// when AI labels are off.
pub fn label_requests(team_id: i32, run_id: i64, source: Option<&Source>) -> Option<Vec<LabelRequest>> {
    let (_, model) = chat_service()?;
    // A read-write call: it makes this statement's earlier writes (run_job labelling the
    // run it has just written) visible to it and to the reads that follow.
    let mut centroids = CentroidBudget::new(run_id, "clusters");
    let clusters: Vec<(i32, String, Vec<f32>)> = Spi::connect_mut(|client| {
        client
            .update(
                "SELECT cluster_id, title, centroid FROM llm_clusters.clusters WHERE team_id = $2 AND run_id = $1 AND cluster_id >= 0 ORDER BY cluster_id",
                None,
                &[run_id.into(), team_id.into()],
            )?
            .map(|r| {
                Ok((
                    r.get::<i32>(1)?.required("clusters.cluster_id"),
                    r.get::<String>(2)?.required("clusters.title"),
                    centroids.hold(r.get::<Vec<f32>>(3)?.unwrap_or_default()),
                ))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    let items = nearest_items(source, team_id, 400, run_id, LABEL_ITEMS as i32);
    let mut texts: HashMap<i32, Vec<String>> = HashMap::new();
    for item in items.into_iter().filter(|i| i.cluster_id >= 0 && !i.preview.is_empty()) {
        texts.entry(item.cluster_id).or_default().push(item.preview);
    }
    let clusters: Vec<LabelCluster> = clusters
        .into_iter()
        .map(|(cluster_id, title, centroid)| LabelCluster {
            cluster_id,
            title,
            centroid,
            texts: texts.remove(&cluster_id).unwrap_or_default(),
        })
        .collect();
    let requests = label_inputs(&clusters)
        .into_iter()
        .map(|(cluster_id, input)| LabelRequest { cluster_id, body: label_request(&model, &input) })
        .collect();
    Some(requests)
}

/// Asks the service for each label; no SPI, so it runs outside any transaction in the worker.
/// All the requests share one time budget (2 × `ai_timeout_ms`): the clusters left when it
/// is spent keep their offline labels.
pub fn call_labels(requests: Vec<LabelRequest>) -> Vec<LabelResult> {
    let Some((service, _)) = chat_service() else { return Vec::new() };
    let budget = service.call_budget();
    requests
        .into_iter()
        .map(|r| {
            (
                r.cluster_id,
                post_within(&service, &budget, "/chat/completions", &r.body)
                    .and_then(|body| parse_label(&body).map_err(|e| e.message)),
            )
        })
        .collect()
}

/// Writes the labels that came back (distinct titles; failures keep the offline label) and
/// records the outcome in `runs.quality.ai_labels`. Returns how many clusters got AI labels.
pub fn apply_labels(team_id: i32, run_id: i64, results: Vec<LabelResult>) -> i64 {
    let offline: Vec<(i32, String)> = Spi::connect(|client| {
        client
            .select(
                "SELECT cluster_id, title FROM llm_clusters.clusters WHERE team_id = $2 AND run_id = $1",
                None,
                &[run_id.into(), team_id.into()],
            )?
            .map(|r| {
                Ok((r.get::<i32>(1)?.required("clusters.cluster_id"), r.get::<String>(2)?.required("clusters.title")))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    let Accepted { labels: accepted, failures: failed } = accept_labels(&offline, results);
    let (mut ids, mut titles, mut descriptions) = (Vec::new(), Vec::new(), Vec::new());
    for (cluster_id, label) in accepted {
        ids.push(cluster_id);
        titles.push(label.title);
        let bullets = label.bullets.iter().map(|b| format!("• {b}")).collect::<Vec<_>>().join("\n");
        descriptions.push(clean(&bullets, Field::Text));
    }
    // A failure may quote the model's answer: cleaned and bounded as a bullet is.
    let outcome = AiLabelOutcome {
        labelled: ids.len(),
        fallback: failed.len(),
        failures: failed
            .into_iter()
            .map(|(cluster_id, message)| (cluster_id.to_string(), clean(&message, Field::Line)))
            .collect(),
    };
    let labelled = ids.len() as i64;
    let summary = to_json(&outcome).or_raise();
    Spi::connect_mut(|client| {
        client.update(
            "UPDATE llm_clusters.clusters c SET title = u.t, description = u.d
             FROM unnest($2::int[], $3::text[], $4::text[]) AS u(c, t, d)
             WHERE c.team_id = $5 AND c.run_id = $1 AND c.cluster_id = u.c",
            None,
            &[run_id.into(), ids.into(), titles.into(), descriptions.into(), team_id.into()],
        )?;
        client.update(
            "UPDATE llm_clusters.runs SET quality = jsonb_set(quality, '{ai_labels}', $2) WHERE team_id = $3 AND id = $1",
            None,
            &[run_id.into(), pgrx::JsonB(summary).into(), team_id.into()],
        )?;
        Ok::<_, pgrx::spi::Error>(())
    })
    .or_raise();
    labelled
}

/// Labels a run's clusters with the AI service when it is enabled, in the caller's
/// transaction; a no-op otherwise. Never raises for a service failure.
pub fn label_if_enabled(team_id: i32, run_id: i64, source: Option<&Source>) {
    if let Some(requests) = label_requests(team_id, run_id, source) {
        apply_labels(team_id, run_id, call_labels(requests));
    }
}

/// Internal: called by `llm_clusters.label_run`.
#[pg_extern(volatile, parallel_unsafe, name = "_label_run")]
#[search_path(pg_catalog, pg_temp)]
pub fn label_run(run_id: i64) -> i64 {
    let (team_id, source) = run_team_and_source(run_id).unwrap_or_else(|| {
        raise(EngineError::new(ErrorKind::NotFound, format!("run {run_id} does not exist or did not succeed")))
    });
    let exists = Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM llm_clusters.runs WHERE team_id = $2 AND id = $1 AND status = 'succeeded')",
        &[run_id.into(), team_id.into()],
    )
    .or_raise()
    .required("EXISTS");
    if !exists {
        raise(EngineError::new(ErrorKind::NotFound, format!("run {run_id} does not exist or did not succeed")));
    }
    let Some(requests) = label_requests(team_id, run_id, source.as_ref()) else {
        raise(EngineError::new(
            ErrorKind::NotConfigured,
            "AI labels need llm_clusters.ai_data_processing = on, llm_clusters.ai_base_url and llm_clusters.ai_chat_model",
        ))
    };
    apply_labels(team_id, run_id, call_labels(requests))
}
