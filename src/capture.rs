//! `llm_clusters.capture(payload jsonb, team_id int)`: stores PostHog-format `$ai_*` events.
//! Parsing and validation live in the engine; this file writes the rows in one INSERT,
//! so a call stores all of its events or none.

use crate::error::{raise, OrRaise};
use crate::gucs::{MAX_CAPTURE_MB, MAX_TEAM_CAPTURE_MB_PER_DAY};
use llm_clusters_engine::capture::{parse_payload, sent_at, CapturedEvent};
use llm_clusters_engine::{EngineError, ErrorKind};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;

const INSERT_EVENTS: &str = r#"
INSERT INTO llm_clusters.events AS e
    (uuid, team_id, event, "timestamp", distinct_id, trace_id, span_id, parent_id, session_id,
     span_name, model, provider, input, output, content, input_tokens, output_tokens,
     total_cost_usd, latency_s, is_error, error, properties)
SELECT coalesce(u::uuid, gen_random_uuid()), $1, ev,
       -- A batch's sent_at ($23) corrects the sender's clock, as PostHog does.
       coalesce(ts::timestamptz + CASE WHEN $23::timestamptz IS NULL OR keep_ts THEN interval '0'
                                       ELSE now() - $23::timestamptz END, now()),
       did, tid,
       sid, pid, sess, sname, model, provider, input, output, content, itok, otok, cost, lat,
       iserr, err, props
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[], $14::jsonb[],
            $15::text[], $16::int8[], $17::int8[], $18::float8[], $19::float8[], $20::bool[],
            $21::text[], $22::jsonb[], $24::bool[])
     AS t(u, ev, ts, did, tid, sid, pid, sess, sname, model, provider, input, output, content,
          itok, otok, cost, lat, iserr, err, props, keep_ts)
ON CONFLICT (team_id, uuid) DO NOTHING
"#;

/// The team's bytes so far today (UTC: a session's TimeZone must not start a new day).
const USAGE_TODAY: &str = "
SELECT coalesce((SELECT u.bytes FROM llm_clusters.capture_usage u
                 WHERE u.team_id = $1 AND u.day = (pg_catalog.now() AT TIME ZONE 'UTC')::date), 0)";

/// Adds a payload to its team's day and returns the day's bytes with it.
const COUNT_USAGE: &str = "
INSERT INTO llm_clusters.capture_usage AS u (team_id, day, bytes)
VALUES ($1, (pg_catalog.now() AT TIME ZONE 'UTC')::date, $2)
ON CONFLICT (team_id, day) DO UPDATE SET bytes = u.bytes + excluded.bytes
RETURNING u.bytes";

/// Column-wise copy of the parsed events, one vector per INSERT parameter.
#[derive(Default)]
struct Columns {
    uuid: Vec<Option<String>>,
    event: Vec<Option<String>>,
    timestamp: Vec<Option<String>>,
    distinct_id: Vec<Option<String>>,
    trace_id: Vec<Option<String>>,
    span_id: Vec<Option<String>>,
    parent_id: Vec<Option<String>>,
    session_id: Vec<Option<String>>,
    span_name: Vec<Option<String>>,
    model: Vec<Option<String>>,
    provider: Vec<Option<String>>,
    input: Vec<Option<JsonB>>,
    output: Vec<Option<JsonB>>,
    content: Vec<Option<String>>,
    input_tokens: Vec<Option<i64>>,
    output_tokens: Vec<Option<i64>>,
    total_cost_usd: Vec<Option<f64>>,
    latency_s: Vec<Option<f64>>,
    is_error: Vec<Option<bool>>,
    error: Vec<Option<String>>,
    properties: Vec<Option<JsonB>>,
    ignore_sent_at: Vec<Option<bool>>,
}

impl Columns {
    fn push(&mut self, e: CapturedEvent) {
        self.uuid.push(e.uuid);
        self.event.push(Some(e.event));
        self.timestamp.push(e.timestamp);
        self.distinct_id.push(e.distinct_id);
        self.trace_id.push(Some(e.trace_id));
        self.span_id.push(e.span_id);
        self.parent_id.push(e.parent_id);
        self.session_id.push(e.session_id);
        self.span_name.push(e.span_name);
        self.model.push(e.model);
        self.provider.push(e.provider);
        self.input.push(e.input.map(JsonB));
        self.output.push(e.output.map(JsonB));
        self.content.push(e.content);
        self.input_tokens.push(e.input_tokens);
        self.output_tokens.push(e.output_tokens);
        self.total_cost_usd.push(e.total_cost_usd);
        self.latency_s.push(e.latency_s);
        self.is_error.push(e.is_error);
        self.error.push(e.error);
        self.properties.push(Some(JsonB(e.properties)));
        self.ignore_sent_at.push(Some(e.ignore_sent_at));
    }
}

