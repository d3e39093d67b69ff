-- 0.11.0 -> 0.12.0

-- sql/jobs.sql, sql/assign.sql, sql/privacy.sql: the ids of a run's groups are bounded.
-- They index the run's groups in memory (steering, labels, lineage): a run makes at most 200
-- clusters and steering's splits a few thousand, and admins insert rows into their runs, so
-- an id past 9999 was planted (one theme numbered 2,000,000,000 sized a merge's arrays by it).
-- Rows no run makes stop the upgrade with their place, rather than being deleted unasked.
DO $$
DECLARE
    planted text;
BEGIN
    SELECT string_agg(format('%s (%s rows)', t, n), ', ') INTO planted
    FROM (SELECT 'clusters' AS t, count(*) AS n FROM llm_clusters.clusters
          WHERE cluster_id NOT BETWEEN -1 AND 9999 OR theme_id NOT BETWEEN 0 AND 9999
          UNION ALL SELECT 'themes', count(*) FROM llm_clusters.themes WHERE theme_id NOT BETWEEN 0 AND 9999
          UNION ALL SELECT 'assignments', count(*) FROM llm_clusters.assignments WHERE cluster_id NOT BETWEEN -1 AND 9999 OR rank < 0
          UNION ALL SELECT 'incremental_assignments', count(*) FROM llm_clusters.incremental_assignments
          WHERE cluster_id NOT BETWEEN -1 AND 9999
          UNION ALL SELECT 'distinct_users', count(*) FROM llm_clusters.distinct_users WHERE group_id NOT BETWEEN -1 AND 9999) c
    WHERE n > 0;
    IF planted IS NOT NULL THEN
        RAISE EXCEPTION 'llm_clusters 0.12.0 bounds the ids of clusters and themes to -1..9999, and rows no run makes have others: %', planted
            USING ERRCODE = 'check_violation',
                  HINT = 'Runs make ids from -1 to a few thousand: these rows were inserted by hand. Delete them (as a superuser) and update again.';
    END IF;
END
$$;
ALTER TABLE llm_clusters.clusters
    ADD CONSTRAINT cluster_id_range CHECK (cluster_id BETWEEN -1 AND 9999),
    ADD CONSTRAINT theme_id_range CHECK (theme_id BETWEEN 0 AND 9999);
ALTER TABLE llm_clusters.themes ADD CONSTRAINT theme_id_range CHECK (theme_id BETWEEN 0 AND 9999);
ALTER TABLE llm_clusters.assignments
    ADD CONSTRAINT cluster_id_range CHECK (cluster_id BETWEEN -1 AND 9999),
    ADD CONSTRAINT rank_range CHECK (rank >= 0);
ALTER TABLE llm_clusters.incremental_assignments ADD CONSTRAINT cluster_id_range CHECK (cluster_id BETWEEN -1 AND 9999);
ALTER TABLE llm_clusters.distinct_users ADD CONSTRAINT group_id_range CHECK (group_id BETWEEN -1 AND 9999);

-- sql/jobs_api.sql: a source's code by a role that may SET ROLE to the job's owner is trusted
-- (it could act as the owner anyway); from 16 such a membership need not inherit.
-- Whose code a read of the source runs: a view's functions, operators and type coercions
-- run as the role that reads it (the job's owner), whoever wrote them. The read trusts the
-- owner of the relation, of every relation its views read, and of every function, operator
-- and type those views name: each must be the job's owner, a superuser, or a role that has
-- the owner's privileges anyway (inherits them, or may SET ROLE to the owner: from 16 a
-- membership may be WITH INHERIT FALSE, SET TRUE; before 16 every member may). Returns the
-- first other one ("function s.f(text) of role r"), NULL when there is none. Asked before
-- every read of a source.
CREATE OR REPLACE FUNCTION llm_clusters._source_foreign_code(owner regrole, source regclass) RETURNS text
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
