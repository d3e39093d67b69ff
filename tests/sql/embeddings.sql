-- Bad embeddings are counted skips, never a crash; a memory budget samples a big window.
BEGIN;
SET LOCAL TimeZone = 'UTC';
CREATE TABLE regress.bad_items AS SELECT * FROM llm_clusters.generation_items LIMIT 0;
INSERT INTO regress.bad_items (team_id, item_id, ts, embedding, content)
SELECT 1, 'good' || i, '2026-11-20', regress.planted_vector(i, i % 3), 'item ' || i
FROM generate_series(1, 30) i;
INSERT INTO regress.bad_items (team_id, item_id, ts, embedding) VALUES
    (1, 'null', '2026-11-20', NULL),
    (1, 'empty', '2026-11-20', '{}'),
    (1, 'nan', '2026-11-20', '{NaN,0,0,0,0,0,0,1}'),
    (1, 'infinity', '2026-11-20', '{Infinity,0,0,0,0,0,0,1}'),
    (1, 'null element', '2026-11-20', '{1,NULL,0,0,0,0,0,1}'),
    (1, 'two-dimensional', '2026-11-20', '{{1,0},{0,1}}'),
    (1, 'huge', '2026-11-20', array_fill(0.5::real, ARRAY[100000])),
    (1, 'short 1', '2026-11-20', '{1,0,0}'),
    (1, 'short 2', '2026-11-20', '{0,1,0}');
SELECT llm_clusters.create_job('bad embeddings', 'generation', source => 'regress.bad_items') AS job \gset
SELECT llm_clusters.run_job(:job, '2026-11-21') AS run \gset
SELECT status, n_items, n_clusters, quality->'dimension' AS dimension, quality->'items_in_window' AS in_window,
       quality->'skipped_null_embedding' AS null_or_empty, quality->'skipped_invalid_embedding' AS invalid,
       quality->'skipped_non_finite' AS non_finite, quality->'skipped_over_max_dimension' AS over_max,
       quality->'skipped_other_dimension' AS other_dimension, quality->'sampled' AS sampled
FROM llm_clusters.runs WHERE id = :run;

-- 700 items of 4,000 dimensions with llm_clusters.max_memory_mb = 16: only what fits
-- (16 MB / (2 x 4 bytes x 4,000) = 524 items) is read, a uniform sample, and the run says so.
CREATE TABLE regress.wide_items AS SELECT * FROM llm_clusters.generation_items LIMIT 0;
INSERT INTO regress.wide_items (team_id, item_id, ts, embedding, content)
SELECT 1, 'wide' || i, '2026-11-20', array_fill((i % 3)::real, ARRAY[4000]) || ARRAY[1::real, (i % 7)::real], 'wide ' || i
FROM generate_series(1, 700) i;
SELECT llm_clusters.create_job('wide', 'generation', source => 'regress.wide_items') AS wide \gset
SET LOCAL llm_clusters.max_memory_mb = 16;
SELECT llm_clusters.run_job(:wide, '2026-11-21') AS wide_run \gset
SELECT status, n_items, quality->'sampled' AS sampled, quality->'sampled_by' AS sampled_by, quality->'max_items_read' AS max_items_read
FROM llm_clusters.runs WHERE id = :wide_run;
ROLLBACK;
