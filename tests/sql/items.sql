-- The item views: the source contract at generation and trace level.
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT llm_clusters.capture($$[
  {"event": "$ai_trace", "uuid": "00000000-0000-0000-0000-0000000000a0", "timestamp": "2026-11-20T09:59:00Z",
   "properties": {"$ai_trace_id": "t1", "$ai_span_name": "support chat", "tier": "gold"}},
  {"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000000a1", "timestamp": "2026-11-20T10:00:00Z",
   "properties": {"$ai_trace_id": "t1", "$ai_input": "How do I reset my password?", "$ai_output": "Use the link.",
                  "$ai_input_tokens": 10, "$ai_output_tokens": 4, "$ai_total_cost_usd": 0.001, "$ai_latency": 0.5}},
  {"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000000a2", "timestamp": "2026-11-20T10:01:00Z",
   "properties": {"$ai_trace_id": "t1", "$ai_input": "It did not work", "$ai_total_cost_usd": 0.002,
                  "$ai_latency": 1.5, "$ai_is_error": true}},
  {"event": "$ai_embedding", "uuid": "00000000-0000-0000-0000-0000000000a3", "timestamp": "2026-11-20T10:01:30Z",
   "properties": {"$ai_trace_id": "t1", "$ai_input_tokens": 6, "$ai_total_cost_usd": 0.0001, "$ai_latency": 0.1}},
  {"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000000b1", "timestamp": "2026-11-21T08:00:00Z",
   "properties": {"$ai_trace_id": "t2", "$ai_input": "Write a haiku"}}
]$$);
INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding) VALUES
  (1, 'generation', '00000000-0000-0000-0000-0000000000a1', '{1,0,0}'),
  (1, 'generation', '00000000-0000-0000-0000-0000000000a2', '{0,2,0}'),
  (1, 'generation', '00000000-0000-0000-0000-0000000000b1', '{0,0,1,5}'),
  (1, 'trace', 't2', '{0,0,3}');

-- The contract's columns, in order, with their types.
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'llm_clusters.generation_items'::regclass AND attnum > 0 ORDER BY attnum;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'llm_clusters.trace_items'::regclass AND attnum > 0 ORDER BY attnum;

SELECT item_id, trace_id, ts, embedding, content, cost_usd, latency_s, tokens, is_error
FROM llm_clusters.generation_items ORDER BY item_id;

-- Trace t1: cost and tokens over generations and embeddings, latency over generations,
-- the mean of its generations' unit embeddings, the $ai_trace event's properties.
-- Trace t2: its own trace-level embedding wins over the mean.
SELECT item_id, ts, round(embedding[1]::numeric, 4) AS e1, round(embedding[2]::numeric, 4) AS e2,
       array_length(embedding, 1) AS dims, content, cost_usd, latency_s, tokens, is_error,
       properties->>'tier' AS tier
FROM llm_clusters.trace_items ORDER BY item_id;

-- The aggregate skips NULL, non-finite and other-dimension vectors.
SELECT llm_clusters.embedding_mean(e) FROM (VALUES ('{3,4}'::real[]), (NULL), ('{NaN,1}'), ('{1,2,3}')) v(e);
SELECT llm_clusters.embedding_mean(e) FROM (VALUES (NULL::real[])) v(e);
ROLLBACK;
