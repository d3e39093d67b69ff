-- A source whose function catches every cancel, forever (the attack on job_time_limit):
-- only the end of its process stops a run that reads it. Used by worker_owner.sh and
-- pg_cron.sh.
CREATE FUNCTION public.swallow(t text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    LOOP
        BEGIN
            PERFORM pg_sleep(0.2);
        EXCEPTION WHEN query_canceled THEN NULL;
        END;
    END LOOP;
    RETURN t;
END $f$;
CREATE VIEW public.swallowing_items AS
SELECT team_id, item_id, trace_id, ts, embedding, public.swallow(content) AS content,
       cost_usd, latency_s, tokens, is_error, properties FROM llm_clusters.generation_items;
