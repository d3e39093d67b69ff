//! The OpenAI-compatible wire format: request bodies for cluster labels
//! (`/chat/completions`, JSON output) and embeddings (`/embeddings`), and strict parsing
//! of the answers. No I/O here; the extension does the HTTP.

use crate::clean::{clean, Field, LINE_CHARS, TITLE_CHARS};
use crate::cluster::titles::Titles;
use crate::error::{EngineError, ErrorKind, Result};
use serde::Deserialize;
use serde_json::{json, Value};

/// Items of the cluster shown to the model, closest to the centre first.
pub const LABEL_ITEMS: usize = 10;
/// Items of each of the nearest other clusters shown for contrast.
pub const CONTRAST_ITEMS: usize = 3;
/// Nearest other clusters shown for contrast.
pub const CONTRAST_CLUSTERS: usize = 2;
/// Characters per item text in a request.
pub const ITEM_CHARS: usize = 400;
/// Characters of item text in one request, all items together.
pub const REQUEST_CHARS: usize = 6_000;
/// Tokens a label or summary answer may take (`max_tokens` of every chat request): a
/// JSON object of a title and a few bullets needs a few hundred; the bound keeps a
/// runaway model from filling the time budget and the response limit.
pub const ANSWER_MAX_TOKENS: u32 = 1_024;

const GENERIC_TITLES: &[&str] =
    &["misc", "miscellaneous", "other", "others", "general", "various", "cluster", "outliers", "unknown", "mixed"];

/// What the model is shown about one cluster.
pub struct LabelInput<'a> {
    pub items: Vec<&'a str>,
    /// Titles (offline) and items of the nearest other clusters.
    pub contrast: Vec<(&'a str, Vec<&'a str>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AiLabel {
    pub title: String,
    pub bullets: Vec<String>,
}

/// One cluster of a run, as label requests see it.
pub struct LabelCluster {
    pub cluster_id: i32,
    /// Its offline title.
    pub title: String,
    pub centroid: Vec<f32>,
    /// Its items' texts, closest to the centre first.
    pub texts: Vec<String>,
}

/// What the model is shown for each cluster: its own items and, for contrast, the
/// [`CONTRAST_CLUSTERS`] other clusters whose centroids are nearest (cosine) with a few of
/// their items.
pub fn label_inputs(clusters: &[LabelCluster]) -> Vec<(i32, LabelInput<'_>)> {
    let cosine = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    clusters
        .iter()
        .map(|c| {
            let mut others: Vec<&LabelCluster> = clusters.iter().filter(|o| o.cluster_id != c.cluster_id).collect();
            others.sort_by(|a, b| cosine(&b.centroid, &c.centroid).total_cmp(&cosine(&a.centroid, &c.centroid)));
            let contrast = others
                .iter()
                .take(CONTRAST_CLUSTERS)
                .map(|o| (o.title.as_str(), o.texts.iter().take(CONTRAST_ITEMS).map(String::as_str).collect()))
                .collect();
            (c.cluster_id, LabelInput { items: c.texts.iter().map(String::as_str).collect(), contrast })
        })
        .collect()
}

/// A cluster's AI label, or why the service gave none.
pub type LabelResult = (i32, std::result::Result<AiLabel, String>);

/// The AI labels a run takes, and why the others were not taken, by cluster.
pub struct Accepted {
    pub labels: Vec<(i32, AiLabel)>,
    pub failures: Vec<(i32, String)>,
}

/// Which AI labels a run takes, by the one title policy ([`Titles`]): an AI title is taken
/// when no other cluster's offline title and no AI title taken before it is the same, so
/// that a cluster whose AI label fails keeps an offline title nothing else took. Returns the
/// labels taken and, per cluster, why its label was not.
pub fn accept_labels(offline: &[(i32, String)], results: Vec<LabelResult>) -> Accepted {
    let mut taken = Titles::new();
    let (mut accepted, mut failures) = (Vec::new(), Vec::new());
    for (cluster_id, result) in results {
        match result {
            Ok(label) => {
                let others_offline = offline.iter().any(|(id, t)| *id != cluster_id && Titles::same(t, &label.title));
                if !others_offline && taken.claim(&label.title) {
                    accepted.push((cluster_id, label));
                } else {
                    failures.push((cluster_id, format!("the title \"{}\" is already used in this run", label.title)));
                }
            }
            Err(message) => failures.push((cluster_id, message)),
        }
    }
    Accepted { labels: accepted, failures }
}

fn clip(text: &str, budget: &mut usize) -> Option<String> {
    if *budget == 0 {
        return None;
    }
    let t: String =
        text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(ITEM_CHARS.min(*budget)).collect();
    *budget -= t.chars().count();
    Some(t)
}

/// The chat request that asks for one cluster's label, within the documented budget.
pub fn label_request(model: &str, input: &LabelInput) -> Value {
    let mut budget = REQUEST_CHARS;
    let mut prompt = String::from("Items of the cluster to name (closest to its centre first):\n");
    for t in input.items.iter().take(LABEL_ITEMS).filter_map(|t| clip(t, &mut budget)) {
        prompt.push_str(&format!("- {t}\n"));
    }
    for (title, items) in input.contrast.iter().take(CONTRAST_CLUSTERS) {
        if budget == 0 {
            break;
        }
        prompt.push_str(&format!("\nFor contrast, items of a nearby different cluster (\"{title}\"):\n"));
        for t in items.iter().take(CONTRAST_ITEMS).filter_map(|t| clip(t, &mut budget)) {
            prompt.push_str(&format!("- {t}\n"));
        }
    }
    json!({
        "model": model,
        "temperature": 0,
        "max_tokens": ANSWER_MAX_TOKENS,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": "You name clusters of requests that users sent to an LLM-powered product. \
                Answer with a JSON object {\"title\": string, \"bullets\": [string]}: a specific title of 3 to 10 words \
                that tells this cluster apart from the contrast clusters (not generic, no quotes), and 2 to 5 short \
                bullets saying what its items have in common."},
            {"role": "user", "content": prompt},
        ],
    })
}

