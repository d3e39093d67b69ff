#!/usr/bin/env bash
# The background worker (a superuser) runs an attacker's jobs with the attacker's rights:
# a job over a view of a table she may not read leaks nothing, a job whose source calls
# ALTER ROLE ... SUPERUSER does not make her superuser; a slow job is stopped by
# llm_clusters.job_time_limit and the next job of the cycle still runs. A job whose source
# catches the cancel the limit sends (plpgsql, in a loop) is ended for good, by the worker
# and by run_due_jobs() as pg_cron calls it, and the next job runs; the worker comes back
# after pg_terminate_backend; a fast shutdown ends a run that swallows cancels.
# Usage: tests/e2e/worker_owner.sh 15|16|18
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ver=${1:-18}
e2e_setup "$ver" $((55900 + ver)) \
  "shared_preload_libraries = 'llm_clusters'" "llm_clusters.scheduler_naptime = 1" \
  "llm_clusters.daily_run_time = '$(utc_in 7200)'" "llm_clusters.job_time_limit = '5s'" \
  "llm_clusters.max_jobs_per_team = 20"
worker="SELECT pid FROM pg_stat_activity WHERE backend_type = 'llm_clusters scheduler'"
wait_until "the worker is up" 20 "SELECT EXISTS ($worker)"
pg -c "CREATE EXTENSION llm_clusters"
load_items 1 300 w >/dev/null
pg -o /dev/null <<'SQL'
CREATE ROLE mallory LOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (1, 'mallory');
CREATE TABLE public.secret_chats AS SELECT * FROM llm_clusters.generation_items;
UPDATE public.secret_chats SET content = 'SECRET salary of employee ' || item_id;
CREATE SCHEMA mallory AUTHORIZATION mallory;
CREATE FUNCTION public.slowly(t text) RETURNS text LANGUAGE sql AS $$ SELECT t FROM pg_sleep(0.05) $$;
CREATE VIEW public.slow_items AS
SELECT team_id, item_id, trace_id, ts, embedding, public.slowly(content) AS content,
       cost_usd, latency_s, tokens, is_error, properties FROM llm_clusters.generation_items;
