#!/usr/bin/env bash
# Capture over HTTP: events/s and latency per request through llm-clusters-server (release
# build, a pool of 8 connections as an ingest role) with 1, 8 and 32 concurrent clients
# sending batches of 1 and 100 events, beside capture() called directly (a connection per
# client) in the same run, on a throw-away PostgreSQL 18. Prints numbers; asserts nothing.
# Usage: scripts/bench/server.sh [SECONDS per cell, default 10]
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
seconds=${1:-10}
bash scripts/setup.sh >/dev/null
install_extension 18 --release >/dev/null 2>&1
say "building llm-clusters-server and the load generator (release)"
cargo build -q --release -p llm_clusters_server --bin llm-clusters-server --example load
target=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release
work=$(mktemp -d /tmp/llm_clusters_bench.XXXXXX); chmod 755 "$work"
server_pid=
trap '[ -z "$server_pid" ] || kill $server_pid 2>/dev/null; stop_cluster; rm -rf "$work"' EXIT
PGPORT=55128 start_cluster 18 "$work" "max_connections = 100"
pg -c "CREATE EXTENSION llm_clusters" -c "CREATE ROLE bench_ingest LOGIN IN ROLE llm_clusters_ingest"
key=$(pg -At -c "SELECT llm_clusters.create_api_key(1, 'bench')")
port=18020
"$target/llm-clusters-server" --listen "127.0.0.1:$port" --pool-size 8 \
  --database-url "host=$PGHOST port=$PGPORT user=bench_ingest dbname=postgres" >"$work/http.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
say "$seconds s per cell; $(nproc) cores; the load generator runs on the same machine"
for batch in 1 100; do
  for clients in 1 8 32; do
    "$target/examples/load" --url "http://127.0.0.1:$port" --key "$key" --clients "$clients" --batch "$batch" --seconds "$seconds"
    "$target/examples/load" --database-url "host=$PGHOST port=$PGPORT user=$PG_OWNER dbname=postgres" \
      --clients "$clients" --batch "$batch" --seconds "$seconds"
  done
done
say "events stored: $(pg -At -c 'SELECT count(*) FROM llm_clusters.events')"
