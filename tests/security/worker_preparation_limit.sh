#!/usr/bin/env bash
# The worker's preparation of a job is bounded by llm_clusters.job_time_limit (the
# reproduction of the security issue), on PostgreSQL 18 with the built-in model: before
# each job's run the worker summarises and embeds the job's team's pending items, and it
# went on up to 200,000 items per job whatever the time, while every later job of every
# team waited (the run itself was bounded, its preparation was not). Team 2's admin
# creates a job first (it runs first) and INSERTs 20,000 generations (admins may INSERT
# into events; five jobs with five lenses, or INSERTs as fast as the worker embeds, make
# it hours every cycle). With job_time_limit = 5s, team 1's run must come while most of
# team 2's items still wait for the next cycle.
set -euo pipefail
source "$(dirname "$0")/../e2e/lib.sh"
worker_setup 55934 "llm_clusters.daily_run_time = '$(utc_in 7200)'" \
  "llm_clusters.job_time_limit = '5s'"
pg -o /dev/null <<'SQL'
SET ROLE team2_admin;
SELECT llm_clusters.create_job('team 2', 'generation', team_id => 2, params => '{"min_items": 3}');
INSERT INTO llm_clusters.events (uuid, team_id, event, "timestamp", trace_id, input, content, properties)
SELECT gen_random_uuid(), 2, '$ai_generation', now() - interval '1 hour' + i * interval '1 ms', 'two-' || i,
       to_jsonb('flood ' || i), 'a question about topic number ' || i || ' and ' || (i * 7919) % 10007, '{}'
FROM generate_series(1, 20000) i;
SET ROLE team1_admin;
SELECT llm_clusters.capture(jsonb_agg(jsonb_build_object('event', '$ai_generation',
           'timestamp', now() - interval '1 hour',
           'properties', jsonb_build_object('$ai_trace_id', 'one-' || i,
               '$ai_input', (ARRAY['reset my password', 'write a sql query', 'plan a trip'])[1 + i % 3] || ' #' || i))), 1)
FROM generate_series(1, 60) i;
SELECT llm_clusters.create_job('team 1', 'generation', team_id => 1, params => '{"min_items": 3}');
SQL
set_run_time "$(utc_in 2)"
wait_until "the worker ran team 1's job" 900 \
  "SELECT EXISTS (SELECT 1 FROM llm_clusters.runs WHERE team_id = 1 AND cycle IS NOT NULL AND status <> 'running')"
pg -c "SELECT team_id, count(*) AS embedded FROM llm_clusters.embeddings GROUP BY 1 ORDER BY 1"
pg -c "SELECT team_id, job_id, status, n_items, left(error, 80) AS error FROM llm_clusters.runs ORDER BY team_id"
expect "team 1's run clustered its 60 items" \
  "SELECT status || ' ' || n_items FROM llm_clusters.runs WHERE team_id = 1 AND cycle IS NOT NULL" "succeeded 60"
expect "team 2's preparation stopped at the time limit: most of its items wait" \
  "SELECT count(*) < 20000 FROM llm_clusters.embeddings WHERE team_id = 2 AND embedding IS NOT NULL" t
grep -q "stopped at llm_clusters.job_time_limit\|stopped by llm_clusters.job_time_limit" "$PGLOG" \
  || fail "the server log does not say the preparation stopped at the time limit"
pass "the log says: $(grep -m1 -o 'llm_clusters scheduler: [^"]*job_time_limit[^"]*' "$PGLOG" | head -c 200)"
say "worker preparation limit: all checks passed"
