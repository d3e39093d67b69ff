-- Clusters that keep their identity across runs (src/lineage.rs), and their trends.

CREATE SEQUENCE llm_clusters.cluster_stable_id_seq;
GRANT USAGE ON SEQUENCE llm_clusters.cluster_stable_id_seq TO llm_clusters_admin;

CREATE TABLE llm_clusters.cluster_lineage (
    team_id             int     NOT NULL,
    job_id              int,
    run_id              bigint  NOT NULL,
    previous_run_id     bigint,
    stable_id           bigint  NOT NULL,
    event               text    NOT NULL CHECK (event IN ('continued', 'new', 'gone', 'split', 'merged')),
    cluster_id          int,
    previous_cluster_id int,
    related_stable_id   bigint,
    similarity          float8,
    PRIMARY KEY (team_id, run_id, stable_id),
    FOREIGN KEY (team_id, job_id) REFERENCES llm_clusters.jobs (team_id, id) ON DELETE SET NULL (job_id),
    FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE,
    FOREIGN KEY (team_id, previous_run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE SET NULL (previous_run_id)
);
ALTER TABLE llm_clusters.cluster_lineage ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.cluster_lineage
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.cluster_lineage TO llm_clusters_reader;
GRANT INSERT ON llm_clusters.cluster_lineage TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.cluster_lineage IS
    'What happened to each stable cluster in a run, against the job''s previous succeeded run: continued, new, gone, split (related_stable_id = the cluster it split from) or merged (related_stable_id = the cluster it merged into), with the similarity that decided it.';
CREATE INDEX cluster_lineage_stable_idx ON llm_clusters.cluster_lineage (stable_id);

-- User data: pg_dump dumps these rows and the stable-id sequence's position.
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.cluster_stable_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.cluster_lineage', '');

-- Themes keep their identity the same way (src/lineage.rs): matched to the previous run's
-- themes by their items (or centroids), with a lineage of their own. themes.stable_id is
-- added in themes_identity.sql, last, so that a fresh install's columns are in an upgraded one's order.
CREATE SEQUENCE llm_clusters.theme_stable_id_seq;
GRANT USAGE ON SEQUENCE llm_clusters.theme_stable_id_seq TO llm_clusters_admin;

CREATE TABLE llm_clusters.theme_lineage (
    team_id           int     NOT NULL,
    job_id            int,
    run_id            bigint  NOT NULL,
    previous_run_id   bigint,
    stable_id         bigint  NOT NULL,
    event             text    NOT NULL CHECK (event IN ('continued', 'new', 'gone', 'split', 'merged')),
    theme_id          int,
    previous_theme_id int,
    related_stable_id bigint,
    similarity        float8,
    delete_requested  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (team_id, run_id, stable_id),
    FOREIGN KEY (team_id, job_id) REFERENCES llm_clusters.jobs (team_id, id) ON DELETE SET NULL (job_id),
    FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE,
    FOREIGN KEY (team_id, previous_run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE SET NULL (previous_run_id)
);
ALTER TABLE llm_clusters.theme_lineage ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.theme_lineage
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.theme_lineage TO llm_clusters_reader;
-- A run inserts its rows; a steering merge that empties a theme marks it merged, and undo
-- puts the rows back (no DELETE grant: rows are removed through delete_requested, deletions.sql).
GRANT INSERT, UPDATE (event, theme_id, related_stable_id, similarity, delete_requested)
    ON llm_clusters.theme_lineage TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.theme_lineage IS
    'What happened to each stable theme in a run, against the job''s previous succeeded run, decided as for clusters (cluster_lineage) on the themes'' items: continued, new, gone, split (related_stable_id = the theme it split from) or merged (related_stable_id = the theme it merged into, also when a steering merge emptied it), with the similarity that decided it.';
COMMENT ON COLUMN llm_clusters.theme_lineage.delete_requested IS
    'Setting it to true deletes the lineage row (undo_steering puts a run''s theme lineage back); never seen true.';
COMMENT ON SEQUENCE llm_clusters.theme_stable_id_seq IS 'Stable theme ids.';
CREATE INDEX theme_lineage_stable_idx ON llm_clusters.theme_lineage (stable_id);
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.theme_stable_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.theme_lineage', '');

-- The last succeeded run of each day of each job: the runs the trend views show.
CREATE VIEW llm_clusters._daily_runs WITH (security_invoker = true) AS
SELECT DISTINCT ON (r.team_id, r.job_id, day) r.*, day,
       dense_rank() OVER (PARTITION BY r.team_id, r.job_id ORDER BY day DESC) - 1 AS runs_ago
FROM llm_clusters.runs r,
     LATERAL (SELECT (coalesce(r.cycle, r.window_end) AT TIME ZONE 'UTC')::date AS day) d
WHERE r.status = 'succeeded' AND r.job_id IS NOT NULL
ORDER BY r.team_id, r.job_id, day, r.id DESC;
COMMENT ON VIEW llm_clusters._daily_runs IS
    'Internal: the last succeeded run of each day (its cycle, else its window end, in UTC) of each job, with runs_ago = 0 for the newest day.';
GRANT SELECT ON llm_clusters._daily_runs TO llm_clusters_reader;

-- Per stable cluster and day.
CREATE VIEW llm_clusters.cluster_trends WITH (security_invoker = true) AS
SELECT d.team_id,
       d.job_id,
       d.job_name,
       d.level,
       c.stable_id,
       first_value(llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users))
           OVER (PARTITION BY d.team_id, c.stable_id ORDER BY d.day DESC) AS latest_title,
       llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users) AS title,
       d.day,
       d.runs_ago,
       d.id AS run_id,
       c.cluster_id,
       c.size,
       c.share,
       c.avg_cost_usd,
       c.avg_latency_s,
       c.avg_tokens,
       c.error_rate,
       c.total_cost_usd,
       c.p95_latency_s
FROM llm_clusters._daily_runs d
JOIN llm_clusters.clusters c ON c.team_id = d.team_id AND c.run_id = d.id
LEFT JOIN llm_clusters.distinct_users u
       ON u.team_id = c.team_id AND u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
WHERE c.stable_id IS NOT NULL;

COMMENT ON SEQUENCE llm_clusters.cluster_stable_id_seq IS 'Stable cluster ids.';
COMMENT ON COLUMN llm_clusters.clusters.stable_id IS
    'Identity of the cluster across runs of its job: kept while matched to the previous run''s cluster (see the README), NULL for Outliers.';
COMMENT ON VIEW llm_clusters.cluster_trends IS
    'Per job, stable cluster and day (the last succeeded run of the day): size, share and metrics; runs_ago = 0 for the latest day; latest_title is the cluster''s newest title, for stable legends. Titles below llm_clusters.min_distinct_users read Small cluster.';
GRANT SELECT ON llm_clusters.cluster_trends TO llm_clusters_reader;
