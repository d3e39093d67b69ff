#!/usr/bin/env bash
# End-to-end faults and load on a throw-away PostgreSQL 18:
# - kill -9 of a backend in the middle of a run: the server restarts, no run is left
#   'running', no partial results exist, and the next run succeeds;
# - 4 jobs run at once while another session captures events the whole time: no errors,
#   no deadlocks, no lost events; prints capture throughput with and without that load.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ver=18

e2e_setup "$ver" 55618
pg -c "CREATE EXTENSION llm_clusters"
load_items 1 3000 k

say "kill -9 during a run"
# The run's source waits for a lock this test holds: when the run waits on it, it is in
# the middle of reading, whatever the machine's speed.
pg -o /dev/null <<'SQL'
CREATE FUNCTION public.gate() RETURNS boolean LANGUAGE sql AS $$ SELECT true FROM (SELECT pg_advisory_xact_lock_shared(4242)) l $$;
CREATE VIEW public.gated_items AS SELECT * FROM llm_clusters.generation_items WHERE public.gate();
SQL
pg -c "SELECT pg_advisory_lock(4242)" -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
holder=$!
E2E_CLEANUP="kill $holder 2>/dev/null || true; ${E2E_CLEANUP:-true}"
wait_until "the test holds the gate" 20 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep')"
job=$(q "SELECT llm_clusters.create_job('killed', 'generation', source => 'public.gated_items')")
pg -c "SELECT llm_clusters.run_job($job)" >"$work/killed.out" 2>&1 &
bg=$!
active="SELECT pid FROM pg_stat_activity WHERE query = 'SELECT llm_clusters.run_job($job)' AND wait_event_type = 'Lock'"
wait_until "the run waits at the gate, in the middle of reading its source" 30 "SELECT EXISTS ($active)"
kill -9 "$(q "$active")"
wait "$bg" || true
wait_until "the server is back after the crash-restart" 60 "SELECT true"
expect "no run is left 'running'" "SELECT count(*) FROM llm_clusters.runs WHERE status = 'running'" 0
expect "no partial results" "SELECT (SELECT count(*) FROM llm_clusters.clusters) + (SELECT count(*) FROM llm_clusters.assignments)" 0
# The crash ended the session holding the gate: the source reads freely now.
pg -c "SELECT llm_clusters.run_job($job)" >/dev/null
expect "the next run succeeds" "SELECT string_agg(status, ',') FROM llm_clusters.runs WHERE job_id = $job" succeeded

say "4 concurrent runs while capturing"
python3 -c "
for i in range(2000):
    print('SELECT llm_clusters.capture(\'{\"event\": \"\$ai_generation\", \"properties\": {\"\$ai_trace_id\": \"load%d\", \"\$ai_input\": \"under load %d\"}}\');' % (i, i))
" >"$work/capture.sql"
chmod 644 "$work/capture.sql"
capture() {  # capture FILE: prints seconds
  local start; start=$(date +%s.%N)
  pg -o /dev/null -f "$1" 2>"$work/capture.err"
  python3 -c "print(round($(date +%s.%N) - $start, 2))"
}
idle=$(capture "$work/capture.sql")
sed -i 's/load/busy/g' "$work/capture.sql"
for s in 1 2 3 4; do
  q "SELECT llm_clusters.create_job('load $s', 'generation', params => '{\"seed\": $s}')" >/dev/null
done
pids=()
for s in 1 2 3 4; do
  pg -c "SELECT llm_clusters.run_job((SELECT id FROM llm_clusters.jobs WHERE name = 'load $s'))" >"$work/run$s.out" 2>&1 &
  pids+=($!)
done
wait_until "the 4 runs are in progress" 30 "SELECT count(*) = 4 FROM pg_stat_activity WHERE query LIKE 'SELECT llm_clusters.run_job((SELECT%' AND state = 'active'"
busy=$(capture "$work/capture.sql")
for p in "${pids[@]}"; do wait "$p" || fail "a run_job call failed: $(cat "$work"/run*.out)"; done
[ ! -s "$work/capture.err" ] || fail "capture errors: $(head -3 "$work/capture.err")"
expect "every event was stored, none lost" "SELECT count(*) FROM llm_clusters.events WHERE trace_id LIKE 'busy%' OR trace_id LIKE 'load%'" 4000
expect "the 4 runs succeeded" "SELECT count(*) FROM llm_clusters.runs WHERE job_name LIKE 'load %' AND status = 'succeeded'" 4
grep -q "deadlock detected" "$work/server.log" && fail "a deadlock was detected"
pass "no deadlock in the server log"
echo "capture, 2000 single-event calls: idle $idle s ($(python3 -c "print(round(2000 / $idle))") events/s); during 4 runs $busy s ($(python3 -c "print(round(2000 / $busy))") events/s)"
say "faults end-to-end passed"
