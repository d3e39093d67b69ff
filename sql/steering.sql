-- Steering: a person's decisions about a job's clusters (merge two, split one, pin a topic),
-- kept per job and applied by every later run (engine/src/cluster/steering.rs) until undone.

CREATE TABLE llm_clusters.steering (
    team_id     int         NOT NULL,
    job_id      int         NOT NULL,
    id          int         GENERATED ALWAYS AS IDENTITY,
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
              created_at, created_by) ON llm_clusters.steering TO llm_clusters_admin;
GRANT USAGE ON SEQUENCE llm_clusters.steering_id_seq TO llm_clusters_admin;
CREATE INDEX steering_job_idx ON llm_clusters.steering (team_id, job_id, id);
-- One pinned topic of a title per job.
CREATE UNIQUE INDEX steering_pin_title_idx ON llm_clusters.steering (team_id, job_id, lower(title)) WHERE kind = 'pin';
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.steering', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.steering_id_seq', '');
COMMENT ON TABLE llm_clusters.steering IS
    'Steering of a job, applied by every later run until deleted (undo_steering, unpin_topic, or DELETE): merge (cluster_ids of run_id become one cluster), split (a cluster is re-clustered into parts), pin (a topic with a fixed centroid that runs keep as a cluster and items near it join). Later runs find the clusters named by their centroids (anchors); see the README.';
COMMENT ON COLUMN llm_clusters.steering.anchors IS
    'merge and split: the centroids of the clusters named (one row each), by which later runs find them.';
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
-- Written by a run (src/steering.rs); per column, as every UPDATE grant (jobs.sql).
GRANT UPDATE (steering_id, steering) ON llm_clusters.clusters TO llm_clusters_admin;

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

-- The run a steer is made on: visible to the caller, of one team, of a job, succeeded.
CREATE FUNCTION llm_clusters._steered_run(run_id bigint, OUT team_id int, OUT job_id int)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found_runs record;
BEGIN
    SELECT count(*) AS n, min(r.team_id) AS team, max(r.team_id) AS other, min(r.job_id) AS job, min(r.status) AS status
    INTO found_runs FROM llm_clusters.runs r WHERE r.id = _steered_run.run_id;
    IF found_runs.n = 0 THEN
        RAISE EXCEPTION 'run % does not exist', run_id
            USING ERRCODE = 'no_data_found', HINT = 'Steer the clusters of a run of your team''s job.';
    ELSIF found_runs.n > 1 THEN
        RAISE EXCEPTION 'run % exists in teams % and %', run_id, found_runs.team, found_runs.other
            USING ERRCODE = 'cardinality_violation',
                  HINT = 'Rows with chosen ids were planted before 0.5.0: delete the run of the team that did not create it.';
    ELSIF found_runs.job IS NULL THEN
        RAISE EXCEPTION 'run % belongs to no job any more', run_id
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Steer a run of an existing job.';
    ELSIF found_runs.status <> 'succeeded' THEN
        RAISE EXCEPTION 'run % has status %: it has no clusters to steer', run_id, found_runs.status
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Steer a succeeded run, e.g. the job''s latest.';
    END IF;
    team_id := found_runs.team;
    job_id := found_runs.job;
END $$;

-- The job a pin is made for: visible to the caller, of one team.
CREATE FUNCTION llm_clusters._steered_job(job_id int) RETURNS int
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found_jobs record;
BEGIN
    SELECT count(*) AS n, min(j.team_id) AS team, max(j.team_id) AS other
    INTO found_jobs FROM llm_clusters.jobs j WHERE j.id = _steered_job.job_id;
    IF found_jobs.n = 0 THEN
        RAISE EXCEPTION 'job % does not exist', job_id
            USING ERRCODE = 'no_data_found', HINT = 'Steer a job of your team (llm_clusters.jobs).';
    ELSIF found_jobs.n > 1 THEN
        RAISE EXCEPTION 'job % exists in teams % and %', job_id, found_jobs.team, found_jobs.other
            USING ERRCODE = 'cardinality_violation',
                  HINT = 'Rows with chosen ids were planted before 0.5.0: delete the job of the team that did not create it.';
    END IF;
    RETURN found_jobs.team;
