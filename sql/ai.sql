-- AI labels (an OpenAI-compatible service, with consent) and embeddings with llm_clusters.embedder.

CREATE FUNCTION llm_clusters.label_run(run_id bigint)
RETURNS bigint
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._label_run(run_id) $$;

CREATE FUNCTION llm_clusters.embed_text(text text)
RETURNS real[]
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._embed_text(text) $$;

CREATE FUNCTION llm_clusters.embed_pending(level text DEFAULT 'generation', max_items int DEFAULT 10000)
RETURNS bigint
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._embed_pending(level, max_items) $$;

COMMENT ON FUNCTION llm_clusters.label_run(bigint) IS
    'Re-labels a succeeded run''s clusters with the AI chat model (needs llm_clusters.ai_data_processing = on, ai_base_url, ai_chat_model); returns how many clusters got AI labels. Failures keep the offline labels and are listed in runs.quality->''ai_labels''.';
COMMENT ON FUNCTION llm_clusters.embed_text(text) IS
    'The embedding of a text with llm_clusters.embedder: builtin (default) = all-MiniLM-L6-v2 computed in the backend (384-d, unit length, first 256 tokens, as sentence-transformers); service = the AI service (needs consent); hash = hashed bag-of-words (512-d, all zeros for a text without words).';
COMMENT ON FUNCTION llm_clusters.embed_pending(text, int) IS
    'Embeds up to max_items items of the level (newest first) that have no embedding and have text, into llm_clusters.embeddings, with llm_clusters.embedder (embeddings.model records which). A generation is embedded from its user messages (latest first), a trace from its distinct user messages in order; the content when there are none. Works in batches of 256: a cancel or statement_timeout keeps the batches done (WARNING). Returns how many usable embeddings it stored.';
COMMENT ON FUNCTION llm_clusters._label_run(bigint) IS 'Internal: use llm_clusters.label_run().';
COMMENT ON FUNCTION llm_clusters._embed_text(text) IS 'Internal: use llm_clusters.embed_text().';
COMMENT ON FUNCTION llm_clusters._embed_pending(text, int) IS 'Internal: use llm_clusters.embed_pending().';

-- What writes is for admins only (EXECUTE is PUBLIC by default).
REVOKE EXECUTE ON FUNCTION
    llm_clusters.label_run(bigint),
    llm_clusters._label_run(bigint),
    llm_clusters.embed_pending(text, int),
    llm_clusters._embed_pending(text, int)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters.label_run(bigint),
    llm_clusters._label_run(bigint),
    llm_clusters.embed_pending(text, int),
    llm_clusters._embed_pending(text, int)
    TO llm_clusters_admin;
-- Reading functions: readers (and admins, who are readers), not PUBLIC: the ingest role
-- (USAGE on the schema) runs capture_with_key and nothing else.
REVOKE EXECUTE ON FUNCTION llm_clusters.embed_text(text), llm_clusters._embed_text(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.embed_text(text), llm_clusters._embed_text(text) TO llm_clusters_reader;
