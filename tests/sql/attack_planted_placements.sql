-- Attack: many planted placements. assign_pending (the worker runs it for every enabled
-- job, every llm_clusters.assign_interval, in a process of its own) read every item id the
-- run's incremental_assignments held, to leave them out, and admins insert rows of
-- incremental_assignments: 2,000,000 planted rows (200 MB on disk) took one assign_pending
-- to 1 GB and 16 s with no new item to place; 20,000,000 are an OOM kill, which ends every
-- backend of every team. Now it asks only about the items it read (bounded by
-- llm_clusters.max_memory_mb): here 400,000 planted rows add little to the backend's peak,
-- and a new item is still placed once.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL client_min_messages = error;
SET LOCAL llm_clusters.max_jobs_per_team = 20;
CREATE ROLE regress_placement_planter NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (61, 'regress_placement_planter');
SELECT regress.planted(61, 'placed', 30, 3, now() - interval '1 day');
SET ROLE regress_placement_planter;
SELECT llm_clusters.create_job('placements', 'generation', team_id => 61, params => '{"min_items": 3}') AS job \gset
SELECT llm_clusters.run_job(:job, now() - interval '1 hour') AS run \gset
SELECT status FROM llm_clusters.runs WHERE id = :run;
INSERT INTO llm_clusters.incremental_assignments (team_id, job_id, run_id, item_id, cluster_id, distance)
SELECT 61, :job, :run, 'planted-' || g, 0, 0 FROM generate_series(1, 400000) g;
-- One new item since the run.
RESET ROLE;
SELECT llm_clusters.capture(jsonb_build_object('event', '$ai_generation', 'uuid', regress.planted_id(61, 'new', 1),
       'properties', jsonb_build_object('$ai_trace_id', 'new-1', '$ai_input', 'reset my password')), 61) AS captured;
INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding)
VALUES (61, 'generation', regress.planted_id(61, 'new', 1), regress.planted_vector(1, 1));
SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+)'))[1]::bigint AS peak_before \gset
SET ROLE regress_placement_planter;
SELECT llm_clusters.assign_pending(:job) AS placed;
SELECT llm_clusters.assign_pending(:job) AS placed_again;
RESET ROLE;
SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+)'))[1]::bigint - :peak_before < 40000
       AS peak_grew_under_40_mb;
ROLLBACK;
