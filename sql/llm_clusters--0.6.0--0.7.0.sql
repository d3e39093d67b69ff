-- 0.6.0 -> 0.7.0

-- Steering acts at once (issue 26 item 4; sql/steering.sql): merge_clusters and split_cluster
-- change the job's latest run in the same transaction and return the clusters they made
-- (split_cluster now returns int[]), undo_steering puts the run back from steering.restore;
-- the run and job checks are the Rust ones (_steer_run, _steered_job) instead of a
-- plpgsql copy of them.
ALTER TABLE llm_clusters.steering ADD COLUMN restore jsonb CHECK (jsonb_typeof(restore) = 'object');

COMMENT ON TABLE llm_clusters.steering IS
    'Steering of a job, applied by every later run until undone (undo_steering, unpin_topic): merge (cluster_ids of run_id become one cluster), split (a cluster is re-clustered into parts), pin (a topic with a fixed centroid that runs keep as a cluster and items near it join). A merge or split also changes run_id, the job''s latest run when it was made, at once. Later runs find the clusters named by their centroids (anchors); see the README.';
COMMENT ON COLUMN llm_clusters.steering.restore IS
    'merge and split: the rows of run_id the steer changed, as they were (its clusters named, its themes, their lineage, their items'' clusters, distances and ranks), which undo_steering puts back while run_id is the job''s latest run.';

GRANT INSERT (restore) ON llm_clusters.steering TO llm_clusters_admin;

GRANT UPDATE (cluster_id, distance, rank) ON llm_clusters.assignments TO llm_clusters_admin;

-- Rows a steer removes are marked (delete_requested) and deleted by a trigger (deletions.sql):
-- no DELETE grant, which would let LOCK TABLE take any mode.

GRANT UPDATE (event, cluster_id, related_stable_id, similarity) ON llm_clusters.cluster_lineage TO llm_clusters_admin;

DROP FUNCTION llm_clusters.split_cluster(bigint, int, int);
DROP FUNCTION llm_clusters._steered_run(bigint);
DROP FUNCTION llm_clusters._steered_job(int);
CREATE FUNCTION llm_clusters."_steered_job"(
	"job_id" INT
) RETURNS INT
STABLE PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'steered_job_wrapper';
CREATE FUNCTION llm_clusters."_steer_run"(
	"run_id" bigint,
	"kind" TEXT,
	"cluster_ids" INT[],
	"parts" INT
) RETURNS INT[]
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'steer_run_wrapper';

CREATE FUNCTION llm_clusters._run_snapshot(team_id int, run_id bigint, cluster_ids int[]) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT jsonb_build_object(
        'n_clusters', (SELECT r.n_clusters FROM llm_clusters.runs r WHERE r.team_id = $1 AND r.id = $2),
        'clusters', (SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.cluster_id), '[]') FROM llm_clusters.clusters c
                     WHERE c.team_id = $1 AND c.run_id = $2 AND c.cluster_id = ANY ($3)),
        'themes', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.theme_id), '[]') FROM llm_clusters.themes t
                   WHERE t.team_id = $1 AND t.run_id = $2),
        'lineage', (SELECT coalesce(jsonb_agg(to_jsonb(l) ORDER BY l.stable_id), '[]') FROM llm_clusters.cluster_lineage l
                    WHERE l.team_id = $1 AND l.run_id = $2
                      AND l.stable_id IN (SELECT c.stable_id FROM llm_clusters.clusters c
                                          WHERE c.team_id = $1 AND c.run_id = $2 AND c.cluster_id = ANY ($3))),
        'items', (SELECT coalesce(jsonb_agg(jsonb_build_object('item_id', a.item_id, 'cluster_id', a.cluster_id,
                                                               'distance', a.distance, 'rank', a.rank) ORDER BY a.item_id), '[]')
                  FROM llm_clusters.assignments a WHERE a.team_id = $1 AND a.run_id = $2 AND a.cluster_id = ANY ($3)));
END;

CREATE FUNCTION llm_clusters._restore_run(team_id int, steering_id int) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    steer record;
    made int[];
    made_stable bigint[];
    -- Every row put back is the team's and the run's, whatever the restore says.
    own jsonb;
BEGIN
    SELECT s.run_id, s.cluster_ids, s.stable_ids, s.restore INTO steer
    FROM llm_clusters.steering s WHERE s.team_id = _restore_run.team_id AND s.id = steering_id;
    own := jsonb_build_object('team_id', team_id, 'run_id', steer.run_id);
    SELECT array_agg(c.cluster_id), array_agg(c.stable_id) INTO made, made_stable FROM llm_clusters.clusters c
    WHERE c.team_id = _restore_run.team_id AND c.run_id = steer.run_id AND c.steering_id = _restore_run.steering_id;
    UPDATE llm_clusters.clusters c SET delete_requested = true WHERE c.team_id = _restore_run.team_id AND c.run_id = steer.run_id
        AND (c.cluster_id = ANY (made) OR c.cluster_id = ANY (steer.cluster_ids));
    INSERT INTO llm_clusters.clusters
    SELECT (jsonb_populate_record(NULL::llm_clusters.clusters, e || own)).* FROM jsonb_array_elements(steer.restore->'clusters') e;
    UPDATE llm_clusters.themes t SET delete_requested = true WHERE t.team_id = _restore_run.team_id AND t.run_id = steer.run_id;
    INSERT INTO llm_clusters.themes
    SELECT (jsonb_populate_record(NULL::llm_clusters.themes, e || own)).* FROM jsonb_array_elements(steer.restore->'themes') e;
    UPDATE llm_clusters.cluster_lineage l SET delete_requested = true WHERE l.team_id = _restore_run.team_id AND l.run_id = steer.run_id
        AND (l.stable_id = ANY (made_stable) OR l.stable_id = ANY (steer.stable_ids));
    INSERT INTO llm_clusters.cluster_lineage
    SELECT (jsonb_populate_record(NULL::llm_clusters.cluster_lineage, e || own)).* FROM jsonb_array_elements(steer.restore->'lineage') e;
    UPDATE llm_clusters.assignments a SET cluster_id = u.cluster_id, distance = u.distance, rank = u.rank
    FROM jsonb_to_recordset(steer.restore->'items') AS u(item_id text, cluster_id int, distance float8, rank int)
    WHERE a.team_id = _restore_run.team_id AND a.run_id = steer.run_id AND a.item_id = u.item_id;
    UPDATE llm_clusters.incremental_assignments i SET delete_requested = true WHERE i.team_id = _restore_run.team_id AND i.run_id = steer.run_id
        AND i.cluster_id = ANY (made);
    UPDATE llm_clusters.runs r SET n_clusters = (steer.restore->>'n_clusters')::int
    WHERE r.team_id = _restore_run.team_id AND r.id = steer.run_id;
    -- The privacy floor compares each group's users: the groups are back.
    PERFORM llm_clusters._count_distinct_users(_restore_run.team_id, steer.run_id);
END $$;

CREATE OR REPLACE FUNCTION llm_clusters.merge_clusters(run_id bigint, cluster_ids int[]) RETURNS int
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF cardinality(cluster_ids) IS NULL OR cardinality(cluster_ids) NOT BETWEEN 2 AND 50 THEN
        RAISE EXCEPTION 'merge_clusters needs 2 to 50 cluster ids, got %', coalesce(cardinality(cluster_ids), 0)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Name the clusters of one run to merge, e.g. ARRAY[3, 5].';
    END IF;
    RETURN (llm_clusters._steer_run(run_id, 'merge', cluster_ids, NULL))[1];
END $$;

