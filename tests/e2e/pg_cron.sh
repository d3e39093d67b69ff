#!/usr/bin/env bash
# End-to-end test of scheduling with pg_cron (PostgreSQL 15 from Debian, pg_cron 1.4):
# cron.schedule() calls llm_clusters.run_due_jobs() every minute and a run appears, once.
# pg_cron 1.4 fires at most once a minute, on the minute, so this test waits up to ~2
# minutes for the first firing and then one more firing to show it runs nothing twice.
# Then a job whose source catches the time limit's cancel: pg_cron's call ends it (its
# process is terminated) and the job after it runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ver=15

# Our worker is off so that only pg_cron can run the job.
e2e_setup "$ver" 55315 \
  "shared_preload_libraries = 'pg_cron,llm_clusters'" "cron.database_name = 'postgres'" \
  "cron.use_background_workers = on" "max_worker_processes = 16" \
  "llm_clusters.scheduler_enabled = off" "llm_clusters.daily_run_time = '$(utc_in 7200)'"

say "pg_cron on PostgreSQL $ver"
pg -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION llm_clusters"
load_items 1 300 c
pg -c "SELECT llm_clusters.create_job('cron_job', 'generation')" >/dev/null
set_run_time "$(utc_in 2)"
sleep 3
pg -c "SELECT cron.schedule('llm-clusters-due', '* * * * *', \$\$SELECT llm_clusters.run_due_jobs()\$\$)" >/dev/null
wait_until "pg_cron ran the due job (fires on the minute)" 130 \
  "SELECT EXISTS (SELECT 1 FROM llm_clusters.runs WHERE job_name = 'cron_job' AND cycle IS NOT NULL AND status = 'succeeded')"
wait_until "pg_cron fired again" 75 \
  "SELECT count(*) >= 2 FROM cron.job_run_details WHERE command LIKE '%run_due_jobs%' AND status = 'succeeded'"
expect "one run for the cycle, however often pg_cron fires" "SELECT count(*) FROM llm_clusters.runs" 1

say "a job that swallows cancels, under pg_cron"
q "ALTER SYSTEM SET llm_clusters.job_time_limit = '2s'" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null
pg -o /dev/null -f "$FIXTURES/swallowing_source.sql"
pg -o /dev/null <<'SQL'
INSERT INTO llm_clusters.jobs (name, level, team_id, source, enabled_at)
VALUES ('swallows cancels', 'generation', 1, 'public.swallowing_items', now() - interval '2 days'),
       ('after it', 'generation', 1, NULL, now() - interval '2 days');
SQL
wait_until "pg_cron ran both jobs" 150 \
  "SELECT count(*) = 2 FROM llm_clusters.runs WHERE job_name IN ('swallows cancels', 'after it') AND status <> 'running'"
expect "the job that swallows cancels was ended for good" \
  "SELECT status || ' ' || (error LIKE '%did not stop at its cancel, and its process was terminated%') FROM llm_clusters.runs WHERE job_name = 'swallows cancels'" "failed true"
expect "the job after it ran" "SELECT status FROM llm_clusters.runs WHERE job_name = 'after it'" succeeded
say "pg_cron end-to-end passed"
