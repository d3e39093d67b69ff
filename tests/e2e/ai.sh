#!/usr/bin/env bash
# End-to-end test of AI labels and embeddings against a local OpenAI-compatible stub
# (tests/fixtures/ai_stub.py on 127.0.0.1): consent off sends nothing; labels applied; every
# failure (HTTP 500, 429, malformed JSON, refusal, a hung server) falls back to the offline
# labels within the timeout; embeddings stored in input order with the service's
# dimension, or offline without consent; the key never shows in logs, tables or settings.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ver=18
port=55719

key=sk-test-SECRET-4242
# The key is set at server start (PostgreSQL logs a setting's new value on a reload), and
# the library is preloaded so that every session knows the setting is superuser-only (a
# session that has not loaded it would show the raw placeholder). The worker stays off.
E2E_CLEANUP='[ -z "${stub:-}" ] || kill $stub 2>/dev/null'
e2e_setup "$ver" 55718 "llm_clusters.ai_api_key = '$key'" \
  "shared_preload_libraries = 'llm_clusters'" "llm_clusters.scheduler_enabled = off"
python3 "$FIXTURES/ai_stub.py" "$port" "$work/requests.jsonl" "$work/mode" &
stub=$!
sent() { [ -f "$work/requests.jsonl" ] && wc -l <"$work/requests.jsonl" || echo 0; }
set_mode() { echo "$1" >"$work/mode"; }
setting() { q "ALTER SYSTEM SET llm_clusters.$1 = '$2'" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null; sleep 0.3; }

say "AI labels and embeddings against a stub on 127.0.0.1:$port"
pg -c "CREATE EXTENSION llm_clusters"
load_items 1 300 a
setting ai_base_url "http://127.0.0.1:$port/v1"
setting ai_chat_model stub-chat
setting ai_embedding_model stub-embed
setting ai_timeout_ms 1500
job=$(q "SELECT llm_clusters.create_job('ai', 'generation')")
new_items() {  # new_items PREFIX N: generations with text and no embedding
  pg -c "INSERT INTO llm_clusters.events (uuid, team_id, event, \"timestamp\", trace_id, content)
         SELECT md5('$1' || i)::uuid, 1, '\$ai_generation', now() - interval '1 minute', '$1' || i, 'new question number ' || i || ' about ' || (ARRAY['billing', 'shipping'])[1 + i % 2]
         FROM generate_series(1, $2) i" >/dev/null
}

# Consent off: offline labels and embeddings, and the stub hears nothing.
run=$(q "SELECT llm_clusters.run_job($job)")
new_items off 20
expect "consent off: embed_pending stores embeddings of the built-in model" "SELECT llm_clusters.embed_pending('generation')" 20
expect "they are 384-d all-MiniLM-L6-v2 vectors, computed in the database" \
  "SELECT string_agg(DISTINCT model || ':' || array_length(embedding, 1), ',') FROM llm_clusters.embeddings WHERE item_id IN (SELECT md5('off' || i)::uuid::text FROM generate_series(1, 20) i)" \
  "all-MiniLM-L6-v2:384"
expect "consent off: the run has no AI labels" "SELECT quality ? 'ai_labels' FROM llm_clusters.runs WHERE id = $run" f
expect "consent off: summarize_pending writes offline summaries" "SELECT llm_clusters.summarize_pending('generation', 50)" 50
expect "all offline" "SELECT count(*) FILTER (WHERE source = 'offline' AND model IS NULL) FROM llm_clusters.item_summaries" 50
[ "$(sent)" = 0 ] || fail "consent off, yet the stub received $(sent) requests"
pass "consent off: the stub received nothing"
err=$(pg -c "SELECT llm_clusters.label_run($run)" 2>&1 || true)
case "$err" in *"AI labels need llm_clusters.ai_data_processing = on"*) pass "label_run without consent is a clear error" ;; *) fail "label_run without consent: $err" ;; esac

