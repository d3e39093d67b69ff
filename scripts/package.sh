#!/usr/bin/env bash
# Builds installable packages: for each PostgreSQL major, an archive holding the library,
# the control file, the SQL scripts (install, old versions, upgrades) and the built-in
# model directory, with an install.sh that needs no Rust; for PostgreSQL 15 (Debian's
# layout) also a .deb. Then llm-clusters-server (the HTTP capture server, a client of any
# of them): an archive and a .deb with the binary and its systemd unit. Output in dist/.
# Usage: scripts/package.sh [15|16|18 ...]   (PACKAGE_PROFILE=debug for a quick test build)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh >/dev/null
versions=("$@"); [ ${#versions[@]} -gt 0 ] || versions=(15 16 18)
version=$(grep -oP '^version = "\K[^"]+' Cargo.toml)
model=${LLM_CLUSTERS_MODEL_CACHE:-/opt/llm_clusters/model/all-MiniLM-L6-v2}
profile_flag=(); [ "${PACKAGE_PROFILE:-release}" = debug ] && profile_flag=(--debug)
mkdir -p dist
for ver in "${versions[@]}"; do
  pg_config=$(pg_config_for "$ver")
  say "packaging llm_clusters $version for PostgreSQL $ver"
  out=$(mktemp -d /tmp/llm_clusters_pkg.XXXXXX)
  cargo pgrx package "${profile_flag[@]}" --pg-config "$pg_config" --no-default-features --features "pg$ver" --out-dir "$out/tree" >/dev/null
  name=llm_clusters-$version-pg$ver-linux-$(uname -m)
  stage=$out/$name
  mkdir -p "$stage/lib" "$stage/extension/llm_clusters/all-MiniLM-L6-v2"
  cp "$(find "$out/tree" -name 'llm_clusters.so')" "$stage/lib/"
  cp "$(find "$out/tree" -name 'llm_clusters.control')" "$(find "$out/tree" -name "llm_clusters--$version.sql")" "$stage/extension/"
  cp sql/llm_clusters--*.sql "$stage/extension/"
  cp "$model"/config.json "$model"/tokenizer.json "$model"/model.safetensors "$stage/extension/llm_clusters/all-MiniLM-L6-v2/"
  echo "$ver" >"$stage/PG_MAJOR"
  cp LICENSE CHANGELOG.md "$stage/"
  cat >"$stage/install.sh" <<'INSTALL'
#!/bin/sh
# Installs llm_clusters into an existing PostgreSQL: install.sh [path/to/pg_config]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pg_config=${1:-pg_config}
major=$("$pg_config" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
want=$(cat "$here/PG_MAJOR")
if [ "$major" != "$want" ]; then
  echo "this package is for PostgreSQL $want, but $pg_config is PostgreSQL $major: use the pg$major package" >&2
  exit 1
fi
libdir=$("$pg_config" --pkglibdir)
extdir=$("$pg_config" --sharedir)/extension
install -m 0755 "$here/lib/llm_clusters.so" "$libdir/"
install -m 0644 "$here"/extension/llm_clusters.control "$here"/extension/llm_clusters--*.sql "$extdir/"
mkdir -p "$extdir/llm_clusters/all-MiniLM-L6-v2"
install -m 0644 "$here"/extension/llm_clusters/all-MiniLM-L6-v2/* "$extdir/llm_clusters/all-MiniLM-L6-v2/"
chmod 0755 "$extdir/llm_clusters" "$extdir/llm_clusters/all-MiniLM-L6-v2"
echo "llm_clusters installed into PostgreSQL $major ($libdir, $extdir); now: CREATE EXTENSION llm_clusters;"
INSTALL
  chmod 0755 "$stage/install.sh"
  tar -C "$out" -czf "dist/$name.tar.gz" "$name"
  say "dist/$name.tar.gz ($(du -h "dist/$name.tar.gz" | cut -f1))"
  if [ "$ver" = 15 ] && command -v dpkg-deb >/dev/null; then
    deb=$out/deb
    mkdir -p "$deb/DEBIAN" "$deb$("$pg_config" --pkglibdir)" "$deb$("$pg_config" --sharedir)/extension"
    cp "$stage/lib/llm_clusters.so" "$deb$("$pg_config" --pkglibdir)/"
    cp -r "$stage/extension/." "$deb$("$pg_config" --sharedir)/extension/"
    chmod -R u=rwX,go=rX "$deb"
    cat >"$deb/DEBIAN/control" <<CONTROL
Package: postgresql-15-llm-clusters
Version: $version
Architecture: $(dpkg --print-architecture)
Maintainer: llm_clusters authors
Depends: postgresql-15
Section: database
Priority: optional
Description: clusters LLM traces and generations inside PostgreSQL 15
 llm_clusters groups similar LLM generations and traces into clusters with titles,
 metrics and a 2-D map, in the database; includes the all-MiniLM-L6-v2 model.
CONTROL
    dpkg-deb --root-owner-group --build "$deb" "dist/postgresql-15-llm-clusters_${version}_$(dpkg --print-architecture).deb" >/dev/null
    say "dist/postgresql-15-llm-clusters_${version}_$(dpkg --print-architecture).deb"
  fi
  rm -rf "$out"
done

# llm-clusters-server: one binary for every PostgreSQL major (it speaks the protocol).
server_version=$(grep -oP '^version = "\K[^"]+' server/Cargo.toml)
say "packaging llm-clusters-server $server_version"
cargo_profile=(--release); bin_dir=release
[ "${PACKAGE_PROFILE:-release}" = debug ] && { cargo_profile=(); bin_dir=debug; }
cargo build -q "${cargo_profile[@]}" -p llm_clusters_server --bin llm-clusters-server
server_bin=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/$bin_dir/llm-clusters-server
out=$(mktemp -d /tmp/llm_clusters_pkg.XXXXXX)
name=llm-clusters-server-$server_version-linux-$(uname -m)
mkdir -p "$out/$name"
install -m 0755 "$server_bin" "$out/$name/llm-clusters-server"
cp packaging/llm-clusters-server.service "$out/$name/"
cp LICENSE CHANGELOG.md "$out/$name/"
tar -C "$out" -czf "dist/$name.tar.gz" "$name"
say "dist/$name.tar.gz ($(du -h "dist/$name.tar.gz" | cut -f1))"
if command -v dpkg-deb >/dev/null; then
  deb=$out/deb
  mkdir -p "$deb/DEBIAN" "$deb/usr/bin" "$deb/lib/systemd/system" "$deb/etc"
  install -m 0755 "$server_bin" "$deb/usr/bin/llm-clusters-server"
  sed 's#^ExecStart=.*#ExecStart=/usr/bin/llm-clusters-server#' packaging/llm-clusters-server.service \
    >"$deb/lib/systemd/system/llm-clusters-server.service"
  # The settings file is the admin's (a conffile: upgrades keep it); it holds a password.
  cat >"$deb/etc/llm-clusters-server.env" <<'ENV'
# llm-clusters-server settings (see the README, "Capture over HTTP"). The role may only
# capture: CREATE ROLE llm_ingest LOGIN PASSWORD '...' IN ROLE llm_clusters_ingest;
#LLM_CLUSTERS_DATABASE_URL=postgres://llm_ingest:PASSWORD@127.0.0.1:5432/postgres
ENV
  chmod 0600 "$deb/etc/llm-clusters-server.env"
  echo /etc/llm-clusters-server.env >"$deb/DEBIAN/conffiles"
  cat >"$deb/DEBIAN/control" <<CONTROL
Package: llm-clusters-server
Version: $server_version
Architecture: $(dpkg --print-architecture)
Maintainer: llm_clusters authors
Section: database
Priority: optional
Description: capture over HTTP for llm_clusters (PostHog SDKs)
 llm-clusters-server receives what PostHog's SDKs send and stores the LLM events in a
 PostgreSQL database with the llm_clusters extension, one API key per team.
 Enable it with: systemctl enable --now llm-clusters-server (after setting
 LLM_CLUSTERS_DATABASE_URL in /etc/llm-clusters-server.env).
CONTROL
  dpkg-deb --root-owner-group --build "$deb" "dist/llm-clusters-server_${server_version}_$(dpkg --print-architecture).deb" >/dev/null
  say "dist/llm-clusters-server_${server_version}_$(dpkg --print-architecture).deb"
fi
rm -rf "$out"
