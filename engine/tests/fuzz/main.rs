//! Property-based fuzzing of every parser of outside input in the engine: each target a
//! `fuzz_` test over `LLM_CLUSTERS_FUZZ_N` generated inputs (scripts/fuzz.sh runs them
//! long). Each asserts no panic and, where cheap, what an accepted input guarantees.

mod gen;

use gen::{run, unclean, Gen};
use llm_clusters_engine::ai::{parse_embeddings, parse_label, parse_summary};
use llm_clusters_engine::capture::{parse_payload, sent_at, MAX_COST_USD, MAX_LATENCY_S, MAX_TOKENS};
use llm_clusters_engine::clean::{clean, Field};
use llm_clusters_engine::cluster::labels::offline_labels;
use llm_clusters_engine::cluster::params::Params;
use llm_clusters_engine::cluster::Clustering;
use llm_clusters_engine::content::{latest_request, readable_text, request_text, tool_call_names, MAX_CONTENT_CHARS};
use llm_clusters_engine::error::{EngineError, ErrorKind, Result as EngineResult};
use llm_clusters_engine::filters::{parse_filters, to_sql, Operator};
use llm_clusters_engine::lens::LENSES;
use llm_clusters_engine::service::{redact_url, retry_after, MAX_RETRY_AFTER};
use llm_clusters_engine::timestamp::validate_timestamp;
use llm_clusters_engine::trace::{
    compact_rendering, summarize, timeline_json, trace_requests, Step, Tree, MAX_TRACE_REQUESTS,
};
use rand::Rng;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Valid JSON text of `v`, sometimes with a byte changed: what a service or SDK might send.
fn text_of(g: &mut Gen, v: &Value) -> String {
    let mut text = v.to_string();
    if g.chance(8) && !text.is_empty() {
        let at = g.rng.gen_range(0..text.len());
        if text.is_char_boundary(at) {
            let junk = *g.pick(&["\"", "}", "[", ",", "\\u202e", "\\ud800", "1e400", "\u{0}"]);
            text.insert_str(at, junk);
        }
    }
    text
}

