#!/usr/bin/env bash
# Packages: builds the PostgreSQL 15 package (scripts/package.sh), removes every file a
# source install put into Debian's PostgreSQL 15, installs the .deb with dpkg, then on a
# clean data directory: CREATE EXTENSION, the built-in model from the package, a job run.
# Also the archive's install.sh: refused for the wrong major (PostgreSQL 18), then
# installed into a scratch copy of PostgreSQL 15's directories. Then the server's .deb:
# its files, its settings file (a conffile, 0600), and the packaged binary storing an
# SDK-shaped batch in that database; removed again. Ends with the source install put back
# (later scripts use it).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
version=$(grep -oP '^version = "\K[^"]+' "$REPO_ROOT/Cargo.toml")
PACKAGE_PROFILE=${PACKAGE_PROFILE:-debug} bash "$REPO_ROOT/scripts/package.sh" 15
deb=$REPO_ROOT/dist/postgresql-15-llm-clusters_${version}_$(dpkg --print-architecture).deb
tarball=$REPO_ROOT/dist/llm_clusters-$version-pg15-linux-$(uname -m).tar.gz
server_version=$(grep -oP '^version = "\K[^"]+' "$REPO_ROOT/server/Cargo.toml")
server_deb=$REPO_ROOT/dist/llm-clusters-server_${server_version}_$(dpkg --print-architecture).deb
server_tarball=$REPO_ROOT/dist/llm-clusters-server-$server_version-linux-$(uname -m).tar.gz
[ -f "$deb" ] && [ -f "$tarball" ] && [ -f "$server_deb" ] && [ -f "$server_tarball" ] || fail "package.sh made no .deb or archive"
pass "built $(basename "$deb"), $(basename "$tarball"), $(basename "$server_deb") and $(basename "$server_tarball")"

pg15=$(pg_config_for 15)
libdir=$("$pg15" --pkglibdir); extdir=$("$pg15" --sharedir)/extension
E2E_CLEANUP='install_extension 15 >/dev/null 2>&1 || true'
as_root rm -rf "$libdir/llm_clusters.so" "$extdir"/llm_clusters.control "$extdir"/llm_clusters--*.sql "$extdir/llm_clusters"
as_root dpkg -i "$deb" >/dev/null
dpkg -s postgresql-15-llm-clusters | grep -q "^Version: $version" || fail "dpkg does not know the package"
upgrades=()
for script in "$REPO_ROOT"/sql/llm_clusters--*--*.sql; do upgrades+=("$extdir/$(basename "$script")"); done
for f in "$libdir/llm_clusters.so" "$extdir/llm_clusters.control" "$extdir/llm_clusters--$version.sql" \
         "${upgrades[@]}" "$extdir/llm_clusters/all-MiniLM-L6-v2/model.safetensors"; do
  dpkg -S "$f" >/dev/null 2>&1 || fail "$f is not from the package"
done
pass "the .deb installed the library, control file, SQL scripts and model into PostgreSQL 15"

work=$(mktemp -d /tmp/llm_clusters_e2e.XXXXXX); chmod 755 "$work"
trap 'eval "$E2E_CLEANUP"; stop_cluster; rm -rf "$work"' EXIT
PGPORT=55925 start_cluster 15 "$work"
pg -c "CREATE EXTENSION llm_clusters" 
expect "CREATE EXTENSION from the package" "SELECT extversion FROM pg_extension WHERE extname = 'llm_clusters'" "$version"
pg -o /dev/null -c "SELECT llm_clusters.capture(jsonb_agg(jsonb_build_object('event', '\$ai_generation',
    'properties', jsonb_build_object('\$ai_trace_id', 't' || i,
        '\$ai_input', (ARRAY['How do I reset my password?', 'Translate this menu into French', 'Write a SQL query for sales'])[1 + i % 3] || ' (' || i || ')'))))
  FROM generate_series(1, 90) i"
expect "embed_pending with the packaged model" "SELECT llm_clusters.embed_pending('generation')" 90
job=$(q "SELECT llm_clusters.create_job('packaged', 'generation', params => '{\"min_items\": 20}')")
run=$(q "SELECT llm_clusters.run_job($job)")
expect "a job runs" "SELECT status || ' ' || n_clusters FROM llm_clusters.runs WHERE id = $run" "succeeded 3"

