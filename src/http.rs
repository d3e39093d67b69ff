//! The client of the OpenAI-compatible service (AI labels, summaries and embeddings),
//! configured by the llm_clusters.ai_* settings and used only with consent
//! (`llm_clusters.ai_data_processing`). No SPI: the worker calls it outside transactions.

use crate::gucs::{
    self, AI_API_KEY, AI_BASE_URL, AI_CHAT_MODEL, AI_DATA_PROCESSING, AI_EMBEDDING_MODEL, AI_TIMEOUT_MS,
};
use serde_json::Value;
use std::time::{Duration, Instant};

pub struct Service {
    base_url: String,
    api_key: String,
    timeout: Duration,
}

/// The service to label and summarise with, if consent is given and a chat model is set.
pub fn chat_service() -> Option<(Service, String)> {
    let model = gucs::text(&AI_CHAT_MODEL);
    service().filter(|_| !model.is_empty()).map(|s| (s, model))
}

/// The service to embed with, if consent is given and an embedding model is set.
pub fn embedding_service() -> Option<(Service, String)> {
    let model = gucs::text(&AI_EMBEDDING_MODEL);
    service().filter(|_| !model.is_empty()).map(|s| (s, model))
}

fn service() -> Option<Service> {
    let base_url = gucs::text(&AI_BASE_URL);
    (AI_DATA_PROCESSING.get() && !base_url.is_empty()).then(|| Service {
        base_url: base_url.trim_end_matches('/').to_string(),
        api_key: gucs::text(&AI_API_KEY),
        timeout: Duration::from_millis(AI_TIMEOUT_MS.get().max(1) as u64),
    })
}

/// POSTs a JSON body and returns the response text. Bounded by the timeout, retries after
/// HTTP 429 while Retry-After fits in it. Errors never contain the key.
pub fn post(service: &Service, path: &str, body: &Value) -> Result<String, String> {
    let deadline = Instant::now() + service.timeout;
    let url = format!("{}{path}", service.base_url);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("timed out after {} ms", service.timeout.as_millis()));
        }
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(left)).http_status_as_error(false).build().into();
        let mut request = agent.post(&url).header("Content-Type", "application/json");
        if !service.api_key.is_empty() {
            request = request.header("Authorization", format!("Bearer {}", service.api_key));
        }
        let mut response = request.send(body.to_string()).map_err(|e| format!("request to {url} failed: {e}"))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        let text =
            response.body_mut().read_to_string().map_err(|e| format!("reading the response of {url} failed: {e}"))?;
        match status {
            200..=299 => return Ok(text),
            429 => match retry_after.map(Duration::from_secs_f64) {
                Some(wait) if Instant::now() + wait < deadline => std::thread::sleep(wait),
                _ => return Err(format!("HTTP 429 from {url} (rate limited) and no retry fits in the timeout")),
            },
            _ => return Err(format!("HTTP {status} from {url}: {}", text.chars().take(200).collect::<String>())),
        }
    }
}
