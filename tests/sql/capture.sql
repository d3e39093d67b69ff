-- capture(): PostHog-format events in, typed rows out; all or nothing.
BEGIN;
SET LOCAL TimeZone = 'UTC';

-- One event object, as an SDK sends it; numbers as strings, a numeric trace id.
SELECT llm_clusters.capture($${"event": "$ai_generation", "distinct_id": "user-1",
  "timestamp": "2026-11-20T10:00:00Z", "uuid": "0192f1a2-b3c4-d5e6-f708-192a3b4c5d6e",
  "properties": {"$ai_trace_id": 4711, "$ai_span_id": "s1", "$ai_parent_id": 12, "$ai_session_id": "sess-1",
    "$ai_span_name": "answer", "$ai_model": "gpt-4o-mini", "$ai_provider": "openai",
    "$ai_input": [{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": [{"type": "text", "text": "Summarise this"}, {"type": "image_url", "image_url": {"url": "data:"}}]}],
    "$ai_output_choices": [{"role": "assistant", "content": "A cat on a mat."}],
    "$ai_input_tokens": "120", "$ai_output_tokens": 8, "$ai_total_cost_usd": "0.00042",
    "$ai_latency": 0.8, "$ai_is_error": "false", "plan": "pro"}}$$);
SELECT uuid, team_id, event, "timestamp", distinct_id, trace_id, span_id, parent_id, session_id,
       span_name, model, provider, input_tokens, output_tokens, total_cost_usd, latency_s, is_error,
       error, properties->>'plan' AS plan
FROM llm_clusters.events;
SELECT content FROM llm_clusters.events;

-- A /batch/ body with the keys PostHog SDKs add; privacy mode (null input and output);
-- absent token counts stay NULL; an $ai_error implies is_error. Its sent_at corrects the
-- sender's clock as PostHog does (timestamp + (now - sent_at)): the events keep their
-- distance from sent_at (here 2 h 4 min and 3 min); events without one are now.
SELECT llm_clusters.capture($${"api_key": "phc_test", "sent_at": "2026-11-20T10:05:00Z", "historical_migration": false,
  "batch": [
    {"event": "$ai_trace", "timestamp": "2026-11-20T10:01:00+02:00", "properties": {"$ai_trace_id": "t-2", "$ai_span_name": "chat"}},
    {"event": "$ai_generation", "timestamp": "2026-11-20 10:02:00Z", "properties": {"$ai_trace_id": "t-2", "$ai_input": null, "$ai_output_choices": null}},
    {"event": "$ai_span", "properties": {"$ai_trace_id": "t-2", "$ai_error": {"message": "rate limited"}}},
    {"event": "$ai_embedding", "properties": {"$ai_trace_id": "t-2", "$ai_input_tokens": 5, "$ai_total_cost_usd": 0.00001}}]}$$,
  team_id => 2);
SELECT event, now() - "timestamp" AS before_now, input IS NULL AS no_input, content,
       input_tokens, output_tokens, is_error, error
FROM llm_clusters.events WHERE team_id = 2 ORDER BY event;
-- An event with $ignore_sent_at keeps its timestamp; a sent_at that is not a timestamp is
-- ignored; a body without one stores timestamps as sent.
SELECT llm_clusters.capture($${"sent_at": "2026-11-20T10:05:00Z", "batch": [
    {"event": "$ai_span", "timestamp": "2026-11-20T10:00:00Z", "properties": {"$ai_trace_id": "t-3", "$ignore_sent_at": true}},
    {"event": "$ai_span", "timestamp": "2026-11-20T10:00:00Z", "properties": {"$ai_trace_id": "t-4"}}]}$$, team_id => 3);
SELECT llm_clusters.capture($${"sent_at": "a minute ago", "batch": [
    {"event": "$ai_span", "timestamp": "2026-11-20T10:00:00Z", "properties": {"$ai_trace_id": "t-5"}}]}$$, team_id => 3);
SELECT llm_clusters.capture($${"batch": [
    {"event": "$ai_span", "timestamp": "2026-11-20T10:00:00Z", "properties": {"$ai_trace_id": "t-6"}}]}$$, team_id => 3);
SELECT trace_id, CASE WHEN "timestamp" = '2026-11-20T10:00:00Z' THEN 'as sent' ELSE (now() - "timestamp")::text END AS stored
FROM llm_clusters.events WHERE team_id = 3 ORDER BY trace_id;

-- Retries are safe: the same uuid is stored once, with or without hyphens.
SELECT llm_clusters.capture($$[{"event": "$ai_span", "uuid": "aaaaaaaa-0000-0000-0000-000000000001", "properties": {"$ai_trace_id": "r"}},
                               {"event": "$ai_span", "uuid": "AAAAAAAA000000000000000000000001", "properties": {"$ai_trace_id": "r"}}]$$);
SELECT llm_clusters.capture($$[{"event": "$ai_span", "uuid": "aaaaaaaa-0000-0000-0000-000000000001", "properties": {"$ai_trace_id": "r"}}]$$);
SELECT count(*) FROM llm_clusters.events WHERE trace_id = 'r';
SELECT llm_clusters.capture('[]');

-- Bad input: a precise SQLSTATE, the event's index and the property; nothing stored.
SELECT count(*) AS before FROM llm_clusters.events \gset
SELECT regress.error_of($$SELECT llm_clusters.capture('"just text"')$$);
SELECT regress.error_of($$SELECT llm_clusters.capture('42')$$);
SELECT regress.error_of($$SELECT llm_clusters.capture('{"batch": {"event": "$ai_span"}}')$$);
SELECT regress.error_of($$SELECT llm_clusters.capture('[{"event": "$ai_span", "properties": {"$ai_trace_id": "ok"}}, "x"]')$$);
SELECT regress.error_of($$SELECT llm_clusters.capture('[{"event": "$ai_span", "properties": {"$ai_trace_id": "ok"}}, {"event": "$pageview", "properties": {"$ai_trace_id": "t"}}]')$$);
SELECT regress.error_of($$SELECT llm_clusters.capture('{"event": "$ai_generation", "properties": {"$ai_model": "gpt-4o"}}')$$);
SELECT regress.error_of($$SELECT llm_clusters.capture('[{"event": "$ai_span", "properties": {"$ai_trace_id": "ok"}}, {"event": "$ai_generation", "properties": {"$ai_trace_id": "t", "$ai_input_tokens": "lots"}}]')$$);
SELECT regress.error_of($$SELECT llm_clusters.capture('{"event": "$ai_generation", "properties": {"$ai_trace_id": "t", "$ai_total_cost_usd": "free"}}')$$);
SELECT regress.error_of($$SELECT llm_clusters.capture('{"event": "$ai_generation", "properties": {"$ai_trace_id": "t", "$ai_latency": -1.5}}')$$);
SELECT regress.error_of($$SELECT llm_clusters.capture('{"event": "$ai_generation", "timestamp": "last tuesday", "properties": {"$ai_trace_id": "t"}}')$$);
SELECT regress.error_of($$SELECT llm_clusters.capture('{"event": "$ai_generation", "timestamp": "2026-02-30T10:00:00Z", "properties": {"$ai_trace_id": "t"}}')$$);
SELECT regress.error_of($$SELECT llm_clusters.capture('{"event": "$ai_generation", "uuid": "not-a-uuid", "properties": {"$ai_trace_id": "t"}}')$$);
SELECT regress.error_of($$SELECT llm_clusters.capture('{"event": "$ai_generation", "properties": "none"}')$$);
SELECT regress.error_of($$SELECT llm_clusters.capture(NULL)$$) AS null_payload, llm_clusters.capture(NULL) AS stored;
SELECT count(*) = :before AS nothing_stored FROM llm_clusters.events;

-- Large is legal: a 10 MB property value is stored.
SELECT llm_clusters.capture(jsonb_build_object('event', '$ai_generation', 'properties',
       jsonb_build_object('$ai_trace_id', 'big', 'blob', repeat('x', 10 * 1024 * 1024))));
SELECT length(properties->>'blob') FROM llm_clusters.events WHERE trace_id = 'big';
-- A payload past llm_clusters.max_capture_mb is refused before anything is stored.
SET LOCAL llm_clusters.max_capture_mb = 1;
SELECT regress.error_of($$SELECT llm_clusters.capture(jsonb_build_object('event', '$ai_span', 'properties',
       jsonb_build_object('$ai_trace_id', 'too-big', 'blob', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 70000) i))))$$);
SELECT count(*) FROM llm_clusters.events WHERE trace_id = 'too-big';
ROLLBACK;
