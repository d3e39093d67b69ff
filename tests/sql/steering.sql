-- Steering kept across runs: merge_clusters, split_cluster, pin_topic, unpin_topic and
-- undo_steering, each shown by its effect on the job's next run (clusters, stable ids,
-- lineage, assign(), the report); their errors; and who may steer what.
BEGIN;
SET LOCAL TimeZone = 'UTC';
-- Four topics of 30 generations each (8-d embeddings on axes 0 to 3).
SELECT regress.planted(1, 'steer', 120, 4, step => '1 minute',
                       topics => ARRAY['reset my password', 'change my email address', 'translate the menu', 'write a sql query']);
SELECT llm_clusters.create_job('steered', level => 'generation', params => '{"method": "kmeans"}') AS job \gset
-- Per run: each topic's cluster (by the cluster of the topic's first item), its size, its
-- stable id and whether steering made it.
CREATE TEMP VIEW topics AS
SELECT a.run_id, t.topic, c.cluster_id, c.size, c.stable_id, c.steering, c.title
FROM (VALUES (0, 'password'), (1, 'email'), (2, 'menu'), (3, 'sql')) t(i, topic)
JOIN llm_clusters.assignments a ON a.item_id = regress.planted_id(1, 'steer', t.i)
JOIN llm_clusters.clusters c ON c.run_id = a.run_id AND c.cluster_id = a.cluster_id;
CREATE TEMP VIEW lineage_events AS
SELECT run_id, event, count(*) AS clusters FROM llm_clusters.cluster_lineage GROUP BY run_id, event;

SELECT llm_clusters.run_job(:job, '2026-11-21') AS r1 \gset
SELECT topic, size, steering FROM topics WHERE run_id = :r1 ORDER BY topic;

-- 1. merge_clusters: from the next run on, the password and email clusters are one.
SELECT llm_clusters.merge_clusters(:r1, ARRAY(SELECT cluster_id FROM topics WHERE run_id = :r1 AND topic IN ('password', 'email')
                                               ORDER BY cluster_id)) AS merge \gset
SELECT kind, run_id = :r1 AS on_r1, cardinality(cluster_ids) AS clusters, cardinality(stable_ids) AS stable_ids,
       array_length(anchors, 1) AS anchors, array_length(anchors, 2) AS dimensions, created_by = current_user AS by_me
FROM llm_clusters.steering WHERE id = :merge;
SELECT llm_clusters.run_job(:job, '2026-11-21') AS r2 \gset
SELECT n_clusters, quality->'steering' = jsonb_build_object('applied', jsonb_build_array(:merge), 'idle', '[]'::jsonb) AS merge_applied
FROM llm_clusters.runs WHERE id = :r2;
SELECT topic, size, steering, stable_id IN (SELECT stable_id FROM topics WHERE run_id = :r1) AS kept_a_stable_id
FROM topics WHERE run_id = :r2 ORDER BY topic;
SELECT steering_id = :merge AS made_by_the_merge FROM llm_clusters.clusters WHERE run_id = :r2 AND steering = 'merge';
-- A merge is lineage too: one of the two continues, the other merged into it.
SELECT event, clusters FROM lineage_events WHERE run_id = :r2 ORDER BY event;
SELECT l.related_stable_id = t.stable_id AS merged_into_the_merged_cluster
FROM llm_clusters.cluster_lineage l, topics t WHERE l.run_id = :r2 AND l.event = 'merged' AND t.run_id = :r2 AND t.topic = 'password';
-- Kept across runs: the next day the merged cluster is still one, with the same stable id.
SELECT llm_clusters.run_job(:job, '2026-11-21 01:00') AS r3 \gset
SELECT a.topic, a.size, a.steering, a.stable_id = b.stable_id AS same_stable_id
FROM topics a JOIN topics b ON b.topic = a.topic AND b.run_id = :r2 WHERE a.run_id = :r3 ORDER BY a.topic;
-- assign() places new items with the run's steered clusters.
SELECT a.cluster_id = t.cluster_id AS into_the_merged_cluster, a.title = t.title AS its_title
FROM llm_clusters.assign(:job, '{0,1,0,0,0,0,0,0}') a, topics t WHERE t.run_id = :r3 AND t.topic = 'email';
-- The report says which clusters steering made.
SELECT position('"steering":"merge"' IN llm_clusters.report_html(:r3)) > 0 AS report_shows_the_merge;

