-- 0.6.0 -> 0.7.0

-- Lenses and the evaluation level (issue 30, items 1-2; sql/capture.sql, embed.sql,
-- items.sql, jobs.sql, jobs_api.sql, evaluations.sql, reading.sql).

-- $ai_evaluation events are captured like every $ai_* event.
ALTER TABLE llm_clusters.events DROP CONSTRAINT events_event_check,
    ADD CONSTRAINT events_event_check CHECK (event IN ('$ai_generation', '$ai_span', '$ai_trace', '$ai_embedding', '$ai_evaluation'));
COMMENT ON COLUMN llm_clusters.events.content IS
    'Readable text of the call: user and assistant messages of input and output, system prompts left out, at most 8,000 characters; of an $ai_evaluation, its evaluator, verdict and reasoning ("helpfulness: fail. …").';

-- Embeddings per lens: the rows made so far are the request lens's.
ALTER TABLE llm_clusters.embeddings DROP CONSTRAINT embeddings_level_check,
    ADD CONSTRAINT embeddings_level_check CHECK (level IN ('trace', 'generation', 'evaluation')),
    ADD COLUMN lens text NOT NULL DEFAULT 'request' CHECK (lens IN ('request', 'answer', 'error', 'flow')),
    ADD COLUMN content text,
    DROP CONSTRAINT embeddings_pkey,
    ADD PRIMARY KEY (team_id, level, lens, item_id);
COMMENT ON TABLE llm_clusters.embeddings IS
    'One embedding per item, level and lens: item_id is the event uuid (levels generation and evaluation) or the trace id (level trace).';
COMMENT ON COLUMN llm_clusters.embeddings.lens IS
    'What the item was embedded from: request (what the user asked; an evaluation: its evaluator, verdict and reasoning), answer (the model''s outputs), error (failing steps and their messages), flow (steps, tools and models in order).';
COMMENT ON COLUMN llm_clusters.embeddings.content IS
    'For the answer, error and flow lenses: the first 2,000 characters of the text embedded (the previews and offline titles of their jobs); NULL for request.';

ALTER TABLE llm_clusters.jobs DROP CONSTRAINT jobs_level_check,
    ADD CONSTRAINT jobs_level_check CHECK (level IN ('trace', 'generation', 'evaluation'));
COMMENT ON COLUMN llm_clusters.jobs.params IS
    'Optional: window (interval text, default 7 days), max_items, min_items (default 20), seed, method (graph | kmeans | hdbscan), lens (request | answer | error | flow | summary) and algorithm knobs; see the README.';

-- A run records its lens; the runs made so far with params.embed = "summary" had the summary lens.
ALTER TABLE llm_clusters.runs
    ADD COLUMN lens text NOT NULL DEFAULT 'request' CHECK (lens IN ('request', 'answer', 'error', 'flow', 'summary'));
UPDATE llm_clusters.runs SET lens = 'summary' WHERE params->>'embed' = 'summary';
GRANT INSERT (lens) ON llm_clusters.runs TO llm_clusters_admin;
COMMENT ON COLUMN llm_clusters.runs.lens IS
    'The lens the run clustered its items through (params.lens, or summary for params.embed = "summary"): request, answer, error, flow or summary.';

-- The item views: request-lens embeddings only; traces without their evaluations; the
-- evaluation items and the lenses' items.
CREATE OR REPLACE VIEW llm_clusters.generation_items WITH (security_invoker = true) AS
SELECT e.team_id,
       e.uuid::text                       AS item_id,
       e.trace_id,
       e."timestamp"                      AS ts,
       emb.embedding,
       e.content,
       e.total_cost_usd                   AS cost_usd,
       e.latency_s,
       CASE WHEN e.input_tokens IS NOT NULL OR e.output_tokens IS NOT NULL
            THEN coalesce(e.input_tokens, 0) + coalesce(e.output_tokens, 0) END AS tokens,
       coalesce(e.is_error, false)        AS is_error,
       e.properties
FROM llm_clusters.events e
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = e.team_id AND emb.level = 'generation' AND emb.lens = 'request' AND emb.item_id = e.uuid::text
WHERE e.event = '$ai_generation';

