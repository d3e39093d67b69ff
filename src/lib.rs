//! llm_clusters: the PostgreSQL adapter over the engine crate. SPI, SQL functions, GUCs,
//! the background worker.
//! Public SQL is hand-written in `sql/`; functions here are the internals it calls.

use pgrx::prelude::*;

mod ai;
mod assign;
mod capture;
mod datum;
mod embed;
mod error;
mod gucs;
mod http;
mod isolated;
mod items;
mod jobs;
mod labelling;
mod lineage;
mod pages;
mod pg;
mod privacy;
mod query;
mod results;
mod run;
mod scheduler;
mod steering;
mod summary;

::pgrx::pg_module_magic!(name, version);

// Install order: roles first, then each concern's file after the tables and functions it
// names (a view or SQL function is checked when created; plpgsql bodies are not).
extension_sql_file!("../sql/teams.sql", name = "teams", bootstrap);
extension_sql_file!("../sql/capture.sql", name = "capture", requires = ["teams", capture::capture_events]);
extension_sql_file!(
    "../sql/embed.sql",
    name = "embed",
    requires = [
        "teams",
        embed::embedding_accum,
        embed::embedding_mean_final,
        embed::embed_text,
        embed::embed_pending_through,
        embed::embed_summaries
    ]
);
extension_sql_file!("../sql/items.sql", name = "items", requires = ["capture", "embed"]);
extension_sql_file!("../sql/summary.sql", name = "summary", requires = ["items", summary::summarize_pending]);
extension_sql_file!("../sql/jobs.sql", name = "jobs", requires = ["items"]);
extension_sql_file!(
    "../sql/jobs_api.sql",
    name = "jobs_api",
    requires = ["jobs", jobs::validate_job_of_level, jobs::max_jobs_per_team, run::run_job, scheduler::run_due_jobs]
);
extension_sql_file!("../sql/privacy.sql", name = "privacy", requires = ["jobs", privacy::min_distinct_users]);
extension_sql_file!("../sql/lineage.sql", name = "lineage", requires = ["privacy"]);
extension_sql_file!("../sql/assign.sql", name = "assign", requires = ["jobs", assign::assign, assign::assign_pending]);
extension_sql_file!(
    "../sql/reading.sql",
    name = "reading",
    requires = ["lineage", "privacy", "assign", "summary", items::item_previews]
);
extension_sql_file!("../sql/pages.sql", name = "pages", requires = ["teams", pages::report_html, pages::trace_html]);
extension_sql_file!("../sql/ai.sql", name = "ai", requires = ["teams", ai::label_run]);
extension_sql_file!(
    "../sql/steering.sql",
    name = "steering",
    requires = [
        "reading",
        steering::topic_centroid,
        steering::steer_run,
        steering::steered_job,
        privacy::count_distinct_users
    ]
);
extension_sql_file!("../sql/api_keys.sql", name = "api_keys", requires = ["capture"]);
extension_sql_file!("../sql/deletions.sql", name = "deletions", requires = ["jobs_api", "steering"]);
// After deletions.sql: the columns it adds to clusters and themes come after steering's and
// deletions', in the order the 0.7.0 upgrade adds them.
extension_sql_file!(
    "../sql/evaluations.sql",
    name = "evaluations",
    requires = ["deletions", results::evaluation_verdict]
);
// After evaluations: themes.stable_id comes after the columns 0.7.0 added.
extension_sql_file!("../sql/themes_identity.sql", name = "themes_identity", requires = ["evaluations", "lineage"]);

#[allow(non_snake_case)]
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    gucs::define();
    pg::install_owner_hooks();
    // The worker and the settings only the postmaster reads exist only when preloaded; a
    // plain CREATE EXTENSION loads the library later, where both would be refused.
    if unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        gucs::mark_preloaded();
        gucs::define_postmaster();
        scheduler::register();
    }
}

#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
