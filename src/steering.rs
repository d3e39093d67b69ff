//! Steering (`llm_clusters.steering`, sql/steering.sql): a job's merges, splits and pinned
//! topics as a run gives them to the engine, the marks a run writes on the clusters they
//! made, a merge or split made at once on the job's latest run, and the centroid of a
//! pinned topic.

use crate::embed::embed_texts;
use crate::error::{raise, OrRaise};
use crate::gucs::CentroidBudget;
use crate::items::{read_items, ReadOptions};
use crate::jobs::{checked_params, load_job, run_team_and_job, Job, Source, Window};
use crate::labelling::{near_centre_texts, with_title_embedder};
use crate::pg::{check_interrupts, Required};
use crate::privacy::record_distinct_users;
use crate::results::update_metrics;
use llm_clusters_engine::cluster::labels::{label_clusters, label_themes, ThemeMembers};
use llm_clusters_engine::cluster::steering::{merge_now, split_now, Action, Kind, Mark, Regrouped, Steer};
use llm_clusters_engine::cluster::themes::theme_of_merge;
use llm_clusters_engine::vectors::{normalise_rows, real_array_literal};
use llm_clusters_engine::{EngineError, ErrorKind};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::Array;
use std::collections::HashMap;

/// The job's steering, oldest first, with the centroids of the clusters each steer made in
/// `previous_run_id` (the job's previous run).
pub fn of_job(job: &Job, previous_run_id: Option<i64>) -> Vec<Steer> {
    Spi::connect(|client| {
        // In the order they were made (ids cycle: jobs.sql's _unused_id).
        let mut steers: Vec<Steer> = Vec::new();
        // One row per steer and anchor (merges and splits store one anchor per cluster named).
        let rows = client.select(
            "SELECT s.id, s.kind, s.parts, s.centroid, a.anchor
             FROM llm_clusters.steering s
             LEFT JOIN LATERAL (SELECT i, ARRAY(SELECT pg_catalog.unnest(s.anchors[i:i][:])) AS anchor
                                FROM pg_catalog.generate_series(1, pg_catalog.array_length(s.anchors, 1)) i) a ON true
             WHERE s.team_id = $1 AND s.job_id = $2 ORDER BY s.created_at, s.id, a.i",
            None,
            &[job.team_id.into(), job.id.into()],
        )?;
        for row in rows {
            let id = row.get::<i32>(1)?.required("steering.id");
            let kind = row.get::<String>(2)?.required("steering.kind");
            let action = match kind.as_str() {
                "merge" => Action::Merge,
                "split" => Action::Split { parts: row.get::<i32>(3)?.required("steering.parts").max(2) as usize },
                _ => Action::Pin { centroid: row.get::<Vec<f32>>(4)?.required("steering.centroid") },
            };
            let anchor = row.get::<Vec<f32>>(5)?;
            match steers.last_mut() {
                Some(steer) if steer.id == id => steer.anchors.extend(anchor),
                _ => steers.push(Steer { id, action, anchors: anchor.into_iter().collect(), previous: Vec::new() }),
            }
        }
        if let Some(run_id) = previous_run_id {
            let mut centroids = CentroidBudget::new(run_id, "clusters");
            let made = client.select(
                "SELECT steering_id, centroid FROM llm_clusters.clusters
                 WHERE team_id = $1 AND run_id = $2 AND steering_id IS NOT NULL AND centroid IS NOT NULL ORDER BY cluster_id",
                None,
                &[job.team_id.into(), run_id.into()],
            )?;
            for row in made {
                let id = row.get::<i32>(1)?.required("clusters.steering_id");
                if let Some(steer) = steers.iter_mut().find(|steer| steer.id == id) {
                    steer.previous.push(centroids.hold(row.get::<Vec<f32>>(2)?.required("clusters.centroid")));
                }
            }
        }
        Ok::<_, pgrx::spi::Error>(steers)
    })
    .or_raise()
}

/// Writes which steer made each cluster of run `run_id` (`marks[c]` for cluster c), and
/// gives pinned topics their titles.
pub fn mark_clusters(job: &Job, run_id: i64, marks: &[Option<Mark>]) {
    let (mut clusters, mut ids, mut kinds) = (Vec::new(), Vec::new(), Vec::new());
    for (c, mark) in marks.iter().enumerate() {
        if let Some(m) = mark {
            clusters.push(c as i32);
            ids.push(m.steering_id);
            kinds.push(m.kind.as_str());
        }
    }
    if clusters.is_empty() {
        return;
    }
    Spi::connect_mut(|client| {
        client.update(
            "UPDATE llm_clusters.clusters c SET steering_id = u.s, steering = u.k
             FROM unnest($3::int[], $4::int[], $5::text[]) AS u(c, s, k)
             WHERE c.team_id = $1 AND c.run_id = $2 AND c.cluster_id = u.c",
            None,
            &[job.team_id.into(), run_id.into(), clusters.into(), ids.into(), kinds.into()],
        )?;
        client.update(
            "UPDATE llm_clusters.clusters c SET title = s.title
             FROM llm_clusters.steering s
             WHERE c.team_id = $1 AND c.run_id = $2 AND c.steering = $3
               AND s.team_id = c.team_id AND s.id = c.steering_id",
            None,
            &[job.team_id.into(), run_id.into(), Kind::Pin.as_str().into()],
        )?;
        Ok::<_, pgrx::spi::Error>(())
    })
    .or_raise();
}

