-- 0.12.0 -> 0.13.0

-- sql/jobs.sql, sql/assign.sql: the ids of a run's assignments and of the items
-- assign_pending placed are at most 1,024 bytes, as a run reads them (src/items.rs): pages,
-- previews and labels read them whole, and admins planted 50 MB trace ids.
DO $$
DECLARE
    planted text;
BEGIN
    SELECT string_agg(format('%s rows of %s', n, t), ', ') INTO planted
    FROM (SELECT 'assignments' AS t, count(*) AS n FROM llm_clusters.assignments
          WHERE octet_length(item_id) > 1024 OR octet_length(trace_id) > 1024
          UNION ALL SELECT 'incremental_assignments', count(*) FROM llm_clusters.incremental_assignments
          WHERE octet_length(item_id) > 1024 OR octet_length(trace_id) > 1024) c
    WHERE n > 0;
    IF planted IS NOT NULL THEN
        RAISE EXCEPTION 'llm_clusters 0.13.0 bounds the item and trace ids of assignments to 1,024 bytes, and rows have longer ones: %', planted
            USING ERRCODE = 'check_violation',
                  HINT = 'Runs of 0.13.0 leave such items out (quality.skipped_long_id). Delete those rows (as a superuser), or the runs they belong to, and update again.';
    END IF;
END
$$;
ALTER TABLE llm_clusters.assignments
    ADD CONSTRAINT item_id_length CHECK (octet_length(item_id) <= 1024),
    ADD CONSTRAINT trace_id_length CHECK (octet_length(trace_id) <= 1024);
ALTER TABLE llm_clusters.incremental_assignments
    ADD CONSTRAINT item_id_length CHECK (octet_length(item_id) <= 1024),
    ADD CONSTRAINT trace_id_length CHECK (octet_length(trace_id) <= 1024);

-- sql/jobs.sql: a run's job_name and level are its job's (at most 200 characters; trace,
-- generation or evaluation): admins insert runs, and a run's page and the trace page read
-- the name whole (a planted 300 MB name took a reader's page to 5 GB).
DO $$
DECLARE
    planted bigint;
BEGIN
    SELECT count(*) INTO planted FROM llm_clusters.runs
    WHERE length(job_name) NOT BETWEEN 1 AND 200 OR level NOT IN ('trace', 'generation', 'evaluation');
    IF planted > 0 THEN
        RAISE EXCEPTION 'llm_clusters 0.13.0 bounds a run''s job_name to 1..200 characters and its level to trace, generation or evaluation, and % rows of runs have others', planted
            USING ERRCODE = 'check_violation',
                  HINT = 'Runs copy their job''s name and level: these rows were inserted by hand. Delete them (as a superuser) and update again.';
    END IF;
END
$$;
ALTER TABLE llm_clusters.runs
    ADD CONSTRAINT job_name_length CHECK (length(job_name) BETWEEN 1 AND 200),
    ADD CONSTRAINT level_known CHECK (level IN ('trace', 'generation', 'evaluation'));
