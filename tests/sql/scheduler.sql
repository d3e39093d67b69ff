-- Daily runs: which jobs are due, enabled_at kept by the trigger, a bad daily_run_time.
-- (The worker and pg_cron themselves are tested end to end in tests/e2e.)
BEGIN;
CREATE TABLE regress.own_items AS SELECT * FROM llm_clusters.generation_items LIMIT 0;
SELECT llm_clusters.create_job('nightly', level => 'generation', team_id => 40) AS job \gset
SELECT llm_clusters.create_job('own source', level => 'generation', team_id => 40, source => 'regress.own_items') AS own \gset
-- enabled_at: set when created enabled, cleared when disabled, kept by unrelated updates.
SELECT enabled_at = now() AS enabled_now FROM llm_clusters.jobs WHERE id = :job;
UPDATE llm_clusters.jobs SET enabled = false WHERE id = :job;
SELECT enabled_at IS NULL AS cleared FROM llm_clusters.jobs WHERE id = :job;
UPDATE llm_clusters.jobs SET enabled = true WHERE id = :job;
SELECT enabled_at = now() AS set_again FROM llm_clusters.jobs WHERE id = :job;
-- Kept: a job enabled long ago (a restored row keeps its time) keeps it through an update
-- of another column (were it reset to now(), this would fail).
INSERT INTO llm_clusters.jobs (name, level, team_id, enabled_at) VALUES ('long enabled', 'generation', 40, '2026-01-01T00:00:00Z')
RETURNING id AS old \gset
UPDATE llm_clusters.jobs SET name = 'long enabled, renamed' WHERE id = :old;
SELECT enabled_at = '2026-01-01T00:00:00Z' AS kept FROM llm_clusters.jobs WHERE id = :old;
-- A job created in the current cycle is not due before the next one; the job enabled
-- long ago is (so run_due_jobs does run, here in this transaction).
SELECT count(*) AS ran FROM llm_clusters.run_due_jobs();
SELECT job_name FROM llm_clusters.runs WHERE team_id = 40 AND cycle IS NOT NULL;
-- A job whose source was dropped can still be disabled (only changed fields are checked)...
DROP TABLE regress.own_items;
UPDATE llm_clusters.jobs SET enabled = false WHERE id = :own;
SELECT enabled FROM llm_clusters.jobs WHERE id = :own;
-- ...but not pointed at new params while its source is gone.
SELECT regexp_replace(regress.error_of(format('UPDATE llm_clusters.jobs SET params = %L WHERE id = %s', '{"seed": 1}', :own)),
                      'oid \d+', 'oid N') AS error;
-- An on-demand run of it is recorded as failed, naming the problem.
SET LOCAL client_min_messages = error;  -- the WARNING names ids that vary
SELECT llm_clusters.run_job(:own) AS run \gset
SELECT status, cycle, error LIKE 'source relation with oid % no longer exists (dropped?)' AS says_why FROM llm_clusters.runs WHERE id = :run;
ROLLBACK;

-- A daily_run_time that is not a time of day is an error naming the value.
ALTER SYSTEM SET llm_clusters.daily_run_time = '25:00';
SELECT pg_reload_conf();
-- Wait until the reload reached this session (between its commands), at most 5 s;
-- the SHOW below tells if it did not.
\set ECHO none
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '25:00' AS reloaded \gset
\endif
\set ECHO all
SHOW llm_clusters.daily_run_time;
SELECT regress.error_of('SELECT llm_clusters.run_due_jobs()');
ALTER SYSTEM RESET llm_clusters.daily_run_time;
SELECT pg_reload_conf();
-- Wait until the reload reached this session (between its commands), at most 5 s;
-- the SHOW below tells if it did not.
\set ECHO none
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\if :reloaded
\else
SELECT pg_sleep(0.25) AS slept \gset
SELECT current_setting('llm_clusters.daily_run_time') = '00:15' AS reloaded \gset
\endif
\set ECHO all
SHOW llm_clusters.daily_run_time;
SHOW llm_clusters.scheduler_enabled;
SHOW llm_clusters.scheduler_naptime;
