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

-- The extension's schema must be a superuser's alone. CREATE EXTENSION uses a schema named
-- llm_clusters that already exists, whoever owns it: a role that may create schemas in the
-- database (its owner, say) could make it first, and then, as the owner of the schema that
-- holds the extension, rename it and put its own llm_clusters.api_keys and
-- llm_clusters.capture(jsonb, int) in a new one; capture_with_key (SECURITY DEFINER), which
-- llm-clusters-server calls for any HTTP client, then ran them as the superuser. So the
-- schema, every object already in it and every CREATE granted on it must be a superuser's.
DO $$
DECLARE
    what text;
BEGIN
    SELECT CASE
             WHEN NOT r.rolsuper THEN 'is owned by role ' || pg_catalog.quote_ident(r.rolname)
             WHEN EXISTS (SELECT 1 FROM pg_catalog.aclexplode(n.nspacl) a
                          LEFT JOIN pg_catalog.pg_roles g ON g.oid = a.grantee
                          WHERE a.privilege_type = 'CREATE' AND NOT coalesce(g.rolsuper, false))
               THEN 'grants CREATE to a role that is not a superuser'
             WHEN EXISTS (SELECT 1 FROM (SELECT c.relowner AS owner FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid
                                         UNION ALL SELECT p.proowner FROM pg_catalog.pg_proc p WHERE p.pronamespace = n.oid
                                         UNION ALL SELECT t.typowner FROM pg_catalog.pg_type t WHERE t.typnamespace = n.oid
                                         UNION ALL SELECT o.oprowner FROM pg_catalog.pg_operator o WHERE o.oprnamespace = n.oid
                                         UNION ALL SELECT l.collowner FROM pg_catalog.pg_collation l WHERE l.collnamespace = n.oid
                                         UNION ALL SELECT v.conowner FROM pg_catalog.pg_conversion v WHERE v.connamespace = n.oid
                                         UNION ALL SELECT f.opfowner FROM pg_catalog.pg_opfamily f WHERE f.opfnamespace = n.oid
                                         UNION ALL SELECT k.opcowner FROM pg_catalog.pg_opclass k WHERE k.opcnamespace = n.oid
                                         UNION ALL SELECT s.cfgowner FROM pg_catalog.pg_ts_config s WHERE s.cfgnamespace = n.oid
                                         UNION ALL SELECT d.dictowner FROM pg_catalog.pg_ts_dict d WHERE d.dictnamespace = n.oid) o
                          JOIN pg_catalog.pg_roles orole ON orole.oid = o.owner
                          WHERE NOT orole.rolsuper)
               THEN 'holds an object that a role that is not a superuser owns'
           END
    INTO what
    FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner
    WHERE n.nspname = 'llm_clusters';
    IF what IS NOT NULL THEN
        RAISE EXCEPTION 'schema llm_clusters %: whoever controls the schema of the extension can run code as a superuser', what
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Check what the schema holds, then make it a superuser''s alone (ALTER SCHEMA llm_clusters OWNER TO a superuser, REVOKE CREATE ON SCHEMA llm_clusters FROM the others, drop what others own), or drop it and create the extension again.';
    END IF;
END $$;

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
    PRIMARY KEY (team_id, role_name),
    role_oid   oid
);
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.team_roles', '');
-- A membership is of the role, not of its name: role_oid, which the trigger below sets from
-- role_name on every write (a dump restored elsewhere resolves the names again), is what
-- the policy matches. By name, a row that outlived its role (DROP ROLE leaves it) gave
-- the team to whoever next created a role of that name (CREATEROLE suffices); by OID it
-- gives nothing, and a role renamed keeps its teams, as it keeps its grants.
CREATE FUNCTION llm_clusters._team_role_oid() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.role_oid := (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = NEW.role_name);
    IF NEW.role_oid IS NULL THEN
        RAISE WARNING 'role "%" does not exist: this row gives team % to no role', NEW.role_name, NEW.team_id
            USING HINT = 'Create the role, then write the row again (UPDATE llm_clusters.team_roles SET role_name = role_name WHERE role_name = ...).';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION llm_clusters._team_role_oid() IS
    'Internal: sets team_roles.role_oid from role_name (NULL, matching no role, when no role has that name).';
COMMENT ON COLUMN llm_clusters.team_roles.role_oid IS
    'The role role_name named when the row was written (set by a trigger; NULL if none): what row-level security matches, so a role dropped and created again under its name does not inherit the row.';
CREATE TRIGGER team_role_oid BEFORE INSERT OR UPDATE ON llm_clusters.team_roles
    FOR EACH ROW EXECUTE FUNCTION llm_clusters._team_role_oid();
REVOKE EXECUTE ON FUNCTION llm_clusters._team_role_oid() FROM PUBLIC;
-- A role sees the memberships of the roles whose privileges it has (itself, and the roles
-- it inherits from, as for any grant); every other table's policy (team_rows) reads this
-- table through that filter. Not every member: from PostgreSQL 16 a membership may be
-- WITH INHERIT FALSE, SET FALSE (pg_hba's +group, say), which gives none of the role's
-- privileges, yet counted as MEMBER it showed the member the role's teams' rows.
ALTER TABLE llm_clusters.team_roles ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_memberships ON llm_clusters.team_roles FOR SELECT
    USING (role_oid IN (SELECT r.oid FROM pg_catalog.pg_roles r
                        WHERE pg_catalog.pg_has_role(current_user, r.oid, 'USAGE')));
GRANT SELECT ON llm_clusters.team_roles TO llm_clusters_reader;
COMMENT ON TABLE llm_clusters.team_roles IS
    'Which roles may see (and, with llm_clusters_admin, change) a team''s rows; membership through group roles counts. Managed by superusers.';
