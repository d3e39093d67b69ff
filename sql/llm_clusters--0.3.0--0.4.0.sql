-- llm_clusters 0.3.0 -> 0.4.0
-- * Capture over HTTP: llm_clusters.api_keys, create_api_key, revoke_api_key,
--   capture_with_key (SECURITY DEFINER: the one thing the new role llm_clusters_ingest,
--   which llm-clusters-server connects as, may do).
-- * Item summaries and the trace timeline: llm_clusters.item_summaries,
--   summarize_pending, trace_html; cluster_items gains the summary columns (its result
--   type changes, so it is dropped and created again).
-- * Jobs that cluster summaries (params.embed = "summary"): the views
--   generation_summary_items and trace_summary_items, embed_summaries, and the jobs
--   trigger choosing the default source by params.embed.

CREATE TABLE llm_clusters.api_keys (
    team_id     int          NOT NULL,
    key_hash    bytea        NOT NULL,
    key_prefix  text         NOT NULL,
    label       text,
    created_at  timestamptz  NOT NULL DEFAULT now(),
    created_by  name         NOT NULL DEFAULT current_user,
    revoked_at  timestamptz,
    PRIMARY KEY (team_id, key_hash)
);
-- A key arrives without its team: the lookup is by hash alone.
CREATE INDEX api_keys_key_hash ON llm_clusters.api_keys (key_hash);
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.api_keys', '');

