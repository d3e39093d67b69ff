//! Configuration settings (GUCs). Every setting of the extension is defined here.

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

/// Largest payload `capture()` accepts, in megabytes of jsonb.
pub static MAX_CAPTURE_MB: GucSetting<i32> = GucSetting::<i32>::new(64);

/// Most jobs one team may have.
pub static MAX_JOBS_PER_TEAM: GucSetting<i32> = GucSetting::<i32>::new(5);

pub fn define() {
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
