-- Jobs, runs and their results.

CREATE TABLE llm_clusters.jobs (
    id          int         GENERATED ALWAYS AS IDENTITY,
    team_id     int         NOT NULL DEFAULT 1,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    level       text        NOT NULL DEFAULT 'trace' CHECK (level IN ('trace', 'generation')),
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
CREATE INDEX jobs_id_idx ON llm_clusters.jobs (id);

CREATE TABLE llm_clusters.runs (
    id            bigint      GENERATED ALWAYS AS IDENTITY,
    job_id        int,
    team_id       int         NOT NULL,
    job_name      text        NOT NULL,
    level         text        NOT NULL,
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
    PRIMARY KEY (team_id, id),
    FOREIGN KEY (team_id, job_id) REFERENCES llm_clusters.jobs (team_id, id) ON DELETE SET NULL (job_id)
);
CREATE INDEX runs_id_idx ON llm_clusters.runs (id);
CREATE INDEX runs_job_idx ON llm_clusters.runs (job_id, window_end DESC);
-- A job runs at most once per daily cycle, whoever schedules it.
CREATE UNIQUE INDEX runs_job_cycle_idx ON llm_clusters.runs (team_id, job_id, cycle) WHERE cycle IS NOT NULL;
CREATE INDEX runs_team_idx ON llm_clusters.runs (team_id, started_at DESC);

CREATE TABLE llm_clusters.clusters (
    team_id         int     NOT NULL,
    run_id          bigint  NOT NULL,
    cluster_id      int     NOT NULL,
    title           text    NOT NULL,
    description     text    NOT NULL,
    keywords        text[]  NOT NULL DEFAULT '{}',
    size            int     NOT NULL,
    share           float8  NOT NULL,
    centroid        real[],
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
    FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE
);
CREATE INDEX clusters_run_idx ON llm_clusters.clusters (run_id, cluster_id);
CREATE INDEX clusters_stable_idx ON llm_clusters.clusters (stable_id, run_id);

-- The parent groups of a run's clusters (every cluster but Outliers is in one).
CREATE TABLE llm_clusters.themes (
    team_id         int     NOT NULL,
    run_id          bigint  NOT NULL,
    theme_id        int     NOT NULL,
    title           text    NOT NULL,
    description     text    NOT NULL,
    keywords        text[]  NOT NULL DEFAULT '{}',
    size            int     NOT NULL,
    share           float8  NOT NULL,
    centroid        real[],
    x               float8,
    y               float8,
    avg_cost_usd    float8,
    avg_latency_s   float8,
    avg_tokens      float8,
    error_rate      float8,
    total_cost_usd  float8,
    p95_latency_s   float8,
    PRIMARY KEY (team_id, run_id, theme_id),
    FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE
);
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
    FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE
);
CREATE INDEX assignments_cluster_idx ON llm_clusters.assignments (run_id, cluster_id, rank);
CREATE INDEX assignments_item_idx ON llm_clusters.assignments (team_id, item_id);

-- User data: pg_dump dumps these rows and the identity sequences' positions.
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.jobs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.runs', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.runs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.clusters', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.themes', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.assignments', '');
