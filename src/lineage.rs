//! Stable cluster ids: a run's clusters are matched to the job's previous succeeded run
//! (the engine's `lineage` module decides), keep or get stable ids, keep their titles
//! when their keywords did not change much, and what happened is written to
//! `llm_clusters.cluster_lineage`.

use crate::error::OrRaise;
use crate::jobs::Job;
use crate::pg::Required;
use llm_clusters_engine::cluster::labels::ClusterLabel;
use llm_clusters_engine::cluster::lineage::{all_new, carry_titles, match_clusters, Event, Overlap, PreviousTitle};
use llm_clusters_engine::cluster::{Clustering, Previous};
use llm_clusters_engine::runs::LineageSummary;
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use std::collections::HashMap;

pub struct PreviousCluster {
    cluster_id: i32,
    stable_id: Option<i64>,
    title: String,
    keywords: Vec<String>,
    centroid: Vec<f32>,
}

pub struct PreviousRun {
    team_id: i32,
    id: i64,
    clusters: Vec<PreviousCluster>,
}

impl PreviousRun {
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Centroids of its clusters (not Outliers), in cluster order.
    pub fn centroids(&self) -> Vec<Vec<f32>> {
        self.clusters.iter().map(|c| c.centroid.clone()).collect()
    }

    /// For each of `ids`, its cluster in this run as an index into `centroids()`, -1 for an
    /// outlier, `Previous::ABSENT` for an item the run did not have.
    pub fn labels(&self, ids: &[String]) -> Vec<i32> {
        let index: HashMap<i32, i32> =
            self.clusters.iter().enumerate().map(|(j, c)| (c.cluster_id, j as i32)).collect();
        let placed: HashMap<String, i32> = Spi::connect(|client| {
            client
                .select(
                    "SELECT item_id, cluster_id FROM llm_clusters.assignments WHERE team_id = $1 AND run_id = $2",
                    None,
                    &[self.team_id.into(), self.id.into()],
                )?
                .filter_map(|row| match (row.get::<String>(1), row.get::<i32>(2)) {
                    (Ok(Some(item)), Ok(Some(cluster))) => Some(Ok((item, cluster))),
                    (Err(e), _) | (_, Err(e)) => Some(Err(e)),
                    _ => None,
                })
                .collect::<Result<HashMap<_, _>, pgrx::spi::Error>>()
        })
        .or_raise();
        ids.iter()
            .map(|id| match placed.get(id) {
                None => Previous::ABSENT,
                Some(-1) => -1,
                Some(c) => index.get(c).copied().unwrap_or(Previous::ABSENT),
            })
            .collect()
    }
}

