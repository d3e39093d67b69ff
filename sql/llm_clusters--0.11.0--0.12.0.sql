-- 0.11.0 -> 0.12.0

-- sql/jobs.sql, sql/assign.sql, sql/privacy.sql: the ids of a run's groups are bounded.
-- They index the run's groups in memory (steering, labels, lineage): a run makes at most 200
-- clusters and steering's splits a few thousand, and admins insert rows into their runs, so
-- an id past 9999 was planted (one theme numbered 2,000,000,000 sized a merge's arrays by it).
-- Rows no run makes stop the upgrade with their place, rather than being deleted unasked.
DO $$
DECLARE
    planted text;
BEGIN
    SELECT string_agg(format('%s (%s rows)', t, n), ', ') INTO planted
    FROM (SELECT 'clusters' AS t, count(*) AS n FROM llm_clusters.clusters
          WHERE cluster_id NOT BETWEEN -1 AND 9999 OR theme_id NOT BETWEEN 0 AND 9999
          UNION ALL SELECT 'themes', count(*) FROM llm_clusters.themes WHERE theme_id NOT BETWEEN 0 AND 9999
          UNION ALL SELECT 'assignments', count(*) FROM llm_clusters.assignments WHERE cluster_id NOT BETWEEN -1 AND 9999 OR rank < 0
          UNION ALL SELECT 'incremental_assignments', count(*) FROM llm_clusters.incremental_assignments
          WHERE cluster_id NOT BETWEEN -1 AND 9999
          UNION ALL SELECT 'distinct_users', count(*) FROM llm_clusters.distinct_users WHERE group_id NOT BETWEEN -1 AND 9999) c
    WHERE n > 0;
    IF planted IS NOT NULL THEN
        RAISE EXCEPTION 'llm_clusters 0.12.0 bounds the ids of clusters and themes to -1..9999, and rows no run makes have others: %', planted
            USING ERRCODE = 'check_violation',
                  HINT = 'Runs make ids from -1 to a few thousand: these rows were inserted by hand. Delete them (as a superuser) and update again.';
    END IF;
END
$$;
ALTER TABLE llm_clusters.clusters
    ADD CONSTRAINT cluster_id_range CHECK (cluster_id BETWEEN -1 AND 9999),
    ADD CONSTRAINT theme_id_range CHECK (theme_id BETWEEN 0 AND 9999);
ALTER TABLE llm_clusters.themes ADD CONSTRAINT theme_id_range CHECK (theme_id BETWEEN 0 AND 9999);
ALTER TABLE llm_clusters.assignments
    ADD CONSTRAINT cluster_id_range CHECK (cluster_id BETWEEN -1 AND 9999),
    ADD CONSTRAINT rank_range CHECK (rank >= 0);
ALTER TABLE llm_clusters.incremental_assignments ADD CONSTRAINT cluster_id_range CHECK (cluster_id BETWEEN -1 AND 9999);
ALTER TABLE llm_clusters.distinct_users ADD CONSTRAINT group_id_range CHECK (group_id BETWEEN -1 AND 9999);
