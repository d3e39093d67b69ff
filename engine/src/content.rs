//! The readable text of an LLM call: what the user asked and what the model answered.
//!
//! Messages follow the OpenAI/Anthropic shapes PostHog SDKs capture: `content` is a
//! string, `null` (privacy mode), or an array of typed parts. System prompts are left
//! out: they repeat across items and would drown what tells items apart.

use serde_json::Value;

/// At most this many characters of text are kept per item.
pub const MAX_CONTENT_CHARS: usize = 8_000;

/// Levels of nesting the walks of a message descend; deeper parts are left out. Messages
/// nest a few levels; the bound keeps a hostile value (PostgreSQL's jsonb nests far
/// deeper than serde_json parses) from overflowing the backend's stack.
pub const MAX_DEPTH: usize = 32;

/// `role: text` lines for the input messages followed by the output messages.
pub fn readable_text(input: Option<&Value>, output: Option<&Value>) -> String {
    let mut lines = Vec::new();
    for (value, default_role) in [(input, "user"), (output, "assistant")] {
        if let Some(v) = value {
            collect_messages(v, default_role, &mut lines, 0);
        }
    }
    let lines: Vec<String> = lines.into_iter().map(|(role, text)| format!("{role}: {text}")).collect();
    capped(lines.join("\n"))
}

/// At most `MAX_CONTENT_CHARS` characters of `text`.
pub fn capped(text: String) -> String {
    match text.char_indices().nth(MAX_CONTENT_CHARS) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text,
    }
}

/// The user's messages of one LLM call's input.
pub(crate) fn user_messages(input: &Value) -> Vec<String> {
    let mut messages = Vec::new();
    collect_messages(input, "user", &mut messages, 0);
    messages.into_iter().filter(|(role, _)| role == "user").map(|(_, text)| text).collect()
}

/// The model's messages of one call's output (assistant text and its tool calls).
pub fn answer_messages(output: &Value) -> Vec<String> {
    let mut messages = Vec::new();
    collect_messages(output, "assistant", &mut messages, 0);
    messages.into_iter().filter(|(role, _)| role == "assistant").map(|(_, text)| text).collect()
}

/// What a generation is embedded from: what the user asked in it. Its latest user
/// message comes first (the request this call answers; the model reads 256 tokens), then
/// the earlier ones, newest first, for context. No system prompt (it repeats across
/// items), no answer (answers are alike across requests: "I'm sorry, I can't …").
pub fn request_text(input: Option<&Value>) -> String {
    let mut messages = input.map(user_messages).unwrap_or_default();
    messages.reverse();
    capped(messages.join("\n"))
}

/// The latest user message of one call's input: the request the call answers.
pub fn latest_request(input: Option<&Value>) -> Option<String> {
    input.map(user_messages).and_then(|m| m.into_iter().last())
}

/// Names of the tools an output calls (OpenAI `tool_calls`, Anthropic `tool_use` parts).
pub fn tool_call_names(output: &Value) -> Vec<String> {
    let mut names = Vec::new();
    collect_tool_calls(output, &mut names, 0);
    names
}

fn collect_tool_calls(value: &Value, names: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect_tool_calls(v, names, depth + 1)),
        Value::Object(obj) => {
            let kind = obj.get("type").and_then(Value::as_str).unwrap_or("");
            let name =
                obj.get("function").and_then(|f| f.get("name")).or_else(|| obj.get("name")).and_then(Value::as_str);
            match name {
                Some(n)
                    if kind == "function"
                        || kind == "tool_use"
                        || kind == "tool_call"
                        || obj.contains_key("function") =>
                {
                    names.push(n.to_string())
                }
                _ => ["message", "tool_calls", "content"]
                    .iter()
                    .filter_map(|k| obj.get(*k))
                    .for_each(|v| collect_tool_calls(v, names, depth + 1)),
            }
        }
        _ => {}
    }
}

