//! Jobs: the job model as a run reads it (`Job`, `load_job`, its window, a run's team and
//! source), and validation of the source contract, filters and params on every write.

use crate::error::{raise, OrRaise};
use crate::gucs::MAX_JOBS_PER_TEAM;
use crate::pg::{Owner, Required};
use llm_clusters_engine::cluster::Params;
use llm_clusters_engine::filters::parse_filters;
use llm_clusters_engine::source::{check_source_columns, EmbeddingKind, Level, SourceColumn, SqlType};
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
    /// The source of `job`, checked now: the relation exists, the owner exists and may
    /// read it (42501 naming both otherwise, so the run fails with that reason).
    pub fn of_job(job: &Job) -> Source {
        let (job_id, source) = (job.id, job.source);
        let name = source_name(source);
        let owner = Owner::existing(job.owner, || {
            EngineError::new(
                ErrorKind::InsufficientPrivilege,
                format!("the owner of job {job_id} (role oid {}) no longer exists", job.owner.to_u32()),
            )
            .with_hint("Give the job a new owner: UPDATE llm_clusters.jobs SET owner = '<role>' WHERE id = <job id>.")
        });
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
        // A view's functions run as the role that reads it: read as the owner, code of
        // another role (a team admin's view under a superuser's job) would get its rights.
        // Checked at every read, since a view is replaced without touching the job.
        let foreign = Spi::get_one_with_args::<String>(
            "SELECT llm_clusters._source_foreign_code($1::regrole, $2::regclass)",
            &[owner.oid.into(), source.into()],
        )
        .or_raise();
        if let Some(foreign) = foreign {
            let role = role.unwrap_or_default();
            raise(
                EngineError::new(
                    ErrorKind::InsufficientPrivilege,
                    format!(
                        "job {job_id} reads its source {name} as role \"{role}\", but its {foreign}: that code would run with \"{role}\"'s rights"
                    ),
                )
                .with_hint(
                    "Make the job's owner the role that wrote the source (UPDATE llm_clusters.jobs SET owner = ...), or have the owner or a superuser own what the source runs.",
                ),
            );
        }
        Source { oid: source, name, owner }
    }

    /// The source's columns checked against the contract, and the type of its embedding.
    pub fn embedding_type(&self) -> EmbeddingType {
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

/// How a source stores its embeddings, and the type OID every datum read must have.
#[derive(Clone, Copy)]
pub struct EmbeddingType {
    pub kind: EmbeddingKind,
    pub oid: pg_sys::Oid,
}

/// The columns of `source` checked against the contract.
pub fn source_embedding_type(source: pg_sys::Oid) -> EmbeddingType {
    checked_columns(source, &source_name(source))
}

/// pgvector's `vector` and `halfvec`: the base types that belong to the installed `vector`
/// extension (whatever its schema), never types found by name.
fn pgvector_types() -> Vec<(SqlType, pg_sys::Oid)> {
    Spi::connect(|client| {
        client
            .select(
                "SELECT t.typname::text, t.oid FROM pg_catalog.pg_extension e
                 JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
                      AND d.refobjid = e.oid AND d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.deptype = 'e'
                 JOIN pg_catalog.pg_type t ON t.oid = d.objid
                 WHERE e.extname = 'vector' AND t.typname IN ('vector', 'halfvec') AND t.typtype = 'b' AND t.typlen = -1",
                None,
                &[],
            )?
            .map(|row| {
                let sql_type = match row.get::<String>(1)?.required("pg_type.typname").as_str() {
                    "halfvec" => SqlType::HalfVec,
                    _ => SqlType::Vector,
                };
                Ok((sql_type, row.get::<pg_sys::Oid>(2)?.required("pg_type.oid")))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise()
}

/// The contract type a column of type `oid` is, by OID.
fn contract_type(oid: pg_sys::Oid, pgvector: &[(SqlType, pg_sys::Oid)]) -> Option<SqlType> {
    Some(match oid {
        pg_sys::INT4OID => SqlType::Integer,
        pg_sys::INT8OID => SqlType::Bigint,
        pg_sys::FLOAT8OID => SqlType::Double,
        pg_sys::BOOLOID => SqlType::Boolean,
        pg_sys::TEXTOID => SqlType::Text,
        pg_sys::TIMESTAMPTZOID => SqlType::Timestamptz,
        pg_sys::JSONBOID => SqlType::Jsonb,
        pg_sys::FLOAT4ARRAYOID => SqlType::RealArray,
        pg_sys::FLOAT8ARRAYOID => SqlType::DoubleArray,
        _ => return pgvector.iter().find(|(_, o)| *o == oid).map(|(t, _)| *t),
    })
}

/// The columns of relation `source`, called `name` in errors, checked against the contract
/// by type OID.
fn checked_columns(source: pg_sys::Oid, name: &str) -> EmbeddingType {
    let pgvector = pgvector_types();
    let columns: Vec<(SourceColumn, pg_sys::Oid)> = Spi::connect(|client| {
        client
            .select(
                "SELECT a.attname::text, a.atttypid, pg_catalog.format_type(a.atttypid, NULL) FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped",
                None,
                &[source.into()],
            )?
            .map(|row| {
                let oid = row.get::<pg_sys::Oid>(2)?.required("pg_attribute.atttypid");
                let column = SourceColumn {
                    name: row.get::<String>(1)?.required("pg_attribute.attname"),
                    sql_type: contract_type(oid, &pgvector),
                    printed: row.get::<String>(3)?.required("format_type"),
                };
                Ok((column, oid))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    let (list, oids): (Vec<SourceColumn>, Vec<pg_sys::Oid>) = columns.into_iter().unzip();
    let kind = check_source_columns(name, &list).or_raise();
    let oid = list.iter().zip(oids).find(|(c, _)| c.name == "embedding").map(|(_, oid)| oid).required("embedding");
    EmbeddingType { kind, oid }
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
#[search_path(pg_catalog, pg_temp)]
pub fn validate_job_of_level(source: pg_sys::Oid, filters: JsonB, params: JsonB, level: &str) -> bool {
    check_job(source, &filters, &params, Some(Level::parse(level).or_raise()))
}

/// The signature before 0.7.0 (no level), whose symbol the jobs trigger of a schema not
/// yet updated names while it runs on this library: no SQL of its own, and no lens check
/// (that schema's jobs know no lens).
#[pg_extern(volatile, sql = false)]
#[search_path(pg_catalog, pg_temp)]
pub fn validate_job(source: pg_sys::Oid, filters: JsonB, params: JsonB) -> bool {
    check_job(source, &filters, &params, None)
}

/// A job's source, filters and params, and its lens against its level when known.
fn check_job(source: pg_sys::Oid, filters: &JsonB, params: &JsonB, level: Option<Level>) -> bool {
    source_embedding_type(source);
    let filters = parse_filters(&filters.0).or_raise();
    // A regex that PostgreSQL cannot compile fails now rather than at the first run.
    for f in filters.iter().filter(|f| f.operator.is_regex()) {
        Spi::get_one_with_args::<bool>("SELECT '' ~ $1", &[f.values[0].as_str().into()]).or_raise();
    }
    let lens = checked_params(&params.0).lens;
    if let Some(level) = level {
        lens.check_level(level).or_raise();
    }
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

/// Job `job_id` of `team_id`, or of whichever team has that id when the caller names only
/// the id (the public functions take an id): ids come from the identity alone, but rows
/// planted before 0.5.0 may share one, and then the caller must say which team's it is.
/// Raises NotFound when no visible job has the id.
pub fn load_job(team_id: Option<i32>, job_id: i32) -> Job {
    let mut jobs = Spi::connect(|client| {
        client
            .select(
                "SELECT team_id, name, level, source::oid, filters, params, owner::oid FROM llm_clusters.jobs
                 WHERE id = $1 AND ($2::int IS NULL OR team_id = $2) ORDER BY team_id LIMIT 2",
                None,
                &[job_id.into(), team_id.into()],
            )?
            .map(|row| {
                Ok(Job {
                    id: job_id,
                    team_id: row.get::<i32>(1)?.required("jobs.team_id"),
                    name: row.get::<String>(2)?.required("jobs.name"),
                    level: Level::parse(&row.get::<String>(3)?.required("jobs.level")).or_raise(),
                    source: row.get::<pg_sys::Oid>(4)?.unwrap_or(pg_sys::InvalidOid),
                    filters: row.get::<JsonB>(5)?.required("jobs.filters").0,
                    params: row.get::<JsonB>(6)?.required("jobs.params").0,
                    owner: row.get::<pg_sys::Oid>(7)?.required("jobs.owner"),
                })
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    match jobs.len() {
        0 => raise(EngineError::new(ErrorKind::NotFound, format!("job {job_id} does not exist"))),
        1 => jobs.remove(0),
        _ => raise(ambiguous("job", i64::from(job_id), jobs[0].team_id, jobs[1].team_id)),
    }
}

/// The error for an id that two teams' rows share (planted before 0.5.0).
pub fn ambiguous(what: &str, id: i64, team: i32, other: i32) -> EngineError {
    EngineError::new(ErrorKind::Ambiguous, format!("{what} {id} exists in teams {team} and {other}")).with_hint(
        format!(
            "Rows with chosen ids were planted before 0.5.0: delete the {what} of the team that did not create it."
        ),
    )
}

/// A run's window, `[start, end)`.
#[derive(Clone, Copy)]
pub struct Window {
    pub start: TimestampWithTimeZone,
    pub end: TimestampWithTimeZone,
}

/// The team of run `run_id` and its job's source (None when the job or the relation is
/// gone); None when the run does not exist or is not visible to the caller.
pub fn run_team_and_source(run_id: i64) -> Option<(i32, Option<Source>)> {
    let (team_id, job) = run_team_and_job(run_id)?;
    let source = job.map(|job_id| Source::of_job(&load_job(Some(team_id), job_id)));
    Some((team_id, source))
}

/// The team of run `run_id` and its job (None when the job or its source relation is
/// gone); None when the run does not exist or is not visible to the caller. Raises when
/// two teams' runs share the id.
pub fn run_team_and_job(run_id: i64) -> Option<(i32, Option<i32>)> {
    // A read-write call takes a fresh snapshot, so that a run written earlier in this
    // statement (run_job labelling its own run) counts.
    let runs = Spi::connect_mut(|client| {
        client
            .update(
                "SELECT r.team_id, (SELECT j.id FROM llm_clusters.jobs j JOIN pg_catalog.pg_class c ON c.oid = j.source
                                    WHERE j.team_id = r.team_id AND j.id = r.job_id)
                 FROM llm_clusters.runs r WHERE r.id = $1 ORDER BY r.team_id LIMIT 2",
                None,
                &[run_id.into()],
            )?
            .map(|row| Ok((row.get::<i32>(1)?.required("runs.team_id"), row.get::<i32>(2)?)))
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    match runs.as_slice() {
        [] => None,
        [one] => Some(*one),
        [a, b, ..] => raise(ambiguous("run", run_id, a.0, b.0)),
    }
}
