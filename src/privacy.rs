//! The privacy floor (`llm_clusters.min_distinct_users`): how many distinct users each of a
//! run's clusters and themes holds, counted when the run writes its results; the reading
//! views, functions and pages compare that count with the setting when they are read
//! (`sql/privacy.sql`), so a new floor applies without a new run.

use crate::error::OrRaise;
use crate::gucs::MIN_DISTINCT_USERS;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;

/// Internal: the floor in force, read through the library so that the setting is defined
/// (and a placeholder a non-superuser set before the library was loaded is refused) before
/// any view compares a count with it.
#[pg_extern(stable, parallel_safe, name = "_min_distinct_users")]
#[search_path(pg_catalog, pg_temp)]
pub fn min_distinct_users() -> i32 {
    MIN_DISTINCT_USERS.get()
}

/// Counts the distinct users (`events.distinct_id` of the items' traces) of every cluster
/// and theme of a run, as the caller (the team's events are the caller's to read). Items
/// whose trace has no event with a `distinct_id` count for nobody: a group of anonymous
/// items is below any floor above 1. Counted again after steering changes a run's groups
/// (a count of a group that no longer exists is never read). The run's items are read
/// from its assignments and clusters.
pub fn record_distinct_users(team_id: i32, run_id: i64) {
    count_users(
        "SELECT a.cluster_id, c.theme_id, a.trace_id
         FROM llm_clusters.assignments a
         JOIN llm_clusters.clusters c ON c.team_id = a.team_id AND c.run_id = a.run_id AND c.cluster_id = a.cluster_id
         WHERE a.team_id = $1 AND a.run_id = $2",
        &[team_id.into(), run_id.into()],
    );
}

/// `record_distinct_users` for the run being written, from what it holds in memory: each
/// item's trace, cluster (-1: Outliers) and theme (-1: none). The same counts without
/// reading back the assignments just written (at a million items, joining them with the
/// clusters took seconds).
pub fn record_distinct_users_of(
    team_id: i32,
    run_id: i64,
    trace_ids: &[Option<String>],
    labels: &[i32],
    item_themes: &[i32],
) {
    // As the clusters table holds it: no theme is NULL.
    let themes: Vec<Option<i32>> = item_themes.iter().map(|&t| (t >= 0).then_some(t)).collect();
    count_users(
        "SELECT * FROM unnest($3::int[], $4::int[], $5::text[]) AS u(cluster_id, theme_id, trace_id)",
        &[team_id.into(), run_id.into(), labels.to_vec().into(), themes.into(), trace_ids.to_vec().into()],
    );
}

/// Counts and records the users of the items `items` selects (cluster_id, theme_id,
/// trace_id; `$1` the team, `$2` the run). Each (cluster, trace) once, then each (cluster,
/// user) pair once, by hash aggregates, then counted: a cluster has one theme, so a
/// cluster's pairs are its users, and a theme's users are the distinct users of its
/// clusters' pairs. (count(DISTINCT) over every item's row sorted them per grouping.)
fn count_users(items: &str, args: &[DatumWithOid]) {
    Spi::run_with_args(
        &format!(
            "WITH items AS ({items}),
             pairs AS MATERIALIZED (
                 SELECT DISTINCT i.cluster_id, i.theme_id, e.distinct_id
                 FROM (SELECT DISTINCT cluster_id, theme_id, trace_id FROM items) i
                 LEFT JOIN llm_clusters.events e ON e.team_id = $1 AND e.trace_id = i.trace_id)
             INSERT INTO llm_clusters.distinct_users (team_id, run_id, grouping, group_id, users)
             SELECT $1, $2, 'cluster', cluster_id, count(distinct_id) FROM pairs GROUP BY cluster_id
             UNION ALL
             SELECT $1, $2, 'theme', theme_id, count(distinct_id)
             FROM (SELECT DISTINCT theme_id, distinct_id FROM pairs WHERE theme_id IS NOT NULL) t GROUP BY theme_id
             ON CONFLICT (team_id, run_id, grouping, group_id) DO UPDATE SET users = EXCLUDED.users"
        ),
        args,
    )
    .or_raise();
}

/// Internal: `record_distinct_users` for `undo_steering`, which puts a run's groups back.
#[pg_extern(volatile, parallel_unsafe, name = "_count_distinct_users")]
#[search_path(pg_catalog, pg_temp)]
pub fn count_distinct_users(team_id: i32, run_id: i64) {
    record_distinct_users(team_id, run_id);
}
