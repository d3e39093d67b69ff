-- capture() under 1,000 generated payloads (valid events with random pieces swapped for
-- hostile or wrongly typed values): the backend survives every call, every rejection is a
-- data error, and the table grows by exactly what the accepted calls returned (a repeated
-- uuid is stored once), so no rejected call stored anything.
BEGIN;
SELECT setseed(0.2026);
CREATE FUNCTION regress.fuzz_capture(cases int) RETURNS TABLE (calls int, accepted int, rejected int, stored_as_returned boolean)
LANGUAGE plpgsql AS $$
DECLARE
    pieces jsonb := '[null, true, 0, -1, 1e308, "", "x", "2026-02-30", "not a date", "''; DROP TABLE llm_clusters.events; --",
                      "ünïcödé 🚀", "\\\\", {"a": 1}, [1, 2], [{"role": "user", "content": null}], "$ai_generation", "$ai_span",
                      "2026-11-20T10:00:00Z", "00000000-0000-0000-0000-000000000001", "not-a-uuid", 12345678901234567890]';
    keys text[] := ARRAY['event', 'timestamp', 'uuid', 'distinct_id', 'properties', '$ai_trace_id', '$ai_input_tokens',
                         '$ai_total_cost_usd', '$ai_latency', '$ai_is_error', '$ai_input', '$ai_model', '$ai_parent_id'];
    payload jsonb;
    ev jsonb;
    n int;
    stored int;
    total bigint := 0;
    before bigint;
BEGIN
    calls := cases; accepted := 0; rejected := 0;
    SELECT count(*) INTO before FROM llm_clusters.events;
    FOR i IN 1..cases LOOP
        payload := '[]';
        n := 1 + floor(random() * 4)::int;
        FOR j IN 1..n LOOP
            ev := jsonb_build_object('event', '$ai_generation', 'uuid', gen_random_uuid(),
                                     'properties', jsonb_build_object('$ai_trace_id', 'f' || i, '$ai_input_tokens', j));
            FOR k IN 1..floor(random() * 3)::int LOOP
                IF random() < 0.5 OR jsonb_typeof(ev -> 'properties') <> 'object' THEN
                    ev := jsonb_set(ev, ARRAY[keys[1 + floor(random() * 5)::int]], pieces -> floor(random() * jsonb_array_length(pieces))::int);
                ELSE
                    ev := jsonb_set(ev, ARRAY['properties', keys[6 + floor(random() * 8)::int]], pieces -> floor(random() * jsonb_array_length(pieces))::int);
                END IF;
            END LOOP;
            payload := payload || jsonb_build_array(ev);
        END LOOP;
        BEGIN
            stored := llm_clusters.capture(CASE WHEN random() < 0.3 THEN jsonb_build_object('batch', payload) ELSE payload END);
            accepted := accepted + 1;
            total := total + stored;
        EXCEPTION WHEN data_exception OR null_value_not_allowed OR invalid_text_representation OR program_limit_exceeded THEN
            rejected := rejected + 1;
        END;
    END LOOP;
    stored_as_returned := (SELECT count(*) FROM llm_clusters.events) - before = total;
    RETURN NEXT;
END $$;
SELECT calls, accepted > 100 AS many_accepted, rejected > 100 AS many_rejected, stored_as_returned
FROM regress.fuzz_capture(1000);
ROLLBACK;
