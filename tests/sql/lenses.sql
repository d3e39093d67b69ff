-- Lenses (params.lens: request, answer, error, flow, summary) and the evaluation level:
-- $ai_evaluation events captured as PostHog sends them, their items and text, each
-- lens's text and embeddings, jobs through a lens (a failure job), evaluation runs with
-- pass and N/A rates recomputed from the data, the report, errors with their hints, and
-- what readers of another team see.
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL llm_clusters.embedder = 'hash';
CREATE FUNCTION regress.lens_ev(trace text, n int, event text, props jsonb, ts timestamptz)
RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('event', event, 'uuid', md5(trace || ':' || n)::uuid, 'timestamp', ts,
                              'distinct_id', 'user-' || trace,
                              'properties', props || jsonb_build_object('$ai_trace_id', trace)) $$;
-- The hint of a statement's error.
CREATE FUNCTION regress.hint_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE hint text;
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ': ' || hint;
END $$;

-- Traces of team 5: 12 that work (a tool call, then the answer), 12 that fail in the
-- payment step (two kinds of failure), 6 refusals.
INSERT INTO llm_clusters.team_roles VALUES (5, 'llm_clusters_admin');
SELECT llm_clusters.capture(jsonb_agg(e.lens_ev), 5) AS captured FROM (
    SELECT regress.lens_ev('ok-' || i, 1, '$ai_span', '{"$ai_span_id": "agent", "$ai_span_name": "support agent", "$ai_latency": 2.0}',
                           '2026-11-20 10:00'::timestamptz + i * interval '1 minute' + interval '3 s')
    FROM generate_series(1, 12) i
    UNION ALL
    SELECT regress.lens_ev('ok-' || i, 2, '$ai_generation', jsonb_build_object('$ai_parent_id', 'agent', '$ai_model', 'gpt-4o-mini',
               '$ai_total_cost_usd', 0.001 * i, '$ai_latency', 0.5, '$ai_input_tokens', 10, '$ai_output_tokens', i,
               '$ai_input', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'Where is my order ' || i || '?')),
               '$ai_output_choices', '[{"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "lookup_order", "arguments": "{}"}}]}]'::jsonb),
           '2026-11-20 10:00'::timestamptz + i * interval '1 minute' + interval '1 s')
    FROM generate_series(1, 12) i
    UNION ALL
    SELECT regress.lens_ev('ok-' || i, 3, '$ai_span', '{"$ai_parent_id": "agent", "$ai_span_name": "lookup_order", "$ai_latency": 0.1}',
                           '2026-11-20 10:00'::timestamptz + i * interval '1 minute' + interval '2 s')
    FROM generate_series(1, 12) i
    UNION ALL
    SELECT regress.lens_ev('ok-' || i, 4, '$ai_generation', jsonb_build_object('$ai_parent_id', 'agent', '$ai_model', 'gpt-4o-mini',
               '$ai_input', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'Where is my order ' || i || '?')),
               '$ai_output_choices', jsonb_build_array(jsonb_build_object('role', 'assistant', 'content', 'Your order shipped on day ' || i || '.'))),
           '2026-11-20 10:00'::timestamptz + i * interval '1 minute' + interval '3 s')
    FROM generate_series(1, 12) i
    UNION ALL
    SELECT regress.lens_ev('failing-' || i, 1, '$ai_generation', jsonb_build_object('$ai_model', 'gpt-4o',
               '$ai_input', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'Pay my invoice number ' || i)),
               '$ai_output_choices', '[{"role": "assistant", "content": "Paying now."}]'::jsonb),
           '2026-11-20 11:00'::timestamptz + i * interval '1 minute')
    FROM generate_series(1, 12) i
    UNION ALL
    SELECT regress.lens_ev('failing-' || i, 2, '$ai_span', jsonb_build_object('$ai_span_name', 'payment api', '$ai_is_error', true,
               '$ai_error', CASE WHEN i % 2 = 0 THEN 'card declined: insufficient funds' ELSE 'gateway timeout after 30 seconds' END),
           '2026-11-20 11:00'::timestamptz + i * interval '1 minute' + interval '1 s')
    FROM generate_series(1, 12) i
    UNION ALL
    SELECT regress.lens_ev('refusal-' || i, 1, '$ai_generation', jsonb_build_object('$ai_model', 'gpt-4o',
               '$ai_input', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'Tell me how to pick lock ' || i)),
               '$ai_output_choices', '[{"role": "assistant", "content": "I''m sorry, but I can''t help with that."}]'::jsonb),
           '2026-11-20 12:00'::timestamptz + i * interval '1 minute')
    FROM generate_series(1, 6) i
) e;

