-- Attack: code in a source that another role's job runs. A view's functions (and the
-- operators and type coercions it names) run as the role that reads the view, not as the
-- view's owner. A superuser who set up a team's job over the team's own view (owner: the
-- superuser) let the team admin replace the view with one calling her function, and the
-- next run, report or worker cycle ran that function as the superuser: she made herself
-- one. The same held between roles: a job of one admin over a view another admin granted
-- her ran that admin's code with the first one's rights (and so her team's rows). Now
-- every read of a source first checks whose code it runs: the relation, every relation
-- its views read, every function, operator and type they name must belong to the job's
-- owner, a superuser, or a role that has the owner's privileges anyway; otherwise the
-- read is refused (42501) naming the object, before any of its code runs.
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL client_min_messages = error;
SET LOCAL llm_clusters.max_jobs_per_team = 20;
CREATE ROLE regress_escalator NOLOGIN IN ROLE llm_clusters_admin;
CREATE ROLE regress_victim NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (2, 'regress_escalator'), (1, 'regress_victim');
SELECT regress.planted(2, 'escalate', 30, 3, now() - interval '1 day');
SELECT regress.planted(1, 'escalated', 30, 3, now() - interval '1 day');
CREATE SCHEMA escalator AUTHORIZATION regress_escalator;
SET ROLE regress_escalator;
CREATE VIEW escalator.items AS SELECT * FROM llm_clusters.generation_items;
RESET ROLE;
-- 1. A superuser sets up team 2's job over team 2's view: the superuser owns the job.
SELECT llm_clusters.create_job('escalator', 'generation', source => 'escalator.items', team_id => 2) AS job \gset
SELECT owner::regrole AS job_owner FROM llm_clusters.jobs WHERE id = :job;
-- The admin replaces her view with one that makes her a superuser when a superuser reads it.
SET ROLE regress_escalator;
CREATE FUNCTION escalator.up(t text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE regress_escalator SUPERUSER';
    END IF;
    RETURN t;
END $f$;
CREATE OR REPLACE VIEW escalator.items AS
SELECT team_id, item_id, trace_id, ts, embedding, escalator.up(content) AS content,
       cost_usd, latency_s, tokens, is_error, properties
FROM llm_clusters.generation_items;
RESET ROLE;
-- The run (and the scheduler's) fails with the reason; her function never ran.
SELECT llm_clusters.run_job(:job) AS run \gset
SELECT status, regexp_replace(error, '^job [0-9]+ ', 'job N ') AS error FROM llm_clusters.runs WHERE id = :run;
SELECT count(*) AS due_runs FROM llm_clusters.run_due_jobs();
SELECT rolsuper AS escalator_is_superuser FROM pg_roles WHERE rolname = 'regress_escalator';
-- Made hers, the job reads her view with her rights: it runs, and she stays who she is.
UPDATE llm_clusters.jobs SET owner = 'regress_escalator' WHERE id = :job;
SELECT llm_clusters.run_job(:job) AS own_run \gset
SELECT status FROM llm_clusters.runs WHERE id = :own_run;
SELECT rolsuper AS escalator_is_superuser FROM pg_roles WHERE rolname = 'regress_escalator';
-- 2. Between teams: team 1's admin reads a view team 2's admin grants her (it reads team 1's
-- rows as whoever reads it). Her job would run his function with her rights: refused.
SET ROLE regress_escalator;
CREATE TABLE escalator.loot (team_id int, n bigint);
GRANT INSERT ON escalator.loot TO PUBLIC;
CREATE FUNCTION escalator.take(t text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO escalator.loot SELECT e.team_id, count(*) FROM llm_clusters.events e GROUP BY e.team_id;
    RETURN t;
END $f$;
CREATE VIEW escalator.shared AS
SELECT team_id, item_id, trace_id, ts, embedding, escalator.take(content) AS content,
       cost_usd, latency_s, tokens, is_error, properties
FROM llm_clusters.generation_items;
GRANT USAGE ON SCHEMA escalator TO regress_victim;
GRANT SELECT ON escalator.shared TO regress_victim;
RESET ROLE;
SET ROLE regress_victim;
SELECT llm_clusters.create_job('victim', 'generation', source => 'escalator.shared') AS victim_job \gset
SELECT llm_clusters.run_job(:victim_job) AS victim_run \gset
SELECT status, regexp_replace(error, '^job [0-9]+ ', 'job N ') AS error FROM llm_clusters.runs WHERE id = :victim_run;
RESET ROLE;
SELECT count(*) AS team_1_rows_taken FROM escalator.loot WHERE team_id = 1;
-- 3. What stays allowed: the extension's own views (a superuser's), a view of the owner's
-- own over them, and a view of a role whose privileges the owner's are anyway.
SELECT llm_clusters._source_foreign_code('regress_victim', 'llm_clusters.generation_items') AS extension_view,
       llm_clusters._source_foreign_code('regress_escalator', 'escalator.shared') AS own_view,
       llm_clusters._source_foreign_code('llm_clusters_admin', 'escalator.shared') AS a_member_s_view;
-- And a view of a role that may SET ROLE to the owner without inheriting her privileges
-- (16+: WITH INHERIT FALSE, SET TRUE; before 16 every member may SET ROLE): it could act
-- as the owner anyway, so running its code as her gives it nothing.
CREATE ROLE regress_setter NOLOGIN IN ROLE llm_clusters_reader;
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 160000 THEN
        EXECUTE 'GRANT regress_victim TO regress_setter WITH INHERIT FALSE, SET TRUE';
    ELSE
        EXECUTE 'GRANT regress_victim TO regress_setter';
    END IF;
END $$;
CREATE SCHEMA setter AUTHORIZATION regress_setter;
SET ROLE regress_setter;
CREATE FUNCTION setter.same(t text) RETURNS text LANGUAGE sql AS 'SELECT t';
CREATE VIEW setter.items AS
SELECT team_id, item_id, trace_id, ts, embedding, setter.same(content) AS content,
       cost_usd, latency_s, tokens, is_error, properties
FROM llm_clusters.generation_items;
RESET ROLE;
SELECT llm_clusters._source_foreign_code('regress_victim', 'setter.items') AS a_view_of_a_role_that_may_become_the_owner;
ROLLBACK;
