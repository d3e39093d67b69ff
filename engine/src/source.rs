//! The source contract: the columns every job source provides, checked against the
//! (name, type) list PostgreSQL reports for a relation.

use crate::capture::truncate;
use crate::error::{EngineError, ErrorKind, Result};

/// What an item is: one generation (`item_id` = the event's uuid), one trace (`item_id`
/// = the trace id) or one evaluation (`item_id` = the `$ai_evaluation` event's uuid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Generation,
    Trace,
    Evaluation,
}

impl Level {
    pub fn parse(text: &str) -> Result<Level> {
        match text {
            "generation" => Ok(Level::Generation),
            "trace" => Ok(Level::Trace),
            "evaluation" => Ok(Level::Evaluation),
            _ => Err(EngineError::new(
                ErrorKind::InvalidParameter,
                format!("level must be 'trace', 'generation' or 'evaluation', got \"{}\"", truncate(text, 100)),
            )),
        }
    }

    /// The name SQL uses (`jobs.level`, `embeddings.level`, `item_summaries.level`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Generation => "generation",
            Level::Trace => "trace",
            Level::Evaluation => "evaluation",
        }
    }

    /// Whether items of this level have summaries (`summarize_pending`, `embed_summaries`):
    /// traces and generations; an evaluation is its own short text.
    pub fn has_summaries(self) -> bool {
        self != Level::Evaluation
    }
}

/// How a source stores its embeddings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddingKind {
    Real,
    Double,
    /// pgvector `vector`
    Vector,
    /// pgvector `halfvec`
    HalfVec,
}

/// The column types of the contract. The adapter identifies them by type OID (the
/// built-in ones, and pgvector's as the types of the installed `vector` extension), never
/// by the name `format_type` prints, which depends on search_path: a domain or a type named
/// `vector` in another schema is not one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    Integer,
    Bigint,
    Double,
    Boolean,
    Text,
    Timestamptz,
    Jsonb,
    RealArray,
    DoubleArray,
    Vector,
    HalfVec,
}

impl SqlType {
    pub fn name(self) -> &'static str {
        match self {
            SqlType::Integer => "integer",
            SqlType::Bigint => "bigint",
            SqlType::Double => "double precision",
            SqlType::Boolean => "boolean",
            SqlType::Text => "text",
            SqlType::Timestamptz => "timestamp with time zone",
            SqlType::Jsonb => "jsonb",
            SqlType::RealArray => "real[]",
            SqlType::DoubleArray => "double precision[]",
            SqlType::Vector => "vector",
            SqlType::HalfVec => "halfvec",
        }
    }

    /// How an embedding of this type is stored (None: not an embedding type).
    pub fn embedding_kind(self) -> Option<EmbeddingKind> {
        match self {
            SqlType::RealArray => Some(EmbeddingKind::Real),
            SqlType::DoubleArray => Some(EmbeddingKind::Double),
            SqlType::Vector => Some(EmbeddingKind::Vector),
            SqlType::HalfVec => Some(EmbeddingKind::HalfVec),
            _ => None,
        }
    }
}

/// Column name and the types it may have.
pub const CONTRACT: &[(&str, &[SqlType])] = &[
    ("team_id", &[SqlType::Integer]),
    ("item_id", &[SqlType::Text]),
    ("trace_id", &[SqlType::Text]),
    ("ts", &[SqlType::Timestamptz]),
    ("embedding", &[SqlType::RealArray, SqlType::DoubleArray, SqlType::Vector, SqlType::HalfVec]),
    ("content", &[SqlType::Text]),
    ("cost_usd", &[SqlType::Double]),
    ("latency_s", &[SqlType::Double]),
    ("tokens", &[SqlType::Bigint]),
    ("is_error", &[SqlType::Boolean]),
    ("properties", &[SqlType::Jsonb]),
];

/// A column of a relation as the adapter reads it from the catalog.
#[derive(Debug, Clone)]
pub struct SourceColumn {
    pub name: String,
    /// The contract type it is, identified by OID; None for any other type.
    pub sql_type: Option<SqlType>,
    /// What `format_type` prints, for messages only.
    pub printed: String,
}

