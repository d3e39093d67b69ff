#!/usr/bin/env bash
# llm-clusters-server end to end, on PostgreSQL 18: PostHog's own SDKs, unchanged, send to
# it — the Python SDK with its OpenAI wrapper (legacy /batch/, gzip to /i/v0/ai/batch/,
# capture v1) and posthog-node with @posthog/ai — against a local OpenAI-compatible stub
# (chat, streaming, tool calls): every $ai_* event they sent is stored once, under the
# key's team, and nothing else is. Then bad input and faults: wrong, revoked and missing
# keys, non-JSON, truncated gzip, a 100 MB body, 10,000 events in one request, slow
# clients, the database restarted under steady traffic (503, then recovery; nothing lost
# that got 200), and SIGTERM with a request in flight (it finishes). The server connects
# as a login role in llm_clusters_ingest, which cannot read the tables.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
http_port=18010
stub_port=18011
server_pid=
stub_pid=
E2E_CLEANUP='[ -z "$server_pid" ] || kill $server_pid 2>/dev/null; [ -z "$stub_pid" ] || kill $stub_pid 2>/dev/null; true'
e2e_setup 18 55918
say "building llm-clusters-server"
cargo build -q -p llm_clusters_server
server_bin=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/llm-clusters-server
url=http://127.0.0.1:$http_port

pg -c "CREATE EXTENSION llm_clusters"
pg -c "CREATE ROLE ingest_server LOGIN IN ROLE llm_clusters_ingest"
key7=$(q "SELECT llm_clusters.create_api_key(7, 'e2e team 7')")
key8=$(q "SELECT llm_clusters.create_api_key(8, 'e2e team 8')")
revoked=$(q "SELECT llm_clusters.create_api_key(7, 'revoked')")
q "SELECT llm_clusters.revoke_api_key('$revoked')" >/dev/null
db_url="host=$PGHOST port=$PGPORT user=ingest_server dbname=postgres"

start_server() {
  "$server_bin" --database-url "$db_url" --listen "127.0.0.1:$http_port" "$@" >>"$work/http.log" 2>&1 &
  server_pid=$!
  wait_for_server "$url"
}
# post PATH BODY_FILE [curl args...]: prints the HTTP status.
post() { local path=$1 file=$2; shift 2; curl -s -o "$work/answer" -w '%{http_code}' "$@" --data-binary "@$file" "$url$path"; }
rows() { q "SELECT count(*) FROM llm_clusters.events WHERE $1"; }

start_server --read-timeout-s 3 --idle-timeout-s 3 --access-log on
python3 "$FIXTURES/ai_stub.py" "$stub_port" "$work/stub.jsonl" "$work/stub_mode" &
stub_pid=$!
stub=http://127.0.0.1:$stub_port
sleep 0.5
pass "server up as ingest_server: $(head -1 "$work/http.log")"

say "the ingest role reads nothing"
for relation in events api_keys cluster_cards team_roles; do
  err=$(as_owner env PGHOST="$PGHOST" PGPORT="$PGPORT" "$PGBIN/psql" -X -At -U ingest_server -d postgres \
          -c "SELECT count(*) FROM llm_clusters.$relation" 2>&1 || true)
  [[ $err == *"permission denied"* ]] || fail "ingest_server read llm_clusters.$relation: $err"
done
pass "ingest_server: permission denied on events, api_keys, cluster_cards, team_roles"

# check_sent FILE TEAM WHAT: every $ai_* event the SDK reported sending is stored once, in TEAM.
check_sent() {
  local file=$1 team=$2 what=$3 n uuids
  n=$(wc -l <"$file")
  [ "$n" -ge 4 ] || fail "$what: the SDK sent only $n \$ai_* events"
  uuids=$(python3 -c "import json,sys; print(','.join(\"'%s'\" % json.loads(l)['uuid'] for l in open(sys.argv[1])))" "$file")
  expect "$what: all $n \$ai_* events stored once, in team $team" \
    "SELECT count(*) FILTER (WHERE team_id = $team) || '/' || count(*) FROM llm_clusters.events WHERE uuid IN ($uuids)" "$n/$n"
}

