-- Rows as version 0.1.0's runs write them, for upgrade.sh when the 0.1.0 source (commit
-- 2dbe3cc) is not in the clone: two succeeded runs per job, each with 3 clusters (one per
-- item group of items.sql), every item assigned, lineage, one incremental placement.
-- Expects the events and embeddings of items.sql and the two jobs.
INSERT INTO llm_clusters.runs (job_id, team_id, job_name, level, window_start, window_end, status, finished_at,
                               n_items, n_clusters, n_outliers, quality, timings)
SELECT j.id, j.team_id, j.name, j.level, now() + d * interval '1 day' - interval '7 days', now() + d * interval '1 day',
       'succeeded', clock_timestamp(), (SELECT count(*) FROM llm_clusters.events e WHERE e.team_id = j.team_id AND e.trace_id ~ '\d+$'), 3, 0,
       '{"method": "kmeans"}', '{"read": 0.01}'
FROM llm_clusters.jobs j, generate_series(1, 2) d ORDER BY d, j.id;
INSERT INTO llm_clusters.clusters (team_id, run_id, cluster_id, title, description, keywords, size, share, centroid, radius, x, y, stable_id)
SELECT r.team_id, r.id, g, (ARRAY['Refund, order', 'Query, sql', 'French, translate'])[g + 1], 'planted group ' || g,
       ARRAY['group' || g], 0, 0,
       ARRAY(SELECT CASE WHEN d % 3 = g THEN 1.0 ELSE 0.0 END / sqrt(5.0) FROM generate_series(1, 16) d)::real[], 0.9, g, g,
       (r.job_id - 1) * 3 + g + 1
FROM llm_clusters.runs r, generate_series(0, 2) g;
SELECT setval('llm_clusters.cluster_stable_id_seq', (SELECT max(stable_id) FROM llm_clusters.clusters));
INSERT INTO llm_clusters.assignments (team_id, run_id, item_id, trace_id, cluster_id, x, y, distance, rank, ts)
SELECT r.team_id, r.id, e.uuid::text, e.trace_id, substring(e.trace_id FROM '\d+$')::int % 3,
       0, 0, 0.1, (row_number() OVER (PARTITION BY r.id ORDER BY e.uuid))::int - 1, e."timestamp"
FROM llm_clusters.runs r JOIN llm_clusters.events e ON e.team_id = r.team_id AND e.event = '$ai_generation' AND e.trace_id ~ '\d+$';
UPDATE llm_clusters.clusters c SET size = m.n, share = m.n::float8 / r.n_items
FROM (SELECT run_id, cluster_id, count(*) AS n FROM llm_clusters.assignments GROUP BY 1, 2) m, llm_clusters.runs r
WHERE m.run_id = c.run_id AND m.cluster_id = c.cluster_id AND r.id = c.run_id;
INSERT INTO llm_clusters.cluster_lineage (team_id, job_id, run_id, previous_run_id, stable_id, event, cluster_id, previous_cluster_id, similarity)
SELECT c.team_id, r.job_id, r.id, p.id, c.stable_id, CASE WHEN p.id IS NULL THEN 'new' ELSE 'continued' END,
       c.cluster_id, CASE WHEN p.id IS NOT NULL THEN c.cluster_id END, CASE WHEN p.id IS NOT NULL THEN 1.0 END
FROM llm_clusters.clusters c JOIN llm_clusters.runs r ON r.id = c.run_id
LEFT JOIN llm_clusters.runs p ON p.job_id = r.job_id AND p.id < r.id;
INSERT INTO llm_clusters.incremental_assignments (team_id, job_id, run_id, item_id, trace_id, cluster_id, stable_id, distance, ts)
SELECT 1, r.job_id, r.id, '00000000-0000-0000-0000-00000000aa01', 'late', 0, 1, 0.2, '2100-01-01T00:00:00Z'
FROM llm_clusters.runs r WHERE r.team_id = 1 ORDER BY r.id DESC LIMIT 1;