CREATE OR REPLACE VIEW llm_clusters.trace_items WITH (security_invoker = true) AS
SELECT t.team_id,
       t.trace_id                                  AS item_id,
       t.trace_id,
       t.ts,
       coalesce(own.embedding, t.mean_embedding)   AS embedding,
       t.content,
       t.cost_usd,
       t.latency_s,
       t.tokens,
       t.is_error,
       (SELECT p.properties FROM llm_clusters.events p
         WHERE p.team_id = t.team_id AND p.trace_id = t.trace_id AND p.event <> '$ai_evaluation'
         ORDER BY p.event <> '$ai_trace', p."timestamp" LIMIT 1) AS properties
FROM (
    SELECT e.team_id,
           e.trace_id,
           min(e."timestamp") AS ts,
           sum(e.total_cost_usd) FILTER (WHERE e.event IN ('$ai_generation', '$ai_embedding')) AS cost_usd,
           sum(e.latency_s) FILTER (WHERE e.event = '$ai_generation') AS latency_s,
           sum(coalesce(e.input_tokens, 0) + coalesce(e.output_tokens, 0))
               FILTER (WHERE e.event IN ('$ai_generation', '$ai_embedding')
                         AND (e.input_tokens IS NOT NULL OR e.output_tokens IS NOT NULL))::bigint AS tokens,
           bool_or(coalesce(e.is_error, false)) AS is_error,
           left(string_agg(e.content, E'\n' ORDER BY e."timestamp")
                    FILTER (WHERE e.event = '$ai_generation'), 8000) AS content,
           llm_clusters.embedding_mean(g.embedding) AS mean_embedding
    FROM llm_clusters.events e
    LEFT JOIN llm_clusters.embeddings g
           ON e.event = '$ai_generation' AND g.team_id = e.team_id
          AND g.level = 'generation' AND g.lens = 'request' AND g.item_id = e.uuid::text
    -- Evaluations judge a trace after the fact; they are items of their own level.
    WHERE e.event <> '$ai_evaluation'
    GROUP BY e.team_id, e.trace_id
) t
LEFT JOIN llm_clusters.embeddings own
       ON own.team_id = t.team_id AND own.level = 'trace' AND own.lens = 'request' AND own.item_id = t.trace_id;

