-- Stable theme ids (src/lineage.rs; the sequence and theme_lineage are in lineage.sql). The
-- column is added here, after every other of themes, so that a fresh install's column order
-- is an upgraded one's.
ALTER TABLE llm_clusters.themes ADD COLUMN stable_id bigint;
COMMENT ON COLUMN llm_clusters.themes.stable_id IS
    'Identity of the theme across runs of its job: kept while matched to the previous run''s theme by their items, as clusters are (see theme_lineage and the README).';
CREATE INDEX themes_stable_idx ON llm_clusters.themes (stable_id, run_id);
-- A run gives its themes stable ids and keeps their titles (src/lineage.rs); a steering merge
-- moves the merged cluster to its theme and labels the themes it changed again (src/steering.rs).
GRANT UPDATE (stable_id, title, description, keywords, centroid, x, y) ON llm_clusters.themes TO llm_clusters_admin;
GRANT UPDATE (theme_id) ON llm_clusters.clusters TO llm_clusters_admin;

-- Per stable theme and day, as cluster_trends (lineage.sql) per stable cluster.
CREATE VIEW llm_clusters.theme_trends WITH (security_invoker = true) AS
SELECT d.team_id,
       d.job_id,
       d.job_name,
       d.level,
       t.stable_id,
       first_value(llm_clusters._floored_theme_title(t.title, u.users))
           OVER (PARTITION BY d.team_id, t.stable_id ORDER BY d.day DESC) AS latest_title,
       llm_clusters._floored_theme_title(t.title, u.users) AS title,
       d.day,
       d.runs_ago,
       d.id AS run_id,
       t.theme_id,
       t.size,
       t.share,
       t.avg_cost_usd,
       t.avg_latency_s,
       t.avg_tokens,
       t.error_rate,
       t.total_cost_usd,
       t.p95_latency_s
FROM llm_clusters._daily_runs d
JOIN llm_clusters.themes t ON t.team_id = d.team_id AND t.run_id = d.id
LEFT JOIN llm_clusters.distinct_users u
       ON u.team_id = t.team_id AND u.run_id = t.run_id AND u.grouping = 'theme' AND u.group_id = t.theme_id
WHERE t.stable_id IS NOT NULL;
COMMENT ON VIEW llm_clusters.theme_trends IS
    'Per job, stable theme and day (the last succeeded run of the day): size, share and metrics; runs_ago = 0 for the latest day; latest_title is the theme''s newest title, for stable legends. Titles below llm_clusters.min_distinct_users read Small theme.';
GRANT SELECT ON llm_clusters.theme_trends TO llm_clusters_reader;
