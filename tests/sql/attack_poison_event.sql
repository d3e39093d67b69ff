-- Attack: one team's event that this version cannot parse (a number beyond f64 in its
-- input or output) stopped summarize_pending and embed_pending for every team, every
-- cycle. Now the item is done from its text, with a WARNING naming team and item, and
-- every other team's items are summarised and embedded.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL llm_clusters.embedder = 'hash';
CREATE ROLE regress_poisoner NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (2, 'regress_poisoner');
DELETE FROM llm_clusters.embeddings;
DELETE FROM llm_clusters.item_summaries;
SELECT llm_clusters.capture(jsonb_build_object('event', '$ai_generation', 'uuid', '00000000-0000-0000-0000-0000000000b1',
       'timestamp', '2026-11-20T10:00:00Z', 'properties', jsonb_build_object('$ai_trace_id', 'good-trace',
       '$ai_input', 'how do I reset my password', '$ai_output_choices', 'click forgot password')), 1);
SET ROLE regress_poisoner;
INSERT INTO llm_clusters.events (uuid, team_id, event, "timestamp", trace_id, input, output, content)
VALUES ('00000000-0000-0000-0000-0000000000b2', 2, '$ai_generation', '2026-11-20T11:00:00Z', 'poison-trace',
        '[{"role": "user", "content": "poison", "n": 1e400}]', '{"x": -1e999}', 'poison in its content');
RESET ROLE;
-- Run for all teams, as the worker does: both succeed, the poisoned item included.
SELECT llm_clusters.summarize_pending('generation') AS summarised;
SELECT llm_clusters.summarize_pending('trace') AS traces_summarised;
SELECT llm_clusters.embed_pending('generation') AS embedded;
SELECT llm_clusters.embed_pending('trace') AS traces_embedded;
SELECT team_id, level, count(*) AS summaries FROM llm_clusters.item_summaries GROUP BY 1, 2 ORDER BY 1, 2;
SELECT team_id, level, count(*) AS embeddings FROM llm_clusters.embeddings GROUP BY 1, 2 ORDER BY 1, 2;
-- The trace page of the poisoned trace shows its text.
SELECT position('poison' IN llm_clusters.trace_html('poison-trace', 2)) > 0 AS page_shows_it;
ROLLBACK;
