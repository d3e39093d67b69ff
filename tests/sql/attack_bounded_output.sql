-- Attack: pages, texts and links that grow with what an attacker stores. A trace of 400
-- steps of 20,000 '<' each (each written \u003c in the page) made a 96 MB trace_html page
-- and, at 20,000 steps, aborted the server; now a page stays within
-- llm_clusters.max_output_mb (steps read up to it, texts shown up to it) and
-- keeps the length of what it left out. embed_text reads at most 32 KiB of
-- a text. report_item_url links only to http(s) or to this site.
BEGIN;
SET LOCAL client_min_messages = error;
SET LOCAL llm_clusters.embedder = 'hash';
SET LOCAL llm_clusters.max_output_mb = 1;
INSERT INTO llm_clusters.events (uuid, team_id, event, "timestamp", trace_id, input, output, content)
SELECT md5('bulky' || i)::uuid, 1, '$ai_generation', '2026-11-20T10:00:00Z'::timestamptz + i * interval '1 s', 'bulky-trace',
       to_jsonb(repeat('<', 20000)), to_jsonb(repeat('<', 20000)), 'bulky'
FROM generate_series(1, 400) i;
SELECT length(page) < 2 * 1024 * 1024 AS page_within_budget,
       position('"text":"","chars":' IN page) > 0 AS texts_past_the_budget_keep_only_their_length,
       position('"chars":20000' IN page) > 0 AS keeps_full_lengths
FROM (SELECT llm_clusters.trace_html('bulky-trace', 1) AS page) p;
-- The same trace with the default budget (16 MB): within it too.
RESET llm_clusters.max_output_mb;
SELECT length(llm_clusters.trace_html('bulky-trace', 1)) < 20 * 1024 * 1024 AS default_page_within_budget;
-- embed_text reads the first 32 KiB: a 10 MB text embeds as its start does.
SELECT llm_clusters.embed_text(repeat('word ', 2000000)) = llm_clusters.embed_text(left(repeat('word ', 2000000), 32768))
       AS long_text_embeds_as_its_start;
-- A source whose first embedding is 1,000,000 long (4 MB) sizes nothing by it: the read
-- reserved room for every row of the window at the first row's length (here 40 GB, the
-- backend's end, and with it every backend's); rows over 16,000 dimensions are skipped.
CREATE TEMP TABLE long_first AS
SELECT 1 AS team_id, 'long' || i AS item_id, 'long' || i AS trace_id, '2026-11-20'::timestamptz AS ts,
       CASE WHEN i = 1 THEN array_fill(0.5::real, ARRAY[1000000]) ELSE ARRAY[1, i % 7, (i * i) % 11, 1]::real[] END AS embedding,
       'text ' || i AS content, 0.0::float8 AS cost_usd, 0.0::float8 AS latency_s, 0::bigint AS tokens, false AS is_error, '{}'::jsonb AS properties
FROM generate_series(1, 10000) i;
CREATE TEMP VIEW long_first_items AS SELECT * FROM long_first ORDER BY item_id;
SELECT llm_clusters.create_job('long first', 'generation', source => 'pg_temp.long_first_items') AS long_job \gset
SELECT llm_clusters.run_job(:long_job, '2026-11-21') IS NOT NULL AS ran_despite_a_long_first_embedding;
SELECT n_items, status FROM llm_clusters.runs WHERE job_id = :long_job;
-- Links: //host and /\host are other hosts to a browser; refused with the reason.
SELECT regress.planted(1, 'links', 30, 3, now() - interval '1 day');
SELECT llm_clusters.create_job('links', 'generation') AS job \gset
SELECT llm_clusters.run_job(:job) AS run \gset
SET LOCAL llm_clusters.report_item_url = '//evil.example/{trace_id}';
SELECT regress.error_of(format('SELECT llm_clusters.report_html(%s)', :run));
SET LOCAL llm_clusters.report_item_url = '/\evil.example/{trace_id}';
SELECT regress.error_of(format('SELECT llm_clusters.report_html(%s)', :run));
SET LOCAL llm_clusters.report_item_url = '/traces/{trace_id}';
SELECT length(llm_clusters.report_html(:run)) > 0 AS same_site_path_accepted;
ROLLBACK;
