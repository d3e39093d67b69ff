-- Attack: internal functions called directly. A reader gets from _item_previews only what
-- cluster_items promises (items of the run, 300 characters), whatever it asks for; the
-- ingest role runs capture_with_key and nothing else.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL client_min_messages = error;
SET LOCAL llm_clusters.max_jobs_per_team = 20;
CREATE ROLE regress_peeker NOLOGIN IN ROLE llm_clusters_reader;
CREATE ROLE regress_ingester NOLOGIN IN ROLE llm_clusters_ingest;
INSERT INTO llm_clusters.team_roles VALUES (1, 'regress_peeker');
SELECT regress.planted(1, 'peek', 60, 3, now() - interval '1 day');
-- A private source the reader may not read, with long texts.
CREATE TABLE public.private_chats AS SELECT * FROM llm_clusters.generation_items WHERE team_id = 1;
UPDATE public.private_chats SET content = repeat('PRIVATE ', 500) || item_id;
SELECT llm_clusters.create_job('private', 'generation', source => 'public.private_chats', team_id => 1) AS job \gset
SELECT llm_clusters.run_job(:job) AS run \gset
SELECT status FROM llm_clusters.runs WHERE id = :run;
-- An item of the source in no run.
INSERT INTO public.private_chats (team_id, item_id, content) VALUES (1, 'not-in-any-run', repeat('SECRET ', 500));
SET ROLE regress_peeker;
SELECT regress.error_of('SELECT * FROM public.private_chats') ~ '^42501' AS reader_may_not_read_the_source;
SELECT count(*) AS previews, max(length(preview)) AS longest
FROM llm_clusters._item_previews(:run, ARRAY(SELECT item_id FROM llm_clusters.assignments WHERE run_id = :run), 100000);
SELECT count(*) AS outside_the_run
FROM llm_clusters._item_previews(:run, ARRAY['not-in-any-run'], 100000);
SELECT max(length(preview)) AS cluster_items_longest FROM llm_clusters.cluster_items(:run, 0, 1000);
RESET ROLE;
-- An admin calling _capture directly is held to llm_clusters.max_capture_mb as capture()
-- is (it trusted a size its caller passed).
CREATE ROLE regress_big_capturer NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (1, 'regress_big_capturer');
SET LOCAL llm_clusters.max_capture_mb = 1;
SET ROLE regress_big_capturer;
SELECT regexp_replace(regress.error_of(format($$SELECT llm_clusters._capture(%L, 1)$$,
           jsonb_build_object('event', '$ai_generation', 'properties', jsonb_build_object('$ai_trace_id', 'big', 'blob', repeat('x', 3000000)))::text)),
       '\d+ bytes', 'N bytes') AS direct_call_over_the_limit;
RESET ROLE;
-- An admin calling _topic_centroid directly is held to pin_topic's bounds (it embedded
-- every example given and held all their vectors, outside llm_clusters.max_memory_mb).
SET ROLE regress_big_capturer;
SELECT regress.error_of($$SELECT llm_clusters._topic_centroid(array_fill('refund'::text, ARRAY[51]), NULL)$$) AS too_many_examples;
SELECT regress.error_of(format($$SELECT llm_clusters._topic_centroid(ARRAY[%L], NULL)$$, repeat('x', 2001))) AS example_too_long;
SELECT regress.error_of($$SELECT llm_clusters._topic_centroid(ARRAY['ok', NULL], '{1,0}')$$) AS null_example;
SELECT regress.error_of($$SELECT llm_clusters._topic_centroid('{}', '{1,0}')$$) AS no_example;
SELECT llm_clusters._topic_centroid(ARRAY['ok'], '{3,4}') AS within_the_bounds;
RESET ROLE;
-- A reader's vector of more than 16,000 dimensions is left out of embedding_mean before it
-- is copied (a 1 GB array became GBs of Rust memory), and the state function, which
-- readers may call, refuses a state no aggregate makes.
SET ROLE regress_peeker;
SELECT llm_clusters.embedding_mean(v) IS NULL AS too_wide_left_out FROM (VALUES (array_fill(1::real, ARRAY[16001]))) t(v);
SELECT llm_clusters.embedding_mean(v) AS within_the_bound FROM (VALUES ('{3,4}'::real[]), ('{6,8}')) t(v);
SELECT regress.error_of($$SELECT llm_clusters._embedding_accum(array_fill(0::float8, ARRAY[16002]), '{1}')$$) AS forged_state;
RESET ROLE;
SET ROLE regress_ingester;
SELECT regress.error_of($$SELECT llm_clusters.embed_text('hello')$$) ~ '^42501' AS ingest_may_not_embed;
SELECT regress.error_of($$SELECT llm_clusters.report_html(1)$$) ~ '^42501' AS ingest_may_not_read_reports;
SELECT regress.error_of($$SELECT * FROM llm_clusters._item_previews(1, ARRAY['x'], 10)$$) ~ '^42501' AS ingest_may_not_preview;
SELECT regress.error_of($$SELECT llm_clusters.trace_html('t', 1)$$) ~ '^42501' AS ingest_may_not_read_traces;
RESET ROLE;
ROLLBACK;