# Consent on: labels from the model, shown the cluster's items and contrast.
setting ai_data_processing on
run=$(q "SELECT llm_clusters.run_job($job)")
expect "every cluster got its AI title" \
  "SELECT bool_and(title LIKE 'Requests about %' AND description LIKE '• They ask about %') AND count(*) = (SELECT n_clusters FROM llm_clusters.runs WHERE id = $run)
   FROM llm_clusters.clusters WHERE run_id = $run AND cluster_id >= 0" t
expect "titles are distinct" "SELECT count(DISTINCT title) = count(*) FROM llm_clusters.clusters WHERE run_id = $run" t
expect "runs.quality counts them" "SELECT quality->'ai_labels'->>'labelled' = n_clusters::text FROM llm_clusters.runs WHERE id = $run" t
python3 - "$work/requests.jsonl" "$key" <<'EOF' || fail "the chat requests were not as expected"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
chats = [r for r in reqs if r["path"] == "/v1/chat/completions"]
assert chats and all(r["authorization"] == "Bearer " + sys.argv[2] for r in chats)
assert all(r["body"]["response_format"] == {"type": "json_object"} and r["body"]["model"] == "stub-chat" for r in chats)
assert all("For contrast" in r["body"]["messages"][1]["content"] for r in chats)
EOF
pass "requests carry the key, ask for JSON and show contrast items"

# AI summaries: written by the model from the compact rendering; when the service fails,
# the offline summary is kept and a WARNING says why.
before=$(sent)
q "DELETE FROM llm_clusters.item_summaries" >/dev/null
expect "consent on: summarize_pending asks the model" "SELECT llm_clusters.summarize_pending('generation', 10)" 10
expect "the model's title and bullets, the flow from the events" \
  "SELECT string_agg(DISTINCT source || ':' || model, ',') || ' ' || bool_and(title LIKE 'Stub summary: %' AND bullets[1] LIKE 'The user asked: %' AND flow LIKE '└─ generation%')
   FROM llm_clusters.item_summaries" "ai:stub-chat true"
[ $(( $(sent) - before )) = 10 ] || fail "expected 10 summary requests, the stub got $(( $(sent) - before ))"
tail -10 "$work/requests.jsonl" | python3 -c "
import json, sys
for line in sys.stdin:
    body = json.loads(line)['body']
    assert body['messages'][0]['content'].startswith('You summarise one trace') and body['messages'][1]['content'].startswith('Request: ')
" || fail "the summary requests were not as expected"
set_mode 500
warning=$(pg -c "SELECT llm_clusters.summarize_pending('generation', 5)" 2>&1 >/dev/null || true)
[[ $warning == *"the AI service failed for 5 of 5 items, whose offline summaries are kept"*"HTTP 500"* ]] || fail "no warning for the failed summaries: $warning"
expect "service down: offline summaries kept" "SELECT count(*) FROM llm_clusters.item_summaries WHERE source = 'offline' AND model IS NULL" 5
set_mode ok
pass "AI summaries: 10 written by the model; with the service failing, 5 offline ones and a WARNING"

# Answers as local models write them: a fence after a sentence, description for bullets.
for m in fenced described; do
  set_mode "$m"
  run=$(q "SELECT llm_clusters.run_job($job)")
  expect "mode $m: every cluster got its AI title" \
    "SELECT quality->'ai_labels'->>'labelled' = n_clusters::text AND quality->'ai_labels'->>'fallback' = '0' FROM llm_clusters.runs WHERE id = $run" t
done
set_mode ok

# Embeddings through the service (llm_clusters.embedder = service): right dimension, right order.
setting embedder service
new_items on 30
setting ai_batch_size 7
expect "embed_pending stores the service's embeddings" "SELECT llm_clusters.embed_pending('generation')" 30
expect "in input order, with the service's dimension" \
  "SELECT bool_and(m.embedding[1] = length(e.content) AND array_length(m.embedding, 1) = 8 AND m.model = 'stub-embed')
   FROM llm_clusters.embeddings m JOIN llm_clusters.events e ON e.uuid::text = m.item_id WHERE e.trace_id LIKE 'on%'" t
