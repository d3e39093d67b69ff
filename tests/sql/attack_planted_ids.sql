-- Attack: ids of another team's next rows. An admin cannot choose an id (no INSERT privilege
-- on the identity columns), and rows planted before 0.5.0 (a superuser plants them here, in
-- every table, with the ids team 1 gets next) change nothing of team 1's: every statement
-- reads and writes by (team_id, id), and a function given an id that two teams share refuses.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL client_min_messages = error;
SET LOCAL TimeZone = 'UTC';
SET LOCAL llm_clusters.max_jobs_per_team = 20;
CREATE ROLE regress_planter NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (2, 'regress_planter');
SELECT regress.planted(1, 'victim', 60, 3, now() - interval '1 day');
SELECT regress.planted(2, 'planter', 30, 3, now() - interval '1 day');
-- 1. No chosen ids, with or without OVERRIDING SYSTEM VALUE.
SELECT nextval('llm_clusters.jobs_id_seq') + 1 AS next_job, nextval('llm_clusters.runs_id_seq') + 1 AS next_run \gset
SET ROLE regress_planter;
SELECT regress.error_of(format($$INSERT INTO llm_clusters.jobs (id, team_id, name) OVERRIDING SYSTEM VALUE VALUES (%s, 2, 'planted')$$, :next_job));
SELECT regress.error_of(format($$INSERT INTO llm_clusters.runs (id, team_id, job_name, level, window_start, window_end)
    OVERRIDING SYSTEM VALUE VALUES (%s, 2, 'planted', 'generation', now(), now())$$, :next_run));
SELECT regress.error_of($$UPDATE llm_clusters.jobs SET id = 424242 WHERE team_id = 2$$);
RESET ROLE;
-- 2. Rows planted in team 2 with the ids team 1 gets next, in every table (as a dump of a
-- database attacked before 0.5.0 would hold them). Since 0.9.0 a new job skips the ids of
-- jobs that exist (attack_sequences): that trigger is off until team 1's job has its id.
ALTER TABLE llm_clusters.jobs DISABLE TRIGGER jobs_unused_id;
SELECT last_value + 1 AS job_id FROM llm_clusters.jobs_id_seq \gset
SELECT last_value + 1 AS run_id FROM llm_clusters.runs_id_seq \gset
SELECT last_value + 1 AS stable_id FROM llm_clusters.cluster_stable_id_seq \gset
INSERT INTO llm_clusters.jobs (id, team_id, name, level, enabled, enabled_at, owner) OVERRIDING SYSTEM VALUE
VALUES (:job_id, 2, 'planted', 'generation', false, now() - interval '3 days', 'regress_planter');
-- The first planted run holds the current daily cycle of the planted job: before 0.5.0,
-- team 1's job of that id was never due again.
INSERT INTO llm_clusters.runs (id, job_id, team_id, job_name, level, window_start, window_end, cycle, status)
OVERRIDING SYSTEM VALUE
SELECT :run_id + i, :job_id, 2, 'planted', 'generation', now() - interval '8 days', now(),
       CASE WHEN i = 0 THEN date_trunc('day', now()) + current_setting('llm_clusters.daily_run_time')::time
                          - CASE WHEN now()::time < current_setting('llm_clusters.daily_run_time')::time
                                 THEN interval '1 day' ELSE interval '0' END END, 'succeeded'
