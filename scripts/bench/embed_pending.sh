#!/usr/bin/env bash
# embed_pending end to end in PostgreSQL 18: the first N real ChatGPT prompts of
# DATA_DIR/sharegpt_prompts.jsonl captured as generations, then embed_pending('generation')
# with the built-in model in each precision and thread count (the embeddings deleted
# between runs); texts/s, including the SPI reads and writes. Prints numbers; asserts
# nothing about time. Builds and installs the extension: run it under the PostgreSQL lock.
# Usage: [THREADS="1 2"] scripts/bench/embed_pending.sh DATA_DIR [N, default 1000] [--release]
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
data_dir=${1:?usage: embed_pending.sh DATA_DIR [N] [--release]}
n=${2:-1000}
bash scripts/setup.sh >/dev/null
install_extension 18 ${3:-} >/dev/null 2>&1
work=$(mktemp -d /tmp/llm_clusters_bench.XXXXXX); chmod 755 "$work"
trap 'stop_cluster; rm -rf "$work"' EXIT
head -n "$n" "$data_dir/sharegpt_prompts.jsonl" > "$work/prompts.jsonl"; chmod 644 "$work/prompts.jsonl"
PGPORT=55139 start_cluster 18 "$work"
pg -c "CREATE EXTENSION llm_clusters"
pg -o /dev/null -v file="$work/prompts.jsonl" -f "$REPO_ROOT/scripts/bench/capture_prompts.sql"
say "$(pg -At -c "SELECT count(*) || ' generations, ' || round(avg(length(content))) || ' characters each' FROM llm_clusters.events")"
for threads in ${THREADS:-1 2}; do
  for precision in f32 int8; do
    pg -c "DELETE FROM llm_clusters.embeddings"
    start=$(date +%s%N)
    done_n=$(pg -At -c "SET llm_clusters.embed_threads = $threads" -c "SET llm_clusters.embed_precision = '$precision'" \
                -c "SELECT llm_clusters.embed_pending('generation', $n)")
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    awk -v n="$done_n" -v ms="$ms" -v p="$precision" -v t="$threads" -v l="$(cut -d' ' -f1 /proc/loadavg)" \
      'BEGIN { printf "embed_pending %s threads=%d: %d texts in %.1f s = %.1f texts/s (load %s)\n", p, t, n, ms / 1000, n / (ms / 1000), l }'
  done
done
