-- The one rule for who may own a job: its owner may read the source (USAGE on the schema,
-- SELECT on the relation). Checked on every write of a job and again before every run.
CREATE FUNCTION llm_clusters._owner_may_read(owner regrole, source regclass) RETURNS boolean
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.has_schema_privilege(owner, c.relnamespace, 'USAGE')
           AND pg_catalog.has_table_privilege(owner, c.oid, 'SELECT')
    FROM pg_catalog.pg_class c WHERE c.oid = source
$$;

-- Whose code a read of the source runs: a view's functions, operators and type coercions
-- run as the role that reads it (the job's owner), whoever wrote them. The read trusts the
-- owner of the relation, of every relation its views read, and of every function, operator
-- and type those views name: each must be the job's owner, a superuser, or a role that has
-- the owner's privileges anyway (inherits them, or may SET ROLE to the owner: from 16 a
-- membership may be WITH INHERIT FALSE, SET TRUE; before 16 every member may). Returns the
-- first other one ("function s.f(text) of role r"), NULL when there is none. Asked before
-- every read of a source.
CREATE FUNCTION llm_clusters._source_foreign_code(owner regrole, source regclass) RETURNS text
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE rels(oid) AS (
        SELECT source::oid
        UNION
        SELECT d.refobjid
        FROM rels r
        JOIN pg_catalog.pg_rewrite w ON w.ev_class = r.oid AND w.ev_type = '1'
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid
                                   AND d.refclassid = 'pg_catalog.pg_class'::regclass
    ), named(classid, objid) AS (
        SELECT DISTINCT d.refclassid, d.refobjid
        FROM rels r
        JOIN pg_catalog.pg_rewrite w ON w.ev_class = r.oid AND w.ev_type = '1'
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid
        WHERE d.refclassid IN ('pg_catalog.pg_proc'::regclass, 'pg_catalog.pg_operator'::regclass, 'pg_catalog.pg_type'::regclass)
    ), objects(what, objowner) AS (
        SELECT pg_catalog.format('relation %s', c.oid::regclass), c.relowner
        FROM rels r JOIN pg_catalog.pg_class c ON c.oid = r.oid
        UNION ALL
        SELECT pg_catalog.format('function %s', p.oid::regprocedure), p.proowner
        FROM named n JOIN pg_catalog.pg_proc p ON n.classid = 'pg_catalog.pg_proc'::regclass AND p.oid = n.objid
        UNION ALL
        SELECT pg_catalog.format('operator %s', o.oid::regoperator), o.oprowner
        FROM named n JOIN pg_catalog.pg_operator o ON n.classid = 'pg_catalog.pg_operator'::regclass AND o.oid = n.objid
        UNION ALL
        SELECT pg_catalog.format('function %s', p.oid::regprocedure), p.proowner
        FROM named n JOIN pg_catalog.pg_operator o ON n.classid = 'pg_catalog.pg_operator'::regclass AND o.oid = n.objid
        JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode
        UNION ALL
        SELECT pg_catalog.format('type %s', t.oid::regtype), t.typowner
        FROM named n JOIN pg_catalog.pg_type t ON n.classid = 'pg_catalog.pg_type'::regclass AND t.oid = n.objid
    )
    SELECT pg_catalog.format('%s of role %I', o.what, pg_catalog.pg_get_userbyid(o.objowner))
    FROM objects o
    WHERE o.objowner <> owner::oid
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles ro WHERE ro.oid = o.objowner AND ro.rolsuper)
      AND NOT pg_catalog.pg_has_role(o.objowner, owner::oid, 'USAGE')
      AND NOT pg_catalog.pg_has_role(o.objowner, owner::oid,
              CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 160000 THEN 'SET' ELSE 'MEMBER' END)
    ORDER BY 1 LIMIT 1
$$;

-- Validation of every write to jobs (create_job, plain INSERT or UPDATE alike).
CREATE FUNCTION llm_clusters._jobs_check() RETURNS trigger
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

CREATE TRIGGER jobs_check BEFORE INSERT OR UPDATE ON llm_clusters.jobs
    FOR EACH ROW EXECUTE FUNCTION llm_clusters._jobs_check();

