-- Item summaries: what happened in a trace, told from its events (offline, always) — a
-- title, a flow diagram of its steps, bullets and notes (src/summary.rs) — and the item
-- views that cluster items by their summaries. Their embeddings: embed_summaries (embed.sql);
-- a trace's full timeline page: trace_html (pages.sql).

CREATE TABLE llm_clusters.item_summaries (
    team_id     int          NOT NULL,
    level       text         NOT NULL CHECK (level IN ('generation', 'trace')),
    item_id     text         NOT NULL,
    title       text         NOT NULL,
    flow        text         NOT NULL DEFAULT '',
    bullets     text[]       NOT NULL DEFAULT '{}',
    notes       text[]       NOT NULL DEFAULT '{}',
    source      text         NOT NULL CHECK (source IN ('ai', 'offline')),
    model       text,
    n_events    bigint       NOT NULL DEFAULT 0,
    embedding   real[],
    embedding_model text,
    updated_at  timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, level, item_id)
);
ALTER TABLE llm_clusters.item_summaries ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.item_summaries
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.item_summaries TO llm_clusters_reader;
-- UPDATE per column (a table-level grant would let LOCK TABLE take any mode): what
-- summarize_pending rewrites and embed_summaries fills in.
GRANT INSERT, UPDATE (title, flow, bullets, notes, source, model, n_events, embedding, embedding_model, updated_at)
    ON llm_clusters.item_summaries TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.item_summaries IS
    'One summary per item and level: title (the request), flow (a plain-text diagram of the trace''s spans, generations and tool calls in time order, nested by $ai_parent_id), bullets (what was asked, what ran, how it ended), notes (errors, slow or costly steps, empty or refused answers). source is offline (from the events) or ai.';
COMMENT ON COLUMN llm_clusters.item_summaries.flow IS
    'The trace''s steps as a tree, one line each: kind, name, [model], latency, tokens, cost, ERROR; tool calls under their generation; at most 200 lines.';
COMMENT ON COLUMN llm_clusters.item_summaries.updated_at IS 'When it was written.';
COMMENT ON COLUMN llm_clusters.item_summaries.n_events IS
    'How many events the trace had when it was summarised; when the count changes (events arrived), summarize_pending summarises it again.';
COMMENT ON COLUMN llm_clusters.item_summaries.embedding IS
    'The embedding of the summary''s title and bullets (embed_summaries; reset when they change).';
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.item_summaries', '');

CREATE FUNCTION llm_clusters.summarize_pending(level text DEFAULT 'trace', max_items int DEFAULT 1000)
RETURNS int
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._summarize_pending(level, max_items)::int $$;

-- Items embedded from their summaries (jobs with params.embed = "summary" read these):
-- the item views' columns, the summary's embedding and its text as the content.
CREATE VIEW llm_clusters.generation_summary_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, s.embedding,
       s.title || coalesce('. ' || array_to_string(s.bullets, '. '), '') AS content,
       i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.generation_items i
JOIN llm_clusters.item_summaries s ON s.team_id = i.team_id AND s.level = 'generation' AND s.item_id = i.item_id;

CREATE VIEW llm_clusters.trace_summary_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, s.embedding,
       s.title || coalesce('. ' || array_to_string(s.bullets, '. '), '') AS content,
       i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.trace_items i
JOIN llm_clusters.item_summaries s ON s.team_id = i.team_id AND s.level = 'trace' AND s.item_id = i.item_id;

COMMENT ON FUNCTION llm_clusters.summarize_pending(text, int) IS
    'Summarises up to max_items items of the level (trace or generation) that have no summary, or whose trace received events since; returns how many. Offline, from the events; batches of 200 in subtransactions (a cancel keeps the batches before it).';
COMMENT ON VIEW llm_clusters.generation_summary_items IS
    'generation_items with the summary''s embedding and text (title and bullets) as content: the source of generation jobs with params.embed = "summary".';
GRANT SELECT ON llm_clusters.generation_summary_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.trace_summary_items IS
    'trace_items with the summary''s embedding and text (title and bullets) as content: the source of trace jobs with params.embed = "summary".';
GRANT SELECT ON llm_clusters.trace_summary_items TO llm_clusters_reader;
COMMENT ON FUNCTION llm_clusters._summarize_pending(text, int) IS 'Internal: use llm_clusters.summarize_pending().';

-- What writes is for admins only (EXECUTE is PUBLIC by default).
REVOKE EXECUTE ON FUNCTION
    llm_clusters.summarize_pending(text, int),
    llm_clusters._summarize_pending(text, int)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters.summarize_pending(text, int),
    llm_clusters._summarize_pending(text, int)
    TO llm_clusters_admin;
