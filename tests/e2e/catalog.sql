-- Everything the extension owns, one line per fact, sorted: tables' columns, constraints,
-- indexes, policies, triggers, privileges and comments; functions' definitions, privileges
-- and comments; views; what pg_dump keeps. Two databases describe the same schema when
-- their outputs are equal (tests/e2e/upgrade.sh: a fresh install against an upgrade).
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'llm_clusters'),
members AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
),
rels AS (SELECT c.* FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid),
procs AS (SELECT p.* FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid)
SELECT line FROM (
    SELECT format('relation %s kind %s rls %s acl %s comment %s', r.oid::regclass, r.relkind, r.relrowsecurity,
                  (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(r.relacl) a), obj_description(r.oid, 'pg_class')) FROM rels r
    UNION ALL
    SELECT format('column %s.%s %s notnull %s default %s comment %s', a.attrelid::regclass, a.attname, format_type(a.atttypid, a.atttypmod),
                  a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), col_description(a.attrelid, a.attnum))
    FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    UNION ALL
    SELECT format('column order %s: %s', r.oid::regclass,
                  (SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped))
    FROM rels r WHERE r.relkind IN ('r', 'v')
    UNION ALL
    SELECT format('constraint %s.%s %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
    FROM pg_constraint c JOIN rels r ON r.oid = c.conrelid
    UNION ALL
    SELECT format('index %s', pg_get_indexdef(i.indexrelid)) FROM pg_index i JOIN rels r ON r.oid = i.indrelid
    UNION ALL
    SELECT format('policy %s.%s %s %s using %s check %s', p.polrelid::regclass, p.polname, p.polcmd, p.polroles::regrole[],
                  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
    FROM pg_policy p JOIN rels r ON r.oid = p.polrelid
    UNION ALL
    SELECT format('trigger %s', pg_get_triggerdef(t.oid)) FROM pg_trigger t JOIN rels r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal
    UNION ALL
    SELECT format('view %s: %s options %s', r.oid::regclass, pg_get_viewdef(r.oid), r.reloptions) FROM rels r WHERE r.relkind = 'v'
    UNION ALL
    SELECT format('function %s acl %s comment %s: %s', p.oid::regprocedure,
                  (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(p.proacl) a), obj_description(p.oid, 'pg_proc'),
                  CASE WHEN p.prokind = 'a' THEN 'aggregate' ELSE pg_get_functiondef(p.oid) END)
    FROM procs p
    UNION ALL
    SELECT format('dumped %s', c::regclass) FROM ext, pg_extension e, unnest(e.extconfig) c WHERE e.oid = ext.oid
    UNION ALL
    SELECT format('member %s', pg_describe_object(m.classid, m.objid, 0)) FROM members m
) facts(line)
ORDER BY line;
