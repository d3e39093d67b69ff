-- Steering: a person's decisions about a job's clusters (merge two, split one, pin a topic),
-- kept per job and applied by every later run (engine/src/cluster/steering.rs) until undone.

CREATE TABLE llm_clusters.steering (
    team_id     int         NOT NULL,
    job_id      int         NOT NULL,
    -- CYCLE, and _unused_id skips ids in use (jobs.sql).
    id          int         GENERATED ALWAYS AS IDENTITY (CYCLE),
    kind        text        NOT NULL CHECK (kind IN ('merge', 'split', 'pin')),
    -- merge and split: the run they were made on, its clusters they name, and those
    -- clusters' stable ids and centroids (the anchors later runs find them by).
    run_id      bigint,
    cluster_ids int[]       CHECK (cardinality(cluster_ids) <= 50),
    stable_ids  bigint[]    CHECK (cardinality(stable_ids) <= 50),
    anchors     real[]      CHECK (cardinality(anchors) <= 50 * 16000),
    parts       int         CHECK (parts BETWEEN 2 AND 20),
    -- pin: the topic's title, the examples it was embedded from, and its unit centroid.
    title       text        CHECK (length(title) BETWEEN 1 AND 200),
    examples    text[]      CHECK (cardinality(examples) BETWEEN 1 AND 50),
    centroid    real[]      CHECK (cardinality(centroid) BETWEEN 1 AND 16000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  name        NOT NULL DEFAULT current_user,
    -- merge and split: the rows of run_id they changed, as they were before (_run_snapshot).
    restore     jsonb       CHECK (jsonb_typeof(restore) = 'object'),
    CHECK (CASE kind WHEN 'merge' THEN cardinality(cluster_ids) >= 2 AND anchors IS NOT NULL
                     WHEN 'split' THEN cardinality(cluster_ids) = 1 AND anchors IS NOT NULL AND parts IS NOT NULL
                     ELSE title IS NOT NULL AND examples IS NOT NULL AND centroid IS NOT NULL END),
    PRIMARY KEY (team_id, id),
    FOREIGN KEY (team_id, job_id) REFERENCES llm_clusters.jobs (team_id, id) ON DELETE CASCADE,
    FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE SET NULL (run_id)
);
ALTER TABLE llm_clusters.steering ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.steering
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.steering TO llm_clusters_reader;
-- Every column but id: steering ids are the identity's. No DELETE (it would let LOCK TABLE
-- take any mode): undoing marks the row and a trigger deletes it (deletions.sql).
GRANT INSERT (team_id, job_id, kind, run_id, cluster_ids, stable_ids, anchors, parts, title, examples, centroid,
              created_at, created_by, restore) ON llm_clusters.steering TO llm_clusters_admin;
CREATE INDEX steering_job_idx ON llm_clusters.steering (team_id, job_id, id);
CREATE INDEX steering_id_idx ON llm_clusters.steering (id);
CREATE TRIGGER steering_unused_id BEFORE INSERT ON llm_clusters.steering
    FOR EACH ROW EXECUTE FUNCTION llm_clusters._unused_id();
-- One pinned topic of a title per job.
CREATE UNIQUE INDEX steering_pin_title_idx ON llm_clusters.steering (team_id, job_id, lower(title)) WHERE kind = 'pin';
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.steering', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.steering_id_seq', '');
-- Steering ids are the identity's, drawn by INSERT: no USAGE for admins (an int every team
-- shares, see jobs.sql).
REVOKE USAGE ON SEQUENCE llm_clusters.steering_id_seq FROM llm_clusters_admin;
COMMENT ON TABLE llm_clusters.steering IS
    'Steering of a job, applied by every later run until undone (undo_steering, unpin_topic): merge (cluster_ids of run_id become one cluster), split (a cluster is re-clustered into parts), pin (a topic with a fixed centroid that runs keep as a cluster and items near it join). A merge or split also changes run_id, the job''s latest run when it was made, at once. Later runs find the clusters named by their centroids (anchors); see the README.';
COMMENT ON COLUMN llm_clusters.steering.anchors IS
    'merge and split: the centroids of the clusters named (one row each), by which later runs find them.';
COMMENT ON COLUMN llm_clusters.steering.restore IS
    'merge and split: the rows of run_id the steer changed, as they were (its clusters named and their lineage, the run''s themes and their lineage, their items'' clusters, distances and ranks), which undo_steering puts back while run_id is the job''s latest run.';
COMMENT ON COLUMN llm_clusters.steering.centroid IS
    'pin: the unit mean of the examples'' embeddings (llm_clusters.embedder), or the embedding given to pin_topic.';

