-- 0.8.0 -> 0.9.0

-- ---------------------------------------------------------------------------------------
-- Shared int ids cannot be used up (sql/jobs.sql, sql/steering.sql): jobs.id and
-- steering.id cycle, and a trigger skips ids in use; steers are ordered by creation.
ALTER TABLE llm_clusters.jobs ALTER COLUMN id SET CYCLE;
ALTER TABLE llm_clusters.steering ALTER COLUMN id SET CYCLE;
-- jobs.id and steering.id are ints every team shares, and every INSERT draws one, even one
-- that then fails or is rolled back: a team looping failed inserts (or create_job in a
-- transaction it rolls back) would use up the 2^31 values for all teams in about a day.
-- So those identities CYCLE, and this trigger moves a drawn id past the ids of rows that
-- still exist, of every team (hence SECURITY DEFINER: the policies hide other teams' rows).
-- Ids of deleted rows come back after 2^31 draws (a deleted job's runs keep job_id NULL).
CREATE FUNCTION llm_clusters._unused_id() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'jobs' THEN
        WHILE EXISTS (SELECT FROM llm_clusters.jobs j WHERE j.id = NEW.id) LOOP
            NEW.id := nextval('llm_clusters.jobs_id_seq');
        END LOOP;
    ELSE
        WHILE EXISTS (SELECT FROM llm_clusters.steering s WHERE s.id = NEW.id) LOOP
            NEW.id := nextval('llm_clusters.steering_id_seq');
        END LOOP;
    END IF;
    RETURN NEW;
END $$;
REVOKE EXECUTE ON FUNCTION llm_clusters._unused_id() FROM PUBLIC;
COMMENT ON FUNCTION llm_clusters._unused_id() IS
    'Internal: gives a new job or steer an id no row of any team has (the ids cycle after 2^31).';
CREATE TRIGGER jobs_unused_id BEFORE INSERT ON llm_clusters.jobs
    FOR EACH ROW EXECUTE FUNCTION llm_clusters._unused_id();
CREATE INDEX steering_id_idx ON llm_clusters.steering (id);
CREATE TRIGGER steering_unused_id BEFORE INSERT ON llm_clusters.steering
    FOR EACH ROW EXECUTE FUNCTION llm_clusters._unused_id();
CREATE OR REPLACE FUNCTION llm_clusters.undo_steering(job_id int, steering_id int) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    team int := llm_clusters._steered_job(job_id);
    steer record;
    latest bigint;
    later int;
BEGIN
    SELECT s.run_id, s.created_at, s.restore IS NOT NULL AS restorable INTO steer
    FROM llm_clusters.steering s WHERE s.team_id = team AND s.job_id = undo_steering.job_id AND s.id = steering_id;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF steer.restorable THEN
        -- As a steer does: runs of the job wait, so that the latest run stays the latest.
        SELECT (SELECT r.id FROM llm_clusters.runs r WHERE r.team_id = j.team_id AND r.job_id = j.id AND r.status = 'succeeded'
                ORDER BY r.window_end DESC, r.id DESC LIMIT 1)
        INTO latest FROM llm_clusters.jobs j WHERE j.team_id = team AND j.id = undo_steering.job_id FOR NO KEY UPDATE OF j;
        IF latest = steer.run_id THEN
            -- Order by creation: ids cycle (jobs.sql).
            SELECT s.id INTO later FROM llm_clusters.steering s
            WHERE s.team_id = team AND s.run_id = steer.run_id AND (s.created_at, s.id) > (steer.created_at, steering_id)
              AND s.restore IS NOT NULL
            ORDER BY s.created_at, s.id LIMIT 1;
            IF later IS NOT NULL THEN
                RAISE EXCEPTION 'steering % changed run % after steering %', later, steer.run_id, steering_id
                    USING ERRCODE = 'object_not_in_prerequisite_state',
                          HINT = format('Undo steering %s first: a run''s steers are undone in the reverse order.', later);
            END IF;
            PERFORM llm_clusters._restore_run(team, steering_id);
        END IF;
    END IF;
    UPDATE llm_clusters.steering s SET delete_requested = true
    WHERE s.team_id = team AND s.job_id = undo_steering.job_id AND s.id = steering_id;
    RETURN FOUND;
END $$;

-- ---------------------------------------------------------------------------------------
-- theme_trends, beside cluster_trends; both read the day's last run from _daily_runs
-- (sql/lineage.sql, sql/themes_identity.sql).
-- The last succeeded run of each day of each job: the runs the trend views show.
CREATE VIEW llm_clusters._daily_runs WITH (security_invoker = true) AS
SELECT DISTINCT ON (r.team_id, r.job_id, day) r.*, day,
       dense_rank() OVER (PARTITION BY r.team_id, r.job_id ORDER BY day DESC) - 1 AS runs_ago
FROM llm_clusters.runs r,
     LATERAL (SELECT (coalesce(r.cycle, r.window_end) AT TIME ZONE 'UTC')::date AS day) d
WHERE r.status = 'succeeded' AND r.job_id IS NOT NULL
ORDER BY r.team_id, r.job_id, day, r.id DESC;
COMMENT ON VIEW llm_clusters._daily_runs IS
    'Internal: the last succeeded run of each day (its cycle, else its window end, in UTC) of each job, with runs_ago = 0 for the newest day.';
GRANT SELECT ON llm_clusters._daily_runs TO llm_clusters_reader;

-- Per stable cluster and day.
CREATE OR REPLACE VIEW llm_clusters.cluster_trends WITH (security_invoker = true) AS
SELECT d.team_id,
       d.job_id,
       d.job_name,
       d.level,
       c.stable_id,
       first_value(llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users))
           OVER (PARTITION BY d.team_id, c.stable_id ORDER BY d.day DESC) AS latest_title,
       llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users) AS title,
       d.day,
       d.runs_ago,
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
FROM llm_clusters._daily_runs d
JOIN llm_clusters.clusters c ON c.team_id = d.team_id AND c.run_id = d.id
LEFT JOIN llm_clusters.distinct_users u
       ON u.team_id = c.team_id AND u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