CREATE FUNCTION llm_clusters.split_cluster(run_id bigint, cluster_id int, parts int DEFAULT 2) RETURNS int[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF parts IS NULL OR parts NOT BETWEEN 2 AND 20 THEN
        RAISE EXCEPTION 'split_cluster makes 2 to 20 parts, got %', coalesce(parts::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'For example llm_clusters.split_cluster(run_id, cluster_id, 2).';
    END IF;
    RETURN llm_clusters._steer_run(run_id, 'split', ARRAY[cluster_id], parts);
END $$;

CREATE OR REPLACE FUNCTION llm_clusters.undo_steering(job_id int, steering_id int) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    team int := llm_clusters._steered_job(job_id);
    steer record;
    latest bigint;
    later int;
BEGIN
    SELECT s.run_id, s.restore IS NOT NULL AS restorable INTO steer
    FROM llm_clusters.steering s WHERE s.team_id = team AND s.job_id = undo_steering.job_id AND s.id = steering_id;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF steer.restorable THEN
        -- As a steer does: runs of the job wait, so that the latest run stays the latest.
        SELECT (SELECT r.id FROM llm_clusters.runs r WHERE r.team_id = j.team_id AND r.job_id = j.id AND r.status = 'succeeded'
                ORDER BY r.window_end DESC, r.id DESC LIMIT 1)
        INTO latest FROM llm_clusters.jobs j WHERE j.team_id = team AND j.id = undo_steering.job_id FOR NO KEY UPDATE OF j;
        IF latest = steer.run_id THEN
            SELECT min(s.id) INTO later FROM llm_clusters.steering s
            WHERE s.team_id = team AND s.run_id = steer.run_id AND s.id > steering_id AND s.restore IS NOT NULL;
            IF later IS NOT NULL THEN
                RAISE EXCEPTION 'steering % changed run % after steering %', later, steer.run_id, steering_id
                    USING ERRCODE = 'object_not_in_prerequisite_state',
                          HINT = format('Undo steering %s first: a run''s steers are undone in the reverse order.', later);
            END IF;
            PERFORM llm_clusters._restore_run(team, steering_id);
        END IF;
    END IF;
    UPDATE llm_clusters.steering s SET delete_requested = true
    WHERE s.team_id = team AND s.job_id = undo_steering.job_id AND s.id = steering_id;
    RETURN FOUND;
END $$;

COMMENT ON FUNCTION llm_clusters.merge_clusters(bigint, int[]) IS
    'Makes one cluster of the named clusters of run_id, the job''s latest succeeded run, at once (it keeps the smallest id named and its stable id; the others are recorded in lineage as merged into it) and in every later run of the job until undone. Returns the merged cluster''s id; its steering id is clusters.steering_id.';

COMMENT ON FUNCTION llm_clusters.split_cluster(bigint, int, int) IS
    'Re-clusters a cluster of run_id, the job''s latest succeeded run, into parts (2 to 20) clusters by k-means on its items'' embeddings, at once and in every later run of the job until undone. Returns the parts'' cluster ids, largest first (it keeps the split cluster''s id and stable id; the others split from it in lineage); their steering id is clusters.steering_id.';

COMMENT ON FUNCTION llm_clusters.undo_steering(int, int) IS
    'Removes a merge, split or pin (its llm_clusters.steering id) from the job''s later runs, and puts the run a merge or split changed back as it was while that run is the job''s latest (a run''s steers are undone newest first); false when the job has no such steering.';

COMMENT ON FUNCTION llm_clusters._steered_job(int) IS 'Internal: the team of a job to steer.';

COMMENT ON FUNCTION llm_clusters._steer_run(bigint, text, int[], int) IS 'Internal: a merge or split made on a run at once.';

COMMENT ON FUNCTION llm_clusters._run_snapshot(int, bigint, int[]) IS 'Internal: what a merge or split changes in a run, as it was.';

COMMENT ON FUNCTION llm_clusters._restore_run(int, int) IS 'Internal: puts back the run a merge or split changed.';

REVOKE EXECUTE ON FUNCTION
    llm_clusters.split_cluster(bigint, int, int),
    llm_clusters._steered_job(int),
    llm_clusters._steer_run(bigint, text, int[], int),
    llm_clusters._run_snapshot(int, bigint, int[]),
    llm_clusters._restore_run(int, int)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters.split_cluster(bigint, int, int),
    llm_clusters._steered_job(int),
    llm_clusters._steer_run(bigint, text, int[], int),
    llm_clusters._run_snapshot(int, bigint, int[]),
    llm_clusters._restore_run(int, int)
    TO llm_clusters_admin;
-- Privacy floor and item labels (issue 30 items 3-4; sql/privacy.sql, sql/reading.sql,
-- sql/lineage.sql): the floor's internal function, privacy.sql as it is, then the reading
-- views and functions that now go through the floor; item_clusters gains lens (a new result
-- type: dropped and created again); item_labels is new.
CREATE FUNCTION llm_clusters."_min_distinct_users"() RETURNS INT
STABLE PARALLEL SAFE STRICT
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'min_distinct_users_wrapper';

-- The privacy floor (src/privacy.rs): llm_clusters.min_distinct_users. A run counts the
-- distinct users of each of its clusters and themes (llm_clusters.distinct_users); every
-- reading view, function and page compares that count with the setting when it is read and
-- shows a group below it as "Small cluster" ("Small theme") with its size and metrics but
-- no text drawn from its items: no title, description, keywords, previews or summaries.
-- The setting is for superusers only (PGC_SUSET): neither a reader nor a team admin can
-- lower it. What the floor does not cover: the raw tables a reader may read (events, the
-- item views, item_summaries, and the text columns of clusters and themes, which runs,
-- steering and AI labels write): a role meant to see only floored results must not be
-- granted llm_clusters_reader (see the README's security model).

CREATE TABLE llm_clusters.distinct_users (
    team_id   int     NOT NULL,
    run_id    bigint  NOT NULL,
    grouping  text    NOT NULL CHECK (grouping IN ('cluster', 'theme')),
    -- cluster_id (-1: Outliers) or theme_id.
    group_id  int     NOT NULL,
    users     int     NOT NULL CHECK (users >= 0),
    PRIMARY KEY (team_id, run_id, grouping, group_id),
    FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE
);
ALTER TABLE llm_clusters.distinct_users ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.distinct_users
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.distinct_users TO llm_clusters_reader;
-- UPDATE of users: steering counts a run's changed groups again (per column: no LOCK TABLE mode).
GRANT INSERT, UPDATE (users) ON llm_clusters.distinct_users TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.distinct_users IS
    'How many distinct users (events.distinct_id of the items'' traces) each cluster (grouping = cluster, group_id = cluster_id, -1 for Outliers) and theme (grouping = theme) of a run holds, counted by the run; compared with llm_clusters.min_distinct_users when results are read.';
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.distinct_users', '');

COMMENT ON FUNCTION llm_clusters._min_distinct_users() IS
    'Internal: the llm_clusters.min_distinct_users in force, read through the library (so that the setting is defined before a view compares with it).';

CREATE FUNCTION llm_clusters._below_floor(users int)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
-- A group without a count (a run from before 0.7.0) is below any floor that is on.
AS $$ SELECT llm_clusters._min_distinct_users() > 1 AND coalesce(users, 0) < llm_clusters._min_distinct_users() $$;
COMMENT ON FUNCTION llm_clusters._below_floor(int) IS
    'Internal: whether a group with this many distinct users (NULL: not counted) is below llm_clusters.min_distinct_users, so that its texts are hidden.';

CREATE FUNCTION llm_clusters._floored_cluster_title(cluster_id int, title text, users int)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN NOT llm_clusters._below_floor(users) THEN title
                WHEN cluster_id = -1 THEN 'Outliers' ELSE 'Small cluster' END
$$;
COMMENT ON FUNCTION llm_clusters._floored_cluster_title(int, text, int) IS
    'Internal: a cluster''s title as readers see it: Small cluster (Outliers for cluster -1) below the privacy floor.';

CREATE FUNCTION llm_clusters._floored_theme_title(title text, users int)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN llm_clusters._below_floor(users) THEN 'Small theme' ELSE title END $$;
COMMENT ON FUNCTION llm_clusters._floored_theme_title(text, int) IS
    'Internal: a theme''s title as readers see it: Small theme below the privacy floor.';

CREATE FUNCTION llm_clusters._floored_description(description text, users int)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN llm_clusters._below_floor(users)
                THEN format('Items of fewer than %s distinct users: their texts are not shown (llm_clusters.min_distinct_users).',
                            llm_clusters._min_distinct_users())
                ELSE description END
$$;
COMMENT ON FUNCTION llm_clusters._floored_description(text, int) IS
    'Internal: a cluster''s or theme''s description as readers see it: a note without its items'' text below the privacy floor.';

CREATE FUNCTION llm_clusters._floored_keywords(keywords text[], users int)
RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN llm_clusters._below_floor(users) THEN '{}'::text[] ELSE keywords END $$;
COMMENT ON FUNCTION llm_clusters._floored_keywords(text[], int) IS
    'Internal: a cluster''s or theme''s keywords as readers see them: none below the privacy floor.';

-- The lens a run clustered by, from its params (one rule, for item_labels and item_clusters).
CREATE FUNCTION llm_clusters._job_lens(params jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(params ->> 'lens', CASE WHEN params ->> 'embed' = 'summary' THEN 'summary' END, 'request')
$$;
COMMENT ON FUNCTION llm_clusters._job_lens(jsonb) IS
    'Internal: the lens of a job''s or run''s params: params.lens, else summary when params.embed = summary, else request.';

REVOKE EXECUTE ON FUNCTION
    llm_clusters._min_distinct_users(),
    llm_clusters._below_floor(int),
    llm_clusters._floored_cluster_title(int, text, int),
    llm_clusters._floored_theme_title(text, int),
    llm_clusters._floored_description(text, int),
    llm_clusters._floored_keywords(text[], int),
    llm_clusters._job_lens(jsonb)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters._min_distinct_users(),
    llm_clusters._below_floor(int),
    llm_clusters._floored_cluster_title(int, text, int),
    llm_clusters._floored_theme_title(text, int),
    llm_clusters._floored_description(text, int),
    llm_clusters._floored_keywords(text[], int),
    llm_clusters._job_lens(jsonb)
    TO llm_clusters_reader;

CREATE OR REPLACE VIEW llm_clusters.cluster_trends WITH (security_invoker = true) AS
WITH daily AS (
    SELECT DISTINCT ON (r.team_id, r.job_id, day) r.*, day
    FROM llm_clusters.runs r,
         LATERAL (SELECT (coalesce(r.cycle, r.window_end) AT TIME ZONE 'UTC')::date AS day) d
    WHERE r.status = 'succeeded' AND r.job_id IS NOT NULL
    ORDER BY r.team_id, r.job_id, day, r.id DESC
)
SELECT d.team_id,
       d.job_id,
       d.job_name,
       d.level,
       c.stable_id,
       first_value(llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users))
           OVER (PARTITION BY d.team_id, c.stable_id ORDER BY d.day DESC) AS latest_title,
       llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users) AS title,
       d.day,
       dense_rank() OVER (PARTITION BY d.team_id, d.job_id ORDER BY d.day DESC) - 1 AS runs_ago,
       d.id AS run_id,
       c.cluster_id,
       c.size,
       c.share,
       c.avg_cost_usd,
       c.avg_latency_s,
       c.avg_tokens,
       c.error_rate,
       c.total_cost_usd,
       c.p95_latency_s
FROM daily d
JOIN llm_clusters.clusters c ON c.team_id = d.team_id AND c.run_id = d.id
LEFT JOIN llm_clusters.distinct_users u
       ON u.team_id = c.team_id AND u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
WHERE c.stable_id IS NOT NULL;
COMMENT ON VIEW llm_clusters.cluster_trends IS
    'Per job, stable cluster and day (the last succeeded run of the day): size, share and metrics; runs_ago = 0 for the latest day; latest_title is the cluster''s newest title, for stable legends. Titles below llm_clusters.min_distinct_users read Small cluster.';

CREATE OR REPLACE VIEW llm_clusters.cluster_cards WITH (security_invoker = true) AS
SELECT c.team_id, c.run_id, r.job_id, r.level, c.cluster_id, c.stable_id,
       llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users) AS title,
       llm_clusters._floored_description(c.description, u.users) AS description,
       llm_clusters._floored_keywords(c.keywords, u.users) AS keywords,
       c.size, c.share, c.avg_cost_usd, c.avg_latency_s, c.avg_tokens, c.error_rate, c.total_cost_usd, c.p95_latency_s,
       c.cluster_id = -1 AS is_outliers,
       row_number() OVER (PARTITION BY c.team_id, c.run_id ORDER BY c.cluster_id = -1, c.size DESC, c.cluster_id) AS position,
       c.theme_id, llm_clusters._floored_theme_title(t.title, tu.users) AS theme_title,
       u.users AS distinct_users, llm_clusters._below_floor(u.users) AS below_floor
FROM llm_clusters.clusters c
JOIN llm_clusters.runs r ON r.team_id = c.team_id AND r.id = c.run_id
LEFT JOIN llm_clusters.distinct_users u
       ON u.team_id = c.team_id AND u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
LEFT JOIN llm_clusters.themes t ON t.team_id = c.team_id AND t.run_id = c.run_id AND t.theme_id = c.theme_id
LEFT JOIN llm_clusters.distinct_users tu
       ON tu.team_id = c.team_id AND tu.run_id = c.run_id AND tu.grouping = 'theme' AND tu.group_id = c.theme_id;

CREATE OR REPLACE VIEW llm_clusters.theme_cards WITH (security_invoker = true) AS
SELECT t.team_id, t.run_id, r.job_id, r.level, t.theme_id,
       llm_clusters._floored_theme_title(t.title, tu.users) AS title,
       llm_clusters._floored_description(t.description, tu.users) AS description,
       llm_clusters._floored_keywords(t.keywords, tu.users) AS keywords,
       t.size, t.share, t.avg_cost_usd, t.avg_latency_s, t.avg_tokens, t.error_rate, t.total_cost_usd, t.p95_latency_s,
       (SELECT count(*) FROM llm_clusters.clusters c
        WHERE c.team_id = t.team_id AND c.run_id = t.run_id AND c.theme_id = t.theme_id)::int AS n_clusters,
       (SELECT array_agg(llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users) ORDER BY c.size DESC, c.cluster_id)
        FROM llm_clusters.clusters c
        LEFT JOIN llm_clusters.distinct_users u
               ON u.team_id = c.team_id AND u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
        WHERE c.team_id = t.team_id AND c.run_id = t.run_id AND c.theme_id = t.theme_id) AS cluster_titles,
       row_number() OVER (PARTITION BY t.team_id, t.run_id ORDER BY t.size DESC, t.theme_id) AS position,
       tu.users AS distinct_users, llm_clusters._below_floor(tu.users) AS below_floor
