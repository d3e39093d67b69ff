-- Deleting a team's rows without DELETE privilege. PostgreSQL lets a role with table-level
-- DELETE (or UPDATE, or TRUNCATE) take any LOCK TABLE mode, so that one team's admin could
-- hold ACCESS EXCLUSIVE on a shared table and stall every team. Admins instead mark the row
-- (UPDATE of delete_requested, a column-level grant, checked by row-level security like any
-- update), and a trigger deletes the row marked, as the extension's owner. delete_job,
-- undo_steering and unpin_topic do this, and so do merge_clusters, split_cluster and undo_steering
-- for the clusters, themes, lineage and incremental assignments of the run they change; the
-- marked row is gone when the statement ends.

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
REVOKE EXECUTE ON FUNCTION llm_clusters._delete_requested() FROM PUBLIC;
COMMENT ON FUNCTION llm_clusters._delete_requested() IS
    'Internal: deletes the row whose delete_requested an UPDATE set (jobs, steering, clusters, themes, cluster_lineage, theme_lineage, incremental_assignments), as the extension''s owner.';

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
CREATE TRIGGER theme_lineage_delete_requested AFTER UPDATE OF delete_requested ON llm_clusters.theme_lineage
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
