-- 0.4.0 -> 0.5.0: every row is one team's, and every role gets only what it needs.
-- * Ids are the identity's alone: admins insert jobs and runs without the id column (an id
--   chosen with OVERRIDING SYSTEM VALUE could collide with another team's next id).
-- * Views and reading functions join by (team_id, id); rows that two teams share an id in
--   (planted before this version) are refused by the functions taking an id (21000).
-- * API key hashes are unique across teams, revoked keys included, and revocation is final.
--   A hash that several teams registered is kept once, in the lowest team, revoked: whoever
--   registered it second knew the key, so it is compromised (a WARNING lists each).
-- * Functions are not executable by PUBLIC: readers get the reading ones, admins the writing
--   ones, the ingest role capture_with_key alone.

-- Ids
REVOKE INSERT ON llm_clusters.jobs FROM llm_clusters_admin;
REVOKE INSERT ON llm_clusters.runs FROM llm_clusters_admin;
GRANT INSERT (team_id, name, level, source, filters, enabled, params, enabled_at, created_at, updated_at, owner),
      UPDATE, DELETE ON llm_clusters.jobs TO llm_clusters_admin;
GRANT INSERT (job_id, team_id, job_name, level, window_start, window_end, cycle, started_at, finished_at, status,
              error, n_items, n_clusters, n_outliers, params, quality, timings),
      UPDATE, DELETE ON llm_clusters.runs TO llm_clusters_admin;

-- API keys
DO $$
DECLARE
    dup record;
BEGIN
    FOR dup IN
        SELECT k.key_hash, min(k.key_prefix) AS prefix, array_agg(k.team_id ORDER BY k.team_id) AS teams
        FROM llm_clusters.api_keys k GROUP BY k.key_hash HAVING count(*) > 1
    LOOP
        RAISE WARNING 'api key % was registered by teams %: kept once, in team %, revoked; create new keys for these teams',
            dup.prefix, dup.teams, dup.teams[1];
        DELETE FROM llm_clusters.api_keys k WHERE k.key_hash = dup.key_hash AND k.team_id <> dup.teams[1];
        UPDATE llm_clusters.api_keys k SET revoked_at = coalesce(k.revoked_at, now()) WHERE k.key_hash = dup.key_hash;
    END LOOP;
END $$;
DROP INDEX llm_clusters.api_keys_key_hash;
REVOKE UPDATE ON llm_clusters.api_keys FROM llm_clusters_admin;
GRANT UPDATE (label, revoked_at) ON llm_clusters.api_keys TO llm_clusters_admin;
CREATE UNIQUE INDEX api_keys_key_hash ON llm_clusters.api_keys (key_hash);
-- Revocation is final: revoked_at, once set, never changes.
CREATE FUNCTION llm_clusters._api_keys_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN
        RAISE EXCEPTION 'api key % is revoked: revocation is final', OLD.key_prefix
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Create a new key with llm_clusters.create_api_key(team_id).';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER api_keys_check BEFORE UPDATE ON llm_clusters.api_keys
    FOR EACH ROW EXECUTE FUNCTION llm_clusters._api_keys_check();
REVOKE EXECUTE ON FUNCTION llm_clusters._api_keys_check() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters._api_keys_check() TO llm_clusters_admin;
COMMENT ON FUNCTION llm_clusters._api_keys_check() IS 'Internal: keeps revocations of API keys final.';

-- Views and reading functions joined by team
CREATE OR REPLACE VIEW llm_clusters.latest_runs WITH (security_invoker = true) AS
SELECT DISTINCT ON (l.team_id, l.job_id) l.*
FROM llm_clusters.run_list l
WHERE l.status = 'succeeded' AND l.job_id IS NOT NULL
ORDER BY l.team_id, l.job_id, l.window_end DESC, l.run_id DESC;
CREATE OR REPLACE VIEW llm_clusters.cluster_cards WITH (security_invoker = true) AS
SELECT c.team_id, c.run_id, r.job_id, r.level, c.cluster_id, c.stable_id, c.title, c.description, c.keywords,
       c.size, c.share, c.avg_cost_usd, c.avg_latency_s, c.avg_tokens, c.error_rate, c.total_cost_usd, c.p95_latency_s,
       c.cluster_id = -1 AS is_outliers,
       row_number() OVER (PARTITION BY c.team_id, c.run_id ORDER BY c.cluster_id = -1, c.size DESC, c.cluster_id) AS position,
       c.theme_id, t.title AS theme_title