FROM llm_clusters.themes t
JOIN llm_clusters.runs r ON r.team_id = t.team_id AND r.id = t.run_id
LEFT JOIN llm_clusters.distinct_users tu
       ON tu.team_id = t.team_id AND tu.run_id = t.run_id AND tu.grouping = 'theme' AND tu.group_id = t.theme_id;

CREATE OR REPLACE VIEW llm_clusters.scatter_points WITH (security_invoker = true) AS
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

CREATE OR REPLACE FUNCTION llm_clusters.cluster_items(run_id bigint, cluster_id int, max_items int DEFAULT 50, after_rank int DEFAULT -1)
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

DROP FUNCTION llm_clusters.item_clusters(text, int);
CREATE FUNCTION llm_clusters.item_clusters(item_id text, team_id int DEFAULT 1)
RETURNS TABLE (job_id int, job_name text, level text, lens text, run_id bigint, window_end timestamptz,
               cluster_id int, stable_id bigint, title text, distance float8, incremental boolean)
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT DISTINCT ON (r.job_id) r.job_id, r.job_name, r.level, llm_clusters._job_lens(r.params), r.id, r.window_end,
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
SELECT a.team_id, r.level, a.item_id, r.job_id, a.run_id, llm_clusters._job_lens(r.params) AS lens,
       a.cluster_id, c.stable_id, llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users) AS title,
       c.theme_id, llm_clusters._floored_theme_title(t.title, tu.users) AS theme_title