SET ROLE mallory;
CREATE VIEW mallory.wrapper AS SELECT * FROM public.secret_chats;
CREATE FUNCTION mallory.escalate(t text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE 'ALTER ROLE mallory SUPERUSER';
    RETURN t;
END $f$;
CREATE VIEW mallory.items AS
SELECT team_id, item_id, trace_id, ts, embedding, mallory.escalate(content) AS content,
       cost_usd, latency_s, tokens, is_error, properties FROM llm_clusters.generation_items;
SELECT llm_clusters.create_job('a: wrapped secret', 'generation', source => 'mallory.wrapper');
SELECT llm_clusters.create_job('b: escalate', 'generation', source => 'mallory.items');
RESET ROLE;
SELECT llm_clusters.create_job('c: slow', 'generation', source => 'public.slow_items');
SQL
pg -o /dev/null -f "$FIXTURES/swallowing_source.sql"
pg -o /dev/null <<'SQL'
SELECT llm_clusters.create_job('c2: swallows cancels', 'generation', source => 'public.swallowing_items');
SELECT llm_clusters.create_job('d: plain', 'generation');
SQL
set_run_time "$(utc_in 2)"
wait_until "the worker ran the 5 due jobs" 120 "SELECT count(*) = 5 FROM llm_clusters.runs WHERE cycle IS NOT NULL AND status <> 'running'"
pg -c "SELECT job_name, status, left(error, 90) AS error FROM llm_clusters.runs ORDER BY job_name"
expect "the wrapper job failed on the secret table, read as mallory" \
  "SELECT status || ': ' || error FROM llm_clusters.runs WHERE job_name = 'a: wrapped secret'" "failed: permission denied for table secret_chats"
expect "the escalating job failed" "SELECT status FROM llm_clusters.runs WHERE job_name = 'b: escalate'" failed
expect "mallory is not superuser" "SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'" f
expect "no secret reached any title, description or keyword" \
  "SELECT count(*) FROM llm_clusters.clusters WHERE title || description || array_to_string(keywords, ' ') LIKE '%SECRET%'" 0
expect "the slow job was stopped by the time limit" \
  "SELECT status || ' ' || (error LIKE 'stopped by llm_clusters.job_time_limit (5000 ms)%') FROM llm_clusters.runs WHERE job_name = 'c: slow'" "failed true"
expect "the job that swallows cancels was ended for good" \
  "SELECT status || ' ' || (error LIKE '%did not stop at its cancel, and its process was terminated%') FROM llm_clusters.runs WHERE job_name = 'c2: swallows cancels'" "failed true"
expect "the job after it still ran" "SELECT status FROM llm_clusters.runs WHERE job_name = 'd: plain'" succeeded
expect "the worker is still up" "SELECT count(*) FROM ($worker) w" 1
expect "no job process is left" "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'llm_clusters job'" 0

say "run_due_jobs() as pg_cron calls it (on its own): the same, in processes of its own"
q "ALTER SYSTEM SET llm_clusters.scheduler_enabled = off" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null
pg -o /dev/null <<'SQL'
INSERT INTO llm_clusters.jobs (name, level, team_id, source, enabled_at)
VALUES ('e: swallows cancels, pg_cron', 'generation', 1, 'public.swallowing_items', now() - interval '2 days'),
       ('f: plain, pg_cron', 'generation', 1, NULL, now() - interval '2 days');
SQL
# A reader of another team holds every advisory lock key the extension used before 0.5.0
# (per job id, per team): no run and no create_job waits for it any more.
pg -c "CREATE ROLE carol LOGIN IN ROLE llm_clusters_reader" -c "INSERT INTO llm_clusters.team_roles VALUES (2, 'carol')" >/dev/null
as_owner env PGHOST="$PGHOST" PGPORT="$PGPORT" "$PGBIN/psql" -X -q -U carol -d postgres \
  -c "SELECT pg_advisory_lock(hashtext('llm_clusters.run_job'), g) FROM generate_series(1, 100) g" \
  -c "SELECT pg_advisory_lock(hashtext('llm_clusters.jobs'), 1)" -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
holder=$!
E2E_CLEANUP="kill $holder 2>/dev/null || true; ${E2E_CLEANUP:-true}"
wait_until "carol holds the locks" 20 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE usename = 'carol' AND wait_event = 'PgSleep')"
expect "create_job does not wait for carol's locks" "SELECT llm_clusters.create_job('h: created beside carol', 'generation', enabled => false) IS NOT NULL" t
expect "run_due_jobs() returned both runs" "SELECT count(*) FROM llm_clusters.run_due_jobs()" 2
expect "the job that swallows cancels was ended" \
  "SELECT status || ' ' || (error LIKE '%did not stop at its cancel, and its process was terminated%') FROM llm_clusters.runs WHERE job_name = 'e: swallows cancels, pg_cron'" "failed true"
expect "the job after it ran" "SELECT status FROM llm_clusters.runs WHERE job_name = 'f: plain, pg_cron'" succeeded

q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'carol'" >/dev/null
wait $holder 2>/dev/null || true

say "pg_terminate_backend of the idle worker: it is started again"
old_pid=$(q "$worker")
q "SELECT pg_terminate_backend(($worker))" >/dev/null
wait_until "the worker is back with another pid" 30 "SELECT EXISTS (SELECT 1 FROM ($worker) w WHERE w.pid <> $old_pid)"

say "a fast shutdown during a run that swallows cancels"
q "ALTER SYSTEM SET llm_clusters.job_time_limit = '10min'" >/dev/null
q "ALTER SYSTEM SET llm_clusters.scheduler_enabled = on" >/dev/null
pg -o /dev/null <<'SQL'
INSERT INTO llm_clusters.jobs (name, level, team_id, source, enabled_at)
VALUES ('g: swallows cancels, shutdown', 'generation', 1, 'public.swallowing_items', now() - interval '2 days');
SELECT pg_reload_conf();
SQL
wait_until "the worker's job process reads the source" 60 \
  "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'llm_clusters job' AND wait_event = 'PgSleep')"
# -t: a hang guard, not a measurement (before 0.5.0 this shutdown never finished).
as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -t 60 -w stop >/dev/null || fail "the fast shutdown did not finish"
pass "the fast shutdown finished"
resume_cluster
say "worker and owners: all checks passed"
