#!/usr/bin/env bash
# End-to-end test of the background worker on a throw-away cluster that preloads
# llm_clusters: due jobs run by themselves once per cycle, SIGHUP changes the schedule, a
# failing job does not stop the others, a crashed worker is restarted and does not run a
# job twice in a cycle, a fast shutdown during a run leaves a failed run and nothing
# half-written, the next cycle retries it, run_job/run_due_jobs never overlap a run, and
# the worker embeds every pending item before a run.
# Usage: tests/e2e/scheduler.sh 15|16|18
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ver=${1:?usage: scheduler.sh 15|16|18}

# The daily run time starts 2 hours ahead: the current cycle began 22 hours ago, before
# any job below exists, so nothing is due until the test moves the time.
e2e_setup "$ver" $((55200 + ver)) \
  "shared_preload_libraries = 'llm_clusters'" "llm_clusters.scheduler_naptime = 1" \
  "llm_clusters.daily_run_time = '$(utc_in 7200)'"
worker="SELECT pid FROM pg_stat_activity WHERE backend_type = 'llm_clusters scheduler'"
# A run is caught in its middle by a gate, not by timing: the source of the job 'slow' waits
# for a lock this test holds while hold_gate has run, until release_gate.
holder=
E2E_CLEANUP='[ -z "$holder" ] || kill $holder 2>/dev/null; true'
hold_gate() {
  pg -c "SELECT pg_advisory_lock(4242)" -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
  holder=$!
  wait_until "the test holds the gate" 20 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep')"
}
# The session's end (its backend, not only psql: a backend in pg_sleep notices no client).
release_gate() {
  q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep'" >/dev/null
  wait "$holder" 2>/dev/null || true; holder=
}
at_gate="SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
scheduled_runs="SELECT count(*) FROM llm_clusters.runs WHERE cycle IS NOT NULL"

say "worker on PostgreSQL $ver"
wait_until "the worker shows in pg_stat_activity as 'llm_clusters scheduler'" 20 "SELECT EXISTS ($worker)"
pg -c "CREATE EXTENSION llm_clusters"
load_items 1 300 a
pg -c "CREATE TABLE doomed AS SELECT * FROM llm_clusters.generation_items LIMIT 0" \
   -c "SELECT llm_clusters.create_job('good_a', 'generation')" \
   -c "SELECT llm_clusters.create_job('good_b', 'generation', params => '{\"seed\": 7}')" \
   -c "SELECT llm_clusters.create_job('dropped_source', 'generation', source => 'doomed')" \
   -c "DROP TABLE doomed" >/dev/null
sleep 3
expect "jobs created after the cycle began are not run in it" "$scheduled_runs" 0

set_run_time "$(utc_in 2)"
wait_until "after SIGHUP moved the daily time, every due job ran" 60 "SELECT ($scheduled_runs) = 3"
expect "good jobs succeeded" "SELECT string_agg(job_name || ':' || status, ',' ORDER BY job_id) FROM llm_clusters.runs" \
  "good_a:succeeded,good_b:succeeded,dropped_source:failed"
expect "the worker summarised the items before the runs (auto_summarize)" \
  "SELECT count(*) FROM llm_clusters.item_summaries WHERE level = 'generation' AND source = 'offline'" 300
expect "the failing job's run says why" \
  "SELECT error LIKE '%no longer exists%' FROM llm_clusters.runs WHERE job_name = 'dropped_source'" t
expect "scheduled runs cover the window ending at the cycle start" \
  "SELECT bool_and(window_end = cycle AND window_start = cycle - interval '7 days') FROM llm_clusters.runs WHERE status = 'succeeded'" t
sleep 3
expect "more wake-ups in the same cycle run nothing again" "$scheduled_runs" 3
expect "run_due_jobs() finds nothing due either" "SELECT count(*) FROM llm_clusters.run_due_jobs()" 0

old_pid=$(q "$worker")
kill -9 "$old_pid"
wait_until "the postmaster restarted the killed worker" 60 "SELECT EXISTS ($worker AND pid <> $old_pid)"
sleep 3
expect "the restarted worker does not repeat the cycle's runs" "$scheduled_runs" 3

