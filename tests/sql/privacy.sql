-- The privacy floor (llm_clusters.min_distinct_users) and item_labels. A cluster whose
-- items come from one user, and Outliers of one user, carry marker words; below the floor
-- no reading view, function or page shows them, to a reader or to a team admin, while
-- their sizes and metrics stay; with the floor off (1) the same scan finds them.
BEGIN;
SET LOCAL TimeZone = 'UTC';
CREATE ROLE regress_privacy_reader NOLOGIN IN ROLE llm_clusters_reader;
CREATE ROLE regress_privacy_admin NOLOGIN IN ROLE llm_clusters_admin;
CREATE ROLE regress_privacy_other NOLOGIN IN ROLE llm_clusters_reader;
INSERT INTO llm_clusters.team_roles VALUES (1, 'regress_privacy_reader'), (1, 'regress_privacy_admin'),
                                           (2, 'regress_privacy_other');
GRANT USAGE ON SCHEMA regress TO regress_privacy_reader, regress_privacy_admin, regress_privacy_other;

-- Items 0-89: three topics (i % 3), of 30 users each but the third, whose 30 items come
-- from one user and carry the markers; items 90-92: lone items of one user (Outliers),
-- markers too.
SELECT llm_clusters.capture(jsonb_agg(jsonb_build_object(
    'event', '$ai_generation', 'uuid', regress.planted_id(1, 'priv', i), 'timestamp', '2026-11-20T00:00:00Z'::timestamptz + i * interval '1 minute',
    'distinct_id', CASE WHEN i >= 90 THEN 'loner' WHEN i % 3 = 2 THEN 'lonely' ELSE 'user-' || i END,
    'properties', jsonb_build_object('$ai_trace_id', 'priv-' || i, '$ai_total_cost_usd', 0.001, '$ai_latency', 1,
        '$ai_input', CASE WHEN i < 90 THEN (ARRAY['reset my password please', 'translate this menu',
                                                  'zebraquokka fjordwhistle tax question'])[1 + i % 3]
                          ELSE 'xylotrumpet quandary' END || ' #' || i))))
FROM generate_series(0, 92) i;
INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding)
SELECT 1, 'generation', regress.planted_id(1, 'priv', i),
       regress.planted_vector(i, CASE WHEN i < 90 THEN i % 3 ELSE 3 + i % 90 END, noise => CASE WHEN i < 90 THEN 0.05 ELSE 0.3 END)
FROM generate_series(0, 92) i;
-- Team 2: a run of its own, for isolation.
SELECT regress.planted(2, 'priv', 60);
SELECT llm_clusters.create_job('privacy', level => 'generation') AS job \gset
SELECT llm_clusters.run_job(:job, '2026-11-21') AS run \gset
SELECT llm_clusters.create_job('privacy two', level => 'generation', team_id => 2) AS job2 \gset
SELECT llm_clusters.run_job(:job2, '2026-11-21') AS run2 \gset

-- What the run counted: users per cluster and theme.
SELECT grouping, group_id, users FROM llm_clusters.distinct_users WHERE run_id = :run ORDER BY 1, 2;
SELECT c.cluster_id, c.size, u.users, c.title ~* 'zebraquokka|fjordwhistle|tax' AS title_from_marked_items
FROM llm_clusters.clusters c JOIN llm_clusters.distinct_users u ON u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
WHERE c.run_id = :run ORDER BY c.cluster_id;

-- Every view of the schema and every stable function a role may run, called with every
-- cluster, item and trace of the run: objects whose output holds a marker. Built from the
-- catalog, so a reading view or function added later is scanned too (or listed as not
-- called, when its arguments are not ones this scan knows).
CREATE FUNCTION pg_temp.scan(marker text, job int, run bigint, team int) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    v record;
    f record;
    call text;
    calls text[];
    hits bigint;
    total bigint;
    failed int;
    known text[] := ARRAY['job_id', 'run_id', 'cluster_id', 'item_id', 'trace_id', 'team_id', 'max_items', 'embedding'];
