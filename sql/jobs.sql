-- Jobs, runs and their results.

CREATE TABLE llm_clusters.jobs (
    -- CYCLE, and _unused_id skips ids in use: see the trigger below.
    id          int         GENERATED ALWAYS AS IDENTITY (CYCLE),
    team_id     int         NOT NULL DEFAULT 1,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    level       text        NOT NULL DEFAULT 'trace' CHECK (level IN ('trace', 'generation', 'evaluation')),
    source      regclass,
    filters     jsonb       NOT NULL DEFAULT '[]',
    enabled     boolean     NOT NULL DEFAULT true,
    params      jsonb       NOT NULL DEFAULT '{}',
    -- When the job was last enabled (kept by the trigger): it runs from the next cycle on.
    enabled_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- The role whose rights every read of the source uses (set by the trigger).
    owner       regrole     NOT NULL,
    -- Every key leads with team_id, the distribution column of a scale-out (docs/scale-out.md).
    PRIMARY KEY (team_id, id),
    UNIQUE (team_id, name)
);
ALTER TABLE llm_clusters.jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.jobs
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.jobs TO llm_clusters_reader;
-- Every column but id: ids come from the identity alone (OVERRIDING SYSTEM VALUE needs the
-- column), so no team can plant a row with an id another team's next job will get.
-- UPDATE and DELETE only per column: PostgreSQL lets a table-level UPDATE, DELETE or
-- TRUNCATE take any LOCK TABLE mode, and one team's idle ACCESS EXCLUSIVE lock would stall
-- every team. A job is deleted by delete_job (deletions.sql).
GRANT INSERT (team_id, name, level, source, filters, enabled, params, enabled_at, created_at, updated_at, owner),
      UPDATE (team_id, name, level, source, filters, enabled, params, owner) ON llm_clusters.jobs TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.jobs IS
    'Clustering jobs: level, source relation (default: the item view of the level), PostHog-style filters, params. At most llm_clusters.max_jobs_per_team per team.';
COMMENT ON COLUMN llm_clusters.jobs.owner IS
    'The role every read of the source runs as (in a security-restricted operation, whoever runs the job): the creator unless set; only a role the writer may SET ROLE to, and one that may read the source.';
COMMENT ON COLUMN llm_clusters.jobs.enabled_at IS
    'When the job was last enabled (kept by a trigger); it is due from the first daily cycle that starts after this.';
COMMENT ON COLUMN llm_clusters.jobs.params IS
    'Optional: window (interval text, default 7 days), max_items, min_items (default 20), seed, method (graph | kmeans | hdbscan), lens (request | answer | error | flow | summary) and algorithm knobs; see the README.';
CREATE INDEX jobs_id_idx ON llm_clusters.jobs (id);

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
-- Dumped without rows: restoring jobs makes them again (the jobs trigger), and rows restored
-- after that would collide with them.
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.job_cap_locks', 'WHERE false');

CREATE TABLE llm_clusters.runs (
    id            bigint      GENERATED ALWAYS AS IDENTITY,
    job_id        int,
    team_id       int         NOT NULL,
    -- The job's name and level when it ran (jobs' own bounds): admins insert runs, and a
    -- page reads the name whole (a planted 300 MB name took a reader's page to 5 GB).
    job_name      text        NOT NULL CONSTRAINT job_name_length CHECK (length(job_name) BETWEEN 1 AND 200),
    level         text        NOT NULL CONSTRAINT level_known CHECK (level IN ('trace', 'generation', 'evaluation')),
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    -- The daily cycle a scheduled run belongs to (its start); NULL for on-demand runs.
    cycle         timestamptz,
    started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at   timestamptz,
    status        text        NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'succeeded', 'skipped', 'failed')),
    error         text,
    n_items       int,
    n_clusters    int,
    n_outliers    int,
    params        jsonb       NOT NULL DEFAULT '{}',
    quality       jsonb       NOT NULL DEFAULT '{}',
    timings       jsonb       NOT NULL DEFAULT '{}',
    -- What the run's items were embedded from (the job's params.lens when it ran).
    lens          text        NOT NULL DEFAULT 'request' CHECK (lens IN ('request', 'answer', 'error', 'flow', 'summary')),
    PRIMARY KEY (team_id, id),
    FOREIGN KEY (team_id, job_id) REFERENCES llm_clusters.jobs (team_id, id) ON DELETE SET NULL (job_id)
);
ALTER TABLE llm_clusters.runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.runs
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.runs TO llm_clusters_reader;
-- Every column but id, as for jobs: run ids are the identity's.
-- UPDATE only of what a run records when it ends (src/run.rs) and label_run adds to quality.
GRANT INSERT (job_id, team_id, job_name, level, window_start, window_end, cycle, started_at, finished_at, status,
              error, n_items, n_clusters, n_outliers, params, quality, timings, lens),
      UPDATE (finished_at, status, error, n_items, n_clusters, n_outliers, quality, timings) ON llm_clusters.runs TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.runs IS
    'One row per execution of a job over a window: status running | succeeded | skipped | failed, counts, quality and per-phase timings.';
