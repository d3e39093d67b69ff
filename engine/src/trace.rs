//! A trace as a tree of steps, its offline summary (title, flow diagram, bullets, notes)
//! and the data of its timeline page. Pure: events in, text and JSON out.
//!
//! Steps nest by `$ai_parent_id`: a step's parent is the step whose `$ai_span_id` (or
//! uuid) it names. A parent that is not in the trace, the trace id itself, or a parent
//! that would close a cycle makes the step a root. Siblings are in time order.

use crate::clean::{clean, Field};
use crate::content::{latest_request, tool_call_names, MAX_DEPTH};
use crate::stats::median;
use serde_json::Value;

/// One event of a trace, as the timeline and the summary need it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Step {
    pub uuid: String,
    /// `$ai_generation`, `$ai_span`, `$ai_trace`, `$ai_embedding`.
    pub event: String,
    /// When the event was captured, in ms since the epoch (SDKs send it when the call ends).
    pub timestamp_ms: Option<f64>,
    pub span_id: Option<String>,
    pub parent_id: Option<String>,
    pub name: Option<String>,
    pub model: Option<String>,
    pub latency_s: Option<f64>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cost_usd: Option<f64>,
    pub is_error: Option<bool>,
    pub error: Option<String>,
    pub input: Option<Value>,
    pub output: Option<Value>,
}

impl Step {
    fn id(&self) -> &str {
        self.span_id.as_deref().unwrap_or(&self.uuid)
    }

    fn failed(&self) -> bool {
        self.is_error == Some(true) || (self.is_error.is_none() && self.error.is_some())
    }

    fn kind(&self) -> &str {
        self.event.strip_prefix("$ai_").unwrap_or(&self.event)
    }

    // The numbers come from stored events, whose columns any writer of the table may fill:
    // a non-finite or negative one is read as absent, so that no sum, median or position
    // becomes NaN or infinite.

    /// The capture time, in ms, when finite.
    fn time_ms(&self) -> Option<f64> {
        self.timestamp_ms.filter(|t| t.is_finite())
    }

    /// The latency in seconds, when finite and not negative.
    fn latency(&self) -> Option<f64> {
        self.latency_s.filter(|l| l.is_finite() && *l >= 0.0)
    }

    /// The cost in USD, when finite and not negative.
    fn cost(&self) -> Option<f64> {
        self.cost_usd.filter(|c| c.is_finite() && *c >= 0.0)
    }

    /// Tokens in and out, negative counts read as none.
    fn tokens(&self) -> i64 {
        self.input_tokens.unwrap_or(0).max(0).saturating_add(self.output_tokens.unwrap_or(0).max(0))
    }

    /// Start, in ms: the capture time minus the latency, when finite.
    fn start_ms(&self) -> Option<f64> {
        self.time_ms().map(|t| t - self.latency().unwrap_or(0.0) * 1000.0).filter(|t| t.is_finite())
    }

    fn tools(&self) -> Vec<String> {
        self.output.as_ref().map(tool_call_names).unwrap_or_default()
    }

    /// One line: kind, name, model, latency, tokens, cost, error.
    fn label(&self) -> String {
        let mut parts = vec![self.kind().to_string()];
        if let Some(name) = self.name.as_deref().filter(|n| !n.is_empty()) {
            parts.push(shorten(name, 60));
        }
        if let Some(model) = self.model.as_deref().filter(|m| !m.is_empty()) {
            parts.push(format!("[{}]", shorten(model, 40)));
        }
        if let Some(s) = self.latency() {
            parts.push(seconds(s));
        }
        match (self.input_tokens, self.output_tokens) {
            (Some(i), Some(o)) => parts.push(format!("{i}→{o} tokens")),
            (Some(i), None) => parts.push(format!("{i} tokens in")),
            (None, Some(o)) => parts.push(format!("{o} tokens out")),
            (None, None) => {}
        }
        if let Some(c) = self.cost() {
            parts.push(format!("${c:.4}"));
        }
        if self.failed() {
            parts.push(format!("ERROR {}", shorten(self.error.as_deref().unwrap_or("(no message)"), 80)));
        }
        parts.join(" ")
    }
}