/// An answer of the AI service that cannot be used (22P02): `message` says why.
fn unusable_answer(message: impl Into<String>) -> EngineError {
    EngineError::new(ErrorKind::InvalidText, message)
}

/// The label in a chat completion's body, checked: JSON, 3-10 words, not generic, 2-5
/// bullets; title and bullets cleaned ([`clean`]).
pub fn parse_label(body: &str) -> Result<AiLabel> {
    let label = chat_answer(body)?;
    let title = answer_title(&label)?;
    let words = title.split_whitespace().count();
    if !(3..=10).contains(&words) || too_long(&title, &[]) {
        return Err(unusable_answer(format!("the title must have 3 to 10 words, got \"{title}\"")));
    }
    if is_generic(&title) {
        return Err(unusable_answer(format!("the title is generic: \"{title}\"")));
    }
    // Local models in JSON mode often say "description" (a list, or one text of lines).
    let bullet_lines = |text: &str| -> Vec<String> { text.lines().map(str::to_string).collect() };
    let raw: Vec<String> = match (&label["bullets"], &label["description"]) {
        (Value::Array(items), _) | (_, Value::Array(items)) => {
            items.iter().filter_map(|b| b.as_str().map(str::to_string)).collect()
        }
        (Value::String(text), _) | (_, Value::String(text)) => bullet_lines(text),
        _ => return Err(unusable_answer("the answer has no \"bullets\" array")),
    };
    let bullets: Vec<String> = raw.iter().map(|s| bullet(s)).filter(|b| !b.is_empty()).collect();
    if !(2..=5).contains(&bullets.len()) || too_long("", &bullets) {
        return Err(unusable_answer(format!(
            "the answer must have 2 to 5 bullets of at most {LINE_CHARS} characters, got {}",
            bullets.len()
        )));
    }
    Ok(AiLabel { title, bullets })
}

/// The JSON object a chat completion answers with; a refusal or a missing content is an error.
/// The envelope of a chat completion (the fields read; the answer inside is the model's
/// own text, parsed leniently by the callers).
#[derive(Deserialize)]
struct ChatCompletion {
    choices: Vec<ChatChoice>,
}

#[derive(Deserialize)]
struct ChatChoice {
    message: ChatMessage,
}

#[derive(Deserialize)]
struct ChatMessage {
    content: Option<String>,
    refusal: Option<String>,
}

