-- llm_clusters 0.1.0 -> 0.2.0
-- * jobs.owner: a job's source is read with its owner's rights, in a security-restricted
--   operation. Existing jobs get the role that owns the extension (usually a superuser):
--   review them, and give each an owner that may read its source (see the CHANGELOG).
-- * Every key leads with team_id (ready to distribute by team).
-- * pg_dump keeps every table's rows.
-- * embed_text follows llm_clusters.embedder (built-in model by default): VOLATILE.

-- Owners. The trigger is off while existing rows get theirs: its times stay as they were.
ALTER TABLE llm_clusters.jobs ADD COLUMN owner regrole;
ALTER TABLE llm_clusters.jobs DISABLE TRIGGER jobs_check;
UPDATE llm_clusters.jobs
SET owner = (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'llm_clusters')::regrole;
ALTER TABLE llm_clusters.jobs ENABLE TRIGGER jobs_check;
ALTER TABLE llm_clusters.jobs ALTER COLUMN owner SET NOT NULL;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM llm_clusters.jobs
               WHERE source NOT IN ('llm_clusters.generation_items'::regclass, 'llm_clusters.trace_items'::regclass)) THEN
        RAISE NOTICE 'llm_clusters: jobs with their own source now belong to the extension''s owner; review them: SELECT id, team_id, name, source FROM llm_clusters.jobs';
    END IF;
END $$;

-- The one rule for who may own a job: its owner may read the source (USAGE on the schema,
-- SELECT on the relation). Checked on every write of a job and again before every run.
CREATE FUNCTION llm_clusters._owner_may_read(owner regrole, source regclass) RETURNS boolean
LANGUAGE sql STABLE STRICT
AS $$
    SELECT pg_catalog.has_schema_privilege(owner, c.relnamespace, 'USAGE')
           AND pg_catalog.has_table_privilege(owner, c.oid, 'SELECT')
    FROM pg_catalog.pg_class c WHERE c.oid = source
$$;

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
    NEW.source := coalesce(NEW.source, CASE NEW.level WHEN 'trace' THEN 'llm_clusters.trace_items'::regclass
                                                      ELSE 'llm_clusters.generation_items'::regclass END);
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

-- Keys led by team_id: the foreign keys go first, then the keys they point at.
ALTER TABLE llm_clusters.runs DROP CONSTRAINT runs_job_id_fkey;
ALTER TABLE llm_clusters.clusters DROP CONSTRAINT clusters_run_id_fkey;
ALTER TABLE llm_clusters.assignments DROP CONSTRAINT assignments_run_id_fkey;
ALTER TABLE llm_clusters.cluster_lineage DROP CONSTRAINT cluster_lineage_job_id_fkey;
ALTER TABLE llm_clusters.cluster_lineage DROP CONSTRAINT cluster_lineage_run_id_fkey;
ALTER TABLE llm_clusters.cluster_lineage DROP CONSTRAINT cluster_lineage_previous_run_id_fkey;
ALTER TABLE llm_clusters.incremental_assignments DROP CONSTRAINT incremental_assignments_job_id_fkey;
ALTER TABLE llm_clusters.incremental_assignments DROP CONSTRAINT incremental_assignments_run_id_fkey;

ALTER TABLE llm_clusters.jobs DROP CONSTRAINT jobs_pkey, ADD PRIMARY KEY (team_id, id);
CREATE INDEX jobs_id_idx ON llm_clusters.jobs (id);
ALTER TABLE llm_clusters.runs DROP CONSTRAINT runs_pkey, ADD PRIMARY KEY (team_id, id);
CREATE INDEX runs_id_idx ON llm_clusters.runs (id);
DROP INDEX llm_clusters.runs_job_cycle_idx;
CREATE UNIQUE INDEX runs_job_cycle_idx ON llm_clusters.runs (team_id, job_id, cycle) WHERE cycle IS NOT NULL;
ALTER TABLE llm_clusters.clusters DROP CONSTRAINT clusters_pkey, ADD PRIMARY KEY (team_id, run_id, cluster_id);
CREATE INDEX clusters_run_idx ON llm_clusters.clusters (run_id, cluster_id);
ALTER TABLE llm_clusters.assignments DROP CONSTRAINT assignments_pkey, ADD PRIMARY KEY (team_id, run_id, item_id);
ALTER TABLE llm_clusters.cluster_lineage DROP CONSTRAINT cluster_lineage_pkey, ADD PRIMARY KEY (team_id, run_id, stable_id);
ALTER TABLE llm_clusters.incremental_assignments DROP CONSTRAINT incremental_assignments_pkey,
    ADD PRIMARY KEY (team_id, run_id, item_id);

