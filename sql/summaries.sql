-- Item summaries and the trace timeline: what happened in a trace, told from its events
-- (offline, always) — a title, a flow diagram of its steps, bullets and notes — and the
-- full timeline page of one trace.

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
    updated_at  timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, level, item_id)
);
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.item_summaries', '');

CREATE FUNCTION llm_clusters.summarize_pending(level text DEFAULT 'trace', max_items int DEFAULT 1000)
RETURNS int
LANGUAGE sql VOLATILE PARALLEL UNSAFE
AS $$ SELECT llm_clusters._summarize_pending(level, max_items)::int $$;

CREATE FUNCTION llm_clusters.trace_html(trace_id text, team_id int DEFAULT 1)
RETURNS text
LANGUAGE sql STABLE STRICT
AS $$ SELECT llm_clusters._trace_html(trace_id, team_id) $$;

COMMENT ON TABLE llm_clusters.item_summaries IS
    'One summary per item and level: title (the request), flow (a plain-text diagram of the trace''s spans, generations and tool calls in time order, nested by $ai_parent_id), bullets (what was asked, what ran, how it ended), notes (errors, slow or costly steps, empty or refused answers). source is offline (from the events) or ai.';
COMMENT ON COLUMN llm_clusters.item_summaries.flow IS
    'The trace''s steps as a tree, one line each: kind, name, [model], latency, tokens, cost, ERROR; tool calls under their generation; at most 200 lines.';
COMMENT ON COLUMN llm_clusters.item_summaries.updated_at IS 'When it was written.';
COMMENT ON COLUMN llm_clusters.item_summaries.n_events IS
    'How many events the trace had when it was summarised; when the count changes (events arrived), summarize_pending summarises it again.';
COMMENT ON FUNCTION llm_clusters.summarize_pending(text, int) IS
    'Summarises up to max_items items of the level (trace or generation) that have no summary, or whose trace received events since; returns how many. Offline, from the events; batches of 200 in subtransactions (a cancel keeps the batches before it).';
COMMENT ON FUNCTION llm_clusters.trace_html(text, int) IS
    'A self-contained HTML page with the trace''s full timeline: each step on a time axis with its duration, nested spans, inputs and outputs (escaped, long ones folded), model, tokens, cost, errors highlighted, its summary and the clusters it is in. Error P0002 when the team has no such trace.';
COMMENT ON FUNCTION llm_clusters._summarize_pending(text, int) IS 'Internal: use llm_clusters.summarize_pending().';
COMMENT ON FUNCTION llm_clusters._trace_html(text, int) IS 'Internal: use llm_clusters.trace_html().';