new_items broken 5
set_mode 500
err=$(pg -c "SELECT llm_clusters.embed_pending('generation')" 2>&1 || true)
case "$err" in *"embedding service: HTTP 500"*) pass "a failing embedding service is a clear error: ${err%%$'\n'*}" ;; *) fail "embed_pending on HTTP 500: $err" ;; esac
expect "and stores nothing" "SELECT count(*) FROM llm_clusters.embeddings WHERE item_id IN (SELECT md5('broken' || i)::uuid::text FROM generate_series(1, 5) i)" 0

# Every failure falls back to the offline labels and is counted; the run still succeeds.
for m in 500 429 malformed refusal slow; do
  set_mode "$m"
  start=$(date +%s.%N)
  run=$(q "SELECT llm_clusters.run_job($job)")
  secs=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")
  # (A continued cluster may keep its earlier AI title: titles do not flicker between runs.)
  expect "mode $m: the run succeeds, every cluster counted as a fallback ($secs s)" \
    "SELECT status = 'succeeded' AND quality->'ai_labels'->>'labelled' = '0' AND (quality->'ai_labels'->>'fallback')::int = n_clusters
     FROM llm_clusters.runs WHERE id = $run" t
  q "SELECT m || ': ' || (quality->'ai_labels'->'failures'->>'0') FROM llm_clusters.runs r, (SELECT '$m'::text AS m) x WHERE id = $run"
done
set_mode 429once
run=$(q "SELECT llm_clusters.run_job($job)")
expect "a 429 with a short Retry-After is retried" "SELECT quality->'ai_labels'->>'labelled' = n_clusters::text FROM llm_clusters.runs WHERE id = $run" t
set_mode ok
expect "label_run re-labels a run on demand" "SELECT llm_clusters.label_run($run) = n_clusters FROM llm_clusters.runs WHERE id = $run" t
# Planted centroids (admins insert rows into their runs' clusters): what label_run holds of
# them is bounded by max_memory_mb, as assign's is (300 of 16,000 dimensions: 19 MB > 16 MB).
err=$(pg -c "BEGIN" -c "SET LOCAL llm_clusters.max_memory_mb = 16" \
  -c "INSERT INTO llm_clusters.clusters (team_id, run_id, cluster_id, title, description, size, share, centroid)
      SELECT 1, $run, 1000 + g, 'x', '', 1, 0, array_fill(0::real, ARRAY[16000]) FROM generate_series(1, 300) g" \
  -c "SELECT llm_clusters.label_run($run)" 2>&1 || true)
case "$err" in *"take more than llm_clusters.max_memory_mb (16 MB)"*) pass "label_run holds planted centroids to max_memory_mb" ;;
  *) fail "label_run over 300 planted centroids: $err" ;; esac

# Hostile numbers and a service that never finishes its answer: label_run keeps the offline
# labels and succeeds.
offline_kept() {  # offline_kept RUN: no AI label taken, every cluster a fallback
  echo "SELECT quality->'ai_labels'->>'labelled' = '0' AND (quality->'ai_labels'->>'fallback')::int = n_clusters
        FROM llm_clusters.runs WHERE id = $1"
}
for value in -1 1e30 NaN inf; do
  set_mode "429=$value"
  expect "429 with Retry-After: $value: label_run succeeds and labels nothing" "SELECT llm_clusters.label_run($run)" 0
  expect "429 with Retry-After: $value: offline labels kept" "$(offline_kept "$run")" t
done
set_mode trickle
expect "a body trickled forever: label_run returns within its budget, labelling nothing" "SELECT llm_clusters.label_run($run)" 0
expect "a body trickled forever: offline labels kept" "$(offline_kept "$run")" t

# A cancel ends a request that would run for ten minutes; the hang guard is generous.
setting ai_timeout_ms 600000
pg -c "SET application_name = 'ai_cancel'" -c "SELECT llm_clusters.label_run($run)" >"$work/cancel.out" 2>&1 &
cancelled=$!
wait_until "the trickled request is under way" 60 \
  "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'ai_cancel' AND state = 'active'"