CREATE FUNCTION llm_clusters.create_job(
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

CREATE FUNCTION llm_clusters.run_job(job_id int, window_end timestamptz DEFAULT now())
RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._run_job(job_id, window_end) $$;

CREATE FUNCTION llm_clusters.run_due_jobs()
RETURNS SETOF bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._run_due_jobs() $$;

COMMENT ON FUNCTION llm_clusters.run_due_jobs() IS
    'Runs every enabled job that has no run in the current daily cycle (started at llm_clusters.daily_run_time, UTC) and was enabled before it began; returns the new run ids. Jobs another session is running are skipped. Safe to call at any frequency, e.g. from pg_cron every minute.';
COMMENT ON FUNCTION llm_clusters._run_due_jobs() IS 'Internal: use llm_clusters.run_due_jobs().';
COMMENT ON FUNCTION llm_clusters.create_job(text, text, jsonb, boolean, int, regclass, jsonb) IS
    'Creates a clustering job and returns its id; the source, filters and params are validated.';
COMMENT ON FUNCTION llm_clusters.run_job(int, timestamptz) IS
    'Runs a job now over [window_end - window, window_end) and returns the run id. A failure is recorded in the run (status failed) with a WARNING; results appear all at once or not at all.';
COMMENT ON FUNCTION llm_clusters._source_foreign_code(regrole, regclass) IS
    'Internal: the first relation, function, operator or type a read of the source runs or reads whose owner is not the job''s owner, a superuser or a role with the owner''s privileges (NULL when none): its code would run with the owner''s rights.';
COMMENT ON FUNCTION llm_clusters._owner_may_read(regrole, regclass) IS
    'Internal: whether a role may read a relation as a job''s source (USAGE on its schema, SELECT on it).';
COMMENT ON FUNCTION llm_clusters._jobs_check() IS 'Internal: validates writes to llm_clusters.jobs.';
COMMENT ON FUNCTION llm_clusters._validate_job(oid, jsonb, jsonb, text) IS 'Internal: checks a job''s source columns, filters and params, and that its lens suits its level.';
COMMENT ON FUNCTION llm_clusters._max_jobs_per_team() IS 'Internal: the llm_clusters.max_jobs_per_team setting.';
COMMENT ON FUNCTION llm_clusters._run_job(int, timestamptz) IS 'Internal: use llm_clusters.run_job().';

-- What writes is for admins only (EXECUTE is PUBLIC by default).
REVOKE EXECUTE ON FUNCTION
    llm_clusters.create_job(text, text, jsonb, boolean, int, regclass, jsonb),
    llm_clusters.run_job(int, timestamptz),
    llm_clusters._run_job(int, timestamptz),
    llm_clusters.run_due_jobs(),
    llm_clusters._run_due_jobs()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters.create_job(text, text, jsonb, boolean, int, regclass, jsonb),
    llm_clusters.run_job(int, timestamptz),
    llm_clusters._run_job(int, timestamptz),
    llm_clusters.run_due_jobs(),
    llm_clusters._run_due_jobs()
    TO llm_clusters_admin;
-- What the jobs trigger calls, as the admin who writes the job; _owner_may_read is also
-- asked before every read of a source (a reader's report_html, say).
REVOKE EXECUTE ON FUNCTION
    llm_clusters._owner_may_read(regrole, regclass),
    llm_clusters._jobs_check(),
    llm_clusters._validate_job(oid, jsonb, jsonb, text),
    llm_clusters._max_jobs_per_team()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters._owner_may_read(regrole, regclass),
    llm_clusters._jobs_check(),
    llm_clusters._validate_job(oid, jsonb, jsonb, text),
    llm_clusters._max_jobs_per_team()
    TO llm_clusters_admin;
GRANT EXECUTE ON FUNCTION llm_clusters._owner_may_read(regrole, regclass) TO llm_clusters_reader;
-- Asked before every read of a source, as whoever reads it (a reader's report_html, say).
REVOKE EXECUTE ON FUNCTION llm_clusters._source_foreign_code(regrole, regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters._source_foreign_code(regrole, regclass) TO llm_clusters_admin, llm_clusters_reader;
