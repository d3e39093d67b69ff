//! What a trace is embedded from: the requests of its conversation, each once, each with
//! a weight. Each call of a conversation sends the whole history before it, so a trace's
//! inputs repeat its first request once per turn; counted once, in the order first asked.
//! The trace's vector is the mean of its requests' vectors weighted by their length (up to
//! what the model reads): measured on chained conversations (docs/evaluation.md, "Trace
//! level"), this beats one text of all the turns (the model reads its first 256 tokens, so
//! the first long turn drowns the rest) and the plain mean (a "Thanks, shorter please"
//! follow-up would weigh as much as the request it follows).

use crate::content::{user_messages, MAX_CONTENT_CHARS};
use serde_json::Value;
use std::collections::HashSet;

/// At most this many distinct requests of a trace are embedded (its first ones: they set
/// its subject), so that a long agent loop costs at most this many texts.
pub const MAX_TRACE_REQUESTS: usize = 8;
/// A request of this many words or more weighs the most: about the 256 tokens the
/// built-in model reads of a text.
pub const FULL_WEIGHT_WORDS: usize = 192;

/// One distinct request of a trace and its weight in the trace's vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub text: String,
    pub weight: f32,
}

/// The distinct user messages of a trace's calls (`inputs`, in time order) in the order
/// they were first asked, at most [`MAX_TRACE_REQUESTS`], each cut to [`MAX_CONTENT_CHARS`],
/// weighted by their words (1 to [`FULL_WEIGHT_WORDS`]). Messages that differ only in
/// surrounding white space are one request.
pub fn trace_requests(inputs: &[Value]) -> Vec<Request> {
    let mut seen = HashSet::new();
    let mut requests = Vec::new();
    for message in inputs.iter().flat_map(user_messages) {
        if requests.len() == MAX_TRACE_REQUESTS {
            break;
        }
        let text = cut(message.trim());
        if !text.is_empty() && seen.insert(text.clone()) {
            let weight = text.split_whitespace().count().clamp(1, FULL_WEIGHT_WORDS) as f32;
            requests.push(Request { text, weight });
        }
    }
    requests
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_CONTENT_CHARS) {
        Some((at, _)) => text[..at].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The inputs of a conversation's calls as SDKs send them: each repeats the history.
    fn calls(turns: &[&str]) -> Vec<Value> {
        let mut messages = vec![json!({"role": "system", "content": "Be brief."})];
        let mut inputs = Vec::new();
        for turn in turns {
            messages.push(json!({"role": "user", "content": turn}));
            inputs.push(Value::Array(messages.clone()));
            messages.push(json!({"role": "assistant", "content": "Done."}));
        }
        inputs
    }

    #[test]
    fn repeated_history_counts_once_in_the_order_asked() {
        let inputs = calls(&["Book a flight to Oslo on Friday", "  Friday", "Book a flight to Oslo on Friday"]);
        let texts: Vec<String> = trace_requests(&inputs).into_iter().map(|r| r.text).collect();
        assert_eq!(texts, ["Book a flight to Oslo on Friday", "Friday"]);
        assert!(trace_requests(&[Value::Null, json!([])]).is_empty());
    }

    #[test]
    fn longer_requests_weigh_more_up_to_the_models_window() {
        let long = "word ".repeat(3 * FULL_WEIGHT_WORDS);
        let requests = trace_requests(&calls(&["Compare these two contracts clause by clause", "ok", &long]));
        let weights: Vec<f32> = requests.iter().map(|r| r.weight).collect();
        assert_eq!(weights, [7.0, 1.0, FULL_WEIGHT_WORDS as f32]);
    }

    #[test]
    fn requests_and_their_text_are_bounded() {
        let turns: Vec<String> =
            (0..3 * MAX_TRACE_REQUESTS).map(|i| format!("request {i} {}", "x".repeat(20_000))).collect();
        let turns: Vec<&str> = turns.iter().map(String::as_str).collect();
        let requests = trace_requests(&calls(&turns));
        assert_eq!(requests.len(), MAX_TRACE_REQUESTS);
        assert!(requests[0].text.starts_with("request 0 "));
        assert!(requests.iter().all(|r| r.text.chars().count() == MAX_CONTENT_CHARS));
    }
}
