#!/usr/bin/env bash
# embed_pending of two builds on the same texts, interleaved: the first N real ChatGPT
# prompts of DATA_DIR/sharegpt_prompts.jsonl captured as generations in a cluster of each
# PostgreSQL 18 home, then embed_pending('generation') with the built-in model, 2 threads and
# each build's default precision, ROUNDS times per build in turn (the embeddings deleted
# between runs). Prints texts/s per run and the load; asserts nothing about time.
# Each home must already hold its build, e.g. an old version:
#   git worktree add /tmp/v040 bd8d068^ --detach && cp -a /opt/llm_clusters/pg18 /tmp/pg18-v040
#   (cd /tmp/v040 && LLM_CLUSTERS_PG18_HOME=/tmp/pg18-v040 bash -c 'source scripts/lib.sh; install_extension 18 --release')
# Usage: scripts/bench/embed_versions.sh DATA_DIR N HOME_A HOME_B [ROUNDS, default 3]
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
data_dir=${1:?usage: embed_versions.sh DATA_DIR N HOME_A HOME_B [ROUNDS]}
n=${2:?N}
homes=("${3:?HOME_A}" "${4:?HOME_B}")
rounds=${5:-3}
work=$(mktemp -d /tmp/llm_clusters_bench.XXXXXX); chmod 755 "$work"
declare -a datas hosts ports bins
# utime + stime of /proc/self/stat (fields 14 and 15; the text after the command's ") "
# starts at field 3).
cpu_ticks="SELECT f[12]::bigint + f[13]::bigint FROM regexp_split_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS s(f)"
cleanup() {
  for i in 0 1; do
    [ -n "${datas[$i]:-}" ] && as_owner "${bins[$i]}/pg_ctl" -D "${datas[$i]}" -m fast -w stop >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
head -n "$n" "$data_dir/sharegpt_prompts.jsonl" > "$work/prompts.jsonl"; chmod 644 "$work/prompts.jsonl"

for i in 0 1; do
  PG18_HOME=${homes[$i]}
  PGPORT=$((55170 + i)) start_cluster 18 "$work/pg$i"
  datas[i]=$PGDATA; hosts[i]=$PGHOST; ports[i]=$PGPORT; bins[i]=$PGBIN
  pg -c "CREATE EXTENSION llm_clusters"
  pg -o /dev/null -v file="$work/prompts.jsonl" -f "$REPO_ROOT/scripts/bench/capture_prompts.sql"
  say "${homes[$i]} ($(pg -At -c "SELECT extversion FROM pg_extension WHERE extname = 'llm_clusters'")): $(pg -At -c "SELECT count(*) || ' generations, ' || round(avg(length(content))) || ' characters each' FROM llm_clusters.events")"
done

for round in $(seq "$rounds"); do
  for i in 0 1; do
    PGHOST=${hosts[$i]} PGPORT=${ports[$i]} PGBIN=${bins[$i]}
    pg -c "DELETE FROM llm_clusters.embeddings"
    start=$(date +%s%N)
    # The backend's CPU time (its threads included), which other work on the machine
    # changes far less than the wall clock: /proc/self/stat's utime + stime, in ticks.
    read -r ticks_before done_n ticks_after < <(pg -At -c "SET llm_clusters.embed_threads = 2" \
      -c "$cpu_ticks" -c "SELECT llm_clusters.embed_pending('generation', $n)" -c "$cpu_ticks" | tr '\n' ' '; echo)
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    awk -v n="$done_n" -v ms="$ms" -v h="${homes[$i]}" -v r="$round" -v l="$(cut -d' ' -f1 /proc/loadavg)" \
        -v cpu="$(( ticks_after - ticks_before ))" -v hz="$(getconf CLK_TCK)" \
      'BEGIN { printf "round %d %s: %d texts in %.1f s = %.1f texts/s; %.1f CPU-s = %.1f texts per CPU-s (load %s)\n", r, h, n, ms / 1000, n / (ms / 1000), cpu / hz, n / (cpu / hz), l }'
  done
done
