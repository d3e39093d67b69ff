//! llm-clusters-server: PostHog SDKs send to llm_clusters unchanged. The server only
//! authenticates, decodes and forwards: the mapping onto columns is `capture()`'s, one
//! call per request (all or nothing; a retried batch stores nothing twice, by uuid).
//!
//! Modules, in import order: `error` (the one error type) ← `config`, `decode` (pure),
//! `fair` (slots shared by clients) ← `store` (the pool) ← `service` (one request) ←
//! `listen`, `main` (listening, shutdown).

pub mod config;
pub mod decode;
pub mod error;
pub mod fair;
pub mod gate;
pub mod listen;
pub mod service;
pub mod store;
pub mod tls;

#[cfg(test)]
mod fuzz;
