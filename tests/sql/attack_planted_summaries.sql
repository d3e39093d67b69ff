-- Attack: planted summaries on a page. Admins write item_summaries (INSERT, UPDATE of
-- title, flow, bullets, notes), and a cluster's page (report_html with a cluster id, up to
-- 1,000 items) and a trace's page (trace_html) read the summaries of their items whole:
-- 14 planted titles of 50 MB made a reader's cluster page 700 MB, and its backend 2 GB,
-- where llm_clusters.max_output_mb is 16; four columns of up to 1 GB each, for each of
-- 1,000 items, are an OOM kill, which ends every backend of every team (a superuser's
-- dashboard opening the page, too). Now each text is cut to what a summary holds, and a
-- page reads summaries up to what it may show: the pages stay within max_output_mb.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SET LOCAL client_min_messages = error;
SET LOCAL llm_clusters.max_jobs_per_team = 20;
SET LOCAL llm_clusters.max_output_mb = 4;
CREATE ROLE regress_summary_planter NOLOGIN IN ROLE llm_clusters_admin;
CREATE ROLE regress_summary_reader NOLOGIN IN ROLE llm_clusters_reader;
INSERT INTO llm_clusters.team_roles VALUES (59, 'regress_summary_planter'), (59, 'regress_summary_reader');
SELECT regress.planted(59, 'summaries', 30, 3, now() - interval '1 day');
SET ROLE regress_summary_planter;
SELECT llm_clusters.create_job('summaries', 'generation', team_id => 59, params => '{"min_items": 3}') AS job \gset
SELECT llm_clusters.run_job(:job) AS run \gset
SELECT status FROM llm_clusters.runs WHERE id = :run;
-- Every item's summary: a 5 MB title, a 5 MB flow, 5 MB of bullets and of notes.
INSERT INTO llm_clusters.item_summaries (team_id, level, item_id, title, flow, bullets, notes, source)
SELECT 59, 'generation', a.item_id, repeat('T', 5000000), repeat('F', 5000000), ARRAY[repeat('B', 5000000)],
       ARRAY[repeat('N', 5000000)], 'ai'
FROM llm_clusters.assignments a WHERE a.team_id = 59 AND a.run_id = :run;
INSERT INTO llm_clusters.item_summaries (team_id, level, item_id, title, flow, bullets, notes, source)
VALUES (59, 'trace', 'summaries59-1', repeat('T', 5000000), repeat('F', 5000000), ARRAY[repeat('B', 5000000)],
        ARRAY[repeat('N', 5000000)], 'ai');
SET ROLE regress_summary_reader;
SELECT min(cluster_id) AS cluster FROM llm_clusters.assignments WHERE run_id = :run AND cluster_id >= 0 \gset
SELECT octet_length(llm_clusters.report_html(:run, :cluster)) <= 4 * 1024 * 1024 AS cluster_page_within_max_output_mb;
SELECT octet_length(llm_clusters.trace_html('summaries59-1', 59)) <= 4 * 1024 * 1024 AS trace_page_within_max_output_mb;
-- The summaries still show, cut.
SELECT position(repeat('T', 2000) IN llm_clusters.trace_html('summaries59-1', 59)) > 0 AS summary_title_shown;
RESET ROLE;
SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+)'))[1]::bigint < 400000 AS peak_under_400_mb;
ROLLBACK;
