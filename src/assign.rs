//! New items between runs: `llm_clusters.assign` places one embedding among the clusters
//! of a job's latest succeeded run; `llm_clusters.assign_pending` places every item that
//! arrived since, and stores them in `incremental_assignments`.

use crate::error::{raise, OrRaise};
use crate::gucs::{stored_bytes, CentroidBudget};
use crate::items::{read_items, ReadOptions, MAX_DIMENSIONS};
use crate::jobs::{checked_params, load_job, Job, Source, Window};
use crate::pg::{check_interrupts, Required};
use llm_clusters_engine::cluster::assign::Centroids;
use llm_clusters_engine::cluster::labels::OUTLIERS_TITLE;
use llm_clusters_engine::vectors::normalise_rows;
use llm_clusters_engine::{EngineError, ErrorKind};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::Array;
use std::collections::HashSet;

const WRITE_BATCH: usize = 10_000;

/// The clusters of a job's latest succeeded run.
struct LatestRun {
    id: i64,
    window_end: TimestampWithTimeZone,
    cluster_ids: Vec<i32>,
    stable_ids: Vec<Option<i64>>,
    titles: Vec<String>,
    centroids: Centroids,
}

fn latest_run(job: &Job) -> LatestRun {
    let (team_id, job_id) = (job.team_id, job.id);
    let found = Spi::connect(|client| {
        let run = client.select(
            "SELECT id, window_end FROM llm_clusters.runs WHERE team_id = $2 AND job_id = $1 AND status = 'succeeded'
             ORDER BY window_end DESC, id DESC LIMIT 1",
            None,
            &[job_id.into(), team_id.into()],
        )?;
        if run.is_empty() {
            return Ok(Err(format!("job {job_id} has no succeeded run to assign items to; run it first")));
        }
        let row = run.first();
        let (id, window_end) = (row.get::<i64>(1)?.required("runs.id"), row.get::<TimestampWithTimeZone>(2)?);
        let mut latest = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut centroids = CentroidBudget::new(id, "clusters");
        let stored = stored_bytes(
            client,
            &["FROM llm_clusters.clusters g
               WHERE g.team_id = $2 AND g.run_id = $1 AND g.cluster_id >= 0 AND g.centroid IS NOT NULL"],
            id,
            team_id,
        )?;
        centroids.check_stored(stored);
        for row in client.select(
            // Titles as readers see them: the privacy floor applies (sql/privacy.sql).
            "SELECT c.cluster_id, c.stable_id, llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users), c.centroid, c.radius
             FROM llm_clusters.clusters c
             LEFT JOIN llm_clusters.distinct_users u
                    ON u.team_id = c.team_id AND u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
             WHERE c.team_id = $2 AND c.run_id = $1 AND c.cluster_id >= 0 AND c.centroid IS NOT NULL ORDER BY c.cluster_id",
            None,
            &[id.into(), team_id.into()],
        )? {
            latest.0.push(row.get::<i32>(1)?.required("clusters.cluster_id"));
            latest.1.push(row.get::<i64>(2)?);
            latest.2.push(row.get::<String>(3)?.required("clusters.title"));
            latest.3.push(centroids.hold(row.get::<Vec<f32>>(4)?.required("clusters.centroid")));
            latest.4.push(row.get::<f64>(5)?.map_or(f32::INFINITY, |r| r as f32));
        }
        Ok::<_, pgrx::spi::Error>(Ok((id, window_end, latest)))
    })
    .or_raise()
    .unwrap_or_else(|message| raise(EngineError::new(ErrorKind::NotFound, message)));
    let (id, window_end, (cluster_ids, stable_ids, titles, centroids, radius)) = found;
    let centroids = Centroids::new(centroids, radius).unwrap_or_else(|_| {
        raise(EngineError::new(
            ErrorKind::NotFound,
            format!("run {id} of job {job_id} has no clusters to assign items to"),
        ))
    });
    let window_end = window_end
        .unwrap_or_else(|| raise(EngineError::new(ErrorKind::Internal, format!("run {id} has no window end"))));
    LatestRun { id, window_end, cluster_ids, stable_ids, titles, centroids }
}

/// Internal: called by `llm_clusters.assign`.
#[pg_extern(stable, strict, name = "_assign")]
#[search_path(pg_catalog, pg_temp)]
pub fn assign(
    job_id: i32,
    embedding: Array<f32>,
) -> TableIterator<
    'static,
    (name!(cluster_id, i32), name!(stable_id, Option<i64>), name!(title, String), name!(distance, f64)),
> {
    // Refused before it is copied: readers call this, and a 1 GB array became 1 GB more of
    // Rust memory, which PostgreSQL neither counts nor bounds (as embedding_mean's).
    if embedding.len() > MAX_DIMENSIONS {
        raise(EngineError::new(
            ErrorKind::InvalidParameter,
            format!("embedding has {} dimensions, more than the {MAX_DIMENSIONS} a job clusters", embedding.len()),
        ));
    }
    let values: Option<Vec<f32>> =
        if embedding.contains_nulls() { None } else { embedding.as_slice().ok().map(<[f32]>::to_vec) };
    // SAFETY: a valid array, checked for its number of dimensions only.
    let one_dimensional = unsafe { (*embedding.into_array_type()).ndim <= 1 };
    let Some(values) = values.filter(|_| one_dimensional) else {
        raise(EngineError::new(
            ErrorKind::InvalidParameter,
            "embedding must be a one-dimensional array without NULL elements",
        ));
    };
    let latest = latest_run(&load_job(None, job_id));
    let unit = latest.centroids.normalised(&values).or_raise();
    let (index, distance) = latest.centroids.place(&unit, &check_interrupts).or_raise()[0];
    let row = match usize::try_from(index) {
        Ok(i) => (latest.cluster_ids[i], latest.stable_ids[i], latest.titles[i].clone(), f64::from(distance)),
        Err(_) => (-1, None, OUTLIERS_TITLE.to_string(), f64::from(distance)),
    };
    TableIterator::once(row)
}

/// Internal: called by `llm_clusters.assign_pending`.
#[pg_extern(volatile, parallel_unsafe, name = "_assign_pending")]
#[search_path(pg_catalog, pg_temp)]
pub fn assign_pending(job_id: i32) -> i64 {
    assign_job(None, job_id)
}

/// Places the new items of job `job_id` (of `team_id`, when the caller knows it).
pub fn assign_job(team_id: Option<i32>, job_id: i32) -> i64 {
    let job = load_job(team_id, job_id);
    let source = Source::of_job(&job);
    let params = checked_params(&job.params);
    let latest = latest_run(&job);
    let window = Window { start: latest.window_end, end: TimestampWithTimeZone::positive_infinity() };
    let options = ReadOptions { dim: Some(latest.centroids.dim()), all: true, ..Default::default() };
    let read = read_items(&job, &source, &params, window, &options);
    // Which of the items read are placed already, asked for those only, with the caller's
    // rights (the extension's own bookkeeping). Every placed id of the run was read before,
    // and admins insert rows of incremental_assignments: 2,000,000 planted rows took each
    // assign_pending (the worker's, every assign_interval) to 1 GB and 16 s, for no new item.
    let placed_already: HashSet<String> = Spi::connect(|client| {
        client
            .select(
                "SELECT item_id FROM llm_clusters.incremental_assignments WHERE team_id = $2 AND run_id = $1 AND item_id = ANY($3)",
                None,
                &[latest.id.into(), job.team_id.into(), read.items.ids.clone().into()],
            )?
            .filter_map(|row| row.get::<String>(1).transpose())
            .collect::<Result<HashSet<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    let items = read.items.without(read.dim, &placed_already);
    let n = items.ids.len();
    let mut data = items.data;
    normalise_rows(&mut data, read.dim);
    let placed = latest.centroids.place(&data, &check_interrupts).or_raise();
    check_interrupts().or_raise();
    let mut stored = 0i64;
    Spi::connect_mut(|client| {
        for start in (0..n).step_by(WRITE_BATCH) {
            let r = start..(start + WRITE_BATCH).min(n);
            let cluster: Vec<i32> = placed[r.clone()].iter().map(|(i, _)| usize::try_from(*i).map_or(-1, |i| latest.cluster_ids[i])).collect();
            let stable: Vec<Option<i64>> = placed[r.clone()].iter().map(|(i, _)| usize::try_from(*i).ok().and_then(|i| latest.stable_ids[i])).collect();
            let distance: Vec<f64> = placed[r.clone()].iter().map(|(_, d)| f64::from(*d)).collect();
            let table = client.update(
                "INSERT INTO llm_clusters.incremental_assignments (team_id, job_id, run_id, item_id, trace_id, cluster_id, stable_id, distance, ts)
                 SELECT $1, $2, $3, i, t, c, s, d, ts
                 FROM unnest($4::text[], $5::text[], $6::int[], $7::bigint[], $8::float8[], $9::timestamptz[]) AS u(i, t, c, s, d, ts)
                 ON CONFLICT (team_id, run_id, item_id) DO NOTHING RETURNING 1",
                None,
                &[
                    job.team_id.into(),
                    job_id.into(),
                    latest.id.into(),
                    items.ids[r.clone()].to_vec().into(),
                    items.trace_ids[r.clone()].to_vec().into(),
                    cluster.into(),
                    stable.into(),
                    distance.into(),
                    items.ts[r.clone()].to_vec().into(),
                ],
            )?;
            stored += table.len() as i64;
            check_interrupts().or_raise();
        }
        Ok::<_, pgrx::spi::Error>(())
    })
    .or_raise();
    stored
}
