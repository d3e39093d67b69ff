//! Steering (`llm_clusters.steering`, sql/steering.sql): a job's merges, splits and pinned
//! topics as a run gives them to the engine, the marks a run writes on the clusters they
//! made, and the centroid of a pinned topic.

use crate::embed::embed_texts;
use crate::error::{raise, OrRaise};
use crate::jobs::Job;
use crate::pg::Required;
use llm_clusters_engine::cluster::steering::{Action, Kind, Mark, Steer};
use llm_clusters_engine::vectors::normalise_rows;
use llm_clusters_engine::{EngineError, ErrorKind};
use pgrx::prelude::*;
use pgrx::Array;
use std::collections::BTreeMap;

/// The job's steering, oldest first, with the centroids of the clusters each steer made in
/// `previous_run_id` (the job's previous run).
pub fn of_job(job: &Job, previous_run_id: Option<i64>) -> Vec<Steer> {
    Spi::connect(|client| {
        let mut steers: BTreeMap<i32, Steer> = BTreeMap::new();
        // One row per steer and anchor (merges and splits store one anchor per cluster named).
        let rows = client.select(
            "SELECT s.id, s.kind, s.parts, s.centroid, a.anchor
             FROM llm_clusters.steering s
             LEFT JOIN LATERAL (SELECT i, ARRAY(SELECT pg_catalog.unnest(s.anchors[i:i][:])) AS anchor
                                FROM pg_catalog.generate_series(1, pg_catalog.array_length(s.anchors, 1)) i) a ON true
             WHERE s.team_id = $1 AND s.job_id = $2 ORDER BY s.id, a.i",
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
            let steer = steers.entry(id).or_insert(Steer { id, action, anchors: Vec::new(), previous: Vec::new() });
            if let Some(anchor) = row.get::<Vec<f32>>(5)? {
                steer.anchors.push(anchor);
            }
        }
        if let Some(run_id) = previous_run_id {
            let made = client.select(
                "SELECT steering_id, centroid FROM llm_clusters.clusters
                 WHERE team_id = $1 AND run_id = $2 AND steering_id IS NOT NULL AND centroid IS NOT NULL ORDER BY cluster_id",
                None,
                &[job.team_id.into(), run_id.into()],
            )?;
            for row in made {
                let id = row.get::<i32>(1)?.required("clusters.steering_id");
                if let Some(steer) = steers.get_mut(&id) {
                    steer.previous.push(row.get::<Vec<f32>>(2)?.required("clusters.centroid"));
                }
            }
        }
        Ok::<_, pgrx::spi::Error>(steers.into_values().collect())
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

/// Internal: the centroid of a topic pinned by `pin_topic`: `embedding` scaled to unit length
/// when given, else the unit mean of the examples' unit embeddings (`llm_clusters.embedder`).
#[pg_extern(volatile, parallel_unsafe, name = "_topic_centroid")]
#[search_path(pg_catalog, pg_temp)]
pub fn topic_centroid(examples: Vec<Option<String>>, embedding: Option<Array<f32>>) -> Vec<f32> {
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
