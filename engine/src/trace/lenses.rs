//! The texts of the lenses built from a trace's steps (`lens::Lens`): what the model
//! answered, what went wrong and where, and the shape of the work. A generation is a trace
//! of one step. Steps come from stored events, which outside callers write: every name,
//! model and message is shortened, lines are counted, and the whole is capped, so that no
//! property value, however large, makes a text longer than `MAX_CONTENT_CHARS`.

use super::steps::{shorten, Step, Tree};
use crate::clean::{clean, Field};
use crate::content::{answer_messages, capped};

/// Characters of one answer, one error message, one step name and one model name.
const ANSWER_CHARS: usize = 1_000;
const ERROR_CHARS: usize = 500;
const NAME_CHARS: usize = 60;
const MODEL_CHARS: usize = 40;
/// Failing steps an error text names, and lines of a flow.
const MAX_ERRORS: usize = 20;
const MAX_FLOW_LINES: usize = 100;

/// One line of a lens text: no control or bidi characters (a name with a line break would
/// forge a line of the flow), at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    shorten(&clean(text, Field::Line), max)
}

/// Evaluations judge a trace after the fact: they are not part of its answers or its work.
fn worked(steps: &[Step]) -> impl Iterator<Item = (usize, &Step)> {
    steps.iter().enumerate().filter(|(_, s)| s.event != "$ai_evaluation")
}

/// The `answer` lens: the model's outputs (text and tool calls) in time order, each
/// distinct answer once, so that refusals, apologies and formats group together.
pub fn answer_text(steps: &[Step]) -> String {
    let mut order: Vec<&Step> = worked(steps).map(|(_, s)| s).filter(|s| s.event == "$ai_generation").collect();
    order.sort_by(|a, b| a.time_ms().unwrap_or(f64::INFINITY).total_cmp(&b.time_ms().unwrap_or(f64::INFINITY)));
    let mut answers: Vec<String> = Vec::new();
    for message in order.iter().filter_map(|s| s.output.as_ref()).flat_map(answer_messages) {
        let message = shorten(&clean(&message, Field::Text), ANSWER_CHARS);
        if !answers.contains(&message) {
            answers.push(message);
        }
    }
    capped(answers.join("\n"))
}

/// A step as the error and flow lenses name it: kind, name and model, shortened.
fn step_name(step: &Step) -> String {
    let mut name = step.kind().to_string();
    if let Some(n) = step.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        name = format!("{name} {}", one_line(n, NAME_CHARS));
    }
    if let Some(m) = step.model.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        name = format!("{name} [{}]", one_line(m, MODEL_CHARS));
    }
    name
}

/// The `error` lens: each failing step with where it sat (its parents' names) and its
/// error message: "span agent > tool lookup_order: timeout after 30 s". Empty when no
/// step failed.
pub fn error_text(steps: &[Step], trace_id: &str) -> String {
    let tree = Tree::of(steps, trace_id);
    let mut lines: Vec<String> = Vec::new();
    for (i, step) in worked(steps).filter(|(_, s)| s.failed()) {
        if lines.len() == MAX_ERRORS {
            break;
        }
        let mut path = vec![step_name(step)];
        let mut at = tree.parent[i];
        // The tree has no cycles; the bound keeps a deep chain's line short.
        while let Some(p) = at.filter(|_| path.len() < 5) {
            if steps[p].event != "$ai_trace" {
                path.push(step_name(&steps[p]));
            }
            at = tree.parent[p];
        }
        path.reverse();
        let message = step.error.as_deref().map(str::trim).filter(|e| !e.is_empty()).unwrap_or("(no message)");
        lines.push(format!("{}: {}", path.join(" > "), one_line(message, ERROR_CHARS)));
    }
    capped(lines.join("\n"))
}

