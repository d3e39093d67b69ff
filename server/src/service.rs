//! One HTTP request: route, read the body within the size and time limits, check the
//! key, decode, store, answer in PostHog's shape (`{"status": 1}`; capture v1: a result
//! per uuid).
//!
//! Nothing is decompressed or parsed for a client whose key is not valid: a key in the
//! `Authorization` header is checked before the body is touched; a key inside the body
//! (posthog-python's `api_key`, posthog-js's `token`) is found by a streaming pass over
//! the decompressed text (which never grows past `--max-body-mb`) and checked before the
//! full parse. Decoding runs on the blocking pool, at most `--max-decoding` at a time, so
//! memory is bounded by about that many times `--max-body-mb`; the bodies being received
//! share `--max-buffered-mb`, so open connections cannot each hold `--max-body-mb`.

use crate::decode::{
    bearer, clip, decoded_size, key_of, missing_bearer, parse, prepare, protocol_of, too_large, Decoded, Parts,
    Protocol,
};
use crate::error::{Rejection, Status};
use crate::fair::{client_of, ClientShares, FairPermit, FairSlots, HeldShare};
use crate::gate::Gate;
use crate::store::Store;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Incoming};
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Limits {
    pub max_body_bytes: usize,
    /// How long a client may take to send its body.
    pub read_timeout: Duration,
    /// How long a request waits for a decoding slot, or for room to buffer its body, before 503.
    pub decode_wait: Duration,
    /// Bytes of request bodies held at once, all connections together.
    pub max_buffered_bytes: usize,
}

/// Refusal lines written to stderr in one second, at most; the others are counted and
/// the next line written says how many. Refusals are what anonymous clients cause (404,
/// 401, 405, ...): one line each let a client that sends 20,000 bad requests a second
/// write ~2 MB of log a second, for as long as it cared to (the disk under a file log,
/// and the journal's own rate limit dropped the server's other lines with them).
pub const REFUSALS_LOGGED_PER_SECOND: u32 = 10;

/// Which refusals get a line: at most [`REFUSALS_LOGGED_PER_SECOND`] a second.
#[derive(Default)]
pub struct RefusalLog {
    window: Option<Instant>,
    lines: u32,
    suppressed: u64,
}

