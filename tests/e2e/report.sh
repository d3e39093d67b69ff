#!/usr/bin/env bash
# End-to-end test of report_html() in a real browser (Debian's headless Chromium driven by
# playwright-core): a run with hostile item texts and outliers is rendered, the pages are
# checked through their own events (and the steered clusters' marks: the run's two last
# clusters merged, its first split, by hand), and a screenshot is saved.
# Usage: tests/e2e/report.sh [ITEMS] [SCREENSHOT]   (defaults: 300, $work/report.png)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ver=18
n=${1:-300}

(cd "$E2E_DIR/../browser" && [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund >/dev/null)
e2e_setup "$ver" 55518
shot=${2:-$work/report.png}

say "report_html in Chromium ($n items)"
pg -c "CREATE EXTENSION llm_clusters"
load_items 1 "$n" r
# Five items far from every group, whose texts try to run script.
pg -c "INSERT INTO llm_clusters.events (uuid, team_id, event, \"timestamp\", trace_id, content)
       SELECT md5('x' || i)::uuid, 1, '\$ai_generation', now() - interval '1 minute', 'x/' || i,
              (ARRAY['<script>alert(1)</script>', '\"><img src=x onerror=\"window.__xss=1;alert(2)\">',
                     '</script><script>alert(3)</script>', '<svg onload=alert(4)>', 'x'' onmouseover=''alert(5)'])[i]
       FROM generate_series(1, 5) i" \
   -c "INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding)
       SELECT 1, 'generation', md5('x' || i)::uuid::text, array_fill(1.0::real, ARRAY[16]) FROM generate_series(1, 5) i" >/dev/null
job=$(q "SELECT llm_clusters.create_job('report <demo> & \"co\"', 'generation')")
run=$(q "SELECT llm_clusters.run_job($job)")
expect "the run succeeded with outliers" "SELECT status = 'succeeded' AND n_outliers > 0 FROM llm_clusters.runs WHERE id = $run" t
expect "the run has three clusters or more to steer" "SELECT n_clusters >= 3 FROM llm_clusters.runs WHERE id = $run" t
merged=$(q "SELECT llm_clusters.merge_clusters($run, ARRAY(SELECT cluster_id FROM llm_clusters.clusters
                                                           WHERE run_id = $run AND cluster_id >= 0 ORDER BY cluster_id DESC LIMIT 2))")
parts=$(q "SELECT array_to_json(llm_clusters.split_cluster($run, 0))")
expect "the merge and the split are the run's" \
  "SELECT count(*) FROM llm_clusters.clusters WHERE run_id = $run AND (cluster_id = $merged AND steering = 'merge'
                                                                      OR cluster_id IN (SELECT json_array_elements_text('$parts')::int) AND steering = 'split')" \
  "$(( 1 + $(echo "$parts" | tr -cd ',' | wc -c) + 1 ))"
url="SET llm_clusters.report_item_url = 'http://127.0.0.1:9/trace/{trace_id}?item={item_id}'"
pg -At -c "$url" -c "SELECT llm_clusters.report_html($run)" -o "$work/report.html"
pg -At -c "$url" -c "SELECT llm_clusters.report_html($run, 0)" -o "$work/cluster.html"
echo "report: $(stat -c %s "$work/report.html") bytes; cluster page: $(stat -c %s "$work/cluster.html") bytes"
# An evaluation run: 60 judgements by three evaluators (planted apart), each with its own
# verdicts, the report of which shows a pass rate on each card.
pg -c "SELECT llm_clusters.capture(jsonb_agg(jsonb_build_object('event', '\$ai_evaluation', 'uuid', md5('ev' || i)::uuid,
         'timestamp', now() - interval '5 minutes', 'properties', jsonb_build_object('\$ai_trace_id', 'r' || i,
         '\$ai_evaluation_name', (ARRAY['helpfulness', 'tone', 'json format'])[1 + i % 3],
         '\$ai_evaluation_reasoning', 'judged ' || i)
         || CASE WHEN i % 7 = 0 THEN '{\"\$ai_evaluation_applicable\": false}'::jsonb
                 ELSE jsonb_build_object('\$ai_evaluation_result', i % (2 + i % 3) = 0) END)), 1)
       FROM generate_series(1, 60) i" \
   -c "INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding)
       SELECT 1, 'evaluation', md5('ev' || i)::uuid::text,
              (SELECT array_agg((CASE WHEN d % 3 = i % 3 THEN 1.0 ELSE 0.0 END) + 0.1 * (('x' || substr(md5(i || ':e' || d), 1, 8))::bit(32)::int / 2147483648.0) ORDER BY d)
               FROM generate_series(1, 16) d)::real[]
       FROM generate_series(1, 60) i" >/dev/null
ejob=$(q "SELECT llm_clusters.create_job('judges', 'evaluation', params => '{\"min_items\": 5}')")
erun=$(q "SELECT llm_clusters.run_job($ejob)")
expect "the evaluation run succeeded with pass rates" \
  "SELECT status = 'succeeded' AND (SELECT count(pass_rate) > 0 FROM llm_clusters.clusters WHERE run_id = $erun) FROM llm_clusters.runs WHERE id = $erun" t
pg -At -c "SELECT llm_clusters.report_html($erun)" -o "$work/evaluation.html"
chmod 644 "$work"/*.html
node "$E2E_DIR/../browser/report.test.mjs" "$work/report.html" "$work/cluster.html" "$shot" "{\"merged\": $merged, \"parts\": $parts}" \
  "$work/evaluation.html"
say "report end-to-end passed"
