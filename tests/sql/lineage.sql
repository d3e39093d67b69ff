-- Stable cluster ids and lineage across runs (continued, split, merged built on purpose),
-- the trend view, assign() and assign_pending().
BEGIN;
SET LOCAL TimeZone = 'UTC';
-- 120 generations in 4 groups of 30 (8-d embeddings): groups 0 and 1 start in the same
-- direction (one topic), 2 and 3 in two others.
CREATE FUNCTION regress.set_directions(VARIADIC dirs int[]) RETURNS void LANGUAGE sql AS $$
    SELECT regress.planted(1, 'lin', 120, 4, step => '1 minute', axes => dirs,
                           topics => ARRAY['reset my password', 'reset my account', 'translate the menu', 'write a sql query'])
$$;
SELECT regress.set_directions(0, 0, 1, 2);
-- Lineage is the same whatever the method; k-means keeps these planted days' clusters as planted.
SELECT llm_clusters.create_job('lineage', level => 'generation', params => '{"method": "kmeans"}') AS job \gset
CREATE TEMP VIEW lineage_of AS
SELECT l.run_id, l.event, l.cluster_id, l.previous_cluster_id, l.stable_id, l.related_stable_id, round(l.similarity::numeric, 2) AS similarity
FROM llm_clusters.cluster_lineage l;

-- First run: every cluster is new and gets a stable id.
SELECT llm_clusters.run_job(:job, '2026-11-21') AS r1 \gset
SELECT cluster_id, size, stable_id IS NOT NULL AS has_stable_id FROM llm_clusters.clusters WHERE run_id = :r1 ORDER BY cluster_id;
SELECT event, count(*) FROM lineage_of WHERE run_id = :r1 GROUP BY event;

-- Same items again: every cluster continues with its stable id and title.
SELECT llm_clusters.run_job(:job, '2026-11-21') AS r2 \gset
SELECT event, similarity, (SELECT count(*) FROM llm_clusters.clusters a JOIN llm_clusters.clusters b USING (stable_id)
                           WHERE a.run_id = :r1 AND b.run_id = :r2 AND a.title = b.title AND a.size = b.size) AS same_id_title_size
FROM lineage_of WHERE run_id = :r2 GROUP BY event, similarity;
SELECT (quality->'lineage') - 'previous_run_id' AS lineage, (quality->'lineage'->>'previous_run_id')::bigint = :r1 AS against_r1
FROM llm_clusters.runs WHERE id = :r2;

-- A split: groups 0 and 1 move apart. One half continues the old cluster, the other split off it.
SELECT regress.set_directions(0, 3, 1, 2);
SELECT llm_clusters.run_job(:job, '2026-11-21') AS r3 \gset
SELECT n_clusters FROM llm_clusters.runs WHERE id = :r3;
SELECT l.event, l.similarity, l.related_stable_id = p.stable_id AS from_the_old_cluster
FROM lineage_of l
LEFT JOIN llm_clusters.clusters p ON p.run_id = :r2 AND p.cluster_id = l.previous_cluster_id
WHERE l.run_id = :r3 ORDER BY l.event, l.similarity;

-- A merge: groups 2 and 3 come together. One continues, the other merged into it.
SELECT regress.set_directions(0, 3, 1, 1);
SELECT llm_clusters.run_job(:job, '2026-11-21') AS r4 \gset
SELECT n_clusters FROM llm_clusters.runs WHERE id = :r4;
SELECT l.event, l.similarity, l.cluster_id IS NOT NULL AS into_a_cluster,
       l.related_stable_id = (SELECT stable_id FROM llm_clusters.clusters WHERE run_id = :r4 AND cluster_id = l.cluster_id) AS into_its_stable_id
FROM lineage_of l WHERE l.run_id = :r4 ORDER BY l.event, l.similarity;

-- The trend view: one row per stable cluster and day (the day's last run), latest first.
SELECT day, runs_ago, count(*) AS clusters, sum(size) AS items, bool_and(run_id = :r4) AS last_run_of_the_day
FROM llm_clusters.cluster_trends WHERE job_id = :job GROUP BY day, runs_ago;

-- assign(): the nearest cluster of the latest run, or Outliers beyond its radius.
SELECT a.cluster_id = c.cluster_id AS right_cluster, a.stable_id = c.stable_id AS right_stable_id, a.title = c.title AS right_title,
       round(a.distance::numeric, 3) AS distance
FROM llm_clusters.clusters c, llm_clusters.assign(:job, c.centroid) a
WHERE c.run_id = :r4 AND c.cluster_id = 0;
SELECT cluster_id, stable_id, title, round(distance::numeric, 2) AS distance FROM llm_clusters.assign(:job, '{0,0,0,0,0,0,0,1}'::real[]);
SELECT * FROM llm_clusters.assign(:job, NULL::real[]);
SELECT regress.error_of(format('SELECT llm_clusters.assign(%s, ''{1,2,3}''::real[])', :job));
SELECT regress.error_of(format('SELECT llm_clusters.assign(%s, ''{1,NaN,0,0,0,0,0,0}''::real[])', :job));
SELECT regress.error_of(format('SELECT llm_clusters.assign(%s, ''{0,0,0,0,0,0,0,0}''::real[])', :job));
SELECT regress.error_of(format('SELECT llm_clusters.assign(%s, ''{{1,0},{0,1}}''::real[])', :job));
SELECT regress.error_of(format('SELECT llm_clusters.assign(%s, ''{1,NULL,0,0,0,0,0,0}''::real[])', :job));
SELECT regress.error_of(format('SELECT llm_clusters.assign(%s, ''hello''::text)', :job));
SELECT regress.error_of('SELECT llm_clusters.assign(999999, ''{1,0}''::real[])');
SELECT llm_clusters.create_job('never run', level => 'generation') AS idle \gset
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.assign(%s, ''{1,0}''::real[])', :idle)), 'job \d+', 'job N');

-- assign_pending(): items newer than the latest run, once each.
SELECT llm_clusters.capture(jsonb_agg(jsonb_build_object(
    'event', '$ai_generation', 'uuid', md5('new' || i)::uuid, 'timestamp', '2026-11-21T06:00:00Z',
    'properties', jsonb_build_object('$ai_trace_id', 'nt' || i, '$ai_input', 'later #' || i))))
FROM generate_series(0, 5) i;
INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding)
SELECT 1, 'generation', md5('new' || i)::uuid::text,
       CASE WHEN i = 5 THEN '{1,2,3}'::real[]   -- another dimension: skipped
            ELSE regress.planted_vector(i, (ARRAY[0, 3, 1, 7])[1 + i % 4], noise => 0) END
FROM generate_series(0, 5) i;
SELECT llm_clusters.assign_pending(:job) AS placed;
SELECT llm_clusters.assign_pending(:job) AS placed_again;
SELECT ia.item_id = md5('new' || 3)::uuid::text AS is_the_odd_one, ia.cluster_id, ia.stable_id IS NULL AS no_stable_id
FROM llm_clusters.incremental_assignments ia WHERE ia.run_id = :r4 AND ia.cluster_id = -1;
SELECT count(*) AS placed_in_clusters, bool_and(ia.stable_id = c.stable_id) AS with_their_stable_ids
FROM llm_clusters.incremental_assignments ia JOIN llm_clusters.clusters c ON c.run_id = ia.run_id AND c.cluster_id = ia.cluster_id;
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.assign_pending(%s)', :idle)), 'job \d+', 'job N');
ROLLBACK;
