-- llm_clusters 0.2.0 -> 0.3.0
-- * Themes: every run groups its clusters into themes (llm_clusters.themes,
--   clusters.theme_id, the theme_cards view; cluster_cards gains theme_id, theme_title).
--   Runs made before the upgrade have no themes (theme_id NULL).
-- * The default method is now "graph" (see the CHANGELOG); params.method and the other
--   knobs are unchanged.

ALTER TABLE llm_clusters.clusters ADD COLUMN theme_id int;

CREATE TABLE llm_clusters.themes (
    team_id         int     NOT NULL,
    run_id          bigint  NOT NULL,
    theme_id        int     NOT NULL,
    title           text    NOT NULL,
    description     text    NOT NULL,
    keywords        text[]  NOT NULL DEFAULT '{}',
    size            int     NOT NULL,
    share           float8  NOT NULL,
    centroid        real[],
    x               float8,
    y               float8,
    avg_cost_usd    float8,
    avg_latency_s   float8,
    avg_tokens      float8,
    error_rate      float8,
    total_cost_usd  float8,
    p95_latency_s   float8,
    PRIMARY KEY (team_id, run_id, theme_id),
    FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE
);
CREATE INDEX themes_run_idx ON llm_clusters.themes (run_id, theme_id);
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.themes', '');
ALTER TABLE llm_clusters.themes ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.themes
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.themes TO llm_clusters_reader;
GRANT INSERT, UPDATE ON llm_clusters.themes TO llm_clusters_admin;

CREATE OR REPLACE VIEW llm_clusters.cluster_cards AS
SELECT c.team_id, c.run_id, r.job_id, r.level, c.cluster_id, c.stable_id, c.title, c.description, c.keywords,
       c.size, c.share, c.avg_cost_usd, c.avg_latency_s, c.avg_tokens, c.error_rate, c.total_cost_usd, c.p95_latency_s,
       c.cluster_id = -1 AS is_outliers,
       row_number() OVER (PARTITION BY c.run_id ORDER BY c.cluster_id = -1, c.size DESC, c.cluster_id) AS position,
       c.theme_id, t.title AS theme_title
FROM llm_clusters.clusters c
JOIN llm_clusters.runs r ON r.id = c.run_id
LEFT JOIN llm_clusters.themes t ON t.run_id = c.run_id AND t.theme_id = c.theme_id;
-- CREATE OR REPLACE VIEW resets the view's options.
ALTER VIEW llm_clusters.cluster_cards SET (security_invoker = true);

CREATE VIEW llm_clusters.theme_cards AS
SELECT t.team_id, t.run_id, r.job_id, r.level, t.theme_id, t.title, t.description, t.keywords,
       t.size, t.share, t.avg_cost_usd, t.avg_latency_s, t.avg_tokens, t.error_rate, t.total_cost_usd, t.p95_latency_s,
       (SELECT count(*) FROM llm_clusters.clusters c WHERE c.run_id = t.run_id AND c.theme_id = t.theme_id)::int AS n_clusters,
       (SELECT array_agg(c.title ORDER BY c.size DESC, c.cluster_id) FROM llm_clusters.clusters c
        WHERE c.run_id = t.run_id AND c.theme_id = t.theme_id) AS cluster_titles,
       row_number() OVER (PARTITION BY t.run_id ORDER BY t.size DESC, t.theme_id) AS position
FROM llm_clusters.themes t
JOIN llm_clusters.runs r ON r.id = t.run_id;
ALTER VIEW llm_clusters.theme_cards SET (security_invoker = true);
GRANT SELECT ON llm_clusters.theme_cards TO llm_clusters_reader;

COMMENT ON COLUMN llm_clusters.clusters.theme_id IS
    'The theme (llm_clusters.themes) this cluster belongs to; NULL for Outliers.';
COMMENT ON TABLE llm_clusters.themes IS
    'Themes of a run: the parent groups of its clusters, each with a title, description, keywords, size, share, centroid, map position and the same metrics as clusters (aggregates over its clusters'' items).';
COMMENT ON VIEW llm_clusters.theme_cards IS
    'Per theme of a run: title, description, size, share, metrics, how many clusters it groups and their titles (largest first); position orders the cards by size.';
COMMENT ON VIEW llm_clusters.cluster_cards IS
    'Per cluster of a run: title, description, size, share and metrics, its theme (theme_id, theme_title; NULL for Outliers); position orders the cards by size with Outliers last.';
COMMENT ON COLUMN llm_clusters.jobs.params IS
    'Optional: window (interval text, default 7 days), max_items, min_items (default 20), seed, method (graph | kmeans | hdbscan) and algorithm knobs; see the README.';
