-- Attack: rows of a source as large as the source makes them. A run (and assign_pending)
-- reads its source through a cursor, 1,000 rows a fetch, and held every row of a fetch
-- whole: llm_clusters.max_memory_mb counted the floats it kept, not the item ids, not the
-- trace ids and not the embeddings it skipped as too long. A team admin's view of 300
-- items with 1 MB ids took one run_job to 3 GB under a 64 MB budget; 300 embeddings of
-- 2,500,000 floats (skipped, over 16,000 dimensions) to 1 GB; thousands of rows are an
-- OOM kill, which ends every backend of every team (the worker's job processes read the
-- same way). Now a row's ids longer than 1,024 bytes leave the item out (counted in
-- quality.skipped_long_id), an embedding datum longer than 16,000 float8s is never
-- fetched (counted in skipped_over_max_dimension), and the ids count against the budget:
-- the backend's peak stays far below what the rows hold, and ids past the budget fail the
-- run (54000) as embeddings do.
BEGIN;
SET LOCAL client_min_messages = error;
SET LOCAL llm_clusters.max_memory_mb = 64;
SET LOCAL llm_clusters.max_jobs_per_team = 20;
CREATE ROLE regress_row_builder NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (57, 'regress_row_builder');
CREATE SCHEMA regress_rows AUTHORIZATION regress_row_builder;
SET ROLE regress_row_builder;
-- 150 items whose item and trace ids are 1 MB each (300 MB), and 3 with short ids.
CREATE VIEW regress_rows.long_ids AS
SELECT 57 AS team_id, CASE WHEN i <= 3 THEN i::text ELSE i || repeat('x', 1000000) END AS item_id,
       CASE WHEN i <= 3 THEN i::text ELSE i || repeat('t', 1000000) END AS trace_id,
       now() - interval '1 hour' AS ts, ARRAY[1, i % 3, 0.5]::real[] AS embedding, 'item ' || i AS content,
       0.001::float8 AS cost_usd, 1.0::float8 AS latency_s, 10::bigint AS tokens, false AS is_error,
       '{}'::jsonb AS properties
FROM generate_series(1, 153) i;
-- 150 embeddings of 2,500,000 floats (10 MB each, 1.5 GB), and 3 of 3 floats.
CREATE VIEW regress_rows.long_embeddings AS
SELECT 57 AS team_id, i::text AS item_id, i::text AS trace_id, now() - interval '1 hour' AS ts,
       CASE WHEN i <= 3 THEN ARRAY[1, i, 0.5]::real[] ELSE array_fill((i % 7)::real, ARRAY[2500000]) END AS embedding,
       'item ' || i AS content, 0.001::float8 AS cost_usd, 1.0::float8 AS latency_s, 10::bigint AS tokens,
       false AS is_error, '{}'::jsonb AS properties
FROM generate_series(1, 153) i;
-- 40,000 items of 1 KB ids (80 MB): within the length, beyond the budget.
CREATE VIEW regress_rows.many_ids AS
SELECT 57 AS team_id, i || repeat('x', 1000) AS item_id, i || repeat('t', 1000) AS trace_id,
       now() - interval '1 hour' AS ts, ARRAY[1, i % 3, 0.5]::real[] AS embedding, 'item ' || i AS content,
       0.001::float8 AS cost_usd, 1.0::float8 AS latency_s, 10::bigint AS tokens, false AS is_error,
       '{}'::jsonb AS properties
FROM generate_series(1, 40000) i;
SELECT llm_clusters.create_job('long ids', 'generation', team_id => 57, source => 'regress_rows.long_ids',
                               params => '{"min_items": 3}') AS ids_job \gset
SELECT llm_clusters.create_job('long embeddings', 'generation', team_id => 57, source => 'regress_rows.long_embeddings',
                               params => '{"min_items": 3}') AS embeddings_job \gset
SELECT llm_clusters.run_job(:ids_job) AS ids_run \gset
SELECT status, n_items, quality->'items_in_window' AS in_window, quality->'skipped_long_id' AS long_ids
FROM llm_clusters.runs WHERE id = :ids_run;
SELECT llm_clusters.run_job(:embeddings_job) AS embeddings_run \gset
SELECT status, n_items, quality->'skipped_over_max_dimension' AS over_max
FROM llm_clusters.runs WHERE id = :embeddings_run;
SELECT llm_clusters.create_job('many ids', 'generation', team_id => 57, source => 'regress_rows.many_ids',
                               params => '{"min_items": 3}') AS many_job \gset
SELECT llm_clusters.run_job(:many_job) AS many_run \gset
SELECT status, error AS ids_over_the_budget FROM llm_clusters.runs WHERE id = :many_run;
RESET ROLE;
-- The backend's peak memory (this session ran both runs): 300 MB of ids and 1.5 GB of
-- embeddings were read; before, the peak was ~2 GB.
SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+)'))[1]::bigint < 400000 AS peak_under_400_mb;
ROLLBACK;