say "SIGTERM during a run"
# Without summaries from here on (auto_summarize off): the run itself is what is caught.
pg -c "ALTER SYSTEM SET llm_clusters.auto_summarize = off" -c "SELECT pg_reload_conf()" >/dev/null
load_items 1 4000 s
pg -o /dev/null <<'SQL'
CREATE FUNCTION public.gate() RETURNS boolean LANGUAGE sql AS $$ SELECT true FROM (SELECT pg_advisory_xact_lock_shared(4242)) l $$;
CREATE VIEW public.gated_items AS SELECT * FROM llm_clusters.generation_items WHERE public.gate();
UPDATE llm_clusters.jobs SET enabled = false;
SELECT llm_clusters.create_job('slow', 'generation', source => 'public.gated_items');
SQL
hold_gate
set_run_time "$(utc_in 2)"
wait_until "the worker's job process waits at the gate, in the middle of its run" 60 \
  "SELECT EXISTS ($at_gate AND backend_type = 'llm_clusters job')"
expect "the worker reports the run" \
  "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'llm_clusters scheduler' AND query LIKE '%running job%'" 1
start=$(date +%s.%N)
stop_cluster
stop_s=$(python3 -c "print(round($(date +%s.%N) - $start, 2))")
echo "pg_ctl stop -m fast during a run took $stop_s s"
holder=   # the shutdown ended its session
resume_cluster
expect "the interrupted run is recorded as failed" \
  "SELECT status || ':' || (error LIKE '%shutting down%') FROM llm_clusters.runs WHERE job_name = 'slow'" "failed:true"
expect "the interrupted run left no clusters or assignments" \
  "SELECT (SELECT count(*) FROM llm_clusters.clusters c JOIN llm_clusters.runs r ON r.id = c.run_id WHERE r.job_name = 'slow')
        + (SELECT count(*) FROM llm_clusters.assignments a JOIN llm_clusters.runs r ON r.id = a.run_id WHERE r.job_name = 'slow')" 0
pg -c "UPDATE llm_clusters.jobs SET params = '{}' WHERE name = 'slow'" >/dev/null
set_run_time "$(utc_in 2)"
wait_until "the next cycle retries the interrupted job" 60 \
  "SELECT EXISTS (SELECT 1 FROM llm_clusters.runs WHERE job_name = 'slow' AND status = 'succeeded')"
expect "with auto_summarize off, the worker summarised nothing more" \
  "SELECT count(*) FROM llm_clusters.item_summaries" 300

say "the scheduler switched off; run_due_jobs() runs what is due"
pg -c "ALTER SYSTEM SET llm_clusters.scheduler_enabled = off" -c "SELECT pg_reload_conf()" >/dev/null
pg -c "UPDATE llm_clusters.jobs SET enabled = true WHERE name = 'good_a'" >/dev/null
set_run_time "$(utc_in 2)"
sleep 4
expect "with the scheduler off, the worker runs nothing" \
  "SELECT count(*) FROM llm_clusters.runs WHERE job_name = 'good_a'" 1
expect "run_due_jobs() runs the due job (slow is enabled too)" "SELECT count(*) FROM llm_clusters.run_due_jobs()" 2
expect "and only once per cycle" "SELECT count(*) FROM llm_clusters.run_due_jobs()" 0

say "concurrent run_job calls"
pg -c "UPDATE llm_clusters.jobs SET params = '{\"map_epochs\": 1500}' WHERE name = 'slow'" >/dev/null
slow=$(q "SELECT id FROM llm_clusters.jobs WHERE name = 'slow'")
good=$(q "SELECT id FROM llm_clusters.jobs WHERE name = 'good_b'")
hold_gate
pg -c "SELECT llm_clusters.run_job($slow)" >"$work/slow.out" 2>&1 &
bg=$!
wait_until "the first run_job waits at the gate" 30 "SELECT EXISTS ($at_gate AND query LIKE 'SELECT llm_clusters.run_job($slow)%')"
second=$(pg -c "SELECT llm_clusters.run_job($slow)" 2>&1 || true)
case "$second" in
  *"job $slow is already running in another session"*) pass "a second run_job of the same job fails at once: $second" ;;
  *) fail "second run_job of the same job: $second" ;;
esac
pg -c "SELECT llm_clusters.run_job($good)" >/dev/null
release_gate
wait "$bg" || fail "the first run_job failed: $(cat "$work/slow.out")"
expect "a run of another job proceeded in parallel (their times overlap)" \
  "SELECT a.started_at < b.finished_at AND b.started_at < a.finished_at
   FROM (SELECT * FROM llm_clusters.runs WHERE job_id = $slow ORDER BY id DESC LIMIT 1) a,
        (SELECT * FROM llm_clusters.runs WHERE job_id = $good ORDER BY id DESC LIMIT 1) b" t
