#!/usr/bin/env bash
# Table locks across teams, end to end on PostgreSQL 18 (the reproduction of the security
# fix "table locks across teams"): team 2's admin opens a transaction, calls create_job and
# every admin-facing function, takes every LOCK TABLE mode PostgreSQL lets it take on every
# table of the schema, and stays idle in that transaction. Meanwhile team 1's admin
# (create_job, run_job, report_html, delete_job, steering, API keys) and team 1's reader
# (SELECTs of every table and view, reading functions) must complete under a 5 s
# lock_timeout. Before the fix, create_job's SHARE ROW EXCLUSIVE lock on jobs (and any
# mode an admin's table-level UPDATE or DELETE allowed) made them wait.
set -euo pipefail
source "$(dirname "$0")/../e2e/lib.sh"
holder_pid=
E2E_CLEANUP='[ -z "$holder_pid" ] || kill $holder_pid 2>/dev/null; true'
e2e_setup 18 55931

# as ROLE [psql args...]: psql as that role (trust on the socket), waiting on no lock over 5 s.
as() { local role=$1; shift; pg -U "$role" -d "dbname=postgres options=-clock_timeout=5s" "$@"; }

pg -c "CREATE EXTENSION llm_clusters"
pg <<'SQL'
CREATE ROLE team1_admin LOGIN IN ROLE llm_clusters_admin;
CREATE ROLE team1_reader LOGIN IN ROLE llm_clusters_reader;
CREATE ROLE team2_admin LOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (1, 'team1_admin'), (1, 'team1_reader'), (2, 'team2_admin');
SQL
load_items 1 60 one >/dev/null
load_items 2 60 two >/dev/null
job1=$(as team1_admin -At -c "SELECT llm_clusters.create_job('team 1', level => 'generation', team_id => 1)")
run1=$(as team1_admin -At -c "SELECT llm_clusters.run_job($job1)")
job2=$(as team2_admin -At -c "SELECT llm_clusters.create_job('team 2', level => 'generation', team_id => 2)")
run2=$(as team2_admin -At -c "SELECT llm_clusters.run_job($job2)")
doomed2=$(as team2_admin -At -c "SELECT llm_clusters.create_job('team 2, to delete', level => 'generation', team_id => 2)")
[ -n "$run1" ] && [ -n "$run2" ] || fail "setup: no runs"

say "team 2's admin: a transaction with every admin function and every lock it may take, left idle"
{
  cat <<SQL
BEGIN;
SELECT llm_clusters.create_job('held open', level => 'generation', team_id => 2);
SELECT llm_clusters.capture('{"event": "\$ai_generation", "properties": {"\$ai_trace_id": "held", "\$ai_input": "hello"}}', 2);
SELECT llm_clusters.summarize_pending('trace');
SELECT llm_clusters.run_job($job2);
SELECT llm_clusters.assign_pending($job2);
SELECT count(*) FROM llm_clusters.run_due_jobs();
-- Steering acts on the job's latest succeeded run; undoing goes newest first.
SELECT id AS latest FROM llm_clusters.runs WHERE job_id = $job2 AND status = 'succeeded' ORDER BY window_end DESC, id DESC LIMIT 1 \gset
SELECT llm_clusters.merge_clusters(:latest, ARRAY[0, 1]) AS merged \gset
SELECT llm_clusters.split_cluster(:latest, 0) AS split \gset
SELECT llm_clusters.pin_topic($job2, 'held', ARRAY['hello'], (SELECT centroid FROM llm_clusters.clusters WHERE run_id = :latest AND cluster_id = 0)) AS pin \gset
SELECT id AS split_steer FROM llm_clusters.steering WHERE job_id = $job2 AND kind = 'split' \gset
SELECT id AS merge_steer FROM llm_clusters.steering WHERE job_id = $job2 AND kind = 'merge' \gset
SELECT llm_clusters.undo_steering($job2, :split_steer);
SELECT llm_clusters.undo_steering($job2, :merge_steer);
SELECT llm_clusters.unpin_topic($job2, :pin);
SELECT llm_clusters.delete_job($doomed2);
UPDATE llm_clusters.jobs SET enabled = false WHERE id = $job2;
SELECT llm_clusters.create_api_key(2) AS key \gset
SELECT llm_clusters.revoke_api_key(:'key');
SELECT length(llm_clusters.report_html($run2)) > 0, count(*) FROM llm_clusters.cluster_items($run2, 0);
-- Every LOCK TABLE mode it is allowed, on every table and view of the schema, kept.
DO \$\$
DECLARE rel regclass; mode text;
BEGIN
  FOR rel, mode IN SELECT c.oid::regclass, m FROM pg_class c,
                     unnest(ARRAY['ACCESS EXCLUSIVE', 'EXCLUSIVE', 'SHARE ROW EXCLUSIVE', 'SHARE', 'SHARE UPDATE EXCLUSIVE',
                                  'ROW EXCLUSIVE', 'ROW SHARE', 'ACCESS SHARE']) m
                   WHERE c.relnamespace = 'llm_clusters'::regnamespace AND c.relkind IN ('r', 'p', 'v') LOOP
    BEGIN
      EXECUTE format('LOCK TABLE %s IN %s MODE NOWAIT', rel, mode);
    EXCEPTION WHEN insufficient_privilege THEN NULL;
    END;
  END LOOP;
END \$\$;
SELECT 'holding';
SQL
  sleep 600
} | as team2_admin -At >"$work/holder.log" 2>&1 &
holder_pid=$!
wait_until "team 2's transaction is open and idle" 60 \
  "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE usename = 'team2_admin' AND state = 'idle in transaction' AND query = 'SELECT ''holding'';')"
