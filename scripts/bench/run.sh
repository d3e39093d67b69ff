#!/usr/bin/env bash
# End-to-end run_job benchmark on a throw-away PostgreSQL 18, side by side with a Python
# pipeline (psycopg + scikit-learn + umap-learn, installed in a venv here) doing the same
# work on the same rows. Prints numbers; asserts nothing.
#   bash scripts/bench/run.sh            # 10k x 384 and 100k x 1536 (with Python), 1M x 384 (Rust only)
#   bash scripts/bench/run.sh 50000 768  # one size, with Python
#   bash scripts/bench/run.sh 50000 768 --no-python
#   ASSIGN=100000 bash scripts/bench/run.sh 100000 384 --no-python   # then assign_pending
#   MAX_MEMORY_MB=12288 bash scripts/bench/run.sh 1000000 1536 --no-python   # every item, not a sample
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh >/dev/null
install_extension 18 --release >/dev/null 2>&1

venv=/opt/llm_clusters/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  say "creating the benchmark venv in $venv"
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q 'psycopg[binary]==3.2.*' 'numpy<2.3' 'scikit-learn==1.6.*' 'umap-learn==0.5.*'

work=$(mktemp -d /tmp/llm_clusters_bench.XXXXXX); chmod 755 "$work"
trap 'stop_cluster; rm -rf "$work"' EXIT
# MAX_MEMORY_MB: llm_clusters.max_memory_mb for the run (by default 4 GB, which samples
# 1M x 1,536 down to 349,525 items).
PGPORT=55119 start_cluster 18 "$work" "shared_buffers = '256MB'" "max_wal_size = '8GB'" \
  ${MAX_MEMORY_MB:+"llm_clusters.max_memory_mb = $MAX_MEMORY_MB"}
export PGHOST PGPORT PGUSER PGDATABASE
# Idle OpenMP threads in scikit-learn spin by default and would steal a core from the server.
export OMP_WAIT_POLICY=PASSIVE
bench() { "$venv/bin/python" scripts/bench/run.py "$@"; }
if [ $# -ge 2 ]; then
  python=--python
  [ "${3:-}" = --no-python ] && python=
  bench --n "$1" --dim "$2" $python ${ASSIGN:+--assign "$ASSIGN"}
else
  bench --n 10000 --dim 384 --python
  bench --n 100000 --dim 1536 --python
  bench --n 100000 --dim 384 --assign 100000
  bench --n 1000000 --dim 384
fi