fn messages(g: &mut Gen) -> Value {
    let mut v = json!([
        {"role": "system", "content": g.string()},
        {"role": "user", "content": [{"type": "text", "text": g.string()}, {"type": "image_url", "image_url": {"url": "x"}}]},
        {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": g.string(), "arguments": "{}"}}]},
        {"message": {"role": "assistant", "content": g.string(), "refusal": g.string()}},
    ]);
    g.mutate(&mut v);
    v
}

fn timestamp(g: &mut Gen) -> String {
    let base =
        *g.pick(&["2026-11-20T10:00:00.123Z", "2024-02-29 23:59:59+14:00", "2026-11-20", "2026-11-20T10:00-0530"]);
    let mut s: Vec<char> = base.chars().collect();
    for _ in 0..g.rng.gen_range(0..3) {
        let at = g.rng.gen_range(0..s.len());
        match g.rng.gen_range(0..3) {
            0 => s[at] = *g.pick(&['0', '9', '3', '-', ':', 'T', ' ', 'Z', '+', '.', 'é', '\u{202E}']),
            1 => {
                s.remove(at);
            }
            _ => s.insert(at, *g.pick(&['1', '0', '.', '\u{0}'])),
        }
    }
    if g.chance(20) {
        return g.string();
    }
    s.into_iter().collect()
}

#[test]
fn fuzz_capture() {
    run(
        "capture",
        |g| {
            let event = |g: &mut Gen| {
                json!({
                    "event": g.pick(&["$ai_generation", "$ai_span", "$ai_trace", "$ai_embedding"]),
                    "uuid": g.pick(&["0192F1A2B3C4D5E6F708192A3B4C5D6E", "{0192f1a2-b3c4-d5e6-f708-192a3b4c5d6e}", "x"]),
                    "timestamp": timestamp(g),
                    "distinct_id": g.string(),
                    "properties": {
                        "$ai_trace_id": g.string(), "$ai_span_id": g.string(), "$ai_parent_id": g.number(),
                        "$ai_model": g.string(), "$ai_input": messages(g), "$ai_output_choices": messages(g),
                        "$ai_input_tokens": g.number(), "$ai_output_tokens": g.number(),
                        "$ai_total_cost_usd": g.number(), "$ai_latency": g.number(),
                        "$ai_is_error": g.pick(&[json!("true"), json!(1), json!("maybe"), json!(null)]).clone(),
                        "$ai_error": g.value(2), "$ignore_sent_at": g.value(0),
                    }
                })
            };
            let n = g.rng.gen_range(0..4);
            let events: Vec<Value> = (0..n).map(|_| event(g)).collect();
            let mut payload = match g.rng.gen_range(0..3) {
                0 => json!({"batch": events, "sent_at": timestamp(g), "api_key": "phc"}),
                1 => Value::Array(events),
                _ => events.into_iter().next().unwrap_or(Value::Null),
            };
            g.mutate(&mut payload);
            text_of(g, &payload)
        },
        |text| {
            let Ok(payload) = serde_json::from_str::<Value>(text) else { return false };
            if let Some(sent) = sent_at(&payload) {
                assert!(validate_timestamp(&sent).is_ok());
            }
            let Ok(events) = parse_payload(&payload) else { return false };
            for e in &events {
                for t in [e.input_tokens, e.output_tokens].into_iter().flatten() {
                    assert!((0..=MAX_TOKENS as i64).contains(&t), "{t}");
                }
                for (x, max) in [(e.total_cost_usd, MAX_COST_USD), (e.latency_s, MAX_LATENCY_S)] {
                    assert!(x.is_none_or(|x| x.is_finite() && (0.0..=max).contains(&x)), "{x:?}");
                }
                assert!(e.timestamp.as_deref().is_none_or(|t| validate_timestamp(t).is_ok()));
                assert!(e.uuid.as_deref().is_none_or(|u| u.len() == 36 && !u.contains(char::is_uppercase)));
                assert!(!e.trace_id.is_empty());
                assert!(e.content.as_deref().is_none_or(|c| c.chars().count() <= MAX_CONTENT_CHARS));
                let again: Value = serde_json::from_str(&e.properties.to_string()).expect("properties re-serialise");
                assert_eq!(again, e.properties);
            }
            true
        },
    );
}

#[test]
fn fuzz_timestamp() {
    run("timestamp", timestamp, |s| {
        let ok = validate_timestamp(s).is_ok();
        // What PostgreSQL is handed is plain ASCII starting with a 4-digit year.
        assert!(!ok || (s.is_ascii() && s.len() >= 10 && s[..4].bytes().all(|b| b.is_ascii_digit())), "{s}");
        ok
    });
}

#[test]
fn fuzz_filters() {
    run(
        "filters",
        |g| {
            let n = g.rng.gen_range(0..4);
            let mut filters: Vec<Value> = (0..n)
                .map(|_| {
                    json!({
                        "key": g.pick(&["cost_usd", "latency_s", "tokens", "content", "is_error", "$ai_model", "x"]),
                        "operator": Operator::ALL[g.rng.gen_range(0..Operator::ALL.len())].as_str(),
                        "value": if g.chance(2) { g.number() } else { g.value(1) },
                        "type": "event",
                    })
                })
                .collect();
            let mut v = Value::Array(std::mem::take(&mut filters));
            g.mutate(&mut v);
            v
        },
        |v| {
            let Ok(filters) = parse_filters(v) else { return false };
            for f in &filters {
                assert!(f.number.is_none_or(f64::is_finite));
                assert_eq!(Operator::parse(f.operator.as_str()), Some(f.operator));
            }
            let mut n = 0;
            let sql = to_sql(&filters, &mut |_| {
                n += 1;
                format!("${n}")
            });
            // Every value is a bind parameter: no text of the filters reaches the SQL.
            for f in &filters {
                for value in f.values.iter().filter(|v| v.len() > 3 && !"TRUE FALSE NULL".contains(v.as_str())) {
                    assert!(!sql.contains(value.as_str()) || f.key.contains(value.as_str()), "{value} in {sql}");
                }
            }
            true
        },
    );
}

fn chat(g: &mut Gen, content: Value) -> String {
    let mut envelope = json!({"choices": [{"message": {"role": "assistant", "content": content}}]});
    g.mutate(&mut envelope);
    text_of(g, &envelope)
}

#[test]
fn fuzz_ai_answers() {
    run(
        "ai_answers",
        |g| {
            let words = |g: &mut Gen| (0..g.rng.gen_range(1..13)).map(|_| g.string()).collect::<Vec<_>>().join(" ");
            let mut answer = json!({
                "title": words(g),
                "bullets": (0..g.rng.gen_range(0..7)).map(|_| g.string()).collect::<Vec<_>>(),
                "notes": [g.string()],
            });
            g.mutate(&mut answer);
            let content = match g.rng.gen_range(0..4) {
                0 => format!("Here it is:\n```json\n{answer}\n```"),
                1 => g.string(),
                _ => answer.to_string(),
            };
            let embeddings = json!({"data": [{"index": g.number(), "embedding": [g.number(), 0.5]}, {"embedding": [1.0, g.number()]}]});
            (chat(g, json!(content)), text_of(g, &embeddings))
        },
        |(body, embeddings)| {
            let mut accepted = false;
            if let Ok(label) = parse_label(body) {
                accepted = true;
                assert!(label.title.chars().count() <= 120 && !unclean(&label.title, false), "{label:?}");
                assert!((3..=10).contains(&label.title.split_whitespace().count()));
                assert!((2..=5).contains(&label.bullets.len()));
                assert!(label.bullets.iter().all(|b| b.chars().count() <= 300 && !unclean(b, false) && !b.is_empty()));
            }
            if let Ok(summary) = parse_summary(body) {
                accepted = true;
                assert!(summary.title.chars().count() <= 120 && !unclean(&summary.title, false));
                for b in summary.bullets.iter().chain(&summary.notes) {
                    assert!(b.chars().count() <= 300 && !unclean(b, false));
                }
            }
            for expected in [1, 2] {
                if let Ok(vectors) = parse_embeddings(embeddings, expected) {
                    accepted = true;
                    assert_eq!(vectors.len(), expected);
                    assert!(vectors.iter().flatten().all(|x| x.is_finite()));
                    assert!(vectors.windows(2).all(|w| w[0].len() == w[1].len()));
                }
            }
            accepted
        },
    );
}

#[test]
fn fuzz_service() {
    run(
        "service",
        |g| {
            let url = format!(
                "{}{}@{}{}{}",
                g.pick(&["http://", "https://", "", "ftp://"]),
                g.string(),
                g.pick(&["host", "h:1", "[::1]:8080", "@"]),
                g.pick(&["/v1", "", "/a@b", "/v1/chat/completions"]),
                g.pick(&["", "?key=secret", "#frag", "?a=1#b"]),
            );
            let retry = match g.rng.gen_range(0..4) {
                0 => format!("{}", g.rng.gen_range(0..100_000)),
                1 => format!("{}.{}", g.rng.gen_range(0..1_000), g.rng.gen_range(0..1_000)),
                _ => g.string(),
            };
            (url, retry, g.rng.gen_range(0..4_000_000_000u64))
        },
        |(url, retry, now)| {
            let shown = redact_url(url);
            assert!(!shown.contains(['?', '#']), "{shown}");
            assert_eq!(redact_url(&shown), shown, "idempotent");
            let authority = shown.split_once("://").map_or(shown.as_str(), |(_, r)| r);
            assert!(!authority.split('/').next().unwrap_or("").contains('@'), "{shown}");
            match retry_after(retry, UNIX_EPOCH + Duration::from_secs(*now)) {
                Some(wait) => {
                    assert!(wait <= MAX_RETRY_AFTER);
                    true
                }
                None => false,
            }
        },
    );
}

#[test]
fn fuzz_content() {
    run(
        "content",
        |g| {
            let v = messages(g);
            let depth = g.rng.gen_range(0..130);
            if g.chance(4) {
                g.deep(&v, depth).unwrap_or(v)
            } else {
                v
            }
        },
        |v| {
            assert!(readable_text(Some(v), Some(v)).chars().count() <= MAX_CONTENT_CHARS);
            assert!(request_text(Some(v)).chars().count() <= MAX_CONTENT_CHARS);
            let requests = trace_requests(std::slice::from_ref(v));
            assert!(requests.len() <= MAX_TRACE_REQUESTS);
            assert!(requests.iter().all(|r| r.text.chars().count() <= MAX_CONTENT_CHARS && r.weight >= 1.0));
            let _ = latest_request(Some(v));
            !tool_call_names(v).is_empty()
        },
    );
}

#[test]
fn fuzz_trace() {
    run(
        "trace",
        |g| {
            let ids = ["a", "b", "c", "d", "t", ""];
            let float = |g: &mut Gen| {
                *g.pick(&[None, Some(f64::NAN), Some(f64::INFINITY), Some(-1.0), Some(f64::MAX), Some(1e-9), Some(2.5)])
            };
            let n = g.rng.gen_range(0..10);
            (0..n)
                .map(|i| Step {
                    uuid: format!("u{i}"),
                    event: g.pick(&["$ai_generation", "$ai_span", "$ai_trace", "$ai_embedding", "x"]).to_string(),
                    timestamp_ms: float(g).map(|t| t * 1000.0),
                    span_id: g.chance(3).then(|| g.pick(&ids).to_string()),
                    parent_id: g.chance(2).then(|| g.pick(&ids).to_string()),
                    name: g.chance(2).then(|| g.string()),
                    model: g.chance(2).then(|| g.string()),
                    latency_s: float(g),
                    input_tokens: *g.pick(&[None, Some(i64::MAX), Some(i64::MIN), Some(-1), Some(12)]),
                    output_tokens: *g.pick(&[None, Some(i64::MAX), Some(0)]),
                    cost_usd: float(g),
                    is_error: *g.pick(&[None, Some(true), Some(false)]),
                    error: g.chance(3).then(|| g.string()),
                    input: g.chance(2).then(|| messages(g)),
                    output: g.chance(2).then(|| messages(g)),
                })
                .collect::<Vec<_>>()
        },
        |steps| {
            let tree = Tree::of(steps, "t");
            let mut seen: Vec<usize> = tree.walk().into_iter().map(|(i, _)| i).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..steps.len()).collect::<Vec<_>>(), "every step drawn once");
            let summary = summarize(steps, "t");
            assert!(summary.title.chars().count() <= 120 && !unclean(&summary.title, false));
            assert!(summary
                .bullets
                .iter()
                .chain(&summary.notes)
                .all(|b| b.chars().count() <= 300 && !unclean(b, false)));
            let timeline = timeline_json(steps, "t", 200, 1_000);
            assert!(timeline.span.is_finite());
            let mut shown = 0;
            for row in &timeline.steps {
                assert!([row.start, row.duration, row.cost].iter().all(|x| x.is_none_or(f64::is_finite)), "{row:?}");
                let texts = row.input.iter().chain(&row.output);
                shown += texts.map(|t| t.text.chars().count()).sum::<usize>();
            }
            assert!(shown <= 1_000, "the timeline's texts keep to its budget: {shown}");
            serde_json::to_string(&timeline).expect("the timeline serialises");
            assert!(compact_rendering(steps, &summary, 4_000).chars().count() <= 4_000);
            for lens in LENSES {
                let text = lens.text_of_steps(steps, "t");
                assert!(text.chars().count() <= MAX_CONTENT_CHARS, "the {} lens keeps to the cap", lens.as_str());
                assert!(!unclean(&text, true), "the {} lens text is clean: {text:?}", lens.as_str());
            }
            !steps.is_empty()
        },
    );
}

