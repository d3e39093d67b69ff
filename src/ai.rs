//! AI labels and embeddings through an OpenAI-compatible service, only with consent
//! (`llm_clusters.ai_data_processing`), and the offline embedder otherwise.
//! Labelling is three steps so that the worker can make the HTTP calls outside any
//! transaction: gather the requests (SPI), call the service (no SPI), apply (SPI).

use crate::error::{raise, OrRaise};
use crate::gucs::{self, AI_API_KEY, AI_BASE_URL, AI_BATCH_SIZE, AI_CHAT_MODEL, AI_DATA_PROCESSING, AI_EMBEDDING_MODEL, AI_TIMEOUT_MS};
use crate::read::{run_items, run_team_and_source};
use crate::run::{check_interrupts, float_array_text};
use llm_clusters_engine::ai::{embeddings_request, label_request, parse_embeddings, parse_label, AiLabel, LabelInput, CONTRAST_ITEMS, LABEL_ITEMS};
use llm_clusters_engine::{embedder, EngineError, ErrorKind};
use pgrx::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

struct Service {
    base_url: String,
    api_key: String,
    timeout: Duration,
}

/// The service to label with, if consent is given and a chat model is set.
fn chat_service() -> Option<(Service, String)> {
    let model = gucs::text(&AI_CHAT_MODEL);
    service().filter(|_| !model.is_empty()).map(|s| (s, model))
}

/// The service to embed with, if consent is given and an embedding model is set.
fn embedding_service() -> Option<(Service, String)> {
    let model = gucs::text(&AI_EMBEDDING_MODEL);
    service().filter(|_| !model.is_empty()).map(|s| (s, model))
}

fn service() -> Option<Service> {
    let base_url = gucs::text(&AI_BASE_URL);
    (AI_DATA_PROCESSING.get() && !base_url.is_empty()).then(|| Service {
        base_url: base_url.trim_end_matches('/').to_string(),
        api_key: gucs::text(&AI_API_KEY),
        timeout: Duration::from_millis(AI_TIMEOUT_MS.get().max(1) as u64),
    })
}

/// POSTs a JSON body and returns the response text. Bounded by the timeout, retries after
/// HTTP 429 while Retry-After fits in it. Errors never contain the key.
fn post(service: &Service, path: &str, body: &Value) -> Result<String, String> {
    let deadline = Instant::now() + service.timeout;
    let url = format!("{}{path}", service.base_url);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("timed out after {} ms", service.timeout.as_millis()));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(left)).http_status_as_error(false).build().into();
        let mut request = agent.post(&url).header("Content-Type", "application/json");
        if !service.api_key.is_empty() {
            request = request.header("Authorization", format!("Bearer {}", service.api_key));
        }
        let mut response = request.send(body.to_string()).map_err(|e| format!("request to {url} failed: {e}"))?;
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok());
        let text = response.body_mut().read_to_string().map_err(|e| format!("reading the response of {url} failed: {e}"))?;
        match status {
            200..=299 => return Ok(text),
            429 => match retry_after.map(Duration::from_secs_f64) {
                Some(wait) if Instant::now() + wait < deadline => std::thread::sleep(wait),
                _ => return Err(format!("HTTP 429 from {url} (rate limited) and no retry fits in the timeout")),
            },
            _ => return Err(format!("HTTP {status} from {url}: {}", text.chars().take(200).collect::<String>())),
        }
    }
}

/// One cluster's label request.
pub struct LabelRequest {
    cluster_id: i32,
    body: Value,
}

