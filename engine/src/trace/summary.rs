//! The offline summary of a trace: title, flow diagram, bullets and notes, and the compact
//! rendering an AI summary is written from.

use super::steps::{seconds, shorten, Step, Tree};
use crate::clean::{clean, Field};
use crate::content::{latest_request, MAX_DEPTH};
use crate::stats::median;
use serde_json::Value;

/// An item's summary, as `llm_clusters.item_summaries` stores it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    pub title: String,
    pub flow: String,
    pub bullets: Vec<String>,
    pub notes: Vec<String>,
}

/// Lines of a flow diagram before the rest is counted instead of drawn.
pub const MAX_FLOW_LINES: usize = 200;

/// The offline summary of a trace (or of one generation: a trace of one step).
pub fn summarize(steps: &[Step], trace_id: &str) -> Summary {
    let tree = Tree::of(steps, trace_id);
    let order = tree.walk();
    let generations: Vec<&Step> =
        order.iter().map(|&(i, _)| &steps[i]).filter(|s| s.event == "$ai_generation").collect();
    let request = generations.iter().find_map(|g| latest_request(g.input.as_ref()));
    let title = match &request {
        Some(r) => shorten(&clean_request(r), 80),
        None => steps
            .iter()
            .find_map(|s| s.name.clone().filter(|n| !n.is_empty()))
            .map(|n| shorten(&n, 80))
            .unwrap_or_else(|| format!("Trace {}", shorten(trace_id, 40))),
    };
    // Requests, names and errors are the events' own text: cleaned as AI summaries are.
    let lines = |lines: Vec<String>| lines.iter().map(|l| clean(l, Field::Line)).collect();
    Summary {
        title: clean(&title, Field::Title),
        flow: flow(steps, &tree, &order),
        bullets: lines(bullets(steps, &generations, request.as_deref())),
        notes: lines(notes(steps, &tree)),
    }
}

fn flow(steps: &[Step], tree: &Tree, order: &[(usize, usize)]) -> String {
    let mut lines = Vec::new();
    // Whether each ancestor level still has siblings below (for the vertical bars).
    let mut open: Vec<bool> = Vec::new();
    for (k, &(i, depth)) in order.iter().enumerate() {
        if lines.len() == MAX_FLOW_LINES {
            lines.push(format!("… {} more steps", order.len() - k));
            break;
        }
        open.truncate(depth);
        let last = is_last_sibling(tree, i);
        let bars: String = open.iter().map(|&bar| if bar { "│  " } else { "   " }).collect();
        lines.push(format!("{bars}{}{}", if last { "└─ " } else { "├─ " }, steps[i].label()));
        let tools = steps[i].tools();
        for (t, tool) in tools.iter().enumerate() {
            let more = t + 1 < tools.len() || !tree.children[i].is_empty();
            lines.push(format!(
                "{bars}{}{}tool call {}",
                if last { "   " } else { "│  " },
                if more { "├─ " } else { "└─ " },
                shorten(tool, 60)
            ));
        }
        open.push(!last);
    }
    lines.join("\n")
}

fn is_last_sibling(tree: &Tree, i: usize) -> bool {
    let siblings = match tree.parent[i] {
        Some(p) => &tree.children[p],
        None => &tree.roots,
    };
    siblings.last() == Some(&i)
}

