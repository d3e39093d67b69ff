-- 0.9.0 -> 0.10.0

-- ---------------------------------------------------------------------------------------
-- trace_items reads only the generations that reach its 8,000-character content
-- (sql/items.sql): it made the text of all a trace's generations before cutting it, so
-- one trace of 100,000s of generations (sent with a team's key) took ~1 GB in a reader's
-- backend. Same columns and content; comment and grants stay.
CREATE OR REPLACE VIEW llm_clusters.trace_items WITH (security_invoker = true) AS
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
