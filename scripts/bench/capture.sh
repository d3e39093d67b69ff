#!/usr/bin/env bash
# Capture throughput on a throw-away PostgreSQL 18: 10,000 events in one capture() call,
# then 10,000 single-event calls from one psql session. Prints events/s; asserts nothing.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh >/dev/null
install_extension 18 --release >/dev/null 2>&1
work=$(mktemp -d /tmp/llm_clusters_bench.XXXXXX); chmod 755 "$work"
trap 'stop_cluster; rm -rf "$work"' EXIT
PGPORT=55118 start_cluster 18 "$work"
pg -c "CREATE EXTENSION llm_clusters"
seconds() { python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$@"; }
start=$(date +%s.%N)
pg -o /dev/null -c "SELECT llm_clusters.capture(jsonb_agg(jsonb_build_object('event', '\$ai_generation',
  'properties', jsonb_build_object('\$ai_trace_id', 'b' || i, '\$ai_input', 'hello ' || i,
  '\$ai_input_tokens', i, '\$ai_total_cost_usd', 0.001)))) FROM generate_series(1, 10000) i"
t=$(seconds "$start" "$(date +%s.%N)")
printf 'one call, 10000 events: %.2f s, %.0f events/s\n' "$t" "$(python3 -c "print(10000 / $t)")"
python3 -c "
for i in range(10000):
    print('SELECT llm_clusters.capture(\'{\"event\": \"\$ai_generation\", \"properties\": {\"\$ai_trace_id\": \"s%d\", \"\$ai_input\": \"hi %d\", \"\$ai_input_tokens\": %d}}\');' % (i, i, i))
" > "$work/single.sql"
chmod 644 "$work/single.sql"
start=$(date +%s.%N)
pg -o /dev/null -f "$work/single.sql"
t=$(seconds "$start" "$(date +%s.%N)")
printf '10000 single calls: %.2f s, %.0f events/s\n' "$t" "$(python3 -c "print(10000 / $t)")"
