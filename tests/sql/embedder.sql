-- The built-in model (all-MiniLM-L6-v2 in the backend): the default embedder.
-- sentence-transformers' own example: all-MiniLM-L6-v2 gives 0.0677, 0.0635, 0.0487, ...
-- in f32, the published weights.
SET llm_clusters.embed_precision = 'f32';
SELECT array_length(e, 1) AS dims,
       round((SELECT sqrt(sum(x::float8 * x)) FROM unnest(e) x)::numeric, 4) AS norm,
       round(e[1]::numeric, 4) AS e1, round(e[2]::numeric, 4) AS e2, round(e[3]::numeric, 4) AS e3
FROM (SELECT llm_clusters.embed_text('This is an example sentence') AS e) t;
SHOW llm_clusters.embedder;
SHOW llm_clusters.embed_threads;
RESET llm_clusters.embed_precision;
SHOW llm_clusters.embed_precision;
-- int8, the default: the same model with integer products, close to f32 but not the same vector.
CREATE TEMP TABLE int8_vector AS SELECT llm_clusters.embed_text('How do I reset my password?') AS e;
SET llm_clusters.embed_precision = 'f32';
SELECT regress.cosine(i.e, f.e) > 0.99 AS int8_close_to_f32, i.e <> f.e AS int8_computed, array_length(i.e, 1) AS dims
FROM int8_vector i, (SELECT llm_clusters.embed_text('How do I reset my password?') AS e) f;
RESET llm_clusters.embed_precision;
SELECT regress.cosine(llm_clusters.embed_text('How do I reset my password?'), llm_clusters.embed_text('I forgot my password, help me log in'))
     > regress.cosine(llm_clusters.embed_text('How do I reset my password?'), llm_clusters.embed_text('Translate this menu into French')) + 0.3
       AS paraphrase_much_closer;
-- Odd input gives an embedding, never an error: empty, whitespace, 1 MB (cut at 256
-- tokens), emoji and mixed scripts, control and combining characters, a lone word piece.
SELECT label, array_length(e, 1) AS dims, round((SELECT sqrt(sum(x::float8 * x)) FROM unnest(e) x)::numeric, 4) AS norm
FROM (VALUES ('empty', llm_clusters.embed_text('')),
             ('whitespace', llm_clusters.embed_text(E' \t\n  ')),
             ('1 MB', llm_clusters.embed_text(repeat('password reset please ', 50000))),
             ('emoji', llm_clusters.embed_text('🔥🔥 how do I 👩‍💻 deploy? 🚀')),
             ('mixed scripts', llm_clusters.embed_text('Привет, 世界! مرحبا שלום こんにちは')),
             ('odd unicode', llm_clusters.embed_text(E'e\u0301\u200b\u202e\u0007\ufeff x')),
             ('word piece', llm_clusters.embed_text('##ing'))) AS v(label, e);
-- A long text is the embedding of its first 256 tokens: what follows does not change it.
SELECT regress.cosine(llm_clusters.embed_text(repeat('password reset please ', 200)),
                      llm_clusters.embed_text(repeat('password reset please ', 200) || 'completely different tail about french menus')) > 0.9999 AS cut_at_256_tokens;

