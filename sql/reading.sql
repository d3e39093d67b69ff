-- Reading results: views shaped for BI tools and the functions a UI calls.

CREATE VIEW llm_clusters.run_list WITH (security_invoker = true) AS
SELECT r.id AS run_id, r.team_id, r.job_id, r.job_name, r.level, r.window_start, r.window_end, r.cycle,
       r.status, r.error, r.n_items, r.n_clusters, r.n_outliers, r.started_at, r.finished_at,
       extract(epoch FROM r.finished_at - r.started_at)::float8 AS duration_s, r.lens
FROM llm_clusters.runs r;

CREATE VIEW llm_clusters.latest_runs WITH (security_invoker = true) AS
SELECT DISTINCT ON (l.team_id, l.job_id) l.*
FROM llm_clusters.run_list l
WHERE l.status = 'succeeded' AND l.job_id IS NOT NULL
ORDER BY l.team_id, l.job_id, l.window_end DESC, l.run_id DESC;

-- Colours follow the stable id, so a cluster keeps its colour from run to run.
CREATE VIEW llm_clusters.scatter_points WITH (security_invoker = true) AS
SELECT a.team_id, a.run_id, a.item_id, a.cluster_id, llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users) AS title,
       a.x, a.y,
       CASE WHEN a.cluster_id = -1 THEN -1 ELSE (coalesce(c.stable_id, a.cluster_id) % 20)::int END AS colour_index,
       false AS is_centroid, a.cluster_id = -1 AS is_outlier
FROM llm_clusters.assignments a
JOIN llm_clusters.clusters c ON c.team_id = a.team_id AND c.run_id = a.run_id AND c.cluster_id = a.cluster_id
LEFT JOIN llm_clusters.distinct_users u
       ON u.team_id = c.team_id AND u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
UNION ALL
SELECT c.team_id, c.run_id, NULL, c.cluster_id, llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users), c.x, c.y,
       (coalesce(c.stable_id, c.cluster_id) % 20)::int, true, false
FROM llm_clusters.clusters c
LEFT JOIN llm_clusters.distinct_users u
       ON u.team_id = c.team_id AND u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
WHERE c.cluster_id <> -1;

CREATE FUNCTION llm_clusters.cluster_items(run_id bigint, cluster_id int, max_items int DEFAULT 50, after_rank int DEFAULT -1)
RETURNS TABLE (item_id text, trace_id text, rank int, distance float8, ts timestamptz, preview text,
               summary_title text, flow text, bullets text[], notes text[])
LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    source regclass;
    run_team int;
    run_level text;
    hidden boolean;
BEGIN
    -- The run's team: ids are the identity's alone since 0.5.0, but rows planted before may
    -- share one, and then the caller must read the run it means by its team.
    IF (SELECT count(DISTINCT r.team_id) FROM llm_clusters.runs r WHERE r.id = cluster_items.run_id) > 1 THEN
        RAISE EXCEPTION 'run % exists in more than one team', cluster_items.run_id
            USING ERRCODE = 'cardinality_violation',
                  HINT = 'Rows with chosen ids were planted before 0.5.0: delete the run of the team that did not create it.';
    END IF;
    SELECT j.source, r.team_id, r.level INTO source, run_team, run_level
    FROM llm_clusters.runs r JOIN llm_clusters.jobs j ON j.team_id = r.team_id AND j.id = r.job_id
    WHERE r.id = cluster_items.run_id;
    IF source IS NULL THEN
        RAISE EXCEPTION 'run % does not exist or its job was deleted', cluster_items.run_id
            USING ERRCODE = 'no_data_found';
    END IF;
    IF max_items < 1 OR max_items > 10000 THEN
        RAISE EXCEPTION 'max_items must be between 1 and 10000, got %', max_items
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Below the privacy floor: the items without their texts (no preview, no summary).
    SELECT llm_clusters._below_floor(u.users) INTO hidden
    FROM (SELECT 1) one
    LEFT JOIN llm_clusters.distinct_users u
           ON u.team_id = run_team AND u.run_id = cluster_items.run_id AND u.grouping = 'cluster'
          AND u.group_id = cluster_items.cluster_id;
    IF hidden THEN
        RETURN QUERY
        SELECT a.item_id, a.trace_id, a.rank, a.distance, a.ts, NULL::text, NULL::text, NULL::text, NULL::text[], NULL::text[]
        FROM llm_clusters.assignments a
        WHERE a.team_id = run_team AND a.run_id = cluster_items.run_id AND a.cluster_id = cluster_items.cluster_id
          AND a.rank > after_rank
        ORDER BY a.rank, a.item_id LIMIT max_items;
        RETURN;
    END IF;
    -- The previews are read from the source as the job's owner (_item_previews).
    RETURN QUERY
    WITH page AS (
        SELECT a.item_id, a.trace_id, a.rank, a.distance, a.ts
        FROM llm_clusters.assignments a
        WHERE a.team_id = run_team AND a.run_id = cluster_items.run_id AND a.cluster_id = cluster_items.cluster_id
          AND a.rank > after_rank
        ORDER BY a.rank, a.item_id LIMIT max_items)
    SELECT page.item_id, page.trace_id, page.rank, page.distance, page.ts, p.preview,
           s.title, s.flow, s.bullets, s.notes
    FROM page
    LEFT JOIN llm_clusters._item_previews(cluster_items.run_id, ARRAY(SELECT page.item_id FROM page), 300) p
           ON p.item_id = page.item_id
    LEFT JOIN llm_clusters.item_summaries s
           ON s.team_id = run_team AND s.level = run_level AND s.item_id = page.item_id
    ORDER BY page.rank, page.item_id;
END $$;

