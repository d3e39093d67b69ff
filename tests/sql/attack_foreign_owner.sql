-- Attack: changing what a job of another owner reads. A team admin pointed a job its team
-- has, but a superuser owns, at a view of her own, and the next run executed her function
-- as the superuser. What a run reads (source, filters, params, level, team) is now the
-- owner's to change; she may make the job hers first, and then it runs with her rights.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL client_min_messages = error;
SET LOCAL llm_clusters.max_jobs_per_team = 20;
CREATE ROLE regress_hijacker NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (1, 'regress_hijacker');
SELECT regress.planted(1, 'hijack', 30, 3, now() - interval '1 day');
SELECT llm_clusters.create_job('owned by a superuser', 'generation', team_id => 1) AS job \gset
CREATE SCHEMA hijacker AUTHORIZATION regress_hijacker;
SET ROLE regress_hijacker;
CREATE FUNCTION hijacker.escalate(t text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE 'ALTER ROLE regress_hijacker SUPERUSER';
    RETURN t;
END $f$;
CREATE VIEW hijacker.items AS
SELECT team_id, item_id, trace_id, ts, embedding, hijacker.escalate(content) AS content,
       cost_usd, latency_s, tokens, is_error, properties FROM llm_clusters.generation_items;
SELECT regress.error_of(format($$UPDATE llm_clusters.jobs SET source = 'hijacker.items' WHERE id = %s$$, :job)) AS change_source;
SELECT regress.error_of(format($$UPDATE llm_clusters.jobs SET params = '{"seed": 3}' WHERE id = %s$$, :job)) AS change_params;
SELECT regress.error_of(format($$UPDATE llm_clusters.jobs SET filters = '[]', level = 'trace' WHERE id = %s$$, :job)) AS change_level;
-- Renaming or disabling changes nothing a run reads: allowed.
SELECT regress.error_of(format($$UPDATE llm_clusters.jobs SET enabled = false, name = 'renamed' WHERE id = %s$$, :job)) AS rename;
-- Made hers, it reads what she chooses, with her rights only.
SELECT regress.error_of(format($$UPDATE llm_clusters.jobs SET owner = 'regress_hijacker' WHERE id = %s$$, :job)) AS take_it;
SELECT regress.error_of(format($$UPDATE llm_clusters.jobs SET source = 'hijacker.items' WHERE id = %s$$, :job)) AS then_change_source;
RESET ROLE;
SELECT llm_clusters.run_job(:job) AS run \gset
SELECT status, error ~ '^(permission denied|must be superuser|cannot execute ALTER ROLE in a read-only transaction)' AS denied FROM llm_clusters.runs WHERE id = :run;
SELECT rolsuper AS hijacker_is_superuser FROM pg_roles WHERE rolname = 'regress_hijacker';
ROLLBACK;

-- Attack: a function of the same name in a schema others may write to (public, in
-- databases from before PostgreSQL 15). pg_catalog first in the path does not help an
-- unknown-typed literal or a polymorphic built-in: public.nextval(text) would win over
-- pg_catalog.nextval(regclass). Every function of the extension runs with
-- search_path = pg_catalog, pg_temp, so the superuser's run calls pg_catalog's.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL client_min_messages = error;
CREATE ROLE regress_planter_of_functions NOLOGIN;
GRANT CREATE ON SCHEMA public TO regress_planter_of_functions;
SET ROLE regress_planter_of_functions;
CREATE FUNCTION public.nextval(t text) RETURNS bigint LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE 'ALTER ROLE regress_planter_of_functions SUPERUSER';
    RETURN pg_catalog.nextval(t::regclass);
END $f$;
CREATE FUNCTION public.cardinality(a real[]) RETURNS int LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE 'ALTER ROLE regress_planter_of_functions SUPERUSER';
    RETURN pg_catalog.cardinality(a);
END $f$;
RESET ROLE;
SET LOCAL search_path = "$user", public;
SELECT regress.planted(1, 'pathless', 30, 3, now() - interval '1 day');
SELECT llm_clusters.create_job('pathless', 'generation', team_id => 1) AS job \gset
SELECT llm_clusters.run_job(:job) AS run \gset
SELECT status FROM llm_clusters.runs WHERE id = :run;
SET LOCAL llm_clusters.embedder = 'hash';
SELECT llm_clusters.capture('{"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000000c1", "properties": {"$ai_trace_id": "pathless", "$ai_input": "words to embed"}}', 1);
SELECT llm_clusters.embed_pending('generation') >= 1 AS embedded;
SELECT rolsuper AS planter_is_superuser FROM pg_roles WHERE rolname = 'regress_planter_of_functions';
ROLLBACK;
