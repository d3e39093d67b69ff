-- Attack: table locks across teams. PostgreSQL lets LOCK TABLE take any mode on a table to
-- a role with table-level UPDATE, DELETE or TRUNCATE (MAINTAIN on 17+), ROW EXCLUSIVE and
-- below with INSERT, ACCESS SHARE with SELECT; column-level privileges do not count. Team
-- admins held table-level UPDATE and DELETE on jobs, runs, clusters, themes, item_summaries
-- and steering: one admin's `LOCK TABLE llm_clusters.clusters IN ACCESS EXCLUSIVE MODE` in
-- an idle transaction stalled every team's readers and runs, and create_job's own
-- SHARE ROW EXCLUSIVE lock on jobs, held to the end of the caller's transaction, stalled
-- every team's job writes. Now UPDATE is granted per column and rows are deleted through
-- functions, so a team's roles can take no lock above what INSERT allows (ROW EXCLUSIVE,
-- which conflicts only with SHARE and above), and none of the extension's own code takes
-- SHARE or above on its tables: what another team holds blocks nothing.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL client_min_messages = error;
CREATE ROLE regress_lock_admin NOLOGIN IN ROLE llm_clusters_admin;
CREATE ROLE regress_lock_reader NOLOGIN IN ROLE llm_clusters_reader;
CREATE ROLE regress_lock_ingest NOLOGIN IN ROLE llm_clusters_ingest;
INSERT INTO llm_clusters.team_roles VALUES (2, 'regress_lock_admin'), (2, 'regress_lock_reader');
-- One attempt, NOWAIT: 'locked' (the lock was taken, and given back with its
-- subtransaction) or the SQLSTATE of the refusal.
CREATE FUNCTION regress.try_lock(rel regclass, mode text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('LOCK TABLE %s IN %s MODE NOWAIT', rel, mode);
    RAISE EXCEPTION 'taken';
EXCEPTION WHEN others THEN
    RETURN CASE WHEN SQLERRM = 'taken' THEN 'locked' ELSE SQLSTATE END;
END $$;
CREATE TEMP TABLE attempts (role name, rel regclass, mode text, strength int, outcome text);
GRANT INSERT ON attempts TO PUBLIC;
-- Every table and view of the schema (from the catalog: a table added later is covered),
-- every mode above ACCESS SHARE, as each role.
CREATE TEMP VIEW targets AS
SELECT c.oid::regclass AS rel, m.mode, m.strength
FROM pg_class c,
     unnest(ARRAY['ROW SHARE', 'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', 'SHARE',
                  'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE']) WITH ORDINALITY AS m(mode, strength)
WHERE c.relnamespace = 'llm_clusters'::regnamespace AND c.relkind IN ('r', 'p', 'v');
GRANT SELECT ON targets TO PUBLIC;
SELECT count(DISTINCT rel) > 10 AS many_relations FROM targets;
SET LOCAL ROLE regress_lock_admin;
INSERT INTO attempts SELECT current_user, rel, mode, strength, regress.try_lock(rel, mode) FROM targets;
RESET ROLE;
SET LOCAL ROLE regress_lock_reader;
INSERT INTO attempts SELECT current_user, rel, mode, strength, regress.try_lock(rel, mode) FROM targets;
RESET ROLE;
SET LOCAL ROLE regress_lock_ingest;
INSERT INTO attempts SELECT current_user, rel, mode, strength, regress.try_lock(rel, mode) FROM targets;
RESET ROLE;
-- Locks taken that INSERT does not inherently allow (ROW SHARE and ROW EXCLUSIVE on a
-- table the role may insert into): none.
SELECT role, rel, mode AS lock_taken FROM attempts
WHERE outcome <> '42501'
  AND NOT (outcome = 'locked' AND strength <= 2 AND has_table_privilege(role, rel, 'INSERT'))
ORDER BY 1, 2::text, strength;
-- Each role, each mode: refused everywhere but where INSERT allows it (ROW EXCLUSIVE; ROW
-- SHARE too from PostgreSQL 16 on, while 15 asks UPDATE for it: either answer is right).
SELECT role, mode, bool_and(CASE WHEN strength <= 2 AND has_table_privilege(role, rel, 'INSERT')
                                 THEN outcome = 'locked' OR (strength = 1 AND outcome = '42501')
                                 ELSE outcome = '42501' END) AS as_expected,
       count(*) FILTER (WHERE outcome = 'locked' AND strength = 2) > 0 AS row_exclusive_taken
FROM attempts GROUP BY role, mode, strength ORDER BY role, strength;
ROLLBACK;

-- What the extension's own code locks: a team admin's working day in one transaction
-- (capture, embed, summarize, create_job, runs, assign, reading, pages, steering, undo,
-- delete_job, API keys), then the table locks the transaction holds. None may be SHARE or
-- above (the modes that conflict with ROW EXCLUSIVE, the most another team's role can hold),
-- so no lock of another team's open transaction can make it wait.
BEGIN;
SET LOCAL client_min_messages = error;
SET LOCAL TimeZone = 'UTC';
CREATE ROLE regress_lock_worker NOLOGIN IN ROLE llm_clusters_admin, llm_clusters_ingest;
INSERT INTO llm_clusters.team_roles VALUES (3, 'regress_lock_worker');
SELECT regress.planted(3, 'locks', 40, 2, now() - interval '1 day');
SELECT regress.planted_id(3, 'locks', 1) AS item \gset
SET LOCAL ROLE regress_lock_worker;
SELECT llm_clusters.capture('{"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-00000000bead", "timestamp": "2026-11-22T00:00:00Z",
                              "properties": {"$ai_trace_id": "locks", "$ai_input": "where is my order"}}', 3) AS captured;
SELECT llm_clusters.embed_pending('generation') >= 0 AS embedded;
SELECT llm_clusters.summarize_pending('trace') >= 0 AS summarized;
SELECT llm_clusters.create_job('locks', level => 'generation', team_id => 3) AS job \gset
SELECT llm_clusters.create_job('locks, second', level => 'generation', team_id => 3) AS second \gset
UPDATE llm_clusters.jobs SET enabled = false, name = 'locks, renamed' WHERE id = :second;
SELECT llm_clusters.run_job(:job) AS run \gset
SELECT count(*) >= 0 AS ran_due FROM llm_clusters.run_due_jobs();
SELECT llm_clusters.assign_pending(:job) >= 0 AS assigned;
SELECT count(*) > 0 AS cards FROM llm_clusters.cluster_cards WHERE run_id = :run;
SELECT count(*) > 0 AS points FROM llm_clusters.scatter_points WHERE run_id = :run;
SELECT count(*) >= 0 AS items FROM llm_clusters.cluster_items(:run, 0);
SELECT count(*) >= 0 AS item_clusters FROM llm_clusters.item_clusters(:'item', 3);
SELECT length(llm_clusters.report_html(:run)) > 0 AS report;
SELECT llm_clusters.merge_clusters(:run, ARRAY[0, 1]) AS merged \gset
-- merge_clusters returns the merged cluster; undo_steering takes the steer's id.
SELECT max(id) AS merge FROM llm_clusters.steering WHERE job_id = :job AND kind = 'merge' \gset
SELECT llm_clusters.pin_topic(:job, 'orders', ARRAY['where is my order'], '{1,0,0,0,0,0,0,0}') AS pin \gset
SELECT llm_clusters.run_job(:job) IS NOT NULL AS steered_run;
SELECT llm_clusters.undo_steering(:job, :merge) AS undone, llm_clusters.unpin_topic(:job, :pin) AS unpinned;
SELECT llm_clusters.delete_job(:second) AS deleted;
SELECT llm_clusters.create_api_key(3) AS key \gset
SELECT llm_clusters.capture_with_key(:'key', '{"event": "$ai_generation", "properties": {"$ai_trace_id": "keyed", "$ai_input": "hi"}}') AS captured_with_key;
SELECT llm_clusters.revoke_api_key(:'key') AS revoked;
RESET ROLE;
SELECT c.relname, l.mode AS strong_lock
FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
WHERE l.pid = pg_backend_pid() AND c.relnamespace = 'llm_clusters'::regnamespace
  AND l.mode NOT IN ('AccessShareLock', 'RowShareLock', 'RowExclusiveLock')
ORDER BY 1, 2;
SELECT count(*) > 5 AS held_some_locks
FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
WHERE l.pid = pg_backend_pid() AND c.relnamespace = 'llm_clusters'::regnamespace;
ROLLBACK;

-- Deleting without DELETE: delete_job, undo_steering and unpin_topic mark the row (a
-- column-level UPDATE that row-level security checks) and a trigger deletes it. A job of
-- another team is not found; marking another team's row matches nothing; DELETE itself
-- is refused; nobody may call the trigger's function.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL client_min_messages = error;
CREATE ROLE regress_deleter NOLOGIN IN ROLE llm_clusters_admin;
CREATE ROLE regress_deleter_reader NOLOGIN IN ROLE llm_clusters_reader;
INSERT INTO llm_clusters.team_roles VALUES (4, 'regress_deleter'), (4, 'regress_deleter_reader');
SELECT regress.planted(4, 'del', 40, 2, now() - interval '1 day');
SELECT llm_clusters.create_job('other team''s', level => 'generation', team_id => 5) AS foreign_job \gset
SET LOCAL ROLE regress_deleter;
SELECT llm_clusters.create_job('to delete', level => 'generation', team_id => 4) AS job \gset
SELECT llm_clusters.run_job(:job) AS run \gset
SELECT llm_clusters.pin_topic(:job, 'kept until deleted', ARRAY['x'], '{1,0,0,0,0,0,0,0}') IS NOT NULL AS pinned;
SELECT regress.error_of(format('DELETE FROM llm_clusters.jobs WHERE id = %s', :job)) AS plain_delete;
SELECT regress.error_of(format('DELETE FROM llm_clusters.runs WHERE id = %s', :run)) AS delete_run;
SELECT llm_clusters.delete_job(:foreign_job) AS foreign_deleted;
UPDATE llm_clusters.jobs SET delete_requested = true WHERE id = :foreign_job;
SELECT regress.error_of('SELECT llm_clusters._delete_requested()') AS call_trigger_function;
SET LOCAL ROLE regress_deleter_reader;
SELECT regress.error_of(format('SELECT llm_clusters.delete_job(%s)', :job)) AS reader_deletes;
SET LOCAL ROLE regress_deleter;
SELECT llm_clusters.delete_job(:job) AS deleted, llm_clusters.delete_job(:job) AS deleted_again;
SELECT count(*) AS jobs_left FROM llm_clusters.jobs WHERE id = :job;
SELECT count(*) AS steering_left FROM llm_clusters.steering WHERE job_id = :job;
SELECT job_id IS NULL AS run_kept_without_job FROM llm_clusters.runs WHERE id = :run;
RESET ROLE;
SELECT count(*) AS foreign_job_kept FROM llm_clusters.jobs WHERE id = :foreign_job;
ROLLBACK;
