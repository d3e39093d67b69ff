-- Item summaries (offline, from the events) and the trace timeline page: an agent trace
-- with spans and tool calls, a single event, cycles and missing parents, privacy mode,
-- a 10 MB output, HTML in every text field, 3,000 events, another team's trace.
BEGIN;
SET LOCAL TimeZone = 'UTC';
CREATE FUNCTION regress.ev(trace text, n int, event text, props jsonb, ts text DEFAULT '2026-11-20T10:00:00Z')
RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('event', event, 'uuid', md5(trace || ':' || n)::uuid, 'timestamp', ts,
                              'properties', props || jsonb_build_object('$ai_trace_id', trace)) $$;

-- An agent: the trace, its agent span, a retrieval, a generation calling a tool, the tool's
-- span, the final answer.
SELECT llm_clusters.capture(jsonb_build_array(
    regress.ev('agent', 1, '$ai_trace', '{"$ai_span_id": "agent", "$ai_span_name": "support bot", "$ai_latency": 5.0}', '2026-11-20T10:00:06Z'),
    regress.ev('agent', 2, '$ai_span', '{"$ai_span_id": "plan", "$ai_parent_id": "agent", "$ai_span_name": "agent loop", "$ai_latency": 4.5}', '2026-11-20T10:00:05.9Z'),
    regress.ev('agent', 3, '$ai_span', '{"$ai_span_id": "docs", "$ai_parent_id": "plan", "$ai_span_name": "retrieve docs", "$ai_latency": 0.4}', '2026-11-20T10:00:01.8Z'),
    regress.ev('agent', 4, '$ai_generation', '{"$ai_span_id": "g1", "$ai_parent_id": "plan", "$ai_model": "gpt-4o-mini", "$ai_latency": 1.2,
        "$ai_input_tokens": 30, "$ai_output_tokens": 12, "$ai_total_cost_usd": 0.0004,
        "$ai_input": [{"role": "system", "content": "You are a support bot."}, {"role": "user", "content": "Where is   my order 42? Thanks!"}],
        "$ai_output_choices": [{"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "lookup_order", "arguments": "{\"id\": 42}"}}]}]}', '2026-11-20T10:00:03Z'),
    regress.ev('agent', 5, '$ai_span', '{"$ai_span_id": "tool", "$ai_parent_id": "plan", "$ai_span_name": "lookup_order", "$ai_latency": 0.3}', '2026-11-20T10:00:03.5Z'),
    regress.ev('agent', 6, '$ai_generation', '{"$ai_parent_id": "plan", "$ai_model": "gpt-4o-mini", "$ai_latency": 1.2,
        "$ai_input_tokens": 60, "$ai_output_tokens": 9, "$ai_total_cost_usd": 0.0005,
        "$ai_input": [{"role": "user", "content": "Where is   my order 42? Thanks!"}],
        "$ai_output_choices": [{"role": "assistant", "content": "It shipped yesterday."}]}', '2026-11-20T10:00:05.8Z')
)) AS agent_events;
-- One event; a failed, slow call; a refusal; privacy mode (null input and output).
SELECT llm_clusters.capture(jsonb_build_array(
    regress.ev('single', 1, '$ai_generation', '{"$ai_model": "gpt-4o", "$ai_input": "Translate the menu into French", "$ai_output_choices": [{"role": "assistant", "content": "Voici."}], "$ai_latency": 0.8}'),
    regress.ev('failing', 1, '$ai_generation', '{"$ai_model": "o1", "$ai_input": "Fix my code", "$ai_latency": 42.0, "$ai_is_error": true, "$ai_error": "rate limit exceeded"}'),
    regress.ev('refusal', 1, '$ai_generation', '{"$ai_model": "gpt-4o", "$ai_input": "Help me pick a lock", "$ai_output_choices": [{"role": "assistant", "content": "I''m sorry, but I can''t help with that."}]}'),
    regress.ev('private', 1, '$ai_generation', '{"$ai_model": "gpt-4o", "$ai_input": null, "$ai_output_choices": null, "$ai_latency": 0.5}')
)) AS small_traces;
-- Cycles and missing parents: a -> b -> a, c -> somewhere else.
SELECT llm_clusters.capture(jsonb_build_array(
    regress.ev('tangled', 1, '$ai_span', '{"$ai_span_id": "a", "$ai_parent_id": "b", "$ai_span_name": "first"}'),
    regress.ev('tangled', 2, '$ai_span', '{"$ai_span_id": "b", "$ai_parent_id": "a", "$ai_span_name": "second"}'),
    regress.ev('tangled', 3, '$ai_span', '{"$ai_span_id": "c", "$ai_parent_id": "elsewhere", "$ai_span_name": "third"}')
)) AS tangled;
-- HTML and script in every text field; a 10 MB output; 3,000 events; no timestamps.
SELECT llm_clusters.capture(jsonb_build_array(
    jsonb_build_object('event', '$ai_generation', 'uuid', md5('evil')::uuid,
        'properties', jsonb_build_object('$ai_trace_id', '<script>alert(1)</script>', '$ai_span_name', '</script><img src=x onerror=alert(2)>',
            '$ai_model', '<b>model</b>', '$ai_error', '<iframe src=javascript:alert(3)>', '$ai_is_error', true,
            '$ai_input', '<script>alert(4)</script> what is this?', '$ai_output_choices', jsonb_build_array(jsonb_build_object('role', 'assistant', 'content', '<svg onload=alert(5)>')))))) AS evil;
