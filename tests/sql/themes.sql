-- Themes and granularity: a run's clusters at the data's granularity, grouped into
-- themes (llm_clusters.themes, clusters.theme_id, theme_cards, cluster_cards' theme),
-- outliers, and windows without structure.
BEGIN;
SET LOCAL TimeZone = 'UTC';
-- Six topics in two families: topic t points at its family's axis (t / 3) and, less, at
-- an axis of its own (2 + t), with a little noise; 25 items each, cost by topic.
SELECT regress.planted(1, 'theme', 150, 6,
                       topics => ARRAY['reset my password', 'change my email address', 'delete my account',
                                       'bake sourdough bread', 'cook a mushroom risotto', 'grill a steak'],
                       cycle => ARRAY(SELECT jsonb_build_object('$ai_total_cost_usd', c)
                                      FROM unnest(ARRAY[0.001, 0.002, 0.003, 0.010, 0.020, 0.030]) c));
UPDATE llm_clusters.embeddings SET embedding = regress.planted_vector(i, (i % 6) / 3, 0.04, sub_axis => 2 + i % 6)
FROM generate_series(0, 149) i WHERE item_id = regress.planted_id(1, 'theme', i);
SELECT llm_clusters.create_job('themes', level => 'generation') AS job \gset
SELECT llm_clusters.run_job(:job, '2026-11-21') AS run \gset

SELECT status, n_items, n_clusters, n_outliers, quality->>'method' AS method, quality->>'n_themes' AS n_themes
FROM llm_clusters.runs WHERE id = :run;
-- Every cluster but Outliers is in a theme; each theme holds topics of one family (a family
-- of half the items is more than the 35% one theme may hold: both are split, 2 + 1 topics).
SELECT count(*) FILTER (WHERE theme_id IS NULL AND cluster_id >= 0) AS clusters_without_theme,
       count(*) FILTER (WHERE theme_id IS NOT NULL AND cluster_id = -1) AS outliers_with_theme
FROM llm_clusters.clusters WHERE run_id = :run;
SELECT t.theme_id, count(DISTINCT tp.t / 3) AS families, count(DISTINCT tp.t) AS topics, count(*) AS items
FROM llm_clusters.assignments a
JOIN llm_clusters.clusters c ON c.run_id = a.run_id AND c.cluster_id = a.cluster_id
JOIN llm_clusters.themes t ON t.run_id = c.run_id AND t.theme_id = c.theme_id
CROSS JOIN LATERAL (SELECT split_part(a.trace_id, '-', 2)::int % 6 AS t) tp
WHERE a.run_id = :run GROUP BY t.theme_id ORDER BY t.theme_id;
-- A theme's size, share and metrics are the same aggregates over its clusters' items.
SELECT bool_and(t.size = s.size AND abs(t.share - s.size::float8 / 150) < 1e-9
                AND abs(t.total_cost_usd - s.total) < 1e-9 AND abs(t.avg_cost_usd - s.total / s.size) < 1e-9) AS metrics_agree
FROM llm_clusters.themes t
JOIN (SELECT theme_id, sum(size)::int AS size, sum(total_cost_usd) AS total FROM llm_clusters.clusters
      WHERE run_id = :run AND theme_id IS NOT NULL GROUP BY theme_id) s ON s.theme_id = t.theme_id
WHERE t.run_id = :run;
-- Titles name what the items ask for, distinct; a description is a sentence, then up to 3 quoted requests.
SELECT title FROM llm_clusters.clusters WHERE run_id = :run AND cluster_id >= 0 ORDER BY title;
SELECT count(DISTINCT title) = count(*) AS distinct_titles,
       bool_and(title NOT LIKE '%,%') AS no_comma_lists,
       bool_and(array_length(string_to_array(description, E'\n'), 1) BETWEEN 2 AND 4
                AND description NOT LIKE '• %' AND description LIKE E'%\n• e.g. "%') AS sentence_then_examples
FROM llm_clusters.clusters WHERE run_id = :run;
SELECT bool_and(title <> '' AND description LIKE E'%\n• e.g. "%' AND centroid IS NOT NULL AND x IS NOT NULL) AS themes_complete
FROM llm_clusters.themes WHERE run_id = :run;

-- The views: cluster_cards carries the theme, theme_cards counts and names its clusters.
SELECT bool_and((theme_title IS NULL) = is_outliers) AS every_card_has_its_theme
FROM llm_clusters.cluster_cards WHERE run_id = :run;
SELECT position, n_clusters, size, array_length(cluster_titles, 1) AS titles
FROM llm_clusters.theme_cards WHERE run_id = :run ORDER BY position;
-- The report shows the themes: a bar and a heading per theme.
SELECT position('id="theme-bar"' IN html) > 0 AS theme_bar,
       (SELECT bool_and(position(replace(replace(to_jsonb(t.title)::text, '<', '\u003c'), '>', '\u003e') IN html) > 0)
        FROM llm_clusters.themes t WHERE t.run_id = :run) AS theme_titles_in_data
FROM (SELECT llm_clusters.report_html(:run) AS html) r;

-- Themes are private to their team like every result.
CREATE ROLE regress_theme_reader;
GRANT llm_clusters_reader TO regress_theme_reader;
INSERT INTO llm_clusters.team_roles VALUES (2, 'regress_theme_reader');
SET LOCAL ROLE regress_theme_reader;
SELECT count(*) AS themes_seen_by_team_2 FROM llm_clusters.themes WHERE run_id = :run;
SELECT count(*) AS theme_cards_seen_by_team_2 FROM llm_clusters.theme_cards WHERE run_id = :run;
SELECT count(*) AS theme_lineage_seen_by_team_2 FROM llm_clusters.theme_lineage WHERE run_id = :run;
SELECT count(*) AS theme_trends_seen_by_team_2 FROM llm_clusters.theme_trends WHERE run_id = :run;
RESET ROLE;

-- A second day with the same items: the same clusters and themes (hysteresis).
SELECT llm_clusters.run_job(:job, '2026-11-21 01:00') AS run2 \gset
SELECT count(*) = 150 AS all_kept_their_cluster
FROM llm_clusters.assignments a JOIN llm_clusters.assignments b ON b.item_id = a.item_id AND b.cluster_id = a.cluster_id
WHERE a.run_id = :run AND b.run_id = :run2;
-- Themes keep their stable ids and titles like clusters: the first run's are new, the
-- second's continue each one (its items all shared), under the same stable id.
SELECT run_id = :run AS first_run, event, count(*), min(similarity) AS similarity, count(related_stable_id) AS related
FROM llm_clusters.theme_lineage WHERE run_id IN (:run, :run2) GROUP BY run_id, event ORDER BY run_id, event;
SELECT count(*) AS themes, count(b.stable_id) AS same_stable_id, count(*) FILTER (WHERE a.title = b.title AND a.size = b.size) AS same_title_and_size,
       bool_and(l.theme_id = b.theme_id AND l.previous_theme_id = a.theme_id) AS lineage_names_both
FROM llm_clusters.themes a
LEFT JOIN llm_clusters.themes b ON b.run_id = :run2 AND b.stable_id = a.stable_id
LEFT JOIN llm_clusters.theme_lineage l ON l.run_id = :run2 AND l.stable_id = a.stable_id
WHERE a.run_id = :run;
SELECT count(DISTINCT stable_id) = count(*) AS theme_ids_distinct FROM llm_clusters.themes WHERE run_id = :run2;
-- The trend view: one row per stable theme and day, from the day's last run.
SELECT day, runs_ago, count(*) AS themes, count(DISTINCT stable_id) AS stable_ids, sum(size) AS items,
       bool_and(run_id = :run2) AS last_run_of_the_day, bool_and(latest_title = title) AS latest_titles
FROM llm_clusters.theme_trends WHERE job_id = :job GROUP BY day, runs_ago;

-- A merge of clusters of two themes: the merged cluster joins the theme that held most of
-- its items; the theme it emptied is gone, merged into that one in theme_lineage; the theme
-- it changed is titled again from the clusters it holds. Merged: a theme's two clusters
-- (50 items) and the one cluster of another theme (25).
CREATE TEMP TABLE before_merge AS SELECT * FROM llm_clusters.themes WHERE run_id = :run2;
WITH t AS (SELECT theme_id, array_agg(cluster_id ORDER BY cluster_id) AS clusters FROM llm_clusters.clusters
           WHERE run_id = :run2 AND cluster_id >= 0 GROUP BY theme_id)
SELECT (SELECT theme_id FROM t WHERE cardinality(clusters) = 1 ORDER BY theme_id LIMIT 1) AS alone_theme,
       (SELECT theme_id FROM t WHERE cardinality(clusters) = 2 ORDER BY theme_id LIMIT 1) AS pair_theme \gset
SELECT llm_clusters.merge_clusters(:run2, ARRAY(SELECT cluster_id FROM llm_clusters.clusters
                                                WHERE run_id = :run2 AND theme_id IN (:alone_theme, :pair_theme))) AS merged \gset
SELECT theme_id = :pair_theme AS joined_the_theme_of_most_items
FROM llm_clusters.clusters WHERE run_id = :run2 AND cluster_id = :merged;
SELECT (SELECT count(*) FROM llm_clusters.themes WHERE run_id = :run2) = (SELECT count(*) FROM before_merge) - 1 AS one_theme_fewer,
       NOT EXISTS (SELECT 1 FROM llm_clusters.themes WHERE run_id = :run2 AND theme_id = :alone_theme) AS emptied_theme_gone;
SELECT l.event, l.theme_id = :pair_theme AS into_the_theme,
       l.related_stable_id = (SELECT stable_id FROM before_merge WHERE theme_id = :pair_theme) AS into_its_stable_id
FROM llm_clusters.theme_lineage l
WHERE l.run_id = :run2 AND l.stable_id = (SELECT stable_id FROM before_merge WHERE theme_id = :alone_theme);
-- The theme that took the cluster is titled again from the clusters it holds; its size and centroid follow.
SELECT b.title <> t.title OR b.keywords <> t.keywords AS relabelled, t.size = b.size + 25 AS size_follows,
       t.centroid <> b.centroid AS centroid_follows, t.stable_id = b.stable_id AS same_stable_id
FROM llm_clusters.themes t JOIN before_merge b USING (theme_id) WHERE t.run_id = :run2 AND t.theme_id = :pair_theme;
SELECT title, keywords FROM llm_clusters.themes WHERE run_id = :run2 AND theme_id = :pair_theme;
SELECT count(*) AS untouched_themes_kept_as_they_were
FROM llm_clusters.themes t JOIN before_merge b USING (theme_id)
WHERE t.run_id = :run2 AND t.theme_id NOT IN (:alone_theme, :pair_theme) AND t.title = b.title AND t.stable_id = b.stable_id;
-- Undone: the themes and their lineage are back as they were.
SELECT llm_clusters.undo_steering(:job, (SELECT steering_id FROM llm_clusters.clusters WHERE run_id = :run2 AND cluster_id = :merged));
SELECT count(*) = (SELECT count(*) FROM before_merge) AS themes_back
FROM llm_clusters.themes t JOIN before_merge b USING (theme_id, stable_id, title, size) WHERE t.run_id = :run2;
SELECT event, count(*) FROM llm_clusters.theme_lineage WHERE run_id = :run2 GROUP BY event;
-- Admins may set clusters.theme_id (UPDATE (theme_id)): a number no theme has sizes nothing
-- in the merge (ids are 0..9999: attack_planted_cluster_rows); the merged cluster keeps what
-- the run has. A planted theme of the run's dimension numbered 9999 sizes nothing either.
SAVEPOINT planted_theme;
INSERT INTO llm_clusters.themes (team_id, run_id, theme_id, title, description, size, share, centroid)
SELECT team_id, run_id, 9999, 'planted', '', 1, 0, centroid FROM llm_clusters.themes WHERE run_id = :run2 AND theme_id = :alone_theme;
UPDATE llm_clusters.clusters c SET theme_id = CASE WHEN c.cluster_id = (SELECT min(cluster_id) FROM llm_clusters.clusters
                                                               WHERE run_id = :run2 AND theme_id = :pair_theme) THEN 9998 ELSE 9997 END
WHERE c.run_id = :run2 AND c.theme_id = :pair_theme;
SELECT llm_clusters.merge_clusters(:run2, ARRAY(SELECT cluster_id FROM llm_clusters.clusters
                                                WHERE run_id = :run2 AND theme_id IN (9998, 9997, :alone_theme))) IS NOT NULL AS merged_despite_planted_themes;
SELECT count(*) AS themes_named_by_planted_ids FROM llm_clusters.themes WHERE run_id = :run2 AND theme_id IN (9998, 9997);
ROLLBACK TO SAVEPOINT planted_theme;
-- Nor do centroids (admins hold UPDATE (centroid) on clusters and themes): a theme's planted
-- 3-dimensional one sizes nothing, and the theme the merge changed keeps the run's dimension.
SAVEPOINT planted_centroid;
UPDATE llm_clusters.themes SET centroid = '{1,2,3}' WHERE run_id = :run2 AND theme_id NOT IN (:alone_theme, :pair_theme);
UPDATE llm_clusters.clusters SET centroid = '{1,2,3}' WHERE run_id = :run2 AND theme_id NOT IN (:alone_theme, :pair_theme);
SELECT llm_clusters.merge_clusters(:run2, ARRAY(SELECT cluster_id FROM llm_clusters.clusters
                                                WHERE run_id = :run2 AND theme_id IN (:alone_theme, :pair_theme))) AS merged \gset
SELECT cardinality(t.centroid) = cardinality(b.centroid) AS runs_dimension, t.centroid <> b.centroid AS centroid_follows
FROM llm_clusters.themes t JOIN before_merge b USING (theme_id) WHERE t.run_id = :run2 AND t.theme_id = :pair_theme;
ROLLBACK TO SAVEPOINT planted_centroid;

-- Windows without structure, and too few items.
CREATE TEMP TABLE odd_items AS
SELECT 1 AS team_id, 'same' || i AS item_id, 'same' || i AS trace_id, '2026-11-20'::timestamptz AS ts,
       '{1,1,1,1}'::real[] AS embedding, 'the same text' AS content,
       0.0::float8 AS cost_usd, 0.0::float8 AS latency_s, 0::bigint AS tokens, false AS is_error, '{}'::jsonb AS properties
FROM generate_series(1, 30) i
UNION ALL
SELECT 1, 'orth' || i, 'orth' || i, '2026-11-20', ARRAY(SELECT CASE WHEN d = i THEN 1.0 ELSE 0.0 END FROM generate_series(1, 30) d)::real[],
       'text ' || i, 0.0, 0.0, 0, false, '{}'
FROM generate_series(1, 30) i
UNION ALL
SELECT 1, 'few' || i, 'few' || i, '2026-11-20', (ARRAY['{1,0,0,0}', '{0.9,0.1,0,0}', '{0,0,1,0}'])[i]::real[],
       'text ' || i, 0.0, 0.0, 0, false, '{}'
FROM generate_series(1, 3) i;
CREATE TEMP VIEW identical AS SELECT * FROM odd_items WHERE item_id LIKE 'same%';
CREATE TEMP VIEW orthogonal AS SELECT * FROM odd_items WHERE item_id LIKE 'orth%';
CREATE TEMP VIEW three AS SELECT * FROM odd_items WHERE item_id LIKE 'few%';
SELECT llm_clusters.create_job('identical', 'generation', source => 'pg_temp.identical') AS identical \gset
SELECT llm_clusters.create_job('orthogonal', 'generation', source => 'pg_temp.orthogonal') AS orthogonal \gset
SELECT llm_clusters.create_job('three', 'generation', source => 'pg_temp.three', params => '{"min_items": 3}') AS three \gset
SELECT llm_clusters.run_job(j, '2026-11-21') FROM unnest(ARRAY[:identical, :orthogonal, :three]) j;
SELECT r.job_name, r.status, r.error, r.n_items, r.n_clusters, r.n_outliers,
       (SELECT count(*) FROM llm_clusters.themes t WHERE t.run_id = r.id) AS themes
FROM llm_clusters.runs r WHERE r.job_id IN (:identical, :orthogonal, :three) ORDER BY r.id;
-- k-means asked for more clusters than there are items still answers.
UPDATE llm_clusters.jobs SET params = '{"min_items": 3, "method": "kmeans", "max_clusters": 200}' WHERE id = :three;
SELECT llm_clusters.run_job(:three, '2026-11-21') AS kmeans_three \gset
SELECT status, n_clusters BETWEEN 1 AND 3 AS sensible FROM llm_clusters.runs WHERE id = :kmeans_three;
SELECT regress.error_of($$SELECT llm_clusters.create_job('bad resolution', params => '{"resolution": 0}')$$);
SELECT regress.error_of($$SELECT llm_clusters.create_job('bad method', params => '{"method": "louvain"}')$$);
ROLLBACK;
