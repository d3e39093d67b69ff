-- Attack: registering another team's API key. A key's hash is one team's, across all teams
-- and for good: another team cannot store it (23505), before or after it is revoked, and a
-- revoked key stays revoked.
BEGIN;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
CREATE ROLE regress_key_thief NOLOGIN IN ROLE llm_clusters_admin;
CREATE ROLE regress_key_owner NOLOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (2, 'regress_key_thief'), (1, 'regress_key_owner');
SET ROLE regress_key_owner;
SELECT llm_clusters.create_api_key(1, 'web') AS key \gset
RESET ROLE;
SET ROLE regress_key_thief;
SELECT regress.error_of(format($$INSERT INTO llm_clusters.api_keys (team_id, key_hash, key_prefix)
    VALUES (2, sha256(convert_to(%L, 'UTF8')), 'stolen')$$, :'key')) ~ '^23505' AS refused_while_valid;
-- Nor by moving a key of its own onto that hash, or into another team.
SELECT llm_clusters.create_api_key(2, 'own') AS own_key \gset
SELECT regress.error_of(format($$UPDATE llm_clusters.api_keys SET key_hash = sha256(convert_to(%L, 'UTF8')) WHERE team_id = 2$$, :'key'));
SELECT regress.error_of($$UPDATE llm_clusters.api_keys SET team_id = 1 WHERE team_id = 2$$);
RESET ROLE;
SELECT team_id FROM llm_clusters.api_keys WHERE key_hash = sha256(convert_to(:'key', 'UTF8'));
-- Revoked: final, and still nobody else's.
SET ROLE regress_key_owner;
SELECT llm_clusters.revoke_api_key(:'key') AS revoked;
SELECT regexp_replace(regress.error_of($$UPDATE llm_clusters.api_keys SET revoked_at = NULL WHERE team_id = 1$$), 'llmc_\w+', 'KEY') AS unrevoke;
RESET ROLE;
SELECT regexp_replace(regress.error_of($$UPDATE llm_clusters.api_keys SET revoked_at = NULL WHERE team_id = 1$$), 'llmc_\w+', 'KEY') AS even_for_superusers;
SET ROLE regress_key_thief;
SELECT regress.error_of(format($$INSERT INTO llm_clusters.api_keys (team_id, key_hash, key_prefix)
    VALUES (2, sha256(convert_to(%L, 'UTF8')), 'stolen')$$, :'key')) ~ '^23505' AS refused_after_revocation;
RESET ROLE;
SELECT regress.error_of(format($$SELECT llm_clusters.capture_with_key(%L, '{"event": "$ai_generation", "properties": {"$ai_trace_id": "t"}}')$$, :'key'));
ROLLBACK;
