-- Attack: filling the disk. An API key is no secret (posthog-js puts it in web pages), and
-- capture_with_key stored whatever its holders sent, for as long as they sent it: one team's
-- leaked key could fill the database's disk under every team. Now each team's payloads are
-- counted per day (UTC) in llm_clusters.capture_usage, and a call that would take the day
-- over llm_clusters.max_team_capture_mb_per_day is refused (54000) and stores nothing.
-- Other teams capture on; an admin can neither lower its count nor touch another team's.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
CREATE ROLE regress_flooder NOLOGIN IN ROLE llm_clusters_ingest;
CREATE ROLE regress_quota_admin NOLOGIN IN ROLE llm_clusters_admin;
CREATE ROLE regress_other_admin NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (1, 'regress_quota_admin'), (2, 'regress_other_admin');
SELECT llm_clusters.create_api_key(1, 'leaked') AS key \gset
-- Today's counts of the tests before start from zero (a superuser may delete them).
DELETE FROM llm_clusters.capture_usage;
SET LOCAL llm_clusters.max_team_capture_mb_per_day = 1;
-- A batch of ~400 KB: two fit in the day's MB, the third does not.
SELECT jsonb_build_object('batch', jsonb_agg(jsonb_build_object('event', '$ai_generation', 'uuid', gen_random_uuid(),
           'properties', jsonb_build_object('$ai_trace_id', 'flood', '$ai_input', repeat('x', 4000)))))::text AS batch
FROM generate_series(1, 100) \gset
SET ROLE regress_flooder;
SELECT llm_clusters.capture_with_key(:'key', :'batch') AS first;
-- Sent again: nothing new is stored, and it still counts (its bytes were received).
SELECT llm_clusters.capture_with_key(:'key', :'batch') AS second_resent;
SELECT regexp_replace(regress.error_of(format($$SELECT llm_clusters.capture_with_key(%L, %L)$$, :'key', :'batch')),
                      '\d{6,} bytes', 'N bytes') AS over_the_day;
-- Past the day, a batch of new events writes nothing before it is refused: the quota was
-- checked after the INSERT, so each refused call still wrote its rows (heap, TOAST, indexes,
-- WAL) before rolling back, and a flood past the quota still filled the disk.
SELECT jsonb_build_object('batch', jsonb_agg(jsonb_build_object('event', '$ai_generation', 'uuid', gen_random_uuid(),
           'properties', jsonb_build_object('$ai_trace_id', 'flood',
               '$ai_input', (SELECT string_agg(md5(i || ':' || j), '') FROM generate_series(1, 125) j)))))::text AS fresh
FROM generate_series(1, 100) i \gset
RESET ROLE;
SELECT pg_total_relation_size('llm_clusters.events') AS events_bytes \gset
SET ROLE regress_flooder;
SELECT regexp_replace(regress.error_of(format($$SELECT llm_clusters.capture_with_key(%L, %L)$$, :'key', :'fresh')),
                      '\d{6,} bytes', 'N bytes') AS fresh_over_the_day;
RESET ROLE;
SELECT pg_total_relation_size('llm_clusters.events') - :events_bytes AS bytes_written_by_the_refused_call;
SELECT count(*) AS stored FROM llm_clusters.events WHERE team_id = 1 AND trace_id = 'flood';
SELECT team_id, day = (now() AT TIME ZONE 'UTC')::date AS today, bytes BETWEEN 700000 AND 1048576 AS counted
FROM llm_clusters.capture_usage;
-- Another team is not held by team 1's day.
SET ROLE regress_other_admin;
SELECT llm_clusters.capture(:'batch', 2) AS other_team_stores;
-- An admin cannot lower its team's count, touch another team's, or delete a day.
SET ROLE regress_quota_admin;
SELECT regress.error_of($$UPDATE llm_clusters.capture_usage SET bytes = 0 WHERE team_id = 1$$) AS lower_own;
SELECT regress.error_of($$UPDATE llm_clusters.capture_usage SET day = day + 1 WHERE team_id = 1$$) AS move_own;
SELECT regress.error_of($$DELETE FROM llm_clusters.capture_usage WHERE team_id = 1$$) AS delete_own;
SELECT count(*) AS other_teams_rows_seen FROM llm_clusters.capture_usage WHERE team_id = 2;
SELECT regress.error_of($$INSERT INTO llm_clusters.capture_usage VALUES (2, '2000-01-01', 0)$$) AS insert_other;
RESET ROLE;
-- The day is counted after the events are stored, then checked again: counted first, the
-- day's row stayed locked while the INSERT wrote the whole batch, so a team's concurrent
-- calls queued behind each other's writes. The trigger tells whether the count came first.
DELETE FROM llm_clusters.capture_usage WHERE team_id = 2;
CREATE FUNCTION regress.counted_yet() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'team 2 counted before its events were stored: %',
        EXISTS (SELECT FROM llm_clusters.capture_usage WHERE team_id = 2);
    RETURN NULL;
END $$;
CREATE TRIGGER counted_yet BEFORE INSERT ON llm_clusters.events
    FOR EACH STATEMENT EXECUTE FUNCTION regress.counted_yet();
SELECT llm_clusters.capture('{"event": "$ai_generation", "properties": {"$ai_trace_id": "counted"}}', 2) AS stored;
SELECT bytes > 0 AS counted_after FROM llm_clusters.capture_usage WHERE team_id = 2;
ROLLBACK;
