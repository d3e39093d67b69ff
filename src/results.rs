//! Writing a run's results: its themes, clusters and assignments, then their size, share
//! and metrics as SQL aggregates over the items joined to the job's source.

use crate::error::OrRaise;
use crate::jobs::{Job, Source};
use crate::pg::check_interrupts;
use llm_clusters_engine::cluster::labels::{RunLabels, OUTLIERS_TITLE};
use llm_clusters_engine::cluster::Clustering;
use llm_clusters_engine::evaluation::Verdict;
use llm_clusters_engine::source::Level;
use llm_clusters_engine::vectors::real_array_literal;
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::JsonB;

const WRITE_BATCH: usize = 10_000;

/// Writes a run's themes, clusters (with their offline labels) and assignments, in batches.
pub fn write_results(
    job: &Job,
    run_id: i64,
    ids: &[String],
    trace_ids: &[Option<String>],
    ts: &[Option<TimestampWithTimeZone>],
    result: &Clustering,
    labels: &RunLabels,
) {
    let (theme_labels, labels) = (&labels.themes, &labels.clusters);
    let n = ids.len();
    let n_outliers = result.labels.iter().filter(|&&l| l < 0).count();
    let mut cluster_ids: Vec<i32> = (0..result.n_clusters as i32).collect();
    let mut titles: Vec<String> = labels.iter().map(|l| l.title.clone()).collect();
    let mut descriptions: Vec<String> = labels.iter().map(|l| l.description.clone()).collect();
    let mut keywords: Vec<String> = labels.iter().map(|l| l.keywords.join("\u{1f}")).collect();
    let mut centroids: Vec<Option<String>> = result.centroids.iter().map(|c| Some(real_array_literal(c))).collect();
    let mut radius: Vec<Option<f64>> = result.radius.iter().map(|r| r.is_finite().then_some(f64::from(*r))).collect();
    let mut xs: Vec<f64> = result.centroid_coords.iter().map(|c| f64::from(c[0])).collect();
    let mut ys: Vec<f64> = result.centroid_coords.iter().map(|c| f64::from(c[1])).collect();
    let mut theme_ids: Vec<Option<i32>> = result.themes.iter().map(|&t| Some(t as i32)).collect();
    if n_outliers > 0 {
        let (sx, sy) = result
            .labels
            .iter()
            .zip(&result.coords)
            .filter(|(l, _)| **l < 0)
            .fold((0.0, 0.0), |a, (_, c)| (a.0 + f64::from(c[0]), a.1 + f64::from(c[1])));
        cluster_ids.push(-1);
        titles.push(OUTLIERS_TITLE.into());
        descriptions.push(format!(
            "• {n_outliers} items that fit no cluster\n• No cluster holds a third of their nearest neighbours, or they lie beyond the nearest cluster's radius"
        ));
        keywords.push(String::new());
        centroids.push(None);
        radius.push(None);
        xs.push(sx / n_outliers as f64);
        ys.push(sy / n_outliers as f64);
        theme_ids.push(None);
    }
    Spi::connect_mut(|client| {
        client.update(
            "INSERT INTO llm_clusters.themes (team_id, run_id, theme_id, title, description, keywords, size, share, centroid, x, y)
             SELECT $1, $2, t - 1, u.title, d, CASE WHEN k = '' THEN '{}'::text[] ELSE string_to_array(k, E'\\x1f') END, 0, 0, cen::real[], x, y
             FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[]) WITH ORDINALITY AS u(title, d, k, cen, x, y, t)",
            None,
            &[
                job.team_id.into(),
                run_id.into(),
                theme_labels.iter().map(|l| l.title.clone()).collect::<Vec<_>>().into(),
                theme_labels.iter().map(|l| l.description.clone()).collect::<Vec<_>>().into(),
                theme_labels.iter().map(|l| l.keywords.join("\u{1f}")).collect::<Vec<_>>().into(),
                result.theme_centroids.iter().map(|c| real_array_literal(c)).collect::<Vec<_>>().into(),
                result.theme_coords.iter().map(|c| f64::from(c[0])).collect::<Vec<_>>().into(),
                result.theme_coords.iter().map(|c| f64::from(c[1])).collect::<Vec<_>>().into(),
            ],
        )?;
        client.update(
            "INSERT INTO llm_clusters.clusters (team_id, run_id, cluster_id, title, description, keywords, size, share, centroid, radius, x, y, theme_id)
             SELECT $1, $2, c, t, d, CASE WHEN k = '' THEN '{}'::text[] ELSE string_to_array(k, E'\\x1f') END, 0, 0, cen::real[], r, x, y, th
             FROM unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::float8[], $10::float8[], $11::int[]) AS u(c, t, d, k, cen, r, x, y, th)",
            None,
            &[
                job.team_id.into(),
                run_id.into(),
                cluster_ids.into(),
                titles.into(),
                descriptions.into(),
                keywords.into(),
                centroids.into(),
                radius.into(),
                xs.into(),
                ys.into(),
                theme_ids.into(),
            ],
        )?;
        Ok::<_, pgrx::spi::Error>(())
    })
    .or_raise();
    // One SPI connection per batch: the arrays a batch binds are made in its memory, which
    // goes with it (in one connection every batch's arrays stayed until the last).
    for start in (0..n).step_by(WRITE_BATCH) {
        let end = (start + WRITE_BATCH).min(n);
        let r = start..end;
        Spi::connect_mut(|client| {
            client.update(
                "INSERT INTO llm_clusters.assignments (team_id, run_id, item_id, trace_id, cluster_id, x, y, distance, rank, ts)
                 SELECT $1, $2, i, t, c, x, y, d, r, ts
                 FROM unnest($3::text[], $4::text[], $5::int[], $6::float8[], $7::float8[], $8::float8[], $9::int[], $10::timestamptz[]) AS u(i, t, c, x, y, d, r, ts)",
                None,
                &[
                    job.team_id.into(),
                    run_id.into(),
                    ids[r.clone()].to_vec().into(),
                    trace_ids[r.clone()].to_vec().into(),
                    result.labels[r.clone()].to_vec().into(),
                    result.coords[r.clone()].iter().map(|c| f64::from(c[0])).collect::<Vec<_>>().into(),
                    result.coords[r.clone()].iter().map(|c| f64::from(c[1])).collect::<Vec<_>>().into(),
                    result.distance[r.clone()].iter().map(|&d| f64::from(d)).collect::<Vec<_>>().into(),
                    result.rank[r.clone()].iter().map(|&x| x as i32).collect::<Vec<_>>().into(),
                    ts[r.clone()].to_vec().into(),
                ],
            )
            .map(drop)
        })
        .or_raise();
        check_interrupts().or_raise();
    }
}