q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'ai_cancel'" >/dev/null
wait_until "pg_cancel_backend ends label_run" 120 \
  "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'ai_cancel' AND state = 'active'"
wait "$cancelled" && fail "label_run was cancelled, yet it succeeded: $(cat "$work/cancel.out")"
grep -q "canceling statement due to user request" "$work/cancel.out" || fail "cancelled label_run: $(cat "$work/cancel.out")"
pass "the cancelled label_run ends with the cancel's error"
setting ai_timeout_ms 1500
set_mode ok

# Credentials in ai_base_url, and the service's error bodies, are not stored.
secret=pw-S3CRET-77
setting ai_base_url "http://user:$secret@127.0.0.1:$port/v1?api-key=$secret"
set_mode 500
q "SELECT llm_clusters.label_run($run)" >/dev/null
expect "userinfo and query of ai_base_url are in no run's quality" \
  "SELECT count(*) FROM llm_clusters.runs WHERE quality::text LIKE '%$secret%' OR quality::text LIKE '%internal error%'" 0
expect "the failure names the URL without them" \
  "SELECT quality->'ai_labels'->'failures'->>'0' LIKE '%http://127.0.0.1:$port/v1%' FROM llm_clusters.runs WHERE id = $run" t
# PostgreSQL itself logs a reloaded setting's new value ("parameter ... changed to"): set
# a URL with credentials at server start if that log matters; no line of ours has them.
grep "$secret" "$work/server.log" | grep -v 'parameter "llm_clusters.ai_base_url" changed to' | grep -q . \
  && fail "the userinfo of ai_base_url is in the server log"
pass "the userinfo of ai_base_url is not in the server log either"
setting ai_base_url "http://127.0.0.1:$port/v1"
set_mode ok

python3 - "$work/requests.jsonl" <<'EOF' || fail "a chat request had no max_tokens"
import json, sys
chats = [json.loads(l)["body"] for l in open(sys.argv[1]) if json.loads(l)["path"].endswith("/chat/completions")]
assert chats and all(isinstance(b.get("max_tokens"), int) and 0 < b["max_tokens"] <= 4096 for b in chats), chats[:1]
EOF
pass "every chat request the stub received carries max_tokens"

# The key: never logged, never stored, hidden from other roles.
grep -q "$key" "$work/server.log" && fail "the API key is in the server log"
pass "the key is not in the server log"
expect "the key is in no table" \
  "SELECT count(*) FROM (SELECT row_to_json(r)::text AS t FROM llm_clusters.runs r UNION ALL SELECT row_to_json(c)::text FROM llm_clusters.clusters c
                          UNION ALL SELECT row_to_json(j)::text FROM llm_clusters.jobs j) x WHERE t LIKE '%SECRET-4242%'" 0
q "CREATE ROLE ai_reader LOGIN IN ROLE llm_clusters_reader" >/dev/null
expect "other roles cannot see the key in pg_settings" \
  "SET ROLE ai_reader; SELECT count(*) FROM pg_settings WHERE name = 'llm_clusters.ai_api_key'" 0
err=$(pg -c "SET ROLE ai_reader" -c "SHOW llm_clusters.ai_api_key" 2>&1 || true)
case "$err" in *"$key"*) fail "a reader read the key" ;; *"permission denied"*|*"must be superuser"*) pass "SHOW of the key is refused to other roles" ;; *) fail "SHOW by a reader: $err" ;; esac
err=$(pg -c "SET ROLE ai_reader" -c "SET llm_clusters.ai_data_processing = on" 2>&1 || true)
case "$err" in *"permission denied"*) pass "only superusers can give consent" ;; *) fail "consent by a reader: $err" ;; esac

# Consent withdrawn: nothing more is sent.
setting ai_data_processing off
before=$(sent)
q "SELECT llm_clusters.run_job($job)" >/dev/null
new_items later 5
q "SELECT llm_clusters.embed_pending('generation')" >/dev/null
[ "$(sent)" = "$before" ] || fail "consent withdrawn, yet the stub received $(( $(sent) - before )) more requests"
pass "consent withdrawn: the stub received nothing more"
say "AI end-to-end passed"
