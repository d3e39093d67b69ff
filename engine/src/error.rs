//! The one error type of the engine. The extension maps each kind to a SQLSTATE.

use std::fmt;

/// What went wrong, coarse enough to map onto a SQLSTATE class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A value is of the right type but not allowed (22023).
    InvalidParameter,
    /// A value could not be read as the type it must be (22P02).
    InvalidText,
    /// A number is outside its allowed range (22003).
    OutOfRange,
    /// A required value is missing (22004).
    NullNotAllowed,
    /// A timestamp could not be parsed (22007).
    InvalidDatetime,
    /// An input is larger than a documented limit (54000).
    LimitExceeded,
    /// A column the source contract needs is missing (42703).
    UndefinedColumn,
    /// A column has the wrong type (42804).
    DatatypeMismatch,
    /// A named object does not exist (P0002).
    NotFound,
    /// An id names rows of more than one team (21000).
    Ambiguous,
    /// Another session holds what this one needs (55P03).
    Busy,
    /// The caller asked the computation to stop (57014).
    Cancelled,
    /// A setting the operation needs is missing or off (55000).
    NotConfigured,
    /// The role doing the work may not read what it needs (42501).
    InsufficientPrivilege,
    /// A file the operation needs does not exist (58P01).
    UndefinedFile,
    /// A file exists but cannot be read or is not what it must be (58030).
    FileError,
    /// The items have no structure to cluster (a run records it as skipped, 22023 if raised).
    NothingToGroup,
    /// A bug: an invariant of the engine did not hold (XX000).
    Internal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EngineError {
    pub kind: ErrorKind,
    pub message: String,
    /// What the user can do about it (a PostgreSQL HINT).
    pub hint: Option<String>,
}

impl EngineError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), hint: None }
    }

    /// A value the caller gave is not allowed (22023): `message` says which and why.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }

    /// A bug: `e` says which invariant did not hold.
    pub fn internal(e: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Internal, e.to_string())
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EngineError {}

pub type Result<T> = std::result::Result<T, EngineError>;

/// A document the extension writes (one of its own serde types), as JSON.
pub fn to_json(value: &impl serde::Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| EngineError::new(ErrorKind::Internal, format!("cannot write JSON: {e}")))
}