impl RefusalLog {
    /// Whether a refusal at `now` gets a line: `Some(n)` with the refusals left out since
    /// the last line, `None` when it is one more left out.
    pub fn admit(&mut self, now: Instant) -> Option<u64> {
        if self.window.is_none_or(|start| now.saturating_duration_since(start) >= Duration::from_secs(1)) {
            self.window = Some(now);
            self.lines = 0;
        }
        if self.lines >= REFUSALS_LOGGED_PER_SECOND {
            self.suppressed += 1;
            return None;
        }
        self.lines += 1;
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// A log line of client-influenced text (a refusal's detail may quote a database message
/// that quotes an event's name): control characters are escaped, so one request is one
/// line and cannot forge others.
pub fn log_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

pub struct State {
    pub store: Store,
    pub limits: Limits,
    /// A line per request answered 200 (errors are always logged).
    pub access_log: bool,
    /// Keys the database accepted lately.
    pub gate: Gate,
    /// Decoding slots (--max-decoding), shared fairly among clients.
    pub decoding: Arc<FairSlots>,
    /// A permit per byte of body held (--max-buffered-mb).
    pub buffered: Arc<Semaphore>,
    /// What each client's bodies hold of it: at most half (or one body).
    pub client_bodies: Arc<ClientShares>,
    /// Which refusals are logged.
    pub refusals: std::sync::Mutex<RefusalLog>,
}

impl State {
    pub fn new(store: Store, limits: Limits, max_decoding: usize, access_log: bool) -> State {
        let buffered = Arc::new(Semaphore::new(limits.max_buffered_bytes.min(Semaphore::MAX_PERMITS)));
        // Half, but never less than one body: a client may always send one.
        let client_bodies = ClientShares::new((limits.max_buffered_bytes / 2).max(limits.max_body_bytes));
        State {
            store,
            limits,
            access_log,
            gate: Gate::default(),
            decoding: FairSlots::new(max_decoding),
            client_bodies,
            buffered,
            refusals: std::sync::Mutex::new(RefusalLog::default()),
        }
    }
}

/// What an accepted request carried, for the access log.
struct Accepted {
    compression: &'static str,
    received: usize,
    ignored: usize,
    stored: i64,
}

/// `peer`: the client's address, who a request without a key in its header is, for the
/// fair shares of body bytes and decoding slots.
pub async fn handle(
    request: Request<Incoming>,
    state: Arc<State>,
    peer: IpAddr,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let started = Instant::now();
    let method = request.method().clone();
    // Clipped: every refusal is logged, and a path may be 64 KB (each a line on the disk).
    let path = clip(request.uri().path());
    let origin = request.headers().get("origin").cloned();
    let outcome = respond(request, &state, peer).await;
    let mut response = match outcome {
        Ok((response, accepted)) => {
            if let (true, Some(a)) = (state.access_log, accepted) {
                println!(
                    "llm-clusters-server: {method} {path} 200 {}: {} events, {} not $ai_*, {} new ({} ms)",
                    a.compression,
                    a.received,
                    a.ignored,
                    a.stored,
                    started.elapsed().as_millis()
                );
            }
            response
        }
        Err(rejection) => {
            // Never the key or the body: the status and why, at most
            // REFUSALS_LOGGED_PER_SECOND lines a second.
            let admitted = state.refusals.lock().map(|mut log| log.admit(Instant::now())).unwrap_or(Some(0));
            if let Some(left_out) = admitted {
                let more = match left_out {
                    0 => String::new(),
                    n => format!(" ({n} more refusals not logged since the last line)"),
                };
                eprintln!(
                    "llm-clusters-server: {method} {path}: {} ({} ms){more}",
                    log_safe(&rejection.to_string()),
                    started.elapsed().as_millis()
                );
            }
            let mut response = json_response(status_code(rejection.status), rejection.body());
            if rejection.status == Status::Unavailable {
                // Busy or the database is away: SDKs that read it wait before retrying.
                response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
            }
            response
        }
    };
    cors(response.headers_mut(), origin);
    Ok(response)
}

async fn respond(
    request: Request<Incoming>,
    state: &Arc<State>,
    peer: IpAddr,
) -> Result<(Response<Full<Bytes>>, Option<Accepted>), Rejection> {
    let path = request.uri().path();
    if matches!(path, "/healthz" | "/_health") {
        state.store.ping().await?;
        return Ok((json_response(StatusCode::OK, r#"{"status":"ok"}"#.to_string()), None));
    }
    let Some(protocol) = protocol_of(path) else {
        return Err(Rejection::new(Status::NotFound, "not_found", format!("no endpoint {}", clip(path))));
    };
    match *request.method() {
        Method::POST => {}
        // Browsers ask first (posthog-js from another origin).
        Method::OPTIONS => return Ok((json_response(StatusCode::OK, String::new()), None)),
        _ => return Err(Rejection::new(Status::MethodNotAllowed, "method_not_allowed", "events are sent with POST")),
    }
    let parts = OwnedParts::of(&request)?;
    let header_key = bearer(parts.authorization.as_deref()).map(str::to_string);
    if protocol == Protocol::V1 && header_key.is_none() {
        // Refused before a byte of the body is read.
        return Err(missing_bearer());
    }
    let max = state.limits.max_body_bytes;
    // hyper's own reading of Content-Length (it refuses malformed or conflicting ones).
    if request.body().size_hint().lower() > max as u64 {
        // Refused before a byte of the body is read.
        return Err(too_large(max, "(Content-Length)"));
    }
    if let Some(key) = &header_key {
        // The key is in a header: checked before a byte of the body is read.
        state.gate.check(&state.store, key).await?;
    }
    // Who the request is, for the fair shares of body bytes and decoding slots: its key when
    // the header has one, else its address (the key in a body is known only once it is decoded).
    let client = client_of(header_key.as_deref(), peer);
    // Held until the request is answered: the body, then what it decodes to.
    let (body, _buffered) = read_body(request.into_body(), state, &client).await?;
    let (decoded, _decoded_share) = decode_bounded(state, protocol, parts, body, &client, header_key.is_some()).await?;
    let stored = state.store.capture(&decoded.api_key, &decoded.payload).await?;
    let answer = match protocol {
        Protocol::Legacy => r#"{"status":1}"#.to_string(),
        Protocol::V1 => {
            let results: serde_json::Map<String, serde_json::Value> =
                decoded.uuids.iter().map(|u| (u.clone(), serde_json::json!({"result": "ok"}))).collect();
            serde_json::json!({ "results": results }).to_string()
        }
    };
    let accepted =
        Accepted { compression: decoded.compression, received: decoded.received, ignored: decoded.ignored, stored };
    Ok((json_response(StatusCode::OK, answer), Some(accepted)))
}

/// The headers decoding reads, each sent at most once (two `Authorization` or
/// `Content-Encoding` headers would leave which one counts to chance).
#[derive(Debug, Default, Clone)]
pub struct OwnedParts {
    pub query: Option<String>,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub authorization: Option<String>,
}

impl OwnedParts {
    pub fn of<B>(request: &Request<B>) -> Result<OwnedParts, Rejection> {
        let headers = request.headers();
        Ok(OwnedParts {
            query: request.uri().query().map(str::to_string),
            content_type: single(headers, CONTENT_TYPE.as_str(), Status::BadRequest)?,
            content_encoding: single(headers, CONTENT_ENCODING.as_str(), Status::UnsupportedMediaType)?,
            authorization: single(headers, AUTHORIZATION.as_str(), Status::BadRequest)?,
        })
    }

    pub fn parts(&self) -> Parts<'_> {
        Parts {
            query: self.query.as_deref(),
            content_type: self.content_type.as_deref(),
            content_encoding: self.content_encoding.as_deref(),
            authorization: self.authorization.as_deref(),
        }
    }
}

/// A header's value: none, or exactly one of visible ASCII; otherwise refused.
pub fn single(headers: &HeaderMap, name: &str, status: Status) -> Result<Option<String>, Rejection> {
    let mut values = headers.get_all(name).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return match headers.get_all(name).iter().count() {
            0 => Ok(None),
            n => Err(Rejection::new(status, "invalid_header", format!("{name} is sent {n} times: send it once"))),
        };
    };
    match value.to_str() {
        Ok(text) => Ok(Some(text.to_string())),
        Err(_) => Err(Rejection::new(status, "invalid_header", format!("{name} is not visible ASCII"))),
    }
}

/// Prepares, finds and checks the key (unless the header's was checked already), then
/// parses: on the blocking pool (it is CPU work), holding one of `--max-decoding` slots,
/// taken in `client`'s turn (`fair`), until it is done, even if the client hangs up
/// meanwhile. Before parsing, what the parse will take ([`decoded_size`]) is charged to
/// `--max-buffered-mb` and to the client's half of it, and the shares are returned, to be
/// held until the answer: the decoded events outlive the slot (they wait for a database
/// connection, then for capture()), and a key's holder (posthog-js puts keys in web pages)
/// could otherwise send 18 KB of gzip that parsed to 600 MB, again and again while earlier
/// ones waited.
async fn decode_bounded(
    state: &Arc<State>,
    protocol: Protocol,
    parts: OwnedParts,
    body: Bytes,
    client: &str,
    key_checked: bool,
) -> Result<(Decoded, (OwnedSemaphorePermit, HeldShare)), Rejection> {
    let busy = || {
        Rejection::new(
            Status::Unavailable,
            "busy",
            format!(
                "all --max-decoding slots busy for {} s (--decode-wait-s): retry",
                state.limits.decode_wait.as_secs()
            ),
        )
    };
    let permit: FairPermit = state.decoding.acquire(client, state.limits.decode_wait).await.ok_or_else(busy)?;
    let state = state.clone();
    let client = client.to_string();
    let runtime = tokio::runtime::Handle::current();
    let max = state.limits.max_body_bytes;
    let work = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let parts = parts.parts();
        let prepared = prepare(parts, &body, max)?;
        if !key_checked {
            let key = key_of(protocol, parts.authorization, &prepared.bytes)?;
            // A blocking-pool thread may wait on the runtime; the slot stays held, so the
            // text (up to --max-body-mb) is counted while the database answers.
            runtime.block_on(state.gate.check(&state.store, &key))?;
        }
        let share = runtime.block_on(decoded_share(&state, &client, decoded_size(&prepared.bytes)?))?;
        Ok((parse(protocol, parts, prepared)?, share))
    });
    match work.await {
        Ok(result) => result,
        Err(e) => Err(Rejection::new(Status::Internal, "internal", format!("decoding stopped: {e}"))),
    }
}

/// `size` bytes of `--max-buffered-mb`, and of `client`'s share of it, for a body's decoded
/// events: 413 when the share could never hold them, 503 when the client's requests hold
/// its share or the budget stays too full for `--decode-wait-s`.
async fn decoded_share(
    state: &State,
    client: &str,
    size: usize,
) -> Result<(OwnedSemaphorePermit, HeldShare), Rejection> {
    let budget = state.client_bodies.cap().min(Semaphore::MAX_PERMITS);
    let permits = u32::try_from(size).ok().filter(|&n| n as usize <= budget).ok_or_else(|| {
        Rejection::new(
            Status::PayloadTooLarge,
            "payload_too_large",
            format!(
                "the body decodes to about {} MB, more than one client may hold ({} MB, half of --max-buffered-mb): send fewer or larger values per request",
                size >> 20,
                budget >> 20
            ),
        )
    })?;
    let mut share = state.client_bodies.start(client);
    if !share.grow(size) {
        return Err(client_share_full(state));
    }
    let wait = tokio::time::timeout(state.limits.decode_wait, state.buffered.clone().acquire_many_owned(permits));
    match wait.await {
        Ok(Ok(permit)) => Ok((permit, share)),
        _ => Err(Rejection::new(
            Status::Unavailable,
            "busy",
            format!(
                "decoded request bodies fill --max-buffered-mb for {} s (--decode-wait-s): retry",
                state.limits.decode_wait.as_secs()
            ),
        )),
    }
}

/// The body, within `--max-body-mb` and `--read-timeout-s`, and the share of
/// `--max-buffered-mb` it holds. Without the budget, every open connection could hold a
/// body of `--max-body-mb` before its key was known (512 connections, 10 GB), whatever the
/// key. When the budget stays full for `--decode-wait-s`, 503: SDKs retry.
///
/// Each frame is copied into one buffer as it arrives, and the budget is charged for that
/// buffer's capacity ([`BodyBuffer`]): what is charged is what is held. Keeping the frames
/// themselves held far more than their bytes: a chunked body of 1-byte chunks is one frame
/// per byte, each a 32-byte handle pinning the connection's read buffer, so one anonymous
/// 20 MB body took 750 MB of the server and `--max-buffered-mb` 256 about 9 GB.
async fn read_body(
    body: Incoming,
    state: &State,
    client: &str,
) -> Result<(Bytes, (Option<OwnedSemaphorePermit>, HeldShare)), Rejection> {
    let (max, timeout) = (state.limits.max_body_bytes, state.limits.read_timeout);
    let read = async {
        let mut body = Limited::new(body, max);
        let (mut buffer, mut held): (BodyBuffer, Option<OwnedSemaphorePermit>) = (BodyBuffer::new(max), None);
        let mut share = state.client_bodies.start(client);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| match e.downcast_ref::<http_body_util::LengthLimitError>() {
                Some(_) => too_large(max, ""),
                None => Rejection::bad_request("invalid_payload", format!("reading the body: {e}")),
            })?;
            let Ok(data) = frame.into_data() else { continue };
            let growth = buffer.growth_for(data.len());
            if growth > 0 {
                // Limited keeps the body within max (at most 1024 MB): growth fits a u32.
                let bytes = u32::try_from(growth).map_err(|_| too_large(max, ""))?;
                if !share.grow(growth) {
                    return Err(client_share_full(state));
                }
                let wait =
                    tokio::time::timeout(state.limits.decode_wait, state.buffered.clone().acquire_many_owned(bytes));
                let Ok(Ok(permit)) = wait.await else {
                    return Err(Rejection::new(
                        Status::Unavailable,
                        "busy",
                        format!(
                            "request bodies fill --max-buffered-mb for {} s (--decode-wait-s): retry",
                            state.limits.decode_wait.as_secs()
                        ),
                    ));
                };
                match held.as_mut() {
                    Some(all) => all.merge(permit),
                    None => held = Some(permit),
                }
            }
            buffer.push(&data, growth);
        }
        Ok((buffer.into_bytes(), (held, share)))
    };
    match tokio::time::timeout(timeout, read).await {
        Err(_) => Err(Rejection::new(
            Status::RequestTimeout,
            "request_timeout",
            format!("the body did not arrive within {} s (--read-timeout-s)", timeout.as_secs()),
        )),
        Ok(result) => result,
    }
}

