#!/usr/bin/env bash
# Step texts that grow in memory (the reproduction of the security issue), on PostgreSQL
# 18: capture() (and so capture_with_key, for anyone holding a team's API key, which
# posthog-js puts in web pages) stores an event's $ai_error, span name, model and ids as
# they come. A trace of 24 spans whose $ai_error is 20 MB of 'x' (stored compressed) made
# every reader of its steps hold all of them at once: summarize_pending (the worker's,
# before a job's run), the error lens of embed_pending and trace_html each took ~500 MB in
# one backend, and the day's quota (10 GB) lets one trace hold enough to have the OOM
# killer end a backend, and with it every session of every team. Now each step's texts
# are cut in SQL to the item's budget: each backend's peak (VmHWM, read from
# /proc/self/status by the backend itself) stays under 400 MB, and the error still shows.
set -euo pipefail
source "$(dirname "$0")/../e2e/lib.sh"
e2e_setup 18 55935
pg -c "CREATE EXTENSION llm_clusters"
pg -o /dev/null -c "CREATE ROLE team7_reader LOGIN IN ROLE llm_clusters_reader" \
  -c "INSERT INTO llm_clusters.team_roles VALUES (7, 'team7_reader')"
for i in $(seq 24); do
  pg -o /dev/null -c "SELECT llm_clusters.capture(jsonb_build_object('event', '\$ai_span', 'properties',
    jsonb_build_object('\$ai_trace_id', 'planted', '\$ai_span_name', 'step $i', '\$ai_error', repeat('x', 20000000))), 7)"
done
pg -o /dev/null -c "SELECT llm_clusters.capture(jsonb_build_object('event', '\$ai_generation', 'properties',
    jsonb_build_object('\$ai_trace_id', 'planted', '\$ai_input', 'what failed?', '\$ai_output_choices', 'it broke')), 7)"
pass "team 7: one trace of 24 spans with 20 MB errors ($(q "SELECT pg_size_pretty(pg_total_relation_size('llm_clusters.events'))") on disk)"
LIMIT_KB=$((400 * 1024))
for call in "SELECT llm_clusters.summarize_pending('trace')" \
            "SELECT llm_clusters.embed_pending('trace', lens => 'error')" \
            "SET ROLE team7_reader; SELECT length(llm_clusters.trace_html('planted', 7))"; do
  # Each in a new backend; summarize_pending and embed_pending on a fresh summary and
  # embedding each time (the first call above did the work once: they are deleted).
  pg -o /dev/null -c "DELETE FROM llm_clusters.item_summaries" -c "DELETE FROM llm_clusters.embeddings"
  peak=$(pg -At -c "SET client_min_messages = error" -c "$call" \
     -c "RESET ROLE" -c "SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+)'))[1]" | tail -1)
  echo "$call: backend peak $((peak / 1024)) MB"
  [ "$peak" -lt "$LIMIT_KB" ] || fail "$call: backend peak $peak kB, over $LIMIT_KB kB"
done
pg -o /dev/null -c "SELECT llm_clusters.summarize_pending('trace')"
expect "the summary still says the spans erred" \
  "SELECT notes::text ~ 'x{20}' OR bullets::text ~ 'x{20}' OR flow ~ 'x{20}' FROM llm_clusters.item_summaries WHERE item_id = 'planted'" t
say "planted step texts: all checks passed"
