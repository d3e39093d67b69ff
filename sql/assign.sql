-- Items placed between runs (src/assign.rs): assign() names the cluster of an embedding,
-- assign_pending() stores where a job's new items fall in its latest run.

CREATE TABLE llm_clusters.incremental_assignments (
    team_id      int         NOT NULL,
    job_id       int,
    run_id       bigint      NOT NULL,
    item_id      text        NOT NULL,
    trace_id     text,
    cluster_id   int         NOT NULL,
    stable_id    bigint,
    distance     float8      NOT NULL,
    ts           timestamptz,
    assigned_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, run_id, item_id),
    CONSTRAINT cluster_id_range CHECK (cluster_id BETWEEN -1 AND 9999),
    -- As a run's assignments (jobs.sql): assign_pending reads ids of at most 1,024 bytes.
    CONSTRAINT item_id_length CHECK (octet_length(item_id) <= 1024),
    CONSTRAINT trace_id_length CHECK (octet_length(trace_id) <= 1024),
    FOREIGN KEY (team_id, job_id) REFERENCES llm_clusters.jobs (team_id, id) ON DELETE SET NULL (job_id),
    FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE
);
ALTER TABLE llm_clusters.incremental_assignments ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.incremental_assignments
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.incremental_assignments TO llm_clusters_reader;
GRANT INSERT ON llm_clusters.incremental_assignments TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.incremental_assignments IS
    'Items that arrived after a run, placed by assign_pending() into that run''s clusters (cluster_id -1 when farther than the nearest cluster''s radius). Separate from the run''s own assignments, which its metrics are computed from.';
CREATE INDEX incremental_assignments_item_idx ON llm_clusters.incremental_assignments (team_id, item_id);
-- User data: pg_dump dumps these rows.
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.incremental_assignments', '');

-- One signature: pgvector casts vector to real[] implicitly (halfvec needs ::real[]); an
-- anyelement overload would make calls with a vector ambiguous.
CREATE FUNCTION llm_clusters.assign(job_id int, embedding real[])
RETURNS TABLE (cluster_id int, stable_id bigint, title text, distance float8)
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM llm_clusters._assign(job_id, embedding) $$;

CREATE FUNCTION llm_clusters.assign_pending(job_id int)
RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._assign_pending(job_id) $$;

COMMENT ON FUNCTION llm_clusters.assign(int, real[]) IS
    'The cluster of the job''s latest succeeded run nearest to the embedding (cosine distance to the centroid), or Outliers (-1) when farther than that cluster''s radius. A pgvector vector is cast implicitly; cast halfvec or float8[] with ::real[].';
COMMENT ON FUNCTION llm_clusters.assign_pending(int) IS
    'Places every item of the job (filters applied) newer than its latest succeeded run, and not placed yet, into that run''s clusters; stores them in incremental_assignments and returns how many.';
COMMENT ON FUNCTION llm_clusters._assign(int, real[]) IS 'Internal: use llm_clusters.assign().';
COMMENT ON FUNCTION llm_clusters._assign_pending(int) IS 'Internal: use llm_clusters.assign_pending().';

-- What writes is for admins only (EXECUTE is PUBLIC by default).
REVOKE EXECUTE ON FUNCTION
    llm_clusters.assign_pending(int),
    llm_clusters._assign_pending(int)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters.assign_pending(int),
    llm_clusters._assign_pending(int)
    TO llm_clusters_admin;
-- Reading functions: readers, not PUBLIC (the ingest role runs capture_with_key only).
REVOKE EXECUTE ON FUNCTION llm_clusters.assign(int, real[]), llm_clusters._assign(int, real[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.assign(int, real[]), llm_clusters._assign(int, real[]) TO llm_clusters_reader;
