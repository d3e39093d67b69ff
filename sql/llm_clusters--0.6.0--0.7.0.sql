-- 0.6.0 -> 0.7.0

-- locks (security fix "table locks across teams"): PostgreSQL lets LOCK TABLE take any mode
-- with a table-level UPDATE, DELETE or TRUNCATE, so one team's admin could hold ACCESS
-- EXCLUSIVE on a shared table in an idle transaction and stall every team; create_job's own
-- SHARE ROW EXCLUSIVE lock on jobs stalled every team's job writes until its caller's
-- transaction ended. UPDATE is now granted per column, DELETE not at all (deletions.sql),
-- and the per-team job cap is kept by a row lock of the team's job_cap_locks row.
-- (REVOKE of a table-level privilege also revokes the column-level ones: then the grants.)
REVOKE UPDATE, DELETE ON llm_clusters.jobs, llm_clusters.runs FROM llm_clusters_admin;
REVOKE UPDATE ON llm_clusters.clusters, llm_clusters.themes, llm_clusters.item_summaries FROM llm_clusters_admin;
REVOKE DELETE ON llm_clusters.steering FROM llm_clusters_admin;
GRANT UPDATE (team_id, name, level, source, filters, enabled, params, owner) ON llm_clusters.jobs TO llm_clusters_admin;
GRANT UPDATE (finished_at, status, error, n_items, n_clusters, n_outliers, quality, timings) ON llm_clusters.runs TO llm_clusters_admin;
GRANT UPDATE (title, description, size, share, avg_cost_usd, avg_latency_s, avg_tokens, error_rate,
              total_cost_usd, p95_latency_s, stable_id, steering_id, steering) ON llm_clusters.clusters TO llm_clusters_admin;
GRANT UPDATE (size, share, avg_cost_usd, avg_latency_s, avg_tokens, error_rate, total_cost_usd, p95_latency_s)
    ON llm_clusters.themes TO llm_clusters_admin;
GRANT UPDATE (title, flow, bullets, notes, source, model, n_events, embedding, embedding_model, updated_at)
    ON llm_clusters.item_summaries TO llm_clusters_admin;

-- One row per team, locked FOR UPDATE by the jobs trigger before it counts the team's jobs:
-- two writers of one team cannot both pass llm_clusters.max_jobs_per_team, and no team
-- waits for another (a LOCK TABLE on jobs would make every team wait; an advisory lock
-- any role can take would let any role stall the inserts). Privileges per column only,
-- so no LOCK TABLE mode above ACCESS SHARE is granted on it.
CREATE TABLE llm_clusters.job_cap_locks (
    team_id int PRIMARY KEY
);
ALTER TABLE llm_clusters.job_cap_locks ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.job_cap_locks
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.job_cap_locks TO llm_clusters_reader;
-- UPDATE is what SELECT ... FOR UPDATE needs.
GRANT INSERT (team_id), UPDATE (team_id) ON llm_clusters.job_cap_locks TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.job_cap_locks IS
    'Internal: one row per team with jobs, locked while a job of the team is created so that llm_clusters.max_jobs_per_team holds; no team waits for another.';
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.job_cap_locks', '');

CREATE OR REPLACE FUNCTION llm_clusters._jobs_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.team_id IS DISTINCT FROM OLD.team_id THEN
        -- Writers of the team's jobs take turns here (the team's row of job_cap_locks, held
        -- to the end of the transaction), so that two cannot both pass the count below.
        BEGIN
            INSERT INTO llm_clusters.job_cap_locks (team_id) VALUES (NEW.team_id) ON CONFLICT DO NOTHING;
            PERFORM FROM llm_clusters.job_cap_locks l WHERE l.team_id = NEW.team_id FOR UPDATE;
        EXCEPTION WHEN insufficient_privilege THEN
            -- Not a team of the writer: the jobs policy refuses the row after this trigger.
            NULL;
        END;
        IF (SELECT count(*) FROM llm_clusters.jobs WHERE team_id = NEW.team_id)
           >= llm_clusters._max_jobs_per_team() THEN
            RAISE EXCEPTION 'team % already has % jobs, the most llm_clusters.max_jobs_per_team allows',
                NEW.team_id, llm_clusters._max_jobs_per_team()
                USING ERRCODE = 'program_limit_exceeded',
                      HINT = 'Delete a job (llm_clusters.delete_job) or reuse one, or raise llm_clusters.max_jobs_per_team.';
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
    INSERT INTO llm_clusters.jobs (team_id, name, level, source, filters, enabled, params)
    VALUES (create_job.team_id, create_job.name, create_job.level, create_job.source,
            coalesce(create_job.filters, '[]'), create_job.enabled, coalesce(create_job.params, '{}'))
    RETURNING id
