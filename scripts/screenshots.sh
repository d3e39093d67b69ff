#!/usr/bin/env bash
# The README's pictures of the demo: docs/report.png (the top of the run's report),
# docs/cluster.png (the biggest cluster's page, its first item expanded to its summary and
# timeline) and docs/timeline.png (the trace the demo shows), taken in headless Chromium.
# Runs the demo first, unless --reuse: then the pages of the last demo run are taken.
# Usage: flock /tmp/llm_clusters_pg.lock bash scripts/screenshots.sh [--reuse]
#        (the lock only matters when other work installs into the same PostgreSQL)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ "${1:-}" = --reuse ] || bash "$REPO_ROOT/scripts/demo.sh"
(cd "$REPO_ROOT/tests/browser" && [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund >/dev/null)
node "$REPO_ROOT/tests/browser/docs_screenshots.mjs" \
  "$DEMO_DIR/report.html" "$DEMO_DIR/cluster.html" "$DEMO_DIR/trace.html" "$REPO_ROOT/docs"