FROM generate_series(0, 5) i;
INSERT INTO llm_clusters.themes (team_id, run_id, theme_id, title, description, size, share)
SELECT 2, :run_id + i, t, 'planted theme', 'planted', 1, 1 FROM generate_series(0, 5) i, generate_series(0, 9) t;
INSERT INTO llm_clusters.clusters (team_id, run_id, cluster_id, title, description, size, share, stable_id, theme_id)
SELECT 2, :run_id + i, c, 'planted', 'planted', 1, 1, :stable_id + c, 0 FROM generate_series(0, 5) i, generate_series(-1, 9) c;
INSERT INTO llm_clusters.assignments (team_id, run_id, item_id, cluster_id, x, y, distance, rank)
SELECT 2, :run_id + i, regress.planted_id(1, 'victim', k), 0, 0, 0, 0, k FROM generate_series(0, 5) i, generate_series(0, 59) k;
INSERT INTO llm_clusters.cluster_lineage (team_id, job_id, run_id, stable_id, event)
SELECT 2, :job_id, :run_id + i, :stable_id + i, 'new' FROM generate_series(0, 5) i;
INSERT INTO llm_clusters.incremental_assignments (team_id, job_id, run_id, item_id, cluster_id, distance)
SELECT 2, :job_id, :run_id + i, regress.planted_id(1, 'victim', 0), 0, 0 FROM generate_series(0, 5) i;
CREATE TEMP TABLE planted AS
SELECT 'runs' AS t, md5(string_agg(r::text, ',' ORDER BY r.id)) AS digest FROM llm_clusters.runs r WHERE team_id = 2
UNION ALL SELECT 'clusters', md5(string_agg(c::text, ',' ORDER BY c.run_id, c.cluster_id)) FROM llm_clusters.clusters c WHERE team_id = 2
UNION ALL SELECT 'themes', md5(string_agg(t::text, ',' ORDER BY t.run_id, t.theme_id)) FROM llm_clusters.themes t WHERE team_id = 2
UNION ALL SELECT 'assignments', md5(string_agg(a::text, ',' ORDER BY a.run_id, a.item_id)) FROM llm_clusters.assignments a WHERE team_id = 2
UNION ALL SELECT 'lineage', md5(string_agg(l::text, ',' ORDER BY l.run_id, l.stable_id)) FROM llm_clusters.cluster_lineage l WHERE team_id = 2
UNION ALL SELECT 'incremental', md5(string_agg(i::text, ',' ORDER BY i.run_id, i.item_id)) FROM llm_clusters.incremental_assignments i WHERE team_id = 2;
-- 3. Team 1's job gets the planted id; everything runs: the scheduler, lineage (two runs),
-- incremental assignment, AI-free labels, metrics, the pages.
INSERT INTO llm_clusters.jobs (name, level, team_id, enabled_at) VALUES ('victim', 'generation', 1, now() - interval '3 days')
RETURNING id = :job_id AS victim_got_the_planted_id;
ALTER TABLE llm_clusters.jobs ENABLE TRIGGER jobs_unused_id;
SELECT count(*) AS due_runs FROM llm_clusters.run_due_jobs();
SELECT status, n_clusters > 0 AS clustered FROM llm_clusters.runs WHERE team_id = 1 AND job_id = :job_id;
SELECT count(*) AS team_1_runs_sharing_a_planted_id FROM llm_clusters.runs WHERE team_id = 1 AND id = :run_id;
-- The functions given only an id that both teams have refuse it, naming both teams.
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.run_job(%s)', :job_id)), '(job|run) \d+', '\1 N') AS refused;
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.assign_pending(%s)', :job_id)), '(job|run) \d+', '\1 N') AS refused;
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.report_html(%s)', :run_id)), '(job|run) \d+', '\1 N') AS refused;
SELECT regexp_replace(regress.error_of(format('SELECT * FROM llm_clusters.cluster_items(%s, 0)', :run_id)), '(job|run) \d+', '\1 N') AS refused;
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.label_run(%s)', :run_id)), '(job|run) \d+', '\1 N') AS refused;
-- 4. Team 2's planted rows are as they were; team 1's results are team 1's.
SELECT p.t, p.digest = n.digest AS planted_rows_unchanged
FROM planted p JOIN (
SELECT 'runs' AS t, md5(string_agg(r::text, ',' ORDER BY r.id)) AS digest FROM llm_clusters.runs r WHERE team_id = 2
UNION ALL SELECT 'clusters', md5(string_agg(c::text, ',' ORDER BY c.run_id, c.cluster_id)) FROM llm_clusters.clusters c WHERE team_id = 2
UNION ALL SELECT 'themes', md5(string_agg(t::text, ',' ORDER BY t.run_id, t.theme_id)) FROM llm_clusters.themes t WHERE team_id = 2
UNION ALL SELECT 'assignments', md5(string_agg(a::text, ',' ORDER BY a.run_id, a.item_id)) FROM llm_clusters.assignments a WHERE team_id = 2
UNION ALL SELECT 'lineage', md5(string_agg(l::text, ',' ORDER BY l.run_id, l.stable_id)) FROM llm_clusters.cluster_lineage l WHERE team_id = 2
UNION ALL SELECT 'incremental', md5(string_agg(i::text, ',' ORDER BY i.run_id, i.item_id)) FROM llm_clusters.incremental_assignments i WHERE team_id = 2
) n USING (t) ORDER BY p.t;
SELECT count(*) FILTER (WHERE title = 'planted') AS planted_titles_in_team_1,
       count(*) FILTER (WHERE size > 1) AS team_1_clusters_with_sizes
FROM llm_clusters.clusters WHERE team_id = 1;
-- The views join by team: team 1's cards show team 1's runs only.
SELECT count(*) FILTER (WHERE title = 'planted') AS planted_cards, count(*) FILTER (WHERE theme_title = 'planted theme') AS planted_themes
FROM llm_clusters.cluster_cards WHERE team_id = 1;
SELECT count(*) AS planted_points FROM llm_clusters.scatter_points WHERE team_id = 1 AND title = 'planted';
SELECT count(*) AS planted_trends FROM llm_clusters.cluster_trends WHERE team_id = 1 AND (title = 'planted' OR latest_title = 'planted');
ROLLBACK;