-- Missing model directory: 58P01 naming the path, with a hint; nothing is stored.
SET llm_clusters.model_dir = '/nonexistent/llm_clusters-model';
SELECT regress.error_of($$SELECT llm_clusters.embed_text('hello')$$);
-- (The HINT: default verbosity prints it; the SQLSTATE is above.)
SELECT llm_clusters.embed_text('hello');
BEGIN;
SELECT llm_clusters.capture('{"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000000f1", "properties": {"$ai_trace_id": "f", "$ai_input": "where is my parcel"}}');
SELECT regress.error_of($$SELECT llm_clusters.embed_pending('generation')$$);
SELECT count(*) AS stored FROM llm_clusters.embeddings WHERE item_id = '00000000-0000-0000-0000-0000000000f1';
ROLLBACK;
RESET llm_clusters.model_dir;
-- Only superusers choose the embedder and the model directory.
CREATE ROLE regress_embedder_user;
GRANT USAGE ON SCHEMA regress TO regress_embedder_user;
SET ROLE regress_embedder_user;
SELECT regress.error_of($$SET llm_clusters.model_dir = '/tmp'$$);
SELECT regress.error_of($$SET llm_clusters.embedder = 'hash'$$);
SELECT regress.error_of($$SET llm_clusters.embed_precision = 'int8'$$);
RESET ROLE;
DROP OWNED BY regress_embedder_user;
DROP ROLE regress_embedder_user;
SELECT regress.error_of($$SET llm_clusters.embedder = 'word2vec'$$);
-- service needs consent.
SET llm_clusters.embedder = 'service';
SELECT regress.error_of($$SELECT llm_clusters.embed_text('hello')$$);
RESET llm_clusters.embedder;

-- What an item is embedded from: a generation's user request (latest first), not the
-- system prompt or the answer; a trace: the mean of its distinct requests' vectors, each
-- counted once though the second call repeats the first, weighted by their words (5, 2).
BEGIN;
SELECT llm_clusters.capture('[
  {"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000000f2", "timestamp": "2026-11-20T10:00:00Z",
   "properties": {"$ai_trace_id": "conv", "$ai_input": [{"role": "system", "content": "You are a travel agent"}, {"role": "user", "content": "Book a flight to Oslo"}],
                  "$ai_output_choices": [{"role": "assistant", "content": "Which date would you like?"}]}},
  {"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000000f3", "timestamp": "2026-11-20T10:01:00Z",
   "properties": {"$ai_trace_id": "conv", "$ai_input": [{"role": "user", "content": "Book a flight to Oslo"}, {"role": "assistant", "content": "Which date would you like?"}, {"role": "user", "content": "Next Friday"}],
                  "$ai_output_choices": [{"role": "assistant", "content": "Done."}]}},
  {"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000000f4", "timestamp": "2026-11-20T10:02:00Z",
   "properties": {"$ai_trace_id": "private", "$ai_input": null, "$ai_output_choices": null}}]');
-- (A trace-level job embeds its traces first: a trace with generation embeddings would
-- otherwise use their mean, as the item view says.)
SELECT llm_clusters.embed_pending('trace') AS traces;
SELECT llm_clusters.embed_pending('generation') AS generations;
SELECT e.item_id, e.model,
       round(regress.cosine(e.embedding, llm_clusters.embed_text(t.expected))::numeric, 5) AS cosine_to_expected
FROM llm_clusters.embeddings e
JOIN (VALUES ('00000000-0000-0000-0000-0000000000f2', 'Book a flight to Oslo'),
             ('00000000-0000-0000-0000-0000000000f3', E'Next Friday\nBook a flight to Oslo')) AS t(item_id, expected) ON t.item_id = e.item_id
ORDER BY e.item_id;
WITH parts AS (SELECT llm_clusters.embed_text('Book a flight to Oslo') AS a, llm_clusters.embed_text('Next Friday') AS b),
     mix AS (SELECT array_agg(5 * x + 2 * y ORDER BY i)::real[] AS m FROM parts, unnest(a, b) WITH ORDINALITY AS u(x, y, i))
SELECT e.item_id, e.model, round((regress.cosine(e.embedding, m) / sqrt(regress.cosine(m, m)))::numeric, 5) AS cosine_to_weighted_mean
FROM llm_clusters.embeddings e, mix WHERE e.item_id = 'conv';
-- Privacy mode (no text at all) is not embedded.
SELECT count(*) AS private_embedded FROM llm_clusters.embeddings WHERE item_id IN ('00000000-0000-0000-0000-0000000000f4', 'private');
ROLLBACK;
