# Helpers for the end-to-end scripts: queries, bounded waits, assertions.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# What the scripts load: data, a stub AI service, SDK and HTTP clients (tests/README.md).
FIXTURES=$(cd "$E2E_DIR/../fixtures" && pwd)

# q SQL: one value, unaligned; errors (e.g. while the server restarts) print nothing.
q() { pg -At -c "$1" 2>/dev/null || true; }

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
pass() { printf 'ok: %s\n' "$*"; }

# expect DESCRIPTION SQL EXPECTED: the query's value must equal EXPECTED.
expect() {
  local got; got=$(q "$2")
  [ "$got" = "$3" ] || fail "$1: expected '$3', got '$got'"
  pass "$1"
}

# wait_until DESCRIPTION SECONDS SQL: polls twice a second until SQL returns t.
wait_until() {
  local desc=$1 limit=$2 sql=$3 i
  for ((i = 0; i < limit * 2; i++)); do
    [ "$(q "$sql")" = t ] && { pass "$desc (after ~$((i / 2)) s)"; return 0; }
    sleep 0.5
  done
  fail "$desc: not true after $limit s: $sql"
}

# wait_for_server URL: polls URL/healthz for 10 s until it answers 200; else shows
# $work/http.log (where the scripts send the server's output) and fails.
wait_for_server() {
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1/healthz")" = 200 ] && return 0
    sleep 0.1
  done
  cat "$work/http.log"; fail "the server did not come up"
}

# load_items TEAM N PREFIX: N generation items in three groups (see tests/fixtures/items.sql).
load_items() { pg -v team="$1" -v n="$2" -v prefix="$3" -f "$FIXTURES/items.sql"; }

# A UTC time of day SECONDS from now, for llm_clusters.daily_run_time.
utc_in() { date -u -d "+$1 seconds" +%H:%M:%S; }

set_run_time() { q "ALTER SYSTEM SET llm_clusters.daily_run_time = '$1'" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null; }

# e2e_setup VERSION PORT [postgresql.conf lines...]: installs the extension and starts a
# throw-away cluster in $work, stopped and removed at exit (kept with KEEP=1). A script
# with more to clean up sets E2E_CLEANUP (shell code, run first) before calling it.
e2e_setup() {
  local ver=$1 port=$2; shift 2
  install_extension "$ver" >/dev/null 2>&1
  work=$(mktemp -d /tmp/llm_clusters_e2e.XXXXXX); chmod 755 "$work"
  trap 'eval "${E2E_CLEANUP:-}"; stop_cluster; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
  PGPORT=$port start_cluster "$ver" "$work" "$@"
}

# worker_setup PORT [postgresql.conf lines...]: e2e_setup on PostgreSQL 18 with the worker
# preloaded and napping 1 s, the extension created once the worker is up ($worker is the
# query of its pid), and team1_admin / team2_admin, login roles administering teams 1 and 2:
# where the tests of the worker that every team shares start.
worker_setup() {
  local port=$1; shift
  e2e_setup 18 "$port" "shared_preload_libraries = 'llm_clusters'" "llm_clusters.scheduler_naptime = 1" "$@"
  worker="SELECT pid FROM pg_stat_activity WHERE backend_type = 'llm_clusters scheduler'"
  wait_until "the worker is up" 20 "SELECT EXISTS ($worker)"
  pg -c "CREATE EXTENSION llm_clusters"
  pg -o /dev/null <<'SQL'
CREATE ROLE team1_admin LOGIN IN ROLE llm_clusters_admin;
CREATE ROLE team2_admin LOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (1, 'team1_admin'), (2, 'team2_admin');
SQL
}

# slow_source ROLE: public.slow_items, generation_items with a 50 ms function per row (a
# source whose read outlasts a short job_time_limit), readable by ROLE.
slow_source() {
  pg -o /dev/null -v role="$1" <<'SQL'
CREATE FUNCTION public.slowly(t text) RETURNS text LANGUAGE sql AS $$ SELECT t FROM pg_sleep(0.05) $$;
CREATE VIEW public.slow_items WITH (security_invoker = true) AS
SELECT team_id, item_id, trace_id, ts, embedding, public.slowly(content) AS content,
       cost_usd, latency_s, tokens, is_error, properties FROM llm_clusters.generation_items;
GRANT SELECT ON public.slow_items TO :"role";
SQL
}

# table_checksums [COLUMN...]: for every table of the extension, its row count and an md5
# of its rows (leaving out the COLUMNs, NAME or TABLE.NAME: ones that a later version added), then the
# sequences' positions, in $PGDATABASE. Errors fail: empty output would compare equal.
table_checksums() {
  local t cols skip
  skip=$(printf "'%s'," "$@" "")
  for t in $(pg -At -c "SELECT relname FROM pg_class WHERE relnamespace = 'llm_clusters'::regnamespace AND relkind = 'r' ORDER BY relname"); do
    cols=$(pg -At -c "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                      WHERE attrelid = 'llm_clusters.$t'::regclass AND attnum > 0 AND NOT attisdropped
                        AND attname NOT IN (${skip%,}) AND '$t.' || attname NOT IN (${skip%,})")
    pg -At -c "SELECT '$t ' || count(*) || ' ' || coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '-')
               FROM (SELECT $cols FROM llm_clusters.$t) r"
  done
  pg -At -c "SELECT 'sequences ' || (SELECT last_value FROM llm_clusters.jobs_id_seq) || ' ' || (SELECT last_value FROM llm_clusters.runs_id_seq)
                     || ' ' || (SELECT last_value FROM llm_clusters.cluster_stable_id_seq)"
}