FROM llm_clusters.clusters c
JOIN llm_clusters.runs r ON r.team_id = c.team_id AND r.id = c.run_id
LEFT JOIN llm_clusters.themes t ON t.team_id = c.team_id AND t.run_id = c.run_id AND t.theme_id = c.theme_id;
CREATE OR REPLACE VIEW llm_clusters.theme_cards WITH (security_invoker = true) AS
SELECT t.team_id, t.run_id, r.job_id, r.level, t.theme_id, t.title, t.description, t.keywords,
       t.size, t.share, t.avg_cost_usd, t.avg_latency_s, t.avg_tokens, t.error_rate, t.total_cost_usd, t.p95_latency_s,
       (SELECT count(*) FROM llm_clusters.clusters c
        WHERE c.team_id = t.team_id AND c.run_id = t.run_id AND c.theme_id = t.theme_id)::int AS n_clusters,
       (SELECT array_agg(c.title ORDER BY c.size DESC, c.cluster_id) FROM llm_clusters.clusters c
        WHERE c.team_id = t.team_id AND c.run_id = t.run_id AND c.theme_id = t.theme_id) AS cluster_titles,
       row_number() OVER (PARTITION BY t.team_id, t.run_id ORDER BY t.size DESC, t.theme_id) AS position
FROM llm_clusters.themes t
JOIN llm_clusters.runs r ON r.team_id = t.team_id AND r.id = t.run_id;
CREATE OR REPLACE VIEW llm_clusters.scatter_points WITH (security_invoker = true) AS
SELECT a.team_id, a.run_id, a.item_id, a.cluster_id, c.title, a.x, a.y,
       CASE WHEN a.cluster_id = -1 THEN -1 ELSE (coalesce(c.stable_id, a.cluster_id) % 20)::int END AS colour_index,
       false AS is_centroid, a.cluster_id = -1 AS is_outlier
FROM llm_clusters.assignments a
JOIN llm_clusters.clusters c ON c.team_id = a.team_id AND c.run_id = a.run_id AND c.cluster_id = a.cluster_id
UNION ALL
SELECT c.team_id, c.run_id, NULL, c.cluster_id, c.title, c.x, c.y,
       (coalesce(c.stable_id, c.cluster_id) % 20)::int, true, false
FROM llm_clusters.clusters c
WHERE c.cluster_id <> -1;
CREATE OR REPLACE FUNCTION llm_clusters.cluster_items(run_id bigint, cluster_id int, max_items int DEFAULT 50, after_rank int DEFAULT -1)
RETURNS TABLE (item_id text, trace_id text, rank int, distance float8, ts timestamptz, preview text,
               summary_title text, flow text, bullets text[], notes text[])
LANGUAGE plpgsql STABLE STRICT
AS $$
DECLARE
    source regclass;
    run_team int;
    run_level text;
BEGIN
    -- The run's team: ids are the identity's alone since 0.5.0, but rows planted before may
    -- share one, and then the caller must read the run it means by its team.
    IF (SELECT count(DISTINCT r.team_id) FROM llm_clusters.runs r WHERE r.id = cluster_items.run_id) > 1 THEN
        RAISE EXCEPTION 'run % exists in more than one team', cluster_items.run_id
            USING ERRCODE = 'cardinality_violation',
                  HINT = 'Rows with chosen ids were planted before 0.5.0: delete the run of the team that did not create it.';
    END IF;
    SELECT j.source, r.team_id, r.level INTO source, run_team, run_level
    FROM llm_clusters.runs r JOIN llm_clusters.jobs j ON j.team_id = r.team_id AND j.id = r.job_id
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
        WHERE a.team_id = run_team AND a.run_id = cluster_items.run_id AND a.cluster_id = cluster_items.cluster_id
          AND a.rank > after_rank
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
CREATE OR REPLACE FUNCTION llm_clusters.item_clusters(item_id text, team_id int DEFAULT 1)
RETURNS TABLE (job_id int, job_name text, level text, run_id bigint, window_end timestamptz,
               cluster_id int, stable_id bigint, title text, distance float8, incremental boolean)
