//! Jobs: the job model as a run reads it (`Job`, `load_job`, its window, a run's team and
//! source), and validation of the source contract, filters and params on every write.

use crate::error::{raise, OrRaise};
use crate::gucs::MAX_JOBS_PER_TEAM;
use crate::pg::{Owner, Required};
use llm_clusters_engine::cluster::Params;
use llm_clusters_engine::filters::parse_filters;
use llm_clusters_engine::source::{check_source_columns, EmbeddingKind, Level};
use llm_clusters_engine::{EngineError, ErrorKind};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;

/// A job's source relation as a run reads it: its quoted name and the role it is read as.
pub struct Source {
    pub oid: pg_sys::Oid,
    /// The relation's schema-qualified, quoted name, safe in SQL text.
    pub name: String,
    pub owner: Owner,
}

impl Source {
    /// The source of job `job_id`, checked now: the relation exists, the owner exists and
    /// may read it (42501 naming both otherwise, so the run fails with that reason).
    pub fn of_job(job_id: i32, source: pg_sys::Oid, owner: pg_sys::Oid) -> Source {
        let name = source_name(source);
        let owner = Owner::existing(owner, job_id);
        // The same rule as the jobs trigger: a grant revoked since then fails the run here.
        let (allowed, role) = Spi::get_two_with_args::<bool, String>(
            "SELECT llm_clusters._owner_may_read($1::regrole, $2::regclass), pg_catalog.pg_get_userbyid($1)::text",
            &[owner.oid.into(), source.into()],
        )
        .or_raise();
        if allowed != Some(true) {
            let role = role.unwrap_or_default();
            raise(
                EngineError::new(
                    ErrorKind::InsufficientPrivilege,
                    format!("role \"{role}\", the owner of job {job_id}, may not read its source {name}"),
                )
                .with_hint(format!("GRANT SELECT ON {name} TO \"{role}\", or give the job an owner that may read it.")),
            );
        }
        Source { oid: source, name, owner }
    }

    /// The source's columns checked against the contract, and the type of its embedding.
    pub fn embedding_kind(&self) -> EmbeddingKind {
        checked_columns(self.oid, &self.name)
    }

    /// Runs `f`, which reads this source, with the owner's rights (see `Owner::run`).
    pub fn read<T>(&self, f: impl FnOnce() -> T) -> T {
        self.owner.run(f)
    }
}

/// A relation's schema-qualified name, each part quoted: safe in SQL text, and found
/// whatever the search_path (sources are read with `pg_catalog, pg_temp`).
pub fn source_name(source: pg_sys::Oid) -> String {
    // A regclass column does not stop its relation from being dropped.
    Spi::get_one_with_args::<String>(
        "SELECT (SELECT format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1)",
        &[source.into()],
    )
    .or_raise()
    .unwrap_or_else(|| {
        raise(EngineError::new(
            ErrorKind::NotFound,
            format!("source relation with oid {} no longer exists (dropped?)", source.to_u32()),
        ))
    })
}

/// The columns of `source` checked against the contract.
pub fn source_embedding_kind(source: pg_sys::Oid) -> EmbeddingKind {
    checked_columns(source, &source_name(source))
}

