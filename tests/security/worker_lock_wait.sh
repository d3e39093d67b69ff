#!/usr/bin/env bash
# No team's open transaction holds the worker (the reproduction of the security issue), on
# PostgreSQL 18. When a job's process ends without recording its run, the worker records
# a failed one; that INSERT checks the runs' foreign key (a KEY SHARE lock on the job's
# row) and the cycle's unique key of runs, and team admins may lock both: SELECT ... FOR
# UPDATE of their own job (they may UPDATE it), or INSERT a run of the cycle and not
# commit. Team 2's admin holds her job's row in an open transaction: the worker waited on
# it for good ("running job 1 of team 2", wait event transactionid), and team 1's due job
# never ran. Now recording waits 5 s at most, the worker goes on, and team 1's job runs.
# The same for a run of the cycle that team 2's admin inserts and does not commit.
set -euo pipefail
source "$(dirname "$0")/../e2e/lib.sh"
E2E_CLEANUP='[ -z "${holder:-}" ] || kill "$holder" 2>/dev/null || true'
worker_setup 56034 "llm_clusters.daily_run_time = '$(utc_in 7200)'" \
  "llm_clusters.job_time_limit = '3s'" "llm_clusters.embedder = 'hash'"
load_items 1 60 one >/dev/null
load_items 2 60 two >/dev/null
# hold_as ROLE SQL: ROLE's open transaction that runs SQL and then stays open (2 minutes).
hold_as() {
  printf 'BEGIN;\n%s\nSELECT pg_sleep(120);\n' "$2" \
    | as_owner env PGHOST="$PGHOST" PGPORT="$PGPORT" "$PGBIN/psql" -X -q -U "$1" -d postgres >/dev/null 2>&1 &
  holder=$!
  wait_until "$1's transaction holds its lock" 20 \
    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE usename = '$1' AND query LIKE '%pg_sleep%')"
}
# cycle_at HH:MM:SS: today's (UTC) cycle starting then, as SQL.
cycle_at() { echo "(((now() AT TIME ZONE 'UTC')::date + time '$1') AT TIME ZONE 'UTC')"; }
pg -o /dev/null <<'SQL'
SET ROLE team2_admin;
SELECT llm_clusters.create_job('team 2', 'generation', team_id => 2, params => '{"min_items": 3}');
SET ROLE team1_admin;
SELECT llm_clusters.create_job('team 1', 'generation', team_id => 1, params => '{"min_items": 3}');
SQL

say "team 2's admin holds her job's row (FOR UPDATE) across the cycle's start"
hold_as team2_admin "SELECT id FROM llm_clusters.jobs WHERE team_id = 2 FOR UPDATE;"
at=$(utc_in 3)
cycle=$(cycle_at "$at")
set_run_time "$at"
wait_until "team 1's due job ran while team 2's admin held her job's row" 60 \
  "SELECT EXISTS (SELECT 1 FROM llm_clusters.runs WHERE team_id = 1 AND cycle = $cycle AND status <> 'running')"
expect "team 1's run succeeded" "SELECT status FROM llm_clusters.runs WHERE team_id = 1 AND cycle = $cycle" succeeded
grep -q "job [0-9]* of team 2: the run of job [0-9]* of team 2 in this cycle was not recorded" "$PGLOG" \
  || fail "the server log does not say team 2's run could not be recorded"
pass "the log says: $(grep -m1 -o 'the run of job [0-9]* of team 2 in this cycle was not recorded[^"]*' "$PGLOG" | head -c 200)"
kill "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true

say "team 2's admin inserts a run of the next cycle and does not commit"
at=$(utc_in 30)
cycle=$(cycle_at "$at")
hold_as team2_admin "INSERT INTO llm_clusters.runs (job_id, team_id, job_name, level, window_start, window_end, cycle, status)
SELECT id, team_id, name, level, $cycle, $cycle, $cycle, 'running' FROM llm_clusters.jobs WHERE team_id = 2;"
set_run_time "$at"
wait_until "team 1's due job ran while team 2's admin held a run of the cycle" 90 \
  "SELECT EXISTS (SELECT 1 FROM llm_clusters.runs WHERE team_id = 1 AND cycle = $cycle AND status <> 'running')"
expect "team 1's run succeeded" "SELECT status FROM llm_clusters.runs WHERE team_id = 1 AND cycle = $cycle" succeeded
expect "the worker waits on no lock for long" \
  "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'llm_clusters scheduler' AND wait_event_type = 'Lock' AND now() - state_change > interval '20 seconds'" 0
say "worker lock wait: all checks passed"
