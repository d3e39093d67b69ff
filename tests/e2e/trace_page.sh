#!/usr/bin/env bash
# The trace timeline and the item summaries in a real browser (headless Chromium): agent
# traces (spans, tool calls) are summarised offline and clustered at trace level; on the
# report's cluster page an item expands to its summary and opens its timeline in the page;
# trace_html shows a trace whose every text is hostile (nothing runs), one of 1,000 steps
# (its size and first paint are printed), a 10 MB output (folded) and a parent cycle
# with privacy-mode nulls. Saves screenshots.
# Usage: tests/e2e/trace_page.sh [SCREENSHOT_DIR]   (default: $work)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
(cd "$E2E_DIR/../browser" && [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund >/dev/null)
e2e_setup 18 55538
shots=${1:-$work}

say "agent traces, summaries, a trace-level run"
pg -c "CREATE EXTENSION llm_clusters"
pg -v n=90 -f "$FIXTURES/traces.sql" >/dev/null
expect "every trace summarised" "SELECT llm_clusters.summarize_pending('trace')" 93
expect "an agent trace's flow: the trace, its spans, the tool call under its generation" \
  "SELECT flow ~ 'trace assistant.*\n   ├─ span retrieve context.*\n   ├─ generation \[gpt-4o-mini\].*\n   │  └─ tool call run_sql' FROM llm_clusters.item_summaries WHERE item_id = 'agent-4'" t
q "SET llm_clusters.embedder = 'hash'; SELECT llm_clusters.embed_pending('trace', 1000)" >/dev/null
job=$(q "SELECT llm_clusters.create_job('agents', 'trace')")
run=$(q "SELECT llm_clusters.run_job($job)")
expect "the run succeeded" "SELECT status FROM llm_clusters.runs WHERE id = $run" succeeded
cluster=$(q "SELECT cluster_id FROM llm_clusters.assignments WHERE run_id = $run AND item_id = 'agent-1'")
pg -At -c "SELECT llm_clusters.report_html($run, $cluster)" -o "$work/cluster.html"
pg -At -c "SELECT llm_clusters.trace_html('agent-1')" -o "$work/hostile.html"
pg -At -c "SELECT llm_clusters.trace_html('long-trace')" -o "$work/long.html"
pg -At -c "SELECT llm_clusters.trace_html('huge-trace')" -o "$work/huge.html"
pg -At -c "SELECT llm_clusters.trace_html('tangled-trace')" -o "$work/tangled.html"
chmod 644 "$work"/*.html
echo "cluster page $(stat -c %s "$work/cluster.html") bytes; 1,000-step timeline $(stat -c %s "$work/long.html") bytes"
echo "timeline of a 10 MB output: $(stat -c %s "$work/huge.html") bytes"
node "$E2E_DIR/../browser/trace.test.mjs" "$work/cluster.html" "$work/hostile.html" "$work/long.html" "$work/huge.html" "$work/tangled.html" "$shots"
say "trace pages end-to-end passed"
