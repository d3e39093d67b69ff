//! Stable cluster and theme ids: a run's clusters, and its themes, are matched to the job's
//! previous succeeded run's (the engine's `lineage` module decides, on the items they share),
//! keep or get stable ids, keep their titles when their keywords did not change much, and
//! what happened is written to `llm_clusters.cluster_lineage` and `llm_clusters.theme_lineage`.

use crate::error::OrRaise;
use crate::gucs::{refuse_past_memory, stored_bytes, CentroidBudget};
use crate::jobs::Job;
use crate::pg::{check_interrupts, Required};
use llm_clusters_engine::cluster::labels::ClusterLabel;
use llm_clusters_engine::cluster::lineage::{
    all_new, carry_titles, match_clusters, Event, Link, Overlap, PreviousTitle,
};
use llm_clusters_engine::cluster::{Clustering, Previous};
use llm_clusters_engine::runs::LineageSummary;
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use std::collections::HashMap;

/// A cluster or a theme of the previous run.
pub struct PreviousGroup {
    /// Its cluster_id or theme_id.
    id: i32,
    stable_id: Option<i64>,
    title: String,
    keywords: Vec<String>,
    centroid: Vec<f32>,
    /// A cluster's theme_id (-1 for none; -1 for a theme).
    theme_id: i32,
}

pub struct PreviousRun {
    team_id: i32,
    id: i64,
    clusters: Vec<PreviousGroup>,
    themes: Vec<PreviousGroup>,
}

impl PreviousRun {
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Centroids of its clusters (not Outliers), in cluster order.
    pub fn centroids(&self) -> Vec<Vec<f32>> {
        self.clusters.iter().map(|c| c.centroid.clone()).collect()
    }

    /// The theme of each of its clusters (-1 for none), in the order of `centroids()`.
    pub fn cluster_themes(&self) -> Vec<i32> {
        self.clusters.iter().map(|c| c.theme_id).collect()
    }

    /// For each of `ids`, its cluster in this run as an index into `centroids()`, -1 for an
    /// outlier, `Previous::ABSENT` for an item the run did not have.
    pub fn labels(&self, ids: &[String]) -> Vec<i32> {
        let index: HashMap<i32, i32> = self.clusters.iter().enumerate().map(|(j, c)| (c.id, j as i32)).collect();
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
        // Held as assign holds the latest run's (planted rows).
        let mut centroids = CentroidBudget::new(id, "clusters and themes");
        let stored = stored_bytes(
            client,
            &[
                "FROM llm_clusters.clusters g
                 WHERE g.team_id = $2 AND g.run_id = $1 AND g.cluster_id >= 0 AND g.centroid IS NOT NULL",
                "FROM llm_clusters.themes g WHERE g.team_id = $2 AND g.run_id = $1 AND g.centroid IS NOT NULL",
            ],
            id,
            team_id,
        )?;
        centroids.check_stored(stored);
        let mut groups = |sql: &str| {
            client
                .select(sql, None, &[id.into(), team_id.into()])?
                .map(|row| {
                    Ok(PreviousGroup {
                        id: row.get::<i32>(1)?.required("id"),
                        stable_id: row.get::<i64>(2)?,
                        title: row.get::<String>(3)?.required("title"),
                        keywords: row.get::<Vec<String>>(4)?.required("keywords"),
                        centroid: centroids.hold(row.get::<Vec<f32>>(5)?.required("centroid")),
                        theme_id: row.get::<i32>(6)?.unwrap_or(-1),
                    })
                })
                .collect::<Result<Vec<_>, pgrx::spi::Error>>()
        };
        let clusters = groups(
            "SELECT cluster_id, stable_id, title, keywords, centroid, theme_id FROM llm_clusters.clusters
             WHERE team_id = $2 AND run_id = $1 AND cluster_id >= 0 AND centroid IS NOT NULL ORDER BY cluster_id",
        )?;
        let themes = groups(
            "SELECT theme_id, stable_id, title, keywords, centroid, NULL::int FROM llm_clusters.themes
             WHERE team_id = $2 AND run_id = $1 AND centroid IS NOT NULL ORDER BY theme_id",
        )?;
        Ok::<_, pgrx::spi::Error>(Some(PreviousRun { team_id, id, clusters, themes }))
    })
    .or_raise()
}

/// Clusters or themes: which groups a run's identity and lineage are about.
#[derive(Clone, Copy)]
enum Level {
    Clusters,
    Themes,
}

