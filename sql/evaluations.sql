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