COMMENT ON COLUMN llm_clusters.runs.cycle IS
    'Start of the daily cycle a scheduled run belongs to; NULL for runs started with run_job(). At most one run per job and cycle.';
COMMENT ON COLUMN llm_clusters.runs.lens IS
    'The lens the run clustered its items through (params.lens, or summary for params.embed = "summary"): request, answer, error, flow or summary.';
CREATE INDEX runs_id_idx ON llm_clusters.runs (id);
CREATE INDEX runs_job_idx ON llm_clusters.runs (job_id, window_end DESC);
-- A job runs at most once per daily cycle, whoever schedules it.
CREATE UNIQUE INDEX runs_job_cycle_idx ON llm_clusters.runs (team_id, job_id, cycle) WHERE cycle IS NOT NULL;
CREATE INDEX runs_team_idx ON llm_clusters.runs (team_id, started_at DESC);

-- Admins write title, description, keywords and centroid (INSERT, UPDATE): bounded here,
-- at 5 to 10 times what runs write, so that whoever reads a run's rows (the worker's
-- assign_pending for every team, later runs, labels, pages) copies at most that much per
-- row. Unbounded, three planted centroids of 100,000,000 dimensions (14 MB on disk) made
-- one assign_pending of the worker 3.5 GB and 42 s; a few dozen, the OOM killer.
CREATE TABLE llm_clusters.clusters (
    team_id         int     NOT NULL,
    run_id          bigint  NOT NULL,
    cluster_id      int     NOT NULL,
    title           text    NOT NULL CHECK (length(title) <= 1000),
    description     text    NOT NULL CHECK (length(description) <= 10000),
    keywords        text[]  NOT NULL DEFAULT '{}' CHECK (cardinality(keywords) <= 100 AND octet_length(keywords::text) <= 10000),
    size            int     NOT NULL,
    share           float8  NOT NULL,
    centroid        real[]  CHECK (cardinality(centroid) <= 16000),
    radius          float8,
    x               float8,
    y               float8,
    avg_cost_usd    float8,
    avg_latency_s   float8,
    avg_tokens      float8,
    error_rate      float8,
    total_cost_usd  float8,
    p95_latency_s   float8,
    -- Identity across runs of the job (NULL for Outliers); see cluster_lineage.
    stable_id       bigint,
    -- The theme (llm_clusters.themes) the cluster belongs to; NULL for Outliers.
    theme_id        int,
    PRIMARY KEY (team_id, run_id, cluster_id),
    -- Ids index the run's groups in memory (steering, labels, lineage): a run makes at most
    -- 200 clusters and steering's splits a few thousand, so an id past 9999 was planted.
    CONSTRAINT cluster_id_range CHECK (cluster_id BETWEEN -1 AND 9999),
    CONSTRAINT theme_id_range CHECK (theme_id BETWEEN 0 AND 9999),
    FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE
);
ALTER TABLE llm_clusters.clusters ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.clusters
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.clusters TO llm_clusters_reader;
-- UPDATE only of what a run writes after inserting the rows: the metrics (src/results.rs),
-- stable ids and titles (src/lineage.rs), AI titles (src/ai.rs); steering.sql adds its columns.
GRANT INSERT, UPDATE (title, description, size, share, avg_cost_usd, avg_latency_s, avg_tokens, error_rate,
                      total_cost_usd, p95_latency_s, stable_id) ON llm_clusters.clusters TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.clusters IS
    'Clusters of a run. cluster_id -1 is Outliers. Metrics are aggregates over the run''s assignments joined to the job''s source (see the README).';
