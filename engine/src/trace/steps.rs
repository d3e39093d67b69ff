//! A trace's steps (its events, as the summary and the timeline need them) and their tree.
//! Steps nest by `$ai_parent_id`: a step's parent is the step whose `$ai_span_id` (or
//! uuid) it names. A parent that is not in the trace, the trace id itself, or a parent
//! that would close a cycle makes the step a root. Siblings are in time order.

use crate::content::tool_call_names;
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
    pub(super) fn id(&self) -> &str {
        self.span_id.as_deref().unwrap_or(&self.uuid)
    }

    pub(super) fn failed(&self) -> bool {
        self.is_error == Some(true) || (self.is_error.is_none() && self.error.is_some())
    }

    pub(super) fn kind(&self) -> &str {
        self.event.strip_prefix("$ai_").unwrap_or(&self.event)
    }

    // The numbers come from stored events, whose columns any writer of the table may fill:
    // a non-finite or negative one is read as absent, so that no sum, median or position
    // becomes NaN or infinite.

    /// The capture time, in ms, when finite.
    pub(super) fn time_ms(&self) -> Option<f64> {
        self.timestamp_ms.filter(|t| t.is_finite())
    }

    /// The latency in seconds, when finite and not negative.
    pub(super) fn latency(&self) -> Option<f64> {
        self.latency_s.filter(|l| l.is_finite() && *l >= 0.0)
    }

    /// The cost in USD, when finite and not negative.
    pub(super) fn cost(&self) -> Option<f64> {
        self.cost_usd.filter(|c| c.is_finite() && *c >= 0.0)
    }

    /// Tokens in and out, negative counts read as none.
    pub(super) fn tokens(&self) -> i64 {
        self.input_tokens.unwrap_or(0).max(0).saturating_add(self.output_tokens.unwrap_or(0).max(0))
    }

    /// Start, in ms: the capture time minus the latency, when finite.
    pub(super) fn start_ms(&self) -> Option<f64> {
        self.time_ms().map(|t| t - self.latency().unwrap_or(0.0) * 1000.0).filter(|t| t.is_finite())
    }

    pub(super) fn tools(&self) -> Vec<String> {
        self.output.as_ref().map(tool_call_names).unwrap_or_default()
    }

    /// One line: kind, name, model, latency, tokens, cost, error.
    pub(super) fn label(&self) -> String {
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

pub(super) fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
    }
}
