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
-- The embedding of planted item i: 1 on `axis` (and `sub_weight` on `sub_axis`, a topic's
-- own direction within a family of topics) plus `noise` times the item's own noise.
CREATE FUNCTION regress.planted_vector(i int, axis int, noise float8 DEFAULT 0.05, sub_axis int DEFAULT NULL,
                                       sub_weight float8 DEFAULT 0.6, dims int DEFAULT 8) RETURNS real[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY(SELECT CASE WHEN d = axis THEN 1.0 WHEN d = sub_axis THEN sub_weight ELSE 0.0 END
                        + noise * regress.noise(i, d)
                 FROM generate_series(0, dims - 1) d)::real[]
$$;
-- The item id (the event's uuid) of planted item i.
CREATE FUNCTION regress.planted_id(team int, prefix text, i int) RETURNS text LANGUAGE sql IMMUTABLE AS
    $$ SELECT md5(prefix || team || ':' || i)::uuid::text $$;
-- Planted clusters: n generations of a team in `groups` topics (item i is about
-- topics[1 + i % groups], its text says which), with 8-d embeddings pointing at one axis
-- per topic (topic g's is axes[1 + g], else g) plus a little deterministic noise, at
-- ts + i * step. Item i also carries the properties cycle[1 + i % cardinality(cycle)]
-- (model, cost, errors, ...). Planting again replaces the embeddings (events are stored
-- once). Every regression file that needs items to cluster uses this.
CREATE FUNCTION regress.planted(team int, prefix text, n int, groups int DEFAULT 3,
                                ts timestamptz DEFAULT '2026-11-20T00:00:00Z', step interval DEFAULT '0',
                                topics text[] DEFAULT ARRAY['reset my password', 'write a sql query', 'translate the menu',
                                                            'book a flight', 'summarise this article', 'fix my python code',
                                                            'plan a trip', 'write a poem'],
                                axes int[] DEFAULT NULL, cycle jsonb[] DEFAULT '{}') RETURNS void LANGUAGE sql AS $$
    SELECT llm_clusters.capture(jsonb_agg(jsonb_build_object(
        'event', '$ai_generation', 'uuid', regress.planted_id(team, prefix, i), 'timestamp', ts + i * step,
        'properties', jsonb_build_object('$ai_trace_id', prefix || team || '-' || i,
                                         '$ai_input', topics[1 + i % groups] || ' #' || i,
                                         '$ai_total_cost_usd', 0.001 * (1 + i % groups), '$ai_latency', 0.5 + i % groups)
                      || CASE WHEN cardinality(cycle) > 0 THEN cycle[1 + i % cardinality(cycle)] ELSE '{}' END)), team)
    FROM generate_series(0, n - 1) i;
    INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding)
    SELECT team, 'generation', regress.planted_id(team, prefix, i),
           regress.planted_vector(i, coalesce(axes[1 + i % groups], i % groups))
    FROM generate_series(0, n - 1) i
    ON CONFLICT (team_id, level, lens, item_id) DO UPDATE SET embedding = excluded.embedding;
$$;
SELECT extname, extversion FROM pg_extension WHERE extname = 'llm_clusters';