/// Items of each (new group, previous group) pair: clusters (outliers as -1) or themes
/// (outliers as NULL).
fn shared_items(level: Level, team_id: i32, run_id: i64, previous_id: i64) -> Vec<(Option<i32>, Option<i32>, u64)> {
    let sql = match level {
        Level::Clusters => {
            "SELECT n.cluster_id, p.cluster_id, count(*) FROM llm_clusters.assignments n
             JOIN llm_clusters.assignments p ON p.team_id = n.team_id AND p.run_id = $2 AND p.item_id = n.item_id
             WHERE n.team_id = $3 AND n.run_id = $1 GROUP BY 1, 2"
        }
        Level::Themes => {
            "SELECT nc.theme_id, pc.theme_id, count(*) FROM llm_clusters.assignments n
             JOIN llm_clusters.assignments p ON p.team_id = n.team_id AND p.run_id = $2 AND p.item_id = n.item_id
             LEFT JOIN llm_clusters.clusters nc ON nc.team_id = n.team_id AND nc.run_id = n.run_id AND nc.cluster_id = n.cluster_id
             LEFT JOIN llm_clusters.clusters pc ON pc.team_id = p.team_id AND pc.run_id = p.run_id AND pc.cluster_id = p.cluster_id
             WHERE n.team_id = $3 AND n.run_id = $1 GROUP BY 1, 2"
        }
    };
    Spi::connect(|client| {
        client
            .select(sql, None, &[run_id.into(), previous_id.into(), team_id.into()])?
            .map(|row| Ok((row.get::<i32>(1)?, row.get::<i32>(2)?, row.get::<i64>(3)?.required("count(*)") as u64)))
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise()
}

/// The overlap of the new run's groups (`centroids`, by index = id) and `previous`'s.
fn overlap(level: Level, run_id: i64, previous: &PreviousRun, centroids: &[Vec<f32>]) -> Overlap {
    let groups = match level {
        Level::Clusters => &previous.clusters,
        Level::Themes => &previous.themes,
    };
    // The matching holds about five new x previous matrices of 8-byte cells, and the
    // previous run's groups are rows admins plant (millions fit the row budget when their
    // centroids are empty): held to the same budget.
    let cells = centroids.len().saturating_mul(groups.len()).saturating_mul(5 * 8);
    refuse_past_memory(
        i64::try_from(cells).unwrap_or(i64::MAX),
        |limit| {
            format!(
                "matching run {run_id}'s {} groups with run {}'s {} takes more than {limit}",
                centroids.len(),
                previous.id,
                groups.len()
            )
        },
        "Runs make a few hundred clusters: mark the rows inserted into the previous run's clusters and themes deleted (UPDATE ... SET delete_requested = true).",
    );
    let index: HashMap<i32, usize> = groups.iter().enumerate().map(|(j, g)| (g.id, j)).collect();
    let shared: Vec<(Option<usize>, Option<usize>, u64)> = shared_items(level, previous.team_id, run_id, previous.id)
        .into_iter()
        .map(|(new, prev, count)| {
            (new.and_then(|n| usize::try_from(n).ok()), prev.and_then(|p| index.get(&p).copied()), count)
        })
        .collect();
    let previous_centroids: Vec<&[f32]> = groups.iter().map(|g| g.centroid.as_slice()).collect();
    Overlap::from_shared(&shared, centroids, &previous_centroids)
}

/// The identity of a run's groups against the previous run's (`previous`, in the overlap's
/// order): each group's stable id (the previous one's when it continued, else the next of
/// the level's sequence), titles (kept while keywords hold) and the lineage rows.
struct Identity {
    stable: Vec<i64>,
    titles: Vec<String>,
    kept: usize,
    rows: LineageRows,
}

/// Columns of lineage rows: stable id, event, group, previous group, related, similarity.
type LineageRows = (Vec<i64>, Vec<String>, Vec<Option<i32>>, Vec<Option<i32>>, Vec<Option<i64>>, Vec<f64>);

fn identity(links: &[Link], previous: &[PreviousGroup], labels: &[ClusterLabel], level: Level) -> Identity {
    let n_new = labels.len();
    let sequence = match level {
        Level::Clusters => "llm_clusters.cluster_stable_id_seq",
        Level::Themes => "llm_clusters.theme_stable_id_seq",
    };
    let prev = |j: Option<usize>| j.and_then(|j| previous.get(j));
    let continued: HashMap<usize, usize> =
        links.iter().filter(|l| l.event == Event::Continued).filter_map(|l| Some((l.new?, l.previous?))).collect();
    let fresh_ids: Vec<i64> = Spi::connect(|client| {
        client
            .select(
                "SELECT nextval($2::regclass) FROM generate_series(1, $1)",
                None,
                &[(n_new as i32).into(), sequence.into()],
            )?
            .map(|row| row.get::<i64>(1).map(|id| id.required("nextval")))
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    let stable: Vec<i64> = (0..n_new)
        .map(|i| prev(continued.get(&i).copied()).and_then(|g| g.stable_id).unwrap_or(fresh_ids[i]))
        .collect();
    let previous_titles: Vec<PreviousTitle> =
        previous.iter().map(|g| PreviousTitle { title: &g.title, keywords: &g.keywords }).collect();
    let (titles, kept) = carry_titles(labels, links, &previous_titles);
    let mut rows: LineageRows = Default::default();
    for l in links {
        let (stable_id, related) = match l.event {
            Event::Continued | Event::New => (l.new.map(|i| stable[i]), None),
            Event::Split => (l.new.map(|i| stable[i]), prev(l.previous).and_then(|g| g.stable_id)),
            Event::Gone => (prev(l.previous).and_then(|g| g.stable_id), None),
            Event::Merged => (prev(l.previous).and_then(|g| g.stable_id), l.new.map(|i| stable[i])),
        };
        // A previous group without a stable id (none was ever given) has no lineage to record.
        let Some(stable_id) = stable_id else { continue };
        rows.0.push(stable_id);
        rows.1.push(l.event.as_str().to_string());
        rows.2.push(l.new.map(|i| i as i32));
        rows.3.push(prev(l.previous).map(|g| g.id));
        rows.4.push(related);
        rows.5.push(l.similarity);
    }
    Identity { stable, titles, kept: kept.iter().filter(|&&k| k).count(), rows }
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
    let links = match previous {
        Some(p) => {
            match_clusters(&overlap(Level::Clusters, run_id, p, &result.centroids), &check_interrupts).or_raise()
        }
        None => all_new(result.n_clusters),
    };
    let identity = identity(&links, previous.map_or(&[], |p| &p.clusters), labels, Level::Clusters);
    let titles_kept = identity.kept;
    write_identity(Level::Clusters, job, run_id, previous.map(|p| p.id), identity);
    let count = |e: Event| links.iter().filter(|l| l.event == e).count();
    LineageSummary {
        previous_run_id: previous.map(|p| p.id),
        continued: count(Event::Continued),
        new: count(Event::New),
        gone: count(Event::Gone),
        split: count(Event::Split),
        merged: count(Event::Merged),
        titles_kept,
    }
}

/// Gives the run's themes their stable ids and (kept) titles, matched to the previous run's
/// themes as clusters are, and writes their lineage rows.
pub fn record_themes(
    job: &Job,
    run_id: i64,
    previous: Option<&PreviousRun>,
    result: &Clustering,
    labels: &[ClusterLabel],
) {
    let links = match previous {
        Some(p) => {
            match_clusters(&overlap(Level::Themes, run_id, p, &result.theme_centroids), &check_interrupts).or_raise()
        }
        None => all_new(result.n_themes),
    };
    let identity = identity(&links, previous.map_or(&[], |p| &p.themes), labels, Level::Themes);
    write_identity(Level::Themes, job, run_id, previous.map(|p| p.id), identity);
}

/// Stores `identity` for the run's groups of `level`: their stable ids and titles, and
/// their lineage rows.
fn write_identity(level: Level, job: &Job, run_id: i64, previous_run_id: Option<i64>, identity: Identity) {
    let (update, insert) = match level {
        Level::Clusters => (
            "UPDATE llm_clusters.clusters c SET stable_id = u.s, title = u.t
             FROM unnest($2::int[], $3::bigint[], $4::text[]) AS u(id, s, t)
             WHERE c.team_id = $5 AND c.run_id = $1 AND c.cluster_id = u.id",
            "INSERT INTO llm_clusters.cluster_lineage
                 (team_id, job_id, run_id, previous_run_id, stable_id, event, cluster_id, previous_cluster_id, related_stable_id, similarity)
             SELECT $1, $2, $3, $4, s, e, g, pg, r, sim
             FROM unnest($5::bigint[], $6::text[], $7::int[], $8::int[], $9::bigint[], $10::float8[]) AS u(s, e, g, pg, r, sim)",
        ),
        Level::Themes => (
            "UPDATE llm_clusters.themes t SET stable_id = u.s, title = u.t
             FROM unnest($2::int[], $3::bigint[], $4::text[]) AS u(id, s, t)
             WHERE t.team_id = $5 AND t.run_id = $1 AND t.theme_id = u.id",
            "INSERT INTO llm_clusters.theme_lineage
                 (team_id, job_id, run_id, previous_run_id, stable_id, event, theme_id, previous_theme_id, related_stable_id, similarity)
             SELECT $1, $2, $3, $4, s, e, g, pg, r, sim
             FROM unnest($5::bigint[], $6::text[], $7::int[], $8::int[], $9::bigint[], $10::float8[]) AS u(s, e, g, pg, r, sim)",
        ),
    };
    let ids: Vec<i32> = (0..identity.stable.len() as i32).collect();
    let Identity { stable, titles, rows, .. } = identity;
    Spi::connect_mut(|client| {
        client.update(update, None, &[run_id.into(), ids.into(), stable.into(), titles.into(), job.team_id.into()])?;
        client.update(
            insert,
            None,
            &[
                job.team_id.into(),
                job.id.into(),
                run_id.into(),
                previous_run_id.into(),
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
}
