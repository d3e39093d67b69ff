-- :n generation items of team :team in three well-separated groups (16-d embeddings, noise
-- from a hash: a periodic one plants sub-groups that a graph method rightly finds),
-- all in the hour before now. Deterministic: ids and noise derive from :prefix and i.
INSERT INTO llm_clusters.events (uuid, team_id, event, "timestamp", trace_id, content, total_cost_usd, latency_s, is_error)
SELECT md5(:'prefix' || i)::uuid, :team, '$ai_generation', now() - (1 + i % 50) * interval '1 minute',
       :'prefix' || i, (ARRAY['refund my order', 'write a sql query', 'translate to french'])[1 + i % 3] || ' #' || i,
       0.001 * (1 + i % 3), 0.5 + (i % 3), i % 20 = 0
FROM generate_series(1, :n) i;
INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding)
SELECT :team, 'generation', md5(:'prefix' || i)::uuid::text,
       (SELECT array_agg((CASE WHEN d % 3 = i % 3 THEN 1.0 ELSE 0.0 END) + 0.2 * (('x' || substr(md5(i || ':' || d), 1, 8))::bit(32)::int / 2147483648.0) ORDER BY d)
        FROM generate_series(1, 16) d)::real[]
FROM generate_series(1, :n) i;
