#!/usr/bin/env bash
# A job process that does not end when terminated holds the worker at most 10 s (the
# reproduction of the security issue), on PostgreSQL 18. Past job_time_limit the worker
# terminates a job's process and waited for it to end with no bound: a process that never
# reaches an interrupt check (here stopped with SIGSTOP; in life a long step of the engine
# with none) held the worker, which every team shares, and no other team's job ran. Now
# the worker waits 10 s, logs a WARNING and goes on: team 2's job runs while team 1's
# process is still stopped, and that process ends at its SIGTERM once it runs again.
set -euo pipefail
source "$(dirname "$0")/../e2e/lib.sh"
E2E_CLEANUP='[ -z "${stopped:-}" ] || kill -CONT "$stopped" 2>/dev/null || true'
worker_setup 56035 "llm_clusters.daily_run_time = '$(utc_in 7200)'" \
  "llm_clusters.job_time_limit = '2s'" "llm_clusters.embedder = 'hash'"
load_items 1 300 one >/dev/null
load_items 2 60 two >/dev/null
# Team 1's job reads a slow source (15 s), so its process is still running at the limit;
# it is created first, so the worker takes it first.
slow_source team1_admin
pg -o /dev/null <<'SQL'
SET ROLE team1_admin;
SELECT llm_clusters.create_job('team 1: slow', 'generation', team_id => 1, source => 'public.slow_items');
SET ROLE team2_admin;
SELECT llm_clusters.create_job('team 2', 'generation', team_id => 2, params => '{"min_items": 3}');
SQL
set_run_time "$(utc_in 2)"
job_process="SELECT pid FROM pg_stat_activity WHERE backend_type = 'llm_clusters job' LIMIT 1"
wait_until "team 1's job runs in a process of its own" 30 "SELECT EXISTS ($job_process)"
stopped=$(q "$job_process")
kill -STOP "$stopped"
say "team 1's job process ($stopped) stopped: it cannot act on its termination"
wait_until "team 2's due job ran while team 1's terminated process was still stopped" 60 \
  "SELECT EXISTS (SELECT 1 FROM llm_clusters.runs WHERE team_id = 2 AND cycle IS NOT NULL AND status = 'succeeded')"
grep -q "of team 1 (pid $stopped) had not ended 10 s after it was terminated" "$PGLOG" \
  || fail "the server log does not say the worker went on without team 1's process"
pass "the log says: $(grep -m1 -o "the process of job [0-9]* of team 1 (pid $stopped)[^\"]*" "$PGLOG" | head -c 200)"
expect "team 1's process is still there, stopped" "SELECT count(*) FROM pg_stat_activity WHERE pid = $stopped" 1
kill -CONT "$stopped"; stopped=
wait_until "team 1's process ended at its SIGTERM once it ran again" 30 \
  "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'llm_clusters job')"
say "worker terminate wait: all checks passed"
