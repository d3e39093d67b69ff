-- The hash embedder, embed_pending's arguments, and label_run without consent.
-- (Labels and embeddings through a service are tested end to end in tests/e2e/ai.sh; the
-- built-in model in embedder.sql.)
SET llm_clusters.embedder = 'hash';
SELECT array_length(llm_clusters.embed_text('How do I reset my password?'), 1) AS dims,
       round((SELECT sqrt(sum(x * x)) FROM unnest(llm_clusters.embed_text('How do I reset my password?')) x)::numeric, 4) AS norm,
       llm_clusters.embed_text('How do I reset my password?') = llm_clusters.embed_text('How do I reset my password?') AS deterministic;
-- Similar texts are closer than unrelated ones.
SELECT regress.cosine(llm_clusters.embed_text('reset my password please'), llm_clusters.embed_text('I forgot my password, reset it'))
     > regress.cosine(llm_clusters.embed_text('reset my password please'), llm_clusters.embed_text('translate the menu into French')) AS similar_closer;
SELECT llm_clusters.embed_text(NULL) IS NULL AS null_in_null_out,
       (SELECT bool_and(x = 0) FROM unnest(llm_clusters.embed_text('the of and')) x) AS stop_words_only_is_zero;
SELECT regress.error_of($$SELECT llm_clusters.embed_pending('span')$$);
SELECT regress.error_of($$SELECT llm_clusters.embed_pending('generation', 0)$$);
SHOW llm_clusters.ai_data_processing;
SELECT regress.error_of('SELECT llm_clusters.label_run(-1)');
BEGIN;
-- Hash embedding of pending items: only generations with text and no embedding yet; a
-- text without usable words gets an empty embedding (not counted, not picked again).
SELECT llm_clusters.capture('[{"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000000e1", "properties": {"$ai_trace_id": "e", "$ai_input": "where is my parcel"}},
                              {"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000000e2", "properties": {"$ai_trace_id": "e"}},
                              {"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000000e3", "properties": {"$ai_trace_id": "e", "$ai_input": "and the of it"}}]');
SELECT llm_clusters.embed_pending('generation') AS stored, llm_clusters.embed_pending('generation') AS again;
SELECT item_id, model, array_length(embedding, 1) FROM llm_clusters.embeddings WHERE item_id LIKE '00000000-0000-0000-0000-0000000000e%' ORDER BY item_id;
ROLLBACK;
RESET llm_clusters.embedder;
