-- Jobs: create_job, validation on every write, the per-team cap; run_job end to end.
BEGIN;
SET LOCAL TimeZone = 'UTC';
-- 3 topics x 30 generations with 8-d embeddings (topic centre + small deterministic noise).
SELECT regress.planted(1, 'item', 90, step => '1 minute',
    topics => ARRAY['reset my password please', 'translate this menu into french', 'write a sql query for orders'],
    -- i % 6 gives the model (i % 2) and cost, latency and tokens (i % 3); every sixth item fails.
    cycle => ARRAY(SELECT jsonb_build_object('$ai_model', CASE WHEN k % 2 = 0 THEN 'gpt-4o' ELSE 'o1' END,
                                             '$ai_total_cost_usd', (1 + k % 3) * 0.01, '$ai_latency', 1 + k % 3,
                                             '$ai_input_tokens', 10 * (1 + k % 3), '$ai_is_error', k % 3 = 2 AND k % 2 = 0)
                   FROM generate_series(0, 5) k));

SELECT llm_clusters.create_job('all generations', level => 'generation') AS job \gset
SELECT id = :job AS same, team_id, name, level, source, filters, enabled, params FROM llm_clusters.jobs;
SELECT llm_clusters.run_job(:job, '2026-11-21T00:00:00Z') AS run \gset
SELECT job_id = :job AS same_job, job_name, level, window_start, window_end, status, error, n_items, n_clusters, n_outliers,
       quality->>'method' AS method, quality->>'items_in_window' AS in_window, finished_at >= started_at AS finished,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(timings) k) AS phases
FROM llm_clusters.runs WHERE id = :run;
SELECT cluster_id, title, size, round(share::numeric, 3) AS share, round(avg_cost_usd::numeric, 4) AS avg_cost, avg_latency_s, avg_tokens,
       round(error_rate::numeric, 3) AS error_rate, round(total_cost_usd::numeric, 2) AS total_cost,
       array_length(centroid, 1) AS dims, x IS NOT NULL AND y IS NOT NULL AS placed
FROM llm_clusters.clusters WHERE run_id = :run ORDER BY cluster_id;
-- Every item is assigned once; rank 0 is the closest to the centroid; each cluster is one topic.
SELECT count(*) AS assigned, count(DISTINCT item_id) AS distinct_items, min(rank) AS min_rank,
       bool_and(distance >= 0) AS distances_ok FROM llm_clusters.assignments WHERE run_id = :run;
SELECT a.cluster_id, count(DISTINCT split_part(g.content, ' #', 1)) AS topics
FROM llm_clusters.assignments a JOIN llm_clusters.generation_items g ON g.item_id = a.item_id
WHERE a.run_id = :run GROUP BY a.cluster_id ORDER BY a.cluster_id;
-- The same items and seed give the same clusters and coordinates.
SELECT llm_clusters.run_job(:job, '2026-11-21T00:00:00Z') AS run2 \gset
SELECT count(*) AS differences FROM llm_clusters.assignments a
FULL JOIN (SELECT * FROM llm_clusters.assignments WHERE run_id = :run2) b USING (item_id)
WHERE a.run_id = :run AND (a.cluster_id, a.x, a.y) IS DISTINCT FROM (b.cluster_id, b.x, b.y);

-- Filters are applied as data: hostile keys and values select nothing and harm nothing.
SELECT llm_clusters.create_job('only gpt-4o', 'generation', '[{"key": "$ai_model", "value": "gpt-4o", "operator": "exact"}]') AS j2 \gset
SELECT llm_clusters.run_job(:j2, '2026-11-21T00:00:00Z') AS r1 \gset
SELECT status, n_items FROM llm_clusters.runs WHERE id = :r1;
SELECT llm_clusters.create_job('hostile', 'generation',
  $$[{"key": "'; DROP TABLE llm_clusters.events; --", "value": "x'); DROP TABLE llm_clusters.jobs; --\\", "operator": "icontains"},
     {"key": "ключ \"quoted\"", "value": ["Ω", "a\\b"], "operator": "is_not"}]$$) AS j3 \gset
SELECT llm_clusters.run_job(:j3, '2026-11-21T00:00:00Z') AS r2 \gset
SELECT status, n_items, error FROM llm_clusters.runs WHERE id = :r2;
SELECT count(*) AS events_still_there FROM llm_clusters.events;

-- Too few items: skipped with the reason.
SELECT llm_clusters.run_job(:job, '2026-11-20T00:10:00Z') AS r3 \gset
SELECT status, n_items, error FROM llm_clusters.runs WHERE id = :r3;

