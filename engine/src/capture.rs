//! Parsing of PostHog-format `$ai_*` events into the typed columns of `llm_clusters.events`.
//!
//! Accepts what PostHog's SDKs send: one event object, an array of them, or the body of a
//! `/batch/` request (`{"batch": [...], ...}`, other top-level keys ignored). Values that
//! SDKs send as strings (`"0.002"`, `"true"`, numeric trace ids) are accepted. A property
//! that is absent or null stays `None`: absent is never zero.

use crate::content::readable_text;
use crate::error::{EngineError, ErrorKind, Result};
use crate::evaluation::{evaluation_text, EVALUATION_EVENT};
use crate::timestamp::validate_timestamp;
use serde_json::{Map, Value};

/// Event names that `capture` accepts.
pub const AI_EVENTS: [&str; 5] = ["$ai_generation", "$ai_span", "$ai_trace", "$ai_embedding", EVALUATION_EVENT];

/// Most events one call may carry; larger batches are refused before anything is stored.
pub const MAX_EVENTS_PER_CALL: usize = 100_000;

/// Largest `$ai_total_cost_usd` of one event: no call costs more, and sums over millions
/// of events stay far from float8's overflow (which PostgreSQL raises as an error).
pub const MAX_COST_USD: f64 = 1.0e9;
/// Largest `$ai_latency` of one event, in seconds (about 116 days).
pub const MAX_LATENCY_S: f64 = 1.0e7;
/// Largest token count of one event: exact in a float8 and far from int8's overflow in sums.
pub const MAX_TOKENS: f64 = 9.0e15;

/// One event, mapped onto the typed columns.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedEvent {
    /// Canonical lowercase UUID text, when the event carried one.
    pub uuid: Option<String>,
    pub event: String,
    /// ISO 8601 text, validated; `None` means "now".
    pub timestamp: Option<String>,
    /// `properties.$ignore_sent_at`: store the timestamp as sent, even with a `sent_at`.
    pub ignore_sent_at: bool,
    pub distinct_id: Option<String>,
    pub trace_id: String,
    pub span_id: Option<String>,
    pub parent_id: Option<String>,
    pub session_id: Option<String>,
    pub span_name: Option<String>,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub input: Option<Value>,
    pub output: Option<Value>,
    /// Readable text of input and output, for titles and previews.
    pub content: Option<String>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub total_cost_usd: Option<f64>,
    pub latency_s: Option<f64>,
    pub is_error: Option<bool>,
    pub error: Option<String>,
    pub properties: Value,
}

/// When a `/batch/` body was sent (`sent_at`, which posthog-python and posthog-node set),
/// if it is a valid ISO 8601 timestamp. Its events' timestamps are then corrected for the
/// sender's clock as PostHog does: `timestamp + (now - sent_at)`; an unusable `sent_at` is
/// ignored (PostHog ignores it too).
pub fn sent_at(payload: &Value) -> Option<String> {
    let sent = payload.get("sent_at")?.as_str()?;
    validate_timestamp(sent).ok().map(|_| sent.to_string())
}

/// Parses a whole payload; the first bad event rejects the call.
pub fn parse_payload(payload: &Value) -> Result<Vec<CapturedEvent>> {
    let events: Vec<&Value> = match payload {
        Value::Array(items) => items.iter().collect(),
        Value::Object(obj) => match obj.get("batch") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(other) => {
                return Err(EngineError::new(
                    ErrorKind::InvalidParameter,
                    format!("payload key \"batch\" must be an array, got {}", json_type(other)),
                ))
            }
            None => vec![payload],
        },
        other => {
            return Err(EngineError::new(
                ErrorKind::InvalidParameter,
                format!(
                    "payload must be an event object, an array of events or {{\"batch\": [...]}}, got {}",
                    json_type(other)
                ),
            ))
        }
    };
    if events.len() > MAX_EVENTS_PER_CALL {
        return Err(EngineError::new(
            ErrorKind::LimitExceeded,
            format!("payload holds {} events, more than the {} one call accepts", events.len(), MAX_EVENTS_PER_CALL),
        ));
    }
    events.iter().enumerate().map(|(index, event)| parse_event(index, event)).collect()
}

