//! The client of the OpenAI-compatible service (AI labels, summaries and embeddings),
//! configured by the llm_clusters.ai_* settings and used only with consent
//! (`llm_clusters.ai_data_processing`). No SPI: the worker calls it outside transactions.
//!
//! Each request runs on a helper thread (ureq blocks) that never touches PostgreSQL; the
//! backend's thread waits for it in short steps and checks for a cancel between them.
//! What a failure stores (team readers read it) names the URL without userinfo or query
//! and a fixed reason; the client's own message goes to the server log only.

use crate::gucs::{self, AI_BASE_URL, AI_CHAT_MODEL, AI_DATA_PROCESSING, AI_EMBEDDING_MODEL, AI_TIMEOUT_MS};
use crate::pg::check_interrupts;
use llm_clusters_engine::service::{max_response_bytes, redact_detail, redact_url, retry_after, Budget};
use llm_clusters_engine::threads;
use serde_json::Value;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

/// How often the backend looks for a cancel while a request or a Retry-After runs.
const POLL: Duration = Duration::from_millis(100);
/// How long past a request's deadline the backend waits for the helper thread (a DNS
/// lookup is outside ureq's timeout) before it gives up on it.
const GRACE: Duration = Duration::from_secs(1);
/// Bytes of an error answer read, for the server log.
const ERROR_BODY_BYTES: u64 = 64 << 10;

pub struct Service {
    base_url: String,
    api_key: String,
    timeout: Duration,
}

impl Service {
    /// The time budget of one call of `label_run` or `summarize_pending`, from now.
    pub fn call_budget(&self) -> Budget {
        Budget::for_call(self.timeout, Instant::now())
    }
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
        api_key: gucs::ai_api_key(),
        timeout: Duration::from_millis(AI_TIMEOUT_MS.get().max(1) as u64),
    })
}

/// POSTs a JSON body within one `ai_timeout_ms` (the embedder's batches).
pub fn post(service: &Service, path: &str, body: &Value) -> Result<String, String> {
    post_within(service, &Budget::for_request(service.timeout, Instant::now()), path, body)
}

/// What the helper thread brings back.
enum Reply {
    Body(String),
    Status { status: u16, retry_after: Option<Duration>, detail: String },
    Failed { reason: &'static str, detail: String },
}

/// POSTs a JSON body and returns the response text. A request, its retries after HTTP 429
/// included, takes at most `ai_timeout_ms` and ends by the budget's deadline; the answer
/// is read up to `max_response_bytes`. Errors never contain the key, userinfo or the
/// service's answer (they are stored); the detail goes to the server log at LOG level.
pub fn post_within(service: &Service, budget: &Budget, path: &str, body: &Value) -> Result<String, String> {
    let url = format!("{}{path}", service.base_url);
    let shown = redact_url(&url);
    let Some(deadline) = budget.request_deadline(Instant::now()) else {
        return Err(format!("not sent to {shown}: the time budget of this call (2 × ai_timeout_ms) is spent"));
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("request to {shown} timed out after {} ms", service.timeout.as_millis()));
        }
        match send(service, &url, body, left, deadline)? {
            Reply::Body(text) => return Ok(text),
            Reply::Failed { reason, detail } => {
                pgrx::log!("llm_clusters: AI request to {shown} failed: {}", redact_detail(&detail, &url));
                return Err(format!("request to {shown} failed: {reason}"));
            }
            Reply::Status { status: 429, retry_after: Some(wait), .. } if Instant::now() + wait < deadline => {
                sleep_until(Instant::now() + wait)?
            }
            Reply::Status { status, detail, .. } => {
                pgrx::log!("llm_clusters: AI request to {shown}: HTTP {status}: {}", redact_detail(&detail, &url));
                return Err(match status {
                    429 => format!("HTTP 429 from {shown} (rate limited) and no usable retry fits in the timeout"),
                    _ => format!("HTTP {status} from {shown}"),
                });
            }
        }
    }
}

/// One request on a helper thread; the backend waits for it, checking for a cancel.
fn send(service: &Service, url: &str, body: &Value, left: Duration, deadline: Instant) -> Result<Reply, String> {
    let limit = max_response_bytes(body);
    let (url, body, key) = (url.to_string(), body.to_string(), service.api_key.clone());
    let (tx, rx) = mpsc::channel();
    // The thread is not joined: after a cancel it ends by itself at ureq's global timeout,
    // and its answer, sent to nobody, is dropped.
    threads::spawn("llm_clusters-http", move || {
        let _ = tx.send(request(&url, &key, body, left, limit));
    })
    .map_err(|e| format!("cannot start the request's thread: {e}"))?;
    loop {
        match rx.recv_timeout(POLL) {
            Ok(reply) => return Ok(reply),
            Err(RecvTimeoutError::Timeout) if Instant::now() > deadline + GRACE => {
                return Err(format!("request timed out after {} ms", service.timeout.as_millis()))
            }
            Err(RecvTimeoutError::Timeout) => check_interrupts().map_err(|e| e.message)?,
            Err(RecvTimeoutError::Disconnected) => return Err("the request's thread ended without an answer".into()),
        }
    }
}

/// Sleeps until `until` in short steps, checking for a cancel between them.
fn sleep_until(until: Instant) -> Result<(), String> {
    loop {
        check_interrupts().map_err(|e| e.message)?;
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(POLL));
    }
}

/// The request itself, on the helper thread: no PostgreSQL here.
fn request(url: &str, key: &str, body: String, left: Duration, limit: u64) -> Reply {
    // The global timeout covers connecting, sending and reading the whole body: a service
    // that trickles its answer is cut off with the rest.
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(left)).http_status_as_error(false).build().into();
    let mut request = agent.post(url).header("Content-Type", "application/json");
    if !key.is_empty() {
        request = request.header("Authorization", format!("Bearer {key}"));
    }
    let mut response = match request.send(body) {
        Ok(response) => response,
        Err(e) => return Reply::Failed { reason: reason(&e), detail: e.to_string() },
    };
    let status = response.status().as_u16();
    if !(200..=299).contains(&status) {
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, SystemTime::now()));
        let text = response.body_mut().with_config().limit(ERROR_BODY_BYTES).read_to_string().unwrap_or_default();
        return Reply::Status { status, retry_after, detail: text.chars().take(500).collect() };
    }
    match response.body_mut().with_config().limit(limit).read_to_string() {
        Ok(text) => Reply::Body(text),
        Err(e) => Reply::Failed { reason: reason(&e), detail: e.to_string() },
    }
}

/// A fixed reason for a client error, safe to store.
fn reason(e: &ureq::Error) -> &'static str {
    match e {
        ureq::Error::Timeout(_) => "timed out",
        ureq::Error::HostNotFound => "host not found",
        ureq::Error::ConnectionFailed | ureq::Error::Io(_) => "connection failed",
        ureq::Error::BodyExceedsLimit(_) => "the answer is larger than the limit",
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => "TLS failed",
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => "invalid URL",
        _ => "protocol error",
    }
}
