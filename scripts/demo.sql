-- The demo's SQL, once scripts/demo_traces.py has sent the sample traffic through the HTTP
-- server: summaries, embeddings, a clustering run over traces, then what a person should
-- look at: the themes, the biggest clusters, the outliers, one trace, the report.
\pset footer off
\echo '--- what arrived through llm-clusters-server (PostHog''s Python SDK)'
SELECT count(*) AS events, count(DISTINCT trace_id) AS traces,
       count(*) FILTER (WHERE event = '$ai_generation') AS generations,
       count(*) FILTER (WHERE event = '$ai_span') AS spans,
       count(*) FILTER (WHERE is_error) AS errors,
       count(DISTINCT model) AS models, round(sum(total_cost_usd)::numeric, 2) AS cost_usd,
       min("timestamp")::date AS first_day, max("timestamp")::date AS last_day
FROM llm_clusters.events;

-- Offline summaries (what happened in each trace, told from its events) and embeddings
-- of each trace's user requests with the built-in model (all-MiniLM-L6-v2, computed in
-- this backend, nothing downloaded, nothing sent anywhere).
\echo '--- summarising and embedding the traces'
\timing on
SELECT llm_clusters.summarize_pending('trace', max_items => 100000) AS summarised;
SELECT llm_clusters.embed_pending('trace', max_items => 100000) AS embedded;
\timing off

\echo '--- a job over the last 7 days of traces, run now'
SELECT llm_clusters.create_job('demo: all traces', level => 'trace') AS job_id \gset
SELECT llm_clusters.run_job(:job_id) AS run_id \gset
SELECT id AS run, status, n_items, n_clusters, n_outliers, quality->>'n_themes' AS themes,
       round(extract(epoch FROM finished_at - started_at)::numeric, 2) AS seconds
FROM llm_clusters.runs WHERE id = :run_id;

\echo '--- the themes (groups of clusters), largest first'
SELECT title, size, round(100 * share::numeric, 1) AS "share %", n_clusters AS clusters,
       round(100 * error_rate::numeric, 1) AS "errors %", round(total_cost_usd::numeric, 2) AS "cost $",
       array_to_string(cluster_titles[1:3], ' | ') || CASE WHEN n_clusters > 3 THEN ' | …' ELSE '' END AS "its largest clusters"
FROM llm_clusters.theme_cards WHERE run_id = :run_id ORDER BY position;

\echo '--- the 12 biggest clusters'
SELECT title, size, round(100 * share::numeric, 1) AS "share %", round(total_cost_usd::numeric, 3) AS "cost $",
       round(avg_cost_usd::numeric, 5) AS "avg $", round(avg_latency_s::numeric, 1) AS "avg s",
       round(p95_latency_s::numeric, 1) AS "p95 s", round(100 * error_rate::numeric, 1) AS "errors %"
FROM llm_clusters.cluster_cards WHERE run_id = :run_id AND NOT is_outliers ORDER BY position LIMIT 12;
SELECT format('… and %s smaller clusters with %s traces', count(*), coalesce(sum(size), 0)) AS " "
FROM llm_clusters.cluster_cards WHERE run_id = :run_id AND NOT is_outliers AND position > 12;

\echo '--- worth a look: the clusters that fail most and the slowest'
(SELECT 'most errors' AS why, title, size, round(100 * error_rate::numeric, 1) AS "errors %", round(p95_latency_s::numeric, 1) AS "p95 s"
 FROM llm_clusters.cluster_cards WHERE run_id = :run_id AND NOT is_outliers ORDER BY error_rate DESC, size DESC LIMIT 3)
UNION ALL
(SELECT 'slowest', title, size, round(100 * error_rate::numeric, 1), round(p95_latency_s::numeric, 1)
 FROM llm_clusters.cluster_cards WHERE run_id = :run_id AND NOT is_outliers ORDER BY p95_latency_s DESC, size DESC LIMIT 3);

\echo '--- the outliers: traces that fit no cluster'
SELECT size AS outliers, round(100 * share::numeric, 1) AS "share %"
FROM llm_clusters.cluster_cards WHERE run_id = :run_id AND is_outliers;
-- The farthest, one per request (an outlier's distance is to its nearest cluster).
SELECT trace_id, request AS "the farthest, e.g."
FROM (SELECT DISTINCT ON (lower(request)) trace_id, request, distance
      FROM (SELECT trace_id, distance, left(substring(preview FROM '^user: ([^\n]*)'), 90) AS request
            FROM llm_clusters.cluster_items(:run_id, -1, 10000)) o
      ORDER BY lower(request), distance DESC) d
ORDER BY distance DESC, trace_id LIMIT 6;

-- One trace of the biggest cluster: preferably a conversation that called a tool.
SELECT i.trace_id AS shown_trace
FROM llm_clusters.cluster_cards c, llm_clusters.cluster_items(:run_id, c.cluster_id, 200) i
WHERE c.run_id = :run_id AND c.position = 1
ORDER BY i.flow LIKE '%tool call%' DESC, least(array_length(string_to_array(i.flow, E'\n'), 1), 8) DESC, i.rank
LIMIT 1 \gset
\echo '--- one trace of the biggest cluster:' :shown_trace '(its timeline: trace.html below)'
\pset tuples_only on
\pset format unaligned
SELECT title, flow, array_to_string(bullets || notes, E'\n')
FROM llm_clusters.item_summaries WHERE level = 'trace' AND item_id = :'shown_trace' \gset shown_
\echo :shown_title
\echo :shown_flow
\echo :shown_array_to_string
\o :report_file
SELECT llm_clusters.report_html(:run_id);
\o :cluster_file
SELECT llm_clusters.report_html(:run_id, (SELECT cluster_id FROM llm_clusters.cluster_cards WHERE run_id = :run_id AND position = 1));
\o :trace_file
SELECT llm_clusters.trace_html(:'shown_trace');
\o
\pset tuples_only off
\pset format aligned