/// Parses the event at `index` of the payload.
pub fn parse_event(index: usize, event: &Value) -> Result<CapturedEvent> {
    let at = EventContext { index };
    let obj = event.as_object().ok_or_else(|| {
        EngineError::new(
            ErrorKind::InvalidParameter,
            format!("event {index} must be an object, got {}", json_type(event)),
        )
    })?;

    let name = match obj.get("event") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => return Err(at.error(ErrorKind::NullNotAllowed, "event", "is missing")),
        Some(other) => {
            return Err(at.error(
                ErrorKind::InvalidParameter,
                "event",
                format!("must be a string, got {}", json_type(other)),
            ))
        }
    };
    if !AI_EVENTS.contains(&name.as_str()) {
        return Err(at.error(
            ErrorKind::InvalidParameter,
            "event",
            format!("\"{}\" is not one of {}", truncate(&name, 100), AI_EVENTS.join(", ")),
        ));
    }

    let empty = Map::new();
    let props = match obj.get("properties") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(p)) => p,
        Some(other) => {
            return Err(at.error(
                ErrorKind::InvalidParameter,
                "properties",
                format!("must be an object, got {}", json_type(other)),
            ))
        }
    };

    let uuid = match obj.get("uuid") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(canonical_uuid(s).ok_or_else(|| {
            at.error(ErrorKind::InvalidText, "uuid", format!("\"{}\" is not a UUID", truncate(s, 100)))
        })?),
        Some(other) => {
            return Err(at.error(ErrorKind::InvalidText, "uuid", format!("must be a string, got {}", json_type(other))))
        }
    };

    let timestamp = match obj.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            validate_timestamp(s).map_err(|why| {
                at.error(
                    ErrorKind::InvalidDatetime,
                    "timestamp",
                    format!("\"{}\" is not an ISO 8601 timestamp: {why}", truncate(s, 100)),
                )
            })?;
            Some(s.clone())
        }
        Some(other) => {
            return Err(at.error(
                ErrorKind::InvalidDatetime,
                "timestamp",
                format!("must be a string, got {}", json_type(other)),
            ))
        }
    };

    let distinct_id = match obj.get("distinct_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(identifier(&at, "distinct_id", v)?),
    };

    let text = |key: &str| -> Result<Option<String>> { optional_text(&at, key, props.get(key)) };
    let is_evaluation = name == EVALUATION_EVENT;
    // An evaluation belongs to the trace it judged; without one, to the event it judged.
    let trace_id = match id_text(&at, "$ai_trace_id", props)?.filter(|s| !s.is_empty()) {
        None if is_evaluation => id_text(&at, "$ai_target_event_id", props)?.filter(|s| !s.is_empty()),
        found => found,
    }
    .ok_or_else(|| at.error(ErrorKind::NullNotAllowed, "$ai_trace_id", "is missing"))?;

    let input = first_present(props, &["$ai_input", "$ai_input_state"]);
    let output = first_present(props, &["$ai_output_choices", "$ai_output", "$ai_output_state"]);
    let content = if is_evaluation {
        check_evaluation(&at, props)?;
        Some(evaluation_text(props))
    } else {
        Some(readable_text(input, output)).filter(|s| !s.is_empty())
    };

    let input_tokens = count(&at, "$ai_input_tokens", props.get("$ai_input_tokens"))?;
    let output_tokens = count(&at, "$ai_output_tokens", props.get("$ai_output_tokens"))?;
    let total_cost_usd = amount(&at, "$ai_total_cost_usd", props.get("$ai_total_cost_usd"), MAX_COST_USD)?;
    let latency_s = amount(&at, "$ai_latency", props.get("$ai_latency"), MAX_LATENCY_S)?;
    let error = match props.get("$ai_error") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let is_error = flag(&at, "$ai_is_error", props.get("$ai_is_error"))?.or(error.as_ref().map(|_| true));

    Ok(CapturedEvent {
        uuid,
        event: name,
        timestamp,
        ignore_sent_at: props.get("$ignore_sent_at").and_then(Value::as_bool).unwrap_or(false),
        distinct_id,
        trace_id,
        span_id: id_text(&at, "$ai_span_id", props)?,
        parent_id: id_text(&at, "$ai_parent_id", props)?,
        session_id: id_text(&at, "$ai_session_id", props)?,
        span_name: text("$ai_span_name")?,
        model: text("$ai_model")?,
        provider: text("$ai_provider")?,
        input: input.cloned(),
        output: output.cloned(),
        content,
        input_tokens,
        output_tokens,
        total_cost_usd,
        latency_s,
        is_error,
        error,
        properties: Value::Object(props.clone()),
    })
}

