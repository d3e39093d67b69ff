-- The source contract: every job source exposes these columns.
-- team_id int, item_id text, trace_id text, ts timestamptz, embedding, content text,
-- cost_usd float8, latency_s float8, tokens bigint, is_error boolean, properties jsonb

CREATE VIEW llm_clusters.generation_items WITH (security_invoker = true) AS
SELECT e.team_id,
       e.uuid::text                       AS item_id,
       e.trace_id,
       e."timestamp"                      AS ts,
       emb.embedding,
       e.content,
       e.total_cost_usd                   AS cost_usd,
       e.latency_s,
       CASE WHEN e.input_tokens IS NOT NULL OR e.output_tokens IS NOT NULL
            THEN coalesce(e.input_tokens, 0) + coalesce(e.output_tokens, 0) END AS tokens,
       coalesce(e.is_error, false)        AS is_error,
       e.properties
FROM llm_clusters.events e
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = e.team_id AND emb.level = 'generation' AND emb.lens = 'request' AND emb.item_id = e.uuid::text
WHERE e.event = '$ai_generation';

CREATE VIEW llm_clusters.trace_items WITH (security_invoker = true) AS
SELECT t.team_id,
       t.trace_id                                  AS item_id,
       t.trace_id,
       t.ts,
       coalesce(own.embedding, t.mean_embedding)   AS embedding,
       -- Its generations' text in time order, cut to 8,000 characters. Only the events that
       -- reach those characters are read and joined: at most the first 8,001 generations with
       -- a text (each adds at least a newline), each cut to 8,000 characters, and of those the
       -- ones whose text before them (parts and newlines) is at most 8,000 characters long.
       -- So a trace of many (or long) generations costs at most ~16,000 characters here, not
       -- the whole trace's text (a key holder could send 100,000s).
       (SELECT left(string_agg(w.content, E'\n' ORDER BY w."timestamp"), 8000)
          FROM (SELECT substr(g.content, 1, 8000) AS content, g."timestamp",
                       sum(length(substr(g.content, 1, 8000)) + 1) OVER (ORDER BY g."timestamp"
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
                  FROM llm_clusters.events g
                 WHERE g.team_id = t.team_id AND g.trace_id = t.trace_id
                   AND g.event = '$ai_generation' AND g.content IS NOT NULL
                 ORDER BY g."timestamp" LIMIT 8001) w
         WHERE coalesce(w.before, 0) <= 8000) AS content,
       t.cost_usd,
       t.latency_s,
       t.tokens,
       t.is_error,
       (SELECT p.properties FROM llm_clusters.events p
         WHERE p.team_id = t.team_id AND p.trace_id = t.trace_id AND p.event <> '$ai_evaluation'
         ORDER BY p.event <> '$ai_trace', p."timestamp" LIMIT 1) AS properties
FROM (
    SELECT e.team_id,
           e.trace_id,
           min(e."timestamp") AS ts,
           sum(e.total_cost_usd) FILTER (WHERE e.event IN ('$ai_generation', '$ai_embedding')) AS cost_usd,
           sum(e.latency_s) FILTER (WHERE e.event = '$ai_generation') AS latency_s,
           sum(coalesce(e.input_tokens, 0) + coalesce(e.output_tokens, 0))
               FILTER (WHERE e.event IN ('$ai_generation', '$ai_embedding')
                         AND (e.input_tokens IS NOT NULL OR e.output_tokens IS NOT NULL))::bigint AS tokens,
           bool_or(coalesce(e.is_error, false)) AS is_error,
           llm_clusters.embedding_mean(g.embedding) AS mean_embedding
    FROM llm_clusters.events e
    LEFT JOIN llm_clusters.embeddings g
           ON e.event = '$ai_generation' AND g.team_id = e.team_id
          AND g.level = 'generation' AND g.lens = 'request' AND g.item_id = e.uuid::text
    -- Evaluations judge a trace after the fact; they are items of their own level.
    WHERE e.event <> '$ai_evaluation'
    GROUP BY e.team_id, e.trace_id
) t
LEFT JOIN llm_clusters.embeddings own
       ON own.team_id = t.team_id AND own.level = 'trace' AND own.lens = 'request' AND own.item_id = t.trace_id;

-- Items at level evaluation: one per $ai_evaluation event; the metrics are those of the
-- event it evaluated ($ai_target_event_id, when it is a stored event's uuid).
CREATE VIEW llm_clusters.evaluation_items WITH (security_invoker = true) AS
SELECT e.team_id,
       e.uuid::text                       AS item_id,
       e.trace_id,
       e."timestamp"                      AS ts,
       emb.embedding,
       e.content,
       g.total_cost_usd                   AS cost_usd,
       g.latency_s,
       CASE WHEN g.input_tokens IS NOT NULL OR g.output_tokens IS NOT NULL
            THEN coalesce(g.input_tokens, 0) + coalesce(g.output_tokens, 0) END AS tokens,
       coalesce(g.is_error, false)        AS is_error,
       e.properties
FROM llm_clusters.events e
LEFT JOIN llm_clusters.events g
       ON g.team_id = e.team_id AND g.event <> '$ai_evaluation'
      AND g.uuid = CASE WHEN e.properties->>'$ai_target_event_id' ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                        THEN (e.properties->>'$ai_target_event_id')::uuid END
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = e.team_id AND emb.level = 'evaluation' AND emb.lens = 'request' AND emb.item_id = e.uuid::text
WHERE e.event = '$ai_evaluation';

-- The lenses' items (params.lens answer, error, flow): the item views with the lens's
-- embedding and text (embed_pending(level, lens => ...)); the error lens's only items with an error.
CREATE VIEW llm_clusters.generation_answer_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.generation_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'generation' AND emb.lens = 'answer' AND emb.item_id = i.item_id;

CREATE VIEW llm_clusters.trace_answer_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.trace_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'trace' AND emb.lens = 'answer' AND emb.item_id = i.item_id;

CREATE VIEW llm_clusters.generation_error_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.generation_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'generation' AND emb.lens = 'error' AND emb.item_id = i.item_id
WHERE i.is_error;

CREATE VIEW llm_clusters.trace_error_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.trace_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'trace' AND emb.lens = 'error' AND emb.item_id = i.item_id
WHERE i.is_error;

CREATE VIEW llm_clusters.generation_flow_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.generation_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'generation' AND emb.lens = 'flow' AND emb.item_id = i.item_id;

CREATE VIEW llm_clusters.trace_flow_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.trace_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'trace' AND emb.lens = 'flow' AND emb.item_id = i.item_id;

COMMENT ON VIEW llm_clusters.generation_items IS
    'Items at level generation: one per $ai_generation event (item_id = event uuid), in the source-contract columns. tokens = input + output tokens (NULL when neither was reported); is_error false unless reported.';
GRANT SELECT ON llm_clusters.generation_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.trace_items IS
    'Items at level trace: one per trace id ($ai_evaluation events left out). ts = first event; cost and tokens summed over generations and embedding events, latency over generations; is_error if any event erred; embedding = the trace''s own, else the normalised mean of its generations''; content = its generations'' text in time order (8,000 characters); properties = those of the $ai_trace event, else of the first event.';
GRANT SELECT ON llm_clusters.trace_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.evaluation_items IS
    'Items at level evaluation: one per $ai_evaluation event (item_id = event uuid); content = evaluator, verdict and reasoning; cost_usd, latency_s, tokens and is_error are those of the evaluated event ($ai_target_event_id), NULL (is_error false) when it is not stored.';
GRANT SELECT ON llm_clusters.evaluation_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.generation_answer_items IS
    'generation_items embedded through the answer lens: embedding and content are the model''s outputs (params.lens = "answer"); the source of generation jobs with that lens.';
GRANT SELECT ON llm_clusters.generation_answer_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.generation_error_items IS
    'generation_items embedded through the error lens: embedding and content are the failing steps and their messages, only items with an error (params.lens = "error"); the source of generation jobs with that lens.';
GRANT SELECT ON llm_clusters.generation_error_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.generation_flow_items IS
    'generation_items embedded through the flow lens: embedding and content are the steps, tools and models in order (params.lens = "flow"); the source of generation jobs with that lens.';
GRANT SELECT ON llm_clusters.generation_flow_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.trace_answer_items IS
    'trace_items embedded through the answer lens: embedding and content are the model''s outputs (params.lens = "answer"); the source of trace jobs with that lens.';
GRANT SELECT ON llm_clusters.trace_answer_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.trace_error_items IS
    'trace_items embedded through the error lens: embedding and content are the failing steps and their messages, only items with an error (params.lens = "error"); the source of trace jobs with that lens.';
GRANT SELECT ON llm_clusters.trace_error_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.trace_flow_items IS
    'trace_items embedded through the flow lens: embedding and content are the steps, tools and models in order (params.lens = "flow"); the source of trace jobs with that lens.';
GRANT SELECT ON llm_clusters.trace_flow_items TO llm_clusters_reader;