WHERE c.stable_id IS NOT NULL;

-- Per stable theme and day, as cluster_trends (lineage.sql) per stable cluster.
CREATE VIEW llm_clusters.theme_trends WITH (security_invoker = true) AS
SELECT d.team_id,
       d.job_id,
       d.job_name,
       d.level,
       t.stable_id,
       first_value(llm_clusters._floored_theme_title(t.title, u.users))
           OVER (PARTITION BY d.team_id, t.stable_id ORDER BY d.day DESC) AS latest_title,
       llm_clusters._floored_theme_title(t.title, u.users) AS title,
       d.day,
       d.runs_ago,
       d.id AS run_id,
       t.theme_id,
       t.size,
       t.share,
       t.avg_cost_usd,
       t.avg_latency_s,
       t.avg_tokens,
       t.error_rate,
       t.total_cost_usd,
       t.p95_latency_s
FROM llm_clusters._daily_runs d
JOIN llm_clusters.themes t ON t.team_id = d.team_id AND t.run_id = d.id
LEFT JOIN llm_clusters.distinct_users u
       ON u.team_id = t.team_id AND u.run_id = t.run_id AND u.grouping = 'theme' AND u.group_id = t.theme_id
WHERE t.stable_id IS NOT NULL;
COMMENT ON VIEW llm_clusters.theme_trends IS
    'Per job, stable theme and day (the last succeeded run of the day): size, share and metrics; runs_ago = 0 for the latest day; latest_title is the theme''s newest title, for stable legends. Titles below llm_clusters.min_distinct_users read Small theme.';
