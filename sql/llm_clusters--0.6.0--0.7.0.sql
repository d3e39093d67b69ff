-- 0.6.0 -> 0.7.0

-- Steering acts at once (issue 26 item 4; sql/steering.sql): merge_clusters and split_cluster
-- change the job's latest run in the same transaction and return the clusters they made
-- (split_cluster now returns int[]), undo_steering puts the run back from steering.restore;
-- the run and job checks are the Rust ones (_steer_run, _steered_job) instead of a
-- plpgsql copy of them.
ALTER TABLE llm_clusters.steering ADD COLUMN restore jsonb CHECK (jsonb_typeof(restore) = 'object');

COMMENT ON TABLE llm_clusters.steering IS
    'Steering of a job, applied by every later run until deleted (undo_steering, unpin_topic, or DELETE): merge (cluster_ids of run_id become one cluster), split (a cluster is re-clustered into parts), pin (a topic with a fixed centroid that runs keep as a cluster and items near it join). A merge or split also changes run_id, the job''s latest run when it was made, at once. Later runs find the clusters named by their centroids (anchors); see the README.';
COMMENT ON COLUMN llm_clusters.steering.restore IS
    'merge and split: the rows of run_id the steer changed, as they were (its clusters named, its themes, their lineage, their items'' clusters, distances and ranks), which undo_steering puts back while run_id is the job''s latest run.';

GRANT INSERT (restore) ON llm_clusters.steering TO llm_clusters_admin;

GRANT UPDATE (cluster_id, distance, rank) ON llm_clusters.assignments TO llm_clusters_admin;

GRANT DELETE ON llm_clusters.clusters, llm_clusters.themes, llm_clusters.incremental_assignments TO llm_clusters_admin;

GRANT UPDATE (event, cluster_id, related_stable_id, similarity), DELETE ON llm_clusters.cluster_lineage TO llm_clusters_admin;

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
    DELETE FROM llm_clusters.clusters c WHERE c.team_id = _restore_run.team_id AND c.run_id = steer.run_id
        AND (c.cluster_id = ANY (made) OR c.cluster_id = ANY (steer.cluster_ids));
    INSERT INTO llm_clusters.clusters
    SELECT (jsonb_populate_record(NULL::llm_clusters.clusters, e || own)).* FROM jsonb_array_elements(steer.restore->'clusters') e;
    DELETE FROM llm_clusters.themes t WHERE t.team_id = _restore_run.team_id AND t.run_id = steer.run_id;
    INSERT INTO llm_clusters.themes
    SELECT (jsonb_populate_record(NULL::llm_clusters.themes, e || own)).* FROM jsonb_array_elements(steer.restore->'themes') e;
    DELETE FROM llm_clusters.cluster_lineage l WHERE l.team_id = _restore_run.team_id AND l.run_id = steer.run_id
        AND (l.stable_id = ANY (made_stable) OR l.stable_id = ANY (steer.stable_ids));
    INSERT INTO llm_clusters.cluster_lineage
    SELECT (jsonb_populate_record(NULL::llm_clusters.cluster_lineage, e || own)).* FROM jsonb_array_elements(steer.restore->'lineage') e;
    UPDATE llm_clusters.assignments a SET cluster_id = u.cluster_id, distance = u.distance, rank = u.rank
    FROM jsonb_to_recordset(steer.restore->'items') AS u(item_id text, cluster_id int, distance float8, rank int)
    WHERE a.team_id = _restore_run.team_id AND a.run_id = steer.run_id AND a.item_id = u.item_id;
    DELETE FROM llm_clusters.incremental_assignments i WHERE i.team_id = _restore_run.team_id AND i.run_id = steer.run_id
        AND i.cluster_id = ANY (made);
    UPDATE llm_clusters.runs r SET n_clusters = (steer.restore->>'n_clusters')::int
    WHERE r.team_id = _restore_run.team_id AND r.id = steer.run_id;
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
    DELETE FROM llm_clusters.steering s WHERE s.team_id = team AND s.job_id = undo_steering.job_id AND s.id = steering_id;
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