-- Which steer made a cluster (NULL: the clustering's own).
ALTER TABLE llm_clusters.clusters
    ADD COLUMN steering_id int,
    ADD COLUMN steering    text CHECK (steering IN ('merge', 'split', 'pin'));
COMMENT ON COLUMN llm_clusters.clusters.steering_id IS
    'The llm_clusters.steering row that made this cluster (merged, split off or pinned); NULL for the clustering''s own.';
COMMENT ON COLUMN llm_clusters.clusters.steering IS
    'merge, split or pin when a person''s steering made this cluster (see steering_id); NULL otherwise.';
-- Written by a run and by a merge or split of a run (src/steering.rs: the clusters it makes
-- get a centroid, radius, map point and keywords); per column, as every UPDATE grant (jobs.sql).
GRANT UPDATE (steering_id, steering, centroid, radius, x, y, keywords) ON llm_clusters.clusters TO llm_clusters_admin;

-- Bounds every insert, whoever writes it: at most 100 steers per job.
CREATE FUNCTION llm_clusters._steering_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF (SELECT count(*) FROM llm_clusters.steering WHERE team_id = NEW.team_id AND job_id = NEW.job_id) >= 100 THEN
        RAISE EXCEPTION 'job % already has 100 steers', NEW.job_id
            USING ERRCODE = 'program_limit_exceeded',
                  HINT = 'Undo some with llm_clusters.undo_steering(job_id, steering_id).';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER steering_check BEFORE INSERT ON llm_clusters.steering
    FOR EACH ROW EXECUTE FUNCTION llm_clusters._steering_check();

-- A merge or split acts on its run at once (src/steering.rs, _steer_run), as the caller:
-- admins rewrite their team's runs' assignments and clusters, and undo puts them back.
GRANT UPDATE (cluster_id, distance, rank) ON llm_clusters.assignments TO llm_clusters_admin;
-- Rows a steer removes are marked (delete_requested) and deleted by a trigger (deletions.sql):
-- no DELETE grant, which would let LOCK TABLE take any mode.
GRANT UPDATE (event, cluster_id, related_stable_id, similarity) ON llm_clusters.cluster_lineage TO llm_clusters_admin;

-- The clusters of a run a merge or split names, in the order given: ids, stable ids and
-- centroids (one row each), or an error naming what is wrong.
CREATE FUNCTION llm_clusters._steered_clusters(team_id int, run_id bigint, cluster_ids int[],
                                               OUT stable_ids bigint[], OUT anchors real[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    missing int[];
BEGIN
    IF array_position(cluster_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'cluster ids must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    ELSIF -1 = ANY (cluster_ids) THEN
        RAISE EXCEPTION 'Outliers (cluster -1) cannot be steered'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'To gather outliers into a topic, pin it: llm_clusters.pin_topic(job_id, title, examples).';
    ELSIF (SELECT count(DISTINCT c) FROM unnest(cluster_ids) c) < cardinality(cluster_ids) THEN
        RAISE EXCEPTION 'cluster ids % name a cluster twice', cluster_ids USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT array_agg(c ORDER BY c) INTO missing FROM unnest(cluster_ids) c
    WHERE NOT EXISTS (SELECT 1 FROM llm_clusters.clusters k
                      WHERE k.team_id = _steered_clusters.team_id AND k.run_id = _steered_clusters.run_id
                        AND k.cluster_id = c AND k.centroid IS NOT NULL);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'run % has no cluster %', run_id, array_to_string(missing, ', ')
            USING ERRCODE = 'no_data_found', HINT = 'See the run''s clusters: SELECT cluster_id, title FROM llm_clusters.clusters WHERE run_id = ...';
    END IF;
    SELECT array_agg(k.stable_id ORDER BY u.n), array_agg(k.centroid ORDER BY u.n)
    INTO stable_ids, anchors
    FROM unnest(cluster_ids) WITH ORDINALITY u(c, n)
    JOIN llm_clusters.clusters k ON k.team_id = _steered_clusters.team_id AND k.run_id = _steered_clusters.run_id
                                AND k.cluster_id = u.c;
END $$;

-- What a merge or split of clusters cluster_ids changes in run run_id, as it is now: the
-- clusters and their lineage rows, the run's themes and their lineage, the clusters' items'
-- clusters, distances and ranks, and the run's cluster count.
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
        'theme_lineage', (SELECT coalesce(jsonb_agg(to_jsonb(l) ORDER BY l.stable_id), '[]') FROM llm_clusters.theme_lineage l
                          WHERE l.team_id = $1 AND l.run_id = $2),
        'items', (SELECT coalesce(jsonb_agg(jsonb_build_object('item_id', a.item_id, 'cluster_id', a.cluster_id,
                                                               'distance', a.distance, 'rank', a.rank) ORDER BY a.item_id), '[]')
                  FROM llm_clusters.assignments a WHERE a.team_id = $1 AND a.run_id = $2 AND a.cluster_id = ANY ($3)));
END;

-- Puts back what steer steering_id changed in its run (its restore): the clusters it made
-- and named, the run's themes, their lineage, their items, the run's cluster count. Items
-- assign_pending placed in the clusters it made are dropped, to be placed again.
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
    -- Steers made before 0.8.0 kept no theme lineage: theirs stays as it is.
    IF steer.restore ? 'theme_lineage' THEN
        UPDATE llm_clusters.theme_lineage l SET delete_requested = true WHERE l.team_id = _restore_run.team_id AND l.run_id = steer.run_id;
        INSERT INTO llm_clusters.theme_lineage
        SELECT (jsonb_populate_record(NULL::llm_clusters.theme_lineage, e || own)).* FROM jsonb_array_elements(steer.restore->'theme_lineage') e;
    END IF;
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

CREATE FUNCTION llm_clusters.merge_clusters(run_id bigint, cluster_ids int[]) RETURNS int
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

CREATE FUNCTION llm_clusters.pin_topic(job_id int, title text, examples text[], embedding real[] DEFAULT NULL) RETURNS int
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    team int;
    topic real[];
    run_dimension int;
    pin_id int;
BEGIN
    IF length(btrim(title)) IS NULL OR length(btrim(title)) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'a pinned topic needs a title of 1 to 200 characters'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'For example ''Refund requests''.';
    ELSIF cardinality(examples) IS NULL OR cardinality(examples) NOT BETWEEN 1 AND 50
          OR EXISTS (SELECT 1 FROM unnest(examples) e WHERE length(btrim(e)) IS NULL OR length(e) > 2000 OR btrim(e) = '') THEN
        RAISE EXCEPTION 'a pinned topic needs 1 to 50 examples, each 1 to 2000 characters'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give texts as the job''s items read, e.g. ARRAY[''I want my money back'', ''refund my order''].';
    END IF;
    team := llm_clusters._steered_job(job_id);
    IF EXISTS (SELECT 1 FROM llm_clusters.steering s WHERE s.team_id = team AND s.job_id = pin_topic.job_id
               AND s.kind = 'pin' AND lower(s.title) = lower(btrim(pin_topic.title))) THEN
        RAISE EXCEPTION 'job % already has a pinned topic "%"', job_id, btrim(title)
            USING ERRCODE = 'duplicate_object', HINT = 'Unpin it first (llm_clusters.unpin_topic), or choose another title.';
    END IF;
    topic := llm_clusters._topic_centroid(examples, embedding);
    -- Items and topic must live in one space: the job's latest run tells its dimension.
    SELECT cardinality(c.centroid) INTO run_dimension
    FROM llm_clusters.runs r JOIN llm_clusters.clusters c ON c.team_id = r.team_id AND c.run_id = r.id AND c.centroid IS NOT NULL
    WHERE r.team_id = team AND r.job_id = pin_topic.job_id AND r.status = 'succeeded'
    ORDER BY r.window_end DESC, r.id DESC LIMIT 1;
    IF run_dimension <> cardinality(topic) THEN
        RAISE EXCEPTION 'the topic''s embedding has % dimensions, the job''s items have %', cardinality(topic), run_dimension
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Set llm_clusters.embedder to what embedded the job''s items, or pass the topic''s embedding (embedding => ...).';
    END IF;
    INSERT INTO llm_clusters.steering (team_id, job_id, kind, title, examples, centroid)
    VALUES (team, job_id, 'pin', btrim(title), examples, topic)
    RETURNING id INTO pin_id;
    RETURN pin_id;
END $$;

CREATE FUNCTION llm_clusters.undo_steering(job_id int, steering_id int) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    team int := llm_clusters._steered_job(job_id);
    steer record;
    latest bigint;
    later int;
BEGIN
    SELECT s.run_id, s.created_at, s.restore IS NOT NULL AS restorable INTO steer
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
            -- Order by creation: ids cycle (jobs.sql).
            SELECT s.id INTO later FROM llm_clusters.steering s
            WHERE s.team_id = team AND s.run_id = steer.run_id AND (s.created_at, s.id) > (steer.created_at, steering_id)
              AND s.restore IS NOT NULL
            ORDER BY s.created_at, s.id LIMIT 1;
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

CREATE FUNCTION llm_clusters.unpin_topic(job_id int, topic_id int) RETURNS boolean
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

COMMENT ON FUNCTION llm_clusters.merge_clusters(bigint, int[]) IS
    'Makes one cluster of the named clusters of run_id, the job''s latest succeeded run, at once (it keeps the smallest id named and its stable id; the others are recorded in lineage as merged into it) and in every later run of the job until undone. Returns the merged cluster''s id; its steering id is clusters.steering_id.';
COMMENT ON FUNCTION llm_clusters.split_cluster(bigint, int, int) IS
    'Re-clusters a cluster of run_id, the job''s latest succeeded run, into parts (2 to 20) clusters by k-means on its items'' embeddings, at once and in every later run of the job until undone. Returns the parts'' cluster ids, largest first (it keeps the split cluster''s id and stable id; the others split from it in lineage); their steering id is clusters.steering_id.';
COMMENT ON FUNCTION llm_clusters.pin_topic(int, text, text[], real[]) IS
    'Pins a topic for the job''s runs: its centroid is the unit mean of the examples'' embeddings (llm_clusters.embedder; or the embedding given), every later run keeps it as a cluster titled title, and items nearer to it than to their own cluster (within the reach of a typical cluster of the run) join it. Returns the topic id (a steering id).';
COMMENT ON FUNCTION llm_clusters.unpin_topic(int, int) IS
    'Removes a pinned topic (pin_topic''s id) from the job''s later runs; false when the job has no such topic.';
COMMENT ON FUNCTION llm_clusters.undo_steering(int, int) IS
    'Removes a merge, split or pin (its llm_clusters.steering id) from the job''s later runs, and puts the run a merge or split changed back as it was while that run is the job''s latest (a run''s steers are undone newest first); false when the job has no such steering.';
COMMENT ON FUNCTION llm_clusters._steering_check() IS 'Internal: bounds writes to llm_clusters.steering.';
COMMENT ON FUNCTION llm_clusters._steer_run(bigint, text, int[], int) IS 'Internal: a merge or split made on a run at once.';
COMMENT ON FUNCTION llm_clusters._run_snapshot(int, bigint, int[]) IS 'Internal: what a merge or split changes in a run, as it was.';
COMMENT ON FUNCTION llm_clusters._restore_run(int, int) IS 'Internal: puts back the run a merge or split changed.';
COMMENT ON FUNCTION llm_clusters._count_distinct_users(int, bigint) IS 'Internal: counts the distinct users of a run''s clusters and themes again (after undo_steering put them back).';
COMMENT ON FUNCTION llm_clusters._steered_job(int) IS 'Internal: the team of a job to steer.';
COMMENT ON FUNCTION llm_clusters._steered_clusters(int, bigint, int[]) IS 'Internal: the stable ids and centroids of the clusters a steer names.';
COMMENT ON FUNCTION llm_clusters._topic_centroid(text[], real[]) IS 'Internal: the centroid of a pinned topic.';

-- Steering writes: admins only (EXECUTE is PUBLIC by default).
REVOKE EXECUTE ON FUNCTION
    llm_clusters.merge_clusters(bigint, int[]),
    llm_clusters.split_cluster(bigint, int, int),
    llm_clusters.pin_topic(int, text, text[], real[]),
    llm_clusters.unpin_topic(int, int),
    llm_clusters.undo_steering(int, int),
    llm_clusters._steering_check(),
    llm_clusters._steer_run(bigint, text, int[], int),
    llm_clusters._run_snapshot(int, bigint, int[]),
    llm_clusters._restore_run(int, int),
    llm_clusters._count_distinct_users(int, bigint),
    llm_clusters._steered_job(int),
    llm_clusters._steered_clusters(int, bigint, int[]),
    llm_clusters._topic_centroid(text[], real[])
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters.merge_clusters(bigint, int[]),
    llm_clusters.split_cluster(bigint, int, int),
    llm_clusters.pin_topic(int, text, text[], real[]),
    llm_clusters.unpin_topic(int, int),
    llm_clusters.undo_steering(int, int),
    llm_clusters._steering_check(),
    llm_clusters._steer_run(bigint, text, int[], int),
    llm_clusters._run_snapshot(int, bigint, int[]),
    llm_clusters._restore_run(int, int),
    llm_clusters._count_distinct_users(int, bigint),
    llm_clusters._steered_job(int),
    llm_clusters._steered_clusters(int, bigint, int[]),
    llm_clusters._topic_centroid(text[], real[])
    TO llm_clusters_admin;
