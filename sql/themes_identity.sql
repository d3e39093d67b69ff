-- Stable theme ids (src/lineage.rs; the sequence and theme_lineage are in lineage.sql). The
-- column is added here, after every other of themes, so that a fresh install's column order
-- is an upgraded one's.
ALTER TABLE llm_clusters.themes ADD COLUMN stable_id bigint;
COMMENT ON COLUMN llm_clusters.themes.stable_id IS
    'Identity of the theme across runs of its job: kept while matched to the previous run''s theme by their items, as clusters are (see theme_lineage and the README).';
CREATE INDEX themes_stable_idx ON llm_clusters.themes (stable_id, run_id);
-- A run gives its themes stable ids and keeps their titles (src/lineage.rs); a steering merge
-- moves the merged cluster to its theme and labels the themes it changed again (src/steering.rs).
GRANT UPDATE (stable_id, title, description, keywords, centroid, x, y) ON llm_clusters.themes TO llm_clusters_admin;
GRANT UPDATE (theme_id) ON llm_clusters.clusters TO llm_clusters_admin;
