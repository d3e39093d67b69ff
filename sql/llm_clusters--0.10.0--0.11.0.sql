-- 0.10.0 -> 0.11.0

-- sql/teams.sql: the schema of the extension is a superuser's alone (an upgrade into a schema
-- another role controls is refused, as an install is).
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

-- sql/teams.sql: team_roles matched by role OID (role_oid, set from role_name by a
-- trigger), so a row that outlived its role gives nothing to a new role of the same name.
ALTER TABLE llm_clusters.team_roles ADD COLUMN role_oid oid;
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
DROP POLICY own_memberships ON llm_clusters.team_roles;
CREATE POLICY own_memberships ON llm_clusters.team_roles FOR SELECT
    USING (role_oid IN (SELECT r.oid FROM pg_catalog.pg_roles r
                        WHERE pg_catalog.pg_has_role(current_user, r.oid, 'USAGE')));
-- Every existing row resolved once (the trigger sets role_oid).
UPDATE llm_clusters.team_roles SET role_name = role_name;

-- sql/jobs_api.sql: a source's code must be its job owner's (or a superuser's), checked before
-- every read: a superuser's job over a team admin's view ran the admin's functions as the
-- superuser.
-- Whose code a read of the source runs: a view's functions, operators and type coercions
-- run as the role that reads it (the job's owner), whoever wrote them. The read trusts the
-- owner of the relation, of every relation its views read, and of every function, operator
-- and type those views name: each must be the job's owner, a superuser, or a role that has
-- the owner's privileges anyway. Returns the first other one ("function s.f(text) of role
-- r"), NULL when there is none. Asked before every read of a source.
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
    ORDER BY 1 LIMIT 1
$$;
COMMENT ON FUNCTION llm_clusters._source_foreign_code(regrole, regclass) IS
    'Internal: the first relation, function, operator or type a read of the source runs or reads whose owner is not the job''s owner, a superuser or a role with the owner''s privileges (NULL when none): its code would run with the owner''s rights.';
REVOKE EXECUTE ON FUNCTION llm_clusters._source_foreign_code(regrole, regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters._source_foreign_code(regrole, regclass) TO llm_clusters_admin, llm_clusters_reader;