ALTER TABLE llm_clusters.runs
    ADD FOREIGN KEY (team_id, job_id) REFERENCES llm_clusters.jobs (team_id, id) ON DELETE SET NULL (job_id);
ALTER TABLE llm_clusters.clusters
    ADD FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE;
ALTER TABLE llm_clusters.assignments
    ADD FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE;
ALTER TABLE llm_clusters.cluster_lineage
    ADD FOREIGN KEY (team_id, job_id) REFERENCES llm_clusters.jobs (team_id, id) ON DELETE SET NULL (job_id),
    ADD FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE,
    ADD FOREIGN KEY (team_id, previous_run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE SET NULL (previous_run_id);
ALTER TABLE llm_clusters.incremental_assignments
    ADD FOREIGN KEY (team_id, job_id) REFERENCES llm_clusters.jobs (team_id, id) ON DELETE SET NULL (job_id),
    ADD FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE;

-- Dumps keep the rows of every table and the sequences' positions.
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.events', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.embeddings', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.jobs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.runs', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.runs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.clusters', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.assignments', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.cluster_stable_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.cluster_lineage', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.incremental_assignments', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.team_roles', '');

-- Previews read as the job's owner.
CREATE FUNCTION "_item_previews"(
	"run_id" bigint,
	"item_ids" TEXT[],
	"chars" INT
) RETURNS TABLE (
	"item_id" TEXT,
	"preview" TEXT
)
STRICT STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'item_previews_wrapper';
COMMENT ON FUNCTION llm_clusters._item_previews(bigint, text[], int) IS
    'Internal: the first characters of the content of items of a run, read from its job''s source as the job''s owner (used by cluster_items).';

CREATE OR REPLACE FUNCTION llm_clusters.cluster_items(run_id bigint, cluster_id int, max_items int DEFAULT 50, after_rank int DEFAULT -1)
RETURNS TABLE (item_id text, trace_id text, rank int, distance float8, ts timestamptz, preview text)
LANGUAGE plpgsql STABLE STRICT
AS $$
DECLARE
    source regclass;
BEGIN
    SELECT j.source INTO source
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
    SELECT page.item_id, page.trace_id, page.rank, page.distance, page.ts, p.preview
    FROM page
    LEFT JOIN llm_clusters._item_previews(cluster_items.run_id, ARRAY(SELECT page.item_id FROM page), 300) p
           ON p.item_id = page.item_id
    ORDER BY page.rank, page.item_id;
END $$;

-- The embedder follows a setting now, and may call a service.
CREATE OR REPLACE FUNCTION "_embed_text"(
	"text" TEXT
) RETURNS real[]
STRICT VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'embed_text_wrapper';
ALTER FUNCTION llm_clusters.embed_text(text) VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION llm_clusters.embed_text(text) IS
    'The embedding of a text with llm_clusters.embedder: builtin (default) = all-MiniLM-L6-v2 computed in the backend (384-d, unit length, first 256 tokens, as sentence-transformers); service = the AI service (needs consent); hash = hashed bag-of-words (512-d, all zeros for a text without words).';
COMMENT ON FUNCTION llm_clusters.embed_pending(text, int) IS
    'Embeds up to max_items items of the level (newest first) that have no embedding and have text, into llm_clusters.embeddings, with llm_clusters.embedder (embeddings.model records which). A generation is embedded from its user messages (latest first), a trace from its distinct user messages in order; the content when there are none. Works in batches of 256: a cancel or statement_timeout keeps the batches done (WARNING). Returns how many usable embeddings it stored.';
COMMENT ON COLUMN llm_clusters.jobs.owner IS
    'The role every read of the source runs as (in a security-restricted operation, whoever runs the job): the creator unless set; only a role the writer is a member of, and one that may read the source.';
COMMENT ON FUNCTION llm_clusters._owner_may_read(regrole, regclass) IS
    'Internal: whether a role may read a relation as a job''s source (USAGE on its schema, SELECT on it).';
