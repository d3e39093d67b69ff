//! The pages: `llm_clusters.report_html` (a run, or one of its clusters) and
//! `llm_clusters.trace_html` (one trace's timeline). Each query is a function of its own
//! here; the engine renders the page (`report`, `timeline`).

use crate::error::{raise, OrRaise};
use crate::gucs::{output_bytes, page_text_chars, REPORT_ITEM_URL};
use crate::items::{nearest_items, run_items};
use crate::jobs::{run_team_and_source, Source};
use crate::pg::Required;
use crate::summary::{steps_of, summaries_of};
use llm_clusters_engine::report::{
    checked_item_url, render, Cluster, Focus, Item, Report, RunInfo, Theme, MAX_DOTS, PREVIEW_CHARS,
};
use llm_clusters_engine::runs::RunStatus;
use llm_clusters_engine::source::Level;
use llm_clusters_engine::timeline::{render_trace_page, Membership, TracePage};
use llm_clusters_engine::trace::{summarize, timeline_json, Step, Timeline, TIMELINE_TEXT_CHARS};
use llm_clusters_engine::{EngineError, ErrorKind};
use pgrx::prelude::*;

/// Items of a cluster listed on its detail page.
const FOCUS_ITEMS: i64 = 1_000;
/// Items per card, closest to the centre first.
const CARD_ITEMS: i32 = 5;
/// Items of the cluster page whose trace timeline the page carries, steps per timeline
/// and characters per input or output in it (the page stays a few MB at most).
const FOCUS_TIMELINES: usize = 50;
const TIMELINE_STEPS: i64 = 300;
const TIMELINE_CHARS: usize = 2_000;
/// Steps of one trace drawn by `trace_html`.
const MAX_PAGE_STEPS: i64 = 20_000;
/// Clusters and themes a run's page shows at most (runs make at most a few hundred).
const MAX_PAGE_GROUPS: i64 = 10_000;

fn not_found(message: String) -> ! {
    raise(EngineError::new(ErrorKind::NotFound, message))
}

/// Internal: called by `llm_clusters.report_html`.
#[pg_extern(stable, name = "_report_html")]
#[search_path(pg_catalog, pg_temp)]
pub fn report_html(run_id: Option<i64>, cluster_id: Option<i32>) -> Option<String> {
    let run_id = run_id?;
    let (team_id, source) =
        run_team_and_source(run_id).unwrap_or_else(|| not_found(format!("run {run_id} does not exist")));
    let source = source.as_ref();
    let run = succeeded_run(team_id, run_id);
    check_page_groups(team_id, run_id);
    let (mut clusters, hidden) = run_clusters(team_id, run_id);
    let themes = run_themes(team_id, run_id);
    if let Some(c) = cluster_id {
        if !clusters.iter().any(|k| k.cluster_id == c) {
            not_found(format!("run {run_id} has no cluster {c}"));
        }
    }
    let nearest = nearest_items(source, team_id, PREVIEW_CHARS as i32, run_id, CARD_ITEMS);
    // Below the privacy floor a cluster shows no examples, and its dots no text.
    for item in nearest.into_iter().filter(|i| !hidden.contains(&i.cluster_id)) {
        if let Some(c) = clusters.iter_mut().find(|c| c.cluster_id == item.cluster_id) {
            c.nearest.push(item);
        }
    }
    clusters.iter_mut().for_each(|c| c.nearest.sort_by_key(|i| i.rank));
    let points_of = count_points(team_id, run_id, cluster_id);
    let mut points = sampled_points(source, team_id, run_id, cluster_id);
    points.iter_mut().filter(|p| hidden.contains(&p.cluster_id)).for_each(|p| p.preview.clear());
    let level = Level::parse(&run.level).or_raise();
    let focus = cluster_id.map(|c| focus(source, team_id, run_id, level, c, hidden.contains(&c)));
    let item_url = REPORT_ITEM_URL.get().map(|c| c.to_string_lossy().into_owned()).unwrap_or_default();
    let item_url = checked_item_url(&item_url).or_raise().to_string();
    Some(render(&Report { run, themes, clusters, points, points_of, item_url, focus }).or_raise())
}

