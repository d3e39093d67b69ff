//! A trace as a tree of steps, its offline summary (title, flow diagram, bullets, notes)
//! and the data of its timeline page. Pure: events in, text and JSON out.
//! `requests` picks what a trace is embedded from, `steps` reads the events and nests
//! them, `lenses` writes the texts the answer, error and flow lenses embed, `summary`
//! writes the offline summary, `timeline_data` the timeline's rows.

mod lenses;
mod requests;
mod steps;
mod summary;
mod timeline_data;

pub use lenses::{answer_text, error_text, flow_text};
pub use requests::{trace_requests, Request, FULL_WEIGHT_WORDS, MAX_TRACE_REQUESTS};
pub use steps::{shorten, Step, Tree};
pub use summary::{compact_rendering, summarize, Summary, COSTLY_USD, MAX_FLOW_LINES, SLOW_S};
pub use timeline_data::{timeline_json, FoldedText, Timeline, TimelineRow, TIMELINE_TEXT_CHARS};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step(uuid: &str, event: &str, ts: f64) -> Step {
        Step { uuid: uuid.into(), event: event.into(), timestamp_ms: Some(ts), ..Step::default() }
    }

    fn generation(uuid: &str, ts: f64, question: &str, answer: &str) -> Step {
        Step {
            model: Some("gpt-4o-mini".into()),
            latency_s: Some(1.2),
            input_tokens: Some(30),
            output_tokens: Some(12),
            cost_usd: Some(0.0004),
            input: Some(json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": question}])),
            output: Some(json!([{"role": "assistant", "content": answer}])),
            ..step(uuid, "$ai_generation", ts)
        }
    }

    /// An agent: a trace, a retrieval span, a generation calling a tool, the tool's span,
    /// and the final generation.
    fn agent() -> Vec<Step> {
        let mut call = generation("g1", 3_000.0, "Where is order 42?", "");
        call.span_id = Some("gen-1".into());
        call.parent_id = Some("agent".into());
        call.output = Some(json!([{"role": "assistant", "content": null,
            "tool_calls": [{"type": "function", "function": {"name": "lookup_order", "arguments": "{}"}}]}]));
        vec![
            Step {
                span_id: Some("t1".into()),
                name: Some("support bot".into()),
                latency_s: Some(5.0),
                ..step("tr", "$ai_trace", 6_000.0)
            },
            Step {
                span_id: Some("agent".into()),
                parent_id: Some("t1".into()),
                name: Some("agent".into()),
                latency_s: Some(4.5),
                ..step("s0", "$ai_span", 5_900.0)
            },
            Step {
                span_id: Some("docs".into()),
                parent_id: Some("agent".into()),
                name: Some("retrieve docs".into()),
                latency_s: Some(0.4),
                ..step("s1", "$ai_span", 1_800.0)
            },
            call,
            Step {
                span_id: Some("tool".into()),
                parent_id: Some("agent".into()),
                name: Some("lookup_order".into()),
                latency_s: Some(0.3),
                ..step("s2", "$ai_span", 3_500.0)
            },
            Step {
                parent_id: Some("agent".into()),
                ..generation("g2", 5_800.0, "Where is order 42?", "It shipped yesterday.")
            },
        ]
    }

    #[test]
    fn an_agent_trace_nests_in_time_order() {
        let s = summarize(&agent(), "t1");
        assert_eq!(s.title, "Where is order 42?");
        let lines: Vec<&str> = s.flow.lines().collect();
        assert_eq!(lines.len(), 7, "{}", s.flow);
        assert!(lines[0].starts_with("└─ trace support bot 5.00 s"), "{}", s.flow);
        assert!(lines[1].starts_with("   └─ span agent 4.50 s"), "{}", s.flow);
        assert!(lines[2].starts_with("      ├─ span retrieve docs 0.40 s"), "{}", s.flow);
        assert!(lines[3].starts_with("      ├─ generation [gpt-4o-mini] 1.20 s 30→12 tokens $0.0004"), "{}", s.flow);
        assert_eq!(lines[4], "      │  └─ tool call lookup_order", "{}", s.flow);
        assert!(lines[5].starts_with("      ├─ span lookup_order 0.30 s"), "{}", s.flow);
        assert!(lines[6].starts_with("      └─ generation [gpt-4o-mini]"), "{}", s.flow);
        assert_eq!(s.bullets[0], "Asked: Where is order 42?");
        assert_eq!(
            s.bullets[1],
            "Ran: 2 generations (gpt-4o-mini ×2); 3 spans (agent, retrieve docs, lookup_order); tools lookup_order"
        );
        assert_eq!(s.bullets[2], "Ended: answered, 5.00 s, 84 tokens, $0.0008");
        // The first generation called a tool and said nothing: not an "empty answer".
        assert!(s.notes.is_empty(), "{:?}", s.notes);
    }

    #[test]
    fn one_generation_is_a_trace_of_one_step() {
        let g = generation("g", 1_000.0, "  How do I\n reset   my password? Thanks!", "Use the link.");
        let s = summarize(&[g], "t");
        assert_eq!(s.title, "How do I reset my password?");
        assert_eq!(s.flow, "└─ generation [gpt-4o-mini] 1.20 s 30→12 tokens $0.0004");
        assert_eq!(s.bullets.len(), 3);
        assert!(s.notes.is_empty());
    }

    #[test]
    fn errors_slow_costly_empty_refused_and_private_steps_are_noted() {
        let mut failed = generation("a", 1_000.0, "q", "x");
        failed.is_error = Some(true);
        failed.error = Some("rate limited <script>".into());
        let mut slow = generation("b", 40_000.0, "q", "fine");
        slow.latency_s = Some(31.0);
        let mut dear = generation("c", 41_000.0, "q", "fine");
        dear.cost_usd = Some(0.5);
        let empty = generation("d", 42_000.0, "q", "   ");
        let mut refused = generation("e", 43_000.0, "q", "");
        refused.output = Some(json!([{"role": "assistant", "content": null, "refusal": "I cannot help with that."}]));
        let sorry = generation("f", 44_000.0, "q", "I'm sorry, but I can't help with that request.");
        let mut private = generation("g", 45_000.0, "q", "");
        private.input = None;
        private.output = None;
        let s = summarize(&[failed, slow, dear, empty, refused, sorry, private], "t");
        let notes = s.notes.join("\n");
        for expected in [
            "Error in generation gpt-4o-mini: rate limited <script>",
            "Slow: generation gpt-4o-mini took 31.0 s",
            "Costly: generation gpt-4o-mini cost $0.5000",
            "Empty answer from generation gpt-4o-mini",
            "Refused by generation gpt-4o-mini",
            "generation gpt-4o-mini: content not captured (privacy mode)",
        ] {
            assert!(notes.contains(expected), "missing {expected:?} in\n{notes}");
        }
        assert_eq!(notes.matches("Refused by").count(), 2, "{notes}");
        assert!(s.bullets.last().unwrap().starts_with("Ended: with 1 error"), "{:?}", s.bullets);
    }

    #[test]
    fn missing_parents_and_cycles_become_roots() {
        let mut a = step("a", "$ai_span", 1.0);
        a.span_id = Some("A".into());
        a.parent_id = Some("B".into());
        let mut b = step("b", "$ai_span", 2.0);
        b.span_id = Some("B".into());
        b.parent_id = Some("A".into());
        let mut c = step("c", "$ai_span", 3.0);
        c.parent_id = Some("nowhere".into());
        let mut d = step("d", "$ai_span", 4.0);
        d.span_id = Some("D".into());
        d.parent_id = Some("D".into()); // its own parent
        let steps = vec![a, b, c, d];
        let tree = Tree::of(&steps, "t");
        assert_eq!((tree.cycles, tree.orphans), (1, 1));
        assert_eq!(tree.walk().len(), 4, "every step drawn once");
        let s = summarize(&steps, "t");
        assert_eq!(s.flow.lines().count(), 4);
        assert!(s.notes.iter().any(|n| n == "1 step whose parent is not in the trace"), "{:?}", s.notes);
        assert!(s.notes.iter().any(|n| n.contains("parent cycle")), "{:?}", s.notes);
        assert_eq!(s.title, "Trace t");
    }

    #[test]
    fn thousands_of_steps_are_counted_not_drawn() {
        let mut steps: Vec<Step> = (0..5_000).map(|i| step(&format!("s{i}"), "$ai_span", f64::from(i))).collect();
        // A chain 5,000 deep: no recursion to overflow.
        for (i, s) in steps.iter_mut().enumerate() {
            s.span_id = Some(format!("S{i}"));
            s.parent_id = (i > 0).then(|| format!("S{}", i - 1));
        }
        let s = summarize(&steps, "t");
        assert_eq!(s.flow.lines().count(), MAX_FLOW_LINES + 1);
        assert_eq!(s.flow.lines().last(), Some("… 4800 more steps"));
        assert_eq!(Tree::of(&steps, "t").walk().last().map(|w| w.1), Some(4_999));
    }

    #[test]
    fn steps_without_timestamps_or_content() {
        let steps = vec![
            Step { timestamp_ms: None, ..generation("a", 0.0, "late", "ok") },
            Step { uuid: "b".into(), event: "$ai_embedding".into(), ..Step::default() },
        ];
        let s = summarize(&steps, "t");
        assert_eq!(s.title, "late");
        assert_eq!(s.flow.lines().count(), 2);
        let timeline = serde_json::to_value(timeline_json(&steps, "t", 100, usize::MAX)).unwrap();
        assert_eq!(timeline["steps"].as_array().map(Vec::len), Some(2));
        assert!(timeline["steps"][1]["start"].is_null());
    }

    #[test]
    fn timeline_rows_are_relative_and_texts_folded() {
        let mut steps = agent();
        steps[5].output = Some(json!("x".repeat(50_000)));
        let t = serde_json::to_value(timeline_json(&steps, "t1", 1_000, usize::MAX)).unwrap();
        let rows = t["steps"].as_array().unwrap();
        assert_eq!(rows.len(), 6);
        // From the trace's start (6,000 - 5,000 ms) to the last capture (6,000).
        assert_eq!(t["span"], json!(5_000.0));
        assert_eq!(rows[0]["kind"], "trace");
        assert_eq!(rows[3]["tools"], json!(["lookup_order"]));
        let out = &rows[5]["output"];
        assert_eq!((out["text"].as_str().map(str::len), out["chars"].as_i64()), (Some(1_000), Some(50_000)));
        assert!(rows.iter().all(|r| r["start"].as_f64().is_some_and(|s| s >= 0.0)));
    }

    #[test]
    fn the_compact_rendering_holds_request_facts_steps_and_answer() {
        let steps = agent();
        let s = summarize(&steps, "t1");
        let r = compact_rendering(&steps, &s, 10_000);
        assert!(r.starts_with("Request: Where is order 42?\nFacts:\n- Asked: Where is order 42?"), "{r}");
        assert!(
            r.contains("tool call lookup_order") && r.ends_with("Final answer: assistant: It shipped yesterday."),
            "{r}"
        );
        assert_eq!(compact_rendering(&steps, &s, 50).chars().count(), 50);
    }

    #[test]
    fn non_finite_and_huge_numbers_are_read_as_absent() {
        let mut steps = agent();
        steps[1].latency_s = Some(f64::NAN);
        steps[2].latency_s = Some(f64::INFINITY);
        steps[3].cost_usd = Some(f64::NEG_INFINITY);
        steps[3].timestamp_ms = Some(f64::NAN);
        steps[4].input_tokens = Some(i64::MAX);
        steps[4].output_tokens = Some(i64::MAX);
        steps[1].cost_usd = Some(f64::MAX);
        steps[2].cost_usd = Some(f64::MAX);
        let summary = summarize(&steps, "t1");
        let all = format!("{} {} {}", summary.bullets.join(" "), summary.notes.join(" "), summary.flow);
        assert!(!all.contains("NaN") && !all.contains("inf"), "{all}");
        assert!(all.contains(&format!("{} tokens", i64::MAX)), "saturated: {all}");
        let timeline = timeline_json(&steps, "t1", 100, usize::MAX);
        assert!(timeline.span.is_finite());
        for row in &timeline.steps {
            assert!(row.start.is_none_or(f64::is_finite) && row.duration.is_none_or(f64::is_finite), "{row:?}");
            assert!(row.cost.is_none_or(f64::is_finite), "{row:?}");
        }
    }

    #[test]
    fn a_trace_event_with_a_parent_is_still_the_top() {
        let steps = vec![
            Step { parent_id: Some("b".into()), ..step("u0", "$ai_trace", 1.0) },
            Step { span_id: Some("b".into()), ..step("u1", "$ai_span", 2.0) },
        ];
        let tree = Tree::of(&steps, "t");
        assert_eq!(tree.walk(), vec![(0, 0), (1, 1)], "both drawn, the trace on top");
    }

    #[test]
    fn summaries_of_hostile_text_are_clean() {
        let steps = vec![generation("a", 1.0, "refund \u{202E}gnp.exe\u{202C} please\u{0007}", "ok")];
        let summary = summarize(&steps, "t");
        assert_eq!(summary.title, "refund gnp.exe please");
        assert!(summary.bullets.iter().all(|b| !b.contains(['\u{202E}', '\u{0007}'])), "{:?}", summary.bullets);
    }

    #[test]
    fn shorten_cuts_at_a_word() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("the quick brown fox jumps over", 20), "the quick brown…");
        assert_eq!(shorten("ééééééééééé", 5), "éééé…");
    }
}
