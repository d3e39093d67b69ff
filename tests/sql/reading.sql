-- Reading results: run_list, latest_runs, cluster_cards, scatter_points, cluster_items, item_clusters.
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT regress.planted(1, 'read', 90, step => '1 minute',
                       topics => ARRAY['reset my password please', 'translate this menu', 'write a sql query']);
SELECT llm_clusters.create_job('reading', level => 'generation') AS job \gset
SELECT llm_clusters.run_job(:job, '2026-11-21') AS r1 \gset
SELECT llm_clusters.run_job(:job, '2026-11-21') AS r2 \gset

SELECT job_name, level, window_start, window_end, status, n_items, n_clusters, duration_s >= 0 AS timed
FROM llm_clusters.run_list WHERE job_id = :job ORDER BY run_id;
SELECT run_id = :r2 AS the_newest FROM llm_clusters.latest_runs WHERE job_id = :job;

SELECT position, cluster_id, title, size, round(share::numeric, 3) AS share, is_outliers
FROM llm_clusters.cluster_cards WHERE run_id = :r2 ORDER BY position;

SELECT is_centroid, is_outlier, count(*), count(DISTINCT colour_index) AS colours
FROM llm_clusters.scatter_points WHERE run_id = :r2 GROUP BY 1, 2 ORDER BY 1, 2;
-- A cluster keeps its colour from run to run.
SELECT bool_and(a.colour_index = b.colour_index) AS same_colours
FROM llm_clusters.scatter_points a JOIN llm_clusters.scatter_points b ON b.item_id = a.item_id
WHERE a.run_id = :r1 AND b.run_id = :r2;

-- Items of a cluster in rank order, a page at a time.
SELECT rank, preview LIKE '%#%' AS has_preview FROM llm_clusters.cluster_items(:r2, 0, 3);
SELECT rank FROM llm_clusters.cluster_items(:r2, 0, max_items => 3, after_rank => 2);
SELECT count(*) FROM llm_clusters.cluster_items(:r2, 0, 10000);
SELECT regress.error_of('SELECT llm_clusters.cluster_items(-5, 0)');
SELECT regress.error_of(format('SELECT llm_clusters.cluster_items(%s, 0, 0)', :r2));

-- The clusters of one item: the newest run of every job; items placed between runs too.
SELECT job_name, run_id = :r2 AS newest_run, title = (SELECT title FROM llm_clusters.clusters WHERE run_id = :r2 AND cluster_id = ic.cluster_id) AS titled,
       incremental
FROM llm_clusters.item_clusters(regress.planted_id(1, 'read', 4)) ic;
SELECT count(*) AS other_team FROM llm_clusters.item_clusters(regress.planted_id(1, 'read', 4), 2);
SELECT llm_clusters.capture('{"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-00000000abcd", "timestamp": "2026-11-22T00:00:00Z",
                              "properties": {"$ai_trace_id": "late", "$ai_input": "reset my password again"}}');
INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding)
VALUES (1, 'generation', '00000000-0000-0000-0000-00000000abcd', '{1,0,0,0,0,0,0,0}');
SELECT llm_clusters.assign_pending(:job);
SELECT job_name, run_id = :r2 AS placed_in_newest_run, cluster_id >= 0 AS in_a_cluster, incremental
FROM llm_clusters.item_clusters('00000000-0000-0000-0000-00000000abcd');

-- report_html: one self-contained page; hostile text stays text; bad input is an error.
UPDATE llm_clusters.runs SET job_name = '<script>alert(1)</script>' WHERE id = :r2;
SELECT left(h, 15) AS doctype, (length(h) - length(replace(h, '<script', ''))) / 7 AS script_tags,
       h LIKE '%&lt;script&gt;alert(1)&lt;/script&gt;%' AS escaped_in_header, h LIKE '%<script>alert%' AS raw,
       h LIKE '%id="cards"%' AS cards, h LIKE '%id="items"%' AS item_list
FROM llm_clusters.report_html(:r2) h;
SELECT h LIKE '%id="items"%' AS item_list, h LIKE '%id="cards"%' AS cards FROM llm_clusters.report_html(:r2, 0) h;
SELECT llm_clusters.report_html(NULL) IS NULL AS null_in_null_out;
SELECT regress.error_of('SELECT llm_clusters.report_html(-1)');
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.report_html(%s, 99)', :r2)), 'run \d+', 'run N');
SELECT llm_clusters.create_job('too few', level => 'generation', params => '{"min_items": 1000}') AS few \gset
SELECT llm_clusters.run_job(:few, '2026-11-21') AS skipped \gset
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.report_html(%s)', :skipped)), 'run \d+', 'run N');
ROLLBACK;
