-- AI labels: a run's clusters re-labelled by an OpenAI-compatible chat model, with consent
-- (src/ai.rs).

CREATE FUNCTION llm_clusters.label_run(run_id bigint)
RETURNS bigint
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._label_run(run_id) $$;

COMMENT ON FUNCTION llm_clusters.label_run(bigint) IS
    'Re-labels a succeeded run''s clusters with the AI chat model (needs llm_clusters.ai_data_processing = on, ai_base_url, ai_chat_model); returns how many clusters got AI labels. Failures keep the offline labels and are listed in runs.quality->''ai_labels''.';
COMMENT ON FUNCTION llm_clusters._label_run(bigint) IS 'Internal: use llm_clusters.label_run().';

-- What writes is for admins only (EXECUTE is PUBLIC by default).
REVOKE EXECUTE ON FUNCTION
    llm_clusters.label_run(bigint),
    llm_clusters._label_run(bigint)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters.label_run(bigint),
    llm_clusters._label_run(bigint)
    TO llm_clusters_admin;
