#!/usr/bin/env bash
# The worker's time is each job's team's (the reproduction of the security issue), on
# PostgreSQL 18: before each job's run the worker summarises and embeds pending items, and
# it did so for every team, newest first, up to 200,000 per job. Team 2's admin, with no
# job at all, INSERTs 3,000 generations dated 2099 (admins may INSERT into events): team
# 1's run then waited while the worker embedded all of them, first, on team 1's time (at
# the built-in model's pace, 200,000 items are most of an hour per job, every job of every
# team, every cycle). Now a job's preparation takes only its own team's items: after team
# 1's run, team 1's items are embedded and summarised and none of team 2's are.
set -euo pipefail
source "$(dirname "$0")/../e2e/lib.sh"
worker_setup 55933 "llm_clusters.daily_run_time = '$(utc_in 7200)'" \
  "llm_clusters.embedder = 'hash'"
pg -o /dev/null <<'SQL'
SET ROLE team1_admin;
SELECT llm_clusters.capture(jsonb_agg(jsonb_build_object('event', '$ai_generation',
           'timestamp', now() - interval '1 hour',
           'properties', jsonb_build_object('$ai_trace_id', 'one-' || i,
               '$ai_input', (ARRAY['reset my password', 'write a sql query', 'plan a trip'])[1 + i % 3] || ' #' || i))), 1)
FROM generate_series(1, 60) i;
SELECT llm_clusters.create_job('team 1', 'generation', team_id => 1, params => '{"min_items": 3}');
SET ROLE team2_admin;
INSERT INTO llm_clusters.events (uuid, team_id, event, "timestamp", trace_id, input, content, properties)
SELECT gen_random_uuid(), 2, '$ai_generation', '2099-01-01'::timestamptz + i * interval '1 second', 'two-' || i,
       to_jsonb('flood ' || i), 'flood ' || i, '{}'
FROM generate_series(1, 3000) i;
SQL
set_run_time "$(utc_in 2)"
wait_until "the worker ran team 1's job" 300 \
  "SELECT EXISTS (SELECT 1 FROM llm_clusters.runs WHERE team_id = 1 AND cycle IS NOT NULL AND status <> 'running')"
pg -c "SELECT team_id, count(*) AS embedded FROM llm_clusters.embeddings GROUP BY 1 ORDER BY 1"
pg -c "SELECT team_id, count(*) AS summarised FROM llm_clusters.item_summaries GROUP BY 1 ORDER BY 1"
expect "team 1's run clustered its 60 items" \
  "SELECT status || ' ' || n_items FROM llm_clusters.runs WHERE team_id = 1 AND cycle IS NOT NULL" "succeeded 60"
expect "team 1's items were summarised" "SELECT count(*) FROM llm_clusters.item_summaries WHERE team_id = 1" 60
expect "none of team 2's items was embedded on team 1's time" \
  "SELECT count(*) FROM llm_clusters.embeddings WHERE team_id = 2" 0
expect "none of team 2's items was summarised on team 1's time" \
  "SELECT count(*) FROM llm_clusters.item_summaries WHERE team_id = 2" 0
say "worker fairness: all checks passed"
