#!/usr/bin/env bash
# Evaluations end to end, on PostgreSQL 18: PostHog's Python SDK, unchanged, sends a
# support bot's generations and three judges' $ai_evaluation events (PostHog's shape) to
# llm-clusters-server; every event is stored once; embed_pending('evaluation') and a job
# at level evaluation cluster them; each cluster's pass and N/A rates agree with what was
# sent (20 passes, 11 fails, 5 N/A of 36), and the cards and the report show them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
http_port=18040   # a port of its own (18020: scripts/bench/server.sh, 18030: server_bounds.sh)
server_pid=
E2E_CLEANUP='[ -z "$server_pid" ] || kill $server_pid 2>/dev/null; true'
e2e_setup 18 55920
say "building llm-clusters-server"
cargo build -q -p llm_clusters_server
server_bin=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/llm-clusters-server
url=http://127.0.0.1:$http_port

pg -c "CREATE EXTENSION llm_clusters" -c "CREATE ROLE ingest_server LOGIN IN ROLE llm_clusters_ingest" >/dev/null
key=$(q "SELECT llm_clusters.create_api_key(3, 'e2e evaluations')")
"$server_bin" --database-url "host=$PGHOST port=$PGPORT user=ingest_server dbname=postgres" \
  --listen "127.0.0.1:$http_port" >>"$work/http.log" 2>&1 &
server_pid=$!
wait_for_server "$url"
pass "server up"

say "PostHog's Python SDK sends generations and their evaluations"
"$SDK_HOME/venv/bin/python" "$FIXTURES/sdk_evaluations.py" "$url" "$key" "$work/sent.txt" judged
n=$(wc -l <"$work/sent.txt")
uuids=$(sed "s/.*/'&'/" "$work/sent.txt" | paste -sd,)
expect "all $n events stored once, in team 3" \
  "SELECT count(*) FILTER (WHERE team_id = 3) || '/' || count(*) FROM llm_clusters.events WHERE uuid IN ($uuids)" "$n/$n"
expect "36 evaluations, each with its text" \
  "SELECT count(*) FROM llm_clusters.events WHERE event = '\$ai_evaluation' AND content ~ '^(helpfulness|tone|json format): (pass|fail|n/a)\. '" 36
expect "each evaluation item carries its generation's cost" \
  "SELECT count(cost_usd) FROM llm_clusters.evaluation_items WHERE team_id = 3" 36

say "embedded and clustered at level evaluation"
expect "embed_pending('evaluation') embeds them" "SELECT llm_clusters.embed_pending('evaluation')" 36
job=$(q "SELECT llm_clusters.create_job('judges', 'evaluation', team_id => 3, params => '{\"min_items\": 5}')")
run=$(q "SELECT llm_clusters.run_job($job)")
expect "the run succeeded over the 36 evaluations" "SELECT status || ' ' || n_items || ' ' || lens FROM llm_clusters.runs WHERE id = $run" "succeeded 36 request"
expect "passes and N/A over the clusters: 20 and 5 of 36" \
  "SELECT round(sum(pass_rate * size * (1 - na_rate))) || ' ' || round(sum(na_rate * size)) || ' ' || sum(size) FROM llm_clusters.clusters WHERE run_id = $run" "20 5 36"
expect "every cluster's rate is its items' (recomputed from the events)" \
  "SELECT bool_and(c.pass_rate IS NOT DISTINCT FROM x.p AND c.na_rate = x.na) FROM llm_clusters.clusters c JOIN (
     SELECT a.cluster_id, count(*) FILTER (WHERE e.properties->>'\$ai_evaluation_result' = 'true')::float8
                          / nullif(count(*) FILTER (WHERE e.properties ? '\$ai_evaluation_result'), 0) AS p,
            avg(coalesce(e.properties->>'\$ai_evaluation_applicable' = 'false', false)::int)::float8 AS na
     FROM llm_clusters.assignments a JOIN llm_clusters.events e ON e.team_id = a.team_id AND e.uuid::text = a.item_id
     WHERE a.run_id = $run GROUP BY a.cluster_id) x USING (cluster_id) WHERE c.run_id = $run" t
expect "the judges' clusters are named by their evaluators" \
  "SELECT count(DISTINCT main_evaluator) >= 2 FROM llm_clusters.cluster_cards WHERE run_id = $run" t
q "SELECT cluster_id, size, round(pass_rate::numeric, 2), round(na_rate::numeric, 2), main_evaluator, title FROM llm_clusters.cluster_cards WHERE run_id = $run ORDER BY position" | sed 's/^/  /'
expect "the report shows pass rates and the lens" \
  "SELECT position('\"passRate\":' IN h) > 0 AND position('lens <b id=\"lens\">request</b>' IN h) > 0 FROM (SELECT llm_clusters.report_html($run) AS h) r" t
say "evaluations end-to-end passed"
