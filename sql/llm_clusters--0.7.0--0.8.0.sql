-- 0.7.0 -> 0.8.0

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
