-- 0.8.0 -> 0.9.0

-- ---------------------------------------------------------------------------------------
-- Shared int ids cannot be used up (sql/jobs.sql, sql/steering.sql): jobs.id and
-- steering.id cycle, and a trigger skips ids in use; steers are ordered by creation.
ALTER TABLE llm_clusters.jobs ALTER COLUMN id SET CYCLE;
ALTER TABLE llm_clusters.steering ALTER COLUMN id SET CYCLE;
-- jobs.id and steering.id are ints every team shares, and every INSERT draws one, even one
-- that then fails or is rolled back: a team looping failed inserts (or create_job in a
-- transaction it rolls back) would use up the 2^31 values for all teams in about a day.
-- So those identities CYCLE, and this trigger moves a drawn id past the ids of rows that
-- still exist, of every team (hence SECURITY DEFINER: the policies hide other teams' rows).
-- Ids of deleted rows come back after 2^31 draws (a deleted job's runs keep job_id NULL).
CREATE FUNCTION llm_clusters._unused_id() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'jobs' THEN
        WHILE EXISTS (SELECT FROM llm_clusters.jobs j WHERE j.id = NEW.id) LOOP
            NEW.id := nextval('llm_clusters.jobs_id_seq');
        END LOOP;
    ELSE
        WHILE EXISTS (SELECT FROM llm_clusters.steering s WHERE s.id = NEW.id) LOOP
            NEW.id := nextval('llm_clusters.steering_id_seq');
        END LOOP;
    END IF;
    RETURN NEW;
END $$;
REVOKE EXECUTE ON FUNCTION llm_clusters._unused_id() FROM PUBLIC;
COMMENT ON FUNCTION llm_clusters._unused_id() IS
    'Internal: gives a new job or steer an id no row of any team has (the ids cycle after 2^31).';
CREATE TRIGGER jobs_unused_id BEFORE INSERT ON llm_clusters.jobs
    FOR EACH ROW EXECUTE FUNCTION llm_clusters._unused_id();
CREATE INDEX steering_id_idx ON llm_clusters.steering (id);
CREATE TRIGGER steering_unused_id BEFORE INSERT ON llm_clusters.steering
    FOR EACH ROW EXECUTE FUNCTION llm_clusters._unused_id();
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

-- ---------------------------------------------------------------------------------------
-- theme_trends, beside cluster_trends; both read the day's last run from _daily_runs
-- (sql/lineage.sql, sql/themes_identity.sql).
-- The last succeeded run of each day of each job: the runs the trend views show.
CREATE VIEW llm_clusters._daily_runs WITH (security_invoker = true) AS
SELECT DISTINCT ON (r.team_id, r.job_id, day) r.*, day,
       dense_rank() OVER (PARTITION BY r.team_id, r.job_id ORDER BY day DESC) - 1 AS runs_ago
FROM llm_clusters.runs r,
     LATERAL (SELECT (coalesce(r.cycle, r.window_end) AT TIME ZONE 'UTC')::date AS day) d
WHERE r.status = 'succeeded' AND r.job_id IS NOT NULL
ORDER BY r.team_id, r.job_id, day, r.id DESC;
COMMENT ON VIEW llm_clusters._daily_runs IS
    'Internal: the last succeeded run of each day (its cycle, else its window end, in UTC) of each job, with runs_ago = 0 for the newest day.';
GRANT SELECT ON llm_clusters._daily_runs TO llm_clusters_reader;

-- Per stable cluster and day.
CREATE OR REPLACE VIEW llm_clusters.cluster_trends WITH (security_invoker = true) AS
SELECT d.team_id,
       d.job_id,
       d.job_name,
       d.level,
       c.stable_id,
       first_value(llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users))
           OVER (PARTITION BY d.team_id, c.stable_id ORDER BY d.day DESC) AS latest_title,
       llm_clusters._floored_cluster_title(c.cluster_id, c.title, u.users) AS title,
       d.day,
       d.runs_ago,
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
FROM llm_clusters._daily_runs d
JOIN llm_clusters.clusters c ON c.team_id = d.team_id AND c.run_id = d.id
LEFT JOIN llm_clusters.distinct_users u
       ON u.team_id = c.team_id AND u.run_id = c.run_id AND u.grouping = 'cluster' AND u.group_id = c.cluster_id
WHERE c.stable_id IS NOT NULL;

-- Per stable theme and day, as cluster_trends (lineage.sql) per stable cluster.
CREATE VIEW llm_clusters.theme_trends WITH (security_invoker = true) AS
SELECT d.team_id,
       d.job_id,
       d.job_name,
       d.level,
       t.stable_id,
       first_value(llm_clusters._floored_theme_title(t.title, u.users))
           OVER (PARTITION BY d.team_id, t.stable_id ORDER BY d.day DESC) AS latest_title,
       llm_clusters._floored_theme_title(t.title, u.users) AS title,
       d.day,
       d.runs_ago,
       d.id AS run_id,
       t.theme_id,
       t.size,
       t.share,
       t.avg_cost_usd,
       t.avg_latency_s,
       t.avg_tokens,
       t.error_rate,
       t.total_cost_usd,
       t.p95_latency_s
FROM llm_clusters._daily_runs d
JOIN llm_clusters.themes t ON t.team_id = d.team_id AND t.run_id = d.id
LEFT JOIN llm_clusters.distinct_users u
       ON u.team_id = t.team_id AND u.run_id = t.run_id AND u.grouping = 'theme' AND u.group_id = t.theme_id
WHERE t.stable_id IS NOT NULL;
COMMENT ON VIEW llm_clusters.theme_trends IS
    'Per job, stable theme and day (the last succeeded run of the day): size, share and metrics; runs_ago = 0 for the latest day; latest_title is the theme''s newest title, for stable legends. Titles below llm_clusters.min_distinct_users read Small theme.';
GRANT SELECT ON llm_clusters.theme_trends TO llm_clusters_reader;