/// Largest dimension of a topic's embedding (as of an item's).
const MAX_DIMENSION: usize = 16_000;

/// Most examples of a topic, and characters of each (the steering table's and pin_topic's
/// bounds): _topic_centroid holds them itself, since admins may call it directly.
const MAX_EXAMPLES: usize = 50;
const MAX_EXAMPLE_CHARS: usize = 2000;

/// Internal: the centroid of a topic pinned by `pin_topic`: `embedding` scaled to unit length
/// when given, else the unit mean of the examples' unit embeddings (`llm_clusters.embedder`).
#[pg_extern(volatile, parallel_unsafe, name = "_topic_centroid")]
#[search_path(pg_catalog, pg_temp)]
pub fn topic_centroid(examples: Vec<Option<String>>, embedding: Option<Array<f32>>) -> Vec<f32> {
    let example_ok = |e: &Option<String>| {
        e.as_deref().is_some_and(|e| !e.trim_matches(' ').is_empty() && e.chars().count() <= MAX_EXAMPLE_CHARS)
    };
    if examples.is_empty() || examples.len() > MAX_EXAMPLES || !examples.iter().all(example_ok) {
        raise(
            EngineError::new(
                ErrorKind::InvalidParameter,
                format!("a pinned topic needs 1 to {MAX_EXAMPLES} examples, each 1 to {MAX_EXAMPLE_CHARS} characters"),
            )
            .with_hint("Give texts as the job's items read, e.g. ARRAY['I want my money back', 'refund my order']."),
        );
    }
    let invalid = |message: String| -> ! {
        raise(EngineError::new(ErrorKind::InvalidParameter, message).with_hint(
            "Pass a one-dimensional real[] of finite numbers, not all zero (the embedding of the topic, in the job's items' space).",
        ))
    };
    let vectors = match embedding {
        Some(e) => {
            let values: Option<Vec<f32>> =
                if e.contains_nulls() { None } else { e.as_slice().ok().map(<[f32]>::to_vec) };
            // SAFETY: a valid array, read for its number of dimensions only.
            let one_dimensional = unsafe { (*e.into_array_type()).ndim <= 1 };
            let Some(values) = values.filter(|_| one_dimensional) else {
                invalid("the topic's embedding must be a one-dimensional array without NULL elements".into())
            };
            if values.is_empty() || values.len() > MAX_DIMENSION {
                invalid(format!("the topic's embedding has {} dimensions, not 1 to {MAX_DIMENSION}", values.len()));
            }
            vec![values]
        }
        None => {
            let texts: Vec<&str> = examples.iter().flatten().map(String::as_str).collect();
            embed_texts(&texts).0
        }
    };
    let dim = vectors.first().map_or(0, Vec::len);
    if dim == 0 || vectors.iter().any(|v| v.len() != dim || v.iter().any(|x| !x.is_finite())) {
        invalid("the topic's embeddings are not finite vectors of one dimension".into());
    }
    let mut rows = vectors.concat();
    normalise_rows(&mut rows, dim);
    let mut mean = vec![0.0f32; dim];
    rows.chunks(dim).for_each(|r| mean.iter_mut().zip(r).for_each(|(m, v)| *m += v));
    if mean.iter().all(|v| *v == 0.0) {
        invalid("the topic's embedding is all zeros: it has no direction to compare".into());
    }
    normalise_rows(&mut mean, dim);
    mean
}

/// Most items a merge or split acts on at once: what undo_steering keeps of them to restore
/// the run is bounded by it.
const MAX_STEERED_ITEMS: i64 = 200_000;

