-- Teams and privileges with real roles: row-level security on every table and view,
-- membership through a group role, the reader and admin roles, and every way in.
BEGIN;
SET LOCAL TimeZone = 'UTC';
CREATE ROLE regress_team1 NOLOGIN;                       -- a group role mapped to team 1
CREATE ROLE regress_alice NOLOGIN IN ROLE regress_team1, llm_clusters_reader;
CREATE ROLE regress_amy NOLOGIN IN ROLE llm_clusters_admin;
CREATE ROLE regress_bob NOLOGIN IN ROLE llm_clusters_admin;
CREATE ROLE regress_nobody NOLOGIN;
INSERT INTO llm_clusters.team_roles VALUES (1, 'regress_team1'), (1, 'regress_amy'), (2, 'regress_bob'),
                                           (3, 'a role that does not exist');
GRANT USAGE ON SCHEMA regress TO PUBLIC;
GRANT EXECUTE ON FUNCTION regress.error_of(text) TO PUBLIC;

-- Two teams, the same items each, one job and one run each (as superuser).
-- The last item of each team comes after the run's window.
CREATE FUNCTION regress.team_items(team int) RETURNS void LANGUAGE sql AS $$
    SELECT regress.planted(team, 'sec', 60, topics => ARRAY['team ' || team || ' password reset',
                                                            'team ' || team || ' sql query', 'team ' || team || ' translate menu']);
    SELECT regress.planted(team, 'seclate', 1, ts => '2026-11-22T00:00:00Z', topics => ARRAY['team ' || team || ' password reset']);
$$;
SELECT regress.team_items(1), regress.team_items(2);
SELECT llm_clusters.create_job('team one', 'generation', team_id => 1) AS job1 \gset
SELECT llm_clusters.create_job('team two', 'generation', team_id => 2) AS job2 \gset
SELECT llm_clusters.run_job(:job1, '2026-11-21') AS run1 \gset
SELECT llm_clusters.run_job(:job2, '2026-11-21') AS run2 \gset
SELECT llm_clusters.assign_pending(:job1), llm_clusters.assign_pending(:job2);
-- Every table and view of the schema with a team_id, from the catalog: one added later is
-- checked without being named here. A relation the role may not read shows NULL.
CREATE FUNCTION regress.visible() RETURNS TABLE (relation text, teams int[]) LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    FOR r IN SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
             WHERE c.relnamespace = 'llm_clusters'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p')
               AND a.attname = 'team_id' AND NOT a.attisdropped ORDER BY c.relname LOOP
        relation := r;
        teams := NULL;
        IF has_table_privilege(format('llm_clusters.%I', r), 'SELECT') THEN
            EXECUTE format('SELECT coalesce(array_agg(DISTINCT team_id ORDER BY team_id), ''{}'') FROM llm_clusters.%I', r) INTO teams;
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;
GRANT EXECUTE ON FUNCTION regress.visible() TO PUBLIC;

-- The superuser sees both teams everywhere.
SELECT relation, teams FROM regress.visible();

-- alice reads team 1 through her group role, and nothing of team 2, through any table or view.
SET LOCAL ROLE regress_alice;
SELECT relation, teams FROM regress.visible();
SELECT role_name FROM llm_clusters.team_roles ORDER BY 1;
SELECT count(*) AS team2_clusters_of_item FROM llm_clusters.item_clusters(regress.planted_id(2, 'sec', 1), 2);
SELECT count(*) AS own_item_clusters FROM llm_clusters.item_clusters(regress.planted_id(1, 'sec', 1), 1);
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.report_html(%s)', :run2)), '(run|job) \d+', '\1 N', 'g') AS other_report;
SELECT length(llm_clusters.report_html(:run1)) > 1000 AS own_report;
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.cluster_items(%s, 0)', :run2)), '(run|job) \d+', '\1 N', 'g') AS other_items;
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.assign(%s, ''{1,0,0,0,0,0,0,0}'')', :job2)), '(run|job) \d+', '\1 N', 'g') AS other_assign;
SELECT cluster_id >= 0 AS own_assign FROM llm_clusters.assign(:job1, '{1,0,0,0,0,0,0,0}');
-- ...and, being a reader, changes nothing.
SELECT regress.error_of(format('SELECT llm_clusters.run_job(%s)', :job1)) AS run_own_job;
SELECT regress.error_of($$SELECT llm_clusters.create_job('x', team_id => 1)$$) AS create_job;
SELECT regress.error_of($$SELECT llm_clusters.capture('{"event": "$ai_span", "properties": {"$ai_trace_id": "t"}}', 1)$$) AS capture;
SELECT regress.error_of('UPDATE llm_clusters.jobs SET enabled = false') AS update_jobs;
SELECT regress.error_of('DELETE FROM llm_clusters.events') AS delete_events;
SELECT regress.error_of('INSERT INTO llm_clusters.team_roles VALUES (2, ''regress_alice'')') AS join_team_2;
RESET ROLE;

-- amy (admin of team 1) manages and runs team 1's jobs, and cannot touch team 2's: with a
-- job of each team due, her run_due_jobs runs her team's only.
INSERT INTO llm_clusters.jobs (name, level, team_id, enabled_at)
VALUES ('due, team 1', 'generation', 1, now() - interval '2 days'), ('due, team 2', 'generation', 2, now() - interval '2 days');
SET LOCAL ROLE regress_amy;
SELECT relation, teams FROM regress.visible() WHERE relation IN ('jobs', 'runs', 'events');
SELECT llm_clusters.capture('{"event": "$ai_span", "uuid": "00000000-0000-0000-0000-0000000000a1", "properties": {"$ai_trace_id": "amy"}}', 1) AS own_capture;
SELECT regress.error_of($$SELECT llm_clusters.capture('{"event": "$ai_span", "properties": {"$ai_trace_id": "t"}}', 2)$$) AS capture_team_2;
SELECT regress.error_of($$SELECT llm_clusters.create_job('intruder', team_id => 2)$$) AS create_job_team_2;
SELECT regress.error_of(format('SELECT llm_clusters.run_job(%s)', :job2)) ~ '^P0002: job \d+ does not exist$' AS run_job_team_2;
SELECT regress.error_of(format('SELECT llm_clusters.assign_pending(%s)', :job2)) ~ '^P0002: job \d+ does not exist$' AS assign_pending_team_2;
UPDATE llm_clusters.jobs SET enabled = false WHERE id = :job2;   -- matches no row
SELECT regress.error_of(format('UPDATE llm_clusters.jobs SET team_id = 2 WHERE id = %s', :job1)) AS move_job_to_team_2;
SELECT llm_clusters.run_job(:job1, '2026-11-21') IS NOT NULL AS ran_own_job;
SELECT count(*) AS own_runs_seen FROM llm_clusters.run_due_jobs();
RESET ROLE;
SELECT job_name FROM llm_clusters.runs WHERE job_name LIKE 'due, team %' ORDER BY 1;
SELECT team_id, name, enabled FROM llm_clusters.jobs ORDER BY id;

-- bob sees only team 2; nobody (no membership, no role) reaches nothing at all.
SET LOCAL ROLE regress_bob;
SELECT relation, teams FROM regress.visible() WHERE relation IN ('events', 'runs', 'scatter_points');
RESET ROLE;
SET LOCAL ROLE regress_nobody;
SELECT regress.error_of('SELECT count(*) FROM llm_clusters.runs') AS nobody_runs;
RESET ROLE;
ROLLBACK;