/// Size, share and metrics as SQL aggregates over the run's items joined to the job's
/// source (see the README for the definitions), per cluster (`clusters`: each item's
/// cluster, -1 for Outliers) and per theme (`themes`: each item's theme, -1 for none), in
/// one pass over the source (grouping sets): at a million items each pass is seconds. The
/// aggregates are read from the source as its owner; the clusters and themes are updated
/// with the caller's rights.
pub fn update_metrics(
    job: &Job,
    source: &Source,
    run_id: i64,
    ids: &[String],
    clusters: &[i32],
    themes: &[i32],
    n: usize,
) {
    // An evaluation run's pass rate (passes among the applicable verdicts), N/A rate and
    // most frequent evaluator, read from the PostHog properties of its items; NULL at other levels.
    let (evaluation, verdicts) = if job.level == Level::Evaluation {
        (
            "count(*) FILTER (WHERE v.verdict = 'pass')::float8 / nullif(count(*) FILTER (WHERE v.verdict IN ('pass', 'fail')), 0),
             avg((v.verdict = 'n/a')::int)::float8,
             mode() WITHIN GROUP (ORDER BY pg_catalog.left(s.properties->>'$ai_evaluation_name', 200))",
            "CROSS JOIN LATERAL (SELECT llm_clusters._evaluation_verdict(s.properties->'$ai_evaluation_result',
                                                                          s.properties->'$ai_evaluation_applicable') AS verdict) v",
        )
    } else {
        ("NULL::float8, NULL::float8, NULL::text", "")
    };
    // Outliers (-1) are a cluster of their own, not a theme.
    let query = format!(
        "SELECT GROUPING(u.cluster_id) = 0, coalesce(u.cluster_id, u.theme_id), count(*)::int, avg(s.cost_usd),
                avg(s.latency_s), avg(s.tokens)::float8, avg(coalesce(s.is_error, false)::int)::float8, sum(s.cost_usd),
                percentile_cont(0.95) WITHIN GROUP (ORDER BY s.latency_s), {evaluation}
         FROM unnest($2::text[], $3::int[], $4::int[]) AS u(item_id, cluster_id, theme_id)
         JOIN {} s ON s.team_id = $1 AND s.item_id = u.item_id {verdicts}
         GROUP BY GROUPING SETS ((u.cluster_id), (u.theme_id))
         HAVING GROUPING(u.cluster_id) = 0 OR u.theme_id >= 0",
        source.name
    );
    type Row = (
        Option<bool>,
        Option<i32>,
        Option<i32>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        (Option<f64>, Option<f64>, Option<String>),
    );
    let rows: Vec<Row> = source
        .read(|| {
            Spi::connect(|client| {
                client
                    .select(
                        &query,
                        None,
                        &[job.team_id.into(), ids.to_vec().into(), clusters.to_vec().into(), themes.to_vec().into()],
                    )?
                    .map(|r| {
                        Ok((
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                            r.get(8)?,
                            r.get(9)?,
                            (r.get(10)?, r.get(11)?, r.get(12)?),
                        ))
                    })
                    .collect::<Result<Vec<Row>, pgrx::spi::Error>>()
            })
        })
        .or_raise();
    // The table and its id column are fixed here, not user input.
    for (table, id, of_clusters) in [("clusters", "cluster_id", true), ("themes", "theme_id", false)] {
        let rows: Vec<&Row> = rows.iter().filter(|r| r.0 == Some(of_clusters)).collect();
        let column = |f: fn(&Row) -> Option<f64>| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
        Spi::run_with_args(
            &format!(
                "UPDATE llm_clusters.{table} g SET size = m.size, share = m.size::float8 / $2,
                        avg_cost_usd = m.avg_cost, avg_latency_s = m.avg_latency, avg_tokens = m.avg_tokens,
                        error_rate = m.error_rate, total_cost_usd = m.total_cost, p95_latency_s = m.p95_latency,
                        pass_rate = m.pass_rate, na_rate = m.na_rate, main_evaluator = m.main_evaluator
                 FROM unnest($3::int[], $4::int[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::float8[],
                             $12::float8[], $13::float8[], $14::text[])
                      AS m(group_id, size, avg_cost, avg_latency, avg_tokens, error_rate, total_cost, p95_latency,
                           pass_rate, na_rate, main_evaluator)
                 WHERE g.team_id = $11 AND g.run_id = $1 AND g.{id} = m.group_id"
            ),
            &[
                run_id.into(),
                (n as f64).into(),
                rows.iter().map(|r| r.1).collect::<Vec<_>>().into(),
                rows.iter().map(|r| r.2).collect::<Vec<_>>().into(),
                column(|r| r.3).into(),
                column(|r| r.4).into(),
                column(|r| r.5).into(),
                column(|r| r.6).into(),
                column(|r| r.7).into(),
                column(|r| r.8).into(),
                job.team_id.into(),
                column(|r| r.9 .0).into(),
                column(|r| r.9 .1).into(),
                rows.iter().map(|r| r.9 .2.clone()).collect::<Vec<_>>().into(),
            ],
        )
        .or_raise();
    }
}

/// Internal: the verdict of an `$ai_evaluation` from its result and applicability
/// properties (pass, fail, n/a or unknown; the engine's `evaluation::Verdict`), which the
/// pass and N/A rates of an evaluation run's clusters count.
#[pg_extern(immutable, parallel_safe, name = "_evaluation_verdict")]
#[search_path(pg_catalog, pg_temp)]
pub fn evaluation_verdict(result: Option<JsonB>, applicable: Option<JsonB>) -> &'static str {
    Verdict::of(result.as_ref().map(|j| &j.0), applicable.as_ref().map(|j| &j.0)).as_str()
}