/// 503: the client's requests (bodies and what they decode to) hold its share.
fn client_share_full(state: &State) -> Rejection {
    Rejection::new(
        Status::Unavailable,
        "busy",
        format!(
            "this client's request bodies hold half of --max-buffered-mb ({} MB): retry",
            state.client_bodies.cap() >> 20
        ),
    )
}

/// A request body being received: one allocation whose capacity is what the caller charges
/// to `--max-buffered-mb`, however the body was cut into frames. It grows by doubling (so
/// copying stays linear) and never past the body limit.
pub struct BodyBuffer {
    bytes: Vec<u8>,
    max: usize,
}

impl BodyBuffer {
    pub fn new(max: usize) -> BodyBuffer {
        BodyBuffer { bytes: Vec::new(), max }
    }

    /// Bytes of capacity to add before `len` more bytes fit: what the caller charges.
    pub fn growth_for(&self, len: usize) -> usize {
        let needed = self.bytes.len().saturating_add(len);
        let capacity = self.bytes.capacity();
        if needed <= capacity {
            return 0;
        }
        let doubled = capacity.saturating_mul(2).max(8 * 1024).min(self.max.max(needed));
        doubled.max(needed) - capacity
    }

    /// Appends `data`, growing by exactly `growth` (what `growth_for` said, now charged).
    pub fn push(&mut self, data: &[u8], growth: usize) {
        if growth > 0 {
            self.bytes.reserve_exact(self.bytes.capacity() + growth - self.bytes.len());
        }
        self.bytes.extend_from_slice(data);
    }

