//! One HTTP request: route, read the body within the size and time limits, decode,
//! store, answer in PostHog's shape (`{"status": 1}`; capture v1: a result per uuid).

use crate::decode::{decode, protocol_of, too_large, Parts, Protocol};
use crate::error::{Rejection, Status};
use crate::store::Store;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Limits {
    pub max_body_bytes: usize,
    /// How long a client may take to send its body.
    pub read_timeout: Duration,
}

pub struct State {
    pub store: Store,
    pub limits: Limits,
    /// A line per request answered 200 (errors are always logged).
    pub access_log: bool,
}

/// What an accepted request carried, for the access log.
struct Accepted {
    compression: &'static str,
    received: usize,
    ignored: usize,
    stored: i64,
}

pub async fn handle(request: Request<Incoming>, state: Arc<State>) -> Result<Response<Full<Bytes>>, Infallible> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let origin = request.headers().get("origin").cloned();
    let outcome = respond(request, &state).await;
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
            // Never the key or the body: the status and why.
            eprintln!("llm-clusters-server: {method} {path}: {rejection} ({} ms)", started.elapsed().as_millis());
            json_response(status_code(rejection.status), rejection.body())
        }
    };
    cors(response.headers_mut(), origin);
    Ok(response)
}

async fn respond(
    request: Request<Incoming>,
    state: &State,
) -> Result<(Response<Full<Bytes>>, Option<Accepted>), Rejection> {
    let path = request.uri().path();
    if matches!(path, "/healthz" | "/_health") {
        state.store.ping().await?;
        return Ok((json_response(StatusCode::OK, r#"{"status":"ok"}"#.to_string()), None));
    }
    let Some(protocol) = protocol_of(path) else {
        return Err(Rejection::new(Status::NotFound, "not_found", format!("no endpoint {path}")));
    };
    match *request.method() {
        Method::POST => {}
        // Browsers ask first (posthog-js from another origin).
        Method::OPTIONS => return Ok((json_response(StatusCode::OK, String::new()), None)),
        _ => return Err(Rejection::new(Status::MethodNotAllowed, "method_not_allowed", "events are sent with POST")),
    }
    let max = state.limits.max_body_bytes;
    let declared = request.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        // Refused before a byte of the body is read.
        return Err(too_large(max, "(Content-Length)"));
    }
    let headers = request.headers().clone();
    let query = request.uri().query().map(str::to_string);
    let body = read_body(request.into_body(), max, state.limits.read_timeout).await?;
    let parts = Parts {
        query: query.as_deref(),
        content_type: header(&headers, CONTENT_TYPE.as_str()),
        content_encoding: header(&headers, "content-encoding"),
        authorization: header(&headers, "authorization"),
    };
    let decoded = decode(protocol, parts, &body, max)?;
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

async fn read_body(body: Incoming, max: usize, timeout: Duration) -> Result<Bytes, Rejection> {
    match tokio::time::timeout(timeout, Limited::new(body, max).collect()).await {
        Err(_) => Err(Rejection::new(
            Status::RequestTimeout,
            "request_timeout",
            format!("the body did not arrive within {} s (--read-timeout-s)", timeout.as_secs()),
        )),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(too_large(max, "")),
        Ok(Err(e)) => Err(Rejection::bad_request("invalid_payload", format!("reading the body: {e}"))),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
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