SELECT llm_clusters.capture(jsonb_build_array(
    regress.ev('huge', 1, '$ai_generation', jsonb_build_object('$ai_input', 'Write a very long story', '$ai_output_choices', repeat('word ', 2000000))))) AS huge;
SELECT llm_clusters.capture(jsonb_agg(regress.ev('long', i, '$ai_span',
           jsonb_build_object('$ai_span_id', 's' || i, '$ai_parent_id', CASE WHEN i > 1 THEN 's' || (i - 1) END, '$ai_span_name', 'step ' || i, '$ai_latency', 0.01),
           to_char(timestamp '2026-11-20 10:00:00' + i * interval '10 ms', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))))
FROM generate_series(1, 3000) i;
SELECT llm_clusters.capture('{"event": "$ai_span", "properties": {"$ai_trace_id": "undated", "$ai_span_name": "no timestamp"}}') AS undated;
-- The same trace id in team 2.
SELECT llm_clusters.capture(regress.ev('agent', 99, '$ai_generation', '{"$ai_input": "team two asks"}'), 2) AS team_two;

-- Offline summaries of every trace; a second call finds nothing to do.
SELECT llm_clusters.summarize_pending() AS summarised;
SELECT llm_clusters.summarize_pending('trace') AS again;
SELECT team_id, item_id, title, source FROM llm_clusters.item_summaries WHERE level = 'trace' AND item_id <> 'long' ORDER BY team_id, item_id;
SELECT flow FROM llm_clusters.item_summaries WHERE team_id = 1 AND item_id = 'agent';
SELECT bullets, notes FROM llm_clusters.item_summaries WHERE team_id = 1 AND item_id = 'agent';
SELECT item_id, notes FROM llm_clusters.item_summaries
WHERE team_id = 1 AND item_id IN ('failing', 'refusal', 'private', 'tangled', 'single') ORDER BY item_id;
SELECT title, length(flow) < 100000 AS flow_bounded, (regexp_split_to_array(flow, E'\n'))[201] AS last_line,
       array_length(regexp_split_to_array(flow, E'\n'), 1) AS lines
FROM llm_clusters.item_summaries WHERE item_id = 'long';
SELECT title, bullets[array_upper(bullets, 1)] AS ended FROM llm_clusters.item_summaries WHERE item_id = 'huge';
-- A trace that received events after its summary is summarised again.
SELECT llm_clusters.capture(regress.ev('single', 2, '$ai_span', '{"$ai_span_name": "late step"}')) AS late_event;
SELECT llm_clusters.summarize_pending('trace') AS stale_one;
SELECT n_events, flow FROM llm_clusters.item_summaries WHERE level = 'trace' AND item_id = 'single';
-- Generations: one summary each.
SELECT llm_clusters.summarize_pending('generation', max_items => 3) AS first_three;
SELECT llm_clusters.summarize_pending('generation') AS the_rest;
SELECT title, flow FROM llm_clusters.item_summaries WHERE level = 'generation' AND item_id = md5('agent:4')::uuid::text;

-- The timeline page.
SELECT length(llm_clusters.trace_html('agent')) > 5000 AS agent_page,
       (SELECT count(*) FROM regexp_matches(llm_clusters.trace_html('agent'), '<script', 'g')) AS script_elements,
       position('lookup_order' IN llm_clusters.trace_html('agent')) > 0 AS shows_the_tool,
       position('team two asks' IN llm_clusters.trace_html('agent')) = 0 AS not_team_two,
       position('team two asks' IN llm_clusters.trace_html('agent', team_id => 2)) > 0 AS team_two_page;
SELECT (SELECT count(*) FROM regexp_matches(p, '<script', 'g')) AS script_elements,
       p !~ '<(img|iframe|svg|b)[ >]' AS no_injected_markup,
       position('\u003cscript\u003ealert(1)' IN p) > 0 AS trace_id_as_data
FROM (SELECT llm_clusters.trace_html('<script>alert(1)</script>') AS p) x;
SELECT length(llm_clusters.trace_html('huge')) < 200000 AS huge_page_is_folded,
       position('"chars":10000000' IN llm_clusters.trace_html('huge')) > 0 AS full_length_known;
