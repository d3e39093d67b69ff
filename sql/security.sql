-- Teams and privileges. Row-level security shows a role only the rows of its teams
-- (llm_clusters.team_roles; membership through group roles counts); superusers see all.
-- Two roles carry the privileges: llm_clusters_reader reads results, llm_clusters_admin
-- also captures events, manages jobs and API keys and runs jobs. Everything runs with the
-- caller's rights, so row-level security always applies, with one exception:
-- capture_with_key, the only thing a third role, llm_clusters_ingest (what
-- llm-clusters-server connects as), may do: store events under the team of an API key.

CREATE TABLE llm_clusters.team_roles (
    team_id    int  NOT NULL,
    role_name  name NOT NULL,
    PRIMARY KEY (team_id, role_name)
);
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.team_roles', '');

-- Roles belong to the cluster, not to the database: create them once.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'llm_clusters_reader') THEN
        CREATE ROLE llm_clusters_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'llm_clusters_admin') THEN
        CREATE ROLE llm_clusters_admin NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'llm_clusters_ingest') THEN
        CREATE ROLE llm_clusters_ingest NOLOGIN;
    END IF;
    IF NOT pg_catalog.pg_has_role('llm_clusters_admin', 'llm_clusters_reader', 'MEMBER') THEN
        GRANT llm_clusters_reader TO llm_clusters_admin;
    END IF;
END $$;

-- A role sees the memberships of the roles it is (or is a member of); every other policy
-- reads this table through that filter.
ALTER TABLE llm_clusters.team_roles ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_memberships ON llm_clusters.team_roles FOR SELECT
    USING (role_name IN (SELECT r.rolname FROM pg_catalog.pg_roles r
                         WHERE pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')));

-- Every other table of the schema carries team_id: each gets the same policy, so that a
-- table added by a later feature cannot be forgotten (tests/sql/catalog.sql checks).
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_catalog.pg_class c
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'team_id' AND NOT a.attisdropped
             WHERE c.relnamespace = 'llm_clusters'::regnamespace AND c.relkind = 'r' AND c.relname <> 'team_roles'
             ORDER BY c.relname LOOP
        EXECUTE format('ALTER TABLE llm_clusters.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY team_rows ON llm_clusters.%I
                            USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
                            WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))', t);
    END LOOP;
END $$;

-- Views read with the caller's rights (and so through the policies above).
ALTER VIEW llm_clusters.generation_items SET (security_invoker = true);
ALTER VIEW llm_clusters.trace_items SET (security_invoker = true);
ALTER VIEW llm_clusters.generation_summary_items SET (security_invoker = true);
ALTER VIEW llm_clusters.trace_summary_items SET (security_invoker = true);
ALTER VIEW llm_clusters.cluster_trends SET (security_invoker = true);
ALTER VIEW llm_clusters.run_list SET (security_invoker = true);
ALTER VIEW llm_clusters.latest_runs SET (security_invoker = true);
ALTER VIEW llm_clusters.cluster_cards SET (security_invoker = true);
ALTER VIEW llm_clusters.theme_cards SET (security_invoker = true);
ALTER VIEW llm_clusters.scatter_points SET (security_invoker = true);

GRANT USAGE ON SCHEMA llm_clusters TO llm_clusters_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA llm_clusters TO llm_clusters_reader;

-- What writes is for admins only (EXECUTE is PUBLIC by default).
DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['capture(jsonb, int)', '_capture(jsonb, int, bigint)',
                             'create_job(text, text, jsonb, boolean, int, regclass, jsonb)',
                             'run_job(int, timestamptz)', '_run_job(int, timestamptz)', 'run_due_jobs()', '_run_due_jobs()',
                             'assign_pending(int)', '_assign_pending(int)', 'label_run(bigint)', '_label_run(bigint)',
                             'embed_pending(text, int)', '_embed_pending(text, int)',
                             'create_api_key(int, text)', 'revoke_api_key(text)',
                             'summarize_pending(text, int)', '_summarize_pending(text, int)',
                             'embed_summaries(text, int)', '_embed_summaries(text, int)'] LOOP
        EXECUTE 'REVOKE EXECUTE ON FUNCTION llm_clusters.' || f || ' FROM PUBLIC';
        EXECUTE 'GRANT EXECUTE ON FUNCTION llm_clusters.' || f || ' TO llm_clusters_admin';
    END LOOP;
END $$;
GRANT INSERT ON llm_clusters.events, llm_clusters.embeddings TO llm_clusters_admin;
GRANT INSERT, UPDATE, DELETE ON llm_clusters.jobs TO llm_clusters_admin;
GRANT INSERT, UPDATE, DELETE ON llm_clusters.runs TO llm_clusters_admin;
GRANT INSERT, UPDATE ON llm_clusters.clusters, llm_clusters.themes TO llm_clusters_admin;
GRANT INSERT ON llm_clusters.assignments, llm_clusters.cluster_lineage, llm_clusters.incremental_assignments
    TO llm_clusters_admin;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA llm_clusters TO llm_clusters_admin;
GRANT INSERT, UPDATE ON llm_clusters.api_keys, llm_clusters.item_summaries TO llm_clusters_admin;

-- The ingest role: the schema and the one function, nothing else.
GRANT USAGE ON SCHEMA llm_clusters TO llm_clusters_ingest;
REVOKE EXECUTE ON FUNCTION llm_clusters.capture_with_key(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.capture_with_key(text, jsonb) TO llm_clusters_ingest;

COMMENT ON TABLE llm_clusters.team_roles IS
    'Which roles may see (and, with llm_clusters_admin, change) a team''s rows; membership through group roles counts. Managed by superusers.';
