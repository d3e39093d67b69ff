-- Steering: merge_clusters and split_cluster change the job's latest run at once and every
-- later run; pin_topic and unpin_topic act from the next run; undo_steering stops later runs
-- applying a steer and puts back the run it changed. Each shown by its effect (clusters,
-- metrics, stable ids, lineage, assign(), the report); their errors; and who may steer what.
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
-- Per run: whether what a steer wrote into it is what the run's own rules give. Every item
-- is in a cluster of the run, sizes add up, and each cluster's and theme's size, share and
-- metrics equal an aggregate over its items joined to the job's source, computed here
-- afresh; each cluster's map point is its items' mean, and its theme exists.
CREATE TEMP VIEW run_consistency AS
WITH items AS (
    SELECT a.run_id, a.cluster_id, c.theme_id, a.x, a.y, s.cost_usd, s.latency_s, coalesce(s.is_error, false)::int AS error
    FROM llm_clusters.assignments a
    JOIN llm_clusters.clusters c ON c.team_id = a.team_id AND c.run_id = a.run_id AND c.cluster_id = a.cluster_id
    JOIN llm_clusters.generation_items s ON s.team_id = a.team_id AND s.item_id = a.item_id),
totals AS (SELECT run_id, count(*) AS n FROM llm_clusters.assignments GROUP BY run_id),
by_cluster AS (SELECT run_id, cluster_id, count(*) AS n, avg(cost_usd) AS cost, avg(latency_s) AS latency,
                      avg(error)::float8 AS errors, avg(x) AS x, avg(y) AS y FROM items GROUP BY 1, 2),
by_theme AS (SELECT run_id, theme_id, count(*) AS n, avg(cost_usd) AS cost FROM items WHERE theme_id IS NOT NULL GROUP BY 1, 2)
SELECT t.run_id,
       (SELECT count(*) FROM llm_clusters.assignments a WHERE a.run_id = t.run_id) = (SELECT count(*) FROM items i WHERE i.run_id = t.run_id)
           AS every_item_in_a_cluster,
       (SELECT sum(c.size) FROM llm_clusters.clusters c WHERE c.run_id = t.run_id) = t.n AS sizes_add_up,
       (SELECT bool_and(c.size = m.n AND abs(c.share - m.n::float8 / t.n) < 1e-12 AND abs(c.avg_cost_usd - m.cost) < 1e-12
                        AND abs(c.avg_latency_s - m.latency) < 1e-12 AND abs(c.error_rate - m.errors) < 1e-12)
        FROM llm_clusters.clusters c JOIN by_cluster m ON m.run_id = c.run_id AND m.cluster_id = c.cluster_id
        WHERE c.run_id = t.run_id) AS cluster_metrics_are_their_items,
       -- (The run averages the map in single precision.)
       (SELECT bool_and(abs(c.x - m.x) < 1e-4 AND abs(c.y - m.y) < 1e-4)
        FROM llm_clusters.clusters c JOIN by_cluster m ON m.run_id = c.run_id AND m.cluster_id = c.cluster_id
        WHERE c.run_id = t.run_id) AS map_points_are_their_items,
       (SELECT bool_and(h.size = m.n AND abs(h.share - m.n::float8 / t.n) < 1e-12 AND abs(h.avg_cost_usd - m.cost) < 1e-12)
        FROM llm_clusters.themes h JOIN by_theme m ON m.run_id = h.run_id AND m.theme_id = h.theme_id
        WHERE h.run_id = t.run_id) AS theme_metrics_are_their_items,
       (SELECT count(*) FROM llm_clusters.themes h WHERE h.run_id = t.run_id)
           = (SELECT count(DISTINCT theme_id) FROM llm_clusters.clusters c WHERE c.run_id = t.run_id AND c.cluster_id >= 0)
           AS every_theme_has_clusters,
       (SELECT n_clusters FROM llm_clusters.runs r WHERE r.id = t.run_id)
           = (SELECT count(*) FROM llm_clusters.clusters c WHERE c.run_id = t.run_id AND c.cluster_id >= 0) AS cluster_count