/// Refuses (54000) a run whose clusters and themes are more, or hold more text, than a page
/// may show, before they are read: admins insert rows into their runs' clusters and themes,
/// and 20,000 planted ones (33 MB on disk) made one report_html 1.7 GB before it failed, so
/// a few more would have the OOM killer end the backend of whoever opened the page (a
/// reader, a superuser's dashboard), and with it every backend. Runs make at most a few
/// hundred. Sizes are read from the rows' headers (`octet_length`), nothing decompressed.
fn check_page_groups(team_id: i32, run_id: i64) {
    let (groups, text_bytes) = Spi::get_two_with_args::<i64, i64>(
        "SELECT count(*), coalesce(sum(g.bytes), 0)::int8 FROM (
             SELECT octet_length(c.title)::int8 + octet_length(c.description) AS bytes FROM llm_clusters.clusters c
             WHERE c.team_id = $1 AND c.run_id = $2
             UNION ALL
             SELECT octet_length(t.title)::int8 + octet_length(t.description) FROM llm_clusters.themes t
             WHERE t.team_id = $1 AND t.run_id = $2) g",
        &[team_id.into(), run_id.into()],
    )
    .or_raise();
    let (groups, text_bytes) = (groups.required("count"), text_bytes.required("sum"));
    let budget = page_text_bytes();
    if groups > MAX_PAGE_GROUPS || text_bytes > budget {
        raise(
            EngineError::new(
                ErrorKind::LimitExceeded,
                format!(
                    "run {run_id} has {groups} clusters and themes holding {text_bytes} bytes of titles and descriptions; a page shows at most {MAX_PAGE_GROUPS} and {budget} bytes"
                ),
            )
            .with_hint("Runs make a few hundred: mark the rows inserted into the run's clusters and themes deleted (UPDATE ... SET delete_requested = true), or have a superuser raise llm_clusters.max_output_mb."),
        );
    }
}

