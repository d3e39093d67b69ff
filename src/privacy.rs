//! The privacy floor (`llm_clusters.min_distinct_users`): how many distinct users each of a
//! run's clusters and themes holds, counted when the run writes its results; the reading
//! views, functions and pages compare that count with the setting when they are read
//! (`sql/privacy.sql`), so a new floor applies without a new run.

use crate::error::OrRaise;
use crate::gucs::MIN_DISTINCT_USERS;
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
/// (a count of a group that no longer exists is never read).
pub fn record_distinct_users(team_id: i32, run_id: i64) {
    Spi::run_with_args(
        "WITH users AS (
             SELECT a.cluster_id, c.theme_id, e.distinct_id
             FROM llm_clusters.assignments a
             JOIN llm_clusters.clusters c ON c.team_id = a.team_id AND c.run_id = a.run_id AND c.cluster_id = a.cluster_id
             LEFT JOIN llm_clusters.events e ON e.team_id = a.team_id AND e.trace_id = a.trace_id
             WHERE a.team_id = $1 AND a.run_id = $2)
         INSERT INTO llm_clusters.distinct_users (team_id, run_id, grouping, group_id, users)
         SELECT $1, $2, 'cluster', cluster_id, count(DISTINCT distinct_id) FROM users GROUP BY cluster_id
         UNION ALL
         SELECT $1, $2, 'theme', theme_id, count(DISTINCT distinct_id) FROM users WHERE theme_id IS NOT NULL GROUP BY theme_id
         ON CONFLICT (team_id, run_id, grouping, group_id) DO UPDATE SET users = EXCLUDED.users",
        &[team_id.into(), run_id.into()],
    )
    .or_raise();
}

/// Internal: `record_distinct_users` for `undo_steering`, which puts a run's groups back.
#[pg_extern(volatile, parallel_unsafe, name = "_count_distinct_users")]
#[search_path(pg_catalog, pg_temp)]
pub fn count_distinct_users(team_id: i32, run_id: i64) {
    record_distinct_users(team_id, run_id);
}