COMMENT ON COLUMN llm_clusters.clusters.theme_id IS
    'The theme (llm_clusters.themes) this cluster belongs to; NULL for Outliers.';
CREATE INDEX clusters_run_idx ON llm_clusters.clusters (run_id, cluster_id);
CREATE INDEX clusters_stable_idx ON llm_clusters.clusters (stable_id, run_id);

-- The parent groups of a run's clusters (every cluster but Outliers is in one).
-- Bounded as clusters are, for the same reason.
CREATE TABLE llm_clusters.themes (
    team_id         int     NOT NULL,
    run_id          bigint  NOT NULL,
    theme_id        int     NOT NULL,
    title           text    NOT NULL CHECK (length(title) <= 1000),
    description     text    NOT NULL CHECK (length(description) <= 10000),
    keywords        text[]  NOT NULL DEFAULT '{}' CHECK (cardinality(keywords) <= 100 AND octet_length(keywords::text) <= 10000),
    size            int     NOT NULL,
    share           float8  NOT NULL,
    centroid        real[]  CHECK (cardinality(centroid) <= 16000),
    x               float8,
    y               float8,
    avg_cost_usd    float8,
    avg_latency_s   float8,
    avg_tokens      float8,
    error_rate      float8,
    total_cost_usd  float8,
    p95_latency_s   float8,
    PRIMARY KEY (team_id, run_id, theme_id),
    CONSTRAINT theme_id_range CHECK (theme_id BETWEEN 0 AND 9999),
    FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE
);
ALTER TABLE llm_clusters.themes ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.themes
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.themes TO llm_clusters_reader;
-- UPDATE only of the metrics a run writes after inserting the rows (src/results.rs).
GRANT INSERT, UPDATE (size, share, avg_cost_usd, avg_latency_s, avg_tokens, error_rate, total_cost_usd, p95_latency_s)
    ON llm_clusters.themes TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.themes IS
    'Themes of a run: the parent groups of its clusters, each with a title, description, keywords, size, share, centroid, map position and the same metrics as clusters (aggregates over its clusters'' items).';
CREATE INDEX themes_run_idx ON llm_clusters.themes (run_id, theme_id);

CREATE TABLE llm_clusters.assignments (
    team_id     int         NOT NULL,
    run_id      bigint      NOT NULL,
    item_id     text        NOT NULL,
    trace_id    text,
    cluster_id  int         NOT NULL,
    x           float8      NOT NULL,
    y           float8      NOT NULL,
    distance    float8      NOT NULL,
    rank        int         NOT NULL,
    ts          timestamptz,
    PRIMARY KEY (team_id, run_id, item_id),
    CONSTRAINT cluster_id_range CHECK (cluster_id BETWEEN -1 AND 9999),
    CONSTRAINT rank_range CHECK (rank >= 0),
    -- Pages, previews and labels read a run's ids whole: a run reads and writes ids of at
    -- most 1,024 bytes (src/items.rs), so a longer one was planted (a 50 MB trace id).
    CONSTRAINT item_id_length CHECK (octet_length(item_id) <= 1024),
    CONSTRAINT trace_id_length CHECK (octet_length(trace_id) <= 1024),
    FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE
);
ALTER TABLE llm_clusters.assignments ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.assignments
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.assignments TO llm_clusters_reader;
GRANT INSERT ON llm_clusters.assignments TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.assignments IS
    'One row per clustered item of a run: its cluster, 2-D map position, cosine distance to the centroid and rank (0 = closest).';
CREATE INDEX assignments_cluster_idx ON llm_clusters.assignments (run_id, cluster_id, rank);
CREATE INDEX assignments_item_idx ON llm_clusters.assignments (team_id, item_id);

-- User data: pg_dump dumps these rows and the identity sequences' positions.
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.jobs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.runs', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.runs_id_seq', '');
-- No team role draws ids itself (an INSERT draws its identity without USAGE): jobs.id is
-- an int every team shares, which a nextval() loop would use up (attack_sequences.sql).
-- The REVOKE makes the ACL explicit, as the upgrade's REVOKE of the earlier grant does.
REVOKE USAGE ON SEQUENCE llm_clusters.jobs_id_seq, llm_clusters.runs_id_seq FROM llm_clusters_admin;
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.clusters', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.themes', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.assignments', '');
