#!/usr/bin/env bash
# The extension's schema is a superuser's alone (the reproduction of the security issue),
# on PostgreSQL 18. CREATE EXTENSION used a schema named llm_clusters that already
# existed, whoever owned it: a role with CREATE on the database (its owner, say) made it
# first, the superuser installed the extension into it, and the role, owning the schema,
# renamed it and put its own llm_clusters.api_keys and llm_clusters.capture(jsonb, int) in
# a new one, which capture_with_key (SECURITY DEFINER) then ran as the superuser for the
# ingest role: the role became a superuser. Now an install into a schema that a role that
# is not a superuser owns, may CREATE in, or holds objects in, is refused, and so is an
# upgrade (ALTER EXTENSION UPDATE) from 0.10.0.
set -euo pipefail
source "$(dirname "$0")/../e2e/lib.sh"
e2e_setup 18 56075
pg -o /dev/null <<'SQL'
CREATE ROLE app_owner LOGIN;
CREATE DATABASE appdb OWNER app_owner;
CREATE ROLE ingest_server LOGIN;
SQL
as_app() { as_owner env PGHOST="$PGHOST" PGPORT="$PGPORT" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U app_owner -d appdb "$@"; }
in_app() { pg -d appdb "$@"; }

say "1. the database's owner makes the schema first; the superuser installs"
as_app -c "CREATE SCHEMA llm_clusters"
err=$(in_app -c "CREATE EXTENSION llm_clusters" 2>&1) && fail "CREATE EXTENSION into app_owner's schema llm_clusters succeeded"
grep -q 'schema llm_clusters is owned by role app_owner' <<<"$err" || fail "not the expected refusal: $err"
pass "refused: $(grep -m1 ERROR <<<"$err")"
PGDATABASE=appdb expect "nothing of the extension is left" "SELECT count(*) FROM pg_extension WHERE extname = 'llm_clusters'" 0

say "2. a superuser's schema with CREATE for PUBLIC, or a function app_owner put in it"
in_app -c "ALTER SCHEMA llm_clusters OWNER TO $PG_OWNER" -c "GRANT CREATE ON SCHEMA llm_clusters TO PUBLIC"
err=$(in_app -c "CREATE EXTENSION llm_clusters" 2>&1) && fail "CREATE EXTENSION into a schema where PUBLIC may CREATE succeeded"
grep -q 'grants CREATE to a role that is not a superuser' <<<"$err" || fail "not the expected refusal: $err"
as_app -c "CREATE FUNCTION llm_clusters.capture(jsonb, int) RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint'"
in_app -c "REVOKE CREATE ON SCHEMA llm_clusters FROM PUBLIC"
err=$(in_app -c "CREATE EXTENSION llm_clusters" 2>&1) && fail "CREATE EXTENSION into a schema holding app_owner's function succeeded"
grep -q 'holds an object that a role that is not a superuser owns' <<<"$err" || fail "not the expected refusal: $err"
pass "refused both: a schema others may CREATE in, and one holding others' objects"

say "3. once the schema is a superuser's alone, the install goes on, and app_owner cannot take it"
in_app -c "DROP FUNCTION llm_clusters.capture(jsonb, int)" -c "CREATE EXTENSION llm_clusters"
err=$(as_app -c "ALTER SCHEMA llm_clusters RENAME TO taken" 2>&1) && fail "app_owner renamed the extension's schema"
pass "installed; app_owner may not rename the schema: $(grep -m1 ERROR <<<"$err")"

say "4. an upgrade from 0.10.0 into a schema app_owner owns is refused"
pg -c "CREATE DATABASE olddb OWNER app_owner"
as_owner env PGHOST="$PGHOST" PGPORT="$PGPORT" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U app_owner -d olddb -c "CREATE SCHEMA llm_clusters"
pg -d olddb -c "CREATE EXTENSION llm_clusters VERSION '0.10.0'"
err=$(pg -d olddb -c "ALTER EXTENSION llm_clusters UPDATE" 2>&1) && fail "ALTER EXTENSION UPDATE in app_owner's schema succeeded"
grep -q 'schema llm_clusters is owned by role app_owner' <<<"$err" || fail "not the expected refusal: $err"
PGDATABASE=olddb expect "the extension stays at 0.10.0" "SELECT extversion FROM pg_extension WHERE extname = 'llm_clusters'" 0.10.0
pass "upgrade refused: $(grep -m1 ERROR <<<"$err")"
say "extension schema: all checks passed"