GRANT SELECT ON llm_clusters.theme_trends TO llm_clusters_reader;
-- ---------------------------------------------------------------------------------------
-- Job owners: a role the writer may SET ROLE to (PostgreSQL 16+ has memberships WITH SET
-- FALSE, which counted as MEMBER and let a member have jobs run as the role).
-- Validation of every write to jobs (create_job, plain INSERT or UPDATE alike).
CREATE OR REPLACE FUNCTION llm_clusters._jobs_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- The lens the default source follows (params.embed = "summary" is the summary lens);
    -- _validate_job checks it.
    lens text := CASE WHEN NEW.params->>'embed' = 'summary' THEN 'summary' ELSE coalesce(NEW.params->>'lens', 'request') END;
    -- Who may own a job: a role the writer may SET ROLE to, PostgreSQL's own rule for giving
    -- an object to a role. From 16 a membership may be WITH SET FALSE (and INHERIT FALSE):
    -- counted as MEMBER, such a member had jobs run as the role, and read through them what
    -- the role may read and the member may not. Before 16 every member may SET ROLE.
    may_become text := CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 160000 THEN 'SET' ELSE 'MEMBER' END;
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
    -- The owner: the creator unless named, and only a role the writer may become.
    IF TG_OP = 'INSERT' THEN
        NEW.owner := coalesce(NEW.owner, pg_catalog.to_regrole(pg_catalog.quote_ident(current_user)));
    END IF;
    IF (TG_OP = 'INSERT' OR NEW.owner IS DISTINCT FROM OLD.owner)
       AND NOT pg_catalog.pg_has_role(current_user, NEW.owner, may_become) THEN
        RAISE EXCEPTION 'role "%" may not make role "%" the owner of a job', current_user, NEW.owner
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A job''s owner must be a role you may SET ROLE to.';
    END IF;
    -- What a run reads and does is the owner's to choose: changing it on a job of another
    -- owner would run the writer's choice (a view of its own) with that owner's rights.
    IF TG_OP = 'UPDATE'
       AND (NEW.source, NEW.filters, NEW.params, NEW.level, NEW.team_id)
           IS DISTINCT FROM (OLD.source, OLD.filters, OLD.params, OLD.level, OLD.team_id)
       AND NOT pg_catalog.pg_has_role(current_user, NEW.owner, may_become) THEN
        RAISE EXCEPTION 'role "%" may not change what job "%" reads: its owner is role "%"', current_user, NEW.name, NEW.owner
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Make the job yours first (SET owner = current_user), or ask its owner.';
    END IF;
    -- The default source follows the level and the lens (params.lens, params.embed).
    IF NEW.source IS NULL OR NEW.source IN (
           'llm_clusters.trace_items'::regclass, 'llm_clusters.generation_items'::regclass,
           'llm_clusters.trace_summary_items'::regclass, 'llm_clusters.generation_summary_items'::regclass,
           'llm_clusters.trace_answer_items'::regclass, 'llm_clusters.generation_answer_items'::regclass,
           'llm_clusters.trace_error_items'::regclass, 'llm_clusters.generation_error_items'::regclass,
           'llm_clusters.trace_flow_items'::regclass, 'llm_clusters.generation_flow_items'::regclass,
           'llm_clusters.evaluation_items'::regclass) THEN
        NEW.source := CASE WHEN NEW.level = 'evaluation' THEN 'llm_clusters.evaluation_items'::regclass
                           WHEN NEW.level = 'trace' THEN
                               CASE lens WHEN 'summary' THEN 'llm_clusters.trace_summary_items'::regclass
                                         WHEN 'answer' THEN 'llm_clusters.trace_answer_items'::regclass
                                         WHEN 'error' THEN 'llm_clusters.trace_error_items'::regclass
                                         WHEN 'flow' THEN 'llm_clusters.trace_flow_items'::regclass
                                         ELSE 'llm_clusters.trace_items'::regclass END
                           ELSE
                               CASE lens WHEN 'summary' THEN 'llm_clusters.generation_summary_items'::regclass
                                         WHEN 'answer' THEN 'llm_clusters.generation_answer_items'::regclass
                                         WHEN 'error' THEN 'llm_clusters.generation_error_items'::regclass
                                         WHEN 'flow' THEN 'llm_clusters.generation_flow_items'::regclass
                                         ELSE 'llm_clusters.generation_items'::regclass END END;
    ELSIF NEW.params->>'embed' = 'summary' THEN
        RAISE EXCEPTION 'params.embed = "summary" chooses the default source; job "%" reads its own source %', NEW.name, NEW.source
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Leave source out, or give your source an embedding column of the summaries.';
    ELSIF lens <> 'request' THEN
        RAISE EXCEPTION 'params.lens "%" chooses the default source; job "%" reads its own source %', lens, NEW.name, NEW.source
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Leave source out, or leave params.lens (and params.embed) out and give your source the embeddings you want clustered.';
    END IF;
    -- Only what changed is checked: a job whose source was dropped can still be disabled.
    IF TG_OP = 'INSERT' OR (NEW.source, NEW.filters, NEW.params, NEW.level) IS DISTINCT FROM (OLD.source, OLD.filters, OLD.params, OLD.level) THEN
        PERFORM llm_clusters._validate_job(NEW.source, NEW.filters, NEW.params, NEW.level);
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
COMMENT ON COLUMN llm_clusters.jobs.owner IS
    'The role every read of the source runs as (in a security-restricted operation, whoever runs the job): the creator unless set; only a role the writer may SET ROLE to, and one that may read the source.';

