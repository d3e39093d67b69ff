-- The demo's SQL: sample traces in, a clustering run, the clusters out.
\pset footer off
\echo '--- capturing 600 sample generations (PostHog $ai_* events) across 6 topics'
CREATE TEMP TABLE topics (topic int, prompt text, model text, base_cost numeric, base_latency numeric, error_every int);
INSERT INTO topics VALUES
  (0, 'How do I reset my password for account', 'gpt-4o-mini', 0.0002, 0.6, 0),
  (1, 'Translate this product description into French: item', 'gpt-4o', 0.0015, 1.4, 0),
  (2, 'Write a SQL query that counts orders for customer', 'gpt-4o', 0.0020, 2.1, 9),
  (3, 'Summarise the attached support ticket number', 'claude-3-5-sonnet', 0.0030, 3.2, 0),
  (4, 'Suggest a healthy dinner recipe with ingredient', 'gpt-4o-mini', 0.0003, 0.9, 0),
  (5, 'Explain this Python stack trace from job', 'o1', 0.0120, 8.5, 4);
SELECT llm_clusters.capture(jsonb_agg(ev)) AS events_stored
FROM (
  SELECT jsonb_build_object(
           'event', '$ai_generation',
           'uuid', md5('demo-' || i)::uuid,
           'timestamp', to_char(now() - (i % 144) * interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
           'distinct_id', 'user-' || (i % 37),
           'properties', jsonb_build_object(
             '$ai_trace_id', 'trace-' || i,
             '$ai_model', t.model,
             '$ai_input', jsonb_build_array(jsonb_build_object('role', 'user', 'content', t.prompt || ' ' || i)),
             '$ai_output_choices', jsonb_build_array(jsonb_build_object('role', 'assistant', 'content', 'Here you go.')),
             '$ai_input_tokens', 20 + i % 50,
             '$ai_output_tokens', 40 + i % 200,
             '$ai_total_cost_usd', t.base_cost * (1 + (i % 5) / 10.0),
             '$ai_latency', t.base_latency + (i % 7) / 10.0,
             '$ai_is_error', t.error_every > 0 AND (i / 6) % t.error_every = 0)) AS ev
  FROM generate_series(1, 600) i JOIN topics t ON t.topic = i % 6
) s;
-- Stand-in embeddings (no model is downloaded): each topic a direction in 64-d, plus
-- deterministic pseudo-random noise (the fractional part of a scaled sine).
INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding, model)
SELECT 1, 'generation', md5('demo-' || i)::uuid::text,
       ARRAY(SELECT CASE WHEN d % 6 = i % 6 THEN 0.4 ELSE 0.0 END + 0.3 * (h - floor(h) - 0.5)
             FROM generate_series(0, 63) d, LATERAL (SELECT 43758.5453 * sin(i * 12.9898 + d * 78.233) AS h) n)::real[],
       'demo-topic-vectors'
FROM generate_series(1, 600) i;

\echo '--- a job over the last 7 days of generations, run now'
SELECT llm_clusters.create_job('demo: all generations', level => 'generation') AS job_id \gset
SELECT llm_clusters.run_job(:job_id) AS run_id \gset
SELECT id AS run, status, n_items, n_clusters, n_outliers, round((quality->>'silhouette')::numeric, 3) AS silhouette,
       round(extract(epoch FROM finished_at - started_at)::numeric, 2) AS seconds
FROM llm_clusters.runs WHERE id = :run_id;

\echo '--- the clusters'
SELECT cluster_id AS id, title, size, round(100 * share::numeric, 1) AS "share %", round(avg_cost_usd::numeric, 5) AS avg_cost,
       round(avg_latency_s::numeric, 2) AS avg_latency_s, round(avg_tokens::numeric) AS avg_tokens,
       round(100 * error_rate::numeric, 1) AS "errors %", round(total_cost_usd::numeric, 4) AS total_cost
FROM llm_clusters.clusters WHERE run_id = :run_id ORDER BY cluster_id = -1, size DESC;

\echo '--- the HTML report of the run'
\pset tuples_only on
\pset format unaligned
\o :report_file
SELECT llm_clusters.report_html(:run_id);
\o
\pset tuples_only off
\pset format aligned
