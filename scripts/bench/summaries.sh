#!/usr/bin/env bash
# Offline summaries: summarize_pending on N traces of 2-6 events (a trace event, spans, a
# generation calling a tool, the answer) on a throw-away PostgreSQL 18, release build;
# then trace_html of a 1,000-step trace. Prints items/s and the page size; asserts nothing.
# Usage: scripts/bench/summaries.sh [N traces, default 10000]
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
n=${1:-10000}
bash scripts/setup.sh >/dev/null
install_extension 18 --release >/dev/null 2>&1
work=$(mktemp -d /tmp/llm_clusters_bench.XXXXXX); chmod 755 "$work"
trap 'stop_cluster; rm -rf "$work"' EXIT
PGPORT=55138 start_cluster 18 "$work"
pg -c "CREATE EXTENSION llm_clusters"
say "capturing $n traces of 2-6 events"
pg -o /dev/null -v n="$n" <<'SQL'
SELECT llm_clusters.capture(jsonb_agg(ev)) FROM (
  SELECT jsonb_build_object('event', CASE WHEN k = 0 THEN '$ai_trace' WHEN k % 2 = 1 THEN '$ai_generation' ELSE '$ai_span' END,
    'uuid', md5(i || ':' || k)::uuid, 'timestamp', to_char(now() - i * interval '1 second' + k * interval '100 ms', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'properties', jsonb_build_object('$ai_trace_id', 'b' || i, '$ai_span_id', 'b' || i || '-' || k,
      '$ai_parent_id', CASE WHEN k > 0 THEN 'b' || i || '-0' END, '$ai_span_name', 'step ' || k, '$ai_latency', 0.1 * (k + 1),
      '$ai_model', 'gpt-4o-mini', '$ai_input_tokens', 30 + k, '$ai_output_tokens', 10, '$ai_total_cost_usd', 0.0003,
      '$ai_input', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'request number ' || i || ': how do I reset my password?')),
      '$ai_output_choices', CASE WHEN k = 1 AND i % 2 = 0 THEN jsonb_build_array(jsonb_build_object('role', 'assistant', 'content', NULL,
          'tool_calls', jsonb_build_array(jsonb_build_object('type', 'function', 'function', jsonb_build_object('name', 'lookup', 'arguments', '{}')))))
        ELSE jsonb_build_array(jsonb_build_object('role', 'assistant', 'content', 'Open the settings page.')) END)) AS ev
  FROM generate_series(1, :n) i, generate_series(0, 1 + i % 5) k) s;
SQL
say "$(pg -At -c "SELECT count(*) || ' events in ' || count(DISTINCT trace_id) || ' traces' FROM llm_clusters.events")"
start=$(date +%s%N)
done_n=$(pg -At -c "SELECT llm_clusters.summarize_pending('trace', $n)")
ms=$(( ($(date +%s%N) - start) / 1000000 ))
awk -v n="$done_n" -v ms="$ms" 'BEGIN { printf "summarize_pending: %d traces in %.2f s = %.0f traces/s\n", n, ms / 1000, n / (ms / 1000) }'
pg -o /dev/null -f "$REPO_ROOT/tests/fixtures/traces.sql" -v n=1
start=$(date +%s%N)
size=$(pg -At -c "SELECT length(llm_clusters.trace_html('long-trace'))")
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "trace_html of a 1,000-step trace: $size bytes in $ms ms (first paint in Chromium: tests/e2e/trace_page.sh prints it)"