-- Evaluations as PostHog's evaluation workflow emits them: three evaluators over the
-- working traces' answers; helpfulness 8 passes, 3 fails, 1 N/A; tone 10 passes, 2 fails;
-- json format 2 passes, 6 fails, 4 N/A. In all: 20 passes, 11 fails, 5 N/A of 36.
SELECT llm_clusters.capture(jsonb_agg(e.lens_ev), 5) AS evaluations FROM (
    SELECT regress.lens_ev('ok-' || i, 100 + k, '$ai_evaluation',
               jsonb_build_object('$ai_evaluation_id', 'eval-' || k, '$ai_evaluation_name', name,
                                  '$ai_evaluation_model', 'gpt-4o-mini', '$ai_target_event_type', '$ai_generation',
                                  '$ai_target_event_id', md5('ok-' || i || ':2')::uuid, '$ai_evaluation_reasoning', reasoning)
               || CASE WHEN verdict = 'na' THEN '{"$ai_evaluation_allows_na": true, "$ai_evaluation_applicable": false}'::jsonb
                       ELSE jsonb_build_object('$ai_evaluation_result', verdict = 'pass') END,
           '2026-11-20 13:00'::timestamptz + i * interval '1 minute' + k * interval '1 s')
    FROM generate_series(1, 12) i
    CROSS JOIN LATERAL (VALUES
        (1, 'helpfulness', CASE WHEN i <= 8 THEN 'pass' WHEN i <= 11 THEN 'fail' ELSE 'na' END,
            CASE WHEN i <= 8 THEN 'The answer tells the user where the order is and when it shipped.'
                 ELSE 'The answer does not tell the user where the order is.' END),
        (2, 'tone', CASE WHEN i <= 10 THEN 'pass' ELSE 'fail' END,
            CASE WHEN i <= 10 THEN 'Polite, friendly and calm tone throughout the reply.' ELSE 'Curt and rude tone, dismissive wording.' END),
        (3, 'json format', CASE WHEN i <= 2 THEN 'pass' WHEN i <= 8 THEN 'fail' ELSE 'na' END,
            CASE WHEN i <= 8 THEN 'Output must be valid JSON with braces and keys; checked the JSON syntax.' ELSE 'No JSON output was requested here.' END)
    ) AS x(k, name, verdict, reasoning)
) e;
SELECT event, count(*) FROM llm_clusters.events WHERE team_id = 5 GROUP BY event ORDER BY event;
-- An evaluation's text: evaluator, verdict, reasoning; its trace is the evaluated trace.
SELECT trace_id, content FROM llm_clusters.events WHERE team_id = 5 AND uuid = md5('ok-12:101')::uuid;
SELECT content FROM llm_clusters.events WHERE team_id = 5 AND uuid = md5('ok-12:103')::uuid;
-- Evaluation items carry the evaluated generation's metrics; traces leave evaluations out.
SELECT item_id = md5('ok-3:101')::uuid::text AS is_the_event, trace_id, cost_usd, latency_s, tokens, is_error
FROM llm_clusters.evaluation_items WHERE team_id = 5 AND item_id = md5('ok-3:101')::uuid::text;
SELECT count(*) AS evaluation_items, count(cost_usd) AS with_target_metrics FROM llm_clusters.evaluation_items WHERE team_id = 5;
SELECT count(*) AS traces, count(*) FILTER (WHERE is_error) AS failing FROM llm_clusters.trace_items WHERE team_id = 5;