say "the server's .deb"
E2E_CLEANUP="as_root dpkg --purge llm-clusters-server >/dev/null 2>&1 || true; $E2E_CLEANUP"
as_root dpkg -i "$server_deb" >/dev/null
for f in /usr/bin/llm-clusters-server /lib/systemd/system/llm-clusters-server.service /etc/llm-clusters-server.env; do
  dpkg -S "$f" >/dev/null 2>&1 || fail "$f is not from the server package"
done
[ "$(stat -c %a /etc/llm-clusters-server.env)" = 600 ] || fail "the settings file is readable by others"
dpkg-query -W -f='${Conffiles}' llm-clusters-server | grep -q /etc/llm-clusters-server.env || fail "the settings file is not a conffile"
grep -q '^ExecStart=/usr/bin/llm-clusters-server$' /lib/systemd/system/llm-clusters-server.service || fail "the unit does not start the packaged binary"
pass "the server's .deb installed the binary, its systemd unit and its settings file (conffile, 0600)"
pg -c "CREATE ROLE packaged_ingest LOGIN IN ROLE llm_clusters_ingest"
key=$(q "SELECT llm_clusters.create_api_key(1, 'packaged server')")
http_port=55926
LLM_CLUSTERS_DATABASE_URL="host=$PGHOST port=$PGPORT user=packaged_ingest dbname=postgres" \
  LLM_CLUSTERS_LISTEN="127.0.0.1:$http_port" /usr/bin/llm-clusters-server >"$work/http.log" 2>&1 &
server_pid=$!
E2E_CLEANUP="kill $server_pid 2>/dev/null || true; $E2E_CLEANUP"
for _ in $(seq 50); do [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/healthz" || true)" = 200 ] && break; sleep 0.1; done
code=$(curl -s -o "$work/answer" -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary "{\"api_key\": \"$key\", \"batch\": [{\"event\": \"\$ai_generation\", \"uuid\": \"00000000-0000-4000-8000-00000000d0eb\",
                 \"properties\": {\"\$ai_trace_id\": \"deb\", \"\$ai_input\": \"sent to the packaged server\"}}]}" \
  "http://127.0.0.1:$http_port/batch/" || true)
[ "$code" = 200 ] || fail "the packaged server answered $code: $(cat "$work/answer"; tail -5 "$work/http.log")"
expect "the packaged server stored the event in the key's team" \
  "SELECT team_id || ' ' || trace_id FROM llm_clusters.events WHERE uuid = '00000000-0000-4000-8000-00000000d0eb'" "1 deb"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
as_root dpkg --purge llm-clusters-server >/dev/null
[ ! -e /usr/bin/llm-clusters-server ] && [ ! -e /etc/llm-clusters-server.env ] || fail "dpkg --purge left files"
pass "purged again"
stop_cluster

say "the archive's install.sh"
x=$(mktemp -d); tar -C "$x" -xzf "$tarball"
E2E_CLEANUP="rm -rf $x; $E2E_CLEANUP"
status=0; out=$("$x"/llm_clusters-*/install.sh "$(pg_config_for 18)" 2>&1) || status=$?
[ $status -ne 0 ] && [[ "$out" == *"this package is for PostgreSQL 15, but"*"PostgreSQL 18"* ]] || fail "wrong major: $out"
pass "refused for the wrong major: $out"
# A scratch PostgreSQL 15 layout: a pg_config stand-in that answers like Debian's.
scratch=$x/pg15; mkdir -p "$scratch/lib" "$scratch/share/extension"
cat >"$x/pg_config" <<PGC
#!/bin/sh
case "\$1" in --version) "$pg15" --version ;; --pkglibdir) echo "$scratch/lib" ;; --sharedir) echo "$scratch/share" ;; esac
PGC
chmod +x "$x/pg_config"
"$x"/llm_clusters-*/install.sh "$x/pg_config" >/dev/null
cmp "$scratch/lib/llm_clusters.so" "$libdir/llm_clusters.so" || fail "install.sh installed another library"
[ -f "$scratch/share/extension/llm_clusters/all-MiniLM-L6-v2/model.safetensors" ] || fail "install.sh did not install the model"
pass "install.sh installs library, scripts and model where pg_config says"
say "package: all checks passed"
