CREATE FUNCTION llm_clusters.capture(payload jsonb, team_id int DEFAULT 1)
RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._capture(payload::text, team_id) $$;

CREATE AGGREGATE llm_clusters.embedding_mean(real[]) (
    SFUNC = llm_clusters._embedding_accum,
    STYPE = float8[],
    FINALFUNC = llm_clusters._embedding_mean_final
);

COMMENT ON FUNCTION llm_clusters.capture(jsonb, int) IS
    'Stores one PostHog-format $ai_* event, an array of them, or a /batch/ body {"batch": [...]}; returns how many were newly stored. An event''s uuid is its identity: a re-sent event is stored once. All or nothing: one bad event rejects the call.';
COMMENT ON AGGREGATE llm_clusters.embedding_mean(real[]) IS
    'L2-normalised mean of embeddings; NULL, non-finite and other-dimension vectors are left out (the first dimension seen wins).';
COMMENT ON FUNCTION llm_clusters._capture(text, int) IS 'Internal: use llm_clusters.capture().';
COMMENT ON FUNCTION llm_clusters._embedding_accum(float8[], real[]) IS 'Internal: state function of llm_clusters.embedding_mean.';
COMMENT ON FUNCTION llm_clusters._embedding_mean_final(float8[]) IS 'Internal: final function of llm_clusters.embedding_mean.';

-- What writes is for admins only (EXECUTE is PUBLIC by default).
REVOKE EXECUTE ON FUNCTION
    llm_clusters.capture(jsonb, int),
    llm_clusters._capture(text, int)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters.capture(jsonb, int),
    llm_clusters._capture(text, int)
    TO llm_clusters_admin;
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