CREATE FUNCTION llm_clusters.item_clusters(item_id text, team_id int DEFAULT 1)
RETURNS TABLE (job_id int, job_name text, level text, lens text, run_id bigint, window_end timestamptz,
               cluster_id int, stable_id bigint, title text, distance float8, incremental boolean)
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT DISTINCT ON (r.job_id) r.job_id, r.job_name, r.level, r.lens, r.id, r.window_end,
           a.cluster_id, c.stable_id, coalesce(llm_clusters._floored_cluster_title(a.cluster_id, c.title, u.users), 'Outliers'),
           a.distance, a.incremental
    FROM (SELECT x.run_id, x.cluster_id, x.distance, false AS incremental FROM llm_clusters.assignments x
          WHERE x.team_id = item_clusters.team_id AND x.item_id = item_clusters.item_id
          UNION ALL
          SELECT x.run_id, x.cluster_id, x.distance, true FROM llm_clusters.incremental_assignments x
          WHERE x.team_id = item_clusters.team_id AND x.item_id = item_clusters.item_id) a
    JOIN llm_clusters.runs r ON r.team_id = item_clusters.team_id AND r.id = a.run_id
                             AND r.status = 'succeeded' AND r.job_id IS NOT NULL
    LEFT JOIN llm_clusters.clusters c ON c.team_id = item_clusters.team_id AND c.run_id = a.run_id
                                     AND c.cluster_id = a.cluster_id
    LEFT JOIN llm_clusters.distinct_users u ON u.team_id = item_clusters.team_id AND u.run_id = a.run_id
                                           AND u.grouping = 'cluster' AND u.group_id = a.cluster_id
    ORDER BY r.job_id, r.window_end DESC, r.id DESC
$$;

-- One row per item of the latest succeeded run of each job: "all items of cluster X" is a
-- WHERE clause (assignments_cluster_idx serves it).
CREATE VIEW llm_clusters.item_labels WITH (security_invoker = true) AS
SELECT a.team_id, r.level, a.item_id, r.job_id, a.run_id, r.lens,
       a.cluster_id, c.stable_id, llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users) AS title,
       c.theme_id, llm_clusters._floored_theme_title(t.title, tu.users) AS theme_title
FROM (SELECT DISTINCT ON (lr.team_id, lr.job_id) lr.team_id, lr.id, lr.job_id, lr.level, lr.lens
      FROM llm_clusters.runs lr
      WHERE lr.status = 'succeeded' AND lr.job_id IS NOT NULL
      ORDER BY lr.team_id, lr.job_id, lr.window_end DESC, lr.id DESC) r
JOIN llm_clusters.assignments a ON a.team_id = r.team_id AND a.run_id = r.id
JOIN llm_clusters.clusters c ON c.team_id = a.team_id AND c.run_id = a.run_id AND c.cluster_id = a.cluster_id
LEFT JOIN llm_clusters.distinct_users u
       ON u.team_id = c.team_id AND u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
LEFT JOIN llm_clusters.themes t ON t.team_id = c.team_id AND t.run_id = c.run_id AND t.theme_id = c.theme_id
LEFT JOIN llm_clusters.distinct_users tu
       ON tu.team_id = c.team_id AND tu.run_id = c.run_id AND tu.grouping = 'theme' AND tu.group_id = c.theme_id;

COMMENT ON FUNCTION llm_clusters._item_previews(bigint, text[], int) IS
    'Internal: the first characters of the content of items of a run, read from its job''s source as the job''s owner (used by cluster_items).';
COMMENT ON VIEW llm_clusters.run_list IS
    'Every run, for a run selector: job, level, window, status, counts, duration and lens. Filter by level or job_id; order by run_id DESC.';
GRANT SELECT ON llm_clusters.run_list TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.latest_runs IS
    'The latest succeeded run of each job (by window end).';
GRANT SELECT ON llm_clusters.latest_runs TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.scatter_points IS
    'The 2-D map of a run: every item and every centroid with x, y, cluster, title, a colour index that follows the stable id (-1 for Outliers), is_centroid and is_outlier.';
GRANT SELECT ON llm_clusters.scatter_points TO llm_clusters_reader;
COMMENT ON FUNCTION llm_clusters.cluster_items(bigint, int, int, int) IS
    'The items of one cluster of a run in rank order (0 = closest to the centre) with a 300-character preview and the item''s summary (summary_title, flow, bullets, notes; NULL until summarize_pending wrote one); page with after_rank = the last rank seen. Below llm_clusters.min_distinct_users, the items without preview or summary.';
-- Reading functions: readers, not PUBLIC (the ingest role runs capture_with_key only).
-- _item_previews is bounded to what cluster_items promises: items of the run, 300 characters.
REVOKE EXECUTE ON FUNCTION
    llm_clusters._item_previews(bigint, text[], int),
    llm_clusters.cluster_items(bigint, int, int, int),
    llm_clusters.item_clusters(text, int)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters._item_previews(bigint, text[], int),
    llm_clusters.cluster_items(bigint, int, int, int),
    llm_clusters.item_clusters(text, int)
    TO llm_clusters_reader;
COMMENT ON FUNCTION llm_clusters.item_clusters(text, int) IS
    'The clusters an item belongs to: for every job (and so every lens), its most recent succeeded run that assigned the item (by the run itself or by assign_pending, then incremental = true). Titles of clusters below llm_clusters.min_distinct_users read Small cluster.';
COMMENT ON VIEW llm_clusters.item_labels IS
    'A label per item: every item of the latest succeeded run of each job with its lens, cluster (cluster_id -1: Outliers), stable id, title, theme and theme title; filter by job_id and cluster_id or stable_id for the items of a cluster. Titles below llm_clusters.min_distinct_users read Small cluster (Small theme).';
GRANT SELECT ON llm_clusters.item_labels TO llm_clusters_reader;