-- Outside input: wrong types are refused (nothing stored), a target id that is not a
-- UUID joins nothing, a huge reasoning and name are cut, SQL in a value is only text.
SELECT regress.error_of($$SELECT llm_clusters.capture('{"event": "$ai_evaluation", "properties": {"$ai_trace_id": "x", "$ai_evaluation_result": "yes"}}', 5)$$) AS bad_result;
SELECT regress.error_of($$SELECT llm_clusters.capture('{"event": "$ai_evaluation", "properties": {"$ai_trace_id": "x", "$ai_evaluation_applicable": [false]}}', 5)$$) AS bad_applicable;
SELECT regress.error_of($$SELECT llm_clusters.capture('{"event": "$ai_evaluation", "properties": {"$ai_trace_id": "x", "$ai_evaluation_reasoning": {"a": 1}}}', 5)$$) AS bad_reasoning;
SELECT regress.error_of($$SELECT llm_clusters.capture('{"event": "$ai_evaluation", "properties": {"$ai_evaluation_result": true}}', 5)$$) AS no_trace;
SELECT llm_clusters.capture(jsonb_build_object('event', '$ai_evaluation', 'uuid', md5('hostile')::uuid, 'timestamp', '2026-11-19T00:00:00Z',
           'properties', jsonb_build_object('$ai_trace_id', 'hostile', '$ai_evaluation_result', 'TRUE',
               '$ai_target_event_id', $$'; DROP TABLE llm_clusters.events; --$$,
               '$ai_evaluation_name', repeat('n', 100000) || $$'); DROP TABLE llm_clusters.jobs; --$$,
               '$ai_evaluation_reasoning', repeat('reason ', 200000))), 5) AS hostile;
SELECT length(content) < 4300 AS bounded, content LIKE repeat('n', 199) || '%: pass. reason reason%' AS shape
FROM llm_clusters.events WHERE team_id = 5 AND uuid = md5('hostile')::uuid;
SELECT cost_usd IS NULL AS no_target FROM llm_clusters.evaluation_items WHERE team_id = 5 AND trace_id = 'hostile';
SELECT count(*) AS jobs_table_still_there FROM llm_clusters.jobs WHERE false;

-- Each lens's text, as embed_pending stores it (the error lens: only traces with an error).
SELECT llm_clusters.embed_pending('trace', 1000, 'error') AS error_embedded;
SELECT llm_clusters.embed_pending('trace', 1000, 'answer') AS answer_embedded;
SELECT llm_clusters.embed_pending('trace', 1000, 'flow') AS flow_embedded;
SELECT llm_clusters.embed_pending('generation', 1000, 'answer') AS generation_answers;
SELECT llm_clusters.embed_pending('generation', 1000, 'error') AS generation_errors;
SELECT llm_clusters.embed_pending('evaluation') AS evaluations_embedded;
-- Its two-argument form is the request lens, as before.
SELECT llm_clusters.embed_pending('trace', 1000) AS requests_embedded;
SELECT level, lens, count(*), count(content) AS with_text, min(cardinality(embedding)) AS dims
FROM llm_clusters.embeddings WHERE team_id = 5 GROUP BY level, lens ORDER BY level, lens;
SELECT lens, item_id, content FROM llm_clusters.embeddings
WHERE team_id = 5 AND level = 'trace' AND item_id IN ('ok-1', 'failing-2', 'refusal-1') ORDER BY item_id, lens;
-- Nothing is left to embed; each lens is stored once per item.
SELECT llm_clusters.embed_pending('trace', 1000, 'error') + llm_clusters.embed_pending('trace', 1000, 'flow') AS embedded_again;