/// The run's header, when it succeeded (NotFound when it is not the team's, InvalidParameter
/// when it has another status: only a succeeded run has clusters to show).
fn succeeded_run(team_id: i32, run_id: i64) -> RunInfo {
    let (run, status) = Spi::connect(|client| {
        let table = client.select(
            "SELECT r.job_name, r.level, to_char(r.window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI UTC'),
                    to_char(r.window_end AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI UTC'), coalesce(r.n_items, 0),
                    coalesce(to_char(r.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI UTC'), ''),
                    coalesce(extract(epoch FROM r.finished_at - r.started_at)::float8, 0), r.status, r.lens
             FROM llm_clusters.runs r WHERE r.team_id = $2 AND r.id = $1",
            None,
            &[run_id.into(), team_id.into()],
        )?;
        if table.is_empty() {
            return Ok(None);
        }
        let row = table.first();
        let run = RunInfo {
            run_id,
            job_name: row.get::<String>(1)?.required("runs.job_name"),
            level: row.get::<String>(2)?.required("runs.level"),
            lens: row.get::<String>(9)?.required("runs.lens"),
            window_start: row.get::<String>(3)?.required("runs.window_start"),
            window_end: row.get::<String>(4)?.required("runs.window_end"),
            n_items: i64::from(row.get::<i32>(5)?.required("runs.n_items")),
            finished_at: row.get::<String>(6)?.required("runs.finished_at"),
            duration_s: row.get::<f64>(7)?.required("the run's duration"),
        };
        Ok::<_, pgrx::spi::Error>(Some((run, row.get::<String>(8)?.required("runs.status"))))
    })
    .or_raise()
    .unwrap_or_else(|| not_found(format!("run {run_id} does not exist")));
    if RunStatus::parse(&status) != Some(RunStatus::Succeeded) {
        raise(EngineError::new(
            ErrorKind::InvalidParameter,
            format!("run {run_id} has status {status}: it has no clusters to show"),
        ));
    }
    run
}

/// The run's clusters as cards, largest first and Outliers last (no items yet), their texts
/// as readers see them (sql/privacy.sql), and the ids of those below the privacy floor.
fn run_clusters(team_id: i32, run_id: i64) -> (Vec<Cluster>, Vec<i32>) {
    let rows = Spi::connect(|client| {
        client
            .select(
                "SELECT c.cluster_id, llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users),
                        llm_clusters._floored_description(c.description, u.users), c.size, c.share,
                        (coalesce(c.stable_id, c.cluster_id) % 20)::int, c.x, c.y, c.avg_cost_usd, c.avg_latency_s,
                        c.avg_tokens, c.error_rate, c.total_cost_usd, c.theme_id, c.steering, llm_clusters._below_floor(u.users),
                        c.pass_rate, c.na_rate, c.main_evaluator
                 FROM llm_clusters.clusters c
                 LEFT JOIN llm_clusters.distinct_users u
                        ON u.team_id = c.team_id AND u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
                 WHERE c.team_id = $2 AND c.run_id = $1 ORDER BY c.cluster_id = -1, c.size DESC, c.cluster_id",
                None,
                &[run_id.into(), team_id.into()],
            )?
            .map(|row| {
                let hidden = row.get::<bool>(16)?.required("the cluster's floor");
                Ok((hidden, Cluster {
                    cluster_id: row.get::<i32>(1)?.required("clusters.cluster_id"),
                    title: row.get::<String>(2)?.required("clusters.title"),
                    description: row.get::<String>(3)?.required("clusters.description"),
                    size: i64::from(row.get::<i32>(4)?.required("clusters.size")),
                    share: row.get::<f64>(5)?.required("clusters.share"),
                    colour: row.get::<i32>(6)?.required("the cluster's colour"),
                    x: row.get::<f64>(7)?,
                    y: row.get::<f64>(8)?,
                    avg_cost_usd: row.get::<f64>(9)?,
                    avg_latency_s: row.get::<f64>(10)?,
                    avg_tokens: row.get::<f64>(11)?,
                    error_rate: row.get::<f64>(12)?,
                    total_cost_usd: row.get::<f64>(13)?,
                    theme_id: row.get::<i32>(14)?,
                    steering: row.get::<String>(15)?,
                    pass_rate: row.get::<f64>(17)?,
                    na_rate: row.get::<f64>(18)?,
                    main_evaluator: row.get::<String>(19)?,
                    nearest: Vec::new(),
                }))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    let hidden = rows.iter().filter(|(h, _)| *h).map(|(_, c)| c.cluster_id).collect();
    (rows.into_iter().map(|(_, c)| c).collect(), hidden)
}

/// The run's themes, largest first, their texts as readers see them.
fn run_themes(team_id: i32, run_id: i64) -> Vec<Theme> {
    Spi::connect(|client| {
        client
            .select(
                "SELECT t.theme_id, llm_clusters._floored_theme_title(t.title, u.users),
                        llm_clusters._floored_description(t.description, u.users), t.size, t.share
                 FROM llm_clusters.themes t
                 LEFT JOIN llm_clusters.distinct_users u
                        ON u.team_id = t.team_id AND u.run_id = t.run_id AND u.grouping = 'theme' AND u.group_id = t.theme_id
                 WHERE t.team_id = $2 AND t.run_id = $1 ORDER BY t.size DESC, t.theme_id",
                None,
                &[run_id.into(), team_id.into()],
            )?
            .map(|row| {
                Ok(Theme {
                    theme_id: row.get::<i32>(1)?.required("themes.theme_id"),
                    title: row.get::<String>(2)?.required("themes.title"),
                    description: row.get::<String>(3)?.required("themes.description"),
                    size: i64::from(row.get::<i32>(4)?.required("themes.size")),
                    share: row.get::<f64>(5)?.required("themes.share"),
                })
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise()
}

/// How many items the map stands for: those of the run, or of the cluster.
fn count_points(team_id: i32, run_id: i64, cluster_id: Option<i32>) -> i64 {
    Spi::get_one_with_args::<i64>(
        "SELECT count(*) FROM llm_clusters.assignments a WHERE a.team_id = $3 AND a.run_id = $1 AND ($2::int IS NULL OR a.cluster_id = $2)",
        &[run_id.into(), cluster_id.into(), team_id.into()],
    )
    .or_raise()
    .required("count(*)")
}

/// The dots: every item of the run (or of the cluster), or a uniform sample fixed by the ids.
fn sampled_points(source: Option<&Source>, team_id: i32, run_id: i64, cluster_id: Option<i32>) -> Vec<Item> {
    run_items(source, team_id, PREVIEW_CHARS as i32 / 2, run_id, |b| {
        let cluster = b.push(cluster_id);
        format!(
            "({cluster}::int IS NULL OR a.cluster_id = {cluster}) ORDER BY md5(a.item_id) LIMIT {}",
            b.push(MAX_DOTS as i64)
        )
    })
}

/// The cluster page's part: its time span, its items in rank order with their summaries,
/// and the timelines of the first `FOCUS_TIMELINES` traces among them; below the privacy
/// floor (`hidden`), its items without their texts, summaries or timelines.
fn focus(source: Option<&Source>, team_id: i32, run_id: i64, level: Level, cluster_id: i32, hidden: bool) -> Focus {
    let (first_ts, last_ts) = Spi::get_two_with_args::<String, String>(
        "SELECT to_char(min(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI UTC'), to_char(max(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI UTC')
         FROM llm_clusters.assignments WHERE team_id = $3 AND run_id = $1 AND cluster_id = $2",
        &[run_id.into(), cluster_id.into(), team_id.into()],
    )
    .or_raise();
    let source = if hidden { None } else { source };
    let mut items = run_items(source, team_id, PREVIEW_CHARS as i32, run_id, |b| {
        format!("a.cluster_id = {} ORDER BY a.rank LIMIT {}", b.push(cluster_id), b.push(FOCUS_ITEMS))
    });
    if hidden {
        return Focus { cluster_id, first_ts, last_ts, items, timelines: Vec::new() };
    }
    let ids = items.iter().map(|i| i.item_id.clone()).collect();
    let mut summaries = summaries_of(team_id, level, ids, page_text_bytes());
    items.iter_mut().for_each(|i| i.summary = summaries.remove(&i.item_id));
    let mut traces: Vec<String> = Vec::new();
    for trace in items.iter().filter_map(|i| i.trace_id.clone()) {
        if traces.len() == FOCUS_TIMELINES {
            break;
        }
        if !traces.contains(&trace) {
            traces.push(trace);
        }
    }
    let timelines = timelines(team_id, traces);
    Focus { cluster_id, first_ts, last_ts, items, timelines }
}

/// The timeline data of each trace of a team, bounded for a page that carries
/// `FOCUS_TIMELINES` of them.
fn timelines(team_id: i32, traces: Vec<String>) -> Vec<(String, Timeline)> {
    let keys: Vec<(i32, String)> = traces.into_iter().map(|t| (team_id, t)).collect();
    let item_bytes = output_bytes() / FOCUS_TIMELINES as i64;
    let steps = steps_of(Level::Trace, &keys, TIMELINE_STEPS, item_bytes);
    keys.into_iter()
        .map(|key| {
            let steps = steps.get(&key).map_or(&[][..], Vec::as_slice);
            let timeline = timeline_json(steps, &key.1, TIMELINE_CHARS, page_text_chars() / FOCUS_TIMELINES);
            (key.1, timeline)
        })
        .collect()
}

/// What a page may show of stored texts, in bytes (`page_text_chars`).
fn page_text_bytes() -> i64 {
    i64::try_from(page_text_chars()).unwrap_or(i64::MAX)
}

/// Internal: called by `llm_clusters.trace_html`.
#[pg_extern(stable, parallel_safe, name = "_trace_html")]
#[search_path(pg_catalog, pg_temp)]
pub fn trace_html(trace_id: &str, team_id: i32) -> String {
    let key = (team_id, trace_id.to_string());
    let steps = steps_of(Level::Trace, std::slice::from_ref(&key), MAX_PAGE_STEPS, output_bytes())
        .remove(&key)
        .unwrap_or_default();
    if steps.is_empty() {
        raise(
            EngineError::new(ErrorKind::NotFound, format!("trace \"{trace_id}\" of team {team_id} does not exist"))
                .with_hint("trace ids are llm_clusters.events.trace_id; you see only the teams of your roles (llm_clusters.team_roles)"),
        );
    }
    let summary = summaries_of(team_id, Level::Trace, vec![trace_id.to_string()], page_text_bytes())
        .remove(trace_id)
        .unwrap_or_else(|| summarize(&steps, trace_id));
    let clusters = memberships(team_id, trace_id, &steps);
    // Only a trace that filled the page has steps left out.
    let total = if steps.len() as i64 == MAX_PAGE_STEPS {
        Spi::get_one_with_args::<i64>(
            "SELECT count(*) FROM llm_clusters.events e WHERE e.team_id = $1 AND e.trace_id = $2",
            &[team_id.into(), trace_id.into()],
        )
        .or_raise()
        .unwrap_or(MAX_PAGE_STEPS)
    } else {
        steps.len() as i64
    };
    render_trace_page(&TracePage {
        trace_id,
        team_id,
        summary: Some(&summary),
        timeline: timeline_json(&steps, trace_id, TIMELINE_TEXT_CHARS, page_text_chars()),
        steps_left_out: total - steps.len() as i64,
        clusters: &clusters,
    })
    .or_raise()
}

/// The clusters a trace is in (trace-level jobs) and those of its generations.
fn memberships(team_id: i32, trace_id: &str, steps: &[Step]) -> Vec<Membership> {
    let mut ids = vec![trace_id.to_string()];
    ids.extend(steps.iter().filter(|s| s.event == "$ai_generation").take(100).map(|s| s.uuid.clone()));
    Spi::connect(|client| {
        client
            .select(
                "SELECT DISTINCT m.job_name, m.level, m.run_id, m.cluster_id, m.title
                 FROM unnest($1::text[]) AS i(id), LATERAL llm_clusters.item_clusters(i.id, $2) m
                 ORDER BY m.job_name, m.run_id, m.cluster_id",
                None,
                &[ids.into(), team_id.into()],
            )?
            .map(|row| {
                Ok(Membership {
                    job_name: row.get::<String>(1)?.required("item_clusters.job_name"),
                    level: row.get::<String>(2)?.required("item_clusters.level"),
                    run_id: row.get::<i64>(3)?.required("item_clusters.run_id"),
                    cluster_id: row.get::<i32>(4)?.required("item_clusters.cluster_id"),
                    title: row.get::<String>(5)?.required("item_clusters.title"),
                })
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise()
}