-- Items at level evaluation: one per $ai_evaluation event; the metrics are those of the
-- event it evaluated ($ai_target_event_id, when it is a stored event's uuid).
CREATE VIEW llm_clusters.evaluation_items WITH (security_invoker = true) AS
SELECT e.team_id,
       e.uuid::text                       AS item_id,
       e.trace_id,
       e."timestamp"                      AS ts,
       emb.embedding,
       e.content,
       g.total_cost_usd                   AS cost_usd,
       g.latency_s,
       CASE WHEN g.input_tokens IS NOT NULL OR g.output_tokens IS NOT NULL
            THEN coalesce(g.input_tokens, 0) + coalesce(g.output_tokens, 0) END AS tokens,
       coalesce(g.is_error, false)        AS is_error,
       e.properties
FROM llm_clusters.events e
LEFT JOIN llm_clusters.events g
       ON g.team_id = e.team_id AND g.event <> '$ai_evaluation'
      AND g.uuid = CASE WHEN e.properties->>'$ai_target_event_id' ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                        THEN (e.properties->>'$ai_target_event_id')::uuid END
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = e.team_id AND emb.level = 'evaluation' AND emb.lens = 'request' AND emb.item_id = e.uuid::text
WHERE e.event = '$ai_evaluation';

-- The lenses' items (params.lens answer, error, flow): the item views with the lens's
-- embedding and text (embed_pending(level, lens => ...)); the error lens's only items with an error.
CREATE VIEW llm_clusters.generation_answer_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.generation_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'generation' AND emb.lens = 'answer' AND emb.item_id = i.item_id;

CREATE VIEW llm_clusters.trace_answer_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.trace_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'trace' AND emb.lens = 'answer' AND emb.item_id = i.item_id;

CREATE VIEW llm_clusters.generation_error_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.generation_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'generation' AND emb.lens = 'error' AND emb.item_id = i.item_id
WHERE i.is_error;

CREATE VIEW llm_clusters.trace_error_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.trace_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'trace' AND emb.lens = 'error' AND emb.item_id = i.item_id
WHERE i.is_error;

CREATE VIEW llm_clusters.generation_flow_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.generation_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'generation' AND emb.lens = 'flow' AND emb.item_id = i.item_id;

CREATE VIEW llm_clusters.trace_flow_items WITH (security_invoker = true) AS
SELECT i.team_id, i.item_id, i.trace_id, i.ts, emb.embedding, emb.content, i.cost_usd, i.latency_s, i.tokens, i.is_error, i.properties
FROM llm_clusters.trace_items i
LEFT JOIN llm_clusters.embeddings emb
       ON emb.team_id = i.team_id AND emb.level = 'trace' AND emb.lens = 'flow' AND emb.item_id = i.item_id;

COMMENT ON VIEW llm_clusters.trace_items IS
    'Items at level trace: one per trace id ($ai_evaluation events left out). ts = first event; cost and tokens summed over generations and embedding events, latency over generations; is_error if any event erred; embedding = the trace''s own, else the normalised mean of its generations''; content = its generations'' text in time order (8,000 characters); properties = those of the $ai_trace event, else of the first event.';
COMMENT ON VIEW llm_clusters.evaluation_items IS
    'Items at level evaluation: one per $ai_evaluation event (item_id = event uuid); content = evaluator, verdict and reasoning; cost_usd, latency_s, tokens and is_error are those of the evaluated event ($ai_target_event_id), NULL (is_error false) when it is not stored.';
GRANT SELECT ON llm_clusters.evaluation_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.generation_answer_items IS
    'generation_items embedded through the answer lens: embedding and content are the model''s outputs (params.lens = "answer"); the source of generation jobs with that lens.';
GRANT SELECT ON llm_clusters.generation_answer_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.generation_error_items IS
    'generation_items embedded through the error lens: embedding and content are the failing steps and their messages, only items with an error (params.lens = "error"); the source of generation jobs with that lens.';
GRANT SELECT ON llm_clusters.generation_error_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.generation_flow_items IS
    'generation_items embedded through the flow lens: embedding and content are the steps, tools and models in order (params.lens = "flow"); the source of generation jobs with that lens.';
GRANT SELECT ON llm_clusters.generation_flow_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.trace_answer_items IS
    'trace_items embedded through the answer lens: embedding and content are the model''s outputs (params.lens = "answer"); the source of trace jobs with that lens.';
GRANT SELECT ON llm_clusters.trace_answer_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.trace_error_items IS
    'trace_items embedded through the error lens: embedding and content are the failing steps and their messages, only items with an error (params.lens = "error"); the source of trace jobs with that lens.';
GRANT SELECT ON llm_clusters.trace_error_items TO llm_clusters_reader;
COMMENT ON VIEW llm_clusters.trace_flow_items IS
    'trace_items embedded through the flow lens: embedding and content are the steps, tools and models in order (params.lens = "flow"); the source of trace jobs with that lens.';
GRANT SELECT ON llm_clusters.trace_flow_items TO llm_clusters_reader;

-- embed_pending takes a lens (its two-argument calls stay valid through the default).
DROP FUNCTION llm_clusters.embed_pending(text, int);
DROP FUNCTION llm_clusters._embed_pending(text, int);
CREATE FUNCTION llm_clusters."_embed_pending"(
	"level" TEXT,
	"max_items" INT,
	"lens" TEXT
) RETURNS bigint
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'embed_pending_wrapper';
CREATE FUNCTION llm_clusters.embed_pending(level text DEFAULT 'generation', max_items int DEFAULT 10000,
                                           lens text DEFAULT 'request')
RETURNS bigint
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._embed_pending(level, max_items, lens) $$;

COMMENT ON FUNCTION llm_clusters.embed_pending(text, int, text) IS
    'Embeds up to max_items items of the level (newest first) that have no embedding of the lens, into llm_clusters.embeddings, with llm_clusters.embedder (embeddings.model records which). Lens request: a generation from its user messages (latest first), a trace from its distinct user messages in order, the content when there are none; an evaluation from its evaluator, verdict and reasoning. Lens answer: the model''s outputs; error: the failing steps with their messages (only items with an error); flow: the steps, tools and models in order. Works in batches of 256: a cancel or statement_timeout keeps the batches done (WARNING). Returns how many usable embeddings it stored.';
COMMENT ON FUNCTION llm_clusters._embed_pending(text, int, text) IS 'Internal: use llm_clusters.embed_pending().';
REVOKE EXECUTE ON FUNCTION llm_clusters.embed_pending(text, int, text), llm_clusters._embed_pending(text, int, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.embed_pending(text, int, text), llm_clusters._embed_pending(text, int, text) TO llm_clusters_admin;

-- Job validation knows the level (a lens must suit it); the default source follows the lens.
DROP FUNCTION llm_clusters._validate_job(oid, jsonb, jsonb);
CREATE FUNCTION llm_clusters."_validate_job"(
	"source" oid,
	"filters" jsonb,
	"params" jsonb,
	"level" TEXT
) RETURNS bool
STRICT VOLATILE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'validate_job_wrapper';
COMMENT ON FUNCTION llm_clusters._validate_job(oid, jsonb, jsonb, text) IS 'Internal: checks a job''s source columns, filters and params, and that its lens suits its level.';
REVOKE EXECUTE ON FUNCTION llm_clusters._validate_job(oid, jsonb, jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters._validate_job(oid, jsonb, jsonb, text) TO llm_clusters_admin;
CREATE OR REPLACE FUNCTION llm_clusters._jobs_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- The lens the default source follows (params.embed = "summary" is the summary lens);
    -- _validate_job checks it.
    lens text := CASE WHEN NEW.params->>'embed' = 'summary' THEN 'summary' ELSE coalesce(NEW.params->>'lens', 'request') END;
BEGIN
    IF TG_OP = 'INSERT' OR NEW.team_id IS DISTINCT FROM OLD.team_id THEN
        -- create_job serialises inserts (LOCK TABLE, which readers cannot take; an
        -- advisory lock anyone can hold would let any role stall every team's inserts).
        IF (SELECT count(*) FROM llm_clusters.jobs WHERE team_id = NEW.team_id)
           >= llm_clusters._max_jobs_per_team() THEN
            RAISE EXCEPTION 'team % already has % jobs, the most llm_clusters.max_jobs_per_team allows',
                NEW.team_id, llm_clusters._max_jobs_per_team()
                USING ERRCODE = 'program_limit_exceeded',
                      HINT = 'Delete or reuse a job, or raise llm_clusters.max_jobs_per_team.';
        END IF;
    END IF;
    -- The owner: the creator unless named, and only a role the writer is a member of.
    IF TG_OP = 'INSERT' THEN
        NEW.owner := coalesce(NEW.owner, pg_catalog.to_regrole(pg_catalog.quote_ident(current_user)));
    END IF;
    IF (TG_OP = 'INSERT' OR NEW.owner IS DISTINCT FROM OLD.owner)
       AND NOT pg_catalog.pg_has_role(current_user, NEW.owner, 'MEMBER') THEN
        RAISE EXCEPTION 'role "%" may not make role "%" the owner of a job', current_user, NEW.owner
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A job''s owner must be a role you are a member of.';
    END IF;
    -- What a run reads and does is the owner's to choose: changing it on a job of another
    -- owner would run the writer's choice (a view of its own) with that owner's rights.
    IF TG_OP = 'UPDATE'
       AND (NEW.source, NEW.filters, NEW.params, NEW.level, NEW.team_id)
           IS DISTINCT FROM (OLD.source, OLD.filters, OLD.params, OLD.level, OLD.team_id)
       AND NOT pg_catalog.pg_has_role(current_user, NEW.owner, 'MEMBER') THEN
        RAISE EXCEPTION 'role "%" may not change what job "%" reads: its owner is role "%"', current_user, NEW.name, NEW.owner
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Make the job yours first (SET owner = current_user), or ask its owner.';
    END IF;
    -- The default source follows the level and the lens (params.lens, params.embed).
    IF NEW.source IS NULL OR NEW.source IN (
           'llm_clusters.trace_items'::regclass, 'llm_clusters.generation_items'::regclass,
           'llm_clusters.trace_summary_items'::regclass, 'llm_clusters.generation_summary_items'::regclass,
           'llm_clusters.trace_answer_items'::regclass, 'llm_clusters.generation_answer_items'::regclass,
           'llm_clusters.trace_error_items'::regclass, 'llm_clusters.generation_error_items'::regclass,
           'llm_clusters.trace_flow_items'::regclass, 'llm_clusters.generation_flow_items'::regclass,
           'llm_clusters.evaluation_items'::regclass) THEN
        NEW.source := CASE WHEN NEW.level = 'evaluation' THEN 'llm_clusters.evaluation_items'::regclass
                           WHEN NEW.level = 'trace' THEN
                               CASE lens WHEN 'summary' THEN 'llm_clusters.trace_summary_items'::regclass
                                         WHEN 'answer' THEN 'llm_clusters.trace_answer_items'::regclass
                                         WHEN 'error' THEN 'llm_clusters.trace_error_items'::regclass
                                         WHEN 'flow' THEN 'llm_clusters.trace_flow_items'::regclass
                                         ELSE 'llm_clusters.trace_items'::regclass END
                           ELSE
                               CASE lens WHEN 'summary' THEN 'llm_clusters.generation_summary_items'::regclass
                                         WHEN 'answer' THEN 'llm_clusters.generation_answer_items'::regclass
                                         WHEN 'error' THEN 'llm_clusters.generation_error_items'::regclass
                                         WHEN 'flow' THEN 'llm_clusters.generation_flow_items'::regclass
                                         ELSE 'llm_clusters.generation_items'::regclass END END;
    ELSIF NEW.params->>'embed' = 'summary' THEN
        RAISE EXCEPTION 'params.embed = "summary" chooses the default source; job "%" reads its own source %', NEW.name, NEW.source
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Leave source out, or give your source an embedding column of the summaries.';
    ELSIF lens <> 'request' THEN
        RAISE EXCEPTION 'params.lens "%" chooses the default source; job "%" reads its own source %', lens, NEW.name, NEW.source
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Leave source out, or leave params.lens (and params.embed) out and give your source the embeddings you want clustered.';
    END IF;
    -- Only what changed is checked: a job whose source was dropped can still be disabled.
    IF TG_OP = 'INSERT' OR (NEW.source, NEW.filters, NEW.params, NEW.level) IS DISTINCT FROM (OLD.source, OLD.filters, OLD.params, OLD.level) THEN
        PERFORM llm_clusters._validate_job(NEW.source, NEW.filters, NEW.params, NEW.level);
    END IF;
    -- Runs read the source as the owner: the owner must be allowed to read it.
    IF (TG_OP = 'INSERT' OR (NEW.source, NEW.owner) IS DISTINCT FROM (OLD.source, OLD.owner))
       AND NOT llm_clusters._owner_may_read(NEW.owner, NEW.source) THEN
        RAISE EXCEPTION 'role "%", the owner of job "%", may not read its source %', NEW.owner, NEW.name, NEW.source
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Grant SELECT on the relation (and USAGE on its schema) to the owner, or choose another owner.';
    END IF;
    -- An INSERT keeps the times it is given, so that a restored dump keeps its rows as they were.
    NEW.enabled_at := CASE WHEN NOT NEW.enabled THEN NULL
                           WHEN TG_OP = 'UPDATE' AND OLD.enabled THEN OLD.enabled_at
                           WHEN TG_OP = 'INSERT' THEN coalesce(NEW.enabled_at, now())
                           ELSE now() END;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$;


-- Evaluation runs' pass rate, N/A rate and main evaluator (sql/evaluations.sql as it is).
CREATE FUNCTION llm_clusters."_evaluation_verdict"(
	"result" jsonb,
	"applicable" jsonb
) RETURNS TEXT
IMMUTABLE PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'evaluation_verdict_wrapper';
ALTER TABLE llm_clusters.clusters
    ADD COLUMN pass_rate      float8,
    ADD COLUMN na_rate        float8,
    ADD COLUMN main_evaluator text;
ALTER TABLE llm_clusters.themes
    ADD COLUMN pass_rate      float8,
    ADD COLUMN na_rate        float8,
    ADD COLUMN main_evaluator text;

COMMENT ON COLUMN llm_clusters.clusters.pass_rate IS
    'Evaluation runs: the share of passes among the cluster''s applicable verdicts ($ai_evaluation_result true, of true or false; NULL when none applied); NULL at other levels.';
COMMENT ON COLUMN llm_clusters.clusters.na_rate IS
    'Evaluation runs: the share of the cluster''s items whose $ai_evaluation_applicable is false (N/A); NULL at other levels.';
COMMENT ON COLUMN llm_clusters.clusters.main_evaluator IS
    'Evaluation runs: the $ai_evaluation_name most of the cluster''s items have (200 characters); NULL at other levels.';
COMMENT ON COLUMN llm_clusters.themes.pass_rate IS
    'Evaluation runs: the share of passes among the theme''s applicable verdicts; NULL at other levels.';
COMMENT ON COLUMN llm_clusters.themes.na_rate IS
    'Evaluation runs: the share of the theme''s items that were not applicable (N/A); NULL at other levels.';
COMMENT ON COLUMN llm_clusters.themes.main_evaluator IS
    'Evaluation runs: the $ai_evaluation_name most of the theme''s items have; NULL at other levels.';

COMMENT ON FUNCTION llm_clusters._evaluation_verdict(jsonb, jsonb) IS
    'Internal: pass, fail, n/a or unknown from an $ai_evaluation''s $ai_evaluation_result and $ai_evaluation_applicable (what the pass and N/A rates count).';
-- Runs read their source as the job's owner (a reader at least), who calls it there.
REVOKE EXECUTE ON FUNCTION llm_clusters._evaluation_verdict(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters._evaluation_verdict(jsonb, jsonb) TO llm_clusters_reader;

-- The views that show them (and the runs' lens).
CREATE OR REPLACE VIEW llm_clusters.run_list WITH (security_invoker = true) AS
SELECT r.id AS run_id, r.team_id, r.job_id, r.job_name, r.level, r.window_start, r.window_end, r.cycle,
       r.status, r.error, r.n_items, r.n_clusters, r.n_outliers, r.started_at, r.finished_at,
       extract(epoch FROM r.finished_at - r.started_at)::float8 AS duration_s, r.lens
FROM llm_clusters.runs r;

CREATE OR REPLACE VIEW llm_clusters.latest_runs WITH (security_invoker = true) AS
SELECT DISTINCT ON (l.team_id, l.job_id) l.*
FROM llm_clusters.run_list l
WHERE l.status = 'succeeded' AND l.job_id IS NOT NULL
ORDER BY l.team_id, l.job_id, l.window_end DESC, l.run_id DESC;

CREATE OR REPLACE VIEW llm_clusters.cluster_cards WITH (security_invoker = true) AS
SELECT c.team_id, c.run_id, r.job_id, r.level, c.cluster_id, c.stable_id, c.title, c.description, c.keywords,
       c.size, c.share, c.avg_cost_usd, c.avg_latency_s, c.avg_tokens, c.error_rate, c.total_cost_usd, c.p95_latency_s,
       c.cluster_id = -1 AS is_outliers,
       row_number() OVER (PARTITION BY c.team_id, c.run_id ORDER BY c.cluster_id = -1, c.size DESC, c.cluster_id) AS position,
       c.theme_id, t.title AS theme_title, c.pass_rate, c.na_rate, c.main_evaluator
FROM llm_clusters.clusters c
JOIN llm_clusters.runs r ON r.team_id = c.team_id AND r.id = c.run_id
LEFT JOIN llm_clusters.themes t ON t.team_id = c.team_id AND t.run_id = c.run_id AND t.theme_id = c.theme_id;

CREATE OR REPLACE VIEW llm_clusters.theme_cards WITH (security_invoker = true) AS
SELECT t.team_id, t.run_id, r.job_id, r.level, t.theme_id, t.title, t.description, t.keywords,
       t.size, t.share, t.avg_cost_usd, t.avg_latency_s, t.avg_tokens, t.error_rate, t.total_cost_usd, t.p95_latency_s,
       (SELECT count(*) FROM llm_clusters.clusters c
        WHERE c.team_id = t.team_id AND c.run_id = t.run_id AND c.theme_id = t.theme_id)::int AS n_clusters,
       (SELECT array_agg(c.title ORDER BY c.size DESC, c.cluster_id) FROM llm_clusters.clusters c
        WHERE c.team_id = t.team_id AND c.run_id = t.run_id AND c.theme_id = t.theme_id) AS cluster_titles,
       row_number() OVER (PARTITION BY t.team_id, t.run_id ORDER BY t.size DESC, t.theme_id) AS position,
       t.pass_rate, t.na_rate, t.main_evaluator
FROM llm_clusters.themes t
JOIN llm_clusters.runs r ON r.team_id = t.team_id AND r.id = t.run_id;

COMMENT ON VIEW llm_clusters.run_list IS
    'Every run, for a run selector: job, level, window, status, counts, duration and lens. Filter by level or job_id; order by run_id DESC.';

COMMENT ON VIEW llm_clusters.cluster_cards IS
    'Per cluster of a run: title, description, size, share and metrics, its theme (theme_id, theme_title; NULL for Outliers); position orders the cards by size with Outliers last; evaluation runs: pass_rate, na_rate, main_evaluator.';

COMMENT ON VIEW llm_clusters.theme_cards IS
    'Per theme of a run: title, description, size, share, metrics, how many clusters it groups and their titles (largest first); position orders the cards by size; evaluation runs: pass_rate, na_rate, main_evaluator.';

