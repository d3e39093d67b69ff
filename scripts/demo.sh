#!/usr/bin/env bash
# The demo: a private PostgreSQL 18 owned by a non-root user, the extension, sample
# traces, a clustering run, a summary table of the clusters and the run's HTML report.
# Leaves the instance running so you can look around; prints how to connect and stop it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh
install_extension 18 --release

demo_dir=${LLM_CLUSTERS_DEMO_DIR:-/tmp/llm_clusters_demo}
if [ -f "$demo_dir/data/postmaster.pid" ]; then
  PGBIN=$("$(pg_config_for 18)" --bindir) PGDATA=$demo_dir/data stop_cluster
fi
rm -rf "$demo_dir"
say "starting a private PostgreSQL 18 in $demo_dir (owner: $PG_OWNER)"
PGPORT=${PGPORT:-55432} start_cluster 18 "$demo_dir"
pg -c "CREATE EXTENSION llm_clusters"
report=$demo_dir/report.html
pg -v ON_ERROR_STOP=1 -v report_file="$report" -f "$REPO_ROOT/scripts/demo.sql"
chmod 644 "$report"

say "report: $report  (open it in a browser)"

say "connect: sudo -u $PG_OWNER $PGBIN/psql -h $PGHOST -p $PGPORT postgres   (as non-root: drop the sudo)"
say "stop:    sudo -u $PG_OWNER $PGBIN/pg_ctl -D $PGDATA stop"
