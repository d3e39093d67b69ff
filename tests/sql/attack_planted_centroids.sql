-- Attack: rows an admin plants in its team's clusters and themes, which code of every team
-- reads. Admins INSERT and UPDATE title, description, keywords and centroid, and the
-- worker's assign_pending (for every team's jobs, as a superuser), later runs, labels and
-- pages copy them into the backend's memory: three centroids of 100,000,000 dimensions
-- (14 MB on disk, compressed) made one assign_pending 3.5 GB and 42 s, and a few dozen
-- would have the OOM killer end the backend, and with it every backend. Now the columns
-- are bounded (centroids 16,000 dimensions, as embeddings and steering are; texts at 5 to
-- 10 times what runs write): the planting is refused (23514), what runs write still fits.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
CREATE ROLE regress_centroid_planter NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (2, 'regress_centroid_planter');
SELECT regress.planted(2, 'plant', 30);
SET ROLE regress_centroid_planter;
SELECT llm_clusters.create_job('planted', 'generation', team_id => 2) AS job \gset
SELECT llm_clusters.run_job(:job, '2026-11-21') AS run \gset
SELECT status, n_clusters > 0 AS has_clusters FROM llm_clusters.runs WHERE id = :run;
SELECT theme_id AS theme FROM llm_clusters.themes WHERE run_id = :run LIMIT 1 \gset
SELECT cluster_id AS cluster FROM llm_clusters.clusters WHERE run_id = :run AND cluster_id >= 0 LIMIT 1 \gset
-- One past each bound, on a cluster and on a theme, by UPDATE and by INSERT.
SELECT regress.error_of(format($$UPDATE llm_clusters.clusters SET centroid = array_fill(0.5::real, ARRAY[16001])
                                 WHERE run_id = %s AND cluster_id = %s$$, :run, :cluster)) AS cluster_centroid;
SELECT regress.error_of(format($$UPDATE llm_clusters.clusters SET title = repeat('x', 1001) WHERE run_id = %s AND cluster_id = %s$$,
                               :run, :cluster)) AS cluster_title;
SELECT regress.error_of(format($$UPDATE llm_clusters.clusters SET description = repeat('x', 10001)
                                 WHERE run_id = %s AND cluster_id = %s$$, :run, :cluster)) AS cluster_description;
SELECT regress.error_of(format($$UPDATE llm_clusters.clusters SET keywords = array_fill('k'::text, ARRAY[101])
                                 WHERE run_id = %s AND cluster_id = %s$$, :run, :cluster)) AS cluster_keywords;
SELECT regress.error_of(format($$UPDATE llm_clusters.clusters SET keywords = ARRAY[repeat('k', 10001)]
                                 WHERE run_id = %s AND cluster_id = %s$$, :run, :cluster)) AS cluster_keyword_length;
SELECT regress.error_of(format($$UPDATE llm_clusters.themes SET centroid = array_fill(0.5::real, ARRAY[16001])
                                 WHERE run_id = %s AND theme_id = %s$$, :run, :theme)) AS theme_centroid;
SELECT regress.error_of(format($$UPDATE llm_clusters.themes SET title = repeat('x', 1001), description = repeat('x', 10001)
                                 WHERE run_id = %s AND theme_id = %s$$, :run, :theme)) AS theme_texts;
SELECT regress.error_of(format($$INSERT INTO llm_clusters.clusters (team_id, run_id, cluster_id, title, description, size, share, centroid)
                                 VALUES (2, %s, 9999, 'planted', '', 0, 0, array_fill(0.5::real, ARRAY[16001]))$$, :run)) AS insert_cluster;
-- The other way in: an embedding given to assign, which readers call, is refused past
-- 16,000 dimensions before it is copied (a 1 GB array was copied whole, then refused for
-- not matching the clusters).
SELECT regress.error_of(format($$SELECT * FROM llm_clusters.assign(%s, array_fill(0.5::real, ARRAY[16001]))$$, :job))
       AS assign_too_wide;
-- At the bounds: accepted.
SELECT regress.error_of(format($$UPDATE llm_clusters.clusters SET title = repeat('x', 1000), keywords = array_fill('k'::text, ARRAY[100]),
                                        centroid = array_fill(0.5::real, ARRAY[16000])
                                 WHERE run_id = %s AND cluster_id = %s$$, :run, :cluster)) AS at_the_bounds;
RESET ROLE;
ROLLBACK;