-- ---------------------------------------------------------------------------------------
-- What admins write into clusters and themes is bounded (jobs.sql): rows beyond the bounds
-- can only have been planted, and are cut (a centroid beyond them is dropped: the cluster
-- is no longer assigned to) before the constraints are added.
UPDATE llm_clusters.clusters SET centroid = NULL WHERE cardinality(centroid) > 16000;
UPDATE llm_clusters.clusters SET title = left(title, 1000) WHERE length(title) > 1000;
UPDATE llm_clusters.clusters SET description = left(description, 10000) WHERE length(description) > 10000;
UPDATE llm_clusters.clusters SET keywords = '{}' WHERE cardinality(keywords) > 100 OR octet_length(keywords::text) > 10000;
UPDATE llm_clusters.themes SET centroid = NULL WHERE cardinality(centroid) > 16000;
UPDATE llm_clusters.themes SET title = left(title, 1000) WHERE length(title) > 1000;
UPDATE llm_clusters.themes SET description = left(description, 10000) WHERE length(description) > 10000;
UPDATE llm_clusters.themes SET keywords = '{}' WHERE cardinality(keywords) > 100 OR octet_length(keywords::text) > 10000;
ALTER TABLE llm_clusters.clusters
    ADD CONSTRAINT clusters_title_check CHECK (length(title) <= 1000),
    ADD CONSTRAINT clusters_description_check CHECK (length(description) <= 10000),
    ADD CONSTRAINT clusters_keywords_check CHECK (cardinality(keywords) <= 100 AND octet_length(keywords::text) <= 10000),
    ADD CONSTRAINT clusters_centroid_check CHECK (cardinality(centroid) <= 16000);
ALTER TABLE llm_clusters.themes
    ADD CONSTRAINT themes_title_check CHECK (length(title) <= 1000),
    ADD CONSTRAINT themes_description_check CHECK (length(description) <= 10000),
    ADD CONSTRAINT themes_keywords_check CHECK (cardinality(keywords) <= 100 AND octet_length(keywords::text) <= 10000),
    ADD CONSTRAINT themes_centroid_check CHECK (cardinality(centroid) <= 16000);

-- ---------------------------------------------------------------------------------------
-- Team membership is having the team role's privileges (teams.sql): a membership WITH
-- INHERIT FALSE, SET FALSE (PostgreSQL 16+) showed the member the role's teams' rows.
ALTER POLICY own_memberships ON llm_clusters.team_roles
    USING (role_name IN (SELECT r.rolname FROM pg_catalog.pg_roles r
                         WHERE pg_catalog.pg_has_role(current_user, r.oid, 'USAGE')));
