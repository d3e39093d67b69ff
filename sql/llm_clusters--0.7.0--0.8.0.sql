-- 0.7.0 -> 0.8.0

-- ---------------------------------------------------------------------------------------
-- Themes: stable ids and lineage (issue 26; sql/lineage.sql, sql/themes_identity.sql,
-- sql/deletions.sql, sql/steering.sql).
-- ---------------------------------------------------------------------------------------
-- Themes keep their identity the same way (src/lineage.rs): matched to the previous run's
-- themes by their items (or centroids), with a lineage of their own. themes.stable_id is
-- added in themes_identity.sql, last, so that a fresh install's columns are in an upgraded one's order.
CREATE SEQUENCE llm_clusters.theme_stable_id_seq;
GRANT USAGE ON SEQUENCE llm_clusters.theme_stable_id_seq TO llm_clusters_admin;

CREATE TABLE llm_clusters.theme_lineage (
    team_id           int     NOT NULL,
    job_id            int,
    run_id            bigint  NOT NULL,
    previous_run_id   bigint,
    stable_id         bigint  NOT NULL,
    event             text    NOT NULL CHECK (event IN ('continued', 'new', 'gone', 'split', 'merged')),
    theme_id          int,
    previous_theme_id int,
    related_stable_id bigint,
    similarity        float8,
    delete_requested  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (team_id, run_id, stable_id),
    FOREIGN KEY (team_id, job_id) REFERENCES llm_clusters.jobs (team_id, id) ON DELETE SET NULL (job_id),
    FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE,
    FOREIGN KEY (team_id, previous_run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE SET NULL (previous_run_id)
);
ALTER TABLE llm_clusters.theme_lineage ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.theme_lineage
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.theme_lineage TO llm_clusters_reader;
-- A run inserts its rows; a steering merge that empties a theme marks it merged, and undo
-- puts the rows back (no DELETE grant: rows are removed through delete_requested, deletions.sql).
GRANT INSERT, UPDATE (event, theme_id, related_stable_id, similarity, delete_requested)
    ON llm_clusters.theme_lineage TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.theme_lineage IS
    'What happened to each stable theme in a run, against the job''s previous succeeded run, decided as for clusters (cluster_lineage) on the themes'' items: continued, new, gone, split (related_stable_id = the theme it split from) or merged (related_stable_id = the theme it merged into, also when a steering merge emptied it), with the similarity that decided it.';
COMMENT ON COLUMN llm_clusters.theme_lineage.delete_requested IS
    'Setting it to true deletes the lineage row (undo_steering puts a run''s theme lineage back); never seen true.';
COMMENT ON SEQUENCE llm_clusters.theme_stable_id_seq IS 'Stable theme ids.';
CREATE INDEX theme_lineage_stable_idx ON llm_clusters.theme_lineage (stable_id);
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.theme_stable_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.theme_lineage', '');

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

CREATE OR REPLACE FUNCTION llm_clusters._delete_requested() RETURNS trigger
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
    ELSIF TG_TABLE_NAME = 'theme_lineage' THEN
        DELETE FROM llm_clusters.theme_lineage l WHERE l.team_id = NEW.team_id AND l.run_id = NEW.run_id AND l.stable_id = NEW.stable_id;
    ELSIF TG_TABLE_NAME = 'incremental_assignments' THEN
        DELETE FROM llm_clusters.incremental_assignments i WHERE i.team_id = NEW.team_id AND i.run_id = NEW.run_id AND i.item_id = NEW.item_id;
    ELSE
        RAISE EXCEPTION 'llm_clusters._delete_requested() deletes no rows of %', TG_TABLE_NAME
            USING ERRCODE = 'feature_not_supported';
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION llm_clusters._delete_requested() IS
    'Internal: deletes the row whose delete_requested an UPDATE set (jobs, steering, clusters, themes, cluster_lineage, theme_lineage, incremental_assignments), as the extension''s owner.';
CREATE TRIGGER theme_lineage_delete_requested AFTER UPDATE OF delete_requested ON llm_clusters.theme_lineage
    FOR EACH ROW WHEN (NEW.delete_requested) EXECUTE FUNCTION llm_clusters._delete_requested();

-- A merge or split's restore also holds the run's theme lineage, which undo puts back.
CREATE OR REPLACE FUNCTION llm_clusters._run_snapshot(team_id int, run_id bigint, cluster_ids int[]) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION llm_clusters._restore_run(team_id int, steering_id int) RETURNS void
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
COMMENT ON COLUMN llm_clusters.steering.restore IS
    'merge and split: the rows of run_id the steer changed, as they were (its clusters named and their lineage, the run''s themes and their lineage, their items'' clusters, distances and ranks), which undo_steering puts back while run_id is the job''s latest run.';

-- attacker: a daily capture quota per team (capture.sql)
-- What each team stored per day (UTC), which capture() holds to
-- llm_clusters.max_team_capture_mb_per_day: a key holder (posthog-js puts the key in web
-- pages) could otherwise fill the database's disk for every team. capture() adds to the
-- caller's team's row; admins may only add (the trigger), readers see their teams' rows.
CREATE TABLE llm_clusters.capture_usage (
    team_id int    NOT NULL,
    day     date   NOT NULL,
    bytes   bigint NOT NULL CHECK (bytes >= 0),
    PRIMARY KEY (team_id, day)
);
ALTER TABLE llm_clusters.capture_usage ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.capture_usage
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.capture_usage TO llm_clusters_reader;
GRANT INSERT (team_id, day, bytes), UPDATE (bytes) ON llm_clusters.capture_usage TO llm_clusters_admin;
CREATE FUNCTION llm_clusters._capture_usage_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.bytes < OLD.bytes THEN
        RAISE EXCEPTION 'a team''s capture usage only grows'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A superuser resets a day with DELETE FROM llm_clusters.capture_usage, or raises llm_clusters.max_team_capture_mb_per_day.';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER capture_usage_check BEFORE UPDATE ON llm_clusters.capture_usage
    FOR EACH ROW EXECUTE FUNCTION llm_clusters._capture_usage_check();
REVOKE EXECUTE ON FUNCTION llm_clusters._capture_usage_check() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters._capture_usage_check() TO llm_clusters_admin;
COMMENT ON FUNCTION llm_clusters._capture_usage_check() IS 'Internal: lets a team''s capture usage only grow.';
COMMENT ON TABLE llm_clusters.capture_usage IS
    'Bytes of payload each team stored per day (UTC) through capture() and capture_with_key(); a call that would take the day over llm_clusters.max_team_capture_mb_per_day is refused (54000).';
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.capture_usage', '');

-- attacker: no team role draws from the shared int identities (jobs.id, steering.id: 2^31
-- values for all teams, which an admin's nextval() loop used up within hours). An INSERT
-- draws its identity without USAGE on the sequence.
REVOKE USAGE ON SEQUENCE llm_clusters.jobs_id_seq, llm_clusters.runs_id_seq, llm_clusters.steering_id_seq
    FROM llm_clusters_admin;
