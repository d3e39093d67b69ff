//! The one error type of the server: a refusal with the HTTP status an SDK understands
//! (400 drop the batch, 401 bad key, 413 too large, 503 retry later) and PostHog's error
//! body `{"type", "code", "detail"}`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    BadRequest,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    PayloadTooLarge,
    UnsupportedMediaType,
    Internal,
    Unavailable,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::BadRequest => 400,
            Status::Unauthorized => 401,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::RequestTimeout => 408,
            Status::PayloadTooLarge => 413,
            Status::UnsupportedMediaType => 415,
            Status::Internal => 500,
            Status::Unavailable => 503,
        }
    }

    /// PostHog's `type` field.
    fn kind(self) -> &'static str {
        match self {
            Status::Unauthorized => "authentication_error",
            Status::Internal | Status::Unavailable => "server_error",
            _ => "validation_error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: Status,
    /// A short machine-readable code (`invalid_payload`, `invalid_api_key`, ...).
    pub code: &'static str,
    pub detail: String,
}

impl Rejection {
    pub fn new(status: Status, code: &'static str, detail: impl Into<String>) -> Self {
        Rejection { status, code, detail: detail.into() }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Rejection::new(Status::BadRequest, code, detail)
    }

    pub fn body(&self) -> String {
        serde_json::json!({"type": self.status.kind(), "code": self.code, "detail": self.detail}).to_string()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.code(), self.code, self.detail)
    }
}

impl std::error::Error for Rejection {}