-- 2. undo_steering: the next run has the clusters the data has; undoing twice finds nothing.
SELECT llm_clusters.undo_steering(:job, :merge) AS undone, llm_clusters.undo_steering(:job, :merge) AS undone_again;
SELECT llm_clusters.run_job(:job, '2026-11-21 02:00') AS r4 \gset
SELECT n_clusters, quality ? 'steering' AS has_steering FROM llm_clusters.runs WHERE id = :r4;
SELECT topic, size, steering FROM topics WHERE run_id = :r4 ORDER BY topic;
SELECT event, clusters FROM lineage_events WHERE run_id = :r4 ORDER BY event;

-- 3. split_cluster: the menu cluster becomes two parts, which keep their identity.
SELECT llm_clusters.split_cluster(:r4, (SELECT cluster_id FROM topics WHERE run_id = :r4 AND topic = 'menu')) AS split \gset
SELECT kind, parts, cardinality(cluster_ids) AS clusters FROM llm_clusters.steering WHERE id = :split;
SELECT llm_clusters.run_job(:job, '2026-11-21 03:00') AS r5 \gset
SELECT n_clusters, quality->'steering' = jsonb_build_object('applied', jsonb_build_array(:split), 'idle', '[]'::jsonb) AS split_applied
FROM llm_clusters.runs WHERE id = :r5;
SELECT count(*) AS parts, sum(size) AS items, bool_and(steering_id = :split) AS made_by_the_split
FROM llm_clusters.clusters WHERE run_id = :r5 AND steering = 'split';
SELECT event, clusters FROM lineage_events WHERE run_id = :r5 ORDER BY event;
SELECT llm_clusters.run_job(:job, '2026-11-21 04:00') AS r6 \gset
SELECT count(*) AS parts, count(*) FILTER (WHERE stable_id IN (SELECT stable_id FROM llm_clusters.clusters WHERE run_id = :r5 AND steering = 'split')) AS parts_kept
FROM llm_clusters.clusters WHERE run_id = :r6 AND steering = 'split';
SELECT llm_clusters.undo_steering(:job, :split) AS split_undone;

-- 4. pin_topic: six refund requests lie close to the password topic, too few and too close
-- to be a cluster of their own; pinned, they become one, titled as pinned, with the
-- topic's centroid, and the password cluster keeps its own items.
SELECT regress.planted(1, 'refund', 6, 1, step => '1 minute', topics => ARRAY['refund my order'], axes => ARRAY[4]);
UPDATE llm_clusters.embeddings SET embedding = '{0.9,0,0,0,0.4359,0,0,0}'::real[]
WHERE item_id IN (SELECT regress.planted_id(1, 'refund', i) FROM generate_series(0, 5) i);
SELECT llm_clusters.run_job(:job, '2026-11-21 05:00') AS r7 \gset
SELECT count(*) FILTER (WHERE steering IS NOT NULL) AS steered_clusters_after_the_undo FROM llm_clusters.clusters WHERE run_id = :r7;
SELECT coalesce(t.topic, 'Outliers') AS refund_items_in, count(*)
FROM llm_clusters.assignments a LEFT JOIN topics t ON t.run_id = a.run_id AND t.cluster_id = a.cluster_id
WHERE a.run_id = :r7 AND a.item_id IN (SELECT regress.planted_id(1, 'refund', i) FROM generate_series(0, 5) i)
GROUP BY 1 ORDER BY 1;
SELECT llm_clusters.pin_topic(:job, 'Refund requests', ARRAY['refund my order', 'I want my money back'],
                              embedding => '{0.9,0,0,0,0.4359,0,0,0}') AS pin \gset
