//! llm_clusters engine: the parts of the extension that need no PostgreSQL.
//! Payload parsing for `capture`, readable text of LLM calls, and the clustering pipeline.

pub mod ai;
pub mod capture;
pub mod clean;
pub mod cluster;
pub mod content;
pub mod embedder;
pub mod error;
pub mod evaluation;
pub mod filters;
pub mod html;
pub mod lens;
pub mod report;
pub mod runs;
pub mod schedule;
pub mod service;
pub mod source;
pub mod stats;
pub mod text;
pub mod threads;
pub mod timeline;
pub mod timestamp;
pub mod trace;
pub mod vectors;

pub use error::{to_json, EngineError, ErrorKind, Result};
