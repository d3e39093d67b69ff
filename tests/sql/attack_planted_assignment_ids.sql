-- Attack: planted assignments with long ids. Admins INSERT rows of their runs'
-- assignments (and incremental_assignments), whose item_id and trace_id were unbounded
-- (trace_id is in no index, so up to 1 GB a row, compressed on disk): 40 rows of a 50 MB
-- trace id (23 MB on disk) took one report_html of a reader of the team to 6.2 GB before
-- it failed, and a few hundred are an OOM kill, which ends every backend of every team
-- (a superuser's dashboard opening the page, too); cluster_items, labels and item_clusters
-- read the same rows. A run reads and writes ids of at most 1,024 bytes
-- (attack_source_rows), so rows with longer ids are refused (23514).
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL client_min_messages = error;
SET LOCAL llm_clusters.max_jobs_per_team = 20;
CREATE ROLE regress_id_planter NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (58, 'regress_id_planter');
SELECT regress.planted(58, 'ids', 30, 3, now() - interval '1 day');
SET ROLE regress_id_planter;
SELECT llm_clusters.create_job('ids', 'generation', team_id => 58, params => '{"min_items": 3}') AS job \gset
SELECT llm_clusters.run_job(:job) AS run \gset
SELECT status FROM llm_clusters.runs WHERE id = :run;
SELECT regress.error_of(format(
    'INSERT INTO llm_clusters.assignments (team_id, run_id, item_id, trace_id, cluster_id, x, y, distance, rank)
     VALUES (58, %s, ''planted'', repeat(''T'', 50000000), 0, 0, 0, 0, 0)', :run)) AS long_trace_id;
SELECT regress.error_of(format(
    'INSERT INTO llm_clusters.assignments (team_id, run_id, item_id, trace_id, cluster_id, x, y, distance, rank)
     VALUES (58, %s, repeat(''I'', 100000), ''t'', 0, 0, 0, 0, 0)', :run)) AS long_item_id;
SELECT regress.error_of(format(
    'INSERT INTO llm_clusters.incremental_assignments (team_id, job_id, run_id, item_id, trace_id, cluster_id, distance)
     VALUES (58, %s, %s, ''planted'', repeat(''T'', 50000000), 0, 0)', :job, :run)) AS long_incremental_trace_id;
SELECT regress.error_of(format(
    'INSERT INTO llm_clusters.incremental_assignments (team_id, job_id, run_id, item_id, trace_id, cluster_id, distance)
     VALUES (58, %s, %s, repeat(''I'', 100000), ''t'', 0, 0)', :job, :run)) AS long_incremental_item_id;
-- Ids of 1,024 bytes, as a run may write, are stored.
SELECT regress.error_of(format(
    'INSERT INTO llm_clusters.assignments (team_id, run_id, item_id, trace_id, cluster_id, x, y, distance, rank)
     VALUES (58, %s, repeat(''i'', 1024), repeat(''t'', 1024), 0, 0, 0, 0, 0)', :run)) AS ids_of_1024_bytes;
RESET ROLE;
ROLLBACK;