say "statement_timeout and pg_cancel_backend during a run"
hold_gate
latest_slow="SELECT * FROM llm_clusters.runs WHERE job_id = $slow ORDER BY id DESC LIMIT 1"
no_results="SELECT (SELECT count(*) FROM llm_clusters.clusters WHERE run_id = r.id) + (SELECT count(*) FROM llm_clusters.assignments WHERE run_id = r.id) FROM ($latest_slow) r"
start=$(date +%s.%N)
pg -c "SET statement_timeout = '1s'" -c "SELECT llm_clusters.run_job($slow)" >/dev/null 2>&1
echo "run_job under statement_timeout = 1s returned after $(python3 -c "print(round($(date +%s.%N) - $start, 2))") s"
expect "a timed-out run is recorded as failed with the reason" \
  "SELECT status || ': ' || error FROM ($latest_slow) r" "failed: canceling statement due to statement timeout"
expect "a timed-out run leaves no clusters or assignments" "$no_results" 0
pg -c "SELECT llm_clusters.run_job($slow)" >/dev/null 2>&1 &
bg=$!
active="$at_gate AND query = 'SELECT llm_clusters.run_job($slow)'"
wait_until "a run to cancel waits at the gate" 30 "SELECT EXISTS ($active)"
start=$(date +%s.%N)
q "SELECT pg_cancel_backend(pid) FROM ($active) a" >/dev/null
wait "$bg" || true
echo "run_job returned $(python3 -c "print(round($(date +%s.%N) - $start, 2))") s after pg_cancel_backend"
expect "a cancelled run is recorded as failed with the reason" \
  "SELECT status || ': ' || error FROM ($latest_slow) r" "failed: canceling statement due to user request"
expect "a cancelled run leaves no clusters or assignments" "$no_results" 0
release_gate
say "new items placed between runs by the worker"
pg -c "ALTER SYSTEM SET llm_clusters.scheduler_enabled = on" -c "ALTER SYSTEM SET llm_clusters.assign_interval = 1" \
   -c "ALTER SYSTEM SET llm_clusters.daily_run_time = '$(utc_in 7200)'" -c "SELECT pg_reload_conf()" >/dev/null
pg -c "INSERT INTO llm_clusters.events (uuid, team_id, event, \"timestamp\", trace_id, content)
       SELECT md5('late' || i)::uuid, 1, '\$ai_generation', now(), 'late' || i, 'late item ' || i FROM generate_series(1, 10) i" \
   -c "INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding)
       SELECT 1, 'generation', md5('late' || i)::uuid::text,
              (SELECT array_agg(CASE WHEN d % 3 = i % 3 THEN 1.0 ELSE 0.0 END ORDER BY d) FROM generate_series(1, 16) d)::real[]
       FROM generate_series(1, 10) i" >/dev/null
wait_until "the worker placed the new items into the latest run of every enabled job" 30 \
  "SELECT count(*) = 10 * (SELECT count(*) FROM llm_clusters.jobs WHERE enabled)
   FROM llm_clusters.incremental_assignments WHERE item_id IN (SELECT md5('late' || i)::uuid::text FROM generate_series(1, 10) i)"
say "the worker embeds every pending item before a run, also when a batch has no text to embed"
# 2,000 blank generations: each is stored without a vector (nothing to embed). The worker
# went on only while a batch gave 256 usable vectors, so it stopped after 256 per job.
pg -c "INSERT INTO llm_clusters.events (uuid, team_id, event, \"timestamp\", trace_id, content)
       SELECT md5('blank' || i)::uuid, 1, '\$ai_generation', now(), 'blank' || i, ' ' FROM generate_series(1, 2000) i" >/dev/null
set_run_time "$(utc_in 2)"
wait_until "the worker stored a row for every blank item" 120 \
  "SELECT count(*) = 2000 FROM llm_clusters.embeddings
   WHERE level = 'generation' AND item_id IN (SELECT md5('blank' || i)::uuid::text FROM generate_series(1, 2000) i)"
expect "none of them has a vector" \
  "SELECT count(*) FROM llm_clusters.embeddings WHERE cardinality(embedding) > 0
     AND item_id IN (SELECT md5('blank' || i)::uuid::text FROM generate_series(1, 2000) i)" 0
say "scheduler end-to-end on PostgreSQL $ver passed"