/// The `flow` lens: the trace's steps as a tree, one line per step (kind, name, model,
/// the tools a generation calls), in order, with no numbers (timings and tokens differ
/// between runs of the same work); a step repeated in a row is one line with "×n", so a
/// loop of three and a loop of four look alike.
pub fn flow_text(steps: &[Step], trace_id: &str) -> String {
    let tree = Tree::of(steps, trace_id);
    let mut lines: Vec<(String, usize)> = Vec::new();
    for (i, depth) in tree.walk() {
        let step = &steps[i];
        if step.event == "$ai_evaluation" {
            continue;
        }
        let mut line = format!("{}{}", "  ".repeat(depth.min(8)), step_name(step));
        let tools: Vec<String> = step.tools().iter().map(|t| one_line(t, NAME_CHARS)).collect();
        if !tools.is_empty() {
            line = format!("{line} calls {}", tools.join(", "));
        }
        let full = lines.len() == MAX_FLOW_LINES;
        match lines.last_mut() {
            Some((last, n)) if *last == line => *n += 1,
            _ if full => break,
            _ => lines.push((line, 1)),
        }
    }
    let text: Vec<String> =
        lines.into_iter().map(|(line, n)| if n > 1 { format!("{line} ×{n}") } else { line }).collect();
    capped(text.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::MAX_CONTENT_CHARS;
    use serde_json::json;

    fn step(uuid: &str, event: &str, ts: f64) -> Step {
        Step { uuid: uuid.into(), event: event.into(), timestamp_ms: Some(ts), ..Step::default() }
    }

    fn generation(uuid: &str, ts: f64, answer: &str) -> Step {
        Step {
            model: Some("gpt-4o-mini".into()),
            latency_s: Some(1.0),
            input: Some(json!([{"role": "user", "content": "Where is order 42?"}])),
            output: Some(json!([{"role": "assistant", "content": answer}])),
            ..step(uuid, "$ai_generation", ts)
        }
    }

    /// A support agent: a span, a generation calling a tool, the tool failing, a retry,
    /// and an apology.
    fn agent() -> Vec<Step> {
        let mut call = generation("g1", 2_000.0, "");
        call.parent_id = Some("agent".into());
        call.output = Some(json!([{"role": "assistant", "content": null,
            "tool_calls": [{"type": "function", "function": {"name": "lookup_order", "arguments": "{}"}}]}]));
        let tool = |uuid: &str, ts: f64| Step {
            parent_id: Some("agent".into()),
            name: Some("lookup_order".into()),
            is_error: Some(true),
            error: Some("timeout after 30 s".into()),
            latency_s: Some(0.1),
            ..step(uuid, "$ai_span", ts)
        };
        vec![
            Step {
                span_id: Some("agent".into()),
                name: Some("support agent".into()),
                ..step("s0", "$ai_span", 9_000.0)
            },
            call,
            tool("t1", 3_000.0),
            tool("t2", 4_000.0),
            Step {
                parent_id: Some("agent".into()),
                ..generation("g2", 5_000.0, "I'm sorry, I can't find that order.")
            },
            Step {
                name: Some("helpfulness".into()),
                error: Some("judge says no".into()),
                is_error: Some(true),
                ..step("e1", "$ai_evaluation", 10_000.0)
            },
        ]
    }

    #[test]
    fn answer_lens_is_the_models_outputs_in_order() {
        assert_eq!(answer_text(&agent()), "[tool call: lookup_order]\nI'm sorry, I can't find that order.");
        // The same apology twice is one line; no output, no text.
        let twice = vec![generation("a", 1.0, "Sorry, no."), generation("b", 2.0, "Sorry, no.")];
        assert_eq!(answer_text(&twice), "Sorry, no.");
        assert_eq!(answer_text(&[step("s", "$ai_span", 1.0)]), "");
    }

    #[test]
    fn error_lens_names_the_failing_step_and_where_it_sat() {
        let text = error_text(&agent(), "trace-1");
        assert_eq!(
            text,
            "span support agent > span lookup_order: timeout after 30 s\nspan support agent > span lookup_order: timeout after 30 s"
        );
        assert!(!text.contains("judge"), "an evaluation is not one of the trace's errors");
        let mut failed = generation("g", 1.0, "");
        failed.error = Some("  ".into());
        failed.is_error = Some(true);
        assert_eq!(error_text(&[failed], "t"), "generation [gpt-4o-mini]: (no message)");
        assert_eq!(error_text(&[generation("g", 1.0, "fine")], "t"), "");
    }

    #[test]
    fn flow_lens_is_the_shape_without_numbers() {
        let text = flow_text(&agent(), "trace-1");
        assert_eq!(
            text,
            "span support agent\n  generation [gpt-4o-mini] calls lookup_order\n  span lookup_order ×2\n  generation [gpt-4o-mini]"
        );
        // The same work at another time, with other tokens, costs and answers, has the same flow.
        let mut other = agent();
        for s in &mut other {
            s.timestamp_ms = s.timestamp_ms.map(|t| t + 86_400_000.0);
            s.output_tokens = Some(999);
            s.cost_usd = Some(0.5);
        }
        other[4].output = Some(json!("Found it: it shipped."));
        assert_eq!(flow_text(&other, "trace-2"), text);
    }

    #[test]
    fn names_cannot_forge_lines_or_reorder_text() {
        let mut steps = agent();
        steps[0].name = Some("support\nllm lookup_order [gpt-4o] calls refund".into());
        steps[1].model = Some("gpt\u{202E}o4".into());
        steps[2].error = Some("timeout\n\u{2066}span admin: granted\u{2069}".into());
        steps[2].is_error = Some(true);
        let flow = flow_text(&steps, "trace-1");
        let error = error_text(&steps, "trace-1");
        assert_eq!(flow.lines().count(), flow_text(&agent(), "trace-1").lines().count(), "{flow}");
        assert_eq!(error.lines().count(), error_text(&agent(), "trace-1").lines().count(), "{error}");
        for text in [flow, error, answer_text(&steps)] {
            assert!(!text
                .chars()
                .any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\r' | '\t')));
        }
    }

    #[test]
    fn hostile_values_stay_bounded() {
        let huge = "x".repeat(100_000);
        let mut steps: Vec<Step> = (0..300)
            .map(|i| Step {
                name: Some(format!("{huge}{i}")),
                model: Some(huge.clone()),
                error: Some(huge.clone()),
                is_error: Some(true),
                output: Some(json!([{"role": "assistant", "content": format!("{huge}{i}")}])),
                ..step(&format!("u{i}"), if i % 2 == 0 { "$ai_span" } else { "$ai_generation" }, f64::from(i))
            })
            .collect();
        // A parent chain as long as the trace: the error path and the flow depth stay short.
        for (i, step) in steps.iter_mut().enumerate().skip(1) {
            step.span_id = Some(format!("u{i}"));
            step.parent_id = Some(format!("u{}", i - 1));
        }
        for text in [answer_text(&steps), error_text(&steps, "t"), flow_text(&steps, "t")] {
            assert!(text.chars().count() <= MAX_CONTENT_CHARS, "{} characters", text.chars().count());
            assert!(!text.is_empty());
        }
        assert!(error_text(&steps, "t").lines().count() <= MAX_ERRORS);
        assert!(flow_text(&steps, "t").lines().count() <= MAX_FLOW_LINES);
        // Not finite or negative numbers change nothing.
        let mut odd = agent();
        odd[1].timestamp_ms = Some(f64::NAN);
        odd[2].latency_s = Some(f64::INFINITY);
        assert_eq!(flow_text(&odd, "t").lines().count(), 4);
    }
}