fn bullets(steps: &[Step], generations: &[&Step], request: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = request {
        out.push(format!("Asked: {}", shorten(&clean_request(r), 160)));
    }
    let mut models: Vec<(String, usize)> = Vec::new();
    for g in generations {
        let m = g.model.clone().unwrap_or_else(|| "unknown model".into());
        match models.iter_mut().find(|(name, _)| *name == m) {
            Some((_, n)) => *n += 1,
            None => models.push((m, 1)),
        }
    }
    let tools: Vec<String> = dedup(steps.iter().flat_map(Step::tools).collect());
    let spans: Vec<String> =
        dedup(steps.iter().filter(|s| s.event == "$ai_span").filter_map(|s| s.name.clone()).collect());
    let mut ran = Vec::new();
    if !generations.is_empty() {
        let list: Vec<String> =
            models.iter().map(|(m, n)| if *n > 1 { format!("{m} ×{n}") } else { m.clone() }).collect();
        ran.push(format!("{} ({})", plural(generations.len(), "generation"), list.join(", ")));
    }
    let n_spans = steps.iter().filter(|s| s.event == "$ai_span").count();
    if n_spans > 0 {
        let names = if spans.is_empty() { String::new() } else { format!(" ({})", shorten(&spans.join(", "), 100)) };
        ran.push(format!("{}{names}", plural(n_spans, "span")));
    }
    if !tools.is_empty() {
        ran.push(format!("tools {}", shorten(&tools.join(", "), 100)));
    }
    let n_embeddings = steps.iter().filter(|s| s.event == "$ai_embedding").count();
    if n_embeddings > 0 {
        ran.push(plural(n_embeddings, "embedding"));
    }
    if !ran.is_empty() {
        out.push(format!("Ran: {}", ran.join("; ")));
    }
    let errors = steps.iter().filter(|s| s.failed()).count();
    let total_s = duration_s(steps);
    let tokens: i64 = steps.iter().map(Step::tokens).fold(0, i64::saturating_add);
    let cost: f64 = steps.iter().filter_map(Step::cost).sum::<f64>().min(f64::MAX);
    let mut facts = Vec::new();
    if let Some(t) = total_s {
        facts.push(seconds(t));
    }
    if tokens > 0 {
        facts.push(format!("{tokens} tokens"));
    }
    if cost > 0.0 {
        facts.push(format!("${cost:.4}"));
    }
    let last_answer = generations.last().map(|g| answer_state(g));
    let ended = match (errors, last_answer) {
        (0, Some(Answer::Text)) | (0, None) => "Ended: answered".to_string(),
        (0, Some(Answer::NotCaptured)) => "Ended: answered (content not captured)".to_string(),
        (0, Some(Answer::Empty)) => "Ended: with an empty answer".to_string(),
        (0, Some(Answer::Refused)) => "Ended: the model refused".to_string(),
        (n, _) => format!("Ended: with {}", plural(n, "error")),
    };
    out.push(if facts.is_empty() { ended } else { format!("{ended}, {}", facts.join(", ")) });
    out
}

fn notes(steps: &[Step], tree: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    for s in steps.iter().filter(|s| s.failed()) {
        out.push(format!("Error in {}: {}", step_name(s), shorten(s.error.as_deref().unwrap_or("(no message)"), 160)));
    }
    // Steps that hold others (a trace, an agent span) last as long as their children: only
    // the leaves are compared.
    let leaves: Vec<&Step> = steps
        .iter()
        .enumerate()
        .filter(|(i, s)| tree.children[*i].is_empty() && s.event != "$ai_trace")
        .map(|(_, s)| s)
        .collect();
    let latencies: Vec<f64> = leaves.iter().filter_map(|s| s.latency()).collect();
    let costs: Vec<f64> = leaves.iter().filter_map(|s| s.cost()).collect();
    // Both are finite (`Step::latency`, `Step::cost`).
    let median_latency = median(&mut latencies.clone()).unwrap_or(0.0);
    let median_cost = median(&mut costs.clone()).unwrap_or(0.0);
    for s in leaves {
        if let Some(l) = s.latency() {
            let relative = latencies.len() >= 3 && l >= 2.0 && l >= 3.0 * median_latency;
            if l >= SLOW_S || relative {
                out.push(format!("Slow: {} took {}", step_name(s), seconds(l)));
            }
        }
        if let Some(c) = s.cost() {
            let relative = costs.len() >= 3 && c >= 0.01 && c >= 3.0 * median_cost;
            if c >= COSTLY_USD || relative {
                out.push(format!("Costly: {} cost ${c:.4}", step_name(s)));
            }
        }
    }
    for s in steps.iter().filter(|s| s.event == "$ai_generation") {
        match answer_state(s) {
            Answer::Empty => out.push(format!("Empty answer from {}", step_name(s))),
            Answer::Refused => out.push(format!("Refused by {}", step_name(s))),
            Answer::NotCaptured if s.input.is_none() => {
                out.push(format!("{}: content not captured (privacy mode)", step_name(s)))
            }
            _ => {}
        }
    }
    if tree.orphans > 0 {
        out.push(format!("{} whose parent is not in the trace", plural(tree.orphans, "step")));
    }
    if tree.cycles > 0 {
        out.push(format!("{} in a parent cycle, shown at the top level", plural(tree.cycles, "step")));
    }
    if out.len() > MAX_NOTES {
        let more = out.len() - MAX_NOTES + 1;
        out.truncate(MAX_NOTES - 1);
        out.push(format!("… and {more} more notes"));
    }
    out
}