FROM totals t;
-- A run's clusters and items, to compare a run before a steer and after its undo.
CREATE TEMP VIEW run_rows AS
SELECT r.id AS run_id, r.n_clusters,
       (SELECT md5(string_agg(to_jsonb(c)::text, ',' ORDER BY c.cluster_id)) FROM llm_clusters.clusters c WHERE c.run_id = r.id) AS clusters,
       (SELECT md5(string_agg(to_jsonb(t)::text, ',' ORDER BY t.theme_id)) FROM llm_clusters.themes t WHERE t.run_id = r.id) AS themes,
       (SELECT md5(string_agg(to_jsonb(a)::text, ',' ORDER BY a.item_id)) FROM llm_clusters.assignments a WHERE a.run_id = r.id) AS items,
       (SELECT md5(string_agg(to_jsonb(l)::text, ',' ORDER BY l.stable_id)) FROM llm_clusters.cluster_lineage l WHERE l.run_id = r.id) AS lineage
FROM llm_clusters.runs r;

SELECT llm_clusters.run_job(:job, '2026-11-21') AS r1 \gset
SELECT topic, size, steering FROM topics WHERE run_id = :r1 ORDER BY topic;

SELECT source FROM llm_clusters.jobs WHERE id = :job;
-- The run's own clusters pass the consistency checks the steered runs are held to below.
SELECT to_jsonb(c) - 'run_id' AS checks FROM run_consistency c WHERE run_id = :r1;

-- 1. merge_clusters: the password and email clusters are one in r1 now, and in every later run.
SELECT array_agg(cluster_id ORDER BY cluster_id) AS named, array_agg(stable_id ORDER BY cluster_id) AS named_stable
FROM topics WHERE run_id = :r1 AND topic IN ('password', 'email') \gset
SELECT n_clusters AS r1_clusters FROM llm_clusters.runs WHERE id = :r1 \gset
SELECT llm_clusters.merge_clusters(:r1, :'named') AS merged \gset
SELECT steering_id AS merge FROM llm_clusters.clusters WHERE run_id = :r1 AND cluster_id = :merged \gset
SELECT kind, run_id = :r1 AS on_r1, cardinality(cluster_ids) AS clusters, cardinality(stable_ids) AS stable_ids,
       array_length(anchors, 1) AS anchors, array_length(anchors, 2) AS dimensions, created_by = current_user AS by_me,
       jsonb_array_length(restore->'items') AS items_kept_for_undo, jsonb_array_length(restore->'clusters') AS clusters_kept_for_undo
FROM llm_clusters.steering WHERE id = :merge;
-- The merged cluster is r1's: the smallest id named, with its stable id, both topics' items,
-- marked, its centroid between the two, its own labels; the run has one cluster less.
SELECT :merged = (:'named'::int[])[1] AS keeps_the_smallest_id;
SELECT topic, size, steering, cluster_id = :merged AS in_the_merged, stable_id = (:'named_stable'::bigint[])[1] AS kept_stable_id
FROM topics WHERE run_id = :r1 ORDER BY topic;
SELECT round(centroid[1]::numeric, 2) AS c1, round(centroid[2]::numeric, 2) AS c2, title <> '' AND cardinality(keywords) > 0 AS labelled,
       radius > 0 AS has_a_radius, (SELECT n_clusters FROM llm_clusters.runs WHERE id = :r1) = :r1_clusters - 1 AS one_cluster_less
FROM llm_clusters.clusters WHERE run_id = :r1 AND cluster_id = :merged;
SELECT count(*) AS clusters_merged_away FROM llm_clusters.clusters WHERE run_id = :r1 AND cluster_id = ANY (:'named') AND cluster_id <> :merged;
SELECT to_jsonb(c) - 'run_id' AS checks FROM run_consistency c WHERE run_id = :r1;
-- Ranks within the merged cluster follow the distance to its new centroid.
SELECT bool_and(rank = expected) AS ranks_by_distance FROM (
    SELECT rank, (row_number() OVER (ORDER BY distance, item_id) - 1)::int AS expected
    FROM llm_clusters.assignments WHERE run_id = :r1 AND cluster_id = :merged) r;
