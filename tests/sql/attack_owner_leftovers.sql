-- Attack: a team admin's source leaves something behind in the session or transaction of
-- whoever reads it (a superuser's cluster_items in a pooled connection, the worker):
-- a session-level advisory lock on another application's key (or the release of the
-- caller's own), a transaction-level lock, a notification the caller's commit delivers,
-- an open cursor, a sequence's lastval. Code run as the owner leaves nothing behind:
-- session-level advisory locks are refused, everything done in the transaction is
-- rolled back when the read ends, and the read is read-only.
\set ON_ERROR_ROLLBACK on
\set SHOW_CONTEXT never
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL TimeZone = 'UTC';
SET LOCAL client_min_messages = error;
SET LOCAL llm_clusters.max_jobs_per_team = 20;
CREATE ROLE regress_leaver NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (1, 'regress_leaver');
SELECT regress.planted(1, 'leftovers', 30, 3, now() - interval '1 day');
CREATE SCHEMA leaver AUTHORIZATION regress_leaver;
SET ROLE regress_leaver;
CREATE TABLE leaver.mode (m text);
INSERT INTO leaver.mode VALUES ('none');
CREATE SEQUENCE leaver.counter;
-- What the source's code does on its first row, as the admin chose.
CREATE FUNCTION leaver.leave(t text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    m text := (SELECT mode.m FROM leaver.mode);
    c refcursor := 'leaver_cursor';
BEGIN
    IF m = 'lock' THEN PERFORM pg_advisory_lock(7001);
    ELSIF m = 'lock_shared' THEN PERFORM pg_advisory_lock_shared(7002);
    ELSIF m = 'lock_int4' THEN PERFORM pg_advisory_lock(70, 3);
    ELSIF m = 'try_lock' THEN PERFORM pg_try_advisory_lock(7004);
    ELSIF m = 'relock' THEN PERFORM pg_advisory_lock(7200);
    ELSIF m = 'unlock_all' THEN PERFORM pg_advisory_unlock_all();
    ELSIF m = 'caught' THEN
        BEGIN PERFORM pg_advisory_lock(7005); EXCEPTION WHEN OTHERS THEN NULL; END;
    ELSIF m = 'xact_lock' THEN PERFORM pg_advisory_xact_lock(7300);
    ELSIF m = 'cursor' AND NOT EXISTS (SELECT 1 FROM pg_cursors WHERE name = 'leaver_cursor') THEN
        OPEN c FOR SELECT 1;
    ELSIF m = 'declare' AND NOT EXISTS (SELECT 1 FROM pg_cursors WHERE name = 'leaver_declared') THEN
        EXECUTE 'DECLARE leaver_declared CURSOR FOR SELECT 1';
    ELSIF m = 'sequence' THEN PERFORM nextval('leaver.counter');
    ELSIF m = 'write' THEN UPDATE leaver.mode SET m = 'written';
    ELSIF m = 'setting' THEN PERFORM set_config('work_mem', '88kB', false);
    END IF;
    RETURN t;
END $f$;
CREATE VIEW leaver.items AS
SELECT team_id, item_id, trace_id, ts, embedding, leaver.leave(content) AS content,
       cost_usd, latency_s, tokens, is_error, properties
FROM llm_clusters.generation_items;
SELECT llm_clusters.create_job('leaver', 'generation', source => 'leaver.items') AS job \gset
RESET ROLE;
SELECT llm_clusters.run_job(:job) AS run \gset
SELECT status FROM llm_clusters.runs WHERE id = :run;
-- The caller's own advisory locks, held before any read.
SELECT pg_advisory_lock(7100), pg_advisory_lock(7200);
-- (No temporary objects: PREPARE TRANSACTION at the end refuses a transaction with any.)
CREATE FUNCTION regress.advisory() RETURNS text LANGUAGE sql AS $f$
    SELECT coalesce(string_agg(format('%s/%s %s', classid, objid, mode), ', ' ORDER BY classid, objid, mode), 'none')
    FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory'
$f$;
SELECT regress.advisory() AS held_before;
-- The functions refused are exactly the session-level lock and unlock functions.
SELECT array_agg(oid::int ORDER BY oid) AS session_advisory_functions
FROM pg_proc WHERE proname ~ '^pg_(try_)?advisory_(un)?lock' AND proname !~ 'xact';
-- Each read as a superuser: cluster_items reads the previews of the run as the owner.
UPDATE leaver.mode SET m = 'lock';
SELECT count(*) > 0 AS read FROM llm_clusters.cluster_items(:run, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT regress.advisory() AS after_lock;
UPDATE leaver.mode SET m = 'lock_shared';
SELECT count(*) > 0 AS read FROM llm_clusters.cluster_items(:run, 0);
UPDATE leaver.mode SET m = 'lock_int4';
SELECT count(*) > 0 AS read FROM llm_clusters.cluster_items(:run, 0);
UPDATE leaver.mode SET m = 'try_lock';
SELECT count(*) > 0 AS read FROM llm_clusters.cluster_items(:run, 0);
UPDATE leaver.mode SET m = 'caught';
SELECT count(*) > 0 AS read FROM llm_clusters.cluster_items(:run, 0);
SELECT regress.advisory() AS after_session_locks;
-- A second hold of the caller's key: one unlock by the caller would leave it held.
UPDATE leaver.mode SET m = 'relock';
SELECT count(*) > 0 AS read FROM llm_clusters.cluster_items(:run, 0);
SELECT pg_advisory_unlock(7200) AS unlocked, regress.advisory() AS after_relock_and_unlock;
SELECT pg_advisory_lock(7200);
-- Releasing the caller's locks, which guard its own work.
UPDATE leaver.mode SET m = 'unlock_all';
SELECT count(*) > 0 AS read FROM llm_clusters.cluster_items(:run, 0);
SELECT regress.advisory() AS after_unlock_all;
-- Transaction-level: released when the read ends, not when the caller's transaction does.
UPDATE leaver.mode SET m = 'xact_lock';
SELECT count(*) > 0 AS read FROM llm_clusters.cluster_items(:run, 0);
SELECT regress.advisory() AS after_xact_lock;
-- Cursors the code opened and left open.
UPDATE leaver.mode SET m = 'cursor';
SELECT count(*) > 0 AS read FROM llm_clusters.cluster_items(:run, 0);
UPDATE leaver.mode SET m = 'declare';
SELECT count(*) > 0 AS read FROM llm_clusters.cluster_items(:run, 0);
SELECT count(*) AS cursors_left FROM pg_cursors;
-- A sequence: the caller's next lastval() would be the admin's.
CREATE SEQUENCE regress.callers START 500;
SELECT nextval('regress.callers') AS callers_value;
UPDATE leaver.mode SET m = 'sequence';
SELECT count(*) > 0 AS read FROM llm_clusters.cluster_items(:run, 0);
SELECT lastval() AS lastval_after;
-- Writes of the code (rolled back anyway) are refused: the read is read-only.
UPDATE leaver.mode SET m = 'write';
SELECT count(*) > 0 AS read FROM llm_clusters.cluster_items(:run, 0);
SELECT m FROM leaver.mode;
-- Settings, a session-level one in a function with a SET clause of its own.
SET ROLE regress_leaver;
CREATE OR REPLACE FUNCTION leaver.leave(t text) RETURNS text LANGUAGE plpgsql SET work_mem = '99kB' AS $f$
BEGIN
    PERFORM set_config('work_mem', '88kB', false);
    PERFORM set_config('leaver.planted', 'planted', false);
    RETURN t;
END $f$;
RESET ROLE;
SELECT current_setting('work_mem') AS work_mem_before, current_setting('leaver.planted', true) IS NULL AS placeholder_absent;
SELECT count(*) > 0 AS read FROM llm_clusters.cluster_items(:run, 0);
-- The placeholder PostgreSQL creates stays (empty), as after any rolled-back SET.
SELECT current_setting('work_mem') AS work_mem_after, current_setting('leaver.planted', true) AS placeholder_after;
-- The run of the scheduler's path fails with the reason, as the worker would.
SET ROLE regress_leaver;
CREATE OR REPLACE FUNCTION leaver.leave(t text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN PERFORM pg_advisory_lock(7001); RETURN t; END $f$;
RESET ROLE;
SELECT llm_clusters.run_job(:job) AS failed_run \gset
SELECT status, error FROM llm_clusters.runs WHERE id = :failed_run;
SELECT regress.advisory() AS after_run_job;
SELECT pg_advisory_unlock_all();
-- Notifications (NOTIFY and pg_notify), last: the caller's commit would deliver them as
-- its own. PREPARE TRANSACTION refuses a transaction with one queued (scripts/regress.sh
-- allows prepared transactions); the prepared one is rolled back.
SET ROLE regress_leaver;
CREATE OR REPLACE FUNCTION leaver.leave(t text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    NOTIFY leaver_channel;
    PERFORM pg_notify('leaver_channel', 'planted');
    RETURN t;
END $f$;
RESET ROLE;
SELECT count(*) > 0 AS read FROM llm_clusters.cluster_items(:run, 0);
PREPARE TRANSACTION 'leaver_notify';
ROLLBACK PREPARED 'leaver_notify';
-- Session-level locks outlive the transaction: the caller's own, and any planted one.
SELECT pg_advisory_unlock_all();
SELECT count(*) AS advisory_locks_at_end FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory';