BEGIN
    FOR v IN SELECT c.relname FROM pg_catalog.pg_class c
             WHERE c.relnamespace = 'llm_clusters'::regnamespace AND c.relkind = 'v' ORDER BY 1 LOOP
        -- The item views of every level and lens: the raw items, which readers read anyway.
        IF v.relname ~ '^(generation|trace|evaluation)(_[a-z]+)?_items$' THEN
            RETURN NEXT format('view %s: raw items, not scanned', v.relname);
            CONTINUE;
        END IF;
        EXECUTE format('SELECT count(*) FROM llm_clusters.%I v WHERE v::text ~* %L', v.relname, marker) INTO hits;
        RETURN NEXT format('view %s: %s', v.relname, CASE WHEN hits > 0 THEN 'MARKER in ' || hits || ' rows' ELSE 'clean' END);
    END LOOP;
    FOR f IN SELECT p.oid::regprocedure AS sig, p.proname, p.provolatile,
                    (SELECT array_agg(a.n ORDER BY a.o) FROM unnest(p.proargnames, coalesce(p.proargmodes, array_fill('i'::"char", ARRAY[p.pronargs])))
                            WITH ORDINALITY AS a(n, m, o) WHERE a.m IN ('i', 'b')) AS args,
                    p.pronargs - p.pronargdefaults AS required
             FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = 'llm_clusters'::regnamespace AND p.prokind = 'f'
               AND p.prorettype NOT IN ('trigger'::regtype, 'void'::regtype) AND has_function_privilege(p.oid, 'EXECUTE')
             ORDER BY p.oid::regprocedure::text LOOP
        IF f.provolatile = 'v' THEN
            CONTINUE;   -- reading functions are stable; volatile ones write or call out
        ELSIF f.proname IN ('trace_html', '_trace_html') THEN
            -- One trace's own events, like the raw item views (its cluster list: below).
            RETURN NEXT format('function %s: a raw trace, not scanned', f.sig);
            CONTINUE;
        ELSIF f.args IS NULL AND f.required > 0 OR EXISTS (SELECT 1 FROM unnest(f.args[1:f.required]) n WHERE n <> ALL (known)) THEN
            RETURN NEXT format('function %s: not called', f.sig);
            CONTINUE;
        END IF;
        SELECT array_agg(DISTINCT format('llm_clusters.%I(%s)', f.proname,
                   (SELECT string_agg(format('%I => %s', n, CASE n WHEN 'run_id' THEN run::text WHEN 'team_id' THEN team::text WHEN 'job_id' THEN job::text
                                                                   WHEN 'max_items' THEN '10000'
                                                                   WHEN 'cluster_id' THEN coalesce(k.cluster_id::text, 'NULL::int')
                                                                   WHEN 'item_id' THEN quote_nullable(k.item_id)
                                                                   WHEN 'embedding' THEN format('(SELECT e.embedding FROM llm_clusters.embeddings e WHERE e.team_id = %s AND e.item_id = %L)', team, k.item_id)
                                                                   ELSE quote_nullable(k.trace_id) END), ', ')
                    FROM unnest(f.args) n WHERE n = ANY (known))))
        INTO calls
        FROM (SELECT a.cluster_id, a.item_id, a.trace_id FROM llm_clusters.assignments a WHERE a.run_id = run
              UNION ALL SELECT NULL, NULL, NULL) k;
        total := 0;
        failed := 0;
        FOREACH call IN ARRAY calls LOOP
            BEGIN
                EXECUTE format('SELECT count(*) FROM %s AS f WHERE f::text ~* %L', call, marker) INTO hits;
                total := total + hits;
            EXCEPTION WHEN others THEN
                failed := failed + 1;
            END;
        END LOOP;
        RETURN NEXT format('function %s: %s calls%s, %s', f.sig, cardinality(calls),
                           CASE WHEN failed > 0 THEN ' (' || failed || ' failed)' ELSE '' END,
                           CASE WHEN total > 0 THEN 'MARKER in ' || total || ' results' ELSE 'clean' END);
    END LOOP;
END $$;