-- Errors: unknown lens (with the lenses as hint), the summary lens, a lens for an evaluation.
SELECT regress.error_of($$SELECT llm_clusters.embed_pending('trace', 10, 'mood')$$) AS unknown_lens;
SELECT regress.hint_of($$SELECT llm_clusters.embed_pending('trace', 10, 'mood')$$) AS its_hint;
SELECT regress.error_of($$SELECT llm_clusters.embed_pending('trace', 10, 'summary')$$) AS summary_lens;
SELECT regress.error_of($$SELECT llm_clusters.embed_pending('evaluation', 10, 'answer')$$) AS evaluation_answer;
SELECT regress.error_of($$SELECT llm_clusters.summarize_pending('evaluation')$$) AS evaluation_summaries;

-- Jobs through a lens: create_job checks params.lens (22023 with the lenses as hint), on
-- update too; the lens chooses the default source; a custom source takes no lens.
SELECT regress.error_of($$SELECT llm_clusters.create_job('bad', 'trace', team_id => 5, params => '{"lens": "mood"}')$$) AS bad_lens;
SELECT regress.hint_of($$SELECT llm_clusters.create_job('bad', 'trace', team_id => 5, params => '{"lens": "mood"}')$$) AS bad_lens_hint;
SELECT regress.error_of($$SELECT llm_clusters.create_job('bad', 'trace', team_id => 5, params => '{"lens": ["error"]}')$$) AS lens_not_text;
SELECT regress.error_of($$SELECT llm_clusters.create_job('bad', 'trace', team_id => 5, params => '{"lens": "error", "embed": "summary"}')$$) AS lens_and_embed;
SELECT regress.error_of($$SELECT llm_clusters.create_job('bad', 'evaluation', team_id => 5, params => '{"lens": "flow"}')$$) AS evaluation_flow;
SELECT regress.error_of($$SELECT llm_clusters.create_job('bad', 'trace', team_id => 5, source => 'llm_clusters.events', params => '{"lens": "error"}')$$) AS own_source;
SELECT regress.error_of($$SELECT llm_clusters.create_job('bad', 'span', team_id => 5)$$) AS bad_level;
-- k-means for the failures: on 12 items of two texts the graph method keeps one cluster.
SELECT llm_clusters.create_job('failures', 'trace', team_id => 5, params => '{"lens": "error", "min_items": 3, "method": "kmeans"}') AS failures \gset
SELECT llm_clusters.create_job('by flow', 'trace', team_id => 5, params => '{"lens": "flow", "min_items": 3}') AS by_flow \gset
SELECT llm_clusters.create_job('answers', 'generation', team_id => 5, params => '{"lens": "answer", "min_items": 3}') AS answers \gset
SELECT llm_clusters.create_job('judges', 'evaluation', team_id => 5, params => '{"min_items": 3}') AS judges \gset
SELECT llm_clusters.create_job('summaries', 'trace', team_id => 5, params => '{"embed": "summary", "min_items": 3}') AS summaries \gset
SELECT name, level, source, params->>'lens' AS lens FROM llm_clusters.jobs WHERE team_id = 5 ORDER BY id;
SELECT regress.error_of(format($$UPDATE llm_clusters.jobs SET params = '{"lens": "vibes"}' WHERE team_id = 5 AND id = %s$$, :failures)) AS update_bad_lens;
SELECT regress.error_of(format($$UPDATE llm_clusters.jobs SET level = 'evaluation' WHERE team_id = 5 AND id = %s$$, :by_flow)) AS update_level;
UPDATE llm_clusters.jobs SET params = '{"lens": "answer", "min_items": 3}' WHERE team_id = 5 AND id = :by_flow RETURNING source;
UPDATE llm_clusters.jobs SET params = '{"lens": "flow", "min_items": 3}' WHERE team_id = 5 AND id = :by_flow RETURNING source;

