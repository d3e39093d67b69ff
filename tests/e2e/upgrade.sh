#!/usr/bin/env bash
# Upgrading in place: the library and schema of version 0.1.0 (commit 2dbe3cc, built from
# git), a database filled by real runs of it (in a clone without that commit: 0.1.0's
# schema from sql/, its rows by SQL, tests/fixtures/fill_010.sql), then this version's library and
# ALTER EXTENSION llm_clusters UPDATE: every row is kept, every function of the new version
# works, and the upgraded schema equals a fresh install of the new version, fact for fact
# (so a schema change without its upgrade script fails here). Usage: upgrade.sh 15|16|18
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ver=${1:-18}
OLD_COMMIT=${LLM_CLUSTERS_OLD_COMMIT:-2dbe3cc}   # another value tests the shallow-clone path
old_src=$(mktemp -d /tmp/llm_clusters_010.XXXXXX)
E2E_CLEANUP='rm -rf "$old_src"'
# 0.1.0 had no PostgreSQL 16 build: there, its schema and rows come from SQL.
if [ "$ver" != 16 ] && git -C "$REPO_ROOT" cat-file -e "$OLD_COMMIT^{commit}" 2>/dev/null; then
  old_library=built
  # Its own target directory: the two builds would overwrite each other's library.
  say "building version 0.1.0 from $OLD_COMMIT"
  git -C "$REPO_ROOT" archive "$OLD_COMMIT" | tar -x -C "$old_src"
  (cd "$old_src" && CARGO_TARGET_DIR="$REPO_ROOT/target/v0.1.0" cargo pgrx install --pg-config "$(pg_config_for "$ver")" \
     --no-default-features --features "pg$ver" >"$old_src/build.log" 2>&1) || { tail -20 "$old_src/build.log"; fail "0.1.0 did not build"; }
else
  # A shallow clone: 0.1.0's schema from sql/llm_clusters--0.1.0.sql, its rows by SQL.
  old_library=none
  say "0.1.0 is not built here (commit $OLD_COMMIT not in this clone, or PostgreSQL 16): its schema filled with its rows by SQL (tests/fixtures/fill_010.sql)"
  install_extension "$ver" >/dev/null 2>&1
fi
work=$(mktemp -d /tmp/llm_clusters_e2e.XXXXXX); chmod 755 "$work"
trap 'eval "$E2E_CLEANUP"; stop_cluster; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
PGPORT=$((55700 + ver)) start_cluster "$ver" "$work"

say "0.1.0: capture, embed, jobs, runs"
pg -c "CREATE DATABASE upgraded" -c "CREATE DATABASE fresh"
export PGDATABASE=upgraded
pgu() { pg "$@"; }
qu() { pg -At -c "$1"; }
pgu -c "CREATE EXTENSION llm_clusters VERSION '0.1.0'"
[ "$(qu "SELECT extversion FROM pg_extension WHERE extname = 'llm_clusters'")" = 0.1.0 ] || fail "0.1.0 not installed"
load_items 1 400 up >/dev/null
load_items 2 200 other >/dev/null
if [ "$old_library" = none ]; then
  pgu -o /dev/null <<'SQL'
INSERT INTO llm_clusters.team_roles VALUES (1, 'llm_clusters_admin');
SELECT llm_clusters.create_job('daily', 'generation', team_id => 1);
SELECT llm_clusters.create_job('team two', 'generation', team_id => 2, params => '{"seed": 7}');
-- As 0.1.0's capture() stored it (this version's library no longer serves 0.1.0's capture).
INSERT INTO llm_clusters.events (uuid, team_id, event, "timestamp", trace_id, input, content, properties)
VALUES ('00000000-0000-0000-0000-00000000aa01', 1, '$ai_generation', '2100-01-01T00:00:00Z', 'late', '"reset my password"',
        'reset my password', '{"$ai_trace_id": "late", "$ai_input": "reset my password"}');
INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding)
SELECT 1, 'generation', '00000000-0000-0000-0000-00000000aa01', embedding FROM llm_clusters.embeddings WHERE team_id = 1 LIMIT 1;
SQL
  pgu -o /dev/null -f "$FIXTURES/fill_010.sql"