$$;

CREATE OR REPLACE FUNCTION llm_clusters.undo_steering(job_id int, steering_id int) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    team int := llm_clusters._steered_job(job_id);
BEGIN
    UPDATE llm_clusters.steering s SET delete_requested = true
    WHERE s.team_id = team AND s.job_id = undo_steering.job_id AND s.id = steering_id;
    RETURN FOUND;
END $$;

CREATE OR REPLACE FUNCTION llm_clusters.unpin_topic(job_id int, topic_id int) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    team int := llm_clusters._steered_job(job_id);
BEGIN
    UPDATE llm_clusters.steering s SET delete_requested = true
    WHERE s.team_id = team AND s.job_id = unpin_topic.job_id AND s.id = topic_id AND s.kind = 'pin';
    RETURN FOUND;
END $$;

ALTER TABLE llm_clusters.jobs ADD COLUMN delete_requested boolean NOT NULL DEFAULT false;
ALTER TABLE llm_clusters.steering ADD COLUMN delete_requested boolean NOT NULL DEFAULT false;
GRANT UPDATE (delete_requested) ON llm_clusters.jobs, llm_clusters.steering TO llm_clusters_admin;
COMMENT ON COLUMN llm_clusters.jobs.delete_requested IS
    'Setting it to true deletes the job (what llm_clusters.delete_job does); never seen true.';
COMMENT ON COLUMN llm_clusters.steering.delete_requested IS
    'Setting it to true deletes the steer (what undo_steering and unpin_topic do); never seen true.';

-- A trigger function cannot be called by itself: its only input is the row the invoker's
-- UPDATE changed, which row-level security let it see (USING) and keep (WITH CHECK), so the
-- team is one of the invoker's. No argument is trusted.
CREATE FUNCTION llm_clusters._delete_requested() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'jobs' THEN
        DELETE FROM llm_clusters.jobs j WHERE j.team_id = NEW.team_id AND j.id = NEW.id;
    ELSIF TG_TABLE_NAME = 'steering' THEN
        DELETE FROM llm_clusters.steering s WHERE s.team_id = NEW.team_id AND s.id = NEW.id;
    ELSE
        RAISE EXCEPTION 'llm_clusters._delete_requested() deletes no rows of %', TG_TABLE_NAME
            USING ERRCODE = 'feature_not_supported';
    END IF;
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION llm_clusters._delete_requested() FROM PUBLIC;
COMMENT ON FUNCTION llm_clusters._delete_requested() IS
    'Internal: deletes the row whose delete_requested an UPDATE set (jobs, steering), as the extension''s owner.';

CREATE TRIGGER jobs_delete_requested AFTER UPDATE OF delete_requested ON llm_clusters.jobs
    FOR EACH ROW WHEN (NEW.delete_requested) EXECUTE FUNCTION llm_clusters._delete_requested();
CREATE TRIGGER steering_delete_requested AFTER UPDATE OF delete_requested ON llm_clusters.steering
    FOR EACH ROW WHEN (NEW.delete_requested) EXECUTE FUNCTION llm_clusters._delete_requested();

CREATE FUNCTION llm_clusters.delete_job(job_id int) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE llm_clusters.jobs j SET delete_requested = true WHERE j.id = delete_job.job_id;
    RETURN FOUND;
END $$;
REVOKE EXECUTE ON FUNCTION llm_clusters.delete_job(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.delete_job(int) TO llm_clusters_admin;
COMMENT ON FUNCTION llm_clusters.delete_job(int) IS
    'Deletes a job of one of your teams with its steering (its runs stay, with job_id NULL); true if it existed, false for no such job of your teams. Waits for a run of the job in progress.';