SELECT kind, title, examples, cardinality(centroid) AS dimensions, round(centroid[5]::numeric, 2) AS unit_length_part
FROM llm_clusters.steering WHERE id = :pin;
SELECT llm_clusters.run_job(:job, '2026-11-21 06:00') AS r8 \gset
SELECT title, size, steering, steering_id = :pin AS made_by_the_pin, round(centroid[5]::numeric, 2) AS fixed_centroid
FROM llm_clusters.clusters WHERE run_id = :r8 AND steering = 'pin';
SELECT count(*) AS refund_items_in_the_pin
FROM llm_clusters.assignments a JOIN llm_clusters.clusters c ON c.run_id = a.run_id AND c.cluster_id = a.cluster_id
WHERE a.run_id = :r8 AND c.steering = 'pin' AND a.item_id IN (SELECT regress.planted_id(1, 'refund', i) FROM generate_series(0, 5) i);
SELECT topic, size FROM topics WHERE run_id = :r8 AND topic = 'password';
-- assign() finds the pinned topic for a new refund request.
SELECT title, stable_id = (SELECT stable_id FROM llm_clusters.clusters WHERE run_id = :r8 AND steering = 'pin') AS pinned_stable_id
FROM llm_clusters.assign(:job, '{0.9,0,0,0,0.4359,0,0,0}');
-- Kept the next day: the same title and stable id.
SELECT llm_clusters.run_job(:job, '2026-11-21 07:00') AS r9 \gset
SELECT a.title, a.size, a.stable_id = b.stable_id AS same_stable_id
FROM llm_clusters.clusters a JOIN llm_clusters.clusters b ON b.run_id = :r8 AND b.steering = 'pin'
WHERE a.run_id = :r9 AND a.steering = 'pin';
SELECT position('"steering":"pin"' IN llm_clusters.report_html(:r9)) > 0 AS report_shows_the_pin;

-- 5. unpin_topic: gone from the next run; a second unpin finds nothing.
SELECT llm_clusters.unpin_topic(:job, :pin) AS unpinned, llm_clusters.unpin_topic(:job, :pin) AS unpinned_again;
SELECT llm_clusters.run_job(:job, '2026-11-21 08:00') AS r10 \gset
SELECT count(*) FILTER (WHERE steering IS NOT NULL) AS steered_clusters FROM llm_clusters.clusters WHERE run_id = :r10;
SELECT count(*) AS steering_left FROM llm_clusters.steering WHERE job_id = :job;

-- 6. What each function refuses, with its SQLSTATE.
SELECT regress.error_of(format('SELECT llm_clusters.merge_clusters(%s, ARRAY[0])', :r10));
SELECT regress.error_of(format('SELECT llm_clusters.merge_clusters(%s, NULL)', :r10));
SELECT regress.error_of(format('SELECT llm_clusters.merge_clusters(%s, ARRAY[0, -1])', :r10));
SELECT regress.error_of(format('SELECT llm_clusters.merge_clusters(%s, ARRAY[0, 0])', :r10));
SELECT regress.error_of(format('SELECT llm_clusters.merge_clusters(%s, ARRAY[0, NULL])', :r10));
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.merge_clusters(%s, ARRAY[0, 98, 99])', :r10)), 'run \d+', 'run N');
SELECT regress.error_of('SELECT llm_clusters.merge_clusters(999999, ARRAY[0, 1])');
SELECT regress.error_of(format('SELECT llm_clusters.split_cluster(%s, 0, 1)', :r10));
SELECT regress.error_of(format('SELECT llm_clusters.split_cluster(%s, 0, 21)', :r10));
SELECT regress.error_of(format('SELECT llm_clusters.split_cluster(%s, -1)', :r10));
SELECT llm_clusters.create_job('idle', level => 'generation') AS idle \gset
INSERT INTO llm_clusters.runs (job_id, team_id, job_name, level, window_start, window_end, status)
VALUES (:idle, 1, 'idle', 'generation', now(), now(), 'failed') RETURNING id AS failed_run \gset
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.split_cluster(%s, 0)', :failed_run)), 'run \d+', 'run N');
SELECT regress.error_of(format($$SELECT llm_clusters.pin_topic(%s, '  ', ARRAY['x'])$$, :job));
SELECT regress.error_of(format($$SELECT llm_clusters.pin_topic(%s, 'Refunds', '{}')$$, :job));
SELECT regress.error_of(format($$SELECT llm_clusters.pin_topic(%s, 'Refunds', ARRAY['ok', NULL])$$, :job));
SELECT regress.error_of(format($$SELECT llm_clusters.pin_topic(%s, 'Refunds', ARRAY['ok'], '{1,NaN,0,0,0,0,0,0}')$$, :job));
SELECT regress.error_of(format($$SELECT llm_clusters.pin_topic(%s, 'Refunds', ARRAY['ok'], '{0,0,0,0,0,0,0,0}')$$, :job));
SELECT regress.error_of(format($$SELECT llm_clusters.pin_topic(%s, 'Refunds', ARRAY['ok'], '{{1,0},{0,1}}')$$, :job));
-- The examples, embedded with llm_clusters.embedder (hash: 512-d), do not fit 8-d items.
SET LOCAL llm_clusters.embedder = 'hash';
SELECT regress.error_of(format($$SELECT llm_clusters.pin_topic(%s, 'Refunds', ARRAY['refund my order'])$$, :job));
SELECT llm_clusters.pin_topic(:idle, 'Refunds', ARRAY['refund my order']) > 0 AS pinned_on_a_job_without_runs;
SELECT regexp_replace(regress.error_of(format($$SELECT llm_clusters.pin_topic(%s, 'refunds', ARRAY['money back'])$$, :idle)), 'job \d+', 'job N');
SELECT regress.error_of($$SELECT llm_clusters.pin_topic(999999, 'Refunds', ARRAY['x'])$$);
SELECT regress.error_of('SELECT llm_clusters.unpin_topic(999999, 1)');