/// The properties of an `$ai_evaluation` that its text and its cluster's pass rate read
/// have the types PostHog sends: texts are strings, the result of a boolean evaluation and
/// `$ai_evaluation_applicable` are booleans (or the text "true" / "false").
fn check_evaluation(at: &EventContext, props: &Map<String, Value>) -> Result<()> {
    for key in ["$ai_evaluation_name", "$ai_evaluation_reasoning", "$ai_evaluation_model", "$ai_evaluation_result_type"]
    {
        optional_text(at, key, props.get(key))?;
    }
    id_text(at, "$ai_target_event_id", props)?;
    let boolean_result = matches!(props.get("$ai_evaluation_result_type"), None | Some(Value::Null))
        || props["$ai_evaluation_result_type"] == "boolean";
    let keys: &[&str] = if boolean_result {
        &["$ai_evaluation_result", "$ai_evaluation_applicable"]
    } else {
        &["$ai_evaluation_applicable"]
    };
    for key in keys {
        match props.get(*key) {
            None | Some(Value::Null) | Some(Value::Bool(_)) => {}
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {}
            Some(other) => {
                return Err(at.error(
                    ErrorKind::InvalidText,
                    key,
                    format!("must be a boolean, got {}", truncate(&other.to_string(), 100)),
                ))
            }
        }
    }
    Ok(())
}

struct EventContext {
    index: usize,
}

impl EventContext {
    fn error(&self, kind: ErrorKind, property: &str, what: impl std::fmt::Display) -> EngineError {
        EngineError::new(kind, format!("event {}: property \"{}\" {}", self.index, property, what))
    }
}

fn first_present<'a>(props: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().filter_map(|k| props.get(*k)).find(|v| !v.is_null())
}

/// Ids may arrive as strings or as JSON numbers; both are stored as text.
fn identifier(at: &EventContext, key: &str, value: &Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(at.error(
            ErrorKind::InvalidText,
            key,
            format!("must be a string or a number, got {}", json_type(other)),
        )),
    }
}

fn id_text(at: &EventContext, key: &str, props: &Map<String, Value>) -> Result<Option<String>> {
    match props.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => identifier(at, key, v).map(Some),
    }
}

fn optional_text(at: &EventContext, key: &str, value: Option<&Value>) -> Result<Option<String>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => {
            Err(at.error(ErrorKind::InvalidText, key, format!("must be a string, got {}", json_type(other))))
        }
    }
}

/// A JSON number, or a string holding one (as SDKs sometimes send).
fn number(at: &EventContext, key: &str, value: Option<&Value>) -> Result<Option<f64>> {
    let parsed = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match parsed {
        Some(x) if x.is_finite() => Ok(Some(x)),
        _ => Err(at.error(
            ErrorKind::InvalidText,
            key,
            format!(
                "must be a finite number, got {}",
                truncate(&value.map(|v| v.to_string()).unwrap_or_default(), 100)
            ),
        )),
    }
}

