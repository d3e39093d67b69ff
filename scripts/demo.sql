-- The demo's SQL: sample traces in, what was stored out.
\pset footer off
\echo '--- capturing 300 sample traces (PostHog $ai_* events)'
SELECT llm_clusters.capture(jsonb_agg(ev)) AS events_stored
FROM (
  SELECT jsonb_build_object(
           'event', '$ai_generation',
           'timestamp', to_char(now() - (i % 144) * interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
           'distinct_id', 'user-' || (i % 37),
           'properties', jsonb_build_object(
             '$ai_trace_id', 'trace-' || i,
             '$ai_model', (ARRAY['gpt-4o-mini', 'gpt-4o', 'claude-3-5-sonnet'])[1 + i % 3],
             '$ai_provider', (ARRAY['openai', 'openai', 'anthropic'])[1 + i % 3],
             '$ai_input', jsonb_build_array(jsonb_build_object('role', 'user', 'content',
                 (ARRAY['How do I reset my password for account ',
                        'Translate this paragraph into French: order ',
                        'Write a SQL query that counts orders for customer ',
                        'Summarise the attached support ticket number '])[1 + i % 4] || i)),
             '$ai_output_choices', jsonb_build_array(jsonb_build_object('role', 'assistant', 'content', 'Sure, here you go.')),
             '$ai_input_tokens', 20 + i % 50,
             '$ai_output_tokens', 40 + i % 200,
             '$ai_total_cost_usd', round((0.0001 * (1 + i % 20))::numeric, 6),
             '$ai_latency', round((0.3 + (i % 17) * 0.1)::numeric, 2),
             '$ai_is_error', i % 29 = 0)) AS ev
  FROM generate_series(1, 300) i
) s;
\echo '--- events by model'
SELECT model, count(*) AS events, round(sum(total_cost_usd)::numeric, 4) AS cost_usd,
       round(avg(latency_s)::numeric, 2) AS avg_latency_s, count(*) FILTER (WHERE is_error) AS errors
FROM llm_clusters.events GROUP BY model ORDER BY model;
\echo '--- three generation items'
SELECT item_id, trace_id, left(content, 60) AS content, cost_usd, tokens, is_error
FROM llm_clusters.generation_items ORDER BY ts DESC LIMIT 3;