/// Internal: called by the SQL function `llm_clusters.capture` with the payload as text,
/// whose size is checked here, before anything is parsed or allocated for it (whoever
/// calls: admins may run this function directly).
#[pg_extern(volatile, parallel_unsafe, name = "_capture")]
#[search_path(pg_catalog, pg_temp)]
pub fn capture_events(payload: &str, team_id: i32) -> i64 {
    let limit = usize::try_from(MAX_CAPTURE_MB.get()).unwrap_or(0) << 20;
    if payload.len() > limit {
        raise(EngineError::new(
            ErrorKind::LimitExceeded,
            format!(
                "payload is {} bytes, more than llm_clusters.max_capture_mb ({} MB); split it into batches",
                payload.len(),
                MAX_CAPTURE_MB.get()
            ),
        ));
    }
    let payload_bytes = payload.len() as i64;
    let payload: Value = serde_json::from_str(payload).unwrap_or_else(|e| {
        raise(EngineError::new(ErrorKind::InvalidText, format!("payload is not JSON this version reads: {e}")))
    });
    let events = parse_payload(&payload).or_raise();
    let sent_at = sent_at(&payload);
    if events.is_empty() {
        return 0;
    }
    // Checked before the INSERT, so that a leaked key past its quota writes nothing to the
    // heap, TOAST or WAL; counted after it, so that the day's row stays locked only from the
    // count to the commit and a team's concurrent calls store their events in parallel.
    // Calls racing past the check are refused by the count and roll back.
    refuse_over_quota(team_id, usage_today(team_id).saturating_add(payload_bytes));
    let mut c = Columns::default();
    events.into_iter().for_each(|e| c.push(e));
    let stored = Spi::connect_mut(|client| {
        let stored = client.update(
            INSERT_EVENTS,
            None,
            &[
                team_id.into(),
                c.uuid.into(),
                c.event.into(),
                c.timestamp.into(),
                c.distinct_id.into(),
                c.trace_id.into(),
                c.span_id.into(),
                c.parent_id.into(),
                c.session_id.into(),
                c.span_name.into(),
                c.model.into(),
                c.provider.into(),
                c.input.into(),
                c.output.into(),
                c.content.into(),
                c.input_tokens.into(),
                c.output_tokens.into(),
                c.total_cost_usd.into(),
                c.latency_s.into(),
                c.is_error.into(),
                c.error.into(),
                c.properties.into(),
                sent_at.into(),
                c.ignore_sent_at.into(),
            ],
        )?;
        Ok::<_, pgrx::spi::Error>(stored.len() as i64)
    })
    .or_raise();
    refuse_over_quota(team_id, count_usage(team_id, payload_bytes));
    stored
}

/// The caller's team's bytes today; 0 when there is no row yet (or the team is not the
/// caller's: the events INSERT then refuses it by row-level security).
fn usage_today(team_id: i32) -> i64 {
    Spi::get_one_with_args::<i64>(USAGE_TODAY, &[team_id.into()]).or_raise().unwrap_or(0)
}

/// Adds a payload to its team's day and returns the day's bytes with it.
fn count_usage(team_id: i32, bytes: i64) -> i64 {
    Spi::get_one_with_args::<i64>(COUNT_USAGE, &[team_id.into(), bytes.into()]).or_raise().unwrap_or(0)
}

/// Refuses the call when the team's day would hold more than
/// llm_clusters.max_team_capture_mb_per_day; its events and its count roll back with it.
fn refuse_over_quota(team_id: i32, day_bytes: i64) {
    let limit_mb = i64::from(MAX_TEAM_CAPTURE_MB_PER_DAY.get());
    if day_bytes > limit_mb << 20 {
        raise(
            EngineError::new(
                ErrorKind::LimitExceeded,
                format!(
                    "team {team_id} would store {day_bytes} bytes today (UTC), more than llm_clusters.max_team_capture_mb_per_day ({limit_mb} MB)"
                ),
            )
            .with_hint("Nothing of this call was stored. Try again tomorrow, or ask a superuser to raise the setting (llm_clusters.capture_usage shows each day)."),
        );
    }
}
