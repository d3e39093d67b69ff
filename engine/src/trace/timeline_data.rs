//! The data of a trace's timeline, as the timeline page's script reads it.

use super::steps::{Step, Tree};
use serde_json::Value;

/// Characters of an input or output kept in a timeline; the rest is counted.
pub const TIMELINE_TEXT_CHARS: usize = 20_000;

/// The timeline of a trace as the page's script reads it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Timeline {
    pub trace: String,
    /// Milliseconds from the trace's start to its last capture.
    pub span: f64,
    /// In display order (the tree walked depth first, siblings by start time).
    pub steps: Vec<TimelineRow>,
}

/// One step of a timeline: its depth, start and duration relative to the trace's start,
/// and its texts.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineRow {
    pub id: String,
    pub depth: usize,
    pub kind: String,
    pub name: Option<String>,
    pub model: Option<String>,
    pub start: Option<f64>,
    pub duration: Option<f64>,
    pub in_tokens: Option<i64>,
    pub out_tokens: Option<i64>,
    pub cost: Option<f64>,
    pub error: Option<String>,
    pub tools: Vec<String>,
    pub input: Option<FoldedText>,
    pub output: Option<FoldedText>,
}

/// An input or output as text: at most the first N characters, and how many it had.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FoldedText {
    pub text: String,
    pub chars: usize,
}

/// The timeline of a trace's steps: inputs, outputs and errors at most `text_chars`
/// characters each and `total_chars` in all (a page's budget: its size must not grow with
/// what its steps hold); a text cut short keeps its full length (`chars`) to say so.
pub fn timeline_json(steps: &[Step], trace_id: &str, text_chars: usize, total_chars: usize) -> Timeline {
    let mut left = total_chars;
    let mut take = |value: &Value| {
        let text = folded(value, text_chars.min(left));
        left -= text.text.chars().count().min(left);
        text
    };
    let tree = Tree::of(steps, trace_id);
    let order = tree.walk();
    let t0 = steps.iter().filter_map(Step::start_ms).fold(f64::INFINITY, f64::min);
    let t1 = steps.iter().filter_map(Step::time_ms).fold(f64::NEG_INFINITY, f64::max);
    let span = Some(t1 - t0).filter(|d| d.is_finite() && *d > 0.0).unwrap_or(0.0);
    let rows = order
        .iter()
        .map(|&(i, depth)| {
            let s = &steps[i];
            TimelineRow {
                id: s.uuid.clone(),
                depth,
                kind: s.kind().to_string(),
                name: s.name.clone(),
                model: s.model.clone(),
                start: s.start_ms().map(|t| t - t0).filter(|d| d.is_finite()),
                duration: s.latency().map(|l| l * 1000.0).filter(|d| d.is_finite()),
                in_tokens: s.input_tokens,
                out_tokens: s.output_tokens,
                cost: s.cost(),
                error: s.failed().then(|| match &s.error {
                    Some(e) => take(&Value::String(e.clone())).text,
                    None => "(no message)".into(),
                }),
                tools: s.tools(),
                input: s.input.as_ref().map(&mut take),
                output: s.output.as_ref().map(&mut take),
            }
        })
        .collect();
    Timeline { trace: trace_id.to_string(), span, steps: rows }
}

/// A JSON value as indented text, at most `max` characters, with the full length.
fn folded(value: &Value, max: usize) -> FoldedText {
    let text = match value {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    };
    FoldedText { chars: text.chars().count(), text: text.chars().take(max).collect() }
}
