-- The demo's SQL: sample traces in, a clustering run, the clusters out.
\pset footer off
\echo '--- capturing 600 sample generations (PostHog $ai_* events, text only) across 6 topics'
CREATE TEMP TABLE topics (topic int, prompts text[], model text, base_cost numeric, base_latency numeric, error_every int);
INSERT INTO topics VALUES
  (0, ARRAY['How do I reset my password?', 'I forgot my password and cannot log in', 'My account is locked after too many attempts',
            'The password reset email never arrived'], 'gpt-4o-mini', 0.0002, 0.6, 0),
  (1, ARRAY['Translate this product description into French', 'Can you put our shop''s item text into German?',
            'Translate the label "organic cotton shirt" to Spanish', 'I need the Italian version of this product page'], 'gpt-4o', 0.0015, 1.4, 0),
  (2, ARRAY['Write a SQL query that counts orders per customer', 'How do I join the orders and customers tables?',
            'My GROUP BY query returns duplicate rows', 'Which index speeds up this slow SELECT?'], 'gpt-4o', 0.0020, 2.1, 9),
  (3, ARRAY['Summarise this support ticket for the on-call engineer', 'Give me the key points of the customer complaint below',
            'Write a short summary of this email thread', 'What is this bug report asking for, in two lines?'], 'claude-3-5-sonnet', 0.0030, 3.2, 0),
  (4, ARRAY['Suggest a healthy dinner recipe with chickpeas', 'What can I cook tonight with rice, eggs and spinach?',
            'Give me a vegetarian lunch idea for the week', 'A quick breakfast without sugar, please'], 'gpt-4o-mini', 0.0003, 0.9, 0),
  (5, ARRAY['Explain this Python stack trace: KeyError in the nightly job', 'Why does my script fail with ModuleNotFoundError?',
            'TypeError: NoneType object is not subscriptable, what does it mean?', 'My pytest run crashes with a RecursionError'], 'o1', 0.0120, 8.5, 4);
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
             '$ai_input', jsonb_build_array(
                 jsonb_build_object('role', 'system', 'content', 'You are the assistant of an online shop.'),
                 jsonb_build_object('role', 'user', 'content', t.prompts[1 + (i / 6) % 4] || CASE WHEN i % 5 = 0 THEN ' Thanks!' ELSE '' END)),
             '$ai_output_choices', jsonb_build_array(jsonb_build_object('role', 'assistant', 'content', 'Here you go.')),
             '$ai_input_tokens', 20 + i % 50,
             '$ai_output_tokens', 40 + i % 200,
             '$ai_total_cost_usd', t.base_cost * (1 + (i % 5) / 10.0),
             '$ai_latency', t.base_latency + (i % 7) / 10.0,
             '$ai_is_error', t.error_every > 0 AND (i / 6) % t.error_every = 0)) AS ev
  FROM generate_series(1, 600) i JOIN topics t ON t.topic = i % 6
) s;
-- Captured as text only: the built-in model (all-MiniLM-L6-v2, computed in this backend,
-- nothing downloaded, nothing sent anywhere) embeds each generation's user request.
\echo '--- embedding them with the built-in model'
\timing on
SELECT llm_clusters.embed_pending('generation') AS embedded;
\timing off
SELECT model, count(*), array_length(embedding, 1) AS dims FROM llm_clusters.embeddings GROUP BY 1, 3;

\echo '--- a job over the last 7 days of generations, run now'
SELECT llm_clusters.create_job('demo: all generations', level => 'generation') AS job_id \gset
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
\o
\pset tuples_only off
\pset format aligned