-- The failure job clusters the failing traces only, by their errors; runs record their lens.
SELECT llm_clusters.run_job(:failures, '2026-11-21') AS failures_run \gset
SELECT llm_clusters.run_job(:by_flow, '2026-11-21') AS flow_run \gset
SELECT llm_clusters.run_job(:answers, '2026-11-21') AS answers_run \gset
SELECT llm_clusters.run_job(:judges, '2026-11-21') AS judges_run \gset
SELECT job_name, level, lens, status, n_items, n_clusters FROM llm_clusters.run_list WHERE team_id = 5 ORDER BY run_id;
-- item_labels and item_clusters name the run's lens (runs.lens).
SELECT r.job_name, l.lens, count(*) AS items FROM llm_clusters.item_labels l JOIN llm_clusters.runs r ON r.id = l.run_id
WHERE l.team_id = 5 GROUP BY 1, 2 ORDER BY 1;
SELECT job_name, lens FROM llm_clusters.item_clusters('failing-2', 5) ORDER BY job_id;
SELECT bool_and(a.item_id LIKE 'failing-%') AS only_failing, count(*) AS items
FROM llm_clusters.assignments a WHERE a.team_id = 5 AND a.run_id = :failures_run;
-- Its previews are the error texts; the two kinds of failure are not one cluster.
SELECT count(DISTINCT a.cluster_id) > 1 AS failures_apart
FROM llm_clusters.assignments a WHERE a.team_id = 5 AND a.run_id = :failures_run AND a.item_id IN ('failing-1', 'failing-2');
SELECT DISTINCT preview FROM llm_clusters.cluster_items(:failures_run, (SELECT cluster_id FROM llm_clusters.assignments WHERE team_id = 5 AND run_id = :failures_run AND item_id = 'failing-2'), 50) ORDER BY 1;
-- Traces doing the same work the same way share a cluster in the flow run.
SELECT count(DISTINCT cluster_id) AS ok_flow_clusters FROM llm_clusters.assignments WHERE team_id = 5 AND run_id = :flow_run AND item_id LIKE 'ok-%';
-- Other levels' clusters have no evaluation columns.
SELECT count(*) FILTER (WHERE pass_rate IS NOT NULL OR na_rate IS NOT NULL OR main_evaluator IS NOT NULL) AS evaluation_columns_elsewhere
FROM llm_clusters.cluster_cards WHERE team_id = 5 AND run_id IN (:failures_run, :flow_run, :answers_run);

