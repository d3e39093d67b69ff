-- Agent traces for the timeline tests: :n traces in three topics, each a trace event, a
-- retrieval span, a generation that calls a tool, the tool's span and the answer; then a
-- trace whose every text is hostile, and one of 1,000 steps. Timestamps in the last day.
SELECT llm_clusters.capture(jsonb_agg(ev ORDER BY i, k)) AS events
FROM (
  SELECT i, k, jsonb_build_object(
      'event', (ARRAY['$ai_trace', '$ai_span', '$ai_generation', '$ai_span', '$ai_generation'])[k],
      'uuid', md5('tr' || i || ':' || k)::uuid,
      'timestamp', to_char(now() - interval '1 hour' - i * interval '1 minute' + k * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
      'properties', jsonb_build_object(
          '$ai_trace_id', 'agent-' || i,
          '$ai_span_id', CASE k WHEN 1 THEN 'agent-' || i WHEN 2 THEN 'r' || i WHEN 3 THEN 'g' || i WHEN 4 THEN 't' || i END,
          '$ai_parent_id', CASE WHEN k > 1 THEN 'agent-' || i END,
          '$ai_span_name', (ARRAY['assistant', 'retrieve context', NULL, (ARRAY['reset_password', 'run_sql', 'translate'])[1 + i % 3], NULL])[k],
          '$ai_model', CASE WHEN k IN (3, 5) THEN 'gpt-4o-mini' END,
          '$ai_latency', (ARRAY[4.0, 0.3, 1.1, 0.6, 1.4])[k],
          '$ai_input_tokens', CASE WHEN k IN (3, 5) THEN 40 + i END,
          '$ai_output_tokens', CASE WHEN k IN (3, 5) THEN 12 END,
          '$ai_total_cost_usd', CASE WHEN k IN (3, 5) THEN 0.0004 END,
          '$ai_input', CASE WHEN k IN (3, 5) THEN jsonb_build_array(jsonb_build_object('role', 'user', 'content',
              (ARRAY['I cannot log in, please reset my password', 'Write a SQL query for the orders of last week',
                     'Translate the lunch menu into French'])[1 + i % 3] || ' (#' || i || ')')) END,
          '$ai_output_choices', CASE k
              WHEN 3 THEN jsonb_build_array(jsonb_build_object('role', 'assistant', 'content', NULL, 'tool_calls',
                  jsonb_build_array(jsonb_build_object('type', 'function', 'function', jsonb_build_object('name',
                      (ARRAY['reset_password', 'run_sql', 'translate'])[1 + i % 3], 'arguments', '{}')))))
              WHEN 5 THEN jsonb_build_array(jsonb_build_object('role', 'assistant', 'content', 'Done: ' || repeat('details ', 300))) END)) AS ev
  FROM generate_series(1, :n) i, generate_series(1, 5) k
) s;
SELECT llm_clusters.capture(jsonb_build_array(
  jsonb_build_object('event', '$ai_generation', 'uuid', md5('hostile-1')::uuid,
    'properties', jsonb_build_object('$ai_trace_id', 'agent-1', '$ai_parent_id', 'agent-1',
      '$ai_span_name', '</script><img src=x onerror="window.__xss=1">', '$ai_model', '<b onmouseover=alert(1)>m</b>',
      '$ai_is_error', true, '$ai_error', '<iframe src="javascript:alert(2)"></iframe>',
      '$ai_input', '"><svg onload=alert(3)> hostile question',
      '$ai_output_choices', jsonb_build_array(jsonb_build_object('role', 'assistant', 'content', '<script>alert(4)</script>')))))) AS hostile;
SELECT llm_clusters.capture(jsonb_agg(jsonb_build_object('event', CASE WHEN i % 10 = 0 THEN '$ai_generation' ELSE '$ai_span' END,
    'uuid', md5('long' || i)::uuid,
    'timestamp', to_char(now() - interval '2 hours' + i * interval '100 ms', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'properties', jsonb_build_object('$ai_trace_id', 'long-trace', '$ai_span_id', 'l' || i,
        '$ai_parent_id', CASE WHEN i % 50 = 1 THEN NULL ELSE 'l' || (i - 1 - (i - 1) % 50 + 1) END,
        '$ai_span_name', 'step ' || i, '$ai_latency', 0.08, '$ai_model', CASE WHEN i % 10 = 0 THEN 'gpt-4o' END,
        '$ai_input', CASE WHEN i % 10 = 0 THEN to_jsonb('question ' || i) END))))
FROM generate_series(1, 1000) i;
-- A 10 MB output, a parent cycle with a missing parent, privacy mode, no timestamps.
SELECT llm_clusters.capture(jsonb_build_array(
  jsonb_build_object('event', '$ai_generation', 'uuid', md5('huge-1')::uuid, 'properties', jsonb_build_object(
      '$ai_trace_id', 'huge-trace', '$ai_model', 'gpt-4o', '$ai_input', 'Write a very long story',
      '$ai_output_choices', repeat('story ', 1700000))),
  jsonb_build_object('event', '$ai_span', 'uuid', md5('tangle-1')::uuid, 'properties', jsonb_build_object(
      '$ai_trace_id', 'tangled-trace', '$ai_span_id', 'a', '$ai_parent_id', 'b', '$ai_span_name', 'first')),
  jsonb_build_object('event', '$ai_span', 'uuid', md5('tangle-2')::uuid, 'properties', jsonb_build_object(
      '$ai_trace_id', 'tangled-trace', '$ai_span_id', 'b', '$ai_parent_id', 'a', '$ai_span_name', 'second')),
  jsonb_build_object('event', '$ai_generation', 'uuid', md5('tangle-3')::uuid, 'properties', jsonb_build_object(
      '$ai_trace_id', 'tangled-trace', '$ai_parent_id', 'nowhere', '$ai_model', 'gpt-4o', '$ai_input', NULL, '$ai_output_choices', NULL))
)) AS odd_traces;
