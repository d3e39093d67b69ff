-- Pages: self-contained HTML of a run or one of its clusters (report_html) and of one
-- trace's timeline (trace_html), gathered in src/pages.rs and rendered by the engine.

CREATE FUNCTION llm_clusters.report_html(run_id bigint, cluster_id int DEFAULT NULL)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._report_html(run_id, cluster_id) $$;

CREATE FUNCTION llm_clusters.trace_html(trace_id text, team_id int DEFAULT 1)
RETURNS text
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llm_clusters._trace_html(trace_id, team_id) $$;

COMMENT ON FUNCTION llm_clusters.report_html(bigint, int) IS
    'A self-contained HTML page of a run (distribution bar, map, cluster cards) or, with cluster_id, of one cluster (its map and its items in rank order). Dots link through llm_clusters.report_item_url.';
COMMENT ON FUNCTION llm_clusters._report_html(bigint, int) IS 'Internal: use llm_clusters.report_html().';
COMMENT ON FUNCTION llm_clusters.trace_html(text, int) IS
    'A self-contained HTML page with the trace''s full timeline: each step on a time axis with its duration, nested spans, inputs and outputs (escaped, long ones folded), model, tokens, cost, errors highlighted, its summary and the clusters it is in. Error P0002 when the team has no such trace.';
COMMENT ON FUNCTION llm_clusters._trace_html(text, int) IS 'Internal: use llm_clusters.trace_html().';

-- Pages are for readers, not PUBLIC (the ingest role runs capture_with_key only).
REVOKE EXECUTE ON FUNCTION
    llm_clusters.report_html(bigint, int),
    llm_clusters._report_html(bigint, int),
    llm_clusters.trace_html(text, int),
    llm_clusters._trace_html(text, int)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters.report_html(bigint, int),
    llm_clusters._report_html(bigint, int),
    llm_clusters.trace_html(text, int),
    llm_clusters._trace_html(text, int)
    TO llm_clusters_reader;