else
pgu -o /dev/null <<'SQL'
INSERT INTO llm_clusters.team_roles VALUES (1, 'llm_clusters_admin');
SELECT llm_clusters.create_job('daily', 'generation', team_id => 1);
SELECT llm_clusters.create_job('team two', 'generation', team_id => 2, params => '{"seed": 7}');
SELECT llm_clusters.run_job(id, now() + interval '1 day') FROM llm_clusters.jobs ORDER BY id;
SELECT llm_clusters.run_job(id, now() + interval '2 days') FROM llm_clusters.jobs ORDER BY id;
SELECT llm_clusters.capture('{"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-00000000aa01", "timestamp": "2100-01-01T00:00:00Z", "properties": {"$ai_trace_id": "late", "$ai_input": "reset my password"}}', 1);
INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding)
SELECT 1, 'generation', '00000000-0000-0000-0000-00000000aa01', embedding FROM llm_clusters.embeddings WHERE team_id = 1 LIMIT 1;
SELECT llm_clusters.assign_pending(id) FROM llm_clusters.jobs ORDER BY id;
SQL
fi
# Each table's rows: count and a checksum of the columns 0.1.0 has (not jobs.owner).
checksums() { table_checksums owner theme_id steering steering_id delete_requested lens embeddings.content pass_rate na_rate main_evaluator role_oid; }   # columns added since 0.1.0
checksums >"$work/before.txt"
grep -q "^runs 4 " "$work/before.txt" || fail "0.1.0 did not make 4 runs: $(cat "$work/before.txt")"
pass "0.1.0 database: $(tr '\n' ';' <"$work/before.txt" | sed 's/ [0-9a-f]\{32\}//g')"

say "installing this version's library, restarting, ALTER EXTENSION UPDATE"
install_extension "$ver" >/dev/null 2>&1
restart_cluster
pgu -c "ALTER EXTENSION llm_clusters UPDATE" 2>&1 | grep -v '^NOTICE' || true
new_version=$(grep -oP '^version = "\K[^"]+' "$REPO_ROOT/Cargo.toml")
[ "$(qu "SELECT extversion FROM pg_extension WHERE extname = 'llm_clusters'")" = "$new_version" ] || fail "not updated to $new_version"
pass "updated to $new_version"
checksums | grep -v -E '^(themes|api_keys|item_summaries|steering|distinct_users|job_cap_locks|theme_lineage|capture_usage) ' >"$work/after.txt"   # tables 0.3.0, 0.4.0, 0.6.0, 0.7.0 and 0.8.0 added
diff "$work/before.txt" "$work/after.txt" || fail "rows changed in the upgrade"
pass "every row of every table kept (counts and checksums equal)"
[ "$(qu "SELECT count(*) FROM llm_clusters.team_roles t JOIN pg_roles r ON r.rolname = t.role_name WHERE t.role_oid IS DISTINCT FROM r.oid")" = 0 ] \
  || fail "memberships not resolved to their roles' OIDs in the upgrade"
pass "every membership resolved to its role's OID"
expect "existing jobs belong to the extension's owner" \
  "SELECT bool_and(owner::text = (SELECT extowner::regrole::text FROM pg_extension WHERE extname = 'llm_clusters')) FROM llm_clusters.jobs" t

say "the upgraded schema equals a fresh install"
PGDATABASE=fresh pg -c "CREATE EXTENSION llm_clusters"
PGDATABASE=fresh pg -At -f "$FIXTURES/catalog.sql" >"$work/fresh.txt"
pgu -At -f "$FIXTURES/catalog.sql" >"$work/upgraded.txt"
# Two empty listings would be equal too: the fresh install has over a thousand facts.
[ "$(wc -l <"$work/fresh.txt")" -gt 1000 ] || fail "the catalog listing of a fresh install has only $(wc -l <"$work/fresh.txt") facts"
if ! diff -u "$work/fresh.txt" "$work/upgraded.txt" >"$work/catalog.diff"; then
  head -60 "$work/catalog.diff"
  fail "the upgrade script does not give the schema of a fresh install (diff above): add what is missing to sql/llm_clusters--<old>--$new_version.sql"
fi
pass "catalog of the upgraded database = fresh install ($(wc -l <"$work/fresh.txt") facts)"

say "the new version's functions on the upgraded data"
run=$(qu "SELECT llm_clusters.run_job(id, now() + interval '3 days') FROM llm_clusters.jobs WHERE name = 'daily'")
expect "run_job" "SELECT status FROM llm_clusters.runs WHERE id = $run" succeeded
expect "lineage continues from the 0.1.0 runs" \
  "SELECT count(*) > 0 FROM llm_clusters.cluster_lineage WHERE run_id = $run AND event = 'continued'" t
