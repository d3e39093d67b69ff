-- Attack: planted cluster and theme rows that the centroid budget did not see. assign
-- (readers call it; the worker's assign_pending runs it for every team) and the lineage of
-- a job's next run (in the worker's job processes) hold a run's centroids to
-- llm_clusters.max_memory_mb as they read them (attack_planted_cluster_rows), but nothing
-- else of a row: admins planted clusters with an empty centroid and a 1,000-character
-- title, or themes with 10 KB of keywords, and 200,000 such clusters made one assign
-- 770 MB; an OOM kill of a backend ends every backend. (Since 0.12.0 a run's ids end at
-- 9999, so at most ~10,000 rows of each: attack_planted_cluster_rows.) What must hold: a
-- run's rows are sized (centroid, title, keywords, and the row) before they are read, and
-- refused (54000) past the budget, here 16 MB.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL client_min_messages = error;
SET LOCAL llm_clusters.max_jobs_per_team = 20;
SET LOCAL llm_clusters.max_memory_mb = 16;
CREATE ROLE regress_text_planter NOLOGIN IN ROLE llm_clusters_admin;
CREATE ROLE regress_text_reader NOLOGIN IN ROLE llm_clusters_reader;
INSERT INTO llm_clusters.team_roles VALUES (2, 'regress_text_planter'), (2, 'regress_text_reader');
SELECT regress.planted(2, 'texts', 30, 3, now() - interval '1 day');
SET ROLE regress_text_planter;
SELECT llm_clusters.create_job('texts', 'generation', team_id => 2, params => '{"min_items": 3}') AS job \gset
SELECT llm_clusters.run_job(:job) AS run \gset
SELECT status FROM llm_clusters.runs WHERE id = :run;
-- 8,999 clusters of an empty centroid, a 1,000-character title and 1 KB of keywords: 19 MB
-- to read.
INSERT INTO llm_clusters.clusters (team_id, run_id, cluster_id, title, description, keywords, size, share, centroid)
SELECT 2, :run, 1000 + g, repeat('x', 1000), '', array_fill(repeat('k', 98), ARRAY[10]), 0, 0, '{}'
FROM generate_series(1, 8999) g;
SET ROLE regress_text_reader;
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.assign(%s, regress.planted_vector(1, 1))', :job)),
                      'run [0-9]+', 'run N') AS planted_titles_to_assign;
SET ROLE regress_text_planter;
SELECT llm_clusters.run_job(:job) AS next_run \gset
SELECT status, regexp_replace(error, 'run [0-9]+', 'run N') AS planted_titles_to_the_lineage
FROM llm_clusters.runs WHERE id = :next_run;
-- Once marked deleted, assign reads the run again; then 2,000 themes of 100 keywords of
-- 98 characters (10 KB each, 20 MB) that the next run's lineage reads.
UPDATE llm_clusters.clusters SET delete_requested = true WHERE run_id = :run AND cluster_id > 1000;
SET ROLE regress_text_reader;
SELECT cluster_id >= -1 AS assigns_once_marked_deleted FROM llm_clusters.assign(:job, regress.planted_vector(1, 1));
SET ROLE regress_text_planter;
INSERT INTO llm_clusters.themes (team_id, run_id, theme_id, title, description, keywords, size, share, centroid)
SELECT 2, :run, 1000 + g, 't', '', array_fill(repeat('k', 98), ARRAY[100]), 0, 0, '{}' FROM generate_series(1, 2000) g;
SELECT llm_clusters.run_job(:job) AS last_run \gset
SELECT status, regexp_replace(error, 'run [0-9]+', 'run N') AS planted_keywords_to_the_lineage
FROM llm_clusters.runs WHERE id = :last_run;
-- 8,999 small clusters (1.2 MB, within the budget) in the previous run: the lineage
-- matched them against the new run's clusters by an O(n^3) loop that no cancel, time
-- limit or pg_terminate_backend reached (20,000 ran on for good; 8,999, about 10^12
-- steps, for hours). Now it is O(new^2 x previous), and a cancel stops it.
UPDATE llm_clusters.themes SET delete_requested = true WHERE run_id = :run AND theme_id > 1000;
INSERT INTO llm_clusters.clusters (team_id, run_id, cluster_id, title, description, size, share, centroid)
SELECT 2, :run, 1000 + g, 't', '', 0, 0, '{}' FROM generate_series(1, 8999) g;
SELECT llm_clusters.run_job(:job) AS matched_run \gset
SELECT status AS planted_clusters_to_match FROM llm_clusters.runs WHERE id = :matched_run;
RESET ROLE;
ROLLBACK;
