//! `llm_clusters.run_job`: reads a job's items, clusters them in the engine, labels the
//! clusters and stores runs, clusters and assignments. The work runs in a subtransaction:
//! on any error (or cancel) its writes are rolled back and the run is recorded as failed.

use crate::error::{raise, raise_again, OrRaise};
use crate::gucs::job_time_limit;
use crate::items::{read_items, Items, ReadOptions};
use crate::jobs::{checked_params, load_job, Job, Source, Window};
use crate::labelling::run_labels;
use crate::lineage;
use crate::pg::{check_interrupts, in_subtransaction, with_time_limit_coded, Required};
use crate::privacy::record_distinct_users_of;
use crate::results::{update_metrics, write_results};
use crate::steering;
use llm_clusters_engine::cluster::{cluster_steered, Params, Previous};
use llm_clusters_engine::lens::Lens;
use llm_clusters_engine::runs::{ClusteredQuality, RunQuality, RunStatus};
use llm_clusters_engine::{to_json, EngineError, ErrorKind};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};
use std::time::Instant;

/// What a finished (not failed) run records.
struct Outcome {
    status: RunStatus,
    error: Option<String>,
    n_items: i32,
    n_clusters: i32,
    n_outliers: i32,
    quality: Value,
    timings: Value,
}

impl Outcome {
    /// A run that had nothing to cluster, and why.
    fn skipped(reason: String, n_items: usize, quality: RunQuality, timings: serde_json::Map<String, Value>) -> Self {
        Outcome {
            status: RunStatus::Skipped,
            error: Some(reason),
            n_items: n_items as i32,
            n_clusters: 0,
            n_outliers: 0,
            quality: to_json(&quality).or_raise(),
            timings: Value::Object(timings),
        }
    }
}

/// Internal: called by `llm_clusters.run_job`.
#[pg_extern(volatile, parallel_unsafe, name = "_run_job")]
#[search_path(pg_catalog, pg_temp)]
pub fn run_job(job_id: i32, window_end: TimestampWithTimeZone) -> i64 {
    // The same limit as scheduled runs, as a cancel (this session runs the job itself).
    with_time_limit_coded(job_time_limit(), || run(None, job_id, window_end, None, true))
        .unwrap_or_else(|(code, message)| raise_again(code, message))
        .unwrap_or_else(|| {
            raise(EngineError::new(ErrorKind::Busy, format!("job {job_id} is already running in another session")))
        })
}

/// Runs job `job_id` (of `team_id`, when the caller knows it) over the window ending at `window_end` and returns the run id, or `None`
/// when another session is running the job (or, for a scheduled run, when the job has
/// already run in `cycle`). Once the job is locked, every failure is recorded as a
/// failed run rather than raised. With `ai_labels`, a succeeded run is then labelled by
/// the AI service when that is enabled (the worker does that step outside the transaction).
pub fn run(
    team_id: Option<i32>,
    job_id: i32,
    window_end: TimestampWithTimeZone,
    cycle: Option<TimestampWithTimeZone>,
    ai_labels: bool,
) -> Option<i64> {
    let job = load_job(team_id, job_id);
    // One run of a job at a time: its row, locked, which only the job's team may lock (an
    // advisory lock, whose key anyone may take, would let any role stop a team's runs).
    let locked = Spi::get_one_with_args::<bool>(
        "SELECT count(*) > 0 FROM (SELECT FROM llm_clusters.jobs WHERE team_id = $1 AND id = $2 FOR NO KEY UPDATE SKIP LOCKED) l",
        &[job.team_id.into(), job_id.into()],
    )
    .or_raise();
    if locked != Some(true) {
        return None;
    }
    if let Some(cycle) = cycle {
        // Checked under the lock, with a fresh snapshot: a run that committed meanwhile counts.
        let done = Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT 1 FROM llm_clusters.runs WHERE team_id = $3 AND job_id = $1 AND cycle = $2)",
            &[job_id.into(), cycle.into(), job.team_id.into()],
        )
        .or_raise();
        if done == Some(true) {
            return None;
        }
    }
    let prepared = in_subtransaction(|| {
        let params = checked_params(&job.params);
        let start = Spi::get_one_with_args::<TimestampWithTimeZone>(
            "SELECT $1 - $2::interval",
            &[window_end.into(), params.window.as_str().into()],
        )
        .or_raise()
        .unwrap_or(window_end);
        (params, Window { start, end: window_end }, Source::of_job(&job))
    });
    let window = prepared.as_ref().map_or(Window { start: window_end, end: window_end }, |p| p.1);
    let run_id = Spi::get_one_with_args::<i64>(
        "INSERT INTO llm_clusters.runs (job_id, team_id, job_name, level, window_start, window_end, cycle, params, lens)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        &[
            job_id.into(),
            job.team_id.into(),
            job.name.as_str().into(),
            job.level.as_str().into(),
            window.start.into(),
            window.end.into(),
            cycle.into(),
            JsonB(job.params.clone()).into(),
            // A job whose params no longer parse fails its run; its lens is then the default.
            prepared.as_ref().map_or(Lens::Request, |p| p.0.lens).as_str().into(),
        ],
    )
    .or_raise()
    .required("runs.id");

    let outcome = prepared
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|(params, window, source)| in_subtransaction(|| execute(&job, source, params, run_id, *window)));
    let outcome = outcome.unwrap_or_else(|message| {
        pgrx::warning!("run {run_id} of job {job_id} failed: {message}");
        Outcome {
            status: RunStatus::Failed,
            error: Some(message),
            n_items: 0,
            n_clusters: 0,
            n_outliers: 0,
            quality: json!({}),
            timings: json!({}),
        }
    });
    Spi::run_with_args(
        "UPDATE llm_clusters.runs SET status = $2, error = $3, n_items = $4, n_clusters = $5, n_outliers = $6,
                quality = $7, timings = $8, finished_at = clock_timestamp() WHERE team_id = $9 AND id = $1",
        &[
            run_id.into(),
            outcome.status.as_str().into(),
            outcome.error.into(),
            outcome.n_items.into(),
            outcome.n_clusters.into(),
            outcome.n_outliers.into(),
            JsonB(outcome.quality).into(),
            JsonB(outcome.timings).into(),
            job.team_id.into(),
        ],
    )
    .or_raise();
    if ai_labels && outcome.status == RunStatus::Succeeded {
        if let Err(message) =
            in_subtransaction(|| crate::ai::label_if_enabled(job.team_id, run_id, prepared.as_ref().ok().map(|p| &p.2)))
        {
            pgrx::warning!("run {run_id}: AI labels failed, the offline labels stay: {message}");
        }
    }
    Some(run_id)
}