/// The steps of a trace as a forest: the parent of each step (by index) and the roots,
/// children in time order.
pub struct Tree {
    pub parent: Vec<Option<usize>>,
    pub children: Vec<Vec<usize>>,
    pub roots: Vec<usize>,
    /// Steps whose `$ai_parent_id` named a step that is not in the trace.
    pub orphans: usize,
    /// Steps made roots because their parent chain came back to them.
    pub cycles: usize,
}

impl Tree {
    pub fn of(steps: &[Step], trace_id: &str) -> Tree {
        let n = steps.len();
        let mut by_id = std::collections::HashMap::new();
        for (i, s) in steps.iter().enumerate() {
            by_id.entry(s.id()).or_insert(i);
        }
        let mut orphans = 0;
        let mut parent: Vec<Option<usize>> = steps
            .iter()
            .enumerate()
            .map(|(i, s)| match s.parent_id.as_deref() {
                None => None,
                Some(p) if p == trace_id || p.is_empty() => None,
                Some(p) => match by_id.get(p) {
                    Some(&j) if j != i => Some(j),
                    Some(_) => None,
                    None => {
                        orphans += 1;
                        None
                    }
                },
            })
            .collect();
        // A `$ai_trace` event is the container of the other roots, so a root itself: were it
        // below one of them, attaching that one to it would close a loop and draw neither.
        let trace_root = steps.iter().position(|s| s.event == "$ai_trace");
        if let Some(t) = trace_root {
            parent[t] = None;
        }
        // Break cycles: walk up from each step; meeting a step of the current walk again
        // means a loop, cut where it closes.
        let mut cycles = 0;
        let mut state = vec![0u8; n]; // 0 unseen, 1 on the current walk, 2 done
        for start in 0..n {
            let mut path = Vec::new();
            let mut at = Some(start);
            while let Some(i) = at {
                match state[i] {
                    2 => break,
                    1 => {
                        let last = *path.last().unwrap_or(&i);
                        parent[last] = None;
                        cycles += 1;
                        break;
                    }
                    _ => {
                        state[i] = 1;
                        path.push(i);
                        at = parent[i];
                    }
                }
            }
            path.into_iter().for_each(|i| state[i] = 2);
        }
        if let Some(t) = trace_root {
            for (i, p) in parent.iter_mut().enumerate() {
                if i != t && p.is_none() {
                    *p = Some(t);
                }
            }
        }
        let mut children = vec![Vec::new(); n];
        let mut roots = Vec::new();
        for (i, p) in parent.iter().enumerate() {
            match p {
                Some(p) => children[*p].push(i),
                None => roots.push(i),
            }
        }
        let order = |list: &mut Vec<usize>| {
            list.sort_by(|&a, &b| {
                let key = |i: usize| steps[i].start_ms().unwrap_or(f64::INFINITY);
                key(a).total_cmp(&key(b)).then(a.cmp(&b))
            })
        };
        children.iter_mut().for_each(order);
        order(&mut roots);
        Tree { parent, children, roots, orphans, cycles }
    }

    /// Steps in display order with their depth (a depth-first walk).
    pub fn walk(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::with_capacity(self.parent.len());
        let mut stack: Vec<(usize, usize)> = self.roots.iter().rev().map(|&r| (r, 0)).collect();
        while let Some((i, depth)) = stack.pop() {
            out.push((i, depth));
            stack.extend(self.children[i].iter().rev().map(|&c| (c, depth + 1)));
        }
        out
    }
}

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

fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
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

/// At most `max` characters, cut at a word when one ends near, with an ellipsis.
pub fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let at_word = match cut.rfind(' ') {
        Some(i) if i > cut.len() * 2 / 3 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end_matches([',', ';', ':', ' ']))
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