#[test]
fn fuzz_params() {
    run(
        "params",
        |g| {
            let mut v = json!({
                "window": "7 days", "max_items": g.number(), "min_items": 20, "seed": g.number(),
                "method": g.pick(&["graph", "kmeans", "hdbscan", "dbscan"]), "outlier_z": g.number(),
                "resolution": g.number(), "refine": g.number(), "embed": g.pick(&["content", "summary", ""]),
            });
            g.mutate(&mut v);
            v
        },
        |v| {
            let Ok(p) = Params::from_json(v) else { return false };
            assert!(p.min_items <= p.max_items && (3..=100_000_000).contains(&p.max_items));
            assert!(p.resolution.is_finite() && (0.05..=20.0).contains(&p.resolution));
            assert!(p.refine.is_finite() && (0.0..=10.0).contains(&p.refine));
            assert!(p.outlier_z.is_finite() && p.seed <= i64::MAX as u64);
            true
        },
    );
}

#[test]
fn fuzz_clean() {
    run(
        "clean",
        |g| (0..g.rng.gen_range(1..4)).map(|_| g.string()).collect::<String>(),
        |text| {
            for field in [Field::Title, Field::Line, Field::Text] {
                let out = clean(text, field);
                assert!(out.chars().count() <= field.max_chars());
                assert!(!unclean(&out, field == Field::Text), "{out:?}");
                assert_eq!(clean(&out, field), out, "idempotent");
            }
            !clean(text, Field::Title).is_empty()
        },
    );
}

