//! `llm_clusters.summarize_pending`: a trace's events read from `llm_clusters.events`
//! (with the caller's rights: row-level security shows only their teams), summarised by
//! the engine (`trace`) and written to `llm_clusters.item_summaries`; the events as steps
//! and the stored summaries are read here for the pages too (`pages.rs`). With consent and
//! a chat model (`ai.rs`), the service rewrites each offline summary's title, bullets and
//! notes; when it fails the offline summary is kept.

use crate::datum::json_of_text;
use crate::error::{raise, OrRaise};
use crate::gucs::AI_BATCH_SIZE;
use crate::http::{chat_service, post_within};
use crate::pg::{in_batches, Batches, Required};
use llm_clusters_engine::ai::{parse_summary, summary_request, SUMMARY_CHARS};
use llm_clusters_engine::service::Budget;
use llm_clusters_engine::source::Level;
use llm_clusters_engine::trace::{compact_rendering, summarize, Step, Summary};
use llm_clusters_engine::EngineError;
use pgrx::prelude::*;
use pgrx::JsonB;
use std::collections::HashMap;

/// Items summarised per subtransaction.
const PENDING_BATCH: i64 = 200;
/// Steps of one trace read for its summary.
const MAX_SUMMARY_STEPS: i64 = 5_000;
/// Text of an item's inputs and outputs a summary reads (it shows a few hundred characters).
const SUMMARY_ITEM_BYTES: i64 = 256 * 1024;

