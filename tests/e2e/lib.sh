# Helpers for the end-to-end scripts: queries, bounded waits, assertions.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

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

# load_items TEAM N PREFIX: N generation items in three groups (see items.sql).
load_items() { pg -v team="$1" -v n="$2" -v prefix="$3" -f "$E2E_DIR/items.sql"; }

# A UTC time of day SECONDS from now, for llm_clusters.daily_run_time.
utc_in() { date -u -d "+$1 seconds" +%H:%M:%S; }

set_run_time() { q "ALTER SYSTEM SET llm_clusters.daily_run_time = '$1'" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null; }
