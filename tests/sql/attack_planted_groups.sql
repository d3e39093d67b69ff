-- Attack: a page of a run into which its team's admin inserted clusters. Admins INSERT rows
-- of their runs' clusters and themes (texts bounded per row, rows not), and report_html read
-- every one into memory before it measured the page: 20,000 planted clusters (33 MB on disk)
-- made one call 1.7 GB before it failed, so a few more would have the OOM killer end the
-- backend of whoever opened the page (a reader of the team, a superuser's dashboard), and
-- with it every backend. Now the page counts the run's clusters and themes and their
-- texts' sizes first, and refuses (54000) past 10,000 of them or past the text
-- llm_clusters.max_output_mb allows, before reading them.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL client_min_messages = error;
SET LOCAL llm_clusters.max_jobs_per_team = 20;
CREATE ROLE regress_planter NOLOGIN IN ROLE llm_clusters_admin;
CREATE ROLE regress_page_reader NOLOGIN IN ROLE llm_clusters_reader;
INSERT INTO llm_clusters.team_roles VALUES (2, 'regress_planter'), (2, 'regress_page_reader');
SELECT regress.planted(2, 'groups', 30, 3, now() - interval '1 day');
SET ROLE regress_planter;
SELECT llm_clusters.run_job(llm_clusters.create_job('groups', 'generation', team_id => 2, params => '{"min_items": 3}')) AS run \gset
SELECT status FROM llm_clusters.runs WHERE id = :run;
SELECT length(llm_clusters.report_html(:run)) > 0 AS page_before;
-- 1. Many small groups: 9,000 one-letter clusters and 1,001 themes (ids end at 9999:
-- attack_planted_cluster_rows).
INSERT INTO llm_clusters.clusters (team_id, run_id, cluster_id, title, description, size, share)
SELECT 2, :run, 1000 + g, 'x', '', 1, 0 FROM generate_series(0, 8999) g;
INSERT INTO llm_clusters.themes (team_id, run_id, theme_id, title, description, size, share)
SELECT 2, :run, 8999 + g, 'x', '', 1, 0 FROM generate_series(0, 1000) g;
SET ROLE regress_page_reader;
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.report_html(%s)', :run)), '(run|has|holding) [0-9]+', '\1 N', 'g') AS many_clusters;
SET ROLE regress_planter;
UPDATE llm_clusters.clusters SET delete_requested = true WHERE team_id = 2 AND run_id = :run AND cluster_id >= 1000;
UPDATE llm_clusters.themes SET delete_requested = true WHERE team_id = 2 AND run_id = :run AND theme_id >= 8999;
SELECT length(llm_clusters.report_html(:run)) > 0 AS page_again;
-- 2. Few large ones: 300 descriptions of 10,000 '<' (each written \u003c in the page).
INSERT INTO llm_clusters.themes (team_id, run_id, theme_id, title, description, size, share)
SELECT 2, :run, 1000 + g, 't', repeat('<', 10000), 1, 0 FROM generate_series(0, 299) g;
SET ROLE regress_page_reader;
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.report_html(%s)', :run)), '(run|has|holding) [0-9]+', '\1 N', 'g') AS large_themes;
RESET ROLE;
ROLLBACK;