/// An amount such as a cost or a latency, from 0 to `max`.
fn amount(at: &EventContext, key: &str, value: Option<&Value>, max: f64) -> Result<Option<f64>> {
    match number(at, key, value)? {
        Some(x) if x < 0.0 => Err(at.error(ErrorKind::OutOfRange, key, format!("must not be negative, got {x}"))),
        Some(x) if x > max => Err(at.error(ErrorKind::OutOfRange, key, format!("must be at most {max:e}, got {x:e}"))),
        // -0 is stored as 0.
        other => Ok(other.map(|x| x + 0.0)),
    }
}

/// A non-negative whole count such as a token count.
fn count(at: &EventContext, key: &str, value: Option<&Value>) -> Result<Option<i64>> {
    match number(at, key, value)? {
        None => Ok(None),
        Some(x) if x.fract() != 0.0 => {
            Err(at.error(ErrorKind::InvalidText, key, format!("must be a whole number, got {x}")))
        }
        Some(x) if !(0.0..=MAX_TOKENS).contains(&x) => {
            Err(at.error(ErrorKind::OutOfRange, key, format!("must be between 0 and 9e15, got {x:e}")))
        }
        Some(x) => Ok(Some(x as i64)),
    }
}

fn flag(at: &EventContext, key: &str, value: Option<&Value>) -> Result<Option<bool>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "1" | "yes" => Ok(Some(true)),
            "false" | "f" | "0" | "no" => Ok(Some(false)),
            _ => Err(at.error(ErrorKind::InvalidText, key, format!("must be a boolean, got \"{}\"", truncate(s, 100)))),
        },
        Some(Value::Number(n)) if n.as_f64() == Some(0.0) => Ok(Some(false)),
        Some(Value::Number(n)) if n.as_f64() == Some(1.0) => Ok(Some(true)),
        Some(other) => Err(at.error(
            ErrorKind::InvalidText,
            key,
            format!("must be a boolean, got {}", truncate(&other.to_string(), 100)),
        )),
    }
}

/// Canonical 8-4-4-4-12 lowercase form of a UUID given with or without hyphens.
fn canonical_uuid(s: &str) -> Option<String> {
    let hex: String = s.trim().trim_start_matches('{').trim_end_matches('}').chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
}

pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// At most `max` characters of `s`, for error messages.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn generation(props: Value) -> Value {
        json!({"event": "$ai_generation", "distinct_id": "u1", "timestamp": "2026-11-20T10:00:00Z", "properties": props})
    }

    #[test]
    fn maps_properties_to_columns() {
        let ev = generation(json!({
            "$ai_trace_id": "t1", "$ai_span_id": "s1", "$ai_parent_id": 7, "$ai_session_id": "sess",
            "$ai_span_name": "chat", "$ai_model": "gpt-4o", "$ai_provider": "openai",
            "$ai_input": [{"role": "user", "content": "Hello there"}],
            "$ai_output_choices": [{"role": "assistant", "content": "Hi!"}],
            "$ai_input_tokens": "12", "$ai_output_tokens": 3, "$ai_total_cost_usd": "0.002",
            "$ai_latency": 1.5, "$ai_is_error": "false", "custom": {"a": 1}
        }));
        let parsed = parse_payload(&ev).unwrap();
        assert_eq!(parsed.len(), 1);
        let e = &parsed[0];
        assert_eq!(e.trace_id, "t1");
        assert_eq!(e.parent_id.as_deref(), Some("7"));
        assert_eq!(e.input_tokens, Some(12));
        assert_eq!(e.output_tokens, Some(3));
        assert_eq!(e.total_cost_usd, Some(0.002));
        assert_eq!(e.latency_s, Some(1.5));
        assert_eq!(e.is_error, Some(false));
        assert_eq!(e.model.as_deref(), Some("gpt-4o"));
        assert_eq!(e.content.as_deref(), Some("user: Hello there\nassistant: Hi!"));
        assert_eq!(e.properties["custom"]["a"], 1);
    }

    #[test]
    fn absent_numbers_stay_none() {
        let e = &parse_payload(&generation(json!({"$ai_trace_id": 42}))).unwrap()[0];
        assert_eq!(e.trace_id, "42");
        assert_eq!(
            (e.input_tokens, e.output_tokens, e.total_cost_usd, e.latency_s, e.is_error),
            (None, None, None, None, None)
        );
        assert_eq!(e.content, None);
    }

    #[test]
    fn accepts_posthog_batch_body_and_arrays() {
        let one = generation(json!({"$ai_trace_id": "t"}));
        let body = json!({"api_key": "phc_x", "sent_at": "2026-11-20T10:00:00Z", "historical_migration": false, "batch": [one, one]});
        assert_eq!(parse_payload(&body).unwrap().len(), 2);
        assert_eq!(parse_payload(&json!([one, one, one])).unwrap().len(), 3);
        assert_eq!(parse_payload(&json!([])).unwrap().len(), 0);
    }

    #[test]
    fn sent_at_is_read_when_valid_and_an_event_may_opt_out() {
        let one = generation(json!({"$ai_trace_id": "t"}));
        assert_eq!(
            sent_at(&json!({"sent_at": "2026-11-20T10:00:00.123+00:00", "batch": [one]})).as_deref(),
            Some("2026-11-20T10:00:00.123+00:00")
        );
        for body in
            [json!({"batch": [one]}), json!({"sent_at": "soon", "batch": []}), json!({"sent_at": 17}), json!([one])]
        {
            assert_eq!(sent_at(&body), None, "{body}");
        }
        let kept = generation(json!({"$ai_trace_id": "t", "$ignore_sent_at": true}));
        assert!(parse_payload(&kept).unwrap()[0].ignore_sent_at);
        assert!(!parse_payload(&one).unwrap()[0].ignore_sent_at);
    }

    #[test]
    fn an_error_in_the_event_implies_is_error() {
        let e = &parse_payload(&generation(json!({"$ai_trace_id": "t", "$ai_error": {"code": 500}}))).unwrap()[0];
        assert_eq!(e.is_error, Some(true));
        assert_eq!(e.error.as_deref(), Some("{\"code\":500}"));
    }

    #[test]
    fn canonicalises_uuids() {
        let mut ev = generation(json!({"$ai_trace_id": "t"}));
        ev["uuid"] = json!("0192F1A2B3C4D5E6F708192A3B4C5D6E");
        assert_eq!(parse_payload(&ev).unwrap()[0].uuid.as_deref(), Some("0192f1a2-b3c4-d5e6-f708-192a3b4c5d6e"));
    }

    fn error_of(payload: Value) -> EngineError {
        parse_payload(&payload).expect_err("payload should be rejected")
    }

    #[test]
    fn rejects_bad_input_naming_index_and_property() {
        let ok = generation(json!({"$ai_trace_id": "t"}));
        let cases: Vec<(Value, ErrorKind, &str)> = vec![
            (json!("text"), ErrorKind::InvalidParameter, "payload must be"),
            (json!(5), ErrorKind::InvalidParameter, "got a number"),
            (json!({"batch": 1}), ErrorKind::InvalidParameter, "\"batch\" must be an array"),
            (json!([ok, 3]), ErrorKind::InvalidParameter, "event 1 must be an object, got a number"),
            (
                json!([ok, {"event": "$pageview", "properties": {"$ai_trace_id": "t"}}]),
                ErrorKind::InvalidParameter,
                "event 1: property \"event\" \"$pageview\" is not one of",
            ),
            (
                json!([{"event": "$ai_span", "properties": {}}]),
                ErrorKind::NullNotAllowed,
                "event 0: property \"$ai_trace_id\" is missing",
            ),
            (
                json!([{"event": "$ai_span", "properties": {"$ai_trace_id": ""}}]),
                ErrorKind::NullNotAllowed,
                "\"$ai_trace_id\" is missing",
            ),
            (
                json!([{"event": "$ai_span", "properties": {"$ai_trace_id": ["x"]}}]),
                ErrorKind::InvalidText,
                "\"$ai_trace_id\" must be a string or a number",
            ),
            (
                generation(json!({"$ai_trace_id": "t", "$ai_input_tokens": "many"})),
                ErrorKind::InvalidText,
                "event 0: property \"$ai_input_tokens\" must be a finite number",
            ),
            (
                generation(json!({"$ai_trace_id": "t", "$ai_output_tokens": 1.5})),
                ErrorKind::InvalidText,
                "must be a whole number",
            ),
            (
                generation(json!({"$ai_trace_id": "t", "$ai_total_cost_usd": "NaN"})),
                ErrorKind::InvalidText,
                "\"$ai_total_cost_usd\" must be a finite number",
            ),
            (
                generation(json!({"$ai_trace_id": "t", "$ai_total_cost_usd": true})),
                ErrorKind::InvalidText,
                "\"$ai_total_cost_usd\" must be a finite number",
            ),
            (
                generation(json!({"$ai_trace_id": "t", "$ai_latency": -0.5})),
                ErrorKind::OutOfRange,
                "\"$ai_latency\" must not be negative, got -0.5",
            ),
            (
                generation(json!({"$ai_trace_id": "t", "$ai_latency": "1e400"})),
                ErrorKind::InvalidText,
                "\"$ai_latency\" must be a finite number",
            ),
            (
                generation(json!({"$ai_trace_id": "t", "$ai_total_cost_usd": " inf "})),
                ErrorKind::InvalidText,
                "must be a finite number",
            ),
            (
                generation(json!({"$ai_trace_id": "t", "$ai_total_cost_usd": 1e300})),
                ErrorKind::OutOfRange,
                "\"$ai_total_cost_usd\" must be at most 1e9",
            ),
            (
                generation(json!({"$ai_trace_id": "t", "$ai_latency": "2e7"})),
                ErrorKind::OutOfRange,
                "\"$ai_latency\" must be at most 1e7",
            ),
            (
                generation(json!({"$ai_trace_id": "t", "$ai_input_tokens": "1e16"})),
                ErrorKind::OutOfRange,
                "must be between 0 and 9e15",
            ),
            (
                generation(json!({"$ai_trace_id": "t", "$ai_output_tokens": -1})),
                ErrorKind::OutOfRange,
                "must be between 0 and 9e15",
            ),
            (
                generation(json!({"$ai_trace_id": "t", "$ai_is_error": "maybe"})),
                ErrorKind::InvalidText,
                "\"$ai_is_error\" must be a boolean",
            ),
            (
                generation(json!({"$ai_trace_id": "t", "$ai_model": 4})),
                ErrorKind::InvalidText,
                "\"$ai_model\" must be a string",
            ),
            (
                json!({"event": "$ai_span", "properties": 1}),
                ErrorKind::InvalidParameter,
                "\"properties\" must be an object",
            ),
            (
                json!({"event": "$ai_span", "uuid": "nope", "properties": {"$ai_trace_id": "t"}}),
                ErrorKind::InvalidText,
                "\"uuid\" \"nope\" is not a UUID",
            ),
            (
                json!({"event": "$ai_span", "timestamp": "yesterday", "properties": {"$ai_trace_id": "t"}}),
                ErrorKind::InvalidDatetime,
                "event 0: property \"timestamp\" \"yesterday\" is not an ISO 8601 timestamp",
            ),
            (
                json!({"event": "$ai_span", "timestamp": 12, "properties": {"$ai_trace_id": "t"}}),
                ErrorKind::InvalidDatetime,
                "\"timestamp\" must be a string",
            ),
        ];
        for (payload, kind, needle) in cases {
            let err = error_of(payload.clone());
            assert_eq!(err.kind, kind, "{payload} -> {err}");
            assert!(err.message.contains(needle), "{payload}: message {:?} lacks {:?}", err.message, needle);
        }
    }

    fn evaluation(props: Value) -> Value {
        json!({"event": "$ai_evaluation", "distinct_id": "judge", "timestamp": "2026-11-20T10:00:00Z", "properties": props})
    }

    #[test]
    fn evaluations_are_stored_with_their_text() {
        // As PostHog's evaluation workflow emits them.
        let ev = parse_event(
            0,
            &evaluation(json!({
                "$ai_evaluation_id": "e-1", "$ai_evaluation_name": "helpfulness", "$ai_evaluation_result": false,
                "$ai_evaluation_reasoning": "It did not answer.", "$ai_evaluation_model": "gpt-4o-mini",
                "$ai_target_event_id": "0190a1b2-0000-7000-8000-000000000001", "$ai_target_event_type": "$ai_generation",
                "$ai_trace_id": "t-9", "$ai_evaluation_allows_na": false, "$ai_total_cost_usd": 0.0001
            })),
        )
        .unwrap();
        assert_eq!(ev.event, "$ai_evaluation");
        assert_eq!(ev.trace_id, "t-9");
        assert_eq!(ev.content.as_deref(), Some("helpfulness: fail. It did not answer."));
        // Without a trace id, the evaluated event is its trace.
        let ev =
            parse_event(0, &evaluation(json!({"$ai_target_event_id": "g-1", "$ai_evaluation_applicable": "false"})))
                .unwrap();
        assert_eq!((ev.trace_id.as_str(), ev.content.as_deref()), ("g-1", Some("evaluation: n/a")));
        // A categorical result is any JSON; its verdict is unknown.
        let ev = parse_event(
            0,
            &evaluation(json!({"$ai_trace_id": "t", "$ai_evaluation_result_type": "categorical", "$ai_evaluation_result": ["tone"]})),
        )
        .unwrap();
        assert_eq!(ev.content.as_deref(), Some("evaluation: unknown"));
    }

    #[test]
    fn evaluation_properties_are_type_checked() {
        for (props, needle) in [
            (
                json!({"$ai_trace_id": "t", "$ai_evaluation_result": "maybe"}),
                "\"$ai_evaluation_result\" must be a boolean",
            ),
            (json!({"$ai_trace_id": "t", "$ai_evaluation_result": 1}), "\"$ai_evaluation_result\" must be a boolean"),
            (
                json!({"$ai_trace_id": "t", "$ai_evaluation_applicable": {"x": 1}}),
                "\"$ai_evaluation_applicable\" must be a boolean",
            ),
            (json!({"$ai_trace_id": "t", "$ai_evaluation_name": ["a"]}), "\"$ai_evaluation_name\" must be a string"),
            (
                json!({"$ai_trace_id": "t", "$ai_evaluation_reasoning": 5}),
                "\"$ai_evaluation_reasoning\" must be a string",
            ),
            (
                json!({"$ai_trace_id": "t", "$ai_target_event_id": [1]}),
                "\"$ai_target_event_id\" must be a string or a number",
            ),
            (json!({"$ai_evaluation_result": true}), "\"$ai_trace_id\" is missing"),
        ] {
            let err = parse_event(0, &evaluation(props.clone())).unwrap_err();
            assert!(err.message.contains(needle), "{props}: {}", err.message);
        }
    }

    #[test]
    fn refuses_too_many_events() {
        let ok = generation(json!({"$ai_trace_id": "t"}));
        let many = Value::Array(vec![ok; MAX_EVENTS_PER_CALL + 1]);
        assert_eq!(error_of(many).kind, ErrorKind::LimitExceeded);
    }
}
