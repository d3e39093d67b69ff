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

-- Attack: drawing ids with inserts that fail or are rolled back. Every INSERT draws its id
-- before its checks run, and a rollback does not give it back: a loop of failing inserts
-- into jobs or steering, or of create_job in a transaction rolled back, used up the 2^31
-- ids of all teams all the same. The identities cycle, and a new row's id skips the ids
-- of rows that exist, whichever team's. Sequences are not transactional: their positions
-- are put back at the end.
SELECT last_value AS jobs_seq_was FROM llm_clusters.jobs_id_seq \gset
SELECT last_value AS steering_seq_was FROM llm_clusters.steering_id_seq \gset
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL llm_clusters.max_jobs_per_team = 1000;
CREATE ROLE regress_id_burner NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (2, 'regress_id_burner');
SELECT llm_clusters.create_job('team 1 holds this id', team_id => 1, level => 'generation') AS held_job \gset
SELECT setval('llm_clusters.jobs_id_seq', :held_job - 1) IS NOT NULL AS next_draw_is_in_use;
SET ROLE regress_id_burner;
SELECT llm_clusters.create_job('drawn after an id in use', team_id => 2, level => 'generation') AS skipping_job \gset
RESET ROLE;
SELECT :skipping_job <> :held_job AS id_in_use_skipped;
SELECT setval('llm_clusters.jobs_id_seq', 2147483645) IS NOT NULL AS ids_near_their_end;
SET ROLE regress_id_burner;
SELECT regress.error_of($$INSERT INTO llm_clusters.jobs (team_id, name) VALUES (2, '')$$) AS failing_insert_draws_an_id;
SAVEPOINT rolled_back;
SELECT llm_clusters.create_job('rolled back', team_id => 2) > 0 AS rolled_back_job_draws_an_id;
ROLLBACK TO rolled_back;
SELECT llm_clusters.create_job('after the last id', team_id => 2, level => 'generation') AS wrapped_job \gset
RESET ROLE;
SELECT :wrapped_job BETWEEN 1 AND 2147483645 AS ids_start_again,
       (SELECT count(*) FROM llm_clusters.jobs WHERE id = :wrapped_job) AS jobs_with_that_id;
-- Steering ids, the same way (a pinned topic with its embedding needs no run).
SET ROLE regress_id_burner;
SELECT llm_clusters.pin_topic(:skipping_job, 'held', ARRAY['held'], ARRAY[1, 0, 0]::real[]) AS held_pin \gset
RESET ROLE;
SELECT setval('llm_clusters.steering_id_seq', :held_pin - 1) IS NOT NULL AS next_draw_is_in_use;
SET ROLE regress_id_burner;
SELECT llm_clusters.pin_topic(:skipping_job, 'skipping', ARRAY['skipping'], ARRAY[0, 1, 0]::real[]) AS skipping_pin \gset
SELECT :skipping_pin <> :held_pin AS id_in_use_skipped;
RESET ROLE;
SELECT setval('llm_clusters.steering_id_seq', 2147483646) IS NOT NULL AS ids_near_their_end;
SET ROLE regress_id_burner;
SELECT regress.error_of(format($$INSERT INTO llm_clusters.steering (team_id, job_id, kind) VALUES (2, %s, 'bogus')$$, :skipping_job))
    AS failing_insert_draws_an_id;
SELECT llm_clusters.pin_topic(:skipping_job, 'wrapped', ARRAY['wrapped'], ARRAY[0, 0, 1]::real[]) AS wrapped_pin \gset
RESET ROLE;
SELECT :wrapped_pin BETWEEN 1 AND 2147483646 AS ids_start_again,
       (SELECT count(*) FROM llm_clusters.steering WHERE id = :wrapped_pin) AS steers_with_that_id;
ROLLBACK;
SELECT setval('llm_clusters.jobs_id_seq', :jobs_seq_was) IS NOT NULL AS jobs_ids_put_back,
       setval('llm_clusters.steering_id_seq', :steering_seq_was) IS NOT NULL AS steering_ids_put_back;
