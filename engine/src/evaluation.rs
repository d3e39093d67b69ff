//! `$ai_evaluation` events (PostHog's LLM-as-a-judge results): their verdict and the text
//! an evaluation item is embedded from. PostHog's properties: `$ai_evaluation_name`,
//! `$ai_evaluation_result` (true = pass, false = fail; sent only when applicable),
//! `$ai_evaluation_applicable` (false = not applicable, N/A), `$ai_evaluation_reasoning`,
//! `$ai_evaluation_model`, `$ai_target_event_id` (the evaluated event) and `$ai_trace_id`.

use crate::content::capped;
use crate::trace::shorten;
use serde_json::{Map, Value};

pub const EVALUATION_EVENT: &str = "$ai_evaluation";
/// Characters of the evaluator's name and of its reasoning in an evaluation's text.
const NAME_CHARS: usize = 200;
const REASONING_CHARS: usize = 4_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// `$ai_evaluation_applicable` is false.
    NotApplicable,
    /// No boolean result (a categorical or scored evaluation, or none sent).
    Unknown,
}

impl Verdict {
    /// PostHog's rule: N/A when applicable is false, whatever the result; otherwise pass
    /// or fail by the result (a boolean, or the text "true" / "false" as some senders write it).
    pub fn of(result: Option<&Value>, applicable: Option<&Value>) -> Verdict {
        if boolean(applicable) == Some(false) {
            return Verdict::NotApplicable;
        }
        match boolean(result) {
            Some(true) => Verdict::Pass,
            Some(false) => Verdict::Fail,
            None => Verdict::Unknown,
        }
    }

    /// The verdict of an event's properties.
    pub fn of_properties(props: &Map<String, Value>) -> Verdict {
        Verdict::of(props.get("$ai_evaluation_result"), props.get("$ai_evaluation_applicable"))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::NotApplicable => "n/a",
            Verdict::Unknown => "unknown",
        }
    }
}

fn boolean(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// What an evaluation is embedded from and shown as: its evaluator, verdict and reasoning
/// ("helpfulness: fail. The answer does not say where the order is."), each part bounded.
pub fn evaluation_text(props: &Map<String, Value>) -> String {
    let text = |key: &str| props.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let name = shorten(text("$ai_evaluation_name").unwrap_or("evaluation"), NAME_CHARS);
    let verdict = Verdict::of_properties(props).as_str();
    match text("$ai_evaluation_reasoning") {
        Some(reasoning) => capped(format!("{name}: {verdict}. {}", shorten(reasoning, REASONING_CHARS))),
        None => format!("{name}: {verdict}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn verdicts_follow_posthogs_rule() {
        for (p, verdict) in [
            (json!({"$ai_evaluation_result": true}), Verdict::Pass),
            (json!({"$ai_evaluation_result": "true", "$ai_evaluation_applicable": true}), Verdict::Pass),
            (json!({"$ai_evaluation_result": false}), Verdict::Fail),
            (json!({"$ai_evaluation_result": "FALSE"}), Verdict::Fail),
            (json!({"$ai_evaluation_applicable": false}), Verdict::NotApplicable),
            (json!({"$ai_evaluation_result": true, "$ai_evaluation_applicable": "false"}), Verdict::NotApplicable),
            (json!({"$ai_evaluation_result": ["a", "b"]}), Verdict::Unknown),
            (json!({"$ai_evaluation_result": 1}), Verdict::Unknown),
            (json!({}), Verdict::Unknown),
        ] {
            assert_eq!(Verdict::of_properties(&props(p.clone())), verdict, "{p}");
        }
    }

    #[test]
    fn text_is_evaluator_verdict_and_reasoning() {
        let p = props(json!({"$ai_evaluation_name": "helpfulness", "$ai_evaluation_result": false,
                             "$ai_evaluation_reasoning": "  The answer ignores the question. "}));
        assert_eq!(evaluation_text(&p), "helpfulness: fail. The answer ignores the question.");
        assert_eq!(evaluation_text(&props(json!({"$ai_evaluation_applicable": false}))), "evaluation: n/a");
        // A name or reasoning of another type is left out, not an error here (capture checks types).
        assert_eq!(evaluation_text(&props(json!({"$ai_evaluation_name": 7}))), "evaluation: unknown");
    }

    #[test]
    fn huge_values_are_bounded() {
        let huge = "word ".repeat(1_000_000);
        let p = props(
            json!({"$ai_evaluation_name": huge, "$ai_evaluation_reasoning": huge, "$ai_evaluation_result": true}),
        );
        let text = evaluation_text(&p);
        assert!(text.chars().count() <= NAME_CHARS + REASONING_CHARS + 10, "{}", text.len());
        assert!(text.contains(": pass. "));
    }
}