LANGUAGE sql STABLE STRICT
AS $$
    SELECT DISTINCT ON (r.job_id) r.job_id, r.job_name, r.level, r.id, r.window_end,
           a.cluster_id, c.stable_id, coalesce(c.title, 'Outliers'), a.distance, a.incremental
    FROM (SELECT x.run_id, x.cluster_id, x.distance, false AS incremental FROM llm_clusters.assignments x
          WHERE x.team_id = item_clusters.team_id AND x.item_id = item_clusters.item_id
          UNION ALL
          SELECT x.run_id, x.cluster_id, x.distance, true FROM llm_clusters.incremental_assignments x
          WHERE x.team_id = item_clusters.team_id AND x.item_id = item_clusters.item_id) a
    JOIN llm_clusters.runs r ON r.team_id = item_clusters.team_id AND r.id = a.run_id
                             AND r.status = 'succeeded' AND r.job_id IS NOT NULL
    LEFT JOIN llm_clusters.clusters c ON c.team_id = item_clusters.team_id AND c.run_id = a.run_id
                                     AND c.cluster_id = a.cluster_id
    ORDER BY r.job_id, r.window_end DESC, r.id DESC
$$;
CREATE OR REPLACE VIEW llm_clusters.cluster_trends WITH (security_invoker = true) AS
WITH daily AS (
    SELECT DISTINCT ON (r.team_id, r.job_id, day) r.*, day
    FROM llm_clusters.runs r,
         LATERAL (SELECT (coalesce(r.cycle, r.window_end) AT TIME ZONE 'UTC')::date AS day) d
    WHERE r.status = 'succeeded' AND r.job_id IS NOT NULL
    ORDER BY r.team_id, r.job_id, day, r.id DESC
)
SELECT d.team_id,
       d.job_id,
       d.job_name,
       d.level,
       c.stable_id,
       first_value(c.title) OVER (PARTITION BY d.team_id, c.stable_id ORDER BY d.day DESC) AS latest_title,
       c.title,
       d.day,
       dense_rank() OVER (PARTITION BY d.team_id, d.job_id ORDER BY d.day DESC) - 1 AS runs_ago,
       d.id AS run_id,
       c.cluster_id,
       c.size,
       c.share,
       c.avg_cost_usd,
       c.avg_latency_s,
       c.avg_tokens,
       c.error_rate,
       c.total_cost_usd,
       c.p95_latency_s
FROM daily d
JOIN llm_clusters.clusters c ON c.team_id = d.team_id AND c.run_id = d.id
WHERE c.stable_id IS NOT NULL;

