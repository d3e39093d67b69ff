#!/usr/bin/env bash
# run_due_jobs() from several sessions of one team holds one background worker slot at a
# time (the reproduction of the security issue), on PostgreSQL 18. Called on its own (as
# pg_cron does), run_due_jobs runs each due job in a background worker process of its own,
# and a team admin may call it: from several sessions at once, each session took another
# of the team's due jobs (the others are skipped while one runs), so one team held as many
# of max_worker_processes (8 by default, shared with parallel queries, the scheduler and
# its job processes) as it has jobs (5 by default, each for up to job_time_limit, 1 hour),
# and the scheduler's job processes for every other team failed with "no background worker
# slot is free". Team 2's admin has 3 due jobs over a slow source and calls run_due_jobs()
# from 3 sessions: at most one job process of the team runs at any time, and every job
# still runs in the cycle.
set -euo pipefail
source "$(dirname "$0")/../e2e/lib.sh"
e2e_setup 18 56044 "max_worker_processes = 16"
pg -c "CREATE EXTENSION llm_clusters"
load_items 2 60 two >/dev/null
pg -c "CREATE ROLE team2_admin LOGIN IN ROLE llm_clusters_admin" -c "INSERT INTO llm_clusters.team_roles VALUES (2, 'team2_admin')"
slow_source team2_admin
pg -o /dev/null <<'SQL'
SET ROLE team2_admin;
-- Enabled two days ago: due in the current cycle (an INSERT keeps the times it is given).
INSERT INTO llm_clusters.jobs (team_id, name, level, source, params, enabled_at)
SELECT 2, 'team 2: slow ' || i, 'generation', 'public.slow_items', '{"min_items": 3}', now() - interval '2 days'
FROM generate_series(1, 3) i;
SQL
jobs="SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'llm_clusters job'"
for i in 1 2 3; do
  pg -c "SET ROLE team2_admin" -c "SELECT count(*) FROM llm_clusters.run_due_jobs()" >"$work/session$i.out" 2>&1 &
done
most=0
for ((i = 0; i < 600; i++)); do
  now=$(q "$jobs")
  [ "${now:-0}" -gt "$most" ] && most=$now
  [ -z "$(jobs -r)" ] && break
  sleep 0.1
done
wait
echo "most job processes of team 2 at once: $most"
[ "$most" -le 1 ] || fail "team 2 held $most background worker slots at once (one session's turn: 1)"
pass "team 2's sessions held at most one background worker slot at a time"
expect "every due job of team 2 ran once in the cycle" \
  "SELECT count(DISTINCT job_id) || '/' || count(*) FROM llm_clusters.runs WHERE team_id = 2 AND cycle IS NOT NULL" "3/3"
say "run_due_jobs slots: all checks passed"
