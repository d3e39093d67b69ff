-- Capture: events as PostHog's SDKs send them, stored by llm_clusters.capture (src/capture.rs).
-- Every table carries team_id first, so that it can be distributed by team (Citus).

CREATE TABLE llm_clusters.events (
    uuid            uuid        NOT NULL,
    team_id         int         NOT NULL,
    event           text        NOT NULL CHECK (event IN ('$ai_generation', '$ai_span', '$ai_trace', '$ai_embedding', '$ai_evaluation')),
    "timestamp"     timestamptz NOT NULL,
    distinct_id     text,
    trace_id        text        NOT NULL,
    span_id         text,
    parent_id       text,
    session_id      text,
    span_name       text,
    model           text,
    provider        text,
    input           jsonb,
    output          jsonb,
    content         text,
    input_tokens    bigint      CHECK (input_tokens >= 0),
    output_tokens   bigint      CHECK (output_tokens >= 0),
    total_cost_usd  float8      CHECK (total_cost_usd >= 0),
    latency_s       float8      CHECK (latency_s >= 0),
    is_error        boolean,
    error           text,
    properties      jsonb       NOT NULL DEFAULT '{}',
    captured_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, uuid)
);
ALTER TABLE llm_clusters.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.events
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.events TO llm_clusters_reader;
GRANT INSERT ON llm_clusters.events TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.events IS
    'One row per $ai_* event (PostHog capture format): typed columns for clustering and metrics, all properties in "properties". Key: (team_id, uuid).';
COMMENT ON COLUMN llm_clusters.events.content IS
    'Readable text of the call: user and assistant messages of input and output, system prompts left out, at most 8,000 characters; of an $ai_evaluation, its evaluator, verdict and reasoning ("helpfulness: fail. …").';
COMMENT ON COLUMN llm_clusters.events.is_error IS
    '$ai_is_error; true when only $ai_error was given; NULL when neither was.';
COMMENT ON COLUMN llm_clusters.events.captured_at IS 'When capture() stored the row.';
-- Window scans of generations (the generation item view) and of all events.
CREATE INDEX events_generation_ts_idx ON llm_clusters.events (team_id, "timestamp")
    WHERE event = '$ai_generation';
CREATE INDEX events_ts_idx ON llm_clusters.events (team_id, "timestamp");
-- Grouping and looking up the events of one trace (the trace item view).
CREATE INDEX events_trace_idx ON llm_clusters.events (team_id, trace_id, "timestamp");
-- User data: pg_dump dumps the rows of this table (an extension's tables are skipped otherwise).
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.events', '');

-- What each team stored per day (UTC), which capture() holds to
-- llm_clusters.max_team_capture_mb_per_day: a key holder (posthog-js puts the key in web
-- pages) could otherwise fill the database's disk for every team. capture() adds to the
-- caller's team's row; admins may only add (the trigger), readers see their teams' rows.
CREATE TABLE llm_clusters.capture_usage (
    team_id int    NOT NULL,
    day     date   NOT NULL,
    bytes   bigint NOT NULL CHECK (bytes >= 0),
    PRIMARY KEY (team_id, day)
);
ALTER TABLE llm_clusters.capture_usage ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.capture_usage
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.capture_usage TO llm_clusters_reader;
GRANT INSERT (team_id, day, bytes), UPDATE (bytes) ON llm_clusters.capture_usage TO llm_clusters_admin;
CREATE FUNCTION llm_clusters._capture_usage_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.bytes < OLD.bytes THEN
        RAISE EXCEPTION 'a team''s capture usage only grows'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A superuser resets a day with DELETE FROM llm_clusters.capture_usage, or raises llm_clusters.max_team_capture_mb_per_day.';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER capture_usage_check BEFORE UPDATE ON llm_clusters.capture_usage
    FOR EACH ROW EXECUTE FUNCTION llm_clusters._capture_usage_check();
REVOKE EXECUTE ON FUNCTION llm_clusters._capture_usage_check() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters._capture_usage_check() TO llm_clusters_admin;
COMMENT ON FUNCTION llm_clusters._capture_usage_check() IS 'Internal: lets a team''s capture usage only grow.';
COMMENT ON TABLE llm_clusters.capture_usage IS
    'Bytes of payload each team stored per day (UTC) through capture() and capture_with_key(); a call that would take the day over llm_clusters.max_team_capture_mb_per_day is refused (54000).';
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.capture_usage', '');

CREATE FUNCTION llm_clusters.capture(payload jsonb, team_id int DEFAULT 1)
RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._capture(payload::text, team_id) $$;

COMMENT ON FUNCTION llm_clusters.capture(jsonb, int) IS
    'Stores one PostHog-format $ai_* event, an array of them, or a /batch/ body {"batch": [...]}; returns how many were newly stored. An event''s uuid is its identity: a re-sent event is stored once. All or nothing: one bad event rejects the call.';
COMMENT ON FUNCTION llm_clusters._capture(text, int) IS 'Internal: use llm_clusters.capture().';

-- What writes is for admins only (EXECUTE is PUBLIC by default).
REVOKE EXECUTE ON FUNCTION
    llm_clusters.capture(jsonb, int),
    llm_clusters._capture(text, int)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters.capture(jsonb, int),
    llm_clusters._capture(text, int)
    TO llm_clusters_admin;
