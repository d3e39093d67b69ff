#!/usr/bin/env bash
# SQL regression tests (tests/sql/*.sql against tests/expected/*.out) with pg_regress,
# on a throw-away cluster. Usage: scripts/regress.sh 15|16|18 [test names...]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ver=${1:?usage: regress.sh 15|16|18 [tests...]}; shift
tests=("$@")

install_extension "$ver"
work=$(mktemp -d /tmp/llm_clusters_regress.XXXXXX)
chmod 755 "$work"
trap 'stop_cluster; rm -rf "$work"' EXIT
# attack_owner_leftovers prepares a transaction: PostgreSQL refuses one with a queued
# notification, which is how it sees whether a read left one.
PGPORT=$((55000 + ver)) start_cluster "$ver" "$work" "max_prepared_transactions = 2"
# pg_regress writes results beside its inputs: give it a copy it may write to.
cp -r "$REPO_ROOT/tests/sql" "$REPO_ROOT/tests/expected" "$REPO_ROOT/tests/schedule" "$work/"
[ ${#tests[@]} -gt 0 ] || tests=(--schedule="$work/schedule")
chown -R "$PG_OWNER" "$work"
pg -c "CREATE DATABASE llm_clusters_regress"
regress=$("$(pg_config_for "$ver")" --pkglibdir)/pgxs/src/test/regress/pg_regress
say "pg_regress on PostgreSQL $ver: ${tests[*]}"
status=0
as_owner "$regress" --use-existing --bindir="$PGBIN" --host="$PGHOST" --port="$PGPORT" --user="$PG_OWNER" \
     --inputdir="$work" --outputdir="$work" --dbname=llm_clusters_regress "${tests[@]}" || status=$?
if [ "${REGRESS_ACCEPT:-}" = 1 ]; then
  # For developers: take the actual output as the new expected output (review the diff!).
  cp "$work"/results/*.out "$REPO_ROOT/tests/expected/"
  say "copied results into tests/expected; review them with git diff"
elif [ $status -ne 0 ]; then
  cat "$work/regression.diffs" 2>/dev/null || true
fi
exit $status
