-- Embeddings: one per item, level and lens, made inside the database by llm_clusters.embedder
-- (src/embed.rs: the built-in model, the AI service with consent, or the hash embedder),
-- and their mean over a trace's generations (the aggregate the trace item view uses).

CREATE TABLE llm_clusters.embeddings (
    team_id     int         NOT NULL,
    level       text        NOT NULL CHECK (level IN ('trace', 'generation', 'evaluation')),
    item_id     text        NOT NULL,
    embedding   real[]      NOT NULL,
    model       text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- What the item was embedded from (params.lens; the summary lens is item_summaries').
    lens        text        NOT NULL DEFAULT 'request' CHECK (lens IN ('request', 'answer', 'error', 'flow')),
    -- The text the lens embedded (lenses other than request; theirs is the item's content).
    content     text,
    PRIMARY KEY (team_id, level, lens, item_id)
);
ALTER TABLE llm_clusters.embeddings ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.embeddings
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.embeddings TO llm_clusters_reader;
GRANT INSERT ON llm_clusters.embeddings TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.embeddings IS
    'One embedding per item, level and lens: item_id is the event uuid (levels generation and evaluation) or the trace id (level trace).';
COMMENT ON COLUMN llm_clusters.embeddings.lens IS
    'What the item was embedded from: request (what the user asked; an evaluation: its evaluator, verdict and reasoning), answer (the model''s outputs), error (failing steps and their messages), flow (steps, tools and models in order).';
COMMENT ON COLUMN llm_clusters.embeddings.content IS
    'For the answer, error and flow lenses: the first 2,000 characters of the text embedded (the previews and offline titles of their jobs); NULL for request.';
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.embeddings', '');

-- The mean of a trace's generations' embeddings (llm_clusters.trace_items).
CREATE AGGREGATE llm_clusters.embedding_mean(real[]) (
    SFUNC = llm_clusters._embedding_accum,
    STYPE = float8[],
    FINALFUNC = llm_clusters._embedding_mean_final
);

COMMENT ON AGGREGATE llm_clusters.embedding_mean(real[]) IS
    'L2-normalised mean of embeddings; NULL, non-finite and other-dimension vectors are left out (the first dimension seen wins).';
COMMENT ON FUNCTION llm_clusters._embedding_accum(float8[], real[]) IS 'Internal: state function of llm_clusters.embedding_mean.';
COMMENT ON FUNCTION llm_clusters._embedding_mean_final(float8[]) IS 'Internal: final function of llm_clusters.embedding_mean.';
-- The aggregate is for readers, not PUBLIC (the ingest role runs capture_with_key only).
REVOKE EXECUTE ON FUNCTION
    llm_clusters.embedding_mean(real[]),
    llm_clusters._embedding_accum(float8[], real[]),
    llm_clusters._embedding_mean_final(float8[])
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters.embedding_mean(real[]),
    llm_clusters._embedding_accum(float8[], real[]),
    llm_clusters._embedding_mean_final(float8[])
    TO llm_clusters_reader;

CREATE FUNCTION llm_clusters.embed_text(text text)
RETURNS real[]
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._embed_text(text) $$;

CREATE FUNCTION llm_clusters.embed_pending(level text DEFAULT 'generation', max_items int DEFAULT 10000,
                                           lens text DEFAULT 'request')
RETURNS bigint
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._embed_pending(level, max_items, lens) $$;

-- The summaries' embeddings (item_summaries.embedding, summary.sql), which jobs with
-- params.embed = "summary" cluster.
CREATE FUNCTION llm_clusters.embed_summaries(level text DEFAULT 'trace', max_items int DEFAULT 1000)
RETURNS int
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._embed_summaries(level, max_items)::int $$;

COMMENT ON FUNCTION llm_clusters.embed_text(text) IS
    'The embedding of a text with llm_clusters.embedder: builtin (default) = all-MiniLM-L6-v2 computed in the backend (384-d, unit length, first 256 tokens, as sentence-transformers); service = the AI service (needs consent); hash = hashed bag-of-words (512-d, all zeros for a text without words).';
COMMENT ON FUNCTION llm_clusters.embed_pending(text, int, text) IS
    'Embeds up to max_items items of the level (newest first) that have no embedding of the lens, into llm_clusters.embeddings, with llm_clusters.embedder (embeddings.model records which). Lens request: a generation from its user messages (latest first), a trace from its distinct user messages in order, the content when there are none; an evaluation from its evaluator, verdict and reasoning. Lens answer: the model''s outputs; error: the failing steps with their messages (only items with an error); flow: the steps, tools and models in order. Works in batches of 256: a cancel or statement_timeout keeps the batches done (WARNING). Returns how many usable embeddings it stored.';
COMMENT ON FUNCTION llm_clusters.embed_summaries(text, int) IS
    'Embeds up to max_items summaries of the level that have no embedding (their title and bullets), with llm_clusters.embedder; returns how many got a usable vector.';
COMMENT ON FUNCTION llm_clusters._embed_text(text) IS 'Internal: use llm_clusters.embed_text().';
COMMENT ON FUNCTION llm_clusters._embed_pending(text, int, text) IS 'Internal: use llm_clusters.embed_pending().';
COMMENT ON FUNCTION llm_clusters._embed_summaries(text, int) IS 'Internal: use llm_clusters.embed_summaries().';

-- What writes is for admins only (EXECUTE is PUBLIC by default).
REVOKE EXECUTE ON FUNCTION
    llm_clusters.embed_pending(text, int, text),
    llm_clusters._embed_pending(text, int, text),
    llm_clusters.embed_summaries(text, int),
    llm_clusters._embed_summaries(text, int)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters.embed_pending(text, int, text),
    llm_clusters._embed_pending(text, int, text),
    llm_clusters.embed_summaries(text, int),
    llm_clusters._embed_summaries(text, int)
    TO llm_clusters_admin;
-- Reading functions: readers (and admins, who are readers), not PUBLIC: the ingest role
-- (USAGE on the schema) runs capture_with_key and nothing else.
REVOKE EXECUTE ON FUNCTION llm_clusters.embed_text(text), llm_clusters._embed_text(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.embed_text(text), llm_clusters._embed_text(text) TO llm_clusters_reader;
