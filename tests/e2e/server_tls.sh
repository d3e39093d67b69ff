#!/usr/bin/env bash
# llm-clusters-server to PostgreSQL over TLS: PostgreSQL 15 (Debian's, built with OpenSSL;
# the PG18 wheel has no TLS) listening on 127.0.0.1 with a
# certificate of a private CA made here (openssl), plaintext refused for the ingest role
# (pg_hba hostnossl ... reject). With sslmode=require and --db-ca-file the server's
# connections are TLS (pg_stat_ssl) and a batch is stored; a CA that did not sign the
# certificate, a URL without sslmode=require, and --db-ca-file without it are refused,
# each saying why.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
e2e_setup 15 55939
http_port=18011
url=http://127.0.0.1:$http_port
say "building llm-clusters-server"
cargo build -q -p llm_clusters_server
server_bin=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/llm-clusters-server

say "a private CA, PostgreSQL's certificate for 127.0.0.1, and another CA"
tls=$work/tls; mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=llm_clusters test CA" \
  -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=another CA" \
  -keyout "$tls/other.key" -out "$tls/other.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$tls/san.ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
  -extfile "$tls/san.ext" -out "$tls/server.crt" 2>/dev/null
chown "$PG_OWNER" "$tls/server.key" "$tls/server.crt"; chmod 600 "$tls/server.key"

pg -c "CREATE EXTENSION llm_clusters"
pg -c "CREATE ROLE ingest_tls LOGIN IN ROLE llm_clusters_ingest"
key=$(q "SELECT llm_clusters.create_api_key(5, 'tls')")
pg -c "ALTER SYSTEM SET listen_addresses = '127.0.0.1'" -c "ALTER SYSTEM SET ssl = on" \
   -c "ALTER SYSTEM SET ssl_cert_file = '$tls/server.crt'" -c "ALTER SYSTEM SET ssl_key_file = '$tls/server.key'"
# The ingest role may not connect without TLS (the first matching line wins).
hba=$(q "SHOW hba_file")
{ echo "hostnossl all ingest_tls 127.0.0.1/32 reject"; cat "$hba"; } >"$work/hba.conf"
as_owner cp "$work/hba.conf" "$hba"
restart_cluster
expect "PostgreSQL has TLS on 127.0.0.1" "SHOW ssl" on

tcp="host=127.0.0.1 port=$PGPORT user=ingest_tls dbname=postgres"
batch=$work/batch.json
printf '{"api_key": "%s", "batch": [{"event": "$ai_generation", "uuid": "00000000-0000-4000-8000-0000000001f5", "properties": {"$ai_trace_id": "over-tls", "$ai_input": "hello"}}]}' "$key" >"$batch"
server_pid=
stop_server() { [ -z "$server_pid" ] || { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=; }; }
E2E_CLEANUP=stop_server
start_server() {
  "$server_bin" --listen "127.0.0.1:$http_port" --db-timeout-s 2 "$@" >"$work/http.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 50); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz" || true)" != 000 ] && return 0
    sleep 0.1
  done
  fail "the server did not start: $(cat "$work/http.log")"
}
post() { curl -s -o "$work/answer" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "@$batch" "$url/batch/" || true; }

say "sslmode=require with the CA that signed the certificate"
start_server --database-url "$tcp sslmode=require" --db-ca-file "$tls/ca.crt"
[ "$(post)" = 200 ] || fail "over TLS: $(cat "$work/answer"); $(cat "$work/http.log")"
expect "stored in the key's team" "SELECT team_id FROM llm_clusters.events WHERE trace_id = 'over-tls'" 5
expect "the server's connection is TLS (pg_stat_ssl)" \
  "SELECT bool_and(s.ssl) AND count(*) > 0 FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'ingest_tls'" t
stop_server

say "a CA that did not sign it, and plaintext"
start_server --database-url "$tcp sslmode=require" --db-ca-file "$tls/other.crt"
code=$(post)
[ "$code" = 503 ] || fail "another CA: $code $(cat "$work/answer")"
grep -qi "certificate" "$work/answer" "$work/http.log" || fail "the refusal does not say why: $(cat "$work/answer")"
pass "a certificate the CA did not sign: 503, $(grep -o '"detail":"[^"]*"' "$work/answer" | head -c 160)"
stop_server
start_server --database-url "$tcp"
code=$(post)
[ "$code" = 503 ] || fail "plaintext: $code $(cat "$work/answer")"
grep -q "no encryption" "$work/answer" || fail "the plaintext refusal does not say why: $(cat "$work/answer")"
pass "without sslmode=require the server does not use TLS, and pg_hba refuses it: 503"
stop_server

say "--db-ca-file needs sslmode=require"
status=0; out=$("$server_bin" --database-url "$tcp" --db-ca-file "$tls/ca.crt" --listen "127.0.0.1:$http_port" 2>&1) || status=$?
[ $status -ne 0 ] && [[ "$out" == *"add sslmode=require"* ]] || fail "--db-ca-file without sslmode=require: exit $status: $out"
status=0; out=$("$server_bin" --database-url "$tcp sslmode=require" --db-ca-file "$work/nope.pem" --listen "127.0.0.1:$http_port" 2>&1) || status=$?
[ $status -ne 0 ] && [[ "$out" == *"--db-ca-file $work/nope.pem"* ]] || fail "a missing CA file: exit $status: $out"
pass "refused at start: a CA file without sslmode=require, a missing CA file"
say "server over TLS: all checks passed"
