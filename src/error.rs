//! The SQL boundary for errors: every engine error becomes an ERROR with a SQLSTATE.

use llm_clusters_engine::{EngineError, ErrorKind};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

fn sqlstate(kind: ErrorKind) -> PgSqlErrorCode {
    use PgSqlErrorCode::*;
    match kind {
        ErrorKind::InvalidParameter | ErrorKind::NothingToGroup => ERRCODE_INVALID_PARAMETER_VALUE,
        ErrorKind::InvalidText => ERRCODE_INVALID_TEXT_REPRESENTATION,
        ErrorKind::OutOfRange => ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
        ErrorKind::NullNotAllowed => ERRCODE_NULL_VALUE_NOT_ALLOWED,
        ErrorKind::InvalidDatetime => ERRCODE_INVALID_DATETIME_FORMAT,
        ErrorKind::LimitExceeded => ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        ErrorKind::UndefinedColumn => ERRCODE_UNDEFINED_COLUMN,
        ErrorKind::DatatypeMismatch => ERRCODE_DATATYPE_MISMATCH,
        ErrorKind::NotFound => ERRCODE_NO_DATA_FOUND,
        ErrorKind::Ambiguous => ERRCODE_CARDINALITY_VIOLATION,
        ErrorKind::Busy => ERRCODE_LOCK_NOT_AVAILABLE,
        ErrorKind::Cancelled => ERRCODE_QUERY_CANCELED,
        ErrorKind::NotConfigured => ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        ErrorKind::InsufficientPrivilege => ERRCODE_INSUFFICIENT_PRIVILEGE,
        ErrorKind::UndefinedFile => ERRCODE_UNDEFINED_FILE,
        ErrorKind::FileError => ERRCODE_IO_ERROR,
        ErrorKind::Internal => ERRCODE_INTERNAL_ERROR,
    }
}

/// Raises `err` as a PostgreSQL ERROR; does not return.
pub fn raise(err: EngineError) -> ! {
    report(sqlstate(err.kind), err.message, err.hint)
}

/// Raises again an error caught in a subtransaction, with its SQLSTATE.
pub fn raise_again(code: PgSqlErrorCode, message: String) -> ! {
    report(code, message, None)
}

fn report(code: PgSqlErrorCode, message: String, hint: Option<String>) -> ! {
    let mut report = ErrorReport::new(code, message, "llm_clusters");
    if let Some(hint) = hint {
        report = report.set_hint(hint);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// Unwraps an engine result at the SQL boundary.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T, EngineError> {
    fn or_raise(self) -> T {
        self.unwrap_or_else(|e| raise(e))
    }
}

impl<T> OrRaise<T> for Result<T, pgrx::spi::Error> {
    fn or_raise(self) -> T {
        self.unwrap_or_else(|e| raise(EngineError::new(ErrorKind::Internal, format!("SPI: {e}"))))
    }
}
