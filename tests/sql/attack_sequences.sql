-- Attack: using up an id space every team shares. jobs.id and steering.id are int identities
-- of one sequence each for all teams (2^31 values), and admins held USAGE on them: a loop
-- of nextval() (350,000 a second on a loaded laptop) would use up either within hours, and
-- then no team could create a job or steer. An INSERT draws its identity without USAGE on
-- the sequence, so no team role holds any on a sequence of int ids (from the catalog: a
-- sequence added later is covered); the bigint ones (runs, stable cluster ids) last
-- 9.2e18 draws, which no loop reaches.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SELECT c.oid::regclass AS int_sequence_a_team_role_may_draw, r.rolname
FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid
CROSS JOIN (VALUES ('llm_clusters_admin'), ('llm_clusters_reader'), ('llm_clusters_ingest')) r(rolname)
WHERE c.relnamespace = 'llm_clusters'::regnamespace AND s.seqmax <= 2147483647
  AND (has_sequence_privilege(r.rolname, c.oid, 'USAGE') OR has_sequence_privilege(r.rolname, c.oid, 'UPDATE'))
ORDER BY 1::text, 2;
SELECT count(*) > 0 AS int_sequences_checked FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
WHERE c.relnamespace = 'llm_clusters'::regnamespace AND s.seqmax <= 2147483647;
SET LOCAL llm_clusters.max_jobs_per_team = 1000;
CREATE ROLE regress_id_burner NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (2, 'regress_id_burner');
SET ROLE regress_id_burner;
SELECT regress.error_of($$SELECT nextval('llm_clusters.jobs_id_seq')$$) AS draw_job_ids;
SELECT regress.error_of($$SELECT nextval('llm_clusters.steering_id_seq')$$) AS draw_steering_ids;
SELECT regress.error_of($$SELECT setval('llm_clusters.jobs_id_seq', 2147483647)$$) AS set_job_ids;
-- Creating a job still draws its id.
SELECT llm_clusters.create_job('ids drawn by the insert', team_id => 2) > 0 AS creates_a_job;
RESET ROLE;
ROLLBACK;