fn chat_answer(body: &str) -> Result<Value> {
    let v: Value = serde_json::from_str(body).map_err(|e| unusable_answer(format!("the response is not JSON: {e}")))?;
    let completion: ChatCompletion = serde_json::from_value(v)
        .map_err(|e| unusable_answer(format!("the response is not a chat completion (choices[].message): {e}")))?;
    let message = completion.choices.into_iter().next().map(|c| c.message);
    if let Some(refusal) = message.as_ref().and_then(|m| m.refusal.as_deref()) {
        return Err(unusable_answer(format!("the model refused: {}", refusal.chars().take(200).collect::<String>())));
    }
    let content = message
        .and_then(|m| m.content)
        .ok_or_else(|| unusable_answer("the response has no choices[0].message.content"))?;
    answer_object(&content)
}

/// Model text as one line with no bidi or control characters. Cleaned as a text, whose
/// bound is far above a title's or a bullet's, so that a text too long is refused by
/// their checks, not silently cut.
fn one_line(text: &str) -> String {
    clean(text, Field::Text).replace('\n', " ")
}

/// The answer's title, one line, without quotes around it.
fn answer_title(answer: &Value) -> Result<String> {
    let raw = answer["title"].as_str().ok_or_else(|| unusable_answer("the answer has no \"title\" string"))?;
    Ok(one_line(raw).trim_matches('"').trim().to_string())
}

/// A bullet or note as the model wrote it, one line, without its list marker.
fn bullet(text: &str) -> String {
    one_line(text.trim().trim_start_matches(['-', '•', '*'])).trim().to_string()
}

/// Whether a title or a list of bullets is longer than stored titles and bullets may be.
fn too_long(title: &str, bullets: &[String]) -> bool {
    title.chars().count() > TITLE_CHARS || bullets.iter().any(|b| b.chars().count() > LINE_CHARS)
}

/// A title made of nothing but words like "misc", "other", "cluster".
fn is_generic(title: &str) -> bool {
    title
        .split_whitespace()
        .all(|w| GENERIC_TITLES.contains(&w.to_lowercase().trim_matches(|c: char| !c.is_alphanumeric())))
}

/// The JSON object of a model's answer: the answer itself, or the object inside a
/// Markdown code fence or after leading text, as local models in JSON mode write it.
fn answer_object(content: &str) -> Result<Value> {
    let text = content.trim();
    if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(text) {
        return Ok(v);
    }
    // The first '{' whose balanced object parses: a fence's ```json prefix, a sentence
    // before it and text after it are left aside.
    for (start, _) in text.match_indices('{') {
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        if let Some(Ok(v @ Value::Object(_))) = stream.next() {
            return Ok(v);
        }
    }
    Err(unusable_answer(format!(
        "the model's answer is not a JSON object: {}",
        text.chars().take(200).collect::<String>()
    )))
}

/// Characters of the compact rendering of a trace sent for its AI summary.
pub const SUMMARY_CHARS: usize = 4_000;

/// An AI-written summary: the model writes the title, bullets and notes; the flow stays
/// the one drawn from the events (a diagram is not something to ask a model for).
#[derive(Debug, Clone, PartialEq)]
pub struct AiSummary {
    pub title: String,
    pub bullets: Vec<String>,
    pub notes: Vec<String>,
}

/// The chat request for one item's summary, from its compact rendering
/// (`trace::compact_rendering`), at most SUMMARY_CHARS of it.
pub fn summary_request(model: &str, rendering: &str) -> Value {
    let text: String = rendering.chars().take(SUMMARY_CHARS).collect();
    json!({
        "model": model,
        "temperature": 0,
        "max_tokens": ANSWER_MAX_TOKENS,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": "You summarise one trace of an LLM-powered product for the engineers who run it: \
                what the user wanted, what the system did, how it ended. Answer with a JSON object \
                {\"title\": string, \"bullets\": [string], \"notes\": [string]}: a title of 2 to 12 words naming the \
                user's request, 2 to 5 short factual bullets, and 0 to 5 notes on problems (errors, slow or costly steps, \
                empty or refused answers). Use only the facts given."},
            {"role": "user", "content": text},
        ],
    })
}

