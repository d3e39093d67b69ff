-- Evaluation runs (jobs at level evaluation, items from llm_clusters.evaluation_items):
-- the pass rate, N/A rate and main evaluator of their clusters and themes, which
-- src/results.rs writes with the other metrics. Added after steering.sql's columns, as the
-- 0.7.0 upgrade adds them after 0.6.0's, so that both give the same column order.

ALTER TABLE llm_clusters.clusters
    ADD COLUMN pass_rate      float8,
    ADD COLUMN na_rate        float8,
    ADD COLUMN main_evaluator text;
ALTER TABLE llm_clusters.themes
    ADD COLUMN pass_rate      float8,
    ADD COLUMN na_rate        float8,
    ADD COLUMN main_evaluator text;
-- Per column, as the other metrics (jobs.sql): src/results.rs writes them after inserting the rows.
GRANT UPDATE (pass_rate, na_rate, main_evaluator) ON llm_clusters.clusters, llm_clusters.themes TO llm_clusters_admin;

COMMENT ON COLUMN llm_clusters.clusters.pass_rate IS
    'Evaluation runs: the share of passes among the cluster''s applicable verdicts ($ai_evaluation_result true, of true or false; NULL when none applied); NULL at other levels.';
COMMENT ON COLUMN llm_clusters.clusters.na_rate IS
    'Evaluation runs: the share of the cluster''s items whose $ai_evaluation_applicable is false (N/A); NULL at other levels.';
COMMENT ON COLUMN llm_clusters.clusters.main_evaluator IS
    'Evaluation runs: the $ai_evaluation_name most of the cluster''s items have (200 characters); NULL at other levels.';
COMMENT ON COLUMN llm_clusters.themes.pass_rate IS
    'Evaluation runs: the share of passes among the theme''s applicable verdicts; NULL at other levels.';
COMMENT ON COLUMN llm_clusters.themes.na_rate IS
    'Evaluation runs: the share of the theme''s items that were not applicable (N/A); NULL at other levels.';
COMMENT ON COLUMN llm_clusters.themes.main_evaluator IS
    'Evaluation runs: the $ai_evaluation_name most of the theme''s items have; NULL at other levels.';

COMMENT ON FUNCTION llm_clusters._evaluation_verdict(jsonb, jsonb) IS
    'Internal: pass, fail, n/a or unknown from an $ai_evaluation''s $ai_evaluation_result and $ai_evaluation_applicable (what the pass and N/A rates count).';
-- Runs read their source as the job's owner (a reader at least), who calls it there.
REVOKE EXECUTE ON FUNCTION llm_clusters._evaluation_verdict(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters._evaluation_verdict(jsonb, jsonb) TO llm_clusters_reader;

-- The cards of a run's clusters and themes, here because they show the evaluation columns
-- above. Texts go through the privacy floor (sql/privacy.sql): below it, no text of the items.
CREATE VIEW llm_clusters.cluster_cards WITH (security_invoker = true) AS
SELECT c.team_id, c.run_id, r.job_id, r.level, c.cluster_id, c.stable_id,
       llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users) AS title,
       llm_clusters._floored_description(c.description, u.users) AS description,
       llm_clusters._floored_keywords(c.keywords, u.users) AS keywords,
       c.size, c.share, c.avg_cost_usd, c.avg_latency_s, c.avg_tokens, c.error_rate, c.total_cost_usd, c.p95_latency_s,
       c.cluster_id = -1 AS is_outliers,
       row_number() OVER (PARTITION BY c.team_id, c.run_id ORDER BY c.cluster_id = -1, c.size DESC, c.cluster_id) AS position,
       c.theme_id, llm_clusters._floored_theme_title(t.title, tu.users) AS theme_title,
       u.users AS distinct_users, llm_clusters._below_floor(u.users) AS below_floor,
       c.pass_rate, c.na_rate, c.main_evaluator
FROM llm_clusters.clusters c
JOIN llm_clusters.runs r ON r.team_id = c.team_id AND r.id = c.run_id
LEFT JOIN llm_clusters.distinct_users u
       ON u.team_id = c.team_id AND u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
LEFT JOIN llm_clusters.themes t ON t.team_id = c.team_id AND t.run_id = c.run_id AND t.theme_id = c.theme_id
LEFT JOIN llm_clusters.distinct_users tu
       ON tu.team_id = c.team_id AND tu.run_id = c.run_id AND tu.grouping = 'theme' AND tu.group_id = c.theme_id;

CREATE VIEW llm_clusters.theme_cards WITH (security_invoker = true) AS
SELECT t.team_id, t.run_id, r.job_id, r.level, t.theme_id,
       llm_clusters._floored_theme_title(t.title, tu.users) AS title,
       llm_clusters._floored_description(t.description, tu.users) AS description,
       llm_clusters._floored_keywords(t.keywords, tu.users) AS keywords,
       t.size, t.share, t.avg_cost_usd, t.avg_latency_s, t.avg_tokens, t.error_rate, t.total_cost_usd, t.p95_latency_s,
       (SELECT count(*) FROM llm_clusters.clusters c
        WHERE c.team_id = t.team_id AND c.run_id = t.run_id AND c.theme_id = t.theme_id)::int AS n_clusters,
       (SELECT array_agg(llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users) ORDER BY c.size DESC, c.cluster_id)
        FROM llm_clusters.clusters c
        LEFT JOIN llm_clusters.distinct_users u
               ON u.team_id = c.team_id AND u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
        WHERE c.team_id = t.team_id AND c.run_id = t.run_id AND c.theme_id = t.theme_id) AS cluster_titles,
       row_number() OVER (PARTITION BY t.team_id, t.run_id ORDER BY t.size DESC, t.theme_id) AS position,
       tu.users AS distinct_users, llm_clusters._below_floor(tu.users) AS below_floor,
       t.pass_rate, t.na_rate, t.main_evaluator
FROM llm_clusters.themes t
JOIN llm_clusters.runs r ON r.team_id = t.team_id AND r.id = t.run_id
LEFT JOIN llm_clusters.distinct_users tu
       ON tu.team_id = t.team_id AND tu.run_id = t.run_id AND tu.grouping = 'theme' AND tu.group_id = t.theme_id;

COMMENT ON VIEW llm_clusters.cluster_cards IS
    'Per cluster of a run: title, description, size, share and metrics, its theme (theme_id, theme_title; NULL for Outliers); position orders the cards by size with Outliers last. distinct_users: how many users its items come from; below llm_clusters.min_distinct_users (below_floor) the title is Small cluster and no text of its items is shown. Evaluation runs: pass_rate, na_rate, main_evaluator.';
GRANT SELECT ON llm_clusters.cluster_cards TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.theme_cards IS
    'Per theme of a run: title, description, size, share, metrics, how many clusters it groups and their titles (largest first); position orders the cards by size. distinct_users and below_floor as in cluster_cards (Small theme). Evaluation runs: pass_rate, na_rate, main_evaluator.';
GRANT SELECT ON llm_clusters.theme_cards TO llm_clusters_reader;
