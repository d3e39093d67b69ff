#!/usr/bin/env bash
# The worker's placing of new items (assign_pending, every llm_clusters.assign_interval)
# ends at llm_clusters.job_time_limit even when the source catches its cancel (the
# reproduction of the security issue), on PostgreSQL 18. Placing reads a job's source as
# its owner, so it runs the owner's code; the worker did it in its own process, where the
# limit is a cancel only. Team 2's admin makes a job over a view of hers whose function
# catches query_canceled and sleeps again, runs it once, then turns the function on and
# adds an item: the worker sat in "assigning new items" for good (pg_terminate_backend did
# not end it either), and team 1's due job never ran. Now placing runs in a process of its
# own, terminated 5 s after the limit, and team 1's job runs.
set -euo pipefail
source "$(dirname "$0")/../e2e/lib.sh"
worker_setup 56074 "llm_clusters.assign_interval = 1" \
  "llm_clusters.daily_run_time = '$(utc_in 7200)'" "llm_clusters.job_time_limit = '3s'" \
  "llm_clusters.embedder = 'hash'"
load_items 1 60 one >/dev/null
load_items 2 60 two >/dev/null
pg -o /dev/null <<'SQL'
CREATE SCHEMA team2 AUTHORIZATION team2_admin;
SET ROLE team2_admin;
CREATE TABLE team2.switch (hold boolean);
INSERT INTO team2.switch VALUES (false);
-- Catches the cancel of the time limit (plpgsql may trap query_canceled by name) and goes on.
CREATE FUNCTION team2.hold() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF (SELECT hold FROM team2.switch) THEN
        LOOP
            BEGIN PERFORM pg_catalog.pg_sleep(0.2); EXCEPTION WHEN query_canceled THEN NULL; END;
        END LOOP;
    END IF;
    RETURN true;
END $$;
CREATE VIEW team2.items WITH (security_invoker = true) AS
SELECT * FROM llm_clusters.generation_items WHERE team2.hold();
SELECT llm_clusters.run_job(llm_clusters.create_job('holder', 'generation', team_id => 2, source => 'team2.items',
                                                    params => '{"min_items": 3}'));
UPDATE team2.switch SET hold = true;
INSERT INTO llm_clusters.events (uuid, team_id, event, "timestamp", trace_id, content)
VALUES (gen_random_uuid(), 2, '$ai_generation', now() + interval '1 second', 'late', 'refund my order, late');
SET ROLE team1_admin;
SELECT llm_clusters.create_job('team 1', 'generation', team_id => 1, params => '{"min_items": 3}');
SQL
expect "team 2's job ran once before its source began to hold" \
  "SELECT string_agg(status, ',') FROM llm_clusters.runs WHERE team_id = 2" succeeded
wait_until "a placing of team 2's job began" 30 \
  "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'llm_clusters scheduler' AND query LIKE '%assigning new items%')"
set_run_time "$(utc_in 2)"
wait_until "team 1's due job ran behind team 2's held placing" 120 \
  "SELECT EXISTS (SELECT 1 FROM llm_clusters.runs WHERE team_id = 1 AND cycle IS NOT NULL AND status <> 'running')"
expect "team 1's run succeeded" "SELECT status FROM llm_clusters.runs WHERE team_id = 1 AND cycle IS NOT NULL" succeeded
grep -q "assign_pending([0-9]*) of team 2 stopped by llm_clusters.job_time_limit" "$PGLOG" \
  || fail "the server log does not say team 2's placing was terminated at the time limit"
pass "the log says: $(grep -m1 -o 'assign_pending([0-9]*) of team 2 stopped by[^"]*' "$PGLOG" | head -c 160)"
expect "the worker is not stuck in team 2's placing" \
  "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'llm_clusters scheduler' AND query LIKE '%assigning%' AND now() - query_start > interval '30 seconds'" 0
say "worker assign limit: all checks passed"
