#!/usr/bin/env bash
# Backups keep the data: pg_dump -Fc -> pg_restore into a new database, and plain pg_dump
# -> psql, compare every table's row count and a checksum of its rows; the restored
# database runs jobs again (ids continue, lineage continues) and row-level security works
# on it. Also: restoring into a database that already has the extension, and a dump taken
# while a run is in progress. Usage: backup.sh 15|16|18
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ver=${1:-18}
e2e_setup "$ver" $((55800 + ver))
bin=$PGBIN
dump() { as_owner env PGHOST="$PGHOST" PGPORT="$PGPORT" "$bin/pg_dump" -U "$PG_OWNER" "$@"; }
restore() { as_owner env PGHOST="$PGHOST" PGPORT="$PGPORT" "$bin/pg_restore" -U "$PG_OWNER" "$@"; }

say "a database with events, embeddings, jobs, runs, lineage, placements and team roles"
pg -c "CREATE DATABASE src"
export PGDATABASE=src
pg -c "CREATE EXTENSION llm_clusters"
load_items 1 500 b >/dev/null
load_items 2 300 c >/dev/null
pg -o /dev/null <<'SQL'
CREATE ROLE backup_reader NOLOGIN IN ROLE llm_clusters_reader;
INSERT INTO llm_clusters.team_roles VALUES (2, 'backup_reader');
SELECT llm_clusters.create_job('one', 'generation', team_id => 1);
SELECT llm_clusters.create_job('two', 'generation', team_id => 2, enabled => false);
SELECT llm_clusters.run_job(id, now() + interval '1 day') FROM llm_clusters.jobs ORDER BY id;
SELECT llm_clusters.run_job(id, now() + interval '2 days') FROM llm_clusters.jobs ORDER BY id;
SQL
checksums() { PGDATABASE=$1 table_checksums; }  # checksums DB
checksums src >"$work/src.txt"
grep -q '^runs 4 ' "$work/src.txt" || fail "expected 4 runs: $(cat "$work/src.txt")"
pass "source: $(tr '\n' ';' <"$work/src.txt" | sed 's/ [0-9a-f]\{32\}//g')"

say "pg_dump -Fc -> pg_restore"
dump -Fc -d src -f "$work/src.dump"
pg -d postgres -c "CREATE DATABASE restored"
restore -d restored "$work/src.dump"
checksums restored >"$work/restored.txt"
diff "$work/src.txt" "$work/restored.txt" || fail "pg_restore lost or changed rows"
pass "pg_restore: every table's rows and the sequences equal the source"

say "plain pg_dump -> psql"
dump -d src -f "$work/src.sql"
pg -d postgres -c "CREATE DATABASE replayed"
PGDATABASE=replayed pg -o /dev/null -f "$work/src.sql"
checksums replayed >"$work/replayed.txt"
diff "$work/src.txt" "$work/replayed.txt" || fail "plain dump + psql lost or changed rows"
pass "plain dump + psql: every table's rows and the sequences equal the source"

say "the restored database works"
export PGDATABASE=restored
max_run=$(q "SELECT max(id) FROM llm_clusters.runs")
run=$(q "SELECT llm_clusters.run_job((SELECT id FROM llm_clusters.jobs WHERE name = 'one'), now() + interval '3 days')")
[ "$run" -gt "$max_run" ] || fail "run ids did not continue: $run after $max_run"
expect "a job runs again, with a new run id ($run)" "SELECT status FROM llm_clusters.runs WHERE id = $run" succeeded
expect "its clusters continue the restored ones" "SELECT count(*) > 0 FROM llm_clusters.cluster_lineage WHERE run_id = $run AND event = 'continued'" t
expect "row-level security: the reader of team 2 sees team 2 only" \
  "SET ROLE backup_reader; SELECT string_agg(DISTINCT team_id::text, ',') FROM llm_clusters.runs" 2
expect "the job still belongs to its owner" "SELECT owner::text FROM llm_clusters.jobs WHERE name = 'one'" "$PG_OWNER"

say "restoring into a database that already has the extension"
pg -d postgres -c "CREATE DATABASE twice"
PGDATABASE=twice pg -c "CREATE EXTENSION llm_clusters"
status=0
restore -d twice "$work/src.dump" >"$work/twice.log" 2>&1 || status=$?
[ $status -ne 0 ] && grep -q 'already exists' "$work/twice.log" || fail "pg_restore should report the existing extension"
checksums twice >"$work/twice.txt"
diff "$work/src.txt" "$work/twice.txt" >/dev/null || fail "restoring over an existing extension changed the data: $(diff "$work/src.txt" "$work/twice.txt")"
pass "restore over an existing extension: pg_restore reports it (exit $status), the rows equal the source, none twice"

say "a dump taken while a run is in progress"
export PGDATABASE=src
# A source that takes ~5 s to read keeps the run going while pg_dump takes its snapshot.
pg -o /dev/null <<'SQL'
CREATE FUNCTION public.slowly(t text) RETURNS text LANGUAGE sql AS $$ SELECT t FROM pg_sleep(0.01) $$;
CREATE VIEW public.slow_items AS
SELECT team_id, item_id, trace_id, ts, embedding, public.slowly(content) AS content,
       cost_usd, latency_s, tokens, is_error, properties
FROM llm_clusters.generation_items;
SQL
job=$(q "SELECT llm_clusters.create_job('slow', 'generation', team_id => 1, source => 'public.slow_items')")
pg -c "SELECT llm_clusters.run_job($job, now() + interval '4 days')" >"$work/running.out" 2>&1 &
bg=$!
wait_until "the run is in progress" 30 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT llm_clusters.run_job($job%' AND state = 'active')"
dump -Fc -d src -f "$work/during.dump"
wait "$bg"
pg -d postgres -c "CREATE DATABASE during"
restore -d during "$work/during.dump"
[ "$(PGDATABASE=during q "SELECT count(*) || '/' || count(*) FILTER (WHERE status = 'running') FROM llm_clusters.runs")" = "4/0" ] \
  || fail "the dump during a run should hold the 4 committed runs and no running one"
pass "dump during a run: 4 committed runs, nothing half-written; the source has $(q "SELECT count(*) FROM llm_clusters.runs") runs now"
say "the background worker on the restored database"
printf '%s\n' "shared_preload_libraries = 'llm_clusters'" "llm_clusters.database = 'restored'" \
  "llm_clusters.scheduler_naptime = 1" "llm_clusters.daily_run_time = '$(utc_in 7200)'" | as_owner tee -a "$PGDATA/postgresql.conf" >/dev/null
restart_cluster
export PGDATABASE=restored
wait_until "the worker is connected to the restored database" 30 \
  "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'llm_clusters scheduler' AND datname = 'restored')"
set_run_time "$(utc_in 2)"
wait_until "the worker ran the restored enabled job in the new cycle" 60 \
  "SELECT EXISTS (SELECT 1 FROM llm_clusters.runs WHERE cycle IS NOT NULL AND job_name = 'one' AND status = 'succeeded')"
say "backup: all checks passed"
