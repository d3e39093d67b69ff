#!/usr/bin/env bash
# The worker takes teams in turns (the reproduction of the security issue), on PostgreSQL
# 18: the worker, which every team shares, ran a cycle's due jobs one after another in id
# order. Team 1's admin creates 3 jobs over a slow source (each stopped by
# llm_clusters.job_time_limit, here 5 s; 1 hour by default), then team 2 its one job: team
# 2's run waited for all 3 (15 s here; with max_jobs_per_team's 5 jobs and the default
# limit, 5 hours every cycle). Now every team's first job runs before any team's second:
# team 2's run starts after at most one of team 1's.
set -euo pipefail
source "$(dirname "$0")/../e2e/lib.sh"
worker_setup 56043 "llm_clusters.daily_run_time = '$(utc_in 7200)'" \
  "llm_clusters.job_time_limit = '5s'" "llm_clusters.embedder = 'hash'"
load_items 1 300 one >/dev/null
load_items 2 60 two >/dev/null
slow_source team1_admin
pg -o /dev/null <<'SQL'
SET ROLE team1_admin;
SELECT llm_clusters.create_job('team 1: slow ' || i, 'generation', team_id => 1, source => 'public.slow_items')
FROM generate_series(1, 3) i;
SET ROLE team2_admin;
SELECT llm_clusters.create_job('team 2', 'generation', team_id => 2, params => '{"min_items": 3}');
SQL
set_run_time "$(utc_in 2)"
wait_until "the worker ran the 4 due jobs" 180 \
  "SELECT count(*) = 4 FROM llm_clusters.runs WHERE cycle IS NOT NULL AND status <> 'running'"
pg -c "SELECT team_id, job_name, status, round(extract(epoch FROM started_at - min(started_at) OVER ())::numeric, 1) AS started_after_s
       FROM llm_clusters.runs WHERE cycle IS NOT NULL ORDER BY started_at"
expect "team 2's run succeeded" "SELECT status FROM llm_clusters.runs WHERE team_id = 2 AND cycle IS NOT NULL" succeeded
expect "team 2's run started after at most one of team 1's" \
  "SELECT count(*) FROM llm_clusters.runs r1 WHERE r1.team_id = 1 AND r1.cycle IS NOT NULL
     AND r1.started_at < (SELECT r2.started_at FROM llm_clusters.runs r2 WHERE r2.team_id = 2 AND r2.cycle IS NOT NULL)" 1
say "worker turns: all checks passed"