/// The columns of relation `source`, called `name` in errors, checked against the contract.
fn checked_columns(source: pg_sys::Oid, name: &str) -> EmbeddingKind {
    let columns: Vec<(String, String)> = Spi::connect(|client| {
        client
            .select(
                "SELECT attname::text, format_type(atttypid, NULL) FROM pg_attribute
                 WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped",
                None,
                &[source.into()],
            )?
            .map(|row| {
                Ok((
                    row.get::<String>(1)?.required("pg_attribute.attname"),
                    row.get::<String>(2)?.required("format_type"),
                ))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    check_source_columns(name, &columns).or_raise()
}

/// Parses and checks a job's params, including that `window` is a positive interval.
pub fn checked_params(params: &Value) -> Params {
    let parsed = Params::from_json(params).or_raise();
    let positive =
        Spi::get_one_with_args::<bool>("SELECT $1::interval > interval '0'", &[parsed.window.as_str().into()])
            .or_raise();
    if positive != Some(true) {
        raise(EngineError::new(
            ErrorKind::InvalidParameter,
            format!("params.window must be a positive interval, got \"{}\"", parsed.window),
        ));
    }
    parsed
}

/// Internal: called by the trigger on `llm_clusters.jobs`.
#[pg_extern(volatile, name = "_validate_job")]
pub fn validate_job(source: pg_sys::Oid, filters: JsonB, params: JsonB) -> bool {
    source_embedding_kind(source);
    let filters = parse_filters(&filters.0).or_raise();
    // A regex that PostgreSQL cannot compile fails now rather than at the first run.
    for f in filters.iter().filter(|f| f.operator.is_regex()) {
        Spi::get_one_with_args::<bool>("SELECT '' ~ $1", &[f.values[0].as_str().into()]).or_raise();
    }
    checked_params(&params.0);
    true
}

/// Internal: the current `llm_clusters.max_jobs_per_team` (loads the library's settings).
#[pg_extern(stable, name = "_max_jobs_per_team")]
pub fn max_jobs_per_team() -> i32 {
    MAX_JOBS_PER_TEAM.get()
}

pub struct Job {
    pub id: i32,
    pub team_id: i32,
    pub name: String,
    pub level: Level,
    pub source: pg_sys::Oid,
    /// The role the source is read as.
    pub owner: pg_sys::Oid,
    pub filters: Value,
    pub params: Value,
}

/// The job, or a NotFound error.
pub fn load_job(job_id: i32) -> Job {
    Spi::connect(|client| {
        let table = client.select(
            "SELECT team_id, name, level, source::oid, filters, params, owner::oid FROM llm_clusters.jobs WHERE id = $1",
            Some(1),
            &[job_id.into()],
        )?;
        if table.is_empty() {
            return Ok(None);
        }
        let row = table.first();
        Ok::<_, pgrx::spi::Error>(Some(Job {
            id: job_id,
            team_id: row.get::<i32>(1)?.required("jobs.team_id"),
            name: row.get::<String>(2)?.required("jobs.name"),
            level: Level::parse(&row.get::<String>(3)?.required("jobs.level")).or_raise(),
            source: row.get::<pg_sys::Oid>(4)?.unwrap_or(pg_sys::InvalidOid),
            filters: row.get::<JsonB>(5)?.required("jobs.filters").0,
            params: row.get::<JsonB>(6)?.required("jobs.params").0,
            owner: row.get::<pg_sys::Oid>(7)?.required("jobs.owner"),
        }))
    })
    .or_raise()
    .unwrap_or_else(|| raise(EngineError::new(ErrorKind::NotFound, format!("job {job_id} does not exist"))))
}

/// A run's window, `[start, end)`.
#[derive(Clone, Copy)]
pub struct Window {
    pub start: TimestampWithTimeZone,
    pub end: TimestampWithTimeZone,
}

/// The team of a run and its job's source (None when the job or the relation is gone);
/// None when the run does not exist or is not visible to the caller.
pub fn run_team_and_source(run_id: i64) -> Option<(i32, Option<Source>)> {
    // One row whatever happens (a missing run gives NULLs), read with a fresh snapshot so
    // that a run written earlier in this statement counts.
    let (team_id, job) = Spi::get_two_with_args::<i32, i32>(
        "SELECT r.team_id, (SELECT j.id FROM llm_clusters.jobs j JOIN pg_class c ON c.oid = j.source WHERE j.id = r.job_id)
         FROM (SELECT 1) AS one LEFT JOIN llm_clusters.runs r ON r.id = $1",
        &[run_id.into()],
    )
    .or_raise();
    let source = job.map(|job_id| {
        let job = load_job(job_id);
        Source::of_job(job_id, job.source, job.owner)
    });
    team_id.map(|t| (t, source))
}