-- A team admin may not lower the floor, nor may a reader.
SET llm_clusters.min_distinct_users = 5;
SET ROLE regress_privacy_admin;
SELECT regress.error_of('SET llm_clusters.min_distinct_users = 1') AS admin_lowers;
SELECT current_setting('llm_clusters.min_distinct_users') AS floor;
SELECT * FROM pg_temp.scan('zebraquokka|fjordwhistle|xylotrumpet', :job, :run, 1) AS admin_sees;
RESET ROLE;
SET ROLE regress_privacy_reader;
SELECT regress.error_of('SET llm_clusters.min_distinct_users = 1') AS reader_lowers;
SELECT * FROM pg_temp.scan('zebraquokka|fjordwhistle|xylotrumpet', :job, :run, 1) AS reader_sees;

-- The cards keep their sizes and metrics; below the floor, no text of their items.
SELECT cluster_id, title, description LIKE 'Items of fewer than 5 distinct users%' AS noted, keywords, size,
       avg_cost_usd IS NOT NULL AS has_cost, distinct_users, below_floor
FROM llm_clusters.cluster_cards WHERE run_id = :run ORDER BY position;
SELECT theme_id, title, size, distinct_users, below_floor FROM llm_clusters.theme_cards WHERE run_id = :run ORDER BY position;
SELECT c.cluster_id, count(i.*) AS items, count(i.preview) AS previews
FROM llm_clusters.cluster_cards c, LATERAL llm_clusters.cluster_items(:run, c.cluster_id, 10000) i
WHERE c.run_id = :run GROUP BY 1 ORDER BY 1;
SELECT h LIKE '%Small cluster%' AS small_card, h LIKE '%reset my password%' AS big_cards_keep_examples
FROM llm_clusters.report_html(:run) h;

-- item_labels: one row per item of the job's latest run, titles as the cards show them.
SELECT l.cluster_id, l.title, l.lens, l.level, count(*) AS items, bool_and(l.job_id = :job AND l.run_id = :run) AS this_run,
       bool_and(l.title = c.title AND l.stable_id IS NOT DISTINCT FROM c.stable_id
                AND l.theme_title IS NOT DISTINCT FROM c.theme_title) AS as_cards
FROM llm_clusters.item_labels l
JOIN llm_clusters.cluster_cards c ON c.run_id = l.run_id AND c.cluster_id = l.cluster_id
WHERE l.job_id = :job GROUP BY 1, 2, 3, 4 ORDER BY 1;
SELECT count(*) AS item_labels_of_team_2 FROM llm_clusters.item_labels WHERE team_id = 2 OR run_id = :run2;
SELECT job_id = :job AS this_job, lens, title, cluster_id FROM llm_clusters.item_clusters(regress.planted_id(1, 'priv', 62));
-- A trace's page lists its clusters as item_clusters does.
SELECT h LIKE '%Small cluster%' AS lists_small_cluster FROM llm_clusters.trace_html('priv-62') h;
RESET ROLE;
SET ROLE regress_privacy_other;
SELECT team_id, count(*) AS items, count(DISTINCT run_id) AS runs FROM llm_clusters.item_labels GROUP BY 1;
RESET ROLE;

-- The floor off: the same scan finds the markers (so it can fail), without a new run.
SET llm_clusters.min_distinct_users = 1;
SET ROLE regress_privacy_reader;
SELECT * FROM pg_temp.scan('zebraquokka|fjordwhistle|xylotrumpet', :job, :run, 1) AS floor_off WHERE floor_off LIKE '%MARKER%';
SELECT cluster_id, title ~* 'zebraquokka|fjordwhistle|tax|xylotrumpet' AS title_shown, below_floor
FROM llm_clusters.cluster_cards WHERE run_id = :run ORDER BY position;
SELECT h LIKE '%Small cluster%' AS lists_small_cluster,
       strpos(h, (SELECT title FROM llm_clusters.clusters WHERE run_id = :run AND cluster_id = 2)) > 0 AS lists_its_title
FROM llm_clusters.trace_html('priv-62') h;
RESET ROLE;
ROLLBACK;
