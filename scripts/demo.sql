-- The demo's SQL, once scripts/demo_traces.py has sent the sample traces through the HTTP
-- server: summaries, embeddings, a clustering run over traces, the clusters out.
\pset footer off
\echo '--- what arrived through llm-clusters-server (PostHog''s Python SDK)'
SELECT count(*) AS events_stored, count(DISTINCT trace_id) AS traces, string_agg(DISTINCT event, ', ') AS kinds,
       count(DISTINCT model) AS models, min("timestamp")::date AS first_day, max("timestamp")::date AS last_day
FROM llm_clusters.events;

\echo '--- what happened in each trace, told from its events (offline summaries)'
SELECT llm_clusters.summarize_pending('trace') AS summarised;
SELECT item_id AS trace, title, bullets[2] AS ran FROM llm_clusters.item_summaries
WHERE item_id IN ('trace-1', 'trace-2', 'trace-8') ORDER BY item_id;
\echo 'the flow of trace-8 (a tool call), and the notes of trace-2 (an error):'
\pset tuples_only on
SELECT flow FROM llm_clusters.item_summaries WHERE item_id = 'trace-8';
SELECT notes FROM llm_clusters.item_summaries WHERE item_id = 'trace-2';
\pset tuples_only off
-- Captured as text only: the built-in model (all-MiniLM-L6-v2, computed in this backend,
-- nothing downloaded, nothing sent anywhere) embeds each trace's user requests.
\echo '--- embedding them with the built-in model'
\timing on
SELECT llm_clusters.embed_pending('trace') AS embedded;
\timing off
SELECT model, count(*), array_length(embedding, 1) AS dims FROM llm_clusters.embeddings GROUP BY 1, 3;

\echo '--- a job over the last 7 days of traces, run now'
SELECT llm_clusters.create_job('demo: all traces', level => 'trace') AS job_id \gset
SELECT llm_clusters.run_job(:job_id) AS run_id \gset
SELECT id AS run, status, n_items, n_clusters, n_outliers, quality->>'n_themes' AS n_themes,
       round(extract(epoch FROM finished_at - started_at)::numeric, 2) AS seconds
FROM llm_clusters.runs WHERE id = :run_id;

\echo '--- the themes (groups of clusters)'
SELECT theme_id AS id, title, size, round(100 * share::numeric, 1) AS "share %", n_clusters, cluster_titles
FROM llm_clusters.theme_cards WHERE run_id = :run_id ORDER BY position;

\echo '--- the clusters'
SELECT cluster_id AS id, theme_id AS theme, title, size, round(100 * share::numeric, 1) AS "share %", round(avg_cost_usd::numeric, 5) AS avg_cost,
       round(avg_latency_s::numeric, 2) AS avg_latency_s, round(avg_tokens::numeric) AS avg_tokens,
       round(100 * error_rate::numeric, 1) AS "errors %", round(total_cost_usd::numeric, 4) AS total_cost
FROM llm_clusters.clusters WHERE run_id = :run_id ORDER BY cluster_id = -1, theme_id, size DESC;

\echo '--- the HTML report of the run'
\pset tuples_only on
\pset format unaligned
\o :report_file
SELECT llm_clusters.report_html(:run_id);
\o :cluster_file
SELECT llm_clusters.report_html(:run_id, (SELECT cluster_id FROM llm_clusters.cluster_cards WHERE run_id = :run_id AND position = 1));
\o :trace_file
SELECT llm_clusters.trace_html('trace-8');
\o
\pset tuples_only off
\pset format aligned