held=$(q "SELECT string_agg(DISTINCT mode, ', ' ORDER BY mode) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
          WHERE a.usename = 'team2_admin' AND l.relation IN (SELECT oid FROM pg_class WHERE relnamespace = 'llm_clusters'::regnamespace)")
pass "team 2 holds on the schema's tables: $held"
strong=$(q "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE a.usename = 'team2_admin' AND l.mode IN ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
              AND l.relation IN (SELECT oid FROM pg_class WHERE relnamespace = 'llm_clusters'::regnamespace)")
[ "$strong" = 0 ] || fail "team 2 holds $strong locks of SHARE or above on the schema's tables"
pass "none of them SHARE or above"

say "team 1 works meanwhile, with lock_timeout = 5s"
t0=$(date +%s.%N)
job1b=$(as team1_admin -At -c "SELECT llm_clusters.create_job('team 1, during', level => 'generation', team_id => 1)") \
  || fail "team 1's create_job waited for team 2"
pass "team 1's create_job: job $job1b"
run1b=$(as team1_admin -At -c "SELECT llm_clusters.run_job($job1)") || fail "team 1's run_job waited for team 2"
expect "team 1's run_job succeeded" "SELECT status FROM llm_clusters.runs WHERE id = $run1b" succeeded
as team1_admin -At -c "SELECT llm_clusters.assign_pending($job1); SELECT llm_clusters.merge_clusters($run1b, ARRAY[0, 1]);
                       SELECT llm_clusters.create_api_key(1); SELECT llm_clusters.delete_job($job1b)" >/dev/null \
  || fail "team 1's assign_pending, steering, API key or delete_job waited for team 2"
pass "team 1's assign_pending, merge_clusters, create_api_key, delete_job"
as team1_admin -At -c "UPDATE llm_clusters.jobs SET params = '{\"min_items\": 10}' WHERE id = $job1" >/dev/null \
  || fail "team 1's UPDATE of its job waited for team 2"
pass "team 1's UPDATE of its job"
report=$(as team1_reader -At -c "SELECT length(llm_clusters.report_html($run1b))") || fail "team 1's report_html waited for team 2"
[ "$report" -gt 1000 ] || fail "team 1's report is $report bytes"
pass "team 1's reader: report_html ($report bytes)"
# Every table and view the reader may read, read whole.
for rel in $(q "SELECT c.oid::regclass FROM pg_class c WHERE c.relnamespace = 'llm_clusters'::regnamespace
                AND c.relkind IN ('r', 'p', 'v') AND has_table_privilege('team1_reader', c.oid, 'SELECT') ORDER BY 1::text"); do
  as team1_reader -At -c "SELECT count(*) FROM $rel" >/dev/null || fail "team 1's reader: SELECT from $rel waited for team 2"
done
pass "team 1's reader: SELECT from every table and view"
as team1_reader -At -c "SELECT count(*) FROM llm_clusters.cluster_items($run1b, 0)" >/dev/null || fail "cluster_items waited"
pass "team 1's reader: cluster_items"
pass "team 1's work took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s while team 2's transaction stayed open"

expect "team 2's transaction is still open" \
  "SELECT count(*) FROM pg_stat_activity WHERE usename = 'team2_admin' AND state = 'idle in transaction'" 1
kill "$holder_pid"; holder_pid=
