-- The JSON lines of :file (sharegpt_prompts.jsonl rows) captured as generations, one per
-- line, for the embedding benchmarks (embed_pending.sh, embed_versions.sh).
CREATE TEMP TABLE prompts (line text);
-- csv with quote and delimiter bytes that JSON lines never hold: each line verbatim (the
-- text format would turn the JSON's \n escapes into line breaks).
SELECT format('COPY prompts FROM %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')', :'file') \gexec
SELECT llm_clusters.capture(jsonb_agg(jsonb_build_object('event', '$ai_generation',
    'uuid', md5(n::text)::uuid, 'timestamp', to_char(now() - n * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'properties', jsonb_build_object('$ai_trace_id', 't' || n,
      '$ai_input', jsonb_build_array(jsonb_build_object('role', 'user', 'content', line::jsonb ->> 'text'))))))
FROM (SELECT line, row_number() OVER () AS n FROM prompts) p;
