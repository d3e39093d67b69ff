#!/usr/bin/env bash
# Themes against known two-level hierarchies built from the labelled sets in DIR (default
# /work/shared/data): theme NMI against the parents for several seeds, beside k-means told
# the number of parents. Usage: scripts/eval_themes.sh [DIR] [seeds]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run -q --release -p llm_clusters_engine --example eval_themes -- "${1:-/work/shared/data}" "${2:-3}"