END $$;

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

CREATE FUNCTION llm_clusters.merge_clusters(run_id bigint, cluster_ids int[]) RETURNS int
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    run record;
    named record;
    merge_id int;
BEGIN
    IF cardinality(cluster_ids) IS NULL OR cardinality(cluster_ids) NOT BETWEEN 2 AND 50 THEN
        RAISE EXCEPTION 'merge_clusters needs 2 to 50 cluster ids, got %', coalesce(cardinality(cluster_ids), 0)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Name the clusters of one run to merge, e.g. ARRAY[3, 5].';
    END IF;
    run := llm_clusters._steered_run(run_id);
    named := llm_clusters._steered_clusters(run.team_id, run_id, cluster_ids);
    INSERT INTO llm_clusters.steering (team_id, job_id, kind, run_id, cluster_ids, stable_ids, anchors)
    VALUES (run.team_id, run.job_id, 'merge', run_id, cluster_ids, named.stable_ids, named.anchors)
    RETURNING id INTO merge_id;
    RETURN merge_id;
END $$;

CREATE FUNCTION llm_clusters.split_cluster(run_id bigint, cluster_id int, parts int DEFAULT 2) RETURNS int
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    run record;
    named record;
    split_id int;
BEGIN
    IF parts IS NULL OR parts NOT BETWEEN 2 AND 20 THEN
        RAISE EXCEPTION 'split_cluster makes 2 to 20 parts, got %', coalesce(parts::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'For example llm_clusters.split_cluster(run_id, cluster_id, 2).';
    END IF;
    run := llm_clusters._steered_run(run_id);
    named := llm_clusters._steered_clusters(run.team_id, run_id, ARRAY[cluster_id]);
    INSERT INTO llm_clusters.steering (team_id, job_id, kind, run_id, cluster_ids, stable_ids, anchors, parts)
    VALUES (run.team_id, run.job_id, 'split', run_id, ARRAY[cluster_id], named.stable_ids, named.anchors, parts)
    RETURNING id INTO split_id;
    RETURN split_id;
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
BEGIN
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
    'From the job''s next run on, the named clusters of this run are one cluster (it keeps the identity lineage gives it; the others are recorded as merged into it). Returns the steering id, which undo_steering takes.';
COMMENT ON FUNCTION llm_clusters.split_cluster(bigint, int, int) IS
    'From the job''s next run on, this cluster of this run is re-clustered into parts (2 to 20) clusters, which keep their identity from run to run. Returns the steering id, which undo_steering takes.';
COMMENT ON FUNCTION llm_clusters.pin_topic(int, text, text[], real[]) IS
    'Pins a topic for the job''s runs: its centroid is the unit mean of the examples'' embeddings (llm_clusters.embedder; or the embedding given), every later run keeps it as a cluster titled title, and items nearer to it than to their own cluster (within the reach of a typical cluster of the run) join it. Returns the topic id (a steering id).';
COMMENT ON FUNCTION llm_clusters.unpin_topic(int, int) IS
    'Removes a pinned topic (pin_topic''s id) from the job''s later runs; false when the job has no such topic.';
COMMENT ON FUNCTION llm_clusters.undo_steering(int, int) IS
    'Removes a merge, split or pin (its llm_clusters.steering id) from the job''s later runs; false when the job has no such steering.';
COMMENT ON FUNCTION llm_clusters._steering_check() IS 'Internal: bounds writes to llm_clusters.steering.';
COMMENT ON FUNCTION llm_clusters._steered_run(bigint) IS 'Internal: the team and job of a run to steer.';
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
    llm_clusters._steered_run(bigint),
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
    llm_clusters._steered_run(bigint),
    llm_clusters._steered_job(int),
    llm_clusters._steered_clusters(int, bigint, int[]),
    llm_clusters._topic_centroid(text[], real[])
    TO llm_clusters_admin;
