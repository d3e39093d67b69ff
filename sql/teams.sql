-- Teams and privileges, created first: every other file secures what it creates beside it.
-- Row-level security shows a role only the rows of its teams (llm_clusters.team_roles;
-- membership through group roles counts); superusers see all. Two roles carry the
-- privileges: llm_clusters_reader reads results (SELECT on each table and view, granted
-- where it is created), llm_clusters_admin also captures events, manages jobs and API keys
-- and runs jobs (the writing functions revoke EXECUTE from PUBLIC and grant it to admins
-- where they are created). Everything runs with the caller's rights, so row-level security
-- always applies, with one exception: capture_with_key (api_keys.sql), the only thing a
-- third role, llm_clusters_ingest (what llm-clusters-server connects as), may do: store
-- events under the team of an API key. tests/sql/catalog.sql fails on a table without
-- row-level security, a view without security_invoker, a writing function PUBLIC may run,
-- or a table or view readers cannot read.

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
GRANT USAGE ON SCHEMA llm_clusters TO llm_clusters_reader, llm_clusters_ingest;

CREATE TABLE llm_clusters.team_roles (
    team_id    int  NOT NULL,
    role_name  name NOT NULL,
    PRIMARY KEY (team_id, role_name)
);
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.team_roles', '');
-- A role sees the memberships of the roles whose privileges it has (itself, and the roles
-- it inherits from, as for any grant); every other table's policy (team_rows) reads this
-- table through that filter. Not every member: from PostgreSQL 16 a membership may be
-- WITH INHERIT FALSE, SET FALSE (pg_hba's +group, say), which gives none of the role's
-- privileges, yet counted as MEMBER it showed the member the role's teams' rows.
ALTER TABLE llm_clusters.team_roles ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_memberships ON llm_clusters.team_roles FOR SELECT
    USING (role_name IN (SELECT r.rolname FROM pg_catalog.pg_roles r
                         WHERE pg_catalog.pg_has_role(current_user, r.oid, 'USAGE')));
GRANT SELECT ON llm_clusters.team_roles TO llm_clusters_reader;
COMMENT ON TABLE llm_clusters.team_roles IS
    'Which roles may see (and, with llm_clusters_admin, change) a team''s rows; membership through group roles counts. Managed by superusers.';