/// A step slower than this, or dearer, is always noted; below it, when it is 3 times the
/// trace's median step (and at least 2 s or $0.01).
pub const SLOW_S: f64 = 20.0;
pub const COSTLY_USD: f64 = 0.10;
const MAX_NOTES: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    Text,
    Empty,
    Refused,
    NotCaptured,
}

fn answer_state(g: &Step) -> Answer {
    let Some(output) = g.output.as_ref().filter(|o| !o.is_null()) else { return Answer::NotCaptured };
    if refusal_field(output, 0) {
        return Answer::Refused;
    }
    let text = crate::content::readable_text(None, Some(output));
    let text = text.trim_start_matches("assistant:").trim();
    if text.is_empty() {
        return Answer::Empty;
    }
    let lower = text.to_lowercase();
    if REFUSALS.iter().any(|r| lower.starts_with(r)) {
        return Answer::Refused;
    }
    Answer::Text
}

const REFUSALS: [&str; 6] = [
    "i'm sorry, but i can't",
    "i'm sorry, but i cannot",
    "i am sorry, but i cannot",
    "i can't help with",
    "i cannot help with",
    "i can't assist with",
];

fn refusal_field(output: &Value, depth: usize) -> bool {
    match output {
        _ if depth > MAX_DEPTH => false,
        Value::Array(items) => items.iter().any(|v| refusal_field(v, depth + 1)),
        Value::Object(obj) => {
            obj.get("refusal").is_some_and(|r| r.as_str().is_some_and(|s| !s.is_empty()))
                || obj.get("message").is_some_and(|v| refusal_field(v, depth + 1))
        }
        _ => false,
    }
}

fn step_name(s: &Step) -> String {
    let mut name = s.kind().to_string();
    if let Some(n) = s.name.as_deref().filter(|n| !n.is_empty()) {
        name.push_str(&format!(" \"{}\"", shorten(n, 40)));
    } else if let Some(m) = s.model.as_deref() {
        name.push_str(&format!(" {}", shorten(m, 40)));
    }
    name
}

/// The trace's wall time: first start to last end.
fn duration_s(steps: &[Step]) -> Option<f64> {
    let starts = steps.iter().filter_map(Step::start_ms);
    let ends = steps.iter().filter_map(Step::time_ms);
    let first = starts.fold(f64::INFINITY, f64::min);
    let last = ends.fold(f64::NEG_INFINITY, f64::max);
    (first.is_finite() && last.is_finite() && last > first).then(|| (last - first) / 1000.0).or_else(|| {
        let summed: f64 = steps.iter().filter(|s| s.event != "$ai_trace").filter_map(Step::latency).sum();
        (summed > 0.0 && summed.is_finite()).then_some(summed)
    })
}

fn dedup(mut items: Vec<String>) -> Vec<String> {
    let mut seen = Vec::new();
    items.retain(|i| {
        let new = !seen.contains(i);
        if new {
            seen.push(i.clone());
        }
        new
    });
    items
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The request as a title: one line, spaces collapsed, a trailing "thanks" dropped.
fn clean_request(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut t = collapsed.as_str();
    for tail in [" Thanks!", " Thanks.", " Thanks", " Thank you!", " Thank you.", " Thank you", " please", " Please"] {
        if let Some(stripped) = t.strip_suffix(tail) {
            t = stripped.trim_end_matches([',', ' ']);
        }
    }
    t.to_string()
}

/// What an AI summary is written from: the request, the offline facts and flow, and the
/// final answer, at most `max_chars`.
pub fn compact_rendering(steps: &[Step], summary: &Summary, max_chars: usize) -> String {
    let answer = steps
        .iter()
        .rev()
        .filter(|s| s.event == "$ai_generation")
        .find_map(|g| g.output.as_ref().map(|o| crate::content::readable_text(None, Some(o))))
        .unwrap_or_default();
    let mut text = format!("Request: {}\nFacts:\n", summary.title);
    for b in summary.bullets.iter().chain(summary.notes.iter()) {
        text.push_str(&format!("- {b}\n"));
    }
    text.push_str("Steps:\n");
    for line in summary.flow.lines().take(60) {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(&format!("Final answer: {}", shorten(&answer.replace('\n', " "), 1_000)));
    text.chars().take(max_chars).collect()
}
