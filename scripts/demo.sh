#!/usr/bin/env bash
# The demo: a private PostgreSQL 18 owned by a non-root user, the extension, the HTTP
# server (llm-clusters-server) receiving sample traces from PostHog's Python SDK, a
# clustering run, a summary table of the clusters and the run's HTML report. Leaves the
# database and the server running so you can look around; prints how to use and stop them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh
install_extension 18 --release
say "building llm-clusters-server"
cargo build -q --release -p llm_clusters_server
server_bin=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/llm-clusters-server

demo_dir=$DEMO_DIR
if [ -f "$demo_dir/server.pid" ]; then
  kill "$(cat "$demo_dir/server.pid")" 2>/dev/null || true
fi
if [ -f "$demo_dir/data/postmaster.pid" ]; then
  PGBIN=$("$(pg_config_for 18)" --bindir) PGDATA=$demo_dir/data stop_cluster
fi
rm -rf "$demo_dir"
say "starting a private PostgreSQL 18 in $demo_dir (owner: $PG_OWNER)"
PGPORT=${PGPORT:-55432} start_cluster 18 "$demo_dir"
pg -c "CREATE EXTENSION llm_clusters"

# The server logs in as a role that may only capture; the SDK authenticates with a key.
http=${LLM_CLUSTERS_DEMO_HTTP:-127.0.0.1:8010}
pg -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'llm_clusters_demo_ingest') THEN
         CREATE ROLE llm_clusters_demo_ingest LOGIN IN ROLE llm_clusters_ingest; END IF; END \$\$"
api_key=$(pg -At -c "SELECT llm_clusters.create_api_key(1, 'demo')")
say "starting llm-clusters-server on http://$http"
# The server outlives this script: it must not keep the files our caller left open (flock's
# lock file: the lock would be held until the server stops).
(
  for fd in /proc/self/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
  exec "$server_bin" --listen "$http" --access-log on \
    --database-url "host=$PGHOST port=$PGPORT user=llm_clusters_demo_ingest dbname=postgres"
) >"$demo_dir/http.log" 2>&1 &
echo $! >"$demo_dir/server.pid"
for _ in $(seq 50); do curl -sf "http://$http/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://$http/healthz" >/dev/null || { cat "$demo_dir/http.log"; echo "the server did not start" >&2; exit 1; }
say "sending the sample traces through PostHog's Python SDK"
"$SDK_HOME/venv/bin/python" "$REPO_ROOT/scripts/demo_traces.py" "http://$http" "$api_key"

report=$demo_dir/report.html
pg -v ON_ERROR_STOP=1 -v report_file="$report" -v cluster_file="$demo_dir/cluster.html" -v trace_file="$demo_dir/trace.html" \
  -f "$REPO_ROOT/scripts/demo.sql"
chmod 644 "$report" "$demo_dir/cluster.html" "$demo_dir/trace.html"

say "report: $report, its largest cluster's page: $demo_dir/cluster.html, a trace's timeline: $demo_dir/trace.html (open them in a browser)"

say "connect: sudo -u $PG_OWNER $PGBIN/psql -h $PGHOST -p $PGPORT postgres   (as non-root: drop the sudo)"
say "send:    Posthog('$api_key', host='http://$http')   (PostHog's SDKs, unchanged; log: $demo_dir/http.log)"
say "stop:    kill \$(cat $demo_dir/server.pid); sudo -u $PG_OWNER $PGBIN/pg_ctl -D $PGDATA stop"