-- Bad jobs, through create_job and through plain INSERT/UPDATE alike.
SELECT regress.error_of($$SELECT llm_clusters.create_job('x', level => 'session')$$);
SELECT regress.error_of($$SELECT llm_clusters.create_job('x', filters => '{"key": "a"}')$$);
SELECT regress.error_of($$SELECT llm_clusters.create_job('x', filters => '[{"key": "a", "value": 1, "operator": "contains"}]')$$);
SELECT regress.error_of($$SELECT llm_clusters.create_job('x', filters => '[{"key": "a", "value": "x", "operator": "gt"}]')$$);
SELECT regress.error_of($$SELECT llm_clusters.create_job('x', filters => '[{"key": "a", "value": "(", "operator": "regex"}]')$$);
SELECT regress.error_of($$SELECT llm_clusters.create_job('x', params => '{"k": 5}')$$);
SELECT regress.error_of($$SELECT llm_clusters.create_job('x', params => '{"window": "a fortnight"}')$$);
SELECT regress.error_of($$SELECT llm_clusters.create_job('x', params => '{"window": "-1 day"}')$$);
SELECT regress.error_of($$INSERT INTO llm_clusters.jobs (name, params) VALUES ('y', '{"method": "dbscan"}')$$);
SELECT regress.error_of($$UPDATE llm_clusters.jobs SET filters = '"nope"' WHERE id = $$ || :job);
CREATE TABLE public.my_items (team_id int, item_id text, ts timestamptz, embedding real[]);
SELECT regress.error_of($$SELECT llm_clusters.create_job('mine', source => 'public.my_items')$$);
CREATE VIEW public.typed_wrong AS SELECT team_id, item_id, trace_id, ts, embedding, content, cost_usd, latency_s,
       tokens::int AS tokens, is_error, properties FROM llm_clusters.generation_items;
SELECT regress.error_of($$SELECT llm_clusters.create_job('mine', source => 'public.typed_wrong')$$);
SELECT regress.error_of($$SELECT llm_clusters.create_job('all generations', level => 'generation')$$);
SELECT regress.error_of($$SELECT llm_clusters.run_job(999999)$$);

-- A source that breaks after the job was created: the run fails, is recorded, leaves no results.
CREATE VIEW public.my_view AS SELECT * FROM llm_clusters.generation_items;
SELECT llm_clusters.create_job('byo', 'generation', source => 'public.my_view') AS j4 \gset
CREATE OR REPLACE VIEW public.my_view AS SELECT * FROM llm_clusters.generation_items WHERE 1 / (team_id - 1) > 0;
SELECT llm_clusters.run_job(:j4, '2026-11-21T00:00:00Z') AS r4 \gset
SELECT status, error FROM llm_clusters.runs WHERE id = :r4;
SELECT count(*) AS partial_rows FROM llm_clusters.clusters c JOIN llm_clusters.runs r ON r.id = c.run_id WHERE r.job_id = :j4;

-- At most llm_clusters.max_jobs_per_team jobs per team (5 by default), whatever the path.
SELECT llm_clusters.create_job('fifth') IS NOT NULL AS created;
SELECT count(*) AS jobs_of_team_1 FROM llm_clusters.jobs WHERE team_id = 1;
SELECT regress.error_of($$INSERT INTO llm_clusters.jobs (name) VALUES ('sixth')$$);
SELECT llm_clusters.create_job('other team', team_id => 2) AS other \gset
SELECT regress.error_of($$UPDATE llm_clusters.jobs SET team_id = 1 WHERE id = $$ || :other);
-- Names and params with quotes, semicolons, unicode and length are data.
SELECT llm_clusters.create_job($$it's "quoted"; DROP TABLE llm_clusters.jobs; -- ünïcödé 🚀 \$$, team_id => 9,
                               params => $${"window": "1 day", "seed": 7}$$) AS odd \gset
SELECT name, params FROM llm_clusters.jobs WHERE id = :odd;
SELECT count(*) AS jobs_table_still_there FROM llm_clusters.jobs WHERE team_id = 9;
SELECT regress.error_of(format('SELECT llm_clusters.create_job(%L, team_id => 9)', repeat('x', 201)));
SELECT regress.error_of($$SELECT llm_clusters.create_job('w', team_id => 9, params => '{"window": "1 day; DROP TABLE x"}')$$);
SELECT regress.error_of($$SELECT llm_clusters.create_job('w', team_id => 9, params => '{"seed": "1; DROP"}')$$);
ROLLBACK;