-- The evaluation run: pass and N/A rates per cluster recomputed from the events (PostHog's
-- rule written out here), and the totals the data was made with (20 passes, 5 N/A, and
-- the hostile evaluation's pass: 21 of 37).
WITH verdicts AS (
    SELECT a.cluster_id, e.properties->>'$ai_evaluation_name' AS name,
           CASE WHEN e.properties->'$ai_evaluation_applicable' IN ('false', '"false"') THEN 'na'
                WHEN lower(e.properties->>'$ai_evaluation_result') = 'true' THEN 'pass'
                WHEN lower(e.properties->>'$ai_evaluation_result') = 'false' THEN 'fail' END AS verdict
    FROM llm_clusters.assignments a JOIN llm_clusters.events e ON e.team_id = a.team_id AND e.uuid::text = a.item_id
    WHERE a.team_id = 5 AND a.run_id = :judges_run),
expected AS (
    SELECT cluster_id, count(*) FILTER (WHERE verdict = 'pass')::float8 / nullif(count(*) FILTER (WHERE verdict IN ('pass', 'fail')), 0) AS pass_rate,
           avg((verdict = 'na')::int)::float8 AS na_rate, mode() WITHIN GROUP (ORDER BY left(name, 200)) AS main_evaluator
    FROM verdicts GROUP BY cluster_id)
SELECT count(*) AS clusters,
       bool_and(c.pass_rate IS NOT DISTINCT FROM x.pass_rate AND c.na_rate = x.na_rate AND c.main_evaluator = x.main_evaluator) AS rates_match,
       round(sum(c.pass_rate * c.size * (1 - c.na_rate))::numeric, 6) AS passes,
       round(sum(c.na_rate * c.size)::numeric, 6) AS not_applicable,
       sum(c.size) AS items
FROM llm_clusters.clusters c JOIN expected x USING (cluster_id)
WHERE c.team_id = 5 AND c.run_id = :judges_run;
-- The evaluators' own clusters: each evaluator is the main one of some cluster.
SELECT array_agg(DISTINCT main_evaluator ORDER BY main_evaluator) FILTER (WHERE length(main_evaluator) < 50) AS evaluators,
       max(length(main_evaluator)) <= 200 AS bounded
FROM llm_clusters.cluster_cards WHERE team_id = 5 AND run_id = :judges_run;
-- Cost of the clusters' items is the evaluated generations' cost.
SELECT round(sum(total_cost_usd)::numeric, 6) AS evaluated_cost FROM llm_clusters.clusters WHERE team_id = 5 AND run_id = :judges_run;
SELECT round(sum(g.total_cost_usd)::numeric * 3, 6) AS three_evaluations_per_generation
FROM llm_clusters.events g WHERE g.team_id = 5 AND g.event = '$ai_generation' AND g.trace_id LIKE 'ok-%' AND g.total_cost_usd IS NOT NULL;
SELECT count(*) > 0 AND count(*) = count(na_rate) AND count(pass_rate) > 0 AS themes_have_rates FROM llm_clusters.theme_cards WHERE team_id = 5 AND run_id = :judges_run;

-- The report says the lens, and shows pass rates on an evaluation run's cards.
SELECT position('lens <b id="lens">error</b>' IN llm_clusters.report_html(:failures_run)) > 0 AS report_says_error_lens;
SELECT position('"passRate":' IN html) > 0 AS pass_rates, position('"mainEvaluator":"tone"' IN html) > 0 AS evaluator,
       position('lens <b id="lens">request</b>' IN html) > 0 AS request_lens
FROM (SELECT llm_clusters.report_html(:judges_run) AS html) r;
SELECT position('"passRate":' IN llm_clusters.report_html(:flow_run)) = 0 AS no_pass_rate_elsewhere;

-- Readers of another team see none of it: team 5's evaluation items, lens texts, rates.
CREATE ROLE regress_lens_reader NOLOGIN IN ROLE llm_clusters_reader;
INSERT INTO llm_clusters.team_roles VALUES (6, 'regress_lens_reader');
GRANT USAGE ON SCHEMA regress TO regress_lens_reader;
GRANT EXECUTE ON FUNCTION regress.error_of(text) TO regress_lens_reader;
SET LOCAL ROLE regress_lens_reader;
SELECT (SELECT count(*) FROM llm_clusters.evaluation_items) AS evaluation_items,
       (SELECT count(*) FROM llm_clusters.trace_error_items) AS error_items,
       (SELECT count(*) FROM llm_clusters.embeddings WHERE content IS NOT NULL) AS lens_texts,
       (SELECT count(*) FROM llm_clusters.cluster_cards WHERE pass_rate IS NOT NULL) AS pass_rates,
       (SELECT count(*) FROM llm_clusters.run_list) AS runs;
SELECT regexp_replace(regress.error_of(format('SELECT llm_clusters.report_html(%s)', :judges_run)), 'run \d+', 'run N') AS other_teams_report;
SELECT regress.error_of($$SELECT llm_clusters.embed_pending('trace', 10, 'error')$$) AS reader_embeds;
RESET ROLE;
-- A reader of team 5 reads the rates.
CREATE ROLE regress_lens_reader5 NOLOGIN IN ROLE llm_clusters_reader;
INSERT INTO llm_clusters.team_roles VALUES (5, 'regress_lens_reader5');
SET LOCAL ROLE regress_lens_reader5;
SELECT count(*) > 0 AS own_pass_rates FROM llm_clusters.cluster_cards WHERE run_id = :judges_run AND pass_rate IS NOT NULL;
RESET ROLE;
ROLLBACK;