-- Lineage of r1: the other cluster merged into the one kept.
SELECT event, clusters FROM lineage_events WHERE run_id = :r1 ORDER BY event;
SELECT l.related_stable_id = (:'named_stable'::bigint[])[1] AS merged_into_the_kept, l.cluster_id = :merged AS now_in_it
FROM llm_clusters.cluster_lineage l WHERE l.run_id = :r1 AND l.event = 'merged';
-- assign() and the report see the merge at once.
SELECT a.cluster_id = :merged AS assigned_to_the_merged FROM llm_clusters.assign(:job, '{0,1,0,0,0,0,0,0}') a;
SELECT position('"steering":"merge"' IN llm_clusters.report_html(:r1)) > 0 AS report_shows_the_merge_now;
-- Only the job's latest run is steered: r1 is no longer once r2 exists.
SELECT llm_clusters.run_job(:job, '2026-11-21') AS r2 \gset
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.merge_clusters(%s, ARRAY[0, 1])', :r1)), '(run|job) \d+', '\1 N', 'g');
SELECT n_clusters, quality->'steering' = jsonb_build_object('applied', jsonb_build_array(:merge), 'idle', '[]'::jsonb) AS merge_applied
FROM llm_clusters.runs WHERE id = :r2;
SELECT topic, size, steering, stable_id IN (SELECT stable_id FROM topics WHERE run_id = :r1) AS kept_a_stable_id
FROM topics WHERE run_id = :r2 ORDER BY topic;
SELECT steering_id = :merge AS made_by_the_merge FROM llm_clusters.clusters WHERE run_id = :r2 AND steering = 'merge';
-- Against r1, already merged, the merged cluster continues.
SELECT event, clusters FROM lineage_events WHERE run_id = :r2 ORDER BY event;
-- Kept across runs: the next day the merged cluster is still one, with the same stable id.
SELECT llm_clusters.run_job(:job, '2026-11-21 01:00') AS r3 \gset
SELECT a.topic, a.size, a.steering, a.stable_id = b.stable_id AS same_stable_id
FROM topics a JOIN topics b ON b.topic = a.topic AND b.run_id = :r2 WHERE a.run_id = :r3 ORDER BY a.topic;
-- assign() places new items with the run's steered clusters.
SELECT a.cluster_id = t.cluster_id AS into_the_merged_cluster, a.title = t.title AS its_title
FROM llm_clusters.assign(:job, '{0,1,0,0,0,0,0,0}') a, topics t WHERE t.run_id = :r3 AND t.topic = 'email';
-- The report says which clusters steering made.
SELECT position('"steering":"merge"' IN llm_clusters.report_html(:r3)) > 0 AS report_shows_the_merge;

-- 2. undo_steering of a steer whose run is no longer the latest: r1 stays as it was made
-- (merged); the next run has the clusters the data has; undoing twice finds nothing.
SELECT llm_clusters.undo_steering(:job, :merge) AS undone, llm_clusters.undo_steering(:job, :merge) AS undone_again;
SELECT count(*) AS r1_still_merged FROM llm_clusters.clusters WHERE run_id = :r1 AND steering = 'merge';
SELECT llm_clusters.run_job(:job, '2026-11-21 02:00') AS r4 \gset
SELECT n_clusters, quality ? 'steering' AS has_steering FROM llm_clusters.runs WHERE id = :r4;
SELECT topic, size, steering FROM topics WHERE run_id = :r4 ORDER BY topic;
SELECT event, clusters FROM lineage_events WHERE run_id = :r4 ORDER BY event;

