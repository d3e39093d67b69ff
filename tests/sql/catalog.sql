-- The schema's rules, checked on the catalog so that a table or function added later
-- cannot forget them: every table carries team_id and leads every key with it (ready to
-- distribute by team, docs/scale-out.md), has row-level security, and is kept by pg_dump;
-- no function that writes can be run by PUBLIC.
CREATE TEMP VIEW ext_tables AS
SELECT c.oid, c.relname FROM pg_class c
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'llm_clusters'
WHERE c.relkind = 'r';
SELECT count(*) > 0 AS has_tables FROM ext_tables;
-- Tables without a team_id column, or without row-level security: none.
SELECT relname AS without_team_id FROM ext_tables t
WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'team_id' AND NOT a.attisdropped);
SELECT t.relname AS without_rls FROM ext_tables t JOIN pg_class c ON c.oid = t.oid WHERE NOT c.relrowsecurity;
-- Primary keys, unique constraints, unique indexes and foreign keys (both ends) that do
-- not start with team_id: none.
SELECT t.relname, c.conname AS key_not_led_by_team_id
FROM ext_tables t JOIN pg_constraint c ON c.conrelid = t.oid AND c.contype IN ('p', 'u', 'f')
WHERE (SELECT attname FROM pg_attribute WHERE attrelid = t.oid AND attnum = c.conkey[1]) <> 'team_id'
   OR (c.contype = 'f' AND (SELECT attname FROM pg_attribute WHERE attrelid = c.confrelid AND attnum = c.confkey[1]) <> 'team_id');
-- (api_keys is a reference table in a scale-out: its key_hash is unique across teams.)
SELECT t.relname, i.indexrelid::regclass AS unique_index_not_led_by_team_id
FROM ext_tables t JOIN pg_index i ON i.indrelid = t.oid AND i.indisunique
WHERE (SELECT attname FROM pg_attribute WHERE attrelid = t.oid AND attnum = i.indkey[0]) IS DISTINCT FROM 'team_id'
  AND i.indexrelid <> 'llm_clusters.api_keys_key_hash'::regclass;
-- Tables and sequences pg_dump would skip: none.
SELECT c.oid::regclass AS not_dumped FROM pg_class c
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'llm_clusters'
WHERE c.relkind IN ('r', 'S') AND c.oid <> ALL (e.extconfig);
-- Functions PUBLIC may run: none. Readers get the reading ones, admins the writing ones.
SELECT p.oid::regprocedure AS public_function
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'llm_clusters'
WHERE has_function_privilege('public', p.oid, 'EXECUTE')
ORDER BY 1::text;
-- Functions without search_path = pg_catalog, pg_temp: only those that run no SQL (the
-- aggregate and its support functions, the settings' reader), so that a schema others
-- may write to never lends a function to a superuser's call.
SELECT p.oid::regprocedure AS without_pinned_search_path
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'llm_clusters'
WHERE NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)
ORDER BY 1::text;
-- What the ingest role may run: capture_with_key, and nothing else.
SELECT p.oid::regprocedure AS ingest_may_run
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'llm_clusters'
WHERE has_function_privilege('llm_clusters_ingest', p.oid, 'EXECUTE')
ORDER BY 1::text;
-- Columns admins may insert into that are identities: none (ids are never the caller's).
SELECT a.attrelid::regclass AS relation, a.attname AS admins_may_choose
FROM ext_tables t JOIN pg_attribute a ON a.attrelid = t.oid AND a.attidentity <> ''
WHERE has_column_privilege('llm_clusters_admin', t.oid, a.attnum, 'INSERT');
-- Tables and views readers cannot read, and functions admins cannot run (but the ingest
-- role's one): none. Each is granted where it is created, so a forgotten grant shows here.
SELECT c.oid::regclass AS not_readable_by_readers FROM pg_class c
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'llm_clusters'
WHERE c.relkind IN ('r', 'v') AND NOT has_table_privilege('llm_clusters_reader', c.oid, 'SELECT');
SELECT p.oid::regprocedure AS admins_may_not_run FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'llm_clusters'
WHERE NOT has_function_privilege('llm_clusters_admin', p.oid, 'EXECUTE')
  AND p.oid <> 'llm_clusters.capture_with_key(text, jsonb)'::regprocedure;
-- Views read with the caller's rights.
SELECT c.oid::regclass AS view_without_security_invoker FROM pg_class c
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'llm_clusters'
WHERE c.relkind = 'v' AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false);
-- SECURITY DEFINER: capture_with_key, run by the ingest role (and superusers) only, and the
-- trigger that deletes a row an admin marked (deletions.sql), which no role may call;
-- both with a fixed search_path.
SELECT p.oid::regprocedure AS security_definer, p.proconfig,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_run,
       has_function_privilege('llm_clusters_ingest', p.oid, 'EXECUTE') AS ingest_may_run
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'llm_clusters'
WHERE p.prosecdef;
