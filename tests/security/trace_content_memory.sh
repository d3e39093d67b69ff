#!/usr/bin/env bash
# A trace of many generations (the reproduction of the security issue), on PostgreSQL 18:
# capture() (and so capture_with_key, for anyone holding a team's API key, which
# posthog-js puts in web pages) takes any number of generations into one trace. The
# trace views (trace_items and the lenses' views over it) built a trace's content with
# string_agg over all its generations and only then cut it to 8,000 characters: 20,000
# generations of 8,000 characters (stored compressed, a few MB on disk) made each reader
# of the trace (a job's run over the team's traces, read in the worker) build a 160 MB
# text, ~300 MB of backend memory; ~130,000 generations reach ~1 GB. Now only the parts
# that reach the 8,000 characters are read: each backend's peak (VmHWM, read from
# /proc/self/status by the backend itself) stays under 100 MB, and the content is the
# same as before, byte for byte, on traces that mix empty, missing, short and long texts.
set -euo pipefail
source "$(dirname "$0")/../e2e/lib.sh"
e2e_setup 18 56045
pg -c "CREATE EXTENSION llm_clusters"
N=${N:-20000}
pg -o /dev/null -c "INSERT INTO llm_clusters.events (uuid, team_id, event, \"timestamp\", trace_id, content)
  SELECT gen_random_uuid(), 7, '\$ai_generation', timestamptz '2026-01-01' + i * interval '1 ms', 'planted',
         repeat(md5(i::text), 250)
  FROM generate_series(1, $N) i"
pass "team 7: one trace of $N generations of 8,000 characters ($(q "SELECT pg_size_pretty(pg_total_relation_size('llm_clusters.events'))") on disk)"

# The content as 0.9.0 made it: all generations' text, then cut.
OLD="SELECT left(string_agg(e.content, E'\n' ORDER BY e.\"timestamp\") FILTER (WHERE e.event = '\$ai_generation'), 8000)
     FROM llm_clusters.events e WHERE e.team_id = 7 AND e.trace_id = TRACE AND e.event <> '\$ai_evaluation'"

LIMIT_KB=$((100 * 1024))
for call in "SELECT length(content) FROM llm_clusters.trace_items WHERE team_id = 7 AND trace_id = 'planted'" \
            "SELECT count(*) FROM llm_clusters.trace_items WHERE team_id = 7 AND content IS NOT NULL" \
            "SELECT count(*) FROM llm_clusters.trace_error_items WHERE team_id = 7"; do
  peak=$(pg -At -c "$call" -c "SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+)'))[1]" | tail -1)
  echo "$call: backend peak $((peak / 1024)) MB"
  [ "$peak" -lt "$LIMIT_KB" ] || fail "$call: backend peak $peak kB, over $LIMIT_KB kB"
done
expect "the planted trace's content is its first 8,000 characters" \
  "SELECT content = (${OLD//TRACE/\'planted\'}) FROM llm_clusters.trace_items WHERE trace_id = 'planted'" t

# Same content as before on mixed traces: texts of 0 to 40 characters, some missing
# (NULL), spans and evaluations between them, long ones (up to 12,000 characters) at and
# near the cut, equal timestamps in a trace whose texts are all the same.
pg -o /dev/null -c "INSERT INTO llm_clusters.events (uuid, team_id, event, \"timestamp\", trace_id, content)
  SELECT gen_random_uuid(), 7, (ARRAY['\$ai_generation', '\$ai_generation', '\$ai_generation', '\$ai_span', '\$ai_evaluation'])[1 + i % 5],
         timestamptz '2026-01-01' + i * interval '1 s', 'mixed' || (i % 7),
         CASE WHEN i % 11 = 0 THEN NULL
              WHEN i % 7 = 3 AND i % 13 = 0 THEN repeat(chr(1000 + i % 50), 3000 + (i * 37) % 9000)
              ELSE repeat(chr(97 + i % 26), (i * 7919) % 41) END
  FROM generate_series(1, 6000) i" \
  -c "INSERT INTO llm_clusters.events (uuid, team_id, event, \"timestamp\", trace_id, content)
  SELECT gen_random_uuid(), 7, '\$ai_generation', timestamptz '2026-01-01', 'tied', 'tt'
  FROM generate_series(1, 9000) i" \
  -c "INSERT INTO llm_clusters.events (uuid, team_id, event, \"timestamp\", trace_id, content)
  SELECT gen_random_uuid(), 7, '\$ai_generation', timestamptz '2026-01-01' + i * interval '1 s', 'long' || (i % 4),
         repeat(chr(65 + i), 7990 + i)
  FROM generate_series(1, 24) i" \
  -c "INSERT INTO llm_clusters.events (uuid, team_id, event, \"timestamp\", trace_id, content)
  SELECT gen_random_uuid(), 7, '\$ai_span', timestamptz '2026-01-01', 'no text', 'a span'"
for t in $(q "SELECT string_agg(DISTINCT trace_id, ' ') FROM llm_clusters.events WHERE trace_id <> 'planted' AND trace_id <> 'no text'") "no text"; do
  expect "trace $t: content as before" \
    "SELECT content IS NOT DISTINCT FROM (${OLD//TRACE/\'$t\'}) FROM llm_clusters.trace_items WHERE trace_id = '$t'" t
done
say "trace content memory: all checks passed"
