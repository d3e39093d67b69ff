//! The readable text of an LLM call: what the user asked and what the model answered.
//!
//! Messages follow the OpenAI/Anthropic shapes PostHog SDKs capture: `content` is a
//! string, `null` (privacy mode), or an array of typed parts. System prompts are left
//! out: they repeat across items and would drown what tells items apart.

use serde_json::Value;

/// At most this many characters of text are kept per item.
pub const MAX_CONTENT_CHARS: usize = 8_000;

/// `role: text` lines for the input messages followed by the output messages.
pub fn readable_text(input: Option<&Value>, output: Option<&Value>) -> String {
    let mut lines = Vec::new();
    for (value, default_role) in [(input, "user"), (output, "assistant")] {
        if let Some(v) = value {
            collect_messages(v, default_role, &mut lines);
        }
    }
    let text = lines.join("\n");
    match text.char_indices().nth(MAX_CONTENT_CHARS) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text,
    }
}

fn collect_messages(value: &Value, default_role: &str, lines: &mut Vec<String>) {
    match value {
        Value::String(s) => push_line(lines, default_role, s),
        Value::Array(items) => items.iter().for_each(|m| collect_messages(m, default_role, lines)),
        Value::Object(obj) => {
            // OpenAI choices wrap the message: {"message": {"role", "content"}}
            if let Some(message) = obj.get("message") {
                return collect_messages(message, default_role, lines);
            }
            let role = obj.get("role").and_then(Value::as_str).unwrap_or(default_role);
            if role == "system" || role == "developer" {
                return;
            }
            let mut text = obj.get("content").map(part_text).unwrap_or_default();
            for call in obj.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                append(&mut text, &part_text(call));
            }
            push_line(lines, role, &text);
        }
        _ => {}
    }
}

/// Text of a message content: a string, or typed parts (text, image, tool call).
fn part_text(part: &Value) -> String {
    match part {
        Value::String(s) => s.clone(),
        Value::Array(parts) => {
            let mut text = String::new();
            for p in parts {
                append(&mut text, &part_text(p));
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
            let name = obj
                .get("function")
                .and_then(|f| f.get("name"))
                .or_else(|| obj.get("name"))
                .and_then(Value::as_str);
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

fn push_line(lines: &mut Vec<String>, role: &str, text: &str) {
    let text = text.trim();
    if !text.is_empty() {
        lines.push(format!("{role}: {text}"));
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
        assert_eq!(readable_text(Some(&input), Some(&output)), "user: What is in [image]\nassistant: [tool call: lookup]");
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