-- A job's source, filters, params, level and team are its owner's to change; every
-- function runs with search_path = pg_catalog, pg_temp (a writable public schema cannot
-- lend a superuser's call a function of its own).
CREATE OR REPLACE FUNCTION llm_clusters._jobs_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.team_id IS DISTINCT FROM OLD.team_id THEN
        -- create_job serialises inserts (LOCK TABLE, which readers cannot take; an
        -- advisory lock anyone can hold would let any role stall every team's inserts).
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
    -- What a run reads and does is the owner's to choose: changing it on a job of another
    -- owner would run the writer's choice (a view of its own) with that owner's rights.
    IF TG_OP = 'UPDATE'
       AND (NEW.source, NEW.filters, NEW.params, NEW.level, NEW.team_id)
           IS DISTINCT FROM (OLD.source, OLD.filters, OLD.params, OLD.level, OLD.team_id)
       AND NOT pg_catalog.pg_has_role(current_user, NEW.owner, 'MEMBER') THEN
        RAISE EXCEPTION 'role "%" may not change what job "%" reads: its owner is role "%"', current_user, NEW.name, NEW.owner
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Make the job yours first (SET owner = current_user), or ask its owner.';
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
CREATE OR REPLACE FUNCTION llm_clusters.create_job(
    name text,
    level text DEFAULT 'trace',
    filters jsonb DEFAULT '[]',
    enabled boolean DEFAULT true,
    team_id int DEFAULT 1,
    source regclass DEFAULT NULL,
    params jsonb DEFAULT '{}'
) RETURNS int
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Two sessions cannot both pass the per-team cap (the jobs trigger counts).
    LOCK TABLE llm_clusters.jobs IN SHARE ROW EXCLUSIVE MODE;
    INSERT INTO llm_clusters.jobs (team_id, name, level, source, filters, enabled, params)
    VALUES (create_job.team_id, create_job.name, create_job.level, create_job.source,
            coalesce(create_job.filters, '[]'), create_job.enabled, coalesce(create_job.params, '{}'))
    RETURNING id
$$;
ALTER FUNCTION llm_clusters.label_run(bigint) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters.embed_text(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters.embed_pending(text, int) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters.capture(jsonb, int) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters._owner_may_read(regrole, regclass) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters.run_job(int, timestamptz) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters.run_due_jobs() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters.assign(int, real[]) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters.assign_pending(int) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters.cluster_items(bigint, int, int, int) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters.item_clusters(text, int) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters.report_html(bigint, int) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters.summarize_pending(text, int) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters.embed_summaries(text, int) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters.trace_html(text, int) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters._label_run(bigint) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters._assign(int, real[]) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters._assign_pending(int) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters._embed_text(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters._embed_pending(text, int) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters._embed_summaries(text, int) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters._item_previews(bigint, text[], int) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters._validate_job(oid, jsonb, jsonb) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters._report_html(bigint, int) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters._run_job(int, timestamptz) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters._run_due_jobs() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters._summarize_pending(text, int) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION llm_clusters._trace_html(text, int) SET search_path = pg_catalog, pg_temp;

-- _capture takes the payload as text and checks its size itself (it trusted a size its
-- caller passed, and admins may call it directly).
DROP FUNCTION llm_clusters._capture(jsonb, int, bigint);
CREATE FUNCTION "_capture"(
	"payload" TEXT,
	"team_id" INT
) RETURNS bigint
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'capture_events_wrapper';
CREATE OR REPLACE FUNCTION llm_clusters.capture(payload jsonb, team_id int DEFAULT 1)
RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._capture(payload::text, team_id) $$;
COMMENT ON FUNCTION llm_clusters._capture(text, int) IS 'Internal: use llm_clusters.capture().';
REVOKE EXECUTE ON FUNCTION llm_clusters._capture(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters._capture(text, int) TO llm_clusters_admin;

-- Function privileges: nothing for PUBLIC
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
-- Reading functions: readers (and admins, who are readers), not PUBLIC: the ingest role
-- (USAGE on the schema) runs capture_with_key and nothing else.
REVOKE EXECUTE ON FUNCTION llm_clusters.embed_text(text), llm_clusters._embed_text(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.embed_text(text), llm_clusters._embed_text(text) TO llm_clusters_reader;
-- Pages are for readers, not PUBLIC (the ingest role runs capture_with_key only).
REVOKE EXECUTE ON FUNCTION llm_clusters.trace_html(text, int), llm_clusters._trace_html(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.trace_html(text, int), llm_clusters._trace_html(text, int) TO llm_clusters_reader;
-- Reading functions: readers, not PUBLIC (the ingest role runs capture_with_key only).
REVOKE EXECUTE ON FUNCTION llm_clusters.assign(int, real[]), llm_clusters._assign(int, real[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.assign(int, real[]), llm_clusters._assign(int, real[]) TO llm_clusters_reader;
-- Reading functions: readers, not PUBLIC (the ingest role runs capture_with_key only).
-- _item_previews is bounded to what cluster_items promises: items of the run, 300 characters.
REVOKE EXECUTE ON FUNCTION
    llm_clusters.report_html(bigint, int),
    llm_clusters._report_html(bigint, int),
    llm_clusters._item_previews(bigint, text[], int),
    llm_clusters.cluster_items(bigint, int, int, int),
    llm_clusters.item_clusters(text, int)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters.report_html(bigint, int),
    llm_clusters._report_html(bigint, int),
    llm_clusters._item_previews(bigint, text[], int),
    llm_clusters.cluster_items(bigint, int, int, int),
    llm_clusters.item_clusters(text, int)
    TO llm_clusters_reader;
-- What the jobs trigger calls, as the admin who writes the job; _owner_may_read is also
-- asked before every read of a source (a reader's report_html, say).
REVOKE EXECUTE ON FUNCTION
    llm_clusters._owner_may_read(regrole, regclass),
    llm_clusters._jobs_check(),
    llm_clusters._validate_job(oid, jsonb, jsonb),
    llm_clusters._max_jobs_per_team()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters._owner_may_read(regrole, regclass),
    llm_clusters._jobs_check(),
    llm_clusters._validate_job(oid, jsonb, jsonb),
    llm_clusters._max_jobs_per_team()
    TO llm_clusters_admin;
GRANT EXECUTE ON FUNCTION llm_clusters._owner_may_read(regrole, regclass) TO llm_clusters_reader;