/// The summary in a chat completion's body, checked like a label: JSON, a title of 2-12
/// words that is not generic, 2-5 bullets, 0-5 notes, each at most [`LINE_CHARS`]
/// characters; all cleaned of bidi and control characters.
pub fn parse_summary(body: &str) -> Result<AiSummary> {
    let answer = chat_answer(body)?;
    let title = answer_title(&answer)?;
    let title = title.as_str();
    let words = title.split_whitespace().count();
    if !(2..=12).contains(&words) || too_long(title, &[]) {
        return Err(unusable_answer(format!("the title must have 2 to 12 words, got \"{title}\"")));
    }
    if is_generic(title) {
        return Err(unusable_answer(format!("the title is generic: \"{title}\"")));
    }
    let list = |key: &str, range: std::ops::RangeInclusive<usize>| -> Result<Vec<String>> {
        let items: Vec<String> = match &answer[key] {
            Value::Array(items) => {
                items.iter().filter_map(Value::as_str).map(bullet).filter(|b| !b.is_empty()).collect()
            }
            Value::Null => Vec::new(),
            _ => return Err(unusable_answer(format!("\"{key}\" must be an array of strings"))),
        };
        if !range.contains(&items.len()) || too_long("", &items) {
            return Err(unusable_answer(format!(
                "the answer must have {} to {} {key} of at most {LINE_CHARS} characters, got {}",
                range.start(),
                range.end(),
                items.len()
            )));
        }
        Ok(items)
    };
    Ok(AiSummary { title: title.to_string(), bullets: list("bullets", 2..=5)?, notes: list("notes", 0..=5)? })
}

/// The embeddings request for a batch of texts.
pub fn embeddings_request(model: &str, inputs: &[&str]) -> Value {
    json!({"model": model, "input": inputs, "encoding_format": "float"})
}

/// The vectors of an embeddings response, in input order (by `index`), all of one
/// dimension and finite.
/// The body of an `/embeddings` answer.
#[derive(Deserialize)]
struct EmbeddingsResponse {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    /// Which input it embeds; absent: its position.
    index: Option<usize>,
    embedding: Vec<f32>,
}