/// The job's latest succeeded run whose window ends no later than `window_end`.
pub fn previous_run(job: &Job, run_id: i64, window_end: TimestampWithTimeZone) -> Option<PreviousRun> {
    let team_id = job.team_id;
    Spi::connect(|client| {
        let run = client.select(
            "SELECT id FROM llm_clusters.runs WHERE team_id = $4 AND job_id = $1 AND id <> $2 AND status = 'succeeded' AND window_end <= $3
             ORDER BY window_end DESC, id DESC LIMIT 1",
            None,
            &[job.id.into(), run_id.into(), window_end.into(), team_id.into()],
        )?;
        let Some(id) = run.first().get::<i64>(1).ok().flatten() else { return Ok(None) };
        let clusters = client
            .select(
                "SELECT cluster_id, stable_id, title, keywords, centroid FROM llm_clusters.clusters
                 WHERE team_id = $2 AND run_id = $1 AND cluster_id >= 0 AND centroid IS NOT NULL ORDER BY cluster_id",
                None,
                &[id.into(), team_id.into()],
            )?
            .map(|row| {
                Ok(PreviousCluster {
                    cluster_id: row.get::<i32>(1)?.required("clusters.cluster_id"),
                    stable_id: row.get::<i64>(2)?,
                    title: row.get::<String>(3)?.required("clusters.title"),
                    keywords: row.get::<Vec<String>>(4)?.required("clusters.keywords"),
                    centroid: row.get::<Vec<f32>>(5)?.required("clusters.centroid"),
                })
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()?;
        Ok::<_, pgrx::spi::Error>(Some(PreviousRun { team_id, id, clusters }))
    })
    .or_raise()
}

/// Items of each (new cluster, previous cluster) pair, outliers included as -1.
fn shared_items(team_id: i32, run_id: i64, previous_id: i64) -> Vec<(i32, i32, u64)> {
    Spi::connect(|client| {
        client
            .select(
                "SELECT n.cluster_id, p.cluster_id, count(*) FROM llm_clusters.assignments n
                 JOIN llm_clusters.assignments p ON p.team_id = n.team_id AND p.run_id = $2 AND p.item_id = n.item_id
                 WHERE n.team_id = $3 AND n.run_id = $1 GROUP BY 1, 2",
                None,
                &[run_id.into(), previous_id.into(), team_id.into()],
            )?
            .map(|row| {
                Ok((
                    row.get::<i32>(1)?.required("assignments.cluster_id"),
                    row.get::<i32>(2)?.required("assignments.cluster_id"),
                    row.get::<i64>(3)?.required("count(*)") as u64,
                ))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise()
}

fn overlap(run_id: i64, previous: &PreviousRun, result: &Clustering) -> Overlap {
    let index: HashMap<i32, usize> = previous.clusters.iter().enumerate().map(|(j, c)| (c.cluster_id, j)).collect();
    let shared: Vec<(Option<usize>, Option<usize>, u64)> = shared_items(previous.team_id, run_id, previous.id)
        .into_iter()
        .map(|(new, prev, count)| (usize::try_from(new).ok(), index.get(&prev).copied(), count))
        .collect();
    let previous_centroids: Vec<&[f32]> = previous.clusters.iter().map(|c| c.centroid.as_slice()).collect();
    Overlap::from_shared(&shared, &result.centroids, &previous_centroids)
}

/// Gives the run's clusters their stable ids and (kept) titles, writes the lineage rows,
/// and returns a summary for `runs.quality`.
pub fn record(
    job: &Job,
    run_id: i64,
    previous: Option<&PreviousRun>,
    result: &Clustering,
    labels: &[ClusterLabel],
) -> LineageSummary {
    let n_new = result.n_clusters;
    let links = match previous {
        Some(p) => match_clusters(&overlap(run_id, p, result)),
        None => all_new(n_new),
    };
    let prev = |j: Option<usize>| j.and_then(|j| previous.and_then(|p| p.clusters.get(j)));
    let continued: HashMap<usize, usize> =
        links.iter().filter(|l| l.event == Event::Continued).filter_map(|l| Some((l.new?, l.previous?))).collect();
    let fresh_ids: Vec<i64> = Spi::connect(|client| {
        client
            .select(
                "SELECT nextval('llm_clusters.cluster_stable_id_seq') FROM generate_series(1, $1)",
                None,
                &[(n_new as i32).into()],
            )?
            .map(|row| row.get::<i64>(1).map(|id| id.required("nextval")))
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    let stable: Vec<i64> = (0..n_new)
        .map(|i| prev(continued.get(&i).copied()).and_then(|c| c.stable_id).unwrap_or(fresh_ids[i]))
        .collect();

    let previous_titles: Vec<PreviousTitle> = previous
        .map(|p| p.clusters.iter().map(|c| PreviousTitle { title: &c.title, keywords: &c.keywords }).collect())
        .unwrap_or_default();
    let (titles, kept) = carry_titles(labels, &links, &previous_titles);

    // Columns of the lineage rows: stable id, event, cluster, previous cluster, related, similarity.
    type Columns = (Vec<i64>, Vec<String>, Vec<Option<i32>>, Vec<Option<i32>>, Vec<Option<i64>>, Vec<f64>);
    let mut rows: Columns = Default::default();
    for l in &links {
        let (stable_id, related) = match l.event {
            Event::Continued | Event::New => (l.new.map(|i| stable[i]), None),
            Event::Split => (l.new.map(|i| stable[i]), prev(l.previous).and_then(|c| c.stable_id)),
            Event::Gone => (prev(l.previous).and_then(|c| c.stable_id), None),
            Event::Merged => (prev(l.previous).and_then(|c| c.stable_id), l.new.map(|i| stable[i])),
        };
        // A previous cluster without a stable id (none was ever given) has no lineage to record.
        let Some(stable_id) = stable_id else { continue };
        rows.0.push(stable_id);
        rows.1.push(l.event.as_str().to_string());
        rows.2.push(l.new.map(|i| i as i32));
        rows.3.push(prev(l.previous).map(|c| c.cluster_id));
        rows.4.push(related);
        rows.5.push(l.similarity);
    }
    let cluster_ids: Vec<i32> = (0..n_new as i32).collect();
    Spi::connect_mut(|client| {
        client.update(
            "UPDATE llm_clusters.clusters c SET stable_id = u.s, title = u.t
             FROM unnest($2::int[], $3::bigint[], $4::text[]) AS u(c, s, t)
             WHERE c.team_id = $5 AND c.run_id = $1 AND c.cluster_id = u.c",
            None,
            &[run_id.into(), cluster_ids.into(), stable.clone().into(), titles.into(), job.team_id.into()],
        )?;
        client.update(
            "INSERT INTO llm_clusters.cluster_lineage
                 (team_id, job_id, run_id, previous_run_id, stable_id, event, cluster_id, previous_cluster_id, related_stable_id, similarity)
             SELECT $1, $2, $3, $4, s, e, c, pc, r, sim
             FROM unnest($5::bigint[], $6::text[], $7::int[], $8::int[], $9::bigint[], $10::float8[]) AS u(s, e, c, pc, r, sim)",
            None,
            &[
                job.team_id.into(),
                job.id.into(),
                run_id.into(),
                previous.map(|p| p.id).into(),
                rows.0.into(),
                rows.1.into(),
                rows.2.into(),
                rows.3.into(),
                rows.4.into(),
                rows.5.into(),
            ],
        )?;
        Ok::<_, pgrx::spi::Error>(())
    })
    .or_raise();
    let count = |e: Event| links.iter().filter(|l| l.event == e).count();
    LineageSummary {
        previous_run_id: previous.map(|p| p.id),
        continued: count(Event::Continued),
        new: count(Event::New),
        gone: count(Event::Gone),
        split: count(Event::Split),
        merged: count(Event::Merged),
        titles_kept: kept.iter().filter(|&&k| k).count(),
    }
}
