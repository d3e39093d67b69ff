//! The source contract: the columns every job source provides, checked against the
//! (name, type) list PostgreSQL reports for a relation.

use crate::error::{EngineError, ErrorKind, Result};

/// What an item is: one generation (`item_id` = the event's uuid) or one trace (`item_id`
/// = the trace id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Generation,
    Trace,
}

impl Level {
    pub fn parse(text: &str) -> Result<Level> {
        match text {
            "generation" => Ok(Level::Generation),
            "trace" => Ok(Level::Trace),
            _ => Err(EngineError::new(
                ErrorKind::InvalidParameter,
                format!("level must be 'trace' or 'generation', got \"{text}\""),
            )),
        }
    }

    /// The name SQL uses (`jobs.level`, `embeddings.level`, `item_summaries.level`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Generation => "generation",
            Level::Trace => "trace",
        }
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

/// Column name and the `format_type` names it may have.
pub const CONTRACT: &[(&str, &[&str])] = &[
    ("team_id", &["integer"]),
    ("item_id", &["text"]),
    ("trace_id", &["text"]),
    ("ts", &["timestamp with time zone"]),
    ("embedding", &["real[]", "double precision[]", "vector", "halfvec"]),
    ("content", &["text"]),
    ("cost_usd", &["double precision"]),
    ("latency_s", &["double precision"]),
    ("tokens", &["bigint"]),
    ("is_error", &["boolean"]),
    ("properties", &["jsonb"]),
];

/// Checks `columns` (name, type as `format_type` prints it, typmod left out) against the
/// contract; returns how the embedding is stored.
pub fn check_source_columns(source: &str, columns: &[(String, String)]) -> Result<EmbeddingKind> {
    for (name, allowed) in CONTRACT {
        let found = columns.iter().find(|(n, _)| n == name).ok_or_else(|| {
            EngineError::new(
                ErrorKind::UndefinedColumn,
                format!("source {source} has no column \"{name}\" (of type {})", allowed.join(" or ")),
            )
        })?;
        let base = found.1.split('(').next().unwrap_or_default().trim().to_string();
        let base = if found.1.ends_with("[]") && !base.ends_with("[]") { format!("{base}[]") } else { base };
        if !allowed.contains(&base.as_str()) {
            return Err(EngineError::new(
                ErrorKind::DatatypeMismatch,
                format!("column \"{name}\" of source {source} is {}, expected {}", found.1, allowed.join(" or ")),
            ));
        }
    }
    let embedding = &columns.iter().find(|(n, _)| n == "embedding").map(|c| c.1.clone()).unwrap_or_default();
    Ok(if embedding.starts_with("real") {
        EmbeddingKind::Real
    } else if embedding.starts_with("double") {
        EmbeddingKind::Double
    } else if embedding.starts_with("halfvec") {
        EmbeddingKind::HalfVec
    } else {
        EmbeddingKind::Vector
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_print() {
        for level in [Level::Generation, Level::Trace] {
            assert_eq!(Level::parse(level.as_str()).unwrap(), level);
        }
        let e = Level::parse("span").unwrap_err();
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::InvalidParameter, "level must be 'trace' or 'generation', got \"span\"")
        );
    }

    fn contract_with(embedding: &str) -> Vec<(String, String)> {
        CONTRACT
            .iter()
            .map(|(n, t)| (n.to_string(), if *n == "embedding" { embedding.to_string() } else { t[0].to_string() }))
            .collect()
    }

    #[test]
    fn detects_embedding_kinds() {
        assert_eq!(check_source_columns("s", &contract_with("real[]")).unwrap(), EmbeddingKind::Real);
        assert_eq!(check_source_columns("s", &contract_with("double precision[]")).unwrap(), EmbeddingKind::Double);
        assert_eq!(check_source_columns("s", &contract_with("vector(384)")).unwrap(), EmbeddingKind::Vector);
        assert_eq!(check_source_columns("s", &contract_with("halfvec(3)")).unwrap(), EmbeddingKind::HalfVec);
    }

    #[test]
    fn names_missing_and_mistyped_columns() {
        let mut cols = contract_with("real[]");
        cols.retain(|(n, _)| n != "tokens");
        let e = check_source_columns("my_view", &cols).unwrap_err();
        assert_eq!(e.kind, ErrorKind::UndefinedColumn);
        assert_eq!(e.message, "source my_view has no column \"tokens\" (of type bigint)");
        let e = check_source_columns("my_view", &contract_with("text")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::DatatypeMismatch);
        assert!(e.message.contains("column \"embedding\" of source my_view is text"));
    }
}