// A trace is pending when it has no summary or its number of events changed since (events
// arrived; a count, unlike a time, also catches events whose transaction committed late).
const PENDING_TRACES: &str = "
SELECT e.team_id, e.trace_id, count(*) FROM llm_clusters.events e
LEFT JOIN llm_clusters.item_summaries s ON s.team_id = e.team_id AND s.level = 'trace' AND s.item_id = e.trace_id
WHERE $2::int IS NULL OR e.team_id = $2
GROUP BY e.team_id, e.trace_id, s.n_events
HAVING s.n_events IS NULL OR s.n_events <> count(*)
ORDER BY min(e.\"timestamp\"), e.trace_id LIMIT $1";

const PENDING_GENERATIONS: &str = "
SELECT e.team_id, e.uuid::text, 1::bigint FROM llm_clusters.events e
WHERE e.event = '$ai_generation' AND ($2::int IS NULL OR e.team_id = $2)
  AND NOT EXISTS (SELECT 1 FROM llm_clusters.item_summaries s
                  WHERE s.team_id = e.team_id AND s.level = 'generation' AND s.item_id = e.uuid::text)
ORDER BY e.\"timestamp\", e.uuid LIMIT $1";

/// Characters of a step's ids, name and model read (capture() takes them as they come, so
/// an event may carry megabytes in each; no page or summary shows more than a line).
const STEP_NAME_CHARS: i32 = 200;

// Every text of a step is cut in SQL before it reaches memory: the ids, name and model to
// STEP_NAME_CHARS, the error, input and output by the item's budget ($4 bytes, the errors,
// inputs and outputs of its earlier steps counted; an error past it is cut to what is
// left). An API key's holder sent errors of 19 MB (compressed to 200 KB on disk), and one
// trace of them made summarize_pending (the worker's, before a job's run), trace_html or
// the lenses read gigabytes into one backend, as many as the day's quota let it store.
const STEP_COLUMNS: &str =
    "e.uuid::text, e.event, (extract(epoch FROM e.\"timestamp\") * 1000)::float8,
       pg_catalog.left(e.span_id, $5), pg_catalog.left(e.parent_id, $5), pg_catalog.left(e.span_name, $5),
       pg_catalog.left(e.model, $5), e.latency_s, e.input_tokens, e.output_tokens, e.total_cost_usd, e.is_error,
       CASE WHEN e.error IS NULL OR e.bytes_before + e.error_bytes <= $4 THEN e.error
            ELSE pg_catalog.left(e.error, GREATEST($4 - e.bytes_before, 0)::int)
                 || pg_catalog.format(' (%s bytes left out: llm_clusters.max_output_mb)', e.error_bytes) END,
       CASE WHEN e.input IS NULL OR e.bytes_before + e.error_bytes + e.input_bytes <= $4 THEN e.input::text
            ELSE pg_catalog.to_jsonb(pg_catalog.format('(%s bytes left out: llm_clusters.max_output_mb)', e.input_bytes))::text END,
       CASE WHEN e.output IS NULL OR e.bytes_before + e.error_bytes + e.input_bytes + e.output_bytes <= $4 THEN e.output::text
            ELSE pg_catalog.to_jsonb(pg_catalog.format('(%s bytes left out: llm_clusters.max_output_mb)', e.output_bytes))::text END";

/// Internal: called by `llm_clusters.summarize_pending`. Batches in subtransactions, as
/// `embed_pending`: a cancel keeps the batches before it.
#[pg_extern(volatile, parallel_unsafe, name = "_summarize_pending")]
#[search_path(pg_catalog, pg_temp)]
pub fn summarize_pending(level: &str, max_items: i32) -> i64 {
    summarize_pending_of(None, level, max_items).counted
}

/// `summarize_pending` of one team's items (`team` Some), or of every team the caller sees,
/// with the rows it wrote: what the worker does before a job's run, for the job's team only.
pub fn summarize_pending_of(team: Option<i32>, level: &str, max_items: i32) -> Batches {
    let level = summarized_level(level);
    // With the service, smaller batches: each item is one request, each bounded by
    // llm_clusters.ai_timeout_ms.
    // One time budget (2 × ai_timeout_ms) for all the call's requests: the items left when it
    // is spent get offline summaries.
    let budget = chat_service().map(|(service, _)| service.call_budget());
    let batch = if budget.is_some() { i64::from(AI_BATCH_SIZE.get().max(1)) } else { PENDING_BATCH };
    let mut failures: Vec<String> = Vec::new();
    let done = in_batches("summarize_pending", max_items, batch, |limit| {
        let (written, failed) = summarize_batch(level, limit, budget.as_ref(), team);
        failures.extend(failed);
        (written as usize, written)
    });
    if let Some(first) = failures.first() {
        pgrx::warning!(
            "summarize_pending: the AI service failed for {} of {} items, whose offline summaries are kept; the first: {first}",
            failures.len(),
            done.counted
        );
    }
    done
}

/// The level named `level`, when its items have summaries (22023 otherwise).
pub fn summarized_level(level: &str) -> Level {
    let parsed = Level::parse(level).or_raise();
    if !parsed.has_summaries() {
        raise(EngineError::invalid_parameter(format!(
            "items of level {level} have no summaries: an evaluation is its own short text"
        )));
    }
    parsed
}

/// One batch: how many items were written, and the AI service's failures.
fn summarize_batch(level: Level, limit: i64, budget: Option<&Budget>, team: Option<i32>) -> (i64, Vec<String>) {
    let query = if level == Level::Trace { PENDING_TRACES } else { PENDING_GENERATIONS };
    // Read-write: a new snapshot that sees the batches this call wrote before.
    let pending: Vec<(i32, String, i64)> = Spi::connect_mut(|client| {
        client
            .update(query, None, &[limit.into(), team.into()])?
            .map(|row| {
                Ok((
                    row.get::<i32>(1)?.required("the pending item's team"),
                    row.get::<String>(2)?.required("the pending item's id"),
                    row.get::<i64>(3)?.required("the pending item's event count"),
                ))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    let items: Vec<(i32, String)> = pending.iter().map(|p| (p.0, p.1.clone())).collect();
    let counts: Vec<i64> = pending.iter().map(|p| p.2).collect();
    if items.is_empty() {
        return (0, Vec::new());
    }
    let mut steps = steps_of(level, &items, MAX_SUMMARY_STEPS, SUMMARY_ITEM_BYTES);
    let service = chat_service().zip(budget);
    let mut failures = Vec::new();
    let summaries: Vec<Written> = items
        .iter()
        .map(|item| {
            // A generation is summarised as a trace of one step, named by its uuid.
            let steps = steps.remove(item).unwrap_or_default();
            let offline = summarize(&steps, &item.1);
            let Some(((service, model), budget)) = &service else { return Written { summary: offline, model: None } };
            let body = summary_request(model, &compact_rendering(&steps, &offline, SUMMARY_CHARS));
            match post_within(service, budget, "/chat/completions", &body)
                .and_then(|b| parse_summary(&b).map_err(|e| e.message))
            {
                Ok(ai) => Written {
                    summary: Summary { title: ai.title, flow: offline.flow, bullets: ai.bullets, notes: ai.notes },
                    model: Some(model.clone()),
                },
                Err(reason) => {
                    failures.push(reason);
                    Written { summary: offline, model: None }
                }
            }
        })
        .collect();
    (write_summaries(level, &items, &counts, &summaries), failures)
}

/// A summary to write: the model that wrote it, or None for an offline one.
struct Written {
    summary: Summary,
    model: Option<String>,
}

/// The steps of each (team, item): a trace's events in time order (at most `limit`), or
/// the one generation; one query for all the items. Each item's errors, inputs and outputs
/// are read while their text adds up to `item_bytes` (per item, so that one team's huge
/// item costs no other item anything); later ones are a note of their size (an error is
/// cut to what is left). Ids, names and models are cut to STEP_NAME_CHARS characters.
pub fn steps_of(
    level: Level,
    items: &[(i32, String)],
    limit: i64,
    item_bytes: i64,
) -> HashMap<(i32, String), Vec<Step>> {
    let teams: Vec<i32> = items.iter().map(|i| i.0).collect();
    let ids: Vec<String> = items.iter().map(|i| i.1.clone()).collect();
    let matches = if level == Level::Trace { "e.trace_id = p.item_id" } else { "e.uuid::text = p.item_id" };
    let query = format!(
        "SELECT e.p_team, e.p_item, {STEP_COLUMNS}
         FROM (SELECT s.*, coalesce(sum(s.error_bytes + s.input_bytes + s.output_bytes) OVER (
                      PARTITION BY s.p_order ORDER BY s.\"timestamp\", s.uuid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS bytes_before
               FROM (SELECT p.team_id AS p_team, p.item_id AS p_item, p.p_order, e.*,
                            coalesce(pg_catalog.octet_length(e.error), 0) AS error_bytes,
                            coalesce(pg_catalog.octet_length(e.input::text), 0) AS input_bytes,
                            coalesce(pg_catalog.octet_length(e.output::text), 0) AS output_bytes
                     FROM unnest($1::int[], $2::text[]) WITH ORDINALITY AS p(team_id, item_id, p_order)
                     CROSS JOIN LATERAL (SELECT * FROM llm_clusters.events e WHERE e.team_id = p.team_id AND {matches}
                                         ORDER BY e.\"timestamp\", e.uuid LIMIT $3) e) s) e"
    );
    let mut out: HashMap<(i32, String), Vec<Step>> = HashMap::new();
    Spi::connect(|client| {
        for row in client.select(
            &query,
            None,
            &[teams.into(), ids.into(), limit.into(), item_bytes.into(), STEP_NAME_CHARS.into()],
        )? {
            let key = (row.get::<i32>(1)?.required("the item's team"), row.get::<String>(2)?.required("the item's id"));
            let (step, unreadable) = step_of(&row, 3)?;
            if let Some(why) = unreadable {
                pgrx::warning!(
                    "team {}, event {}: its input or output is not JSON this version reads ({why}); shown as text",
                    key.0,
                    step.uuid
                );
            }
            out.entry(key).or_default().push(step);
        }
        Ok::<_, pgrx::spi::Error>(())
    })
    .or_raise();
    out
}

/// A step from the STEP_COLUMNS of a row, starting at column `at`, and why its input or
/// output could not be parsed (then kept as text).
fn step_of(row: &pgrx::spi::SpiHeapTupleData, at: usize) -> Result<(Step, Option<String>), pgrx::spi::Error> {
    let (input, bad_input) = json_of_text(row.get::<String>(at + 13)?);
    let (output, bad_output) = json_of_text(row.get::<String>(at + 14)?);
    let step = Step {
        uuid: row.get::<String>(at)?.required("events.uuid"),
        event: row.get::<String>(at + 1)?.required("events.event"),
        timestamp_ms: row.get::<f64>(at + 2)?,
        span_id: row.get::<String>(at + 3)?,
        parent_id: row.get::<String>(at + 4)?,
        name: row.get::<String>(at + 5)?,
        model: row.get::<String>(at + 6)?,
        latency_s: row.get::<f64>(at + 7)?,
        input_tokens: row.get::<i64>(at + 8)?,
        output_tokens: row.get::<i64>(at + 9)?,
        cost_usd: row.get::<f64>(at + 10)?,
        is_error: row.get::<bool>(at + 11)?,
        error: row.get::<String>(at + 12)?,
        input,
        output,
    };
    Ok((step, bad_input.or(bad_output)))
}

fn write_summaries(level: Level, items: &[(i32, String)], counts: &[i64], written: &[Written]) -> i64 {
    let teams: Vec<i32> = items.iter().map(|i| i.0).collect();
    let ids: Vec<String> = items.iter().map(|i| i.1.clone()).collect();
    let titles: Vec<String> = written.iter().map(|w| w.summary.title.clone()).collect();
    let flows: Vec<String> = written.iter().map(|w| w.summary.flow.clone()).collect();
    let bullets: Vec<JsonB> = written.iter().map(|w| JsonB(serde_json::json!(w.summary.bullets))).collect();
    let notes: Vec<JsonB> = written.iter().map(|w| JsonB(serde_json::json!(w.summary.notes))).collect();
    let models: Vec<Option<String>> = written.iter().map(|w| w.model.clone()).collect();
    Spi::connect_mut(|client| {
        let written = client.update(
            "INSERT INTO llm_clusters.item_summaries AS s
                    (team_id, level, item_id, title, flow, bullets, notes, source, model, n_events)
             SELECT t, $1, i, ti, f, ARRAY(SELECT jsonb_array_elements_text(b)), ARRAY(SELECT jsonb_array_elements_text(n)),
                    CASE WHEN m IS NULL THEN 'offline' ELSE 'ai' END, m, c
             FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[], $8::text[], $9::int8[])
                  AS u(t, i, ti, f, b, n, m, c)
             ON CONFLICT (team_id, level, item_id) DO UPDATE
                SET title = excluded.title, flow = excluded.flow, bullets = excluded.bullets, notes = excluded.notes,
                    source = excluded.source, model = excluded.model, n_events = excluded.n_events, updated_at = now(),
                    embedding = CASE WHEN (s.title, s.bullets) IS DISTINCT FROM (excluded.title, excluded.bullets)
                                     THEN NULL ELSE s.embedding END,
                    embedding_model = CASE WHEN (s.title, s.bullets) IS DISTINCT FROM (excluded.title, excluded.bullets)
                                           THEN NULL ELSE s.embedding_model END",
            None,
            &[
                level.as_str().into(),
                teams.into(),
                ids.into(),
                titles.into(),
                flows.into(),
                bullets.into(),
                notes.into(),
                models.into(),
                counts.to_vec().into(),
            ],
        )?;
        Ok::<_, pgrx::spi::Error>(written.len() as i64)
    })
    .or_raise()
}

/// The stored summaries of items of a team and level, by item id, cut in SQL before they
/// are read: each text to what a summary holds (summarize_pending writes titles and lines
/// of a few hundred characters, flows of 200 lines), and all of them, in item order, to
/// `budget` bytes (the summaries past it are left out, as if there were none). Admins write
/// item_summaries: 14 planted titles of 50 MB made a reader's cluster page 700 MB (2 GB of
/// backend memory) where llm_clusters.max_output_mb is 16, and a page reads up to 1,000.
pub fn summaries_of(team_id: i32, level: Level, ids: Vec<String>, budget: i64) -> HashMap<String, Summary> {
    Spi::connect(|client| {
        client
            .select(
                "SELECT item_id, title, flow, bullets, notes
                 FROM (SELECT c.*, sum(pg_catalog.octet_length(c.title) + pg_catalog.octet_length(c.flow)
                                       + pg_catalog.octet_length(c.bullets::text) + pg_catalog.octet_length(c.notes::text))
                                   OVER (ORDER BY c.item_id) AS running
                       FROM (SELECT s.item_id, pg_catalog.left(s.title, 2000) AS title, pg_catalog.left(s.flow, 100000) AS flow,
                                    ARRAY(SELECT pg_catalog.left(b.t, 2000) FROM pg_catalog.unnest(s.bullets[1:50]) WITH ORDINALITY AS b(t, i) ORDER BY b.i) AS bullets,
                                    ARRAY(SELECT pg_catalog.left(n.t, 2000) FROM pg_catalog.unnest(s.notes[1:50]) WITH ORDINALITY AS n(t, i) ORDER BY n.i) AS notes
                             FROM llm_clusters.item_summaries s
                             WHERE s.team_id = $1 AND s.level = $2 AND s.item_id = ANY($3)) c) r
                 WHERE r.running <= $4",
                None,
                &[team_id.into(), level.as_str().into(), ids.into(), budget.into()],
            )?
            .map(|row| {
                let text_array = |i: usize| -> Result<Vec<String>, pgrx::spi::Error> {
                    Ok(row
                        .get::<Vec<Option<String>>>(i)?
                        .required("item_summaries.bullets/notes")
                        .into_iter()
                        .flatten()
                        .collect())
                };
                let summary = Summary {
                    title: row.get::<String>(2)?.required("item_summaries.title"),
                    flow: row.get::<String>(3)?.required("item_summaries.flow"),
                    bullets: text_array(4)?,
                    notes: text_array(5)?,
                };
                Ok((row.get::<String>(1)?.required("item_summaries.item_id"), summary))
            })
            .collect::<Result<HashMap<_, _>, pgrx::spi::Error>>()
    })
    .or_raise()
}