expect "report_html" "SELECT length(llm_clusters.report_html($run)) > 1000" t
expect "cluster_items" "SELECT count(*) > 0 FROM llm_clusters.cluster_items($run, 0)" t
expect "assign" "SELECT cluster_id IS NOT NULL FROM llm_clusters.assign((SELECT id FROM llm_clusters.jobs WHERE name = 'daily'), (SELECT embedding FROM llm_clusters.embeddings LIMIT 1))" t
expect "item_clusters" "SELECT count(*) > 0 FROM llm_clusters.item_clusters((SELECT item_id FROM llm_clusters.assignments WHERE run_id = $run LIMIT 1), 1)" t
expect "embed_text (built-in model)" "SELECT array_length(llm_clusters.embed_text('hello'), 1)" 384
q "SELECT llm_clusters.capture('{\"event\": \"\$ai_generation\", \"properties\": {\"\$ai_trace_id\": \"new\", \"\$ai_input\": \"where is my parcel\"}}')" >/dev/null
expect "embed_pending" "SELECT llm_clusters.embed_pending('generation')" 1
pgu -o /dev/null -c "INSERT INTO llm_clusters.jobs (name, level, team_id, enabled_at) VALUES ('due after the upgrade', 'generation', 1, now() - interval '2 days')"
expect "run_due_jobs runs the job due after the upgrade" "SELECT count(*) FROM llm_clusters.run_due_jobs()" 1
expect "the due job's run did not fail" "SELECT status <> 'failed' FROM llm_clusters.runs WHERE job_name = 'due after the upgrade' AND cycle IS NOT NULL" t
key=$(qu "SELECT llm_clusters.create_api_key(1, 'after the upgrade')")
expect "create_api_key and capture_with_key (0.4.0)" \
  "SELECT llm_clusters.capture_with_key('$key', '{\"event\": \"\$ai_span\", \"properties\": {\"\$ai_trace_id\": \"via-key\"}}')" 1
expect "summarize_pending and trace_html (0.4.0)" \
  "SELECT llm_clusters.summarize_pending('trace', 5) = 5 AND length(llm_clusters.trace_html((SELECT trace_id FROM llm_clusters.events LIMIT 1))) > 1000" t
expect "cluster_items has the summary columns" \
  "SELECT array_agg(DISTINCT attname ORDER BY attname) FILTER (WHERE attname IN ('summary_title', 'flow', 'bullets', 'notes')) FROM (SELECT (pg_catalog.jsonb_each(to_jsonb(i))).key AS attname FROM llm_clusters.cluster_items($run, 0) i LIMIT 20) k" "{bullets,flow,notes,summary_title}"
expect "a job's owner can be set" "UPDATE llm_clusters.jobs SET owner = 'llm_clusters_admin' WHERE name = 'daily' RETURNING owner" llm_clusters_admin
say "0.4.0 -> 0.5.0 with an API key two teams registered (a key hash is one team's since 0.5.0)"
pg -c "CREATE DATABASE keys" >/dev/null
PGDATABASE=keys pg -o /dev/null <<'SQL'
CREATE EXTENSION llm_clusters VERSION '0.4.0';
INSERT INTO llm_clusters.api_keys (team_id, key_hash, key_prefix, label)
VALUES (1, sha256('shared key'::bytea), 'llmc_shared', 'team 1'),
       (2, sha256('shared key'::bytea), 'llmc_shared', 'planted by team 2'),
       (1, sha256('own key'::bytea), 'llmc_own', 'team 1 only');
SQL
out=$(PGDATABASE=keys pg -c "ALTER EXTENSION llm_clusters UPDATE" 2>&1)
[[ $out == *"api key llmc_shared was registered by teams {1,2}"* ]] || fail "no WARNING naming the shared key: $out"
pass "the upgrade warns: ${out%%$'\n'*}"
PGDATABASE=keys expect "the shared hash is kept once, in the lowest team, revoked" \
  "SELECT string_agg(team_id || ':' || (revoked_at IS NOT NULL), ',') FROM llm_clusters.api_keys WHERE key_hash = sha256('shared key'::bytea)" "1:true"
PGDATABASE=keys expect "a key no other team registered stays valid" \
  "SELECT revoked_at IS NULL FROM llm_clusters.api_keys WHERE key_hash = sha256('own key'::bytea)" t
say "upgrade: all checks passed"
