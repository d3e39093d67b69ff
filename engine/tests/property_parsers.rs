//! Property tests of the parsers that take user input: `capture` payloads, job filters and
//! params. Thousands of generated inputs (random JSON, and mutations of valid payloads):
//! none may panic; a payload is accepted whole or rejected whole; accepted filters always
//! compile to SQL whose every value is a bind parameter. Seeded, so a failure reproduces.

use llm_clusters_engine::capture::parse_payload;
use llm_clusters_engine::cluster::Params;
use llm_clusters_engine::filters::{parse_filters, to_sql};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde_json::{json, Map, Value};

const CASES: usize = 20_000;

const STRINGS: &[&str] = &[
    "",
    "gpt-4o",
    "$ai_generation",
    "$ai_span",
    "$ai_trace",
    "$ai_embedding",
    "2026-11-20T10:00:00Z",
    "2026-02-30",
    "not a date",
    "'; DROP TABLE llm_clusters.events; --",
    "\"quoted\"",
    "back\\slash",
    "ünïcödé ✓ 🚀",
    "\u{0}nul",
    "exact",
    "is_not",
    "icontains",
    "regex",
    "gt",
    "is_set",
    "$ai_model",
    "properties",
    "content",
    "cost_usd",
    "NaN",
    "-1",
    "1e309",
    "true",
    "user",
    "assistant",
    "text",
];

const KEYS: &[&str] = &[
    "event",
    "properties",
    "timestamp",
    "uuid",
    "distinct_id",
    "batch",
    "api_key",
    "$ai_trace_id",
    "$ai_input",
    "$ai_output_choices",
    "$ai_input_tokens",
    "$ai_output_tokens",
    "$ai_total_cost_usd",
    "$ai_latency",
    "$ai_is_error",
    "$ai_error",
    "$ai_model",
    "$ai_span_id",
    "$ai_parent_id",
    "role",
    "content",
    "type",
    "key",
    "value",
    "operator",
];

fn random_value(rng: &mut Xoshiro256PlusPlus, depth: u32) -> Value {
    match rng.gen_range(0..if depth > 3 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.gen()),
        2 => json!(rng.gen_range(-1_000_000i64..1_000_000)),
        3 => json!([0.0, 1e308, -1e-300, 0.5, 123.456][rng.gen_range(0..5)]),
        4 | 5 => json!(STRINGS[rng.gen_range(0..STRINGS.len())]),
        6 => Value::Array((0..rng.gen_range(0..4)).map(|_| random_value(rng, depth + 1)).collect()),
        _ => Value::Object(
            (0..rng.gen_range(0..5))
                .map(|_| (KEYS[rng.gen_range(0..KEYS.len())].to_string(), random_value(rng, depth + 1)))
                .collect::<Map<_, _>>(),
        ),
    }
}

fn valid_event(i: usize) -> Value {
    json!({"event": "$ai_generation", "uuid": format!("00000000-0000-0000-0000-{i:012}"), "timestamp": "2026-11-20T10:00:00Z",
           "properties": {"$ai_trace_id": format!("t{i}"), "$ai_model": "gpt-4o", "$ai_input_tokens": 10,
                          "$ai_input": [{"role": "user", "content": "hello"}], "$ai_total_cost_usd": 0.01}})
}

/// Replaces one value somewhere in `v` with a random one.
fn mutate(v: &mut Value, rng: &mut Xoshiro256PlusPlus) {
    match v {
        Value::Object(m) if !m.is_empty() && rng.gen_bool(0.7) => {
            let key = m.keys().nth(rng.gen_range(0..m.len())).cloned().unwrap_or_default();
            if rng.gen_bool(0.2) {
                m.remove(&key);
            } else if let Some(child) = m.get_mut(&key) {
                mutate(child, rng);
            }
        }
        Value::Array(a) if !a.is_empty() && rng.gen_bool(0.7) => {
            let i = rng.gen_range(0..a.len());
            mutate(&mut a[i], rng);
        }
        _ => *v = random_value(rng, 2),
    }
}

#[test]
fn capture_payloads_never_panic_and_are_all_or_nothing() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(20261127);
    let (mut accepted, mut rejected) = (0, 0);
    for case in 0..CASES {
        let n = rng.gen_range(1..5);
        let mut payload = match case % 3 {
            0 => random_value(&mut rng, 0),
            1 => Value::Array((0..n).map(valid_event).collect()),
            _ => json!({"batch": (0..n).map(valid_event).collect::<Vec<_>>(), "api_key": "k"}),
        };
        for _ in 0..rng.gen_range(0..4) {
            mutate(&mut payload, &mut rng);
        }
        let expected = match &payload {
            Value::Array(a) => Some(a.len()),
            Value::Object(o) => match o.get("batch") {
                Some(Value::Array(b)) => Some(b.len()),
                _ => Some(1),
            },
            _ => None,
        };
        match parse_payload(&payload) {
            Ok(events) => {
                accepted += 1;
                assert_eq!(Some(events.len()), expected, "part of a payload was accepted: {payload}");
            }
            Err(e) => {
                rejected += 1;
                assert!(!e.message.is_empty());
            }
        }
    }
    println!("capture: {CASES} payloads, {accepted} accepted whole, {rejected} rejected whole, no panic");
    assert!(accepted > CASES / 10 && rejected > CASES / 10, "the generator should produce both kinds");
}

#[test]
fn filters_and_params_never_panic_and_filters_bind_every_value() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let mut accepted = 0;
    for case in 0..CASES {
        let mut filters = if case % 2 == 0 {
            json!([{"key": STRINGS[rng.gen_range(0..STRINGS.len())], "operator": STRINGS[rng.gen_range(14..20)],
                    "value": random_value(&mut rng, 3)}])
        } else {
            random_value(&mut rng, 0)
        };
        if rng.gen_bool(0.5) {
            mutate(&mut filters, &mut rng);
        }
        if let Ok(parsed) = parse_filters(&filters) {
            accepted += 1;
            let mut params = 0;
            let sql = to_sql(&parsed, &mut |_| {
                params += 1;
                format!("${}", params + 3)
            });
            // Values never reach the SQL text: no quote or string from the input is in it.
            assert!(!sql.contains("DROP") && !sql.contains("ünïcödé"), "{sql}");
            assert!(sql.matches('$').count() >= params, "{sql}");
        }
        let _ = Params::from_json(&random_value(&mut rng, 0));
    }
    println!("filters: {CASES} inputs, {accepted} accepted, no panic; params: {CASES} inputs, no panic");
    assert!(accepted > 0);
}
