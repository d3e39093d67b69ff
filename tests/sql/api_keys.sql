-- API keys and the ingest role: a key stores events of its own team only, only its hash
-- is kept, revoked or wrong keys are refused with 28000, and the role the HTTP server
-- connects as may run capture_with_key and nothing else.
BEGIN;
CREATE ROLE regress_keys_admin NOLOGIN IN ROLE llm_clusters_admin;    -- admin of team 7
CREATE ROLE regress_keys_other NOLOGIN IN ROLE llm_clusters_admin;    -- admin of team 8
CREATE ROLE regress_server NOLOGIN IN ROLE llm_clusters_ingest;       -- what the server logs in as
INSERT INTO llm_clusters.team_roles VALUES (7, 'regress_keys_admin'), (8, 'regress_keys_other');
GRANT USAGE ON SCHEMA regress TO PUBLIC;
GRANT EXECUTE ON FUNCTION regress.error_of(text) TO PUBLIC;
CREATE TEMP TABLE keys (name text PRIMARY KEY, key text);
GRANT ALL ON keys TO PUBLIC;

-- An admin creates a key for their team; it is shown once, and only its hash is stored.
SET LOCAL ROLE regress_keys_admin;
INSERT INTO keys SELECT 'seven', llm_clusters.create_api_key(7, label => 'staging server');
INSERT INTO keys SELECT 'seven b', llm_clusters.create_api_key(7);
SELECT key ~ '^llmc_[0-9a-f]{64}$' AS key_format, length(key) FROM keys WHERE name = 'seven';
SELECT count(*) AS keys_of_team_7, bool_and(k.key_hash = sha256(convert_to(keys.key, 'UTF8'))) AS hash_only,
       bool_and(k.key_prefix = left(keys.key, 12)) AS prefix,
       bool_and(NOT EXISTS (SELECT 1 FROM llm_clusters.api_keys a WHERE a.key_prefix = keys.key OR a.label = keys.key)) AS key_not_stored
FROM llm_clusters.api_keys k JOIN keys ON k.key_hash = sha256(convert_to(keys.key, 'UTF8'));
SELECT (SELECT key FROM keys WHERE name = 'seven') <> (SELECT key FROM keys WHERE name = 'seven b') AS keys_differ;
-- Not for another team, and not as a reader or as the ingest role.
SELECT regress.error_of($$SELECT llm_clusters.create_api_key(8)$$) AS other_team;
RESET ROLE;
SET LOCAL ROLE regress_keys_other;
INSERT INTO keys SELECT 'eight', llm_clusters.create_api_key(8);
SELECT count(*) AS team_8_sees_keys_of_team_7 FROM llm_clusters.api_keys WHERE team_id = 7;
-- Revoking another team's key: it does not exist for them.
SELECT regress.error_of(format('SELECT llm_clusters.revoke_api_key(%L)', (SELECT key FROM keys WHERE name = 'seven'))) AS revoke_other_team;
RESET ROLE;
SET LOCAL ROLE regress_server;
SELECT regress.error_of($$SELECT llm_clusters.create_api_key(7)$$) AS ingest_creates_key;
RESET ROLE;
SELECT regress.error_of($$SELECT llm_clusters.create_api_key(NULL)$$) AS null_team;

-- The ingest role stores events under the key's team, whatever the payload says.
SET LOCAL ROLE regress_server;
SELECT llm_clusters.capture_with_key((SELECT key FROM keys WHERE name = 'seven'),
    '{"batch": [{"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000007a1", "distinct_id": "u1",
                 "properties": {"$ai_trace_id": "k7", "$ai_input": "reset my password", "team_id": 8}},
                {"event": "$ai_span", "uuid": "00000000-0000-0000-0000-0000000007a2",
                 "properties": {"$ai_trace_id": "k7", "$ai_span_name": "retrieve"}}],
      "api_key": "ignored", "sent_at": "2026-12-01T00:00:00Z"}') AS stored_for_7;
-- A retried request stores nothing twice.
SELECT llm_clusters.capture_with_key((SELECT key FROM keys WHERE name = 'seven'),
    '[{"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000007a1", "properties": {"$ai_trace_id": "k7"}}]') AS stored_again;
SELECT llm_clusters.capture_with_key((SELECT key FROM keys WHERE name = 'eight'),
    '{"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000008a1", "properties": {"$ai_trace_id": "k8"}}') AS stored_for_8;
-- Wrong, empty and NULL keys; a bad event rejects the whole call.
SELECT regress.error_of($$SELECT llm_clusters.capture_with_key('llmc_wrong', '{"event": "$ai_span", "properties": {"$ai_trace_id": "x"}}')$$) AS wrong_key;
SELECT regress.error_of($$SELECT llm_clusters.capture_with_key('', '[]')$$) AS empty_key;
SELECT regress.error_of($$SELECT llm_clusters.capture_with_key(NULL, '[]')$$) AS null_key;
SELECT regress.error_of(format($$SELECT llm_clusters.capture_with_key(%L, '[{"event": "$ai_span", "properties": {"$ai_trace_id": "ok"}}, {"event": "$pageview"}]')$$,
                               (SELECT key FROM keys WHERE name = 'seven'))) AS bad_event;
-- The ingest role can read nothing and write nothing else.
SELECT regress.error_of('SELECT count(*) FROM llm_clusters.events') AS read_events;
SELECT regress.error_of('SELECT count(*) FROM llm_clusters.api_keys') AS read_keys;
SELECT regress.error_of('SELECT count(*) FROM llm_clusters.cluster_cards') AS read_cards;
SELECT regress.error_of('SELECT count(*) FROM llm_clusters.team_roles') AS read_team_roles;
SELECT regress.error_of($$SELECT llm_clusters.capture('{"event": "$ai_span", "properties": {"$ai_trace_id": "x"}}', 7)$$) AS capture_directly;
SELECT regress.error_of($$INSERT INTO llm_clusters.events (uuid, team_id, event, "timestamp", trace_id, properties) VALUES (gen_random_uuid(), 7, '$ai_span', now(), 'x', '{}')$$) AS insert_directly;
SELECT regress.error_of($$SELECT llm_clusters.revoke_api_key('llmc_x')$$) AS revoke_as_ingest;
RESET ROLE;
SELECT team_id, trace_id, event, distinct_id FROM llm_clusters.events WHERE trace_id IN ('k7', 'k8', 'ok') ORDER BY uuid;

-- Revoked keys are refused; revoking twice says false; an unknown key is an error.
SET LOCAL ROLE regress_keys_admin;
SELECT llm_clusters.revoke_api_key((SELECT key FROM keys WHERE name = 'seven')) AS revoked;
SELECT llm_clusters.revoke_api_key((SELECT key FROM keys WHERE name = 'seven')) AS revoked_again;
SELECT regress.error_of($$SELECT llm_clusters.revoke_api_key('llmc_never_issued')$$) AS unknown_key;
SELECT label IS NULL AS b_has_no_label, revoked_at IS NULL AS b_still_valid FROM llm_clusters.api_keys
WHERE key_hash = sha256(convert_to((SELECT key FROM keys WHERE name = 'seven b'), 'UTF8'));
RESET ROLE;
SET LOCAL ROLE regress_server;
SELECT regress.error_of(format($$SELECT llm_clusters.capture_with_key(%L, '[]')$$, (SELECT key FROM keys WHERE name = 'seven'))) AS revoked_key;
SELECT llm_clusters.capture_with_key((SELECT key FROM keys WHERE name = 'seven b'), '[]') AS other_key_still_works;
RESET ROLE;
ROLLBACK;