CREATE FUNCTION llm_clusters.create_api_key(team_id int DEFAULT 1, label text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- Two random UUIDs: 244 random bits from the server's strong random source.
    new_key text := 'llmc_' || replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
BEGIN
    IF create_api_key.team_id IS NULL THEN
        RAISE EXCEPTION 'team_id must not be null' USING ERRCODE = '22004';
    END IF;
    INSERT INTO llm_clusters.api_keys (team_id, key_hash, key_prefix, label)
    VALUES (create_api_key.team_id, sha256(convert_to(new_key, 'UTF8')), left(new_key, 12),
            create_api_key.label);
    RETURN new_key;
END
$$;

CREATE FUNCTION llm_clusters.revoke_api_key(key text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hash bytea := sha256(convert_to(coalesce(revoke_api_key.key, ''), 'UTF8'));
BEGIN
    UPDATE llm_clusters.api_keys k SET revoked_at = now()
    WHERE k.key_hash = hash AND k.revoked_at IS NULL;
    IF FOUND THEN
        RETURN true;
    END IF;
    IF EXISTS (SELECT 1 FROM llm_clusters.api_keys k WHERE k.key_hash = hash) THEN
        RETURN false;
    END IF;
    RAISE EXCEPTION 'no such api key'
        USING ERRCODE = '42704',
              HINT = 'Keys are shown once, by create_api_key; llm_clusters.api_keys lists each key''s first 12 characters (key_prefix).';
END
$$;

-- The one SECURITY DEFINER function: the ingest role may store events only for the team
-- of a key it presents, and may read nothing (it has no other privilege).
CREATE FUNCTION llm_clusters.capture_with_key(api_key text, payload jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    key_team int;
BEGIN
    SELECT k.team_id INTO key_team FROM llm_clusters.api_keys k
    WHERE k.key_hash = sha256(convert_to(coalesce(capture_with_key.api_key, ''), 'UTF8'))
      AND k.revoked_at IS NULL;
    IF key_team IS NULL THEN
        RAISE EXCEPTION 'invalid api key'
            USING ERRCODE = '28000',
                  HINT = 'Create a key with llm_clusters.create_api_key(team_id); revoked keys stay invalid.';
    END IF;
    RETURN llm_clusters.capture(payload, key_team);
END
$$;

COMMENT ON TABLE llm_clusters.api_keys IS
    'Keys for capture over HTTP (llm-clusters-server), one team each. Only the SHA-256 of a key is stored; key_prefix (its first 12 characters) tells keys apart.';
COMMENT ON COLUMN llm_clusters.api_keys.key_hash IS 'sha256 of the key''s UTF-8 text.';
COMMENT ON COLUMN llm_clusters.api_keys.revoked_at IS 'When revoke_api_key revoked it; NULL while the key is valid.';
COMMENT ON FUNCTION llm_clusters.create_api_key(int, text) IS
    'Creates an API key for a team and returns it; it is shown only this once (only its hash is stored). label says what it is for.';
COMMENT ON FUNCTION llm_clusters.revoke_api_key(text) IS
    'Revokes a key: true when revoked now, false when it was already revoked; error 42704 when no key of your teams matches.';
COMMENT ON FUNCTION llm_clusters.capture_with_key(text, jsonb) IS
    'capture() under the team of a valid API key (error 28000 otherwise). What llm-clusters-server calls, as a member of llm_clusters_ingest.';

ALTER TABLE llm_clusters.api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.api_keys
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'llm_clusters_ingest') THEN
        CREATE ROLE llm_clusters_ingest NOLOGIN;
    END IF;
END $$;
GRANT SELECT ON llm_clusters.api_keys TO llm_clusters_reader;
GRANT INSERT, UPDATE ON llm_clusters.api_keys TO llm_clusters_admin;
REVOKE EXECUTE ON FUNCTION llm_clusters.create_api_key(int, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.create_api_key(int, text) TO llm_clusters_admin;
REVOKE EXECUTE ON FUNCTION llm_clusters.revoke_api_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.revoke_api_key(text) TO llm_clusters_admin;
GRANT USAGE ON SCHEMA llm_clusters TO llm_clusters_ingest;
REVOKE EXECUTE ON FUNCTION llm_clusters.capture_with_key(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.capture_with_key(text, jsonb) TO llm_clusters_ingest;

-- Item summaries and the trace timeline (sql/summaries.sql).
CREATE FUNCTION "_summarize_pending"(
	"level" TEXT,
	"max_items" INT
) RETURNS bigint
STRICT VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'summarize_pending_wrapper';
CREATE FUNCTION "_trace_html"(
	"trace_id" TEXT,
	"team_id" INT
) RETURNS TEXT
STRICT STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'trace_html_wrapper';
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
    embedding   real[],
    embedding_model text,
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

ALTER TABLE llm_clusters.item_summaries ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.item_summaries
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.item_summaries TO llm_clusters_reader;
GRANT INSERT, UPDATE ON llm_clusters.item_summaries TO llm_clusters_admin;
REVOKE EXECUTE ON FUNCTION llm_clusters.summarize_pending(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.summarize_pending(text, int) TO llm_clusters_admin;
REVOKE EXECUTE ON FUNCTION llm_clusters._summarize_pending(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters._summarize_pending(text, int) TO llm_clusters_admin;

DROP FUNCTION llm_clusters.cluster_items(bigint, int, int, int);
CREATE FUNCTION llm_clusters.cluster_items(run_id bigint, cluster_id int, max_items int DEFAULT 50, after_rank int DEFAULT -1)
RETURNS TABLE (item_id text, trace_id text, rank int, distance float8, ts timestamptz, preview text,
               summary_title text, flow text, bullets text[], notes text[])
LANGUAGE plpgsql STABLE STRICT
AS $$
DECLARE
    source regclass;
    run_team int;
    run_level text;
BEGIN
    SELECT j.source, r.team_id, r.level INTO source, run_team, run_level
    FROM llm_clusters.runs r JOIN llm_clusters.jobs j ON j.id = r.job_id
    WHERE r.id = cluster_items.run_id;
    IF source IS NULL THEN
        RAISE EXCEPTION 'run % does not exist or its job was deleted', cluster_items.run_id
            USING ERRCODE = 'no_data_found';
    END IF;
    IF max_items < 1 OR max_items > 10000 THEN
        RAISE EXCEPTION 'max_items must be between 1 and 10000, got %', max_items
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The previews are read from the source as the job's owner (_item_previews).
    RETURN QUERY
    WITH page AS (
        SELECT a.item_id, a.trace_id, a.rank, a.distance, a.ts
        FROM llm_clusters.assignments a
        WHERE a.run_id = cluster_items.run_id AND a.cluster_id = cluster_items.cluster_id AND a.rank > after_rank
        ORDER BY a.rank, a.item_id LIMIT max_items)
    SELECT page.item_id, page.trace_id, page.rank, page.distance, page.ts, p.preview,
           s.title, s.flow, s.bullets, s.notes
    FROM page
    LEFT JOIN llm_clusters._item_previews(cluster_items.run_id, ARRAY(SELECT page.item_id FROM page), 300) p
           ON p.item_id = page.item_id
    LEFT JOIN llm_clusters.item_summaries s
           ON s.team_id = run_team AND s.level = run_level AND s.item_id = page.item_id
    ORDER BY page.rank, page.item_id;
END $$;
COMMENT ON FUNCTION llm_clusters.cluster_items(bigint, int, int, int) IS
    'The items of one cluster of a run in rank order (0 = closest to the centre) with a 300-character preview and the item''s summary (summary_title, flow, bullets, notes; NULL until summarize_pending wrote one); page with after_rank = the last rank seen.';

-- Jobs that cluster summaries.
CREATE FUNCTION "_embed_summaries"(
	"level" TEXT,
	"max_items" INT
) RETURNS bigint
STRICT VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'embed_summaries_wrapper';
-- Items embedded from their summaries (jobs with params.embed = "summary" read these):
-- the item views' columns, the summary's embedding and its text as the content.
CREATE VIEW llm_clusters.generation_summary_items AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, s.embedding,
       s.title || coalesce('. ' || array_to_string(s.bullets, '. '), '') AS content,
       i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.generation_items i
JOIN llm_clusters.item_summaries s ON s.team_id = i.team_id AND s.level = 'generation' AND s.item_id = i.item_id;

CREATE VIEW llm_clusters.trace_summary_items AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, s.embedding,
       s.title || coalesce('. ' || array_to_string(s.bullets, '. '), '') AS content,
       i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.trace_items i
JOIN llm_clusters.item_summaries s ON s.team_id = i.team_id AND s.level = 'trace' AND s.item_id = i.item_id;

CREATE FUNCTION llm_clusters.embed_summaries(level text DEFAULT 'trace', max_items int DEFAULT 1000)
RETURNS int
LANGUAGE sql VOLATILE PARALLEL UNSAFE
AS $$ SELECT llm_clusters._embed_summaries(level, max_items)::int $$;

COMMENT ON VIEW llm_clusters.generation_summary_items IS
    'generation_items with the summary''s embedding and text (title and bullets) as content: the source of generation jobs with params.embed = "summary".';
COMMENT ON VIEW llm_clusters.trace_summary_items IS
    'trace_items with the summary''s embedding and text (title and bullets) as content: the source of trace jobs with params.embed = "summary".';
COMMENT ON COLUMN llm_clusters.item_summaries.embedding IS
    'The embedding of the summary''s title and bullets (embed_summaries; reset when they change).';
COMMENT ON FUNCTION llm_clusters.embed_summaries(text, int) IS
    'Embeds up to max_items summaries of the level that have no embedding (their title and bullets), with llm_clusters.embedder; returns how many got a usable vector.';
COMMENT ON FUNCTION llm_clusters._embed_summaries(text, int) IS 'Internal: use llm_clusters.embed_summaries().';
ALTER VIEW llm_clusters.generation_summary_items SET (security_invoker = true);
ALTER VIEW llm_clusters.trace_summary_items SET (security_invoker = true);
GRANT SELECT ON llm_clusters.generation_summary_items, llm_clusters.trace_summary_items TO llm_clusters_reader;
REVOKE EXECUTE ON FUNCTION llm_clusters.embed_summaries(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.embed_summaries(text, int) TO llm_clusters_admin;
REVOKE EXECUTE ON FUNCTION llm_clusters._embed_summaries(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters._embed_summaries(text, int) TO llm_clusters_admin;
CREATE OR REPLACE FUNCTION llm_clusters._jobs_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.team_id IS DISTINCT FROM OLD.team_id THEN
        -- Serialise inserts of one team so that two sessions cannot both pass the cap.
        PERFORM pg_advisory_xact_lock(hashtext('llm_clusters.jobs'), NEW.team_id);
        IF (SELECT count(*) FROM llm_clusters.jobs WHERE team_id = NEW.team_id)
           >= llm_clusters._max_jobs_per_team() THEN
            RAISE EXCEPTION 'team % already has % jobs, the most llm_clusters.max_jobs_per_team allows',
                NEW.team_id, llm_clusters._max_jobs_per_team()
                USING ERRCODE = 'program_limit_exceeded',
                      HINT = 'Delete or reuse a job, or raise llm_clusters.max_jobs_per_team.';
        END IF;
    END IF;
    -- The owner: the creator unless named, and only a role the writer is a member of.
    IF TG_OP = 'INSERT' THEN
        NEW.owner := coalesce(NEW.owner, pg_catalog.to_regrole(pg_catalog.quote_ident(current_user)));
    END IF;
    IF (TG_OP = 'INSERT' OR NEW.owner IS DISTINCT FROM OLD.owner)
       AND NOT pg_catalog.pg_has_role(current_user, NEW.owner, 'MEMBER') THEN
        RAISE EXCEPTION 'role "%" may not make role "%" the owner of a job', current_user, NEW.owner
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A job''s owner must be a role you are a member of.';
    END IF;
    -- The default source follows the level and params.embed (content or summary).
    IF NEW.source IS NULL OR NEW.source IN ('llm_clusters.trace_items'::regclass, 'llm_clusters.generation_items'::regclass,
                                            'llm_clusters.trace_summary_items'::regclass, 'llm_clusters.generation_summary_items'::regclass) THEN
        NEW.source := CASE WHEN NEW.level = 'trace' AND NEW.params->>'embed' = 'summary' THEN 'llm_clusters.trace_summary_items'::regclass
                           WHEN NEW.params->>'embed' = 'summary' THEN 'llm_clusters.generation_summary_items'::regclass
                           WHEN NEW.level = 'trace' THEN 'llm_clusters.trace_items'::regclass
                           ELSE 'llm_clusters.generation_items'::regclass END;
    ELSIF NEW.params->>'embed' = 'summary' THEN
        RAISE EXCEPTION 'params.embed = "summary" chooses the default source; job "%" reads its own source %', NEW.name, NEW.source
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Leave source out, or give your source an embedding column of the summaries.';
    END IF;
    -- Only what changed is checked: a job whose source was dropped can still be disabled.
    IF TG_OP = 'INSERT' OR (NEW.source, NEW.filters, NEW.params) IS DISTINCT FROM (OLD.source, OLD.filters, OLD.params) THEN
        PERFORM llm_clusters._validate_job(NEW.source, NEW.filters, NEW.params);
    END IF;
    -- Runs read the source as the owner: the owner must be allowed to read it.
    IF (TG_OP = 'INSERT' OR (NEW.source, NEW.owner) IS DISTINCT FROM (OLD.source, OLD.owner))
       AND NOT llm_clusters._owner_may_read(NEW.owner, NEW.source) THEN
        RAISE EXCEPTION 'role "%", the owner of job "%", may not read its source %', NEW.owner, NEW.name, NEW.source
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Grant SELECT on the relation (and USAGE on its schema) to the owner, or choose another owner.';
    END IF;
    -- An INSERT keeps the times it is given, so that a restored dump keeps its rows as they were.
    NEW.enabled_at := CASE WHEN NOT NEW.enabled THEN NULL
                           WHEN TG_OP = 'UPDATE' AND OLD.enabled THEN OLD.enabled_at
                           WHEN TG_OP = 'INSERT' THEN coalesce(NEW.enabled_at, now())
                           ELSE now() END;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$;
