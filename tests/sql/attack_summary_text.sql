-- Attack: one team's planted summary stops embed_summaries for every team. Admins write
-- item_summaries (INSERT, UPDATE of title, bullets, updated_at, ...): a title of 540 MB and
-- bullets of 540 MB (13 MB on disk, compressed) made the summary text of the batch, title
-- and bullets concatenated in SQL, longer than PostgreSQL allocates ("invalid memory alloc
-- request size"), so embed_summaries failed for all teams, the worker's every cycle
-- (updated_at 'infinity' keeps the row first). Now each part is cut to the 32 KiB an
-- embedder reads before it is joined. (About 2 GB of memory for a few seconds.)
BEGIN;
CREATE ROLE regress_summary_planter NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (2, 'regress_summary_planter');
SET LOCAL llm_clusters.embedder = 'hash';
-- Nothing else waits: only the two summaries below count.
UPDATE llm_clusters.item_summaries SET embedding = '{}' WHERE embedding IS NULL;
INSERT INTO llm_clusters.item_summaries (team_id, level, item_id, title, bullets, source)
VALUES (1, 'trace', 'victim', 'reset my password', ARRAY['asked to reset it'], 'offline');
SET ROLE regress_summary_planter;
-- Two statements: one row of 1.08 GB is more than a tuple can be before it is compressed.
INSERT INTO llm_clusters.item_summaries (team_id, level, item_id, title, source, updated_at)
VALUES (2, 'trace', 'planted', repeat('x', 540000000), 'offline', 'infinity');
UPDATE llm_clusters.item_summaries SET bullets = ARRAY[repeat('y', 540000000)]
WHERE team_id = 2 AND item_id = 'planted';
RESET ROLE;
-- As the worker calls it (all teams): both embedded.
SELECT llm_clusters.embed_summaries('trace', 10) AS embedded;
SELECT team_id, item_id, cardinality(embedding) > 0 AS has_vector
FROM llm_clusters.item_summaries WHERE item_id IN ('victim', 'planted') ORDER BY team_id;
ROLLBACK;
