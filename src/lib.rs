//! llm_clusters: the PostgreSQL adapter over the engine crate. SPI, SQL functions, GUCs.
//! Public SQL is hand-written in `sql/`; functions here are the internals it calls.

use pgrx::prelude::*;

mod capture;
mod error;
mod gucs;
mod jobs;
mod run;

::pgrx::pg_module_magic!(name, version);

extension_sql_file!("../sql/tables.sql", name = "tables", bootstrap);
extension_sql_file!(
    "../sql/capture.sql",
    name = "capture",
    requires = ["tables", capture::capture_events, capture::embedding_accum, capture::embedding_mean_final]
);
extension_sql_file!("../sql/items.sql", name = "items", requires = ["capture"]);
extension_sql_file!("../sql/jobs.sql", name = "jobs", requires = ["items"]);
extension_sql_file!(
    "../sql/jobs_api.sql",
    name = "jobs_api",
    requires = ["jobs", jobs::validate_job, jobs::max_jobs_per_team, run::run_job]
);

#[allow(non_snake_case)]
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    gucs::define();
}

#[cfg(any(test, feature = "pg_test"))]
mod tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
