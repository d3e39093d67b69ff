#!/usr/bin/env bash
# The whole test suite: engine unit tests, #[pg_test]s on PostgreSQL 15 and 18, and the
# SQL regression tests on both. Installs what is missing first (scripts/setup.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh
export USER=${USER:-$(id -un)}

say "engine unit tests"
cargo test -p llm_clusters_engine --release

for ver in 15 18; do
  say "#[pg_test]s on PostgreSQL $ver"
  pgdata=$(mktemp -u /tmp/llm_clusters_pgtest.XXXXXX)
  runas=()
  [ "$(id -u)" -eq 0 ] && runas=(--runas postgres)
  cargo pgrx test "pg$ver" "${runas[@]}" --pgdata "$pgdata"
  rm -rf "$pgdata"
done

for ver in 15 18; do
  say "SQL regression tests on PostgreSQL $ver"
  bash scripts/regress.sh "$ver"
done
say "all tests passed"