/// Checks `columns` against the contract; returns how the embedding is stored.
pub fn check_source_columns(source: &str, columns: &[SourceColumn]) -> Result<EmbeddingKind> {
    let names = |allowed: &[SqlType]| allowed.iter().map(|t| t.name()).collect::<Vec<_>>().join(" or ");
    let mut embedding = None;
    for (name, allowed) in CONTRACT {
        let found = columns.iter().find(|c| c.name == *name).ok_or_else(|| {
            EngineError::new(
                ErrorKind::UndefinedColumn,
                format!("source {source} has no column \"{name}\" (of type {})", names(allowed)),
            )
        })?;
        match found.sql_type {
            Some(t) if allowed.contains(&t) => {
                if *name == "embedding" {
                    embedding = t.embedding_kind();
                }
            }
            _ => {
                return Err(EngineError::new(
                    ErrorKind::DatatypeMismatch,
                    format!(
                        "column \"{name}\" of source {source} is {}, expected {}",
                        found.printed,
                        names(allowed)
                    ),
                )
                .with_hint("Types are matched exactly: cast the column in a view (a domain, or a type of the same name in another schema, is another type)."))
            }
        }
    }
    embedding
        .ok_or_else(|| EngineError::new(ErrorKind::Internal, "the contract's embedding column has no embedding type"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_print() {
        for level in [Level::Generation, Level::Trace, Level::Evaluation] {
            assert_eq!(Level::parse(level.as_str()).unwrap(), level);
        }
        let e = Level::parse("span").unwrap_err();
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::InvalidParameter, "level must be 'trace', 'generation' or 'evaluation', got \"span\"")
        );
    }

    fn contract_with(embedding: Option<SqlType>, printed: &str) -> Vec<SourceColumn> {
        CONTRACT
            .iter()
            .map(|(n, t)| match *n {
                "embedding" => SourceColumn { name: n.to_string(), sql_type: embedding, printed: printed.to_string() },
                _ => SourceColumn { name: n.to_string(), sql_type: Some(t[0]), printed: t[0].name().to_string() },
            })
            .collect()
    }

    #[test]
    fn detects_embedding_kinds() {
        for (t, kind) in [
            (SqlType::RealArray, EmbeddingKind::Real),
            (SqlType::DoubleArray, EmbeddingKind::Double),
            (SqlType::Vector, EmbeddingKind::Vector),
            (SqlType::HalfVec, EmbeddingKind::HalfVec),
        ] {
            assert_eq!(check_source_columns("s", &contract_with(Some(t), t.name())).unwrap(), kind);
        }
    }

    #[test]
    fn names_missing_and_mistyped_columns() {
        let mut cols = contract_with(Some(SqlType::RealArray), "real[]");
        cols.retain(|c| c.name != "tokens");
        let e = check_source_columns("my_view", &cols).unwrap_err();
        assert_eq!(e.kind, ErrorKind::UndefinedColumn);
        assert_eq!(e.message, "source my_view has no column \"tokens\" (of type bigint)");
        let e = check_source_columns("my_view", &contract_with(Some(SqlType::Text), "text")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::DatatypeMismatch);
        assert!(e.message.contains("column \"embedding\" of source my_view is text"));
    }

    #[test]
    fn a_type_printed_like_a_contract_type_is_not_one() {
        // A domain named vector (or a type of that name in another schema): printed "vector",
        // identified as no contract type.
        let e = check_source_columns("s", &contract_with(None, "vector")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::DatatypeMismatch);
        assert_eq!(
            e.message,
            "column \"embedding\" of source s is vector, expected real[] or double precision[] or vector or halfvec"
        );
        let mut cols = contract_with(Some(SqlType::Vector), "vector");
        cols[0].sql_type = None; // team_id printed "integer", but a domain over it
        assert_eq!(check_source_columns("s", &cols).unwrap_err().kind, ErrorKind::DatatypeMismatch);
    }
}