pub fn parse_embeddings(body: &str, expected: usize) -> Result<Vec<Vec<f32>>> {
    let v: Value =
        serde_json::from_str(body).map_err(|e| unusable_answer(format!("the embeddings response is not JSON: {e}")))?;
    let response: EmbeddingsResponse = serde_json::from_value(v).map_err(|e| {
        unusable_answer(format!("the response is not an embeddings answer (data[].embedding numbers): {e}"))
    })?;
    let mut out: Vec<Option<Vec<f32>>> = vec![None; expected];
    for (position, item) in response.data.into_iter().enumerate() {
        let index = item.index.unwrap_or(position);
        let slot = out.get_mut(index).ok_or_else(|| {
            unusable_answer(format!("embedding index {index} is out of range (sent {expected} inputs)"))
        })?;
        if item.embedding.is_empty() || item.embedding.iter().any(|x| !x.is_finite()) {
            return Err(unusable_answer(format!("embedding {index} is empty or not finite")));
        }
        *slot = Some(item.embedding);
    }
    let vectors: Vec<Vec<f32>> = out
        .into_iter()
        .enumerate()
        .map(|(i, v)| v.ok_or_else(|| unusable_answer(format!("no embedding for input {i}"))))
        .collect::<Result<_>>()?;
    if vectors.windows(2).any(|w| w[0].len() != w[1].len()) {
        return Err(unusable_answer("the embeddings have different dimensions"));
    }
    Ok(vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(content: &str) -> String {
        json!({"choices": [{"message": {"role": "assistant", "content": content}}]}).to_string()
    }

    #[test]
    fn label_request_stays_within_its_budget() {
        let long = "word ".repeat(1000);
        let items: Vec<&str> = vec![long.as_str(); 30];
        let input = LabelInput {
            items: items.clone(),
            contrast: vec![("Other", items.clone()), ("Third", items.clone()), ("Fourth", items)],
        };
        let req = label_request("m", &input);
        let prompt = req["messages"][1]["content"].as_str().unwrap();
        assert!(prompt.len() < REQUEST_CHARS + 1_000, "{}", prompt.len());
        assert_eq!(prompt.matches("For contrast").count(), CONTRAST_CLUSTERS, "the third contrast cluster is left out");
        assert_eq!(req["response_format"]["type"], "json_object");
        assert_eq!(req["max_tokens"], ANSWER_MAX_TOKENS);
        assert_eq!(summary_request("m", "text")["max_tokens"], ANSWER_MAX_TOKENS);
    }

    #[test]
    fn answers_are_cleaned_and_bounded() {
        let answer = json!({"title": "Refund \u{202e}requests\u{202c} for\nlost orders\u{7}",
                            "bullets": ["- \u{2066}a\u{2069} b", "c\td"]});
        let label = parse_label(&chat(&answer.to_string())).unwrap();
        assert_eq!(label.title, "Refund requests for lost orders");
        assert_eq!(label.bullets, vec!["a b", "c d"]);
        let long =
            format!(r#"{{"title": "Password reset for locked accounts", "bullets": ["a", "{}"]}}"#, "x".repeat(301));
        assert!(parse_label(&chat(&long)).unwrap_err().message.contains("at most 300 characters"));
        let answer = json!({"title": "Order\u{200f} status", "bullets": ["a\u{202e}", "b"], "notes": ["\u{1b}[2Jn"]});
        let summary = parse_summary(&chat(&answer.to_string())).unwrap();
        assert_eq!(
            (summary.title.as_str(), summary.bullets, summary.notes),
            ("Order status", vec!["a".to_string(), "b".to_string()], vec!["[2Jn".to_string()])
        );
    }

    #[test]
    fn parses_and_checks_labels() {
        let ok = parse_label(&chat(
            r#"{"title": "Password reset for locked accounts", "bullets": ["- users locked out", "reset links"]}"#,
        ))
        .unwrap();
        assert_eq!(
            ok,
            AiLabel {
                title: "Password reset for locked accounts".into(),
                bullets: vec!["users locked out".into(), "reset links".into()]
            }
        );
        for (body, why) in [
            ("not json".to_string(), "not JSON"),
            (chat("Sure! Here is a title"), "answer is not a JSON object"),
            (chat("```json\n[1, 2]\n```"), "answer is not a JSON object"),
            (chat(r#"{"title": "Short", "bullets": ["a", "b"]}"#), "3 to 10 words"),
            (chat(r#"{"title": "Other various misc", "bullets": ["a", "b"]}"#), "generic"),
            (chat(r#"{"title": "Password reset for accounts", "bullets": ["only one"]}"#), "2 to 5 bullets"),
            (json!({"choices": [{"message": {"refusal": "I can't help with that"}}]}).to_string(), "refused"),
        ] {
            let e = parse_label(&body).unwrap_err();
            assert!(e.message.contains(why), "{body}: {}", e.message);
        }
    }

    #[test]
    fn accepts_answers_as_local_models_write_them() {
        let want = AiLabel {
            title: "Password reset for locked accounts".into(),
            bullets: vec!["users locked out".into(), "reset links".into()],
        };
        for content in [
            "```json\n{\"title\": \"Password reset for locked accounts\", \"bullets\": [\"users locked out\", \"reset links\"]}\n```",
            "Here is the label you asked for:\n{\"title\": \"Password reset for locked accounts\", \"bullets\": [\"users locked out\", \"reset links\"]} Hope it helps {!}",
            r#"{"title": "Password reset for locked accounts", "description": ["users locked out", "reset links"]}"#,
            r#"{"title": "Password reset for locked accounts", "description": "- users locked out\n- reset links"}"#,
        ] {
            assert_eq!(parse_label(&chat(content)).unwrap(), want, "{content}");
        }
    }

    #[test]
    fn summaries_are_checked_like_labels() {
        let ok = parse_summary(&chat(
            r#"{"title": "Order status lookup", "bullets": ["asked where order 42 is", "- called lookup_order"], "notes": []}"#,
        ))
        .unwrap();
        assert_eq!(ok.title, "Order status lookup");
        assert_eq!(ok.bullets, vec!["asked where order 42 is", "called lookup_order"]);
        let fenced = chat("```json\n{\"title\": \"Order status lookup\", \"bullets\": [\"a\", \"b\"]}\n```");
        assert!(parse_summary(&fenced).unwrap().notes.is_empty(), "notes may be left out");
        for (body, why) in [
            (chat("no json here"), "not a JSON object"),
            (chat(r#"{"title": "Order", "bullets": ["a", "b"]}"#), "2 to 12 words"),
            (chat(r#"{"title": "misc other", "bullets": ["a", "b"]}"#), "generic"),
            (chat(r#"{"title": "Order status lookup", "bullets": ["a"]}"#), "2 to 5 bullets"),
            (chat(r#"{"title": "Order status lookup", "bullets": ["a", "b"], "notes": "none"}"#), "array of strings"),
            (
                chat(&format!(r#"{{"title": "Order status lookup", "bullets": ["a", "{}"]}}"#, "x".repeat(400))),
                "300 characters",
            ),
            (json!({"choices": [{"message": {"refusal": "no"}}]}).to_string(), "refused"),
        ] {
            let e = parse_summary(&body).unwrap_err();
            assert!(e.message.contains(why), "{body}: {}", e.message);
        }
        let long = "x".repeat(10 * SUMMARY_CHARS);
        let req = summary_request("m", &long);
        assert_eq!(req["messages"][1]["content"].as_str().map(str::len), Some(SUMMARY_CHARS));
    }

    #[test]
    fn embeddings_come_back_in_input_order() {
        let body =
            json!({"data": [{"index": 1, "embedding": [0.0, 1.0]}, {"index": 0, "embedding": [1.0, 0.0]}]}).to_string();
        assert_eq!(parse_embeddings(&body, 2).unwrap(), vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
        assert!(parse_embeddings(&json!({"data": [{"index": 0, "embedding": [1.0]}]}).to_string(), 2)
            .unwrap_err()
            .message
            .contains("no embedding for input 1"));
        assert!(parse_embeddings(
            &json!({"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1.0, 2.0]}]}).to_string(),
            2
        )
        .is_err());
        assert!(parse_embeddings(&json!({"data": [{"index": 5, "embedding": [1.0]}]}).to_string(), 1).is_err());
        assert!(parse_embeddings("{}", 1).is_err());
    }

    #[test]
    fn contrast_comes_from_the_nearest_clusters() {
        let cluster = |id, title: &str, centroid: Vec<f32>, texts: &[&str]| LabelCluster {
            cluster_id: id,
            title: title.into(),
            centroid,
            texts: texts.iter().map(|t| t.to_string()).collect(),
        };
        let clusters = [
            cluster(0, "Passwords", vec![1.0, 0.0, 0.0], &["reset my password"]),
            cluster(1, "Accounts", vec![0.8, 0.6, 0.0], &["a1", "a2", "a3", "a4"]),
            cluster(2, "Poems", vec![0.0, 0.0, 1.0], &["write a poem"]),
            cluster(3, "Emails", vec![0.6, 0.8, 0.0], &["change my email"]),
        ];
        let inputs = label_inputs(&clusters);
        assert_eq!(inputs.len(), 4);
        let (id, input) = &inputs[0];
        assert_eq!(*id, 0);
        assert_eq!(input.items, vec!["reset my password"]);
        assert_eq!(input.contrast, vec![("Accounts", vec!["a1", "a2", "a3"]), ("Emails", vec!["change my email"])]);
    }

    #[test]
    fn ai_titles_stay_distinct_from_each_other_and_from_offline_titles() {
        let label = |title: &str| AiLabel { title: title.into(), bullets: vec!["a".into(), "b".into()] };
        let offline = [(0, "Reset my password".to_string()), (1, "Sql query".to_string()), (2, "Poems".to_string())];
        let results = vec![
            (0, Ok(label("Password reset requests"))),
            (1, Ok(label("password RESET requests"))),
            (2, Ok(label("Sql query"))),
            (3, Err("HTTP 500".to_string())),
            (4, Ok(label("Poems"))),
        ];
        let Accepted { labels: accepted, failures } = accept_labels(&offline, results);
        assert_eq!(
            accepted.iter().map(|(id, l)| (*id, l.title.as_str())).collect::<Vec<_>>(),
            vec![(0, "Password reset requests")]
        );
        let failed: Vec<i32> = failures.iter().map(|(id, _)| *id).collect();
        assert_eq!(failed, vec![1, 2, 3, 4]);
        assert!(failures[0].1.contains("already used"), "{}", failures[0].1);
        assert_eq!(failures[2].1, "HTTP 500");
        // Its own offline title is not a clash.
        assert_eq!(accept_labels(&offline, vec![(2, Ok(label("poems")))]).labels.len(), 1);
    }
}
