-- A job reads its source with its owner's rights, in a security-restricted operation,
-- whoever runs it (CVE-2022-1552's rule for PostgreSQL's own maintenance commands).
BEGIN;
SET LOCAL TimeZone = 'UTC';
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL llm_clusters.max_jobs_per_team = 20;
CREATE ROLE regress_mallory NOLOGIN IN ROLE llm_clusters_admin;   -- admin of team 1 only
CREATE ROLE regress_olga NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (1, 'regress_mallory'), (1, 'regress_olga');
SELECT regress.planted(1, 'own', 60);
-- A table the attacker may not read.
CREATE TABLE public.secret_chats AS
SELECT * FROM llm_clusters.generation_items WHERE team_id = 1;
UPDATE public.secret_chats SET content = 'SECRET salary of employee ' || item_id;

-- 1. Naming a relation the owner may not read is refused, naming it.
CREATE SCHEMA mallory AUTHORIZATION regress_mallory;   -- the attacker's own schema
SET ROLE regress_mallory;
SELECT regress.error_of($$SELECT llm_clusters.create_job('steal', 'generation', source => 'public.secret_chats')$$);
-- ...also through a view of the attacker's own over it, and by making someone else the owner.
CREATE VIEW mallory.wrapper AS SELECT * FROM public.secret_chats;
SELECT llm_clusters.create_job('wrapped', 'generation', source => 'mallory.wrapper') AS wrapped \gset
SELECT owner FROM llm_clusters.jobs WHERE id = :wrapped;
SELECT regress.error_of(format($$UPDATE llm_clusters.jobs SET owner = 'postgres' WHERE id = %s$$, :wrapped));
RESET ROLE;
-- Run by a superuser, the wrapper reads as mallory: the secret table refuses her.
SET LOCAL client_min_messages = error;
SELECT llm_clusters.run_job(:wrapped, '2026-11-21') AS r_wrapped \gset
SELECT status, error FROM llm_clusters.runs WHERE id = :r_wrapped;
-- run_due_jobs (what pg_cron and the worker run, as a superuser) reads as mallory too.
SET ROLE regress_mallory;
INSERT INTO llm_clusters.jobs (name, level, team_id, source, enabled_at)
VALUES ('wrapped, due', 'generation', 1, 'mallory.wrapper', now() - interval '3 days');
RESET ROLE;
SELECT count(*) AS due_runs FROM llm_clusters.run_due_jobs();
SELECT job_name, status, error FROM llm_clusters.runs WHERE job_name = 'wrapped, due';
SELECT count(*) AS secret_titles FROM llm_clusters.clusters WHERE description LIKE '%SECRET%' OR title LIKE '%SECRET%';

