#!/usr/bin/env bash
# The metrics statement of a run (src/results.rs: the run's arrays joined with
# llm_clusters.generation_items, grouping sets) over N synthetic generations, timed with
# work_mem 4MB and 256MB in turn, then its plan. Prints numbers; asserts nothing.
#   bash scripts/bench/metrics_work_mem.sh 1000000
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
n=${1:-100000}
install_extension 18 >/dev/null 2>&1
work=$(mktemp -d /tmp/wm.XXXXXX); chmod 755 "$work"
trap 'stop_cluster; rm -rf "$work"' EXIT
PGPORT=55177 start_cluster 18 "$work" >/dev/null
pg -c "CREATE EXTENSION llm_clusters" >/dev/null
pg -v n="$n" <<'SQL'
INSERT INTO llm_clusters.events (uuid, team_id, event, "timestamp", trace_id, input_tokens, output_tokens, total_cost_usd, latency_s, is_error)
SELECT gen_random_uuid(), 1, '$ai_generation', now(), 't' || g, (random()*1000)::int, 10, random(), random()*10, random() < 0.1 FROM generate_series(1, :n) g;
ANALYZE llm_clusters.events;
CREATE TEMP TABLE arr AS SELECT array_agg(uuid::text ORDER BY random()) AS ids, array_agg((random()*20)::int) AS c, array_agg((random()*5)::int) AS t FROM llm_clusters.events;
DO $do$
DECLARE a text[]; c int[]; t int[]; t0 timestamptz; wm text; plan text;
BEGIN
  SELECT ids, arr.c, arr.t INTO a, c, t FROM arr;
  FOREACH wm IN ARRAY ARRAY['4MB', '256MB', '4MB', '256MB'] LOOP
    PERFORM set_config('work_mem', wm, true);
    t0 := clock_timestamp();
    EXECUTE 'SELECT count(*) FROM (SELECT GROUPING(u.cluster_id) = 0, coalesce(u.cluster_id, u.theme_id), count(*)::int, avg(s.cost_usd), avg(s.latency_s), avg(s.tokens)::float8, avg(coalesce(s.is_error, false)::int)::float8, sum(s.cost_usd), percentile_cont(0.95) WITHIN GROUP (ORDER BY s.latency_s)
FROM unnest($1::text[], $2::int[], $3::int[]) AS u(item_id, cluster_id, theme_id) JOIN llm_clusters.generation_items s ON s.team_id = 1 AND s.item_id = u.item_id
GROUP BY GROUPING SETS ((u.cluster_id), (u.theme_id))) x' USING a, c, t;
    RAISE NOTICE 'work_mem % : % ms', wm, round(extract(epoch FROM clock_timestamp() - t0) * 1000);
  END LOOP;
  FOR plan IN EXECUTE 'EXPLAIN (COSTS OFF) SELECT GROUPING(u.cluster_id) = 0, coalesce(u.cluster_id, u.theme_id), count(*)::int, avg(s.cost_usd), avg(s.latency_s), avg(s.tokens)::float8, avg(coalesce(s.is_error, false)::int)::float8, sum(s.cost_usd), percentile_cont(0.95) WITHIN GROUP (ORDER BY s.latency_s)
FROM unnest($1::text[], $2::int[], $3::int[]) AS u(item_id, cluster_id, theme_id) JOIN llm_clusters.generation_items s ON s.team_id = 1 AND s.item_id = u.item_id
GROUP BY GROUPING SETS ((u.cluster_id), (u.theme_id))' USING a, c, t LOOP RAISE NOTICE '%', plan; END LOOP;
END $do$;
SQL