say "Python SDK (posthog + its OpenAI wrapper): /batch/, plain JSON"
SDK=$SDK_HOME/venv/bin/python
"$SDK" "$FIXTURES/sdk_python.py" "$url" "$key7" "$stub" "$work/py1.jsonl" py1
check_sent "$work/py1.jsonl" 7 "python /batch/"
grep -q "POST /batch/ 200 plain" "$work/http.log" || fail "no plain request to /batch/ in the access log"
expect "the chat generation: model, tokens, input and output" \
  "SELECT model || ' ' || input_tokens || ' ' || output_tokens || ' ' || (content LIKE '%reset my password%Stub answer%') || ' ' || distinct_id
   FROM llm_clusters.events WHERE trace_id = 'py1-chat' AND event = '\$ai_generation'" "gpt-4o-mini 15 7 true user-1"
expect "the streamed generation has its whole answer and the usage" \
  "SELECT (content LIKE '%Stub answer to: Write a haiku about autumn%') || ' ' || output_tokens FROM llm_clusters.events WHERE trace_id = 'py1-stream'" "true 7"
expect "the tool trace: two generations (a tool call, then its answer) and a span" \
  "SELECT string_agg(event, ',' ORDER BY event) || ' ' || bool_or(properties::text LIKE '%get_weather%') FROM llm_clusters.events WHERE trace_id = 'py1-tools'" \
  "\$ai_generation,\$ai_generation,\$ai_span true"
expect "the \$pageview was acknowledged, not stored; no key stored" \
  "SELECT count(*) FILTER (WHERE event NOT LIKE '\$ai_%') + count(*) FILTER (WHERE properties::text LIKE '%$key7%') FROM llm_clusters.events" 0

say "Python SDK: gzip to the AI lane (/i/v0/ai/batch/), team 8's key"
"$SDK" "$FIXTURES/sdk_python.py" "$url" "$key8" "$stub" "$work/py2.jsonl" py2 --gzip --ai-lane
check_sent "$work/py2.jsonl" 8 "python gzip /i/v0/ai/batch/"
grep -q "POST /i/v0/ai/batch/ 200 gzip" "$work/http.log" || fail "no gzip request to /i/v0/ai/batch/ in the access log"
say "Python SDK: capture v1 (/i/v1/analytics/events, Bearer key, per-event results)"
"$SDK" "$FIXTURES/sdk_python.py" "$url" "$key7" "$stub" "$work/py3.jsonl" py3 --v1
check_sent "$work/py3.jsonl" 7 "python capture v1"
grep -q "POST /i/v1/analytics/events 200" "$work/http.log" || fail "no capture v1 request in the access log: $(grep v1 "$work/http.log")"

say "Node.js SDK (posthog-node + @posthog/ai): /batch/, gzip"
SDK_NODE_MODULES=$SDK_HOME/node/node_modules node "$FIXTURES/sdk_node.mjs" "$url" "$key8" "$stub" "$work/node.jsonl" node1
check_sent "$work/node.jsonl" 8 "node /batch/"
grep -q "POST /batch/ 200 gzip" "$work/http.log" || fail "no gzip request from posthog-node in the access log"
expect "the node stream and tool calls" \
  "SELECT count(*) FILTER (WHERE trace_id = 'node1-stream') || ' ' || count(*) FILTER (WHERE trace_id = 'node1-tools') FROM llm_clusters.events" "1 2"