/// The label requests of a run's clusters (not Outliers), or None when AI labels are off.
pub fn label_requests(run_id: i64) -> Option<Vec<LabelRequest>> {
    let (_, model) = chat_service()?;
    let (team_id, source) =
        run_team_and_source(run_id).unwrap_or_else(|| raise(EngineError::new(ErrorKind::NotFound, format!("run {run_id} does not exist"))));
    let clusters: Vec<(i32, String, Vec<f32>)> = Spi::connect(|client| {
        client
            .select(
                "SELECT cluster_id, title, centroid FROM llm_clusters.clusters WHERE run_id = $1 AND cluster_id >= 0 ORDER BY cluster_id",
                None,
                &[run_id.into()],
            )?
            .map(|r| Ok((r.get::<i32>(1)?.unwrap_or_default(), r.get::<String>(2)?.unwrap_or_default(), r.get::<Vec<f32>>(3)?.unwrap_or_default())))
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    let items = run_items(source.as_deref(), team_id, 400, "a.cluster_id >= 0 AND a.rank < $2 ORDER BY a.rank", vec![run_id.into(), (LABEL_ITEMS as i32).into()]);
    let mut texts: HashMap<i32, Vec<String>> = HashMap::new();
    for item in items.into_iter().filter(|i| !i.preview.is_empty()) {
        texts.entry(item.cluster_id).or_default().push(item.preview);
    }
    let cosine = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let requests = clusters
        .iter()
        .map(|(id, _, centroid)| {
            // The nearest other clusters, for contrast.
            let mut others: Vec<&(i32, String, Vec<f32>)> = clusters.iter().filter(|c| c.0 != *id).collect();
            others.sort_by(|a, b| cosine(&b.2, centroid).total_cmp(&cosine(&a.2, centroid)));
            let own: Vec<&str> = texts.get(id).map(|t| t.iter().map(String::as_str).collect()).unwrap_or_default();
            let contrast = others
                .iter()
                .map(|o| (o.1.as_str(), texts.get(&o.0).map(|t| t.iter().take(CONTRAST_ITEMS).map(String::as_str).collect()).unwrap_or_default()))
                .collect();
            LabelRequest { cluster_id: *id, body: label_request(&model, &LabelInput { items: own, contrast }) }
        })
        .collect();
    Some(requests)
}

/// Asks the service for each label; no SPI, so it runs outside any transaction in the worker.
pub fn call_labels(requests: Vec<LabelRequest>) -> Vec<(i32, Result<AiLabel, String>)> {
    let Some((service, _)) = chat_service() else { return Vec::new() };
    requests
        .into_iter()
        .map(|r| (r.cluster_id, post(&service, "/chat/completions", &r.body).and_then(|body| parse_label(&body).map_err(|e| e.message))))
        .collect()
}

/// Writes the labels that came back (distinct titles; failures keep the offline label) and
/// records the outcome in `runs.quality.ai_labels`. Returns how many clusters got AI labels.
pub fn apply_labels(run_id: i64, results: Vec<(i32, Result<AiLabel, String>)>) -> i64 {
    let mut taken: Vec<String> = Vec::new();
    let (mut ids, mut titles, mut descriptions) = (Vec::new(), Vec::new(), Vec::new());
    let mut failures = serde_json::Map::new();
    for (cluster_id, result) in results {
        match result {
            Ok(label) if !taken.iter().any(|t| t.eq_ignore_ascii_case(&label.title)) => {
                taken.push(label.title.clone());
                ids.push(cluster_id);
                titles.push(label.title);
                descriptions.push(label.bullets.iter().map(|b| format!("• {b}")).collect::<Vec<_>>().join("\n"));
            }
            Ok(label) => {
                failures.insert(cluster_id.to_string(), json!(format!("the title \"{}\" is already used in this run", label.title)));
            }
            Err(message) => {
                failures.insert(cluster_id.to_string(), json!(message));
            }
        }
    }
    let labelled = ids.len() as i64;
    let summary = json!({"labelled": labelled, "fallback": failures.len(), "failures": failures});
    Spi::connect_mut(|client| {
        client.update(
            "UPDATE llm_clusters.clusters c SET title = u.t, description = u.d
             FROM unnest($2::int[], $3::text[], $4::text[]) AS u(c, t, d) WHERE c.run_id = $1 AND c.cluster_id = u.c",
            None,
            &[run_id.into(), ids.into(), titles.into(), descriptions.into()],
        )?;
        client.update(
            "UPDATE llm_clusters.runs SET quality = jsonb_set(quality, '{ai_labels}', $2) WHERE id = $1",
            None,
            &[run_id.into(), pgrx::JsonB(summary).into()],
        )?;
        Ok::<_, pgrx::spi::Error>(())
    })
    .or_raise();
    labelled
}

/// Labels a run's clusters with the AI service when it is enabled, in the caller's
/// transaction; a no-op otherwise. Never raises for a service failure.
pub fn label_if_enabled(run_id: i64) {
    if let Some(requests) = label_requests(run_id) {
        apply_labels(run_id, call_labels(requests));
    }
}

/// Internal: called by `llm_clusters.label_run`.
#[pg_extern(volatile, parallel_unsafe, name = "_label_run")]
pub fn label_run(run_id: i64) -> i64 {
    let exists = Spi::get_one_with_args::<bool>("SELECT EXISTS (SELECT 1 FROM llm_clusters.runs WHERE id = $1 AND status = 'succeeded')", &[run_id.into()])
        .or_raise()
        .unwrap_or(false);
    if !exists {
        raise(EngineError::new(ErrorKind::NotFound, format!("run {run_id} does not exist or did not succeed")));
    }
    let Some(requests) = label_requests(run_id) else {
        raise(EngineError::new(
            ErrorKind::NotConfigured,
            "AI labels need llm_clusters.ai_data_processing = on, llm_clusters.ai_base_url and llm_clusters.ai_chat_model",
        ))
    };
    apply_labels(run_id, call_labels(requests))
}

/// Internal: called by `llm_clusters.embed_text`.
#[pg_extern(immutable, parallel_safe, strict, name = "_embed_text")]
pub fn embed_text(text: &str) -> Vec<f32> {
    embedder::embed(text)
}

/// Internal: called by `llm_clusters.embed_pending`.
#[pg_extern(volatile, parallel_unsafe, name = "_embed_pending")]
pub fn embed_pending(level: &str, max_items: i32) -> i64 {
    if level != "trace" && level != "generation" {
        raise(EngineError::new(ErrorKind::InvalidParameter, format!("level must be 'trace' or 'generation', got \"{level}\"")));
    }
    if max_items < 1 {
        raise(EngineError::new(ErrorKind::InvalidParameter, format!("max_items must be at least 1, got {max_items}")));
    }
    let query = if level == "generation" {
        "SELECT e.team_id, e.uuid::text, e.content FROM llm_clusters.events e
         WHERE e.event = '$ai_generation' AND coalesce(e.content, '') <> ''
           AND NOT EXISTS (SELECT 1 FROM llm_clusters.embeddings m WHERE m.team_id = e.team_id AND m.level = 'generation' AND m.item_id = e.uuid::text)
         ORDER BY e.\"timestamp\" DESC, e.uuid LIMIT $1"
    } else {
        "SELECT t.team_id, t.item_id, t.content FROM llm_clusters.trace_items t
         WHERE t.embedding IS NULL AND coalesce(t.content, '') <> '' ORDER BY t.ts DESC, t.item_id LIMIT $1"
    };
    let pending: Vec<(i32, String, String)> = Spi::connect(|client| {
        client
            .select(query, None, &[max_items.into()])?
            .map(|r| Ok((r.get::<i32>(1)?.unwrap_or_default(), r.get::<String>(2)?.unwrap_or_default(), r.get::<String>(3)?.unwrap_or_default())))
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    let (vectors, model): (Vec<Vec<f32>>, String) = match embedding_service() {
        Some((service, model)) => {
            let mut vectors = Vec::with_capacity(pending.len());
            for batch in pending.chunks(AI_BATCH_SIZE.get().max(1) as usize) {
                let inputs: Vec<&str> = batch.iter().map(|p| p.2.as_str()).collect();
                let body = post(&service, "/embeddings", &embeddings_request(&model, &inputs))
                    .unwrap_or_else(|m| raise(EngineError::new(ErrorKind::Internal, format!("embedding service: {m}"))));
                vectors.extend(parse_embeddings(&body, inputs.len()).or_raise());
                check_interrupts().or_raise();
            }
            (vectors, model)
        }
        None => (pending.iter().map(|p| embedder::embed(&p.2)).collect(), embedder::MODEL.to_string()),
    };
    // A text with no usable word has no direction: it gets an empty embedding, which runs
    // count as skipped, so that it is not picked again ahead of the items behind it.
    let teams: Vec<i32> = pending.iter().map(|p| p.0).collect();
    let ids: Vec<String> = pending.iter().map(|p| p.1.clone()).collect();
    let texts: Vec<String> =
        vectors.iter().map(|v| if v.iter().any(|x| *x != 0.0) { float_array_text(v) } else { "{}".to_string() }).collect();
    Spi::connect_mut(|client| {
        let stored = client.update(
            "INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding, model)
             SELECT t, $1, i, e::real[], $5 FROM unnest($2::int[], $3::text[], $4::text[]) AS u(t, i, e)
             ON CONFLICT (team_id, level, item_id) DO NOTHING RETURNING cardinality(embedding) > 0",
            None,
            &[level.into(), teams.into(), ids.into(), texts.into(), model.as_str().into()],
        )?;
        let mut usable = 0i64;
        for row in stored {
            usable += i64::from(row.get::<bool>(1)?.unwrap_or(false));
        }
        Ok::<_, pgrx::spi::Error>(usable)
    })
    .or_raise()
}