-- 3. split_cluster: the menu cluster becomes two parts in r4 at once, and in later runs,
-- which keep their identity.
SELECT cluster_id AS menu, stable_id AS menu_stable FROM topics WHERE run_id = :r4 AND topic = 'menu' \gset
SELECT clusters AS r4_clusters, themes AS r4_themes, items AS r4_items, lineage AS r4_lineage, n_clusters AS r4_n
FROM run_rows WHERE run_id = :r4 \gset
SELECT llm_clusters.split_cluster(:r4, :menu) AS parts \gset
SELECT cardinality(:'parts'::int[]) AS parts, (:'parts'::int[])[1] = :menu AS largest_keeps_the_id,
       sum(size) AS items, bool_and(steering = 'split') AS marked, count(DISTINCT steering_id) AS one_steer,
       bool_or(stable_id = :menu_stable) AS one_keeps_the_stable_id, count(DISTINCT stable_id) AS stable_ids,
       bool_and(title <> '') AS labelled, min(size) >= 2 AS parts_have_items
FROM llm_clusters.clusters WHERE run_id = :r4 AND cluster_id = ANY (:'parts');
SELECT min(steering_id) AS split FROM llm_clusters.clusters WHERE run_id = :r4 AND steering = 'split' \gset
SELECT kind, parts, cardinality(cluster_ids) AS clusters FROM llm_clusters.steering WHERE id = :split;
SELECT to_jsonb(c) - 'run_id' AS checks FROM run_consistency c WHERE run_id = :r4;
SELECT count(*) AS parts_split_from_the_menu, bool_and(cluster_id = ANY (:'parts')) AS its_parts FROM llm_clusters.cluster_lineage
WHERE run_id = :r4 AND event = 'split' AND related_stable_id = :menu_stable;
-- Undone while r4 is the latest: r4 is exactly as it was, and the steer is gone.
SELECT llm_clusters.undo_steering(:job, :split) AS split_undone;
SELECT n_clusters = :r4_n AS same_count, clusters = :'r4_clusters' AS same_clusters, themes = :'r4_themes' AS same_themes,
       items = :'r4_items' AS same_items, lineage = :'r4_lineage' AS same_lineage
FROM run_rows WHERE run_id = :r4;
SELECT count(*) AS split_steers FROM llm_clusters.steering WHERE job_id = :job AND kind = 'split';
-- Two steers of one run are undone newest first; each undo puts back what it changed.
SELECT llm_clusters.split_cluster(:r4, :menu) = :'parts' AS the_same_parts_again;
SELECT min(steering_id) AS split FROM llm_clusters.clusters WHERE run_id = :r4 AND steering = 'split' \gset
SELECT clusters AS split_clusters, items AS split_items FROM run_rows WHERE run_id = :r4 \gset
SELECT llm_clusters.merge_clusters(:r4, ARRAY(SELECT cluster_id FROM topics WHERE run_id = :r4 AND topic IN ('password', 'email')
                                               ORDER BY cluster_id)) IS NOT NULL AS merged_too;