say "Browser SDK (posthog-js in Chromium, a page of another origin, CORS)"
(cd "$E2E_DIR/../browser" && [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund >/dev/null)
node "$E2E_DIR/../browser/posthog_js.test.mjs" "$url" "$key7" "$SDK_HOME/node/node_modules/posthog-js/dist/module.js" \
  "$work/js.jsonl" js1 | tee "$work/js.out"
[ "$(wc -l <"$work/js.jsonl")" = 3 ] || fail "posthog-js reported $(wc -l <"$work/js.jsonl") \$ai_* events, not 3"
uuids=$(python3 -c "import json,sys; print(','.join(\"'%s'\" % json.loads(l)['uuid'] for l in open(sys.argv[1])))" "$work/js.jsonl")
expect "posthog-js: its 3 \$ai_* events stored once, in team 7, its click not at all" \
  "SELECT count(*) FILTER (WHERE team_id = 7 AND uuid IN ($uuids)) || '/' || count(*) FILTER (WHERE trace_id = 'js1-chat') FROM llm_clusters.events" "3/3"
grep -q "POST /e/ 200" "$work/http.log" || fail "no request from posthog-js to /e/ in the access log"
expect "posthog-js: the generation's model, tokens and text, and no key in what is stored" \
  "SELECT model || ' ' || input_tokens || ' ' || output_tokens || ' ' || (content LIKE '%<b>late</b>%It ships tomorrow.%') || ' ' || (properties::text LIKE '%$key7%')
   FROM llm_clusters.events WHERE trace_id = 'js1-chat' AND event = '\$ai_generation'" "gpt-4o-mini 12 5 true false"

expect "every generation the stub answered was captured (4 SDK runs x 4 calls)" \
  "SELECT count(*) FROM llm_clusters.events WHERE event = '\$ai_generation' AND trace_id ~ '^(py[123]|node1)-'" 16
[ "$(grep -c chat/completions "$work/stub.jsonl")" = 16 ] || fail "the stub answered $(grep -c chat/completions "$work/stub.jsonl") calls, not 16"

say "a retried request stores nothing twice"
python3 - "$key7" >"$work/retry.json" <<'PY'
import json, sys
print(json.dumps({"api_key": sys.argv[1], "batch": [{"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000e2e0%d" % i,
      "properties": {"$ai_trace_id": "retry", "$ai_input": "again"}} for i in range(3)]}))
PY
[ "$(post /batch/ "$work/retry.json")" = 200 ] && [ "$(post /batch/ "$work/retry.json")" = 200 ] || fail "retry: $(cat "$work/answer")"
expect "sent twice, stored once" "SELECT count(*) FROM llm_clusters.events WHERE trace_id = 'retry'" 3
grep -q '"status":1' "$work/answer" || fail "not PostHog's answer: $(cat "$work/answer")"
pass "answer in PostHog's shape: $(cat "$work/answer")"

say "keys: wrong, revoked, missing"
sed "s/$key7/llmc_wrong/" "$work/retry.json" >"$work/wrong.json"
sed "s/$key7/$revoked/" "$work/retry.json" >"$work/revoked.json"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d.pop('api_key'); print(json.dumps(d))" "$work/retry.json" >"$work/nokey.json"
for f in wrong revoked nokey; do
  code=$(post /batch/ "$work/$f.json")
  [ "$code" = 401 ] || fail "$f key: $code $(cat "$work/answer")"
done
pass "401 for a wrong, a revoked and a missing key ($(cat "$work/answer"))"
[ "$(post /i/v1/analytics/events "$work/nokey.json" -H "Authorization: Bearer $key7")" = 200 ] || fail "Bearer key: $(cat "$work/answer")"
pass "the key as Authorization: Bearer"

say "a sender whose clock is 3 hours fast"
python3 - "$key7" >"$work/skewed.json" <<'PY'
import json, sys
from datetime import datetime, timedelta, timezone
fast = datetime.now(timezone.utc) + timedelta(hours=3)
print(json.dumps({"api_key": sys.argv[1], "sent_at": fast.isoformat(), "batch": [
    {"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-00000000c10c", "timestamp": (fast - timedelta(minutes=10)).isoformat(),
     "properties": {"$ai_trace_id": "skewed"}}]}))
PY
[ "$(post /batch/ "$work/skewed.json")" = 200 ] || fail "skewed batch: $(cat "$work/answer")"
expect "its event is stored 10 minutes ago by the server's clock (sent_at corrects the skew)" \
  "SELECT now() - \"timestamp\" BETWEEN interval '9 minutes' AND interval '11 minutes' FROM llm_clusters.events WHERE trace_id = 'skewed'" t

say "bodies: not JSON, truncated gzip, a bad event, unknown paths"
printf 'this is not json' >"$work/notjson"
[ "$(post /batch/ "$work/notjson")" = 400 ] || fail "non-JSON: $(cat "$work/answer")"
gzip -c "$work/retry.json" | head -c 40 >"$work/truncated.gz"
[ "$(post /batch/ "$work/truncated.gz" -H 'Content-Encoding: gzip')" = 400 ] || fail "truncated gzip: $(cat "$work/answer")"
python3 - "$key7" >"$work/bad_event.json" <<'PY'
import json, sys
print(json.dumps({"api_key": sys.argv[1], "batch": [
    {"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000bad01", "properties": {"$ai_trace_id": "half"}},
    {"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-0000000bad02", "properties": {"$ai_trace_id": "half", "$ai_input_tokens": -3}}]}))
PY
[ "$(post /batch/ "$work/bad_event.json")" = 400 ] || fail "bad event: $(cat "$work/answer")"
grep -q 'event 1' "$work/answer" || fail "the 400 does not name the event: $(cat "$work/answer")"
expect "a request with a bad event stores nothing" "SELECT count(*) FROM llm_clusters.events WHERE trace_id = 'half'" 0
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/batch/")" = 405 ] || fail "GET /batch/ is not 405"
[ "$(post /decide/ "$work/retry.json")" = 404 ] || fail "unknown path is not 404"
pass "400 non-JSON, 400 truncated gzip, 400 naming the bad event (nothing stored), 405 GET, 404 unknown path"