fn collect_messages(value: &Value, default_role: &str, lines: &mut Vec<(String, String)>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::String(s) => push_line(lines, default_role, s),
        Value::Array(items) => items.iter().for_each(|m| collect_messages(m, default_role, lines, depth + 1)),
        Value::Object(obj) => {
            // OpenAI choices wrap the message: {"message": {"role", "content"}}
            if let Some(message) = obj.get("message") {
                return collect_messages(message, default_role, lines, depth + 1);
            }
            let role = obj.get("role").and_then(Value::as_str).unwrap_or(default_role);
            if role == "system" || role == "developer" {
                return;
            }
            let mut text = obj.get("content").map(|c| part_text(c, depth + 1)).unwrap_or_default();
            for call in obj.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                append(&mut text, &part_text(call, depth + 1));
            }
            push_line(lines, role, &text);
        }
        _ => {}
    }
}

/// Text of a message content: a string, or typed parts (text, image, tool call).
fn part_text(part: &Value, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return String::new();
    }
    match part {
        Value::String(s) => s.clone(),
        Value::Array(parts) => {
            let mut text = String::new();
            for p in parts {
                append(&mut text, &part_text(p, depth + 1));
            }
            text
        }
        Value::Object(obj) => {
            let kind = obj.get("type").and_then(Value::as_str).unwrap_or("");
            if let Some(t) = obj.get("text").and_then(Value::as_str) {
                return t.to_string();
            }
            if kind.contains("image") {
                return "[image]".into();
            }
            let name =
                obj.get("function").and_then(|f| f.get("name")).or_else(|| obj.get("name")).and_then(Value::as_str);
            match name {
                Some(n) => format!("[tool call: {n}]"),
                None if !kind.is_empty() => format!("[{kind}]"),
                None => String::new(),
            }
        }
        _ => String::new(),
    }
}

fn append(text: &mut String, more: &str) {
    if more.is_empty() {
        return;
    }
    if !text.is_empty() {
        text.push(' ');
    }
    text.push_str(more);
}

fn push_line(lines: &mut Vec<(String, String)>, role: &str, text: &str) {
    let text = text.trim();
    if !text.is_empty() {
        lines.push((role.to_string(), text.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_strings_parts_and_choices() {
        let input = json!([
            {"role": "system", "content": "You are helpful"},
            {"role": "user", "content": [{"type": "text", "text": "What is in"}, {"type": "image_url", "image_url": {"url": "x"}}]},
        ]);
        let output = json!([{"message": {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "lookup", "arguments": "{}"}}]}}]);
        assert_eq!(
            readable_text(Some(&input), Some(&output)),
            "user: What is in [image]\nassistant: [tool call: lookup]"
        );
    }

    #[test]
    fn walks_stop_at_the_depth_bound() {
        let nested = |depth: usize| (0..depth).fold(json!("deep text"), |v, _| json!([v]));
        assert_eq!(readable_text(Some(&nested(5)), None), "user: deep text");
        assert_eq!(readable_text(Some(&nested(MAX_DEPTH + 2)), None), "");
        let calls = |depth: usize| (0..depth).fold(json!({"type": "tool_use", "name": "f"}), |v, _| json!([v]));
        assert_eq!(tool_call_names(&calls(3)), vec!["f"]);
        assert!(tool_call_names(&calls(MAX_DEPTH + 2)).is_empty());
    }

    #[test]
    fn request_text_is_the_users_messages_latest_first() {
        let input = json!([
            {"role": "system", "content": "You are helpful"},
            {"role": "user", "content": "Write a poem about cats"},
            {"role": "assistant", "content": "Cats are soft"},
            {"role": "user", "content": [{"type": "text", "text": "Make it shorter"}]},
        ]);
        assert_eq!(request_text(Some(&input)), "Make it shorter\nWrite a poem about cats");
        assert_eq!(request_text(Some(&json!("plain prompt"))), "plain prompt");
        assert_eq!(request_text(Some(&Value::Null)), "");
        assert_eq!(request_text(None), "");
    }

    #[test]
    fn privacy_mode_gives_empty_text() {
        assert_eq!(readable_text(Some(&Value::Null), Some(&Value::Null)), "");
        assert_eq!(readable_text(None, None), "");
    }

    #[test]
    fn plain_strings_get_default_roles_and_are_capped() {
        let long = "x".repeat(MAX_CONTENT_CHARS * 2);
        let text = readable_text(Some(&json!("hi")), Some(&json!(long)));
        assert!(text.starts_with("user: hi\nassistant: x"));
        assert_eq!(text.chars().count(), MAX_CONTENT_CHARS);
    }
}