SELECT min(steering_id) AS merge2 FROM llm_clusters.clusters WHERE run_id = :r4 AND steering = 'merge' \gset
SELECT to_jsonb(c) - 'run_id' AS checks FROM run_consistency c WHERE run_id = :r4;
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.undo_steering(%s, %s)', :job, :split)), '(steering|run) \d+', '\1 N', 'g');
SELECT llm_clusters.undo_steering(:job, :merge2) AS merge_undone;
SELECT clusters = :'split_clusters' AS split_as_it_was, items = :'split_items' AS its_items_too FROM run_rows WHERE run_id = :r4;
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
SELECT regress.error_of(format('SELECT llm_clusters.split_cluster(%s, 0, 20)', :r10));
SELECT regress.error_of(format('SELECT llm_clusters.split_cluster(NULL, 0)'));
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
SELECT llm_clusters.merge_clusters(:r10, ARRAY[0, 1]) AS team1_merged \gset
SELECT steering_id AS team1_merge FROM llm_clusters.clusters WHERE run_id = :r10 AND cluster_id = :team1_merged \gset
SELECT clusters AS r10_clusters, items AS r10_items FROM run_rows WHERE run_id = :r10 \gset
SELECT md5(string_agg(format('%s %s %s %s', team_id, grouping, group_id, users), ';' ORDER BY team_id, grouping, group_id)) AS r10_users
FROM llm_clusters.distinct_users WHERE run_id = :r10 \gset
SET LOCAL ROLE regress_steer_reader;
SELECT count(*) AS steering_a_reader_sees FROM llm_clusters.steering;
SELECT regress.error_of(format('SELECT llm_clusters.merge_clusters(%s, ARRAY[0, 1])', :r10));
SELECT regress.error_of(format('SELECT llm_clusters.split_cluster(%s, 0)', :r10));
SELECT regress.error_of(format($$SELECT llm_clusters.pin_topic(%s, 'x', ARRAY['x'])$$, :job));
SELECT regress.error_of(format('SELECT llm_clusters.undo_steering(%s, %s)', :job, :team1_merge));
SELECT regress.error_of(format('DELETE FROM llm_clusters.steering WHERE id = %s', :team1_merge));
SELECT regress.error_of(format($$SELECT llm_clusters._steer_run(%s, 'merge', ARRAY[0, 1], NULL)$$, :r10));
SELECT regress.error_of(format('SELECT llm_clusters._restore_run(1, %s)', :team1_merge));
SELECT regress.error_of(format('SELECT llm_clusters._count_distinct_users(1, %s)', :r10));
RESET ROLE;
SET LOCAL ROLE regress_steer_other;
SELECT count(*) AS team1_steering_seen_by_team2 FROM llm_clusters.steering;
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.merge_clusters(%s, ARRAY[0, 1])', :r10)), 'run \d+', 'run N');
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.split_cluster(%s, 0)', :r10)), 'run \d+', 'run N');
SELECT regexp_replace(regress.error_of(format($$SELECT llm_clusters.pin_topic(%s, 'x', ARRAY['x'], '{1,0,0,0,0,0,0,0}')$$, :job)), 'job \d+', 'job N');
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.undo_steering(%s, %s)', :job, :team1_merge)), 'job \d+', 'job N');
UPDATE llm_clusters.steering SET delete_requested = true WHERE id = :team1_merge;
SELECT regexp_replace(regress.error_of(format($$SELECT llm_clusters._steer_run(%s, 'split', ARRAY[0], 2)$$, :r10)), 'run \d+', 'run N');
SELECT llm_clusters._restore_run(1, :team1_merge);
-- Counting users again runs with the caller's rights: team 1's run, named with either
-- team, is invisible to team 2 and gains or loses no count.
SELECT llm_clusters._count_distinct_users(1, :r10);
SELECT llm_clusters._count_distinct_users(2, :r10);
SELECT count(*) AS team1_rows_team2_can_change FROM llm_clusters.clusters WHERE run_id = :r10;
SELECT regress.error_of(format($$INSERT INTO llm_clusters.steering (team_id, job_id, kind, title, examples, centroid)
                                 VALUES (1, %s, 'pin', 'planted', ARRAY['x'], '{1,0,0,0,0,0,0,0}')$$, :job));
SELECT regress.error_of($$INSERT INTO llm_clusters.steering (id, team_id, job_id, kind, title, examples, centroid)
                          OVERRIDING SYSTEM VALUE VALUES (424242, 2, 1, 'pin', 'planted', ARRAY['x'], '{1}')$$);
RESET ROLE;
SELECT count(*) AS team1_merge_still_there FROM llm_clusters.steering WHERE id = :team1_merge;
SELECT clusters = :'r10_clusters' AS r10_clusters_untouched, items = :'r10_items' AS r10_items_untouched FROM run_rows WHERE run_id = :r10;
SELECT md5(string_agg(format('%s %s %s %s', team_id, grouping, group_id, users), ';' ORDER BY team_id, grouping, group_id)) = :'r10_users' AS r10_users_untouched,
       count(*) > 0 AS r10_has_counts
FROM llm_clusters.distinct_users WHERE run_id = :r10;
ROLLBACK;