    /// Bytes of memory held.
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    pub fn into_bytes(self) -> Bytes {
        Bytes::from(self.bytes)
    }
}

fn status_code(status: Status) -> StatusCode {
    StatusCode::from_u16(status.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn json_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// posthog-js posts from web pages of other origins; the key, not the origin, authenticates.
fn cors(headers: &mut HeaderMap, origin: Option<HeaderValue>) {
    headers.insert("access-control-allow-origin", origin.unwrap_or_else(|| HeaderValue::from_static("*")));
    headers.insert("access-control-allow-methods", HeaderValue::from_static("POST, OPTIONS"));
    headers.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("content-type, content-encoding, authorization, posthog-sdk-info, posthog-attempt, posthog-request-id, posthog-request-timestamp"),
    );
    headers.insert("access-control-allow-credentials", HeaderValue::from_static("true"));
    headers.insert("vary", HeaderValue::from_static("origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flood of refusals in one second gets REFUSALS_LOGGED_PER_SECOND lines, and the
    /// next second's first line counts what was left out.
    #[test]
    fn refusal_log_is_bounded_per_second() {
        let mut log = RefusalLog::default();
        let start = Instant::now();
        let lines = (0..100_000).filter(|_| log.admit(start).is_some()).count();
        assert_eq!(lines, REFUSALS_LOGGED_PER_SECOND as usize);
        assert_eq!(log.admit(start + Duration::from_millis(999)), None);
        assert_eq!(log.admit(start + Duration::from_secs(1)), Some(100_000 - 10 + 1));
        assert_eq!(log.admit(start + Duration::from_secs(1)), Some(0));
    }

    /// However a body is cut into frames (one byte each, as a chunked body may be), the
    /// memory it holds is the capacity charged to --max-buffered-mb: at most twice its
    /// bytes, never past the body limit, and one allocation.
    #[test]
    fn a_body_holds_what_it_is_charged_however_it_is_framed() {
        let max = 1 << 20;
        for frame in [1usize, 7, 4096, 100_000, max] {
            let (mut buffer, mut charged, mut received) = (BodyBuffer::new(max), 0usize, 0usize);
            while received < max {
                let len = frame.min(max - received);
                let growth = buffer.growth_for(len);
                charged += growth;
                buffer.push(&vec![b' '; len], growth);
                received += len;
                assert_eq!(
                    buffer.capacity(),
                    charged,
                    "frames of {frame}: held {} charged {charged}",
                    buffer.capacity()
                );
                assert!(charged <= (2 * received).max(8 * 1024), "frames of {frame}: {charged} for {received}");
            }
            assert!(charged <= max, "frames of {frame}: {charged} past the limit {max}");
            assert_eq!(buffer.into_bytes().len(), max);
        }
    }

    /// A detail quoting an event name with a newline stays one line.
    #[test]
    fn log_lines_escape_control_characters() {
        let forged = "\"x\nllm-clusters-server: POST /batch/ 200\r\u{1b}[2J\u{2028}\" is not one of";
        let line = log_safe(forged);
        assert!(!line.chars().any(|c| c.is_control() || c == '\u{2028}'), "{line}");
        assert!(line.contains("\\nllm-clusters-server") && line.contains("is not one of"));
        assert_eq!(log_safe("plain détail"), "plain détail");
    }
}
