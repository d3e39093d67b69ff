#!/usr/bin/env bash
# The whole test suite: rustfmt and clippy, engine and server unit tests, #[pg_test]s on
# PostgreSQL 15 and 18, the SQL regression tests on both, and the end-to-end scripts
# (worker, pg_cron, faults, AI stub, browser, backups, upgrades, the HTTP server with
# PostHog's SDKs). PostgreSQL 16 gets the #[pg_test]s, the regression tests and the
# worker, owner, backup and upgrade scripts too. Installs what is missing first (scripts/setup.sh: the built-in model
# and the SDKs included).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh
export USER=${USER:-$(id -un)}

say "rustfmt, clippy, no import cycle in any crate, and the pages' scripts parse"
python3 scripts/check_imports.py --self-test
for script in engine/assets/*.js; do node --check "$script"; done
# Both are required (rustup's default profile has them; scripts/setup.sh checks).
cargo fmt --all -- --check
say "the demo's traffic generator: its shape, and the same events on every run"
"$SDK_HOME/venv/bin/python" tests/demo_traffic_test.py
for ver in 15 16 18; do
  cargo clippy --workspace --all-targets --no-default-features --features "pg$ver" -- -D warnings
done

# The dev profile, whose numeric and model crates are built optimised (Cargo.toml): one
# build of the dependencies serves these tests, the #[pg_test]s and the installs below.
say "engine and HTTP server unit tests"
cargo test -p llm_clusters_engine -p llm_clusters_server
say "fuzzing every parser of outside input (a short pass; scripts/fuzz.sh N for more)"
bash scripts/fuzz.sh 2000

for ver in 15 16 18; do
  say "#[pg_test]s on PostgreSQL $ver"
  pgdata=$(mktemp -u /tmp/llm_clusters_pgtest.XXXXXX)
  runas=()
  [ "$(id -u)" -eq 0 ] && runas=(--runas postgres)
  cargo pgrx test "pg$ver" "${runas[@]}" --pgdata "$pgdata"
  rm -rf "$pgdata"
done

for ver in 15 16 18; do
  say "SQL regression tests on PostgreSQL $ver"
  bash scripts/regress.sh "$ver"
done
say "the README's facts: its quick start runs, its versions and names match Cargo and the catalog"
bash tests/e2e/readme.sh 18
for ver in 15 16 18; do
  say "end-to-end: the background worker on PostgreSQL $ver"
  bash tests/e2e/scheduler.sh "$ver"
done
say "end-to-end: pgvector sources on PostgreSQL 18"
bash tests/e2e/pgvector.sh
say "end-to-end: kill -9 during a run, concurrent runs under capture load"
bash tests/e2e/faults.sh
say "end-to-end: the built-in model: bad model directories, threads, cancel and timeout"
bash tests/e2e/embedder.sh 18
say "end-to-end: AI labels and embeddings against a local stub"
bash tests/e2e/ai.sh
say "end-to-end: report_html in headless Chromium"
bash tests/e2e/report.sh
say "end-to-end: item summaries and trace timelines in headless Chromium"
bash tests/e2e/trace_page.sh
say "end-to-end: pg_cron on PostgreSQL 15"
bash tests/e2e/pg_cron.sh
for ver in 15 16 18; do
  say "end-to-end: backups (pg_dump / pg_restore) on PostgreSQL $ver"
  bash tests/e2e/backup.sh "$ver"
  say "end-to-end: upgrade from 0.1.0 on PostgreSQL $ver"
  bash tests/e2e/upgrade.sh "$ver"
  say "end-to-end: the worker runs jobs as their owners, with a time limit, on PostgreSQL $ver"
  bash tests/e2e/worker_owner.sh "$ver"
done
say "end-to-end: llm-clusters-server with PostHog's Python, Node.js and browser SDKs, bad input and faults"
bash tests/e2e/server.sh
say "end-to-end: PostHog's Python SDK sends evaluations to llm-clusters-server; clustered at level evaluation"
bash tests/e2e/evaluations.sh
say "attacks: llm-clusters-server under gzip bombs, 1,100 idle connections, stalled bodies, a flood of refusals and 1-byte chunks"
bash tests/security/server_bounds.sh
say "attacks: one team's idle transaction with every lock it may take stalls no other team"
bash tests/security/locks.sh
say "attacks: memberships WITH SET FALSE (PostgreSQL 16+) own no job and see no team"
bash tests/security/set_false_membership.sh
say "attacks: one team's backlog is not prepared on another team's job time"
bash tests/security/worker_fairness.sh
say "attacks: the worker takes teams in turns: one team's slow jobs delay another's by at most one job"
bash tests/security/worker_turns.sh
say "attacks: the worker prepares a job's items for at most llm_clusters.job_time_limit"
bash tests/security/worker_preparation_limit.sh
say "attacks: the worker's assign_pending of a job whose source catches its cancel ends at llm_clusters.job_time_limit"
bash tests/security/worker_assign_limit.sh
say "attacks: a team's open transaction holding its job's row or a run of the cycle does not hold the worker"
bash tests/security/worker_lock_wait.sh
say "attacks: run_due_jobs() from several sessions of one team holds one background worker slot at a time"
bash tests/security/run_due_jobs_slots.sh
say "attacks: a terminated job process that does not end holds the worker at most 10 s"
bash tests/security/worker_terminate_wait.sh
say "attacks: the extension is not installed into, nor upgraded in, a schema a role that is not a superuser controls"
bash tests/security/extension_schema.sh
say "attacks: an AI key that sessions show to any role (no preloading) is never sent"
bash tests/security/ai_key_preload.sh
say "attacks: a trace of huge step texts (\$ai_error) stays within its budget in memory"
bash tests/security/planted_step_texts.sh
say "attacks: a trace of 20,000 generations is read only up to its 8,000-character content"
bash tests/security/trace_content_memory.sh
say "end-to-end: llm-clusters-server to PostgreSQL over TLS"
bash tests/e2e/server_tls.sh
say "end-to-end: the PostgreSQL 15 package (.deb and archive) on a clean data directory"
bash tests/e2e/package.sh
say "all tests passed"
