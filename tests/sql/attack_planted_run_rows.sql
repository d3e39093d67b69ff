-- Attack: a planted run's name. Admins INSERT rows of runs (and choose job_name, level and
-- status), and a run's page and the trace page's list of clusters read its job_name whole:
-- one run row of a 300 MB job_name (compressed to almost nothing on disk) took a reader's
-- report_html to 5.3 GB before it failed, where llm_clusters.max_output_mb is 16; a few
-- such calls at once are an OOM kill, which ends every backend of every team (a superuser's
-- dashboard opening the page, too). A run copies its job's name (at most 200 characters)
-- and level, so a row with another name or level is refused (23514).
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL client_min_messages = error;
CREATE ROLE regress_run_planter NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (60, 'regress_run_planter');
SET ROLE regress_run_planter;
SELECT regress.error_of(
    'INSERT INTO llm_clusters.runs (team_id, job_name, level, window_start, window_end, status, finished_at)
     VALUES (60, repeat(''<'', 300000000), ''generation'', now() - interval ''7 days'', now(), ''succeeded'', now())')
    AS long_job_name;
SELECT regress.error_of(
    'INSERT INTO llm_clusters.runs (team_id, job_name, level, window_start, window_end, status, finished_at)
     VALUES (60, ''planted'', repeat(''<'', 300000000), now() - interval ''7 days'', now(), ''succeeded'', now())')
    AS long_level;
SELECT regress.error_of(
    'INSERT INTO llm_clusters.runs (team_id, job_name, level, window_start, window_end, status, finished_at)
     VALUES (60, repeat(''n'', 200), ''trace'', now() - interval ''7 days'', now(), ''succeeded'', now())')
    AS name_of_200_characters;
RESET ROLE;
ROLLBACK;