say "a 100 MB body: refused past the limit (20 MB), nothing read beyond it"
head -c 100000000 /dev/zero | tr '\0' ' ' >"$work/huge.json"
[ "$(post /batch/ "$work/huge.json")" = 413 ] || fail "100 MB with Content-Length: $(cat "$work/answer")"
code=$(curl -s -o "$work/answer" -w '%{http_code}' -H 'Transfer-Encoding: chunked' --data-binary @- "$url/batch/" <"$work/huge.json" || true)
[ "$code" = 413 ] || fail "100 MB chunked: $code $(cat "$work/answer")"
head -c 30000000 /dev/zero | tr '\0' ' ' | gzip -c >"$work/bomb.gz"
[ "$(post /batch/ "$work/bomb.gz" -H 'Content-Encoding: gzip')" = 413 ] || fail "gzip past the limit: $(cat "$work/answer")"
rss=$(ps -o rss= -p "$server_pid" | tr -d ' ')
[ "$rss" -lt 200000 ] || fail "server RSS $rss kB after the 100 MB bodies"
pass "413 with Content-Length, chunked, and gzip inflating past 20 MB; server RSS $((rss / 1024)) MB"
rm -f "$work/huge.json" "$work/bomb.gz"

say "10,000 events in one request"
python3 - "$key7" <<'PY' | gzip -c >"$work/tenk.json.gz"
import json, sys
print(json.dumps({"api_key": sys.argv[1], "batch": [{"event": "$ai_generation", "uuid": "00000000-0000-0000-0001-%012d" % i,
      "properties": {"$ai_trace_id": "tenk-%d" % (i // 4), "$ai_input": "request number %d" % i, "$ai_model": "m"}} for i in range(10000)]}))
PY
started=$(date +%s%N)
[ "$(post /batch/ "$work/tenk.json.gz" -H 'Content-Encoding: gzip')" = 200 ] || fail "10,000 events: $(cat "$work/answer")"
pass "10,000 events in one request: 200 after $(( ($(date +%s%N) - started) / 1000000 )) ms"
expect "10,000 rows" "SELECT count(*) FROM llm_clusters.events WHERE trace_id LIKE 'tenk-%'" 10000

say "slow clients (read and idle timeouts 3 s)"
read -r status secs < <(python3 "$FIXTURES/server_client.py" slow-body "$http_port")
[ "$status" = 408 ] || fail "slow body: $status after $secs s"
pass "a body that stops arriving: 408 after $secs s"
read -r status secs < <(python3 "$FIXTURES/server_client.py" slow-headers "$http_port")
# The server closing it is the check (the client's own timeout is only a hang guard, and
# it reports that as "timeout"); the time is printed, not asserted.
[ "$status" = closed ] || [[ $status == *408* ]] || fail "slow headers: $status after $secs s"
pass "headers that stop arriving: connection closed by the server after $secs s"

say "the database restarted under steady traffic"
python3 "$FIXTURES/server_client.py" steady "$http_port" "$key7" 12 "$work/steady.txt" >"$work/steady.out" &
steady=$!
sleep 3
stop_cluster
sleep 3
resume_cluster
wait $steady
counts=$(cat "$work/steady.out")
python3 -c "import json,sys; c=json.loads(sys.argv[1]); sys.exit(0 if c.get('503', 0) > 0 and c.get('200', 0) > 10 else 1)" "$counts" \
  || fail "no 503 during the restart, or no recovery: $counts"
n=$(wc -l <"$work/steady.txt")
uuids=$(sed "s/.*/'&'/" "$work/steady.txt" | paste -sd,)
expect "every event answered 200 is stored, once" "SELECT count(*) FROM llm_clusters.events WHERE uuid IN ($uuids)" "$n"
expect "and nothing else of the steady client" "SELECT count(*) FROM llm_clusters.events WHERE trace_id = 'steady'" "$n"
kill -0 "$server_pid" || fail "the server died with the database"
pass "answers during the restart: $counts; the same server serves again"

say "SIGTERM with a request in flight: it finishes, then the server exits"
python3 "$FIXTURES/server_client.py" inflight "$http_port" "$key7" 00000000-0000-0000-0000-0000000f1a01 2 >"$work/inflight.out" &
inflight=$!
sleep 0.7
kill -TERM "$server_pid"
wait $inflight
[ "$(cat "$work/inflight.out")" = 200 ] || fail "the in-flight request got $(cat "$work/inflight.out")"
wait "$server_pid" || fail "the server exited with $?"
server_pid=
expect "the in-flight request's event is stored" "SELECT count(*) FROM llm_clusters.events WHERE uuid = '00000000-0000-0000-0000-0000000f1a01'" 1
grep -q "stopped" "$work/http.log" || fail "no clean stop in the log: $(tail -3 "$work/http.log")"
pass "in-flight request answered 200, server exited 0"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz" || true)" = 000 ] || fail "still listening after SIGTERM"

say "configured by the environment alone (as the systemd unit does)"
LLM_CLUSTERS_DATABASE_URL="$db_url" LLM_CLUSTERS_LISTEN="127.0.0.1:$http_port" "$server_bin" >>"$work/http.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")" = 200 ] && break; sleep 0.1; done
[ "$(post /batch/ "$work/retry.json")" = 200 ] || fail "env-configured server: $(cat "$work/answer")"
kill -TERM "$server_pid"; wait "$server_pid" || fail "exit status $? after SIGTERM"
server_pid=
pass "LLM_CLUSTERS_DATABASE_URL and LLM_CLUSTERS_LISTEN, no flags"

say "bad command lines"
"$server_bin" --listen 127.0.0.1:1 2>"$work/usage.txt" && fail "started without a database URL"
grep -q -- "--database-url" "$work/usage.txt" || fail "no usage: $(cat "$work/usage.txt")"
"$server_bin" --database-url "$db_url" --listen 127.0.0.1:$stub_port 2>"$work/busy.txt" && fail "started on a busy port"
grep -q "cannot listen" "$work/busy.txt" || fail "busy port: $(cat "$work/busy.txt")"
pass "no database URL: usage, exit 2; busy port: cannot listen"
say "server: all checks passed"
