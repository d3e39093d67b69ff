-- Attack: a type that prints like a contract type. Columns are matched by type OID, so a
-- domain or a type named vector, halfvec or real in the admin's schema (first in the
-- search_path) is refused with 42804 at create_job and at run time, never decoded.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL client_min_messages = error;
SET LOCAL llm_clusters.max_jobs_per_team = 20;
CREATE ROLE regress_spoofer NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (1, 'regress_spoofer');
SELECT regress.planted(1, 'spoof', 30, 3, now() - interval '1 day');
CREATE SCHEMA spoofer AUTHORIZATION regress_spoofer;
SET ROLE regress_spoofer;
CREATE DOMAIN spoofer.vector AS bigint;
CREATE DOMAIN spoofer.halfvec AS text;
CREATE DOMAIN spoofer.real_array AS real[];
CREATE TYPE spoofer.float4 AS (x bigint);
SET LOCAL search_path = spoofer, pg_catalog;
CREATE VIEW spoofer.by_domain AS
SELECT team_id, item_id, trace_id, ts, 42::bigint::spoofer.vector AS embedding, content,
       cost_usd, latency_s, tokens, is_error, properties FROM llm_clusters.generation_items;
CREATE VIEW spoofer.by_text AS
SELECT team_id, item_id, trace_id, ts, 'x'::spoofer.halfvec AS embedding, content,
       cost_usd, latency_s, tokens, is_error, properties FROM llm_clusters.generation_items;
CREATE VIEW spoofer.by_array_domain AS
SELECT team_id, item_id, trace_id, ts, embedding::spoofer.real_array AS embedding, content,
       cost_usd, latency_s, tokens, is_error, properties FROM llm_clusters.generation_items;
CREATE VIEW spoofer.by_composite AS
SELECT team_id, item_id, trace_id, ts, ARRAY[ROW(1)::spoofer.float4] AS embedding, content,
       cost_usd, latency_s, tokens, is_error, properties FROM llm_clusters.generation_items;
SELECT format_type(atttypid, NULL) AS printed_as, regress.error_of(format(
           $$SELECT llm_clusters.create_job(%L, 'generation', source => %L)$$, c.relname, 'spoofer.' || c.relname)) AS create_job
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'embedding'
WHERE c.relnamespace = 'spoofer'::regnamespace AND c.relkind = 'v' ORDER BY c.relname;
-- A source that was fine when the job was created and is changed under it afterwards.
CREATE TABLE spoofer.swapped AS SELECT * FROM llm_clusters.generation_items;
SELECT llm_clusters.create_job('swapped', 'generation', source => 'spoofer.swapped') AS job \gset
ALTER TABLE spoofer.swapped ALTER COLUMN embedding TYPE spoofer.vector USING 7;
RESET ROLE;
SET LOCAL search_path = spoofer, pg_catalog;
SELECT llm_clusters.run_job(:job) AS run \gset
RESET search_path;
SELECT status, error FROM llm_clusters.runs WHERE id = :run;
ROLLBACK;