/// A marker only ever written in answers: offline labels must never show it.
const ANSWER: &str = "zqxanswerzq";

/// An item's text as ingest or an anonymous HTTP client may send it: a request in English
/// or another script, a rendered conversation (its answers marked), or hostile text
/// (huge, one word repeated many times, control and bidi characters, emoji, broken role
/// prefixes).
fn item_text(g: &mut Gen) -> String {
    let verbs = ["write", "fix", "how do I reset", "can you explain", "I want you to act as", "translate", "give me"];
    let objects = ["a poem", "my password", "the SQL query", "5 short stories", "this error", "a travel guide", "it"];
    let request = |g: &mut Gen| format!("{} {} {}", g.pick(&verbs), g.pick(&objects), g.string());
    match g.rng.gen_range(0..12) {
        0..=3 => request(g),
        4 | 5 => {
            let (a, b) = (request(g), g.string());
            format!("user: {a}\nassistant: {ANSWER} {b}\nuser: {}", g.string())
        }
        6 => {
            let scripts = [
                "مرحبا كيف أعيد تعيين كلمة المرور",
                "שלום איך מאפסים סיסמה",
                "请帮我写一首诗",
                "😀🔥 write 👩‍👩‍👧 a poem 🎉",
            ];
            format!("{}{}{}", g.pick(&["\u{202E}", "\u{2067}", ""]), g.pick(&scripts), g.string())
        }
        7 => {
            let word = g.pick(&["write a poem ", "and ", "user: ", "assistant: ", "\u{0}", "é\u{301}", "password's "]);
            let most = if g.chance(20) { 40_000 } else { 200 };
            word.repeat(g.rng.gen_range(1..most))
        }
        8 => format!("{}{}", g.pick(&["user:", "user: user: ", "assistant: ", "USER: ", "\nuser:\n"]), request(g)),
        9 => (0..g.rng.gen_range(0..6)).map(|_| g.string()).collect::<Vec<_>>().join("\n"),
        _ => g.string(),
    }
}

