-- The privacy floor (src/privacy.rs): llm_clusters.min_distinct_users. A run counts the
-- distinct users of each of its clusters and themes (llm_clusters.distinct_users); every
-- reading view, function and page compares that count with the setting when it is read and
-- shows a group below it as "Small cluster" ("Small theme") with its size and metrics but
-- no text drawn from its items: no title, description, keywords, previews or summaries.
-- The setting is for superusers only (PGC_SUSET): neither a reader nor a team admin can
-- lower it. What the floor does not cover: the raw tables a reader may read (events, the
-- item views, item_summaries, and the text columns of clusters and themes, which runs,
-- steering and AI labels write): a role meant to see only floored results must not be
-- granted llm_clusters_reader (see the README's security model).

CREATE TABLE llm_clusters.distinct_users (
    team_id   int     NOT NULL,
    run_id    bigint  NOT NULL,
    grouping  text    NOT NULL CHECK (grouping IN ('cluster', 'theme')),
    -- cluster_id (-1: Outliers) or theme_id.
    group_id  int     NOT NULL,
    users     int     NOT NULL CHECK (users >= 0),
    PRIMARY KEY (team_id, run_id, grouping, group_id),
    CONSTRAINT group_id_range CHECK (group_id BETWEEN -1 AND 9999),
    FOREIGN KEY (team_id, run_id) REFERENCES llm_clusters.runs (team_id, id) ON DELETE CASCADE
);
ALTER TABLE llm_clusters.distinct_users ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.distinct_users
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.distinct_users TO llm_clusters_reader;
-- UPDATE of users: steering counts a run's changed groups again (per column: no LOCK TABLE mode).
GRANT INSERT, UPDATE (users) ON llm_clusters.distinct_users TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.distinct_users IS
    'How many distinct users (events.distinct_id of the items'' traces) each cluster (grouping = cluster, group_id = cluster_id, -1 for Outliers) and theme (grouping = theme) of a run holds, counted by the run; compared with llm_clusters.min_distinct_users when results are read.';
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.distinct_users', '');

COMMENT ON FUNCTION llm_clusters._min_distinct_users() IS
    'Internal: the llm_clusters.min_distinct_users in force, read through the library (so that the setting is defined before a view compares with it).';

CREATE FUNCTION llm_clusters._below_floor(users int)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
-- A group without a count (a run from before 0.7.0) is below any floor that is on.
AS $$ SELECT llm_clusters._min_distinct_users() > 1 AND coalesce(users, 0) < llm_clusters._min_distinct_users() $$;
COMMENT ON FUNCTION llm_clusters._below_floor(int) IS
    'Internal: whether a group with this many distinct users (NULL: not counted) is below llm_clusters.min_distinct_users, so that its texts are hidden.';

CREATE FUNCTION llm_clusters._floored_cluster_title(cluster_id int, title text, users int)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN NOT llm_clusters._below_floor(users) THEN title
                WHEN cluster_id = -1 THEN 'Outliers' ELSE 'Small cluster' END
$$;
COMMENT ON FUNCTION llm_clusters._floored_cluster_title(int, text, int) IS
    'Internal: a cluster''s title as readers see it: Small cluster (Outliers for cluster -1) below the privacy floor.';

CREATE FUNCTION llm_clusters._floored_theme_title(title text, users int)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN llm_clusters._below_floor(users) THEN 'Small theme' ELSE title END $$;
COMMENT ON FUNCTION llm_clusters._floored_theme_title(text, int) IS
    'Internal: a theme''s title as readers see it: Small theme below the privacy floor.';

CREATE FUNCTION llm_clusters._floored_description(description text, users int)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN llm_clusters._below_floor(users)
                THEN format('Items of fewer than %s distinct users: their texts are not shown (llm_clusters.min_distinct_users).',
                            llm_clusters._min_distinct_users())
                ELSE description END
$$;
COMMENT ON FUNCTION llm_clusters._floored_description(text, int) IS
    'Internal: a cluster''s or theme''s description as readers see it: a note without its items'' text below the privacy floor.';

CREATE FUNCTION llm_clusters._floored_keywords(keywords text[], users int)
RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN llm_clusters._below_floor(users) THEN '{}'::text[] ELSE keywords END $$;
COMMENT ON FUNCTION llm_clusters._floored_keywords(text[], int) IS
    'Internal: a cluster''s or theme''s keywords as readers see them: none below the privacy floor.';

REVOKE EXECUTE ON FUNCTION
    llm_clusters._min_distinct_users(),
    llm_clusters._below_floor(int),
    llm_clusters._floored_cluster_title(int, text, int),
    llm_clusters._floored_theme_title(text, int),
    llm_clusters._floored_description(text, int),
    llm_clusters._floored_keywords(text[], int)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters._min_distinct_users(),
    llm_clusters._below_floor(int),
    llm_clusters._floored_cluster_title(int, text, int),
    llm_clusters._floored_theme_title(text, int),
    llm_clusters._floored_description(text, int),
    llm_clusters._floored_keywords(text[], int)
    TO llm_clusters_reader;
