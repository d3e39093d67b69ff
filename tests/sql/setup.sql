-- Helpers for the other regression tests (they run in one database, in schedule order).
CREATE EXTENSION llm_clusters;
CREATE SCHEMA regress;
-- The SQLSTATE and message of a statement's error, or 'no error'.
CREATE FUNCTION regress.error_of(statement text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- Cosine of two unit vectors (their dot product, in float8: real products underflow).
CREATE FUNCTION regress.cosine(a real[], b real[]) RETURNS float8 LANGUAGE sql AS
    $$ SELECT sum(x::float8 * y) FROM unnest(a, b) AS u(x, y) $$;
-- Deterministic noise in [-1, 1) for item i, dimension d: a hash, so that it has no
-- pattern of its own (a periodic one would plant sub-clusters the method rightly finds).
CREATE FUNCTION regress.noise(i int, d int) RETURNS float8 LANGUAGE sql IMMUTABLE AS
    $$ SELECT ('x' || substr(md5(i || ':' || d), 1, 8))::bit(32)::int / 2147483648.0 $$;
-- Planted clusters: n generations of a team in `groups` topics (their texts say which),
-- with 8-d embeddings pointing at one axis per topic plus a little deterministic noise,
-- all at `ts`. Every regression file that needs items to cluster uses this.
CREATE FUNCTION regress.planted(team int, prefix text, n int, groups int DEFAULT 3,
                                ts timestamptz DEFAULT '2026-11-20T00:00:00Z') RETURNS void LANGUAGE sql AS $$
    SELECT llm_clusters.capture(jsonb_agg(jsonb_build_object(
        'event', '$ai_generation', 'uuid', md5(prefix || team || ':' || i)::uuid, 'timestamp', ts,
        'properties', jsonb_build_object('$ai_trace_id', prefix || team || '-' || i,
            '$ai_input', (ARRAY['reset my password', 'write a sql query', 'translate the menu', 'book a flight',
                                'summarise this article', 'fix my python code', 'plan a trip', 'write a poem'])[1 + i % groups]
                         || ' #' || i,
            '$ai_total_cost_usd', 0.001 * (1 + i % groups), '$ai_latency', 0.5 + i % groups))), team)
    FROM generate_series(0, n - 1) i;
    INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding)
    SELECT team, 'generation', md5(prefix || team || ':' || i)::uuid::text,
           ARRAY(SELECT CASE WHEN d = i % groups THEN 1.0 ELSE 0.0 END + 0.05 * regress.noise(i, d) FROM generate_series(0, 7) d)::real[]
    FROM generate_series(0, n - 1) i;
$$;
SELECT extname, extversion FROM pg_extension WHERE extname = 'llm_clusters';