/// The job of run `run_id`, locked against its runs, when the run is the job's latest
/// succeeded run: the only run a merge or split changes at once (an older run is a record
/// of what was; a steer made on it would leave the clusters shown now as they are).
fn job_of_latest_run(run_id: i64) -> Job {
    let Some((team_id, job_id)) = run_team_and_job(run_id) else {
        raise(
            EngineError::new(ErrorKind::NotFound, format!("run {run_id} does not exist"))
                .with_hint("Steer the clusters of a run of your team's job."),
        )
    };
    let Some(job_id) = job_id else {
        raise(
            EngineError::new(
                ErrorKind::InvalidParameter,
                format!("run {run_id}'s job, or the job's source relation, no longer exists"),
            )
            .with_hint("Steer a run of an existing job."),
        )
    };
    let status = Spi::get_one_with_args::<String>(
        "SELECT status FROM llm_clusters.runs WHERE team_id = $1 AND id = $2",
        &[team_id.into(), run_id.into()],
    )
    .or_raise()
    .required("runs.status");
    if status != "succeeded" {
        raise(
            EngineError::new(
                ErrorKind::InvalidParameter,
                format!("run {run_id} has status {status}: it has no clusters to steer"),
            )
            .with_hint("Steer a succeeded run, e.g. the job's latest."),
        );
    }
    let job = load_job(Some(team_id), job_id);
    // A run of the job waits for the steer to commit (and the steer for a run under way),
    // so that the run steered is still the latest when the steer is written.
    let latest = Spi::get_one_with_args::<i64>(
        "SELECT (SELECT r.id FROM llm_clusters.runs r WHERE r.team_id = j.team_id AND r.job_id = j.id AND r.status = 'succeeded'
                 ORDER BY r.window_end DESC, r.id DESC LIMIT 1)
         FROM llm_clusters.jobs j WHERE j.team_id = $1 AND j.id = $2 FOR NO KEY UPDATE OF j",
        &[team_id.into(), job_id.into()],
    )
    .or_raise();
    if latest != Some(run_id) {
        let latest = latest.map_or_else(|| "none".to_string(), |id| id.to_string());
        raise(
            EngineError::new(
                ErrorKind::NotConfigured,
                format!("run {run_id} is not the latest succeeded run of job {job_id} (that is run {latest})"),
            )
            .with_hint(format!(
                "Steer run {latest}: a merge or split changes the job's latest run at once, and every later run after it."
            )),
        );
    }
    job
}

