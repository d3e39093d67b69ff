-- Attack: a team admin's source changes settings while a run reads it as its owner
-- (search_path first: the caller's next now() would run the admin's now()). Code run as
-- the owner leaves nothing behind, as REFRESH MATERIALIZED VIEW: every kind of setting a
-- function can change is back as it was after run_job, run_due_jobs, report_html and
-- cluster_items, whoever calls them.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL TimeZone = 'UTC';
SET LOCAL client_min_messages = error;
SET LOCAL llm_clusters.max_jobs_per_team = 20;
CREATE ROLE regress_setter NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (1, 'regress_setter');
SELECT regress.planted(1, 'settings', 60, 3, now() - interval '1 day');
CREATE SCHEMA setter AUTHORIZATION regress_setter;
SET ROLE regress_setter;
-- The admin's own now(), which a superuser must never run.
CREATE FUNCTION setter.now() RETURNS timestamptz LANGUAGE sql AS $f$ SELECT '2000-01-01'::timestamptz $f$;
-- Session-level and transaction-level changes of a path, a built-in, a custom setting.
CREATE FUNCTION setter.change(t text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM set_config('search_path', 'setter, pg_catalog', false);
    PERFORM set_config('work_mem', '77kB', false);
    PERFORM set_config('regress.planted_setting', 'changed', false);
    PERFORM set_config('statement_timeout', '1234', true);
    PERFORM set_config('datestyle', 'SQL, DMY', false);
    RETURN t;
END $f$;
CREATE VIEW setter.items AS
SELECT team_id, item_id, trace_id, ts, embedding, setter.change(content) AS content,
       cost_usd, latency_s, tokens, is_error, properties
FROM llm_clusters.generation_items;
SELECT llm_clusters.create_job('setter', 'generation', source => 'setter.items') AS job \gset
INSERT INTO llm_clusters.jobs (name, level, team_id, source, enabled_at)
VALUES ('setter, due', 'generation', 1, 'setter.items', now() - interval '3 days');
RESET ROLE;
SET LOCAL regress.planted_setting = 'original';
CREATE TEMP TABLE before AS
SELECT current_setting('search_path') AS search_path, current_setting('work_mem') AS work_mem,
       current_setting('regress.planted_setting') AS custom, current_setting('statement_timeout') AS statement_timeout,
       current_setting('datestyle') AS datestyle;
GRANT SELECT ON before TO PUBLIC;
CREATE FUNCTION pg_temp.unchanged() RETURNS boolean LANGUAGE sql AS $f$
    SELECT (current_setting('search_path'), current_setting('work_mem'), current_setting('regress.planted_setting'),
            current_setting('statement_timeout'), current_setting('datestyle'))
           = (b.search_path, b.work_mem, b.custom, b.statement_timeout, b.datestyle) FROM before b
$f$;
-- As a superuser: run_job, then the pages of the run.
SELECT llm_clusters.run_job(:job) AS run \gset
SELECT status FROM llm_clusters.runs WHERE id = :run;
SELECT pg_temp.unchanged() AS after_run_job, now() > '2001-01-01' AS now_is_pg_catalogs;
SELECT length(llm_clusters.report_html(:run)) > 0 AS report;
SELECT pg_temp.unchanged() AS after_report_html;
SELECT count(*) > 0 AS items FROM llm_clusters.cluster_items(:run, 0);
SELECT pg_temp.unchanged() AS after_cluster_items;
-- The scheduler's path (run_due_jobs, as pg_cron and the worker call it).
SELECT count(*) AS due_runs FROM llm_clusters.run_due_jobs();
SELECT pg_temp.unchanged() AS after_run_due_jobs;
-- As the admin who wrote the function: her own session is left as it was too.
SET ROLE regress_setter;
SELECT llm_clusters.run_job(:job) IS NOT NULL AS ran;
SELECT pg_temp.unchanged() AS after_own_run;
RESET ROLE;
ROLLBACK;
