-- Helpers for the other regression tests (they run in one database, in schedule order).
CREATE EXTENSION llm_clusters;
CREATE SCHEMA regress;
-- The SQLSTATE and message of a statement's error, or 'no error'.
CREATE FUNCTION regress.error_of(statement text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT extname, extversion FROM pg_extension WHERE extname = 'llm_clusters';