/// Internal: the work of `merge_clusters` and `split_cluster` (`kind` merge or split) on
/// run `run_id`, the job's latest succeeded run: stores the steer (with what undo needs to
/// restore the run) and regroups the named clusters' items in the run now. Returns the ids
/// of the clusters it made: the merged one (the smallest of the ids named), or the parts of
/// the split, largest first (the largest keeps the split cluster's id and stable id).
#[pg_extern(volatile, parallel_unsafe, name = "_steer_run")]
#[search_path(pg_catalog, pg_temp)]
pub fn steer_run(run_id: Option<i64>, kind: &str, cluster_ids: Vec<Option<i32>>, parts: Option<i32>) -> Vec<i32> {
    let Some(run_id) = run_id else {
        raise(
            EngineError::new(ErrorKind::NullNotAllowed, "run_id must not be NULL")
                .with_hint("Name a run of your team's job."),
        )
    };
    let kind = match kind {
        "merge" => Kind::Merge,
        "split" => Kind::Split,
        other => raise(EngineError::new(ErrorKind::InvalidParameter, format!("no steer \"{other}\" acts on a run"))),
    };
    let job = job_of_latest_run(run_id);
    let team = job.team_id;
    let named: Vec<i32> = cluster_ids.iter().flatten().copied().collect();
    let n_items = Spi::get_one_with_args::<i64>(
        "SELECT count(*) FROM llm_clusters.assignments WHERE team_id = $1 AND run_id = $2 AND cluster_id = ANY($3)",
        &[team.into(), run_id.into(), named.clone().into()],
    )
    .or_raise()
    .unwrap_or(0);
    if n_items > MAX_STEERED_ITEMS {
        raise(
            EngineError::new(
                ErrorKind::LimitExceeded,
                format!(
                    "the clusters named hold {n_items} items; a steer regroups at most {MAX_STEERED_ITEMS} at once"
                ),
            )
            .with_hint("Steer smaller clusters, or lower the job's params.max_items."),
        );
    }
    // _steered_clusters checks the ids (and raises naming what is wrong); the snapshot is
    // the run's rows the steer changes, as they are before it.
    let steering_id = Spi::get_one_with_args::<i32>(
        "INSERT INTO llm_clusters.steering (team_id, job_id, kind, run_id, cluster_ids, stable_ids, anchors, parts, restore)
         SELECT $1, $2, $3, $4, $5, n.stable_ids, n.anchors, $6, llm_clusters._run_snapshot($1, $4, $5)
         FROM llm_clusters._steered_clusters($1, $4, $5) n RETURNING id",
        &[team.into(), job.id.into(), kind.as_str().into(), run_id.into(), cluster_ids.into(), parts.into()],
    )
    .or_raise()
    .required("steering.id");

    let source = Source::of_job(&job);
    let params = checked_params(&job.params);
    let (start, end, dim) = Spi::get_three_with_args::<TimestampWithTimeZone, TimestampWithTimeZone, i32>(
        "SELECT r.window_start, r.window_end,
                (SELECT cardinality(c.centroid) FROM llm_clusters.clusters c
                 WHERE c.team_id = r.team_id AND c.run_id = r.id AND c.cluster_id = $3)
         FROM llm_clusters.runs r WHERE r.team_id = $1 AND r.id = $2",
        &[team.into(), run_id.into(), named[0].into()],
    )
    .or_raise();
    let window = Window { start: start.required("runs.window_start"), end: end.required("runs.window_end") };
    let dim = dim.required("clusters.centroid") as usize;
    // The named clusters' items, read as the run read them (the job's source and filters,
    // the run's window); items the source no longer gives are placed after the others.
    let region: Vec<String> = Spi::connect(|client| {
        client
            .select(
                "SELECT item_id FROM llm_clusters.assignments WHERE team_id = $1 AND run_id = $2 AND cluster_id = ANY($3) ORDER BY item_id",
                None,
                &[team.into(), run_id.into(), named.clone().into()],
            )?
            .map(|row| row.get::<String>(1).map(|id| id.required("assignments.item_id")))
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    let options = ReadOptions { only: Some(region.clone()), dim: Some(dim), all: true };
    let read = read_items(&job, &source, &params, window, &options);
    let (ids, mut data) = (read.items.ids, read.items.data);
    normalise_rows(&mut data, dim);
    let regrouped = match kind {
        Kind::Split => {
            split_now(&data, dim, parts.unwrap_or(2).max(2) as usize, steering_id, params.seed, &check_interrupts)
        }
        _ => merge_now(&data, dim),
    }
    .or_raise();
    let made = made_ids(team, run_id, kind, &named, regrouped.n_parts);
    write_regrouped(&job, &source, run_id, steering_id, kind, &named, &made, &region, &ids, &regrouped);
    made
}

/// The ids of the clusters a steer makes: a merge keeps the smallest id named; a split's
/// largest part keeps the split cluster's id, the others take the run's next ids.
fn made_ids(team: i32, run_id: i64, kind: Kind, named: &[i32], n_parts: usize) -> Vec<i32> {
    let first = named.iter().copied().min().required("cluster id");
    if kind == Kind::Merge {
        return vec![first];
    }
    let next = Spi::get_one_with_args::<i32>(
        "SELECT max(cluster_id) + 1 FROM llm_clusters.clusters WHERE team_id = $1 AND run_id = $2",
        &[team.into(), run_id.into()],
    )
    .or_raise()
    .required("max(cluster_id)");
    std::iter::once(first).chain(next..next + n_parts as i32 - 1).collect()
}

/// Writes a merge or split into its run: the items' clusters, distances and ranks; the
/// clusters made (centroid, radius, map point, offline labels, stable ids, the steer's
/// mark) and those merged away; every cluster's and theme's size, share and metrics (the
/// run's own aggregates); lineage; and the run's cluster count. Items assign_pending placed
/// in the named clusters are dropped, to be placed again by its next call.
#[allow(clippy::too_many_arguments)]
fn write_regrouped(
    job: &Job,
    source: &Source,
    run_id: i64,
    steering_id: i32,
    kind: Kind,
    named: &[i32],
    made: &[i32],
    region: &[String],
    ids: &[String],
    regrouped: &Regrouped,
) {
    let team = job.team_id;
    // Items read: their part; the others (gone from the source) join the largest part, last.
    let read: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let (mut item_ids, mut clusters, mut distance, mut rank) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut unread = 0u32;
    let largest = regrouped.parts.iter().filter(|&&p| p == 0).count() as u32;
    for id in region {
        item_ids.push(id.clone());
        match read.get(id.as_str()) {
            Some(&i) => {
                clusters.push(made[regrouped.parts[i] as usize]);
                distance.push(Some(f64::from(regrouped.distance[i])));
                rank.push(regrouped.rank[i] as i32);
            }
            None => {
                clusters.push(made[0]);
                distance.push(None);
                rank.push((largest + unread) as i32);
                unread += 1;
            }
        }
    }
    let centroids: Vec<String> = regrouped.centroids.iter().map(|c| real_array_literal(c)).collect();
    let radius: Vec<Option<f64>> = regrouped.radius.iter().map(|r| r.is_finite().then_some(f64::from(*r))).collect();
    let absorbed: Vec<i32> = named.iter().copied().filter(|c| !made.contains(c)).collect();
    Spi::connect_mut(|client| {
        client.update(
            "UPDATE llm_clusters.assignments a SET cluster_id = u.c, distance = coalesce(u.d, a.distance), rank = u.r
             FROM unnest($3::text[], $4::int[], $5::float8[], $6::int[]) AS u(i, c, d, r)
             WHERE a.team_id = $1 AND a.run_id = $2 AND a.item_id = u.i",
            None,
            &[team.into(), run_id.into(), item_ids.into(), clusters.into(), distance.into(), rank.into()],
        )?;
        client.update(
            // Marked, and deleted by deletions.sql's trigger: admins hold no DELETE.
            "UPDATE llm_clusters.clusters SET delete_requested = true WHERE team_id = $1 AND run_id = $2 AND cluster_id = ANY($3)",
            None,
            &[team.into(), run_id.into(), absorbed.clone().into()],
        )?;
        // A split's other parts: new clusters of the split one's theme, with new stable ids.
        client.update(
            "INSERT INTO llm_clusters.clusters (team_id, run_id, cluster_id, title, description, keywords, size, share, theme_id, stable_id)
             SELECT o.team_id, o.run_id, u.c, '', '', '{}', 0, 0, o.theme_id, nextval('llm_clusters.cluster_stable_id_seq')
             FROM llm_clusters.clusters o, unnest($4::int[]) AS u(c)
             WHERE o.team_id = $1 AND o.run_id = $2 AND o.cluster_id = $3",
            None,
            &[team.into(), run_id.into(), made[0].into(), made[1..].to_vec().into()],
        )?;
        client.update(
            "UPDATE llm_clusters.clusters c SET centroid = u.cen::real[], radius = u.r, steering_id = $5, steering = $6,
                    x = p.x, y = p.y
             FROM unnest($3::int[], $4::text[], $7::float8[]) AS u(c, cen, r),
                  LATERAL (SELECT avg(a.x) AS x, avg(a.y) AS y FROM llm_clusters.assignments a
                           WHERE a.team_id = $1 AND a.run_id = $2 AND a.cluster_id = u.c) p
             WHERE c.team_id = $1 AND c.run_id = $2 AND c.cluster_id = u.c",
            None,
            &[
                team.into(),
                run_id.into(),
                made.to_vec().into(),
                centroids.into(),
                steering_id.into(),
                kind.as_str().into(),
                radius.into(),
            ],
        )?;
        // Lineage in the run: the clusters merged away merged into the one kept; the split's
        // other parts split from it.
        client.update(
            "UPDATE llm_clusters.cluster_lineage l SET event = 'merged', cluster_id = $4, similarity = NULL,
                    related_stable_id = (SELECT k.stable_id FROM llm_clusters.clusters k WHERE k.team_id = $1 AND k.run_id = $2 AND k.cluster_id = $4)
             FROM jsonb_to_recordset(
                      (SELECT s.restore->'clusters' FROM llm_clusters.steering s WHERE s.team_id = $1 AND s.id = $5)) AS o(cluster_id int, stable_id bigint)
             WHERE l.team_id = $1 AND l.run_id = $2 AND o.cluster_id = ANY($3) AND l.stable_id = o.stable_id",
            None,
            &[team.into(), run_id.into(), absorbed.into(), made[0].into(), steering_id.into()],
        )?;
        client.update(
            "INSERT INTO llm_clusters.cluster_lineage (team_id, job_id, run_id, previous_run_id, stable_id, event, cluster_id, related_stable_id)
             SELECT c.team_id, $3, c.run_id, l.previous_run_id, c.stable_id, 'split', c.cluster_id, o.stable_id
             FROM llm_clusters.clusters c
             JOIN llm_clusters.clusters o ON o.team_id = c.team_id AND o.run_id = c.run_id AND o.cluster_id = $4
             LEFT JOIN llm_clusters.cluster_lineage l ON l.team_id = o.team_id AND l.run_id = o.run_id AND l.stable_id = o.stable_id
             WHERE c.team_id = $1 AND c.run_id = $2 AND c.cluster_id = ANY($5)",
            None,
            &[team.into(), run_id.into(), job.id.into(), made[0].into(), made[1..].to_vec().into()],
        )?;
        client.update(
            "UPDATE llm_clusters.incremental_assignments SET delete_requested = true
             WHERE team_id = $1 AND run_id = $2 AND cluster_id = ANY($3)",
            None,
            &[team.into(), run_id.into(), named.to_vec().into()],
        )?;
        Ok::<_, pgrx::spi::Error>(())
    })
    .or_raise();
    relabel(job, source, run_id, made, regrouped);
    if kind == Kind::Merge {
        let dim = regrouped.centroids.first().map_or(0, Vec::len);
        retheme_merge(job, source, run_id, steering_id, made[0], dim);
    }
    recompute_run(job, source, run_id);
}

/// After a merge of clusters of different themes: the merged cluster joins the theme that
/// held most of its items (`themes::theme_of_merge`), the themes it changed are labelled
/// again from the clusters they now hold (their centroid is their clusters' size-weighted
/// mean, their map point their items' mean), and a theme it emptied is recorded in
/// `theme_lineage` as merged into that theme (`recompute_run` removes it).
fn retheme_merge(job: &Job, source: &Source, run_id: i64, steering_id: i32, merged: i32, dim: usize) {
    let team = job.team_id;
    // The named clusters' themes and sizes before the merge, from the steer's restore; only
    // themes the run has (admins may set clusters.theme_id to any number, which must size
    // nothing below).
    let parts: Vec<(i32, usize)> = Spi::connect(|client| {
        client
            .select(
                "SELECT t.theme_id, (e->>'size')::int
                 FROM llm_clusters.steering s, jsonb_array_elements(s.restore->'clusters') e, llm_clusters.themes t
                 WHERE s.team_id = $1 AND s.id = $2
                   AND t.team_id = s.team_id AND t.run_id = s.run_id AND t.theme_id = (e->>'theme_id')::int",
                None,
                &[team.into(), steering_id.into()],
            )?
            .map(|row| {
                Ok((row.get::<i32>(1)?.required("theme_id"), row.get::<i32>(2)?.required("size").max(0) as usize))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    let mut changed: Vec<i32> = parts.iter().map(|&(t, _)| t).collect();
    changed.sort_unstable();
    changed.dedup();
    let Some(theme) = theme_of_merge(&parts).filter(|_| changed.len() > 1) else { return };
    Spi::run_with_args(
        "UPDATE llm_clusters.clusters SET theme_id = $4 WHERE team_id = $1 AND run_id = $2 AND cluster_id = $3",
        &[team.into(), run_id.into(), merged.into(), theme.into()],
    )
    .or_raise();
    // Every cluster's theme, title, size and centroid; every theme's centroid as stored. The
    // dimension is the merge's own (`dim`): admins may write any centroid into clusters and
    // themes, which must size nothing here.
    type ClusterRow = (i32, Option<i32>, String, i64, Option<Vec<f32>>);
    let mut budget = CentroidBudget::new(run_id, "clusters and themes");
    let (clusters, stored): (Vec<ClusterRow>, HashMap<i32, Vec<f32>>) = Spi::connect(|client| {
        let clusters = client
            .select(
                "SELECT c.cluster_id, c.theme_id, c.title, (SELECT count(*) FROM llm_clusters.assignments a
                        WHERE a.team_id = c.team_id AND a.run_id = c.run_id AND a.cluster_id = c.cluster_id),
                        CASE WHEN cardinality(c.centroid) = $3 THEN c.centroid END
                 FROM llm_clusters.clusters c WHERE c.team_id = $1 AND c.run_id = $2 AND c.cluster_id >= 0",
                None,
                &[team.into(), run_id.into(), (dim as i32).into()],
            )?
            .map(|row| {
                Ok((
                    row.get::<i32>(1)?.required("clusters.cluster_id"),
                    row.get::<i32>(2)?,
                    row.get::<String>(3)?.required("clusters.title"),
                    row.get::<i64>(4)?.required("count(*)"),
                    row.get::<Vec<f32>>(5)?.map(|c| budget.hold(c)),
                ))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()?;
        let stored = client
            .select(
                "SELECT theme_id, centroid FROM llm_clusters.themes
                 WHERE team_id = $1 AND run_id = $2 AND cardinality(centroid) = $3",
                None,
                &[team.into(), run_id.into(), (dim as i32).into()],
            )?
            .map(|row| {
                Ok((
                    row.get::<i32>(1)?.required("themes.theme_id"),
                    budget.hold(row.get::<Vec<f32>>(2)?.required("themes.centroid")),
                ))
            })
            .collect::<Result<HashMap<_, _>, pgrx::spi::Error>>()?;
        Ok::<_, pgrx::spi::Error>((clusters, stored))
    })
    .or_raise();
    // Cluster ids are 0..=9999 (sql/jobs.sql); the themes are indexed by their place among
    // the run's themes of this dimension, so that no id sizes anything.
    let n_clusters = clusters.iter().map(|c| c.0 as usize + 1).max().unwrap_or(0);
    let mut theme_ids: Vec<i32> = stored.keys().chain(changed.iter()).copied().collect();
    theme_ids.sort_unstable();
    theme_ids.dedup();
    let index_of = |t: i32| theme_ids.binary_search(&t).ok();
    let n_themes = theme_ids.len();
    let (mut themes, mut titles, mut sizes) =
        (vec![None; n_clusters], vec![String::new(); n_clusters], vec![0; n_clusters]);
    let mut sums = vec![vec![0f32; dim]; n_themes];
    for (cluster, theme, title, size, centroid) in &clusters {
        let c = *cluster as usize;
        themes[c] = theme.and_then(index_of);
        (titles[c], sizes[c]) = (title.clone(), *size as usize);
        if let (Some(t), Some(centroid)) = (themes[c], centroid) {
            sums[t].iter_mut().zip(centroid).for_each(|(s, x)| *s += *size as f32 * x);
        }
    }
    let centroids: Vec<Vec<f32>> = sums
        .into_iter()
        .enumerate()
        .map(|(t, mut sum)| {
            let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                sum.iter_mut().for_each(|x| *x /= norm);
                sum
            } else {
                stored.get(&theme_ids[t]).cloned().unwrap_or(sum)
            }
        })
        .collect();
    let (ids, item_clusters, ranks) = run_assignments(team, run_id);
    let docs = near_centre_texts(job, source, &ids, &item_clusters, &ranks);
    let docs: Vec<(i32, u32, &str)> = docs.iter().map(|(c, r, t)| (*c, *r, t.as_str())).collect();
    let members = ThemeMembers { themes: &themes, titles: &titles, sizes: &sizes, centroids: &centroids };
    let labels = with_title_embedder(dim, |embed| label_themes(&docs, &members, embed));
    // Every changed theme is among theme_ids.
    let changed_labels: Vec<(i32, usize)> = changed.iter().filter_map(|&t| index_of(t).map(|i| (t, i))).collect();
    Spi::connect_mut(|client| {
        client.update(
            "UPDATE llm_clusters.themes t SET title = u.t, description = u.d, centroid = u.cen::real[],
                    keywords = CASE WHEN u.k = '' THEN '{}'::text[] ELSE string_to_array(u.k, E'\\x1f') END,
                    x = p.x, y = p.y
             FROM unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::text[]) AS u(id, t, d, k, cen),
                  LATERAL (SELECT avg(a.x) AS x, avg(a.y) AS y FROM llm_clusters.assignments a
                           JOIN llm_clusters.clusters c ON c.team_id = a.team_id AND c.run_id = a.run_id AND c.cluster_id = a.cluster_id
                           WHERE a.team_id = $1 AND a.run_id = $2 AND c.theme_id = u.id) p
             WHERE t.team_id = $1 AND t.run_id = $2 AND t.theme_id = u.id",
            None,
            &[
                team.into(),
                run_id.into(),
                changed_labels.iter().map(|&(t, _)| t).collect::<Vec<_>>().into(),
                changed_labels.iter().map(|&(_, i)| labels[i].title.clone()).collect::<Vec<_>>().into(),
                changed_labels.iter().map(|&(_, i)| labels[i].description.clone()).collect::<Vec<_>>().into(),
                changed_labels.iter().map(|&(_, i)| labels[i].keywords.join("\u{1f}")).collect::<Vec<_>>().into(),
                changed_labels.iter().map(|&(_, i)| real_array_literal(&centroids[i])).collect::<Vec<_>>().into(),
            ],
        )?;
        // A theme left without clusters merged into the merged cluster's theme.
        client.update(
            "UPDATE llm_clusters.theme_lineage l SET event = 'merged', theme_id = $3, similarity = NULL,
                    related_stable_id = (SELECT k.stable_id FROM llm_clusters.themes k WHERE k.team_id = $1 AND k.run_id = $2 AND k.theme_id = $3)
             FROM llm_clusters.themes t
             WHERE t.team_id = $1 AND t.run_id = $2 AND t.theme_id = ANY($4) AND t.theme_id <> $3
               AND NOT EXISTS (SELECT 1 FROM llm_clusters.clusters c WHERE c.team_id = t.team_id AND c.run_id = t.run_id AND c.theme_id = t.theme_id)
               AND l.team_id = t.team_id AND l.run_id = t.run_id AND l.stable_id = t.stable_id",
            None,
            &[team.into(), run_id.into(), theme.into(), changed.clone().into()],
        )?;
        Ok::<_, pgrx::spi::Error>(())
    })
    .or_raise();
}

/// Offline labels of the clusters a steer made, from their items' texts against the rest
/// of the run's (the run's own labelling; an AI title, if any, is for the next run).
fn relabel(job: &Job, source: &Source, run_id: i64, made: &[i32], regrouped: &Regrouped) {
    let (ids, clusters, ranks) = run_assignments(job.team_id, run_id);
    let groups: Vec<i32> = clusters.iter().map(|c| made.iter().position(|m| m == c).map_or(-1, |p| p as i32)).collect();
    let docs = near_centre_texts(job, source, &ids, &groups, &ranks);
    let docs: Vec<(i32, u32, &str)> = docs.iter().map(|(g, r, t)| (*g, *r, t.as_str())).collect();
    let dim = regrouped.centroids.first().map_or(0, Vec::len);
    let labels =
        with_title_embedder(dim, |embed| label_clusters(&docs, regrouped.n_parts, &regrouped.centroids, embed));
    Spi::run_with_args(
        "UPDATE llm_clusters.clusters c SET title = u.t, description = u.d,
                keywords = CASE WHEN u.k = '' THEN '{}'::text[] ELSE string_to_array(u.k, E'\\x1f') END
         FROM unnest($3::int[], $4::text[], $5::text[], $6::text[]) AS u(c, t, d, k)
         WHERE c.team_id = $1 AND c.run_id = $2 AND c.cluster_id = u.c",
        &[
            job.team_id.into(),
            run_id.into(),
            made.to_vec().into(),
            labels.iter().map(|l| l.title.clone()).collect::<Vec<_>>().into(),
            labels.iter().map(|l| l.description.clone()).collect::<Vec<_>>().into(),
            labels.iter().map(|l| l.keywords.join("\u{1f}")).collect::<Vec<_>>().into(),
        ],
    )
    .or_raise();
}

/// Every item of the run: its id, cluster and rank in it.
fn run_assignments(team: i32, run_id: i64) -> (Vec<String>, Vec<i32>, Vec<u32>) {
    let rows: Vec<(String, i32, u32)> = Spi::connect(|client| {
        client
            .select(
                "SELECT item_id, cluster_id, rank FROM llm_clusters.assignments WHERE team_id = $1 AND run_id = $2 ORDER BY item_id",
                None,
                &[team.into(), run_id.into()],
            )?
            .map(|row| {
                Ok((
                    row.get::<String>(1)?.required("assignments.item_id"),
                    row.get::<i32>(2)?.required("assignments.cluster_id"),
                    row.get::<i32>(3)?.required("assignments.rank").max(0) as u32,
                ))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for (id, cluster, rank) in rows {
        out.0.push(id);
        out.1.push(cluster);
        out.2.push(rank);
    }
    out
}

/// Size, share and metrics of every cluster and theme of the run, as the run computes
/// them; themes left without a cluster are removed; the run's cluster count.
pub fn recompute_run(job: &Job, source: &Source, run_id: i64) {
    let team = job.team_id;
    let (ids, clusters, _) = run_assignments(team, run_id);
    let themes: HashMap<i32, i32> = Spi::connect(|client| {
        client
            .select(
                "SELECT cluster_id, theme_id FROM llm_clusters.clusters WHERE team_id = $1 AND run_id = $2 AND theme_id IS NOT NULL",
                None,
                &[team.into(), run_id.into()],
            )?
            .map(|row| {
                Ok((row.get::<i32>(1)?.required("clusters.cluster_id"), row.get::<i32>(2)?.required("clusters.theme_id")))
            })
            .collect::<Result<HashMap<_, _>, pgrx::spi::Error>>()
    })
    .or_raise();
    let item_themes: Vec<i32> = clusters.iter().map(|c| themes.get(c).copied().unwrap_or(-1)).collect();
    let n = ids.len();
    update_metrics(job, source, run_id, &ids, &clusters, &item_themes, n);
    Spi::run_with_args(
        "UPDATE llm_clusters.themes t SET delete_requested = true WHERE t.team_id = $1 AND t.run_id = $2
            AND NOT EXISTS (SELECT 1 FROM llm_clusters.clusters c WHERE c.team_id = t.team_id AND c.run_id = t.run_id AND c.theme_id = t.theme_id)",
        &[team.into(), run_id.into()],
    )
    .or_raise();
    Spi::run_with_args(
        "UPDATE llm_clusters.runs r SET n_clusters = (SELECT count(*) FROM llm_clusters.clusters c
                                                        WHERE c.team_id = r.team_id AND c.run_id = r.id AND c.cluster_id >= 0)
         WHERE r.team_id = $1 AND r.id = $2",
        &[team.into(), run_id.into()],
    )
    .or_raise();
    // The privacy floor compares each group's users: the groups changed.
    record_distinct_users(team, run_id);
}

/// Internal: the team of job `job_id` to steer (`pin_topic`, `unpin_topic`,
/// `undo_steering`): `load_job`'s answer, whose checks (visible, one team's) are the runs'.
#[pg_extern(stable, parallel_safe, name = "_steered_job")]
#[search_path(pg_catalog, pg_temp)]
pub fn steered_job(job_id: Option<i32>) -> i32 {
    let Some(job_id) = job_id else {
        raise(
            EngineError::new(ErrorKind::NullNotAllowed, "job_id must not be NULL")
                .with_hint("Name a job of your team."),
        )
    };
    load_job(None, job_id).team_id
}
