CREATE FUNCTION llm_clusters.capture(payload jsonb, team_id int DEFAULT 1)
RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
AS $$ SELECT llm_clusters._capture(payload, team_id, pg_column_size(payload)) $$;

CREATE AGGREGATE llm_clusters.embedding_mean(real[]) (
    SFUNC = llm_clusters._embedding_accum,
    STYPE = float8[],
    FINALFUNC = llm_clusters._embedding_mean_final
);

COMMENT ON TABLE llm_clusters.events IS
    'One row per $ai_* event (PostHog capture format): typed columns for clustering and metrics, all properties in "properties". Key: (team_id, uuid).';
COMMENT ON COLUMN llm_clusters.events.content IS
    'Readable text of the call: user and assistant messages of input and output, system prompts left out, at most 8,000 characters.';
COMMENT ON COLUMN llm_clusters.events.is_error IS
    '$ai_is_error; true when only $ai_error was given; NULL when neither was.';
COMMENT ON COLUMN llm_clusters.events.captured_at IS 'When capture() stored the row.';
COMMENT ON TABLE llm_clusters.embeddings IS
    'One embedding per item and level: item_id is the event uuid (level generation) or the trace id (level trace).';
COMMENT ON FUNCTION llm_clusters.capture(jsonb, int) IS
    'Stores one PostHog-format $ai_* event, an array of them, or a /batch/ body {"batch": [...]}; returns how many were newly stored. An event''s uuid is its identity: a re-sent event is stored once. All or nothing: one bad event rejects the call.';
COMMENT ON AGGREGATE llm_clusters.embedding_mean(real[]) IS
    'L2-normalised mean of embeddings; NULL, non-finite and other-dimension vectors are left out (the first dimension seen wins).';
COMMENT ON FUNCTION llm_clusters._capture(jsonb, int, bigint) IS 'Internal: use llm_clusters.capture().';
COMMENT ON FUNCTION llm_clusters._embedding_accum(float8[], real[]) IS 'Internal: state function of llm_clusters.embedding_mean.';
COMMENT ON FUNCTION llm_clusters._embedding_mean_final(float8[]) IS 'Internal: final function of llm_clusters.embedding_mean.';