SELECT length(llm_clusters.trace_html('long')) BETWEEN 500000 AND 3000000 AS long_page, position('"depth":2999' IN llm_clusters.trace_html('long')) > 0 AS deepest_step;
SELECT length(llm_clusters.trace_html('undated')) > 0 AS undated_page, length(llm_clusters.trace_html('tangled')) > 0 AS tangled_page,
       length(llm_clusters.trace_html('private')) > 0 AS private_page;
SELECT regress.error_of($$SELECT llm_clusters.trace_html('no such trace')$$) AS missing;
SELECT regress.error_of($$SELECT llm_clusters.trace_html('single', team_id => 2)$$) AS other_team;
SELECT llm_clusters.trace_html(NULL) IS NULL AS strict;
SELECT regress.error_of($$SELECT llm_clusters.summarize_pending('span')$$) AS bad_level;
SELECT regress.error_of($$SELECT llm_clusters.summarize_pending(max_items => 0)$$) AS bad_max;

-- cluster_items carries the summaries, and the report's cluster page carries them and the timelines.
SELECT regress.planted(1, 'sum', 60);
SELECT llm_clusters.summarize_pending('generation') AS planted_generations;
SELECT llm_clusters.create_job('summaries', 'generation') AS job \gset
SELECT llm_clusters.run_job(:job, '2026-11-21') AS run \gset
SELECT count(*) AS items, count(summary_title) AS with_summary, bool_and(flow LIKE '└─ generation%') AS flows,
       bool_and(array_length(bullets, 1) >= 2) AS bullets
FROM llm_clusters.cluster_items(:run, 0, 10);
SELECT position('llmcTimeline' IN p) > 0 AS timeline_script, position('"summary":{' IN p) > 0 AS summaries,
       position('"timelines":{"sum1-' IN p) > 0 AS timelines
FROM (SELECT llm_clusters.report_html(:run, 0) AS p) x;

-- Jobs that cluster the summaries: params.embed = "summary" picks the summary view, whose
-- embeddings embed_summaries writes (the hash embedder here: quick and deterministic).
SET LOCAL llm_clusters.embedder = 'hash';
SELECT llm_clusters.embed_summaries('generation') AS embedded_summaries;
SELECT llm_clusters.embed_summaries('generation') AS none_left;
SELECT llm_clusters.create_job('by summary', 'generation', params => '{"embed": "summary"}') AS sjob \gset
SELECT source FROM llm_clusters.jobs WHERE id = :sjob;
SELECT llm_clusters.run_job(:sjob, '2026-11-21') AS srun \gset
SELECT status, n_items FROM llm_clusters.runs WHERE id = :srun;
SELECT count(*) AS summary_contents FROM llm_clusters.generation_summary_items WHERE content LIKE '% #%. Asked: %';
UPDATE llm_clusters.jobs SET params = '{"embed": "content"}' WHERE id = :sjob RETURNING source;
CREATE VIEW regress.own_items AS SELECT * FROM llm_clusters.generation_items;
SELECT regress.error_of($$SELECT llm_clusters.create_job('own', 'generation', source => 'regress.own_items', params => '{"embed": "summary"}')$$) AS own_source;
SELECT regress.error_of($$SELECT llm_clusters.create_job('bad', 'generation', params => '{"embed": "title"}')$$) AS bad_embed;
SELECT regress.error_of($$SELECT llm_clusters.embed_summaries('span')$$) AS bad_level;
-- A summary that changes loses its embedding; the others keep theirs.
SELECT llm_clusters.embed_summaries('trace') AS trace_summaries;
SELECT llm_clusters.capture(regress.ev('single', 3, '$ai_span', '{"$ai_span_name": "another late step"}')) AS late_again;
SELECT llm_clusters.summarize_pending('trace') AS resummarised;
SELECT item_id, embedding IS NULL AS needs_embedding FROM llm_clusters.item_summaries
WHERE level = 'trace' AND item_id IN ('single', 'agent') AND team_id = 1 ORDER BY item_id;
RESET llm_clusters.embedder;

-- Readers: the pages of their team only; summarize_pending is for admins.
CREATE ROLE regress_summary_reader NOLOGIN IN ROLE llm_clusters_reader;
INSERT INTO llm_clusters.team_roles VALUES (2, 'regress_summary_reader');
GRANT USAGE ON SCHEMA regress TO regress_summary_reader;
GRANT EXECUTE ON FUNCTION regress.error_of(text) TO regress_summary_reader;
SET LOCAL ROLE regress_summary_reader;
SELECT position('team two asks' IN llm_clusters.trace_html('agent', team_id => 2)) > 0 AS own_team;
SELECT regress.error_of($$SELECT llm_clusters.trace_html('agent', team_id => 1)$$) AS team_one_hidden;
SELECT count(*) AS summaries_seen FROM llm_clusters.item_summaries WHERE team_id = 1;
SELECT regress.error_of($$SELECT llm_clusters.summarize_pending()$$) AS reader_summarises;
RESET ROLE;
ROLLBACK;
