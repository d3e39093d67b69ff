-- AI labels and embeddings (an OpenAI-compatible service, with consent) and the offline embedder.

CREATE FUNCTION llm_clusters.label_run(run_id bigint)
RETURNS bigint
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
AS $$ SELECT llm_clusters._label_run(run_id) $$;

CREATE FUNCTION llm_clusters.embed_text(text text)
RETURNS real[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT llm_clusters._embed_text(text) $$;

CREATE FUNCTION llm_clusters.embed_pending(level text DEFAULT 'generation', max_items int DEFAULT 10000)
RETURNS bigint
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
AS $$ SELECT llm_clusters._embed_pending(level, max_items) $$;

COMMENT ON FUNCTION llm_clusters.label_run(bigint) IS
    'Re-labels a succeeded run''s clusters with the AI chat model (needs llm_clusters.ai_data_processing = on, ai_base_url, ai_chat_model); returns how many clusters got AI labels. Failures keep the offline labels and are listed in runs.quality->''ai_labels''.';
COMMENT ON FUNCTION llm_clusters.embed_text(text) IS
    'The offline embedding of a text (512-d, unit length, deterministic; hashed word, bigram and character n-gram features). All zeros for a text without usable words.';
COMMENT ON FUNCTION llm_clusters.embed_pending(text, int) IS
    'Embeds up to max_items items of the level (newest first) that have no embedding and have text, into llm_clusters.embeddings; through the AI service when consent is on and ai_embedding_model is set, else offline. Returns how many it stored. A text without usable words gets an empty embedding (skipped by runs, not retried).';
COMMENT ON FUNCTION llm_clusters._label_run(bigint) IS 'Internal: use llm_clusters.label_run().';
COMMENT ON FUNCTION llm_clusters._embed_text(text) IS 'Internal: use llm_clusters.embed_text().';
COMMENT ON FUNCTION llm_clusters._embed_pending(text, int) IS 'Internal: use llm_clusters.embed_pending().';