FROM (SELECT DISTINCT ON (lr.team_id, lr.job_id) lr.team_id, lr.id, lr.job_id, lr.level, lr.params
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

COMMENT ON VIEW llm_clusters.cluster_cards IS
    'Per cluster of a run: title, description, size, share and metrics, its theme (theme_id, theme_title; NULL for Outliers); position orders the cards by size with Outliers last. distinct_users: how many users its items come from; below llm_clusters.min_distinct_users (below_floor) the title is Small cluster and no text of its items is shown.';
COMMENT ON VIEW llm_clusters.theme_cards IS
    'Per theme of a run: title, description, size, share, metrics, how many clusters it groups and their titles (largest first); position orders the cards by size. distinct_users and below_floor as in cluster_cards (Small theme).';
COMMENT ON FUNCTION llm_clusters.cluster_items(bigint, int, int, int) IS
    'The items of one cluster of a run in rank order (0 = closest to the centre) with a 300-character preview and the item''s summary (summary_title, flow, bullets, notes; NULL until summarize_pending wrote one); page with after_rank = the last rank seen. Below llm_clusters.min_distinct_users, the items without preview or summary.';
COMMENT ON FUNCTION llm_clusters.item_clusters(text, int) IS
    'The clusters an item belongs to: for every job (and so every lens), its most recent succeeded run that assigned the item (by the run itself or by assign_pending, then incremental = true). Titles of clusters below llm_clusters.min_distinct_users read Small cluster.';
COMMENT ON VIEW llm_clusters.item_labels IS
    'A label per item: every item of the latest succeeded run of each job with its lens, cluster (cluster_id -1: Outliers), stable id, title, theme and theme title; filter by job_id and cluster_id or stable_id for the items of a cluster. Titles below llm_clusters.min_distinct_users read Small cluster (Small theme).';
GRANT SELECT ON llm_clusters.item_labels TO llm_clusters_reader;
REVOKE EXECUTE ON FUNCTION llm_clusters.item_clusters(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.item_clusters(text, int) TO llm_clusters_reader;


-- locks (security fix "table locks across teams"): PostgreSQL lets LOCK TABLE take any mode
-- with a table-level UPDATE, DELETE or TRUNCATE, so one team's admin could hold ACCESS
-- EXCLUSIVE on a shared table in an idle transaction and stall every team; create_job's own
-- SHARE ROW EXCLUSIVE lock on jobs stalled every team's job writes until its caller's
-- transaction ended. UPDATE is now granted per column, DELETE not at all (deletions.sql),
-- and the per-team job cap is kept by a row lock of the team's job_cap_locks row.
-- (REVOKE of a table-level privilege also revokes the column-level ones: then the grants.)
REVOKE UPDATE, DELETE ON llm_clusters.jobs, llm_clusters.runs FROM llm_clusters_admin;
REVOKE UPDATE ON llm_clusters.clusters, llm_clusters.themes, llm_clusters.item_summaries FROM llm_clusters_admin;
REVOKE DELETE ON llm_clusters.steering FROM llm_clusters_admin;
GRANT UPDATE (team_id, name, level, source, filters, enabled, params, owner) ON llm_clusters.jobs TO llm_clusters_admin;
GRANT UPDATE (finished_at, status, error, n_items, n_clusters, n_outliers, quality, timings) ON llm_clusters.runs TO llm_clusters_admin;
GRANT UPDATE (title, description, size, share, avg_cost_usd, avg_latency_s, avg_tokens, error_rate,
              total_cost_usd, p95_latency_s, stable_id, steering_id, steering) ON llm_clusters.clusters TO llm_clusters_admin;
GRANT UPDATE (size, share, avg_cost_usd, avg_latency_s, avg_tokens, error_rate, total_cost_usd, p95_latency_s)
    ON llm_clusters.themes TO llm_clusters_admin;
GRANT UPDATE (title, flow, bullets, notes, source, model, n_events, embedding, embedding_model, updated_at)
    ON llm_clusters.item_summaries TO llm_clusters_admin;

-- One row per team, locked FOR UPDATE by the jobs trigger before it counts the team's jobs:
-- two writers of one team cannot both pass llm_clusters.max_jobs_per_team, and no team
-- waits for another (a LOCK TABLE on jobs would make every team wait; an advisory lock
-- any role can take would let any role stall the inserts). Privileges per column only,
-- so no LOCK TABLE mode above ACCESS SHARE is granted on it.
CREATE TABLE llm_clusters.job_cap_locks (
    team_id int PRIMARY KEY
);
ALTER TABLE llm_clusters.job_cap_locks ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.job_cap_locks
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.job_cap_locks TO llm_clusters_reader;
-- UPDATE is what SELECT ... FOR UPDATE needs.
GRANT INSERT (team_id), UPDATE (team_id) ON llm_clusters.job_cap_locks TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.job_cap_locks IS
    'Internal: one row per team with jobs, locked while a job of the team is created so that llm_clusters.max_jobs_per_team holds; no team waits for another.';
-- Dumped without rows: restoring jobs makes them again (the jobs trigger), and rows restored
-- after that would collide with them.
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.job_cap_locks', 'WHERE false');

-- The jobs trigger takes the team's job_cap_locks row: its new body is in the lenses section
-- below (CREATE OR REPLACE FUNCTION llm_clusters._jobs_check), which has this section's too.

CREATE OR REPLACE FUNCTION llm_clusters.create_job(
    name text,
    level text DEFAULT 'trace',
    filters jsonb DEFAULT '[]',
    enabled boolean DEFAULT true,
    team_id int DEFAULT 1,
    source regclass DEFAULT NULL,
    params jsonb DEFAULT '{}'
) RETURNS int
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO llm_clusters.jobs (team_id, name, level, source, filters, enabled, params)
    VALUES (create_job.team_id, create_job.name, create_job.level, create_job.source,
            coalesce(create_job.filters, '[]'), create_job.enabled, coalesce(create_job.params, '{}'))
    RETURNING id
$$;

CREATE OR REPLACE FUNCTION llm_clusters.unpin_topic(job_id int, topic_id int) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    team int := llm_clusters._steered_job(job_id);
BEGIN
    UPDATE llm_clusters.steering s SET delete_requested = true
    WHERE s.team_id = team AND s.job_id = unpin_topic.job_id AND s.id = topic_id AND s.kind = 'pin';
    RETURN FOUND;
END $$;

ALTER TABLE llm_clusters.jobs ADD COLUMN delete_requested boolean NOT NULL DEFAULT false;
ALTER TABLE llm_clusters.steering ADD COLUMN delete_requested boolean NOT NULL DEFAULT false;
ALTER TABLE llm_clusters.clusters ADD COLUMN delete_requested boolean NOT NULL DEFAULT false;
ALTER TABLE llm_clusters.themes ADD COLUMN delete_requested boolean NOT NULL DEFAULT false;
ALTER TABLE llm_clusters.cluster_lineage ADD COLUMN delete_requested boolean NOT NULL DEFAULT false;
ALTER TABLE llm_clusters.incremental_assignments ADD COLUMN delete_requested boolean NOT NULL DEFAULT false;
GRANT UPDATE (delete_requested) ON llm_clusters.jobs, llm_clusters.steering, llm_clusters.clusters, llm_clusters.themes,
    llm_clusters.cluster_lineage, llm_clusters.incremental_assignments TO llm_clusters_admin;
COMMENT ON COLUMN llm_clusters.jobs.delete_requested IS
    'Setting it to true deletes the job (what llm_clusters.delete_job does); never seen true.';
COMMENT ON COLUMN llm_clusters.steering.delete_requested IS
    'Setting it to true deletes the steer (what undo_steering and unpin_topic do); never seen true.';

COMMENT ON COLUMN llm_clusters.clusters.delete_requested IS
    'Setting it to true deletes the cluster row (what merge_clusters, split_cluster and undo_steering do to the run they change); never seen true.';
COMMENT ON COLUMN llm_clusters.themes.delete_requested IS
    'Setting it to true deletes the theme row (steering regroups a run''s themes); never seen true.';
COMMENT ON COLUMN llm_clusters.cluster_lineage.delete_requested IS
    'Setting it to true deletes the lineage row (undo_steering puts a run''s lineage back); never seen true.';
COMMENT ON COLUMN llm_clusters.incremental_assignments.delete_requested IS
    'Setting it to true deletes the assignment (items assign_pending placed in clusters a steer changed are placed again); never seen true.';

-- A trigger function cannot be called by itself: its only input is the row the invoker's
-- UPDATE changed, which row-level security let it see (USING) and keep (WITH CHECK), so the
-- team is one of the invoker's. No argument is trusted.
CREATE FUNCTION llm_clusters._delete_requested() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'jobs' THEN
        DELETE FROM llm_clusters.jobs j WHERE j.team_id = NEW.team_id AND j.id = NEW.id;
    ELSIF TG_TABLE_NAME = 'steering' THEN
        DELETE FROM llm_clusters.steering s WHERE s.team_id = NEW.team_id AND s.id = NEW.id;
    ELSIF TG_TABLE_NAME = 'clusters' THEN
        DELETE FROM llm_clusters.clusters c WHERE c.team_id = NEW.team_id AND c.run_id = NEW.run_id AND c.cluster_id = NEW.cluster_id;
    ELSIF TG_TABLE_NAME = 'themes' THEN
        DELETE FROM llm_clusters.themes t WHERE t.team_id = NEW.team_id AND t.run_id = NEW.run_id AND t.theme_id = NEW.theme_id;
    ELSIF TG_TABLE_NAME = 'cluster_lineage' THEN
        DELETE FROM llm_clusters.cluster_lineage l WHERE l.team_id = NEW.team_id AND l.run_id = NEW.run_id AND l.stable_id = NEW.stable_id;
    ELSIF TG_TABLE_NAME = 'incremental_assignments' THEN
        DELETE FROM llm_clusters.incremental_assignments i WHERE i.team_id = NEW.team_id AND i.run_id = NEW.run_id AND i.item_id = NEW.item_id;
    ELSE
        RAISE EXCEPTION 'llm_clusters._delete_requested() deletes no rows of %', TG_TABLE_NAME
            USING ERRCODE = 'feature_not_supported';
    END IF;
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION llm_clusters._delete_requested() FROM PUBLIC;
COMMENT ON FUNCTION llm_clusters._delete_requested() IS
    'Internal: deletes the row whose delete_requested an UPDATE set (jobs, steering, clusters, themes, cluster_lineage, incremental_assignments), as the extension''s owner.';

CREATE TRIGGER jobs_delete_requested AFTER UPDATE OF delete_requested ON llm_clusters.jobs
    FOR EACH ROW WHEN (NEW.delete_requested) EXECUTE FUNCTION llm_clusters._delete_requested();
CREATE TRIGGER steering_delete_requested AFTER UPDATE OF delete_requested ON llm_clusters.steering
    FOR EACH ROW WHEN (NEW.delete_requested) EXECUTE FUNCTION llm_clusters._delete_requested();

CREATE TRIGGER clusters_delete_requested AFTER UPDATE OF delete_requested ON llm_clusters.clusters
    FOR EACH ROW WHEN (NEW.delete_requested) EXECUTE FUNCTION llm_clusters._delete_requested();
CREATE TRIGGER themes_delete_requested AFTER UPDATE OF delete_requested ON llm_clusters.themes
    FOR EACH ROW WHEN (NEW.delete_requested) EXECUTE FUNCTION llm_clusters._delete_requested();
CREATE TRIGGER cluster_lineage_delete_requested AFTER UPDATE OF delete_requested ON llm_clusters.cluster_lineage
    FOR EACH ROW WHEN (NEW.delete_requested) EXECUTE FUNCTION llm_clusters._delete_requested();
CREATE TRIGGER incremental_assignments_delete_requested AFTER UPDATE OF delete_requested ON llm_clusters.incremental_assignments
    FOR EACH ROW WHEN (NEW.delete_requested) EXECUTE FUNCTION llm_clusters._delete_requested();

CREATE FUNCTION llm_clusters.delete_job(job_id int) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE llm_clusters.jobs j SET delete_requested = true WHERE j.id = delete_job.job_id;
    RETURN FOUND;
END $$;
REVOKE EXECUTE ON FUNCTION llm_clusters.delete_job(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.delete_job(int) TO llm_clusters_admin;
COMMENT ON FUNCTION llm_clusters.delete_job(int) IS
    'Deletes a job of one of your teams with its steering (its runs stay, with job_id NULL); true if it existed, false for no such job of your teams. Waits for a run of the job in progress.';

-- Steering counts a run's distinct users again (src/privacy.rs) after undo_steering.
CREATE FUNCTION llm_clusters."_count_distinct_users"(
	"team_id" INT,
	"run_id" bigint
) RETURNS void
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'count_distinct_users_wrapper';
REVOKE EXECUTE ON FUNCTION llm_clusters._count_distinct_users(int, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters._count_distinct_users(int, bigint) TO llm_clusters_admin;
COMMENT ON FUNCTION llm_clusters._count_distinct_users(int, bigint) IS 'Internal: counts the distinct users of a run''s clusters and themes again (after undo_steering put them back).';

-- A merge or split of a run gives the clusters it makes a centroid, radius, map point and
-- keywords (src/steering.rs), as the caller: those columns join the per-column UPDATE grant.
GRANT UPDATE (centroid, radius, x, y, keywords) ON llm_clusters.clusters TO llm_clusters_admin;

-- Lenses and the evaluation level (issue 30, items 1-2; sql/capture.sql, embed.sql,
-- items.sql, jobs.sql, jobs_api.sql, evaluations.sql). Last, after deletions' columns, as
-- sql/evaluations.sql runs last in a fresh install: the same column order in both.

-- $ai_evaluation events are captured like every $ai_* event.
ALTER TABLE llm_clusters.events DROP CONSTRAINT events_event_check,
    ADD CONSTRAINT events_event_check CHECK (event IN ('$ai_generation', '$ai_span', '$ai_trace', '$ai_embedding', '$ai_evaluation'));
COMMENT ON COLUMN llm_clusters.events.content IS
    'Readable text of the call: user and assistant messages of input and output, system prompts left out, at most 8,000 characters; of an $ai_evaluation, its evaluator, verdict and reasoning ("helpfulness: fail. …").';

-- Embeddings per lens: the rows made so far are the request lens's.
ALTER TABLE llm_clusters.embeddings DROP CONSTRAINT embeddings_level_check,
    ADD CONSTRAINT embeddings_level_check CHECK (level IN ('trace', 'generation', 'evaluation')),
    ADD COLUMN lens text NOT NULL DEFAULT 'request' CHECK (lens IN ('request', 'answer', 'error', 'flow')),
    ADD COLUMN content text,
    DROP CONSTRAINT embeddings_pkey,
    ADD PRIMARY KEY (team_id, level, lens, item_id);
COMMENT ON TABLE llm_clusters.embeddings IS
    'One embedding per item, level and lens: item_id is the event uuid (levels generation and evaluation) or the trace id (level trace).';
COMMENT ON COLUMN llm_clusters.embeddings.lens IS
    'What the item was embedded from: request (what the user asked; an evaluation: its evaluator, verdict and reasoning), answer (the model''s outputs), error (failing steps and their messages), flow (steps, tools and models in order).';
COMMENT ON COLUMN llm_clusters.embeddings.content IS
    'For the answer, error and flow lenses: the first 2,000 characters of the text embedded (the previews and offline titles of their jobs); NULL for request.';

ALTER TABLE llm_clusters.jobs DROP CONSTRAINT jobs_level_check,
    ADD CONSTRAINT jobs_level_check CHECK (level IN ('trace', 'generation', 'evaluation'));
COMMENT ON COLUMN llm_clusters.jobs.params IS
    'Optional: window (interval text, default 7 days), max_items, min_items (default 20), seed, method (graph | kmeans | hdbscan), lens (request | answer | error | flow | summary) and algorithm knobs; see the README.';

-- A run records its lens; the runs made so far with params.embed = "summary" had the summary lens.
ALTER TABLE llm_clusters.runs
    ADD COLUMN lens text NOT NULL DEFAULT 'request' CHECK (lens IN ('request', 'answer', 'error', 'flow', 'summary'));
UPDATE llm_clusters.runs SET lens = 'summary' WHERE params->>'embed' = 'summary';
GRANT INSERT (lens) ON llm_clusters.runs TO llm_clusters_admin;
-- cluster_trends reads r.*: made again, so that its runs have the lens as in a fresh install.
CREATE OR REPLACE VIEW llm_clusters.cluster_trends WITH (security_invoker = true) AS
WITH daily AS (
    SELECT DISTINCT ON (r.team_id, r.job_id, day) r.*, day
    FROM llm_clusters.runs r,
         LATERAL (SELECT (coalesce(r.cycle, r.window_end) AT TIME ZONE 'UTC')::date AS day) d
    WHERE r.status = 'succeeded' AND r.job_id IS NOT NULL
    ORDER BY r.team_id, r.job_id, day, r.id DESC
)
SELECT d.team_id,
       d.job_id,
       d.job_name,
       d.level,
       c.stable_id,
       first_value(llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users))
           OVER (PARTITION BY d.team_id, c.stable_id ORDER BY d.day DESC) AS latest_title,
       llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users) AS title,
       d.day,
       dense_rank() OVER (PARTITION BY d.team_id, d.job_id ORDER BY d.day DESC) - 1 AS runs_ago,
       d.id AS run_id,
       c.cluster_id,
       c.size,
       c.share,
       c.avg_cost_usd,
       c.avg_latency_s,
       c.avg_tokens,
       c.error_rate,
       c.total_cost_usd,
       c.p95_latency_s
FROM daily d
JOIN llm_clusters.clusters c ON c.team_id = d.team_id AND c.run_id = d.id
LEFT JOIN llm_clusters.distinct_users u
       ON u.team_id = c.team_id AND u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
WHERE c.stable_id IS NOT NULL;

-- item_labels and item_clusters read a run's lens from runs.lens (privacy's _job_lens rule
-- read it from the params until runs recorded it).
CREATE OR REPLACE FUNCTION llm_clusters.item_clusters(item_id text, team_id int DEFAULT 1)
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

CREATE OR REPLACE VIEW llm_clusters.item_labels WITH (security_invoker = true) AS
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
DROP FUNCTION llm_clusters._job_lens(jsonb);
COMMENT ON COLUMN llm_clusters.runs.lens IS
    'The lens the run clustered its items through (params.lens, or summary for params.embed = "summary"): request, answer, error, flow or summary.';

-- The item views: request-lens embeddings only; traces without their evaluations; the
-- evaluation items and the lenses' items.
CREATE OR REPLACE VIEW llm_clusters.generation_items WITH (security_invoker = true) AS
SELECT e.team_id,
       e.uuid::text                       AS item_id,
       e.trace_id,
       e."timestamp"                      AS ts,
       emb.embedding,
       e.content,
       e.total_cost_usd                   AS cost_usd,
       e.latency_s,
       CASE WHEN e.input_tokens IS NOT NULL OR e.output_tokens IS NOT NULL
            THEN coalesce(e.input_tokens, 0) + coalesce(e.output_tokens, 0) END AS tokens,
       coalesce(e.is_error, false)        AS is_error,
       e.properties
FROM llm_clusters.events e
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = e.team_id AND emb.level = 'generation' AND emb.lens = 'request' AND emb.item_id = e.uuid::text
WHERE e.event = '$ai_generation';

CREATE OR REPLACE VIEW llm_clusters.trace_items WITH (security_invoker = true) AS
SELECT t.team_id,
       t.trace_id                                  AS item_id,
       t.trace_id,
       t.ts,
       coalesce(own.embedding, t.mean_embedding)   AS embedding,
       t.content,
       t.cost_usd,
       t.latency_s,
       t.tokens,
       t.is_error,
       (SELECT p.properties FROM llm_clusters.events p
         WHERE p.team_id = t.team_id AND p.trace_id = t.trace_id AND p.event <> '$ai_evaluation'
         ORDER BY p.event <> '$ai_trace', p."timestamp" LIMIT 1) AS properties
FROM (
    SELECT e.team_id,
           e.trace_id,
           min(e."timestamp") AS ts,
           sum(e.total_cost_usd) FILTER (WHERE e.event IN ('$ai_generation', '$ai_embedding')) AS cost_usd,
           sum(e.latency_s) FILTER (WHERE e.event = '$ai_generation') AS latency_s,
           sum(coalesce(e.input_tokens, 0) + coalesce(e.output_tokens, 0))
               FILTER (WHERE e.event IN ('$ai_generation', '$ai_embedding')
                         AND (e.input_tokens IS NOT NULL OR e.output_tokens IS NOT NULL))::bigint AS tokens,
           bool_or(coalesce(e.is_error, false)) AS is_error,
           left(string_agg(e.content, E'\n' ORDER BY e."timestamp")
                    FILTER (WHERE e.event = '$ai_generation'), 8000) AS content,
           llm_clusters.embedding_mean(g.embedding) AS mean_embedding
    FROM llm_clusters.events e
    LEFT JOIN llm_clusters.embeddings g
           ON e.event = '$ai_generation' AND g.team_id = e.team_id
          AND g.level = 'generation' AND g.lens = 'request' AND g.item_id = e.uuid::text
    -- Evaluations judge a trace after the fact; they are items of their own level.
    WHERE e.event <> '$ai_evaluation'
    GROUP BY e.team_id, e.trace_id
) t
LEFT JOIN llm_clusters.embeddings own
       ON own.team_id = t.team_id AND own.level = 'trace' AND own.lens = 'request' AND own.item_id = t.trace_id;

-- Items at level evaluation: one per $ai_evaluation event; the metrics are those of the
-- event it evaluated ($ai_target_event_id, when it is a stored event's uuid).
CREATE VIEW llm_clusters.evaluation_items WITH (security_invoker = true) AS
SELECT e.team_id,
       e.uuid::text                       AS item_id,
       e.trace_id,
       e."timestamp"                      AS ts,
       emb.embedding,
       e.content,
       g.total_cost_usd                   AS cost_usd,
       g.latency_s,
       CASE WHEN g.input_tokens IS NOT NULL OR g.output_tokens IS NOT NULL
            THEN coalesce(g.input_tokens, 0) + coalesce(g.output_tokens, 0) END AS tokens,
       coalesce(g.is_error, false)        AS is_error,
       e.properties
FROM llm_clusters.events e
LEFT JOIN llm_clusters.events g
       ON g.team_id = e.team_id AND g.event <> '$ai_evaluation'
      AND g.uuid = CASE WHEN e.properties->>'$ai_target_event_id' ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                        THEN (e.properties->>'$ai_target_event_id')::uuid END
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = e.team_id AND emb.level = 'evaluation' AND emb.lens = 'request' AND emb.item_id = e.uuid::text
WHERE e.event = '$ai_evaluation';

-- The lenses' items (params.lens answer, error, flow): the item views with the lens's
-- embedding and text (embed_pending(level, lens => ...)); the error lens's only items with an error.
CREATE VIEW llm_clusters.generation_answer_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.generation_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'generation' AND emb.lens = 'answer' AND emb.item_id = i.item_id;

CREATE VIEW llm_clusters.trace_answer_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.trace_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'trace' AND emb.lens = 'answer' AND emb.item_id = i.item_id;

CREATE VIEW llm_clusters.generation_error_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.generation_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'generation' AND emb.lens = 'error' AND emb.item_id = i.item_id
WHERE i.is_error;

CREATE VIEW llm_clusters.trace_error_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.trace_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'trace' AND emb.lens = 'error' AND emb.item_id = i.item_id
WHERE i.is_error;

CREATE VIEW llm_clusters.generation_flow_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.generation_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'generation' AND emb.lens = 'flow' AND emb.item_id = i.item_id;

CREATE VIEW llm_clusters.trace_flow_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.trace_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'trace' AND emb.lens = 'flow' AND emb.item_id = i.item_id;

COMMENT ON VIEW llm_clusters.trace_items IS
    'Items at level trace: one per trace id ($ai_evaluation events left out). ts = first event; cost and tokens summed over generations and embedding events, latency over generations; is_error if any event erred; embedding = the trace''s own, else the normalised mean of its generations''; content = its generations'' text in time order (8,000 characters); properties = those of the $ai_trace event, else of the first event.';
COMMENT ON VIEW llm_clusters.evaluation_items IS
    'Items at level evaluation: one per $ai_evaluation event (item_id = event uuid); content = evaluator, verdict and reasoning; cost_usd, latency_s, tokens and is_error are those of the evaluated event ($ai_target_event_id), NULL (is_error false) when it is not stored.';
GRANT SELECT ON llm_clusters.evaluation_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.generation_answer_items IS
    'generation_items embedded through the answer lens: embedding and content are the model''s outputs (params.lens = "answer"); the source of generation jobs with that lens.';
GRANT SELECT ON llm_clusters.generation_answer_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.generation_error_items IS
    'generation_items embedded through the error lens: embedding and content are the failing steps and their messages, only items with an error (params.lens = "error"); the source of generation jobs with that lens.';
GRANT SELECT ON llm_clusters.generation_error_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.generation_flow_items IS
    'generation_items embedded through the flow lens: embedding and content are the steps, tools and models in order (params.lens = "flow"); the source of generation jobs with that lens.';
GRANT SELECT ON llm_clusters.generation_flow_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.trace_answer_items IS
    'trace_items embedded through the answer lens: embedding and content are the model''s outputs (params.lens = "answer"); the source of trace jobs with that lens.';
GRANT SELECT ON llm_clusters.trace_answer_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.trace_error_items IS
    'trace_items embedded through the error lens: embedding and content are the failing steps and their messages, only items with an error (params.lens = "error"); the source of trace jobs with that lens.';
GRANT SELECT ON llm_clusters.trace_error_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.trace_flow_items IS
    'trace_items embedded through the flow lens: embedding and content are the steps, tools and models in order (params.lens = "flow"); the source of trace jobs with that lens.';
GRANT SELECT ON llm_clusters.trace_flow_items TO llm_clusters_reader;

-- embed_pending takes a lens (its two-argument calls stay valid through the default).
DROP FUNCTION llm_clusters.embed_pending(text, int);
DROP FUNCTION llm_clusters._embed_pending(text, int);
CREATE FUNCTION llm_clusters."_embed_pending"(
	"level" TEXT,
	"max_items" INT,
	"lens" TEXT
) RETURNS bigint
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'embed_pending_through_wrapper';
CREATE FUNCTION llm_clusters.embed_pending(level text DEFAULT 'generation', max_items int DEFAULT 10000,
                                           lens text DEFAULT 'request')
RETURNS bigint
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._embed_pending(level, max_items, lens) $$;

COMMENT ON FUNCTION llm_clusters.embed_pending(text, int, text) IS
    'Embeds up to max_items items of the level (newest first) that have no embedding of the lens, into llm_clusters.embeddings, with llm_clusters.embedder (embeddings.model records which). Lens request: a generation from its user messages (latest first), a trace from its distinct user messages in order, the content when there are none; an evaluation from its evaluator, verdict and reasoning. Lens answer: the model''s outputs; error: the failing steps with their messages (only items with an error); flow: the steps, tools and models in order. Works in batches of 256: a cancel or statement_timeout keeps the batches done (WARNING). Returns how many usable embeddings it stored.';
COMMENT ON FUNCTION llm_clusters._embed_pending(text, int, text) IS 'Internal: use llm_clusters.embed_pending().';
REVOKE EXECUTE ON FUNCTION llm_clusters.embed_pending(text, int, text), llm_clusters._embed_pending(text, int, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.embed_pending(text, int, text), llm_clusters._embed_pending(text, int, text) TO llm_clusters_admin;

-- Job validation knows the level (a lens must suit it); the default source follows the lens.
DROP FUNCTION llm_clusters._validate_job(oid, jsonb, jsonb);
CREATE FUNCTION llm_clusters."_validate_job"(
	"source" oid,
	"filters" jsonb,
	"params" jsonb,
	"level" TEXT
) RETURNS bool
STRICT VOLATILE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'validate_job_of_level_wrapper';
COMMENT ON FUNCTION llm_clusters._validate_job(oid, jsonb, jsonb, text) IS 'Internal: checks a job''s source columns, filters and params, and that its lens suits its level.';
REVOKE EXECUTE ON FUNCTION llm_clusters._validate_job(oid, jsonb, jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters._validate_job(oid, jsonb, jsonb, text) TO llm_clusters_admin;
CREATE OR REPLACE FUNCTION llm_clusters._jobs_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- The lens the default source follows (params.embed = "summary" is the summary lens);
    -- _validate_job checks it.
    lens text := CASE WHEN NEW.params->>'embed' = 'summary' THEN 'summary' ELSE coalesce(NEW.params->>'lens', 'request') END;
BEGIN
    IF TG_OP = 'INSERT' OR NEW.team_id IS DISTINCT FROM OLD.team_id THEN
        -- Writers of the team's jobs take turns here (the team's row of job_cap_locks, held
        -- to the end of the transaction), so that two cannot both pass the count below.
        BEGIN
            INSERT INTO llm_clusters.job_cap_locks (team_id) VALUES (NEW.team_id) ON CONFLICT DO NOTHING;
            PERFORM FROM llm_clusters.job_cap_locks l WHERE l.team_id = NEW.team_id FOR UPDATE;
        EXCEPTION WHEN insufficient_privilege THEN
            -- Not a team of the writer: the jobs policy refuses the row after this trigger.
            NULL;
        END;
        IF (SELECT count(*) FROM llm_clusters.jobs WHERE team_id = NEW.team_id)
           >= llm_clusters._max_jobs_per_team() THEN
            RAISE EXCEPTION 'team % already has % jobs, the most llm_clusters.max_jobs_per_team allows',
                NEW.team_id, llm_clusters._max_jobs_per_team()
                USING ERRCODE = 'program_limit_exceeded',
                      HINT = 'Delete a job (llm_clusters.delete_job) or reuse one, or raise llm_clusters.max_jobs_per_team.';
        END IF;
    END IF;
    -- The owner: the creator unless named, and only a role the writer is a member of.
    IF TG_OP = 'INSERT' THEN
        NEW.owner := coalesce(NEW.owner, pg_catalog.to_regrole(pg_catalog.quote_ident(current_user)));
    END IF;
    IF (TG_OP = 'INSERT' OR NEW.owner IS DISTINCT FROM OLD.owner)
       AND NOT pg_catalog.pg_has_role(current_user, NEW.owner, 'MEMBER') THEN
        RAISE EXCEPTION 'role "%" may not make role "%" the owner of a job', current_user, NEW.owner
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A job''s owner must be a role you are a member of.';
    END IF;
    -- What a run reads and does is the owner's to choose: changing it on a job of another
    -- owner would run the writer's choice (a view of its own) with that owner's rights.
    IF TG_OP = 'UPDATE'
       AND (NEW.source, NEW.filters, NEW.params, NEW.level, NEW.team_id)
           IS DISTINCT FROM (OLD.source, OLD.filters, OLD.params, OLD.level, OLD.team_id)
       AND NOT pg_catalog.pg_has_role(current_user, NEW.owner, 'MEMBER') THEN
        RAISE EXCEPTION 'role "%" may not change what job "%" reads: its owner is role "%"', current_user, NEW.name, NEW.owner
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Make the job yours first (SET owner = current_user), or ask its owner.';
    END IF;
    -- The default source follows the level and the lens (params.lens, params.embed).
    IF NEW.source IS NULL OR NEW.source IN (
           'llm_clusters.trace_items'::regclass, 'llm_clusters.generation_items'::regclass,
           'llm_clusters.trace_summary_items'::regclass, 'llm_clusters.generation_summary_items'::regclass,
           'llm_clusters.trace_answer_items'::regclass, 'llm_clusters.generation_answer_items'::regclass,
           'llm_clusters.trace_error_items'::regclass, 'llm_clusters.generation_error_items'::regclass,
           'llm_clusters.trace_flow_items'::regclass, 'llm_clusters.generation_flow_items'::regclass,
           'llm_clusters.evaluation_items'::regclass) THEN
        NEW.source := CASE WHEN NEW.level = 'evaluation' THEN 'llm_clusters.evaluation_items'::regclass
                           WHEN NEW.level = 'trace' THEN
                               CASE lens WHEN 'summary' THEN 'llm_clusters.trace_summary_items'::regclass
                                         WHEN 'answer' THEN 'llm_clusters.trace_answer_items'::regclass
                                         WHEN 'error' THEN 'llm_clusters.trace_error_items'::regclass
                                         WHEN 'flow' THEN 'llm_clusters.trace_flow_items'::regclass
                                         ELSE 'llm_clusters.trace_items'::regclass END
                           ELSE
                               CASE lens WHEN 'summary' THEN 'llm_clusters.generation_summary_items'::regclass
                                         WHEN 'answer' THEN 'llm_clusters.generation_answer_items'::regclass
                                         WHEN 'error' THEN 'llm_clusters.generation_error_items'::regclass
                                         WHEN 'flow' THEN 'llm_clusters.generation_flow_items'::regclass
                                         ELSE 'llm_clusters.generation_items'::regclass END END;
    ELSIF NEW.params->>'embed' = 'summary' THEN
        RAISE EXCEPTION 'params.embed = "summary" chooses the default source; job "%" reads its own source %', NEW.name, NEW.source
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Leave source out, or give your source an embedding column of the summaries.';
    ELSIF lens <> 'request' THEN
        RAISE EXCEPTION 'params.lens "%" chooses the default source; job "%" reads its own source %', lens, NEW.name, NEW.source
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Leave source out, or leave params.lens (and params.embed) out and give your source the embeddings you want clustered.';
    END IF;
    -- Only what changed is checked: a job whose source was dropped can still be disabled.
    IF TG_OP = 'INSERT' OR (NEW.source, NEW.filters, NEW.params, NEW.level) IS DISTINCT FROM (OLD.source, OLD.filters, OLD.params, OLD.level) THEN
        PERFORM llm_clusters._validate_job(NEW.source, NEW.filters, NEW.params, NEW.level);
    END IF;
    -- Runs read the source as the owner: the owner must be allowed to read it.
    IF (TG_OP = 'INSERT' OR (NEW.source, NEW.owner) IS DISTINCT FROM (OLD.source, OLD.owner))
       AND NOT llm_clusters._owner_may_read(NEW.owner, NEW.source) THEN
        RAISE EXCEPTION 'role "%", the owner of job "%", may not read its source %', NEW.owner, NEW.name, NEW.source
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Grant SELECT on the relation (and USAGE on its schema) to the owner, or choose another owner.';
    END IF;
    -- An INSERT keeps the times it is given, so that a restored dump keeps its rows as they were.
    NEW.enabled_at := CASE WHEN NOT NEW.enabled THEN NULL
                           WHEN TG_OP = 'UPDATE' AND OLD.enabled THEN OLD.enabled_at
                           WHEN TG_OP = 'INSERT' THEN coalesce(NEW.enabled_at, now())
                           ELSE now() END;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$;


-- Evaluation runs' pass rate, N/A rate and main evaluator (sql/evaluations.sql as it is).
CREATE FUNCTION llm_clusters."_evaluation_verdict"(
	"result" jsonb,
	"applicable" jsonb
) RETURNS TEXT
IMMUTABLE PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'evaluation_verdict_wrapper';
ALTER TABLE llm_clusters.clusters
    ADD COLUMN pass_rate      float8,
    ADD COLUMN na_rate        float8,
    ADD COLUMN main_evaluator text;
ALTER TABLE llm_clusters.themes
    ADD COLUMN pass_rate      float8,
    ADD COLUMN na_rate        float8,
    ADD COLUMN main_evaluator text;
-- Per column, as the other metrics: src/results.rs writes them after inserting the rows.
GRANT UPDATE (pass_rate, na_rate, main_evaluator) ON llm_clusters.clusters, llm_clusters.themes TO llm_clusters_admin;

COMMENT ON COLUMN llm_clusters.clusters.pass_rate IS
    'Evaluation runs: the share of passes among the cluster''s applicable verdicts ($ai_evaluation_result true, of true or false; NULL when none applied); NULL at other levels.';
COMMENT ON COLUMN llm_clusters.clusters.na_rate IS
    'Evaluation runs: the share of the cluster''s items whose $ai_evaluation_applicable is false (N/A); NULL at other levels.';
COMMENT ON COLUMN llm_clusters.clusters.main_evaluator IS
    'Evaluation runs: the $ai_evaluation_name most of the cluster''s items have (200 characters); NULL at other levels.';
COMMENT ON COLUMN llm_clusters.themes.pass_rate IS
    'Evaluation runs: the share of passes among the theme''s applicable verdicts; NULL at other levels.';
COMMENT ON COLUMN llm_clusters.themes.na_rate IS
    'Evaluation runs: the share of the theme''s items that were not applicable (N/A); NULL at other levels.';
COMMENT ON COLUMN llm_clusters.themes.main_evaluator IS
    'Evaluation runs: the $ai_evaluation_name most of the theme''s items have; NULL at other levels.';

COMMENT ON FUNCTION llm_clusters._evaluation_verdict(jsonb, jsonb) IS
    'Internal: pass, fail, n/a or unknown from an $ai_evaluation''s $ai_evaluation_result and $ai_evaluation_applicable (what the pass and N/A rates count).';
-- Runs read their source as the job's owner (a reader at least), who calls it there.
REVOKE EXECUTE ON FUNCTION llm_clusters._evaluation_verdict(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters._evaluation_verdict(jsonb, jsonb) TO llm_clusters_reader;

-- The views that show them (and the runs' lens).
CREATE OR REPLACE VIEW llm_clusters.run_list WITH (security_invoker = true) AS
SELECT r.id AS run_id, r.team_id, r.job_id, r.job_name, r.level, r.window_start, r.window_end, r.cycle,
       r.status, r.error, r.n_items, r.n_clusters, r.n_outliers, r.started_at, r.finished_at,
       extract(epoch FROM r.finished_at - r.started_at)::float8 AS duration_s, r.lens
FROM llm_clusters.runs r;

CREATE OR REPLACE VIEW llm_clusters.latest_runs WITH (security_invoker = true) AS
SELECT DISTINCT ON (l.team_id, l.job_id) l.*
FROM llm_clusters.run_list l
WHERE l.status = 'succeeded' AND l.job_id IS NOT NULL
ORDER BY l.team_id, l.job_id, l.window_end DESC, l.run_id DESC;

CREATE OR REPLACE VIEW llm_clusters.cluster_cards WITH (security_invoker = true) AS
SELECT c.team_id, c.run_id, r.job_id, r.level, c.cluster_id, c.stable_id,
       llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users) AS title,
       llm_clusters._floored_description(c.description, u.users) AS description,
       llm_clusters._floored_keywords(c.keywords, u.users) AS keywords,
       c.size, c.share, c.avg_cost_usd, c.avg_latency_s, c.avg_tokens, c.error_rate, c.total_cost_usd, c.p95_latency_s,
       c.cluster_id = -1 AS is_outliers,
       row_number() OVER (PARTITION BY c.team_id, c.run_id ORDER BY c.cluster_id = -1, c.size DESC, c.cluster_id) AS position,
       c.theme_id, llm_clusters._floored_theme_title(t.title, tu.users) AS theme_title,
       u.users AS distinct_users, llm_clusters._below_floor(u.users) AS below_floor,
       c.pass_rate, c.na_rate, c.main_evaluator
FROM llm_clusters.clusters c
JOIN llm_clusters.runs r ON r.team_id = c.team_id AND r.id = c.run_id
LEFT JOIN llm_clusters.distinct_users u
       ON u.team_id = c.team_id AND u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
LEFT JOIN llm_clusters.themes t ON t.team_id = c.team_id AND t.run_id = c.run_id AND t.theme_id = c.theme_id
LEFT JOIN llm_clusters.distinct_users tu
       ON tu.team_id = c.team_id AND tu.run_id = c.run_id AND tu.grouping = 'theme' AND tu.group_id = c.theme_id;

CREATE OR REPLACE VIEW llm_clusters.theme_cards WITH (security_invoker = true) AS
SELECT t.team_id, t.run_id, r.job_id, r.level, t.theme_id,
       llm_clusters._floored_theme_title(t.title, tu.users) AS title,
       llm_clusters._floored_description(t.description, tu.users) AS description,
       llm_clusters._floored_keywords(t.keywords, tu.users) AS keywords,
       t.size, t.share, t.avg_cost_usd, t.avg_latency_s, t.avg_tokens, t.error_rate, t.total_cost_usd, t.p95_latency_s,
       (SELECT count(*) FROM llm_clusters.clusters c
        WHERE c.team_id = t.team_id AND c.run_id = t.run_id AND c.theme_id = t.theme_id)::int AS n_clusters,
       (SELECT array_agg(llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users) ORDER BY c.size DESC, c.cluster_id)
        FROM llm_clusters.clusters c
        LEFT JOIN llm_clusters.distinct_users u
               ON u.team_id = c.team_id AND u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
        WHERE c.team_id = t.team_id AND c.run_id = t.run_id AND c.theme_id = t.theme_id) AS cluster_titles,
       row_number() OVER (PARTITION BY t.team_id, t.run_id ORDER BY t.size DESC, t.theme_id) AS position,
       tu.users AS distinct_users, llm_clusters._below_floor(tu.users) AS below_floor,
       t.pass_rate, t.na_rate, t.main_evaluator
FROM llm_clusters.themes t
JOIN llm_clusters.runs r ON r.team_id = t.team_id AND r.id = t.run_id
LEFT JOIN llm_clusters.distinct_users tu
       ON tu.team_id = t.team_id AND tu.run_id = t.run_id AND tu.grouping = 'theme' AND tu.group_id = t.theme_id;

COMMENT ON VIEW llm_clusters.run_list IS
    'Every run, for a run selector: job, level, window, status, counts, duration and lens. Filter by level or job_id; order by run_id DESC.';

COMMENT ON VIEW llm_clusters.cluster_cards IS
    'Per cluster of a run: title, description, size, share and metrics, its theme (theme_id, theme_title; NULL for Outliers); position orders the cards by size with Outliers last. distinct_users: how many users its items come from; below llm_clusters.min_distinct_users (below_floor) the title is Small cluster and no text of its items is shown. Evaluation runs: pass_rate, na_rate, main_evaluator.';
COMMENT ON VIEW llm_clusters.theme_cards IS
    'Per theme of a run: title, description, size, share, metrics, how many clusters it groups and their titles (largest first); position orders the cards by size. distinct_users and below_floor as in cluster_cards (Small theme). Evaluation runs: pass_rate, na_rate, main_evaluator.';