fn execute(job: &Job, source: &Source, params: &Params, run_id: i64, window: Window) -> Outcome {
    let mut timings = serde_json::Map::new();
    let t = Instant::now();
    let read = read_items(job, source, params, window, &ReadOptions::default());
    timings.insert("read".into(), json!(t.elapsed().as_secs_f64()));
    let n = read.items.ids.len();
    let mut quality = RunQuality {
        items_in_window: read.in_window,
        sampled: read.sampled_by.is_some(),
        sampled_by: read.sampled_by,
        max_items_read: read.max_items,
        skipped_null_embedding: read.skipped_null,
        skipped_invalid_embedding: read.skipped_invalid,
        skipped_non_finite: read.skipped_non_finite,
        skipped_over_max_dimension: read.skipped_over_max_dimension,
        skipped_other_dimension: read.skipped_dimension,
        skipped_long_id: read.skipped_long_id,
        dimension: read.dim,
        clustered: None,
    };
    if n < params.min_items {
        let reason =
            format!("{n} items with a usable embedding in the window, fewer than min_items ({})", params.min_items);
        return Outcome::skipped(reason, n, quality, timings);
    }
    let Items { ids, trace_ids, ts, mut data } = read.items;
    let previous = lineage::previous_run(job, run_id, window.end);
    let previous_centroids = previous.as_ref().map(|p| p.centroids());
    let previous_labels = previous.as_ref().map(|p| p.labels(&ids));
    let previous_themes = previous.as_ref().map(|p| p.cluster_themes()).unwrap_or_default();
    let previous_clusters = previous_centroids
        .as_deref()
        .zip(previous_labels.as_deref())
        .map(|(centroids, labels)| Previous { centroids, labels, themes: &previous_themes });
    let steers = steering::of_job(job, previous.as_ref().map(|p| p.id()));
    let result = match cluster_steered(&mut data, read.dim, params, previous_clusters, &steers, &check_interrupts) {
        Ok(result) => result,
        Err(e) if e.kind == ErrorKind::NothingToGroup => return Outcome::skipped(e.message, n, quality, timings),
        Err(e) => raise(e),
    };
    // The vectors are not read again: give their memory back before labels and writes
    // allocate theirs (at a million rows of 384 dimensions, 1.5 GB).
    drop(data);
    for (phase, secs) in &result.timings {
        timings.insert((*phase).into(), json!(secs));
    }
    let t = Instant::now();
    let labels = run_labels(job, source, &ids, &result);
    timings.insert("label".into(), json!(t.elapsed().as_secs_f64()));
    // The write phase, and its parts (which one a large run waits for).
    let t = Instant::now();
    let mut part = Instant::now();
    let mut lap = |name: &str, timings: &mut serde_json::Map<String, Value>| {
        timings.insert(format!("write_{name}"), json!(part.elapsed().as_secs_f64()));
        part = Instant::now();
    };
    write_results(job, run_id, &ids, &trace_ids, &ts, &result, &labels);
    lap("rows", &mut timings);
    let lineage = lineage::record(job, run_id, previous.as_ref(), &result, &labels.clusters);
    lineage::record_themes(job, run_id, previous.as_ref(), &result, &labels.themes);
    steering::mark_clusters(job, run_id, &result.steering);
    lap("lineage", &mut timings);
    let item_themes = result.item_themes();
    update_metrics(job, source, run_id, &ids, &result.labels, &item_themes, n);
    lap("metrics", &mut timings);
    record_distinct_users_of(job.team_id, run_id, &trace_ids, &result.labels, &item_themes);
    lap("users", &mut timings);
    timings.insert("write".into(), json!(t.elapsed().as_secs_f64()));
    let n_outliers = result.labels.iter().filter(|&&l| l < 0).count();
    quality.clustered = Some(ClusteredQuality::of(&result, lineage));
    Outcome {
        status: RunStatus::Succeeded,
        error: None,
        n_items: n as i32,
        n_clusters: result.n_clusters as i32,
        n_outliers: n_outliers as i32,
        quality: to_json(&quality).or_raise(),
        timings: Value::Object(timings),
    }
}