-- 7. Who may steer: a reader may not; another team's admin sees neither the runs nor the
-- steering of team 1, and cannot plant steering ids or rows in it.
CREATE ROLE regress_steer_reader NOLOGIN IN ROLE llm_clusters_reader;
CREATE ROLE regress_steer_other NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (1, 'regress_steer_reader'), (2, 'regress_steer_other');
GRANT USAGE ON SCHEMA regress TO regress_steer_reader, regress_steer_other;
GRANT EXECUTE ON FUNCTION regress.error_of(text) TO regress_steer_reader, regress_steer_other;
SELECT llm_clusters.merge_clusters(:r10, ARRAY[0, 1]) AS team1_merge \gset
SET LOCAL ROLE regress_steer_reader;
SELECT count(*) AS steering_a_reader_sees FROM llm_clusters.steering;
SELECT regress.error_of(format('SELECT llm_clusters.merge_clusters(%s, ARRAY[0, 1])', :r10));
SELECT regress.error_of(format('SELECT llm_clusters.split_cluster(%s, 0)', :r10));
SELECT regress.error_of(format($$SELECT llm_clusters.pin_topic(%s, 'x', ARRAY['x'])$$, :job));
SELECT regress.error_of(format('SELECT llm_clusters.undo_steering(%s, %s)', :job, :team1_merge));
SELECT regress.error_of(format('DELETE FROM llm_clusters.steering WHERE id = %s', :team1_merge));
RESET ROLE;
SET LOCAL ROLE regress_steer_other;
SELECT count(*) AS team1_steering_seen_by_team2 FROM llm_clusters.steering;
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.merge_clusters(%s, ARRAY[0, 1])', :r10)), 'run \d+', 'run N');
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.split_cluster(%s, 0)', :r10)), 'run \d+', 'run N');
SELECT regexp_replace(regress.error_of(format($$SELECT llm_clusters.pin_topic(%s, 'x', ARRAY['x'], '{1,0,0,0,0,0,0,0}')$$, :job)), 'job \d+', 'job N');
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.undo_steering(%s, %s)', :job, :team1_merge)), 'job \d+', 'job N');
UPDATE llm_clusters.steering SET delete_requested = true WHERE id = :team1_merge;
SELECT regress.error_of(format($$INSERT INTO llm_clusters.steering (team_id, job_id, kind, title, examples, centroid)
                                 VALUES (1, %s, 'pin', 'planted', ARRAY['x'], '{1,0,0,0,0,0,0,0}')$$, :job));
SELECT regress.error_of($$INSERT INTO llm_clusters.steering (id, team_id, job_id, kind, title, examples, centroid)
                          OVERRIDING SYSTEM VALUE VALUES (424242, 2, 1, 'pin', 'planted', ARRAY['x'], '{1}')$$);
RESET ROLE;
SELECT count(*) AS team1_merge_still_there FROM llm_clusters.steering WHERE id = :team1_merge;
ROLLBACK;
