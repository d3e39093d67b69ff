-- API keys for capture over HTTP (llm-clusters-server). A key belongs to one team; only
-- its SHA-256 is stored, so the key itself is shown once, by create_api_key. The server
-- connects as a member of llm_clusters_ingest, which may run capture_with_key and nothing
-- else (its grant is at the end of this file).

CREATE TABLE llm_clusters.api_keys (
    team_id     int          NOT NULL,
    key_hash    bytea        NOT NULL,
    key_prefix  text         NOT NULL,
    label       text,
    created_at  timestamptz  NOT NULL DEFAULT now(),
    created_by  name         NOT NULL DEFAULT current_user,
    revoked_at  timestamptz,
    PRIMARY KEY (team_id, key_hash)
);
ALTER TABLE llm_clusters.api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON llm_clusters.api_keys
    USING (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr))
    WITH CHECK (team_id IN (SELECT tr.team_id FROM llm_clusters.team_roles tr));
GRANT SELECT ON llm_clusters.api_keys TO llm_clusters_reader;
GRANT INSERT, UPDATE (label, revoked_at) ON llm_clusters.api_keys TO llm_clusters_admin;
COMMENT ON TABLE llm_clusters.api_keys IS
    'Keys for capture over HTTP (llm-clusters-server), one team each. Only the SHA-256 of a key is stored; key_prefix (its first 12 characters) tells keys apart.';
COMMENT ON COLUMN llm_clusters.api_keys.key_hash IS 'sha256 of the key''s UTF-8 text.';
COMMENT ON COLUMN llm_clusters.api_keys.revoked_at IS 'When revoke_api_key revoked it; NULL while the key is valid.';
-- A key arrives without its team: the lookup is by hash alone, so a hash is one team's, for
-- good (revoked keys included: no team can register a key another team revoked).
CREATE UNIQUE INDEX api_keys_key_hash ON llm_clusters.api_keys (key_hash);
-- Revocation is final: revoked_at, once set, never changes.
CREATE FUNCTION llm_clusters._api_keys_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN
        RAISE EXCEPTION 'api key % is revoked: revocation is final', OLD.key_prefix
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Create a new key with llm_clusters.create_api_key(team_id).';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER api_keys_check BEFORE UPDATE ON llm_clusters.api_keys
    FOR EACH ROW EXECUTE FUNCTION llm_clusters._api_keys_check();
REVOKE EXECUTE ON FUNCTION llm_clusters._api_keys_check() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters._api_keys_check() TO llm_clusters_admin;
COMMENT ON FUNCTION llm_clusters._api_keys_check() IS 'Internal: keeps revocations of API keys final.';
SELECT pg_catalog.pg_extension_config_dump('llm_clusters.api_keys', '');

CREATE FUNCTION llm_clusters.create_api_key(team_id int DEFAULT 1, label text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- Two random UUIDs: 244 random bits from the server's strong random source.
    new_key text := 'llmc_' || replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
BEGIN
    IF create_api_key.team_id IS NULL THEN
        RAISE EXCEPTION 'team_id must not be null' USING ERRCODE = '22004';
    END IF;
    INSERT INTO llm_clusters.api_keys (team_id, key_hash, key_prefix, label)
    VALUES (create_api_key.team_id, sha256(convert_to(new_key, 'UTF8')), left(new_key, 12),
            create_api_key.label);
    RETURN new_key;
END
$$;

CREATE FUNCTION llm_clusters.revoke_api_key(key text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hash bytea := sha256(convert_to(coalesce(revoke_api_key.key, ''), 'UTF8'));
BEGIN
    UPDATE llm_clusters.api_keys k SET revoked_at = now()
    WHERE k.key_hash = hash AND k.revoked_at IS NULL;
    IF FOUND THEN
        RETURN true;
    END IF;
    IF EXISTS (SELECT 1 FROM llm_clusters.api_keys k WHERE k.key_hash = hash) THEN
        RETURN false;
    END IF;
    RAISE EXCEPTION 'no such api key'
        USING ERRCODE = '42704',
              HINT = 'Keys are shown once, by create_api_key; llm_clusters.api_keys lists each key''s first 12 characters (key_prefix).';
END
$$;

-- The one SECURITY DEFINER function: the ingest role may store events only for the team
-- of a key it presents, and may read nothing (it has no other privilege).
CREATE FUNCTION llm_clusters.capture_with_key(api_key text, payload jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    key_team int;
BEGIN
    SELECT k.team_id INTO key_team FROM llm_clusters.api_keys k
    WHERE k.key_hash = sha256(convert_to(coalesce(capture_with_key.api_key, ''), 'UTF8'))
      AND k.revoked_at IS NULL;
    IF key_team IS NULL THEN
        RAISE EXCEPTION 'invalid api key'
            USING ERRCODE = '28000',
                  HINT = 'Create a key with llm_clusters.create_api_key(team_id); revoked keys stay invalid.';
    END IF;
    RETURN llm_clusters.capture(payload, key_team);
END
$$;

COMMENT ON FUNCTION llm_clusters.create_api_key(int, text) IS
    'Creates an API key for a team and returns it; it is shown only this once (only its hash is stored). label says what it is for.';
COMMENT ON FUNCTION llm_clusters.revoke_api_key(text) IS
    'Revokes a key: true when revoked now, false when it was already revoked; error 42704 when no key of your teams matches.';
COMMENT ON FUNCTION llm_clusters.capture_with_key(text, jsonb) IS
    'capture() under the team of a valid API key (error 28000 otherwise). What llm-clusters-server calls, as a member of llm_clusters_ingest.';

-- What writes is for admins only (EXECUTE is PUBLIC by default).
REVOKE EXECUTE ON FUNCTION
    llm_clusters.create_api_key(int, text),
    llm_clusters.revoke_api_key(text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    llm_clusters.create_api_key(int, text),
    llm_clusters.revoke_api_key(text)
    TO llm_clusters_admin;

-- The ingest role: the schema (teams.sql) and this one function, nothing else.
REVOKE EXECUTE ON FUNCTION llm_clusters.capture_with_key(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llm_clusters.capture_with_key(text, jsonb) TO llm_clusters_ingest;
