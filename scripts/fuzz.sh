#!/usr/bin/env bash
# Property-based fuzzing of every parser of outside input (engine and HTTP server): runs
# each `fuzz_` test over N generated inputs and prints one count line per target.
#   scripts/fuzz.sh [N]     N inputs per target (default 2000: the short pass of scripts/test.sh)
# Above 100,000 inputs the targets run optimised (--release); below, on the dev profile the
# rest of the tests already built. LLM_CLUSTERS_FUZZ_SEED changes every target's inputs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

n=${1:-2000}
case "$n" in '' | *[!0-9]*) echo "usage: $0 [N]: N must be a whole number" >&2; exit 2 ;; esac
profile=()
if [ "$n" -gt 100000 ]; then profile=(--release); fi

say "fuzzing the engine's and the server's parsers: $n inputs per target${profile:+ (release)}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
LLM_CLUSTERS_FUZZ_N=$n cargo test "${profile[@]}" -p llm_clusters_engine -p llm_clusters_server fuzz_ \
  -- --nocapture --test-threads=2 >"$log" 2>&1 || status=$?
grep -E '^fuzz [a-z_0-9]+: ' "$log" | sort || true
if [ "$status" -ne 0 ]; then
  say "FAILED: a fuzz target panicked or broke an invariant; the failing input is printed below"
  grep -E -A3 "panicked|failed:" "$log" | cut -c1-2000 || tail -50 "$log"
  exit "$status"
fi
