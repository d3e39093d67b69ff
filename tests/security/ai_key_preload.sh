#!/usr/bin/env bash
# The AI service's key is used only when no session can have read it (the reproduction of
# the security issue), on PostgreSQL 18. Until a session loads the library, a setting
# from postgresql.conf is a placeholder every role reads: without shared_preload_libraries
# (the quick start needs none), any login of any database read llm_clusters.ai_api_key
# with SHOW in a fresh session, while the extension went on sending it. Now a key set
# without preloading is refused (55000, with what to do) before any request, and with
# preloading the key is superuser-only from each session's start.
set -euo pipefail
source "$(dirname "$0")/../e2e/lib.sh"
secret=sk-placeholder-$$
e2e_setup 18 56076 "llm_clusters.ai_api_key = '$secret'" "llm_clusters.ai_data_processing = on" \
  "llm_clusters.ai_base_url = 'http://127.0.0.1:9/v1'" "llm_clusters.ai_embedding_model = 'e'" \
  "llm_clusters.embedder = 'service'"
pg -c "CREATE EXTENSION llm_clusters" -c "CREATE ROLE someone LOGIN"
as_someone() { as_owner env PGHOST="$PGHOST" PGPORT="$PGPORT" "$PGBIN/psql" -X -At -U someone -d postgres "$@"; }

say "1. without shared_preload_libraries: any role reads the key before the library loads"
[ "$(as_someone -c "SHOW llm_clusters.ai_api_key")" = "$secret" ] \
  || fail "a fresh session does not show the placeholder (has PostgreSQL changed?)"
pass "a role with no grant reads the key in a fresh session (PostgreSQL's placeholders)"
err=$(pg -c "SELECT llm_clusters.embed_text('hello')" 2>&1) && fail "embed_text used the exposed key"
grep -q "llm_clusters is not in shared_preload_libraries" <<<"$err" || fail "not the expected refusal: $err"
pass "the exposed key is not used: $(grep -m1 ERROR <<<"$err")"

say "2. preloaded: the key is superuser-only from each session's start"
echo "shared_preload_libraries = 'llm_clusters'" | as_owner tee -a "$PGDATA/postgresql.conf" >/dev/null
echo "llm_clusters.scheduler_enabled = off" | as_owner tee -a "$PGDATA/postgresql.conf" >/dev/null
restart_cluster
err=$(as_someone -c "SHOW llm_clusters.ai_api_key" 2>&1) && fail "a role with no grant read the preloaded key: $err"
grep -q "permission denied\|must be superuser\|pg_read_all_settings" <<<"$err" || fail "not a refusal: $err"
err=$(pg -c "SELECT llm_clusters.embed_text('hello')" 2>&1) && fail "embed_text reached a closed port"
grep -q "shared_preload_libraries" <<<"$err" && fail "the preloaded key was refused: $err"
pass "hidden from others; used (the request itself fails: nothing listens on port 9)"
say "AI key and preloading: all checks passed"
