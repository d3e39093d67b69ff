#!/usr/bin/env bash
# The whole test suite: engine unit tests, #[pg_test]s on PostgreSQL 15 and 18, the SQL
# regression tests on both, and the end-to-end scripts (worker, pg_cron). Installs what is
# missing first (scripts/setup.sh).
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
for ver in 15 18; do
  say "end-to-end: the background worker on PostgreSQL $ver"
  bash tests/e2e/scheduler.sh "$ver"
done
say "end-to-end: pgvector sources on PostgreSQL 18"
bash tests/e2e/pgvector.sh
say "end-to-end: kill -9 during a run, concurrent runs under capture load"
bash tests/e2e/faults.sh
say "end-to-end: AI labels and embeddings against a local stub"
bash tests/e2e/ai.sh
say "end-to-end: report_html in headless Chromium"
bash tests/e2e/report.sh
say "end-to-end: pg_cron on PostgreSQL 15"
bash tests/e2e/pg_cron.sh
say "all tests passed"
