#!/usr/bin/env bash
# The background worker (a superuser) runs an attacker's jobs with the attacker's rights:
# a job over a view of a table she may not read leaks nothing, a job whose source calls
# ALTER ROLE ... SUPERUSER does not make her superuser; a slow job is stopped by
# llm_clusters.job_time_limit and the next job of the cycle still runs.
# Usage: tests/e2e/worker_owner.sh 15|18
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ver=${1:-18}
e2e_setup "$ver" $((55900 + ver)) \
  "shared_preload_libraries = 'llm_clusters'" "llm_clusters.scheduler_naptime = 1" \
  "llm_clusters.daily_run_time = '$(utc_in 7200)'" "llm_clusters.job_time_limit = '5s'"
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
SELECT llm_clusters.create_job('d: plain', 'generation');
SQL
set_run_time "$(utc_in 2)"
wait_until "the worker ran the 4 due jobs" 90 "SELECT count(*) = 4 FROM llm_clusters.runs WHERE cycle IS NOT NULL AND status <> 'running'"
pg -c "SELECT job_name, status, left(error, 90) AS error FROM llm_clusters.runs ORDER BY job_name"
expect "the wrapper job failed on the secret table, read as mallory" \
  "SELECT status || ': ' || error FROM llm_clusters.runs WHERE job_name = 'a: wrapped secret'" "failed: permission denied for table secret_chats"
expect "the escalating job failed" "SELECT status FROM llm_clusters.runs WHERE job_name = 'b: escalate'" failed
expect "mallory is not superuser" "SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'" f
expect "no secret reached any title, description or keyword" \
  "SELECT count(*) FROM llm_clusters.clusters WHERE title || description || array_to_string(keywords, ' ') LIKE '%SECRET%'" 0
expect "the slow job was stopped by the time limit" \
  "SELECT status || ' ' || (error LIKE 'stopped by llm_clusters.job_time_limit (5000 ms)%') FROM llm_clusters.runs WHERE job_name = 'c: slow'" "failed true"
expect "the job after it still ran" "SELECT status FROM llm_clusters.runs WHERE job_name = 'd: plain'" succeeded
expect "the worker is still up" "SELECT count(*) FROM ($worker) w" 1
say "worker and owners: all checks passed"