#[test]
fn fuzz_offline_labels() {
    let slowest = std::cell::Cell::new(Duration::ZERO);
    run(
        "offline_labels",
        |g| {
            let n_clusters = g.rng.gen_range(1..6);
            let n_themes = g.rng.gen_range(1..=n_clusters.min(3));
            let items: Vec<(i32, u32, String)> = (0..g.rng.gen_range(0..40))
                .map(|_| (g.rng.gen_range(-1..n_clusters as i32), g.rng.gen_range(0..300), item_text(g)))
                .collect();
            let themes: Vec<usize> = (0..n_clusters).map(|_| g.rng.gen_range(0..n_themes)).collect();
            let embedder = g.rng.gen_range(0..5);
            (n_clusters, n_themes, items, themes, embedder)
        },
        |(n_clusters, n_themes, items, themes, embedder)| {
            let (k, t) = (*n_clusters, *n_themes);
            let unit = |i: usize, n: usize| (0..4).map(|d| if d == i % 4 { 1.0 } else { 0.1 * n as f32 }).collect();
            let n = items.len();
            let result = Clustering {
                labels: items.iter().map(|(c, _, _)| *c).collect(),
                n_clusters: k,
                themes: themes.clone(),
                n_themes: t,
                theme_centroids: (0..t).map(|i| unit(i, t)).collect(),
                theme_coords: vec![[0.0, 0.0]; t],
                centroids: (0..k).map(|i| unit(i, k)).collect(),
                radius: vec![0.5; k],
                distance: vec![0.1; n],
                rank: items.iter().map(|(_, r, _)| *r).collect(),
                coords: vec![[0.0, 0.0]; n],
                centroid_coords: vec![[0.0, 0.0]; k],
                quality: Default::default(),
                steering: vec![None; k],
                steering_summary: Default::default(),
                timings: Vec::new(),
            };
            // Embedders of the clusters' space, well and badly behaved: by the text's bytes,
            // vectors of the wrong size, NaN, an error.
            let kind = *embedder;
            let embed = move |texts: &[String]| -> EngineResult<Vec<Vec<f32>>> {
                match kind {
                    1 => Ok(texts
                        .iter()
                        .map(|s| (0..4).map(|d| s.as_bytes().get(d).copied().map_or(0.0, f32::from)).collect())
                        .collect()),
                    2 => Ok(texts.iter().map(|_| vec![1.0; 3]).collect()),
                    3 => Ok(texts.iter().map(|_| vec![f32::NAN; 4]).collect()),
                    _ => Err(EngineError::new(ErrorKind::Internal, "no model")),
                }
            };
            let docs: Vec<(i32, u32, &str)> = items.iter().map(|(c, r, s)| (*c, *r, s.as_str())).collect();
            let started = std::time::Instant::now();
            let run = offline_labels(
                &docs,
                &result,
                (kind > 0).then_some(&embed as llm_clusters_engine::cluster::labels::Embed),
            );
            slowest.set(slowest.get().max(started.elapsed()));
            assert_eq!((run.clusters.len(), run.themes.len()), (k, t));
            for labels in [&run.clusters, &run.themes] {
                let mut seen = std::collections::HashSet::new();
                for l in labels.iter() {
                    assert!(!l.title.is_empty() && l.title.chars().count() <= Field::Title.max_chars(), "{l:?}");
                    assert!(!unclean(&l.title, false) && !unclean(&l.description, true), "{l:?}");
                    assert!(l.description.chars().count() <= Field::Text.max_chars());
                    assert!(l.keywords.len() <= 6 && l.keywords.iter().all(|k| !k.is_empty() && !unclean(k, false)));
                    let shown = format!("{} {} {}", l.title, l.description, l.keywords.join(" ")).to_lowercase();
                    assert!(!shown.contains(ANSWER), "an answer is shown: {l:?}");
                    let key = l.title.to_lowercase().split_whitespace().collect::<Vec<_>>().join(" ");
                    assert!(
                        seen.insert(key),
                        "titles are distinct: {:?}",
                        labels.iter().map(|l| &l.title).collect::<Vec<_>>()
                    );
                }
            }
            !items.is_empty()
        },
    );
    println!("fuzz offline_labels: slowest input {} ms", slowest.get().as_millis());
}

/// The generator itself reaches the shapes it is meant to: deep values serde_json
/// accepts and those it refuses.
#[test]
fn generator_nests_past_serde_jsons_limit() {
    let mut g = Gen::new(1);
    assert!(g.deep(&json!("x"), 100).is_some());
    assert!(g.deep(&json!("x"), 200).is_none());
    let _ = SystemTime::now();
}