-- 2. Becoming superuser through a function in the source: it runs as mallory, restricted.
SET ROLE regress_mallory;
CREATE FUNCTION mallory.escalate(t text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE 'ALTER ROLE regress_mallory SUPERUSER';
    RETURN t;
END $f$;
CREATE VIEW mallory.items AS
SELECT team_id, item_id, trace_id, ts, embedding, mallory.escalate(content) AS content,
       cost_usd, latency_s, tokens, is_error, properties
FROM llm_clusters.generation_items;
SELECT llm_clusters.create_job('escalate', 'generation', source => 'mallory.items') AS escalate \gset
-- A second try: switch back to the session user from inside the restricted operation.
CREATE FUNCTION mallory.reset_role(t text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    RESET ROLE;
    EXECUTE 'ALTER ROLE regress_mallory SUPERUSER';
    RETURN t;
END $f$;
CREATE VIEW mallory.items2 AS
SELECT team_id, item_id, trace_id, ts, embedding, mallory.reset_role(content) AS content,
       cost_usd, latency_s, tokens, is_error, properties
FROM llm_clusters.generation_items;
SELECT llm_clusters.create_job('reset role', 'generation', source => 'mallory.items2') AS reset_role \gset
RESET ROLE;
SELECT llm_clusters.run_job(:escalate, '2026-11-21') AS r_escalate \gset
SELECT llm_clusters.run_job(:reset_role, '2026-11-21') AS r_reset \gset
SELECT id = :r_escalate AS escalate_run, status, error ~ '^(permission denied|must be superuser|cannot execute ALTER ROLE in a read-only transaction)' AS denied,  -- reads are read-only; PostgreSQL 16 reworded the others
       error LIKE '%within security-restricted operation' AS restricted
FROM llm_clusters.runs WHERE id IN (:r_escalate, :r_reset) ORDER BY id;
SELECT rolsuper AS mallory_is_superuser FROM pg_roles WHERE rolname = 'regress_mallory';
-- A job of hers that succeeds, over a view whose content escalates only when read:
-- report_html and cluster_items opened by a superuser read it as mallory, restricted.
CREATE OR REPLACE FUNCTION mallory.escalate(t text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    IF current_setting('regress.armed', true) = 'on' THEN
        EXECUTE 'ALTER ROLE regress_mallory SUPERUSER';
    END IF;
    RETURN t;
END $f$;
SELECT llm_clusters.run_job(:escalate, '2026-11-21') AS r_benign \gset
SELECT status FROM llm_clusters.runs WHERE id = :r_benign;
SET LOCAL regress.armed = 'on';
SELECT regress.error_of(format('SELECT llm_clusters.report_html(%s)', :r_benign)) ~ '(permission denied|must be superuser|read-only transaction)' AS report_denied;
SELECT regress.error_of(format('SELECT * FROM llm_clusters.cluster_items(%s, 0)', :r_benign)) ~ '(permission denied|must be superuser|read-only transaction)' AS items_denied;
SET LOCAL regress.armed = 'off';
SELECT rolsuper AS still_not_superuser FROM pg_roles WHERE rolname = 'regress_mallory';

-- 3. The owner's row-level security and privileges apply, whoever runs the job.
CREATE TABLE public.shared_items AS SELECT *, NULL::name AS visible_to FROM llm_clusters.generation_items WHERE team_id = 1;
UPDATE public.shared_items SET visible_to = CASE WHEN right(item_id, 1) < '8' THEN 'regress_olga' END;
ALTER TABLE public.shared_items ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON public.shared_items USING (visible_to = current_user);
GRANT SELECT ON public.shared_items TO regress_olga;
SELECT count(*) AS all_rows, count(*) FILTER (WHERE visible_to = 'regress_olga') AS olgas_rows FROM public.shared_items;
CREATE SCHEMA olga AUTHORIZATION regress_olga;
SET ROLE regress_olga;
SELECT llm_clusters.create_job('olga', 'generation', source => 'public.shared_items') AS olga \gset
-- A view with security_invoker reads its table as the owner too.
CREATE VIEW olga.invoker WITH (security_invoker) AS SELECT * FROM public.shared_items;
SELECT llm_clusters.create_job('olga invoker', 'generation', source => 'olga.invoker') AS olga_invoker \gset
RESET ROLE;
SELECT llm_clusters.run_job(:olga, '2026-11-21') AS r_olga \gset
SELECT llm_clusters.run_job(:olga_invoker, '2026-11-21') AS r_olga_invoker \gset
SELECT status, n_items FROM llm_clusters.runs WHERE id IN (:r_olga, :r_olga_invoker) ORDER BY id;
-- Its previews (cluster_items, report_html) are read as the owner as well.
SELECT count(*) AS previews, count(*) FILTER (WHERE preview IS NOT NULL) AS with_text
FROM llm_clusters.clusters c, llm_clusters.cluster_items(:r_olga, c.cluster_id, 1000) i WHERE c.run_id = :r_olga;

-- 4. An owner who lost the right: the run fails with the reason, the other jobs run.
REVOKE SELECT ON public.shared_items FROM regress_olga;
SELECT llm_clusters.run_job(:olga, '2026-11-21') AS r_revoked \gset
SELECT status, regexp_replace(error, 'job \d+', 'job N') AS error FROM llm_clusters.runs WHERE id = :r_revoked;
-- A dropped owner: the run says so.
CREATE ROLE regress_gone NOLOGIN IN ROLE llm_clusters_admin;
SELECT llm_clusters.create_job('orphan', 'generation', team_id => 1) AS orphan \gset
UPDATE llm_clusters.jobs SET owner = 'regress_gone' WHERE id = :orphan;
DROP ROLE regress_gone;
SELECT llm_clusters.run_job(:orphan, '2026-11-21') AS r_orphan \gset
SELECT status, regexp_replace(error, '(oid|job) \d+', '\1 N', 'g') AS error FROM llm_clusters.runs WHERE id = :r_orphan;
-- Owners are only roles the writer is a member of.
SET ROLE regress_olga;
SELECT regress.error_of(format($$UPDATE llm_clusters.jobs SET owner = 'regress_mallory' WHERE id = %s$$, :olga));
RESET ROLE;
SELECT regress.error_of(format($$UPDATE llm_clusters.jobs SET owner = 'regress_mallory' WHERE id = %s$$, :olga));

-- 5. A per-job time limit: a slow source is stopped, the cycle goes on.
CREATE FUNCTION public.slowly(t text) RETURNS text LANGUAGE sql AS $f$ SELECT t FROM pg_sleep(0.2) $f$;
CREATE VIEW public.slow_items AS
SELECT team_id, item_id, trace_id, ts, embedding, public.slowly(content) AS content,
       cost_usd, latency_s, tokens, is_error, properties
FROM llm_clusters.generation_items;
SELECT regress.planted(1, 'recent', 60, 3, now() - interval '1 day');
DELETE FROM llm_clusters.jobs WHERE team_id = 1;
INSERT INTO llm_clusters.jobs (name, level, team_id, source, enabled_at)
VALUES ('slow', 'generation', 1, 'public.slow_items', now() - interval '3 days'),
       ('quick', 'generation', 1, NULL, now() - interval '3 days');
SET LOCAL llm_clusters.job_time_limit = '2s';
SELECT count(*) AS runs FROM llm_clusters.run_due_jobs();
SELECT job_name, status, error FROM llm_clusters.runs WHERE job_name IN ('slow', 'quick') ORDER BY job_name;
SHOW llm_clusters.job_time_limit;
ROLLBACK;
