-- Attack: many planted clusters in a run that assign reads. Admins insert rows into their
-- runs' clusters; each centroid is bounded (16,000 dimensions, attack_planted_centroids),
-- their number is not, and zeros compress to nothing on disk: 20,000 planted centroids
-- (15 MB on disk) made one assign, which readers call and the worker's assign_pending
-- runs for every team, 2.6 GB and 72 s; a few more and the OOM killer ends the backend,
-- and with it every backend. What a run's centroids take is now held to
-- llm_clusters.max_memory_mb (54000 past it). Here the budget is 16 MB, and 300 planted
-- centroids of 16,000 dimensions take 19 MB.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL client_min_messages = error;
SET LOCAL llm_clusters.max_jobs_per_team = 20;
SET LOCAL llm_clusters.max_memory_mb = 16;
CREATE ROLE regress_row_planter NOLOGIN IN ROLE llm_clusters_admin;
CREATE ROLE regress_assigner NOLOGIN IN ROLE llm_clusters_reader;
INSERT INTO llm_clusters.team_roles VALUES (2, 'regress_row_planter'), (2, 'regress_assigner');
SELECT regress.planted(2, 'rows', 30, 3, now() - interval '1 day');
SET ROLE regress_row_planter;
SELECT llm_clusters.create_job('rows', 'generation', team_id => 2, params => '{"min_items": 3}') AS job \gset
SELECT llm_clusters.run_job(:job) AS run \gset
SELECT status FROM llm_clusters.runs WHERE id = :run;
SET ROLE regress_assigner;
SELECT cluster_id >= -1 AS assigned FROM llm_clusters.assign(:job, regress.planted_vector(1, 1));
SET ROLE regress_row_planter;
INSERT INTO llm_clusters.clusters (team_id, run_id, cluster_id, title, description, size, share, centroid)
SELECT 2, r.id, 1000 + g, 'x', '', 1, 0, array_fill(0::real, ARRAY[16000])
FROM llm_clusters.runs r, generate_series(1, 300) g WHERE r.team_id = 2 AND r.id = :run;
SET ROLE regress_assigner;
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.assign(%s, regress.planted_vector(1, 1))', :job)),
                      'run [0-9]+', 'run N') AS planted_rows;
-- The job's next run reads the previous run's centroids to keep its clusters' identities
-- (the worker runs it for every team): held to the same budget, it fails with the reason.
SET ROLE regress_row_planter;
SELECT llm_clusters.run_job(:job) AS next_run \gset
SELECT status, regexp_replace(error, 'run [0-9]+', 'run N') AS error FROM llm_clusters.runs WHERE id = :next_run;
-- Ids index a run's groups in memory: one theme numbered 2,000,000,000 sized a merge's
-- arrays by it (sql/jobs.sql). Runs make ids from -1 to a few thousand; others are refused.
SELECT regress.error_of(format($$INSERT INTO llm_clusters.clusters (team_id, run_id, cluster_id, title, description, size, share)
                                VALUES (2, %s, 2000000000, 'x', '', 1, 0)$$, :run)) AS planted_cluster_id;
SELECT regress.error_of(format($$INSERT INTO llm_clusters.themes (team_id, run_id, theme_id, title, description, size, share)
                                VALUES (2, %s, 2000000000, 'x', '', 1, 0)$$, :run)) AS planted_theme_id;
SELECT regress.error_of(format('UPDATE llm_clusters.clusters SET theme_id = -5 WHERE run_id = %s', :run)) AS planted_theme_of_a_cluster;
SELECT regress.error_of(format($$INSERT INTO llm_clusters.assignments (team_id, run_id, item_id, cluster_id, x, y, distance, rank)
                                VALUES (2, %s, 'x', 2000000000, 0, 0, 0, 0)$$, :run)) AS planted_assigned_cluster;
SELECT regress.error_of(format($$INSERT INTO llm_clusters.assignments (team_id, run_id, item_id, cluster_id, x, y, distance, rank)
                                VALUES (2, %s, 'x', 0, 0, 0, 0, -1)$$, :run)) AS planted_rank;
SELECT regress.error_of(format($$INSERT INTO llm_clusters.distinct_users (team_id, run_id, grouping, group_id, users)
                                VALUES (2, %s, 'theme', 2000000000, 1)$$, :run)) AS planted_group;
-- Planted rows at rank 0: a page and a label request hold at most their few nearest items
-- of each cluster, however many rows claim rank 0 (each was read, with its text, before).
INSERT INTO llm_clusters.assignments (team_id, run_id, item_id, cluster_id, x, y, distance, rank)
SELECT 2, :run, 'planted-rank-' || g, 0, 0, 0, 0, 0 FROM generate_series(1, 3000) g;
-- The map's dots name every item (3,030 are under its 5,000): what is left are the examples.
SELECT regexp_count(html, 'planted-rank-') - 3000 AS planted_examples_on_the_page FROM llm_clusters.report_html(:run) AS html;
RESET ROLE;
ROLLBACK;
