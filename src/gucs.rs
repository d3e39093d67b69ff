//! Configuration settings (GUCs). Every setting of the extension is defined here.

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::ffi::CString;

/// Largest payload `capture()` accepts, in megabytes of jsonb.
pub static MAX_CAPTURE_MB: GucSetting<i32> = GucSetting::<i32>::new(64);

/// Memory one run may use for embeddings and the engine's work on them, in MB.
pub static MAX_MEMORY_MB: GucSetting<i32> = GucSetting::<i32>::new(4096);

/// Most jobs one team may have.
pub static MAX_JOBS_PER_TEAM: GucSetting<i32> = GucSetting::<i32>::new(5);

/// The database the background worker connects to (postmaster start only).
pub static DATABASE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"postgres"));

/// Whether the background worker runs the daily cycle.
pub static SCHEDULER_ENABLED: GucSetting<bool> = GucSetting::<bool>::new(true);

/// UTC time of day at which each daily cycle starts, `HH:MM` or `HH:MM:SS`.
pub static DAILY_RUN_TIME: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"00:15"));

/// Seconds the worker sleeps between checks for due jobs.
pub static SCHEDULER_NAPTIME: GucSetting<i32> = GucSetting::<i32>::new(60);

/// Seconds between the worker's passes of assign_pending() over every enabled job (0: never).
pub static ASSIGN_INTERVAL: GucSetting<i32> = GucSetting::<i32>::new(3600);

/// Link of a dot in report_html(), with {item_id}, {trace_id} and {run_id} placeholders.
pub static REPORT_ITEM_URL: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// The current `llm_clusters.daily_run_time` text.
pub fn daily_run_time() -> String {
    DAILY_RUN_TIME.get().map(|c| c.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Settings only the postmaster may set; defined only while the library is preloaded
/// (defining them later makes CREATE EXTENSION fail).
pub fn define_postmaster() {
    GucRegistry::define_string_guc(
        c"llm_clusters.database",
        c"Database the llm_clusters background worker connects to.",
        c"The worker runs the due jobs of this database once a day. Needs a restart to change.",
        &DATABASE,
        GucContext::Postmaster,
        GucFlags::default(),
    );
}

pub fn define() {
    GucRegistry::define_bool_guc(
        c"llm_clusters.scheduler_enabled",
        c"Whether the llm_clusters background worker runs the daily cycle.",
        c"Only has an effect when llm_clusters is in shared_preload_libraries. Takes effect on reload.",
        &SCHEDULER_ENABLED,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"llm_clusters.daily_run_time",
        c"UTC time of day (HH:MM or HH:MM:SS) at which each daily cycle starts.",
        c"From then on, the worker and llm_clusters.run_due_jobs() run each enabled job once, over the window ending at that time. Takes effect on reload.",
        &DAILY_RUN_TIME,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"llm_clusters.report_item_url",
        c"Where a dot of report_html() links to, e.g. https://app.example.com/traces/{trace_id}.",
        c"Placeholders {item_id}, {trace_id} and {run_id} are replaced, URL-encoded. Only http(s) and site-relative links are followed. Empty: dots link nowhere.",
        &REPORT_ITEM_URL,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"llm_clusters.assign_interval",
        c"Seconds between the background worker's passes of assign_pending() over the enabled jobs.",
        c"Between daily runs, new items are placed into the clusters of their job's latest run. 0 turns it off. Takes effect on reload.",
        &ASSIGN_INTERVAL,
        0,
        7 * 86_400,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"llm_clusters.scheduler_naptime",
        c"Seconds the llm_clusters background worker sleeps between checks for due jobs.",
        c"Takes effect on reload.",
        &SCHEDULER_NAPTIME,
        1,
        3600,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"llm_clusters.max_jobs_per_team",
        c"Most clustering jobs one team may have.",
        c"Enforced on every INSERT into llm_clusters.jobs.",
        &MAX_JOBS_PER_TEAM,
        1,
        10_000,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"llm_clusters.max_memory_mb",
        c"Memory one clustering run may use for its embeddings and the engine's work on them.",
        c"A window with more items than fit (twice their raw float32 size) is clustered through a uniform sample, recorded in runs.quality (sampled_by = max_memory_mb).",
        &MAX_MEMORY_MB,
        16,
        1_048_576,
        GucContext::Suset,
        GucFlags::UNIT_MB,
    );
    GucRegistry::define_int_guc(
        c"llm_clusters.max_capture_mb",
        c"Largest payload, in MB of jsonb, that one capture() call accepts.",
        c"Larger payloads are refused with SQLSTATE 54000 before anything is stored; split them into batches.",
        &MAX_CAPTURE_MB,
        1,
        1024,
        GucContext::Suset,
        GucFlags::UNIT_MB,
    );
}
