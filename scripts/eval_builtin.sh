#!/usr/bin/env bash
# Quality of the default path, end to end in the database: labelled texts captured as
# text only (PostHog $ai_generation events), embedded by the built-in model
# (embed_pending), clustered by a run; then the same run on the stored
# sentence-transformers vectors of the same texts; and a run on the embeddings of the
# items' offline summaries (params.embed = "summary"). Prints ARI / NMI of each against
# the labels (outliers count as one more label). Needs a data directory with NAME.jsonl and
# NAME.emb.f32 (e.g. ../shared/data); prints numbers, asserts nothing.
# Usage: scripts/eval_builtin.sh DATA_DIR [set ...]   (default sets: donotanswer5 bbc5)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
data=$(cd "${1:?usage: eval_builtin.sh DATA_DIR [set ...]}" && pwd); shift
sets=("$@"); [ ${#sets[@]} -gt 0 ] || sets=(donotanswer5 bbc5)
install_extension 18 --release >/dev/null 2>&1
q() { pg -At -c "$1"; }
work=$(mktemp -d /tmp/llm_clusters_eval.XXXXXX); chmod 755 "$work"
trap 'stop_cluster; rm -rf "$work"' EXIT
PGPORT=55990 start_cluster 18 "$work" "llm_clusters.embed_threads = 2"
pg -c "CREATE EXTENSION llm_clusters"
for name in "${sets[@]}"; do
  # Events (text only) and, separately, the stored vectors as COPY input.
  python3 - "$data" "$name" "$work" <<'PY'
import json, struct, sys
data, name, work = sys.argv[1:]
rows = [json.loads(l) for l in open(f"{data}/{name}.jsonl", encoding="utf-8")]
raw = open(f"{data}/{name}.emb.f32", "rb").read()
dim = len(raw) // 4 // len(rows)
with open(f"{work}/{name}.events.json", "w") as f:
    json.dump([{"event": "$ai_generation", "uuid": "00000000-0000-4000-8000-%012d" % i, "timestamp": "2026-11-30T12:00:00Z",
                "properties": {"$ai_trace_id": f"{name}-{i}", "$ai_input": [{"role": "user", "content": r["text"]}]}}
               for i, r in enumerate(rows)], f)
with open(f"{work}/{name}.labels.tsv", "w") as f:
    for i, r in enumerate(rows):
        f.write("00000000-0000-4000-8000-%012d\t%s\n" % (i, r["label"]))
with open(f"{work}/{name}.vectors.tsv", "w") as f:
    for i in range(len(rows)):
        v = struct.unpack_from(f"<{dim}f", raw, 4 * dim * i)
        f.write("00000000-0000-4000-8000-%012d\t{%s}\n" % (i, ",".join(repr(x) for x in v)))
PY
  chmod 644 "$work"/"$name".*
  pg -o /dev/null -c "SET client_min_messages = warning" -c "TRUNCATE llm_clusters.events, llm_clusters.embeddings, llm_clusters.item_summaries, llm_clusters.jobs, llm_clusters.runs CASCADE" \
     -c "SELECT llm_clusters.capture(pg_read_file('$work/$name.events.json')::jsonb)"
  start=$(date +%s.%N)
  n=$(q "SELECT llm_clusters.embed_pending('generation', 100000)")
  secs=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")
  job=$(q "SELECT llm_clusters.create_job('$name', 'generation', params => '{\"max_items\": 100000}')")
  builtin_run=$(q "SELECT llm_clusters.run_job($job, '2026-12-01')")
  q "SELECT llm_clusters.summarize_pending('generation', 100000)" >/dev/null
  q "SELECT llm_clusters.embed_summaries('generation', 100000)" >/dev/null
  summary_job=$(q "SELECT llm_clusters.create_job('$name summaries', 'generation', params => '{\"max_items\": 100000, \"embed\": \"summary\"}')")
  summary_run=$(q "SELECT llm_clusters.run_job($summary_job, '2026-12-01')")
  pg -o /dev/null -c "DELETE FROM llm_clusters.embeddings" \
     -c "CREATE TEMP TABLE v (item_id text, embedding real[])" \
     -c "\\copy v FROM '$work/$name.vectors.tsv'" \
     -c "INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding, model) SELECT 1, 'generation', item_id, embedding, 'stored' FROM v"
  stored_run=$(q "SELECT llm_clusters.run_job($job, '2026-12-01')")
  for run in "$builtin_run" "$stored_run" "$summary_run"; do
    q "SELECT item_id, cluster_id FROM llm_clusters.assignments WHERE run_id = $run" | tr '|' '\t' >"$work/run$run.tsv"
  done
  python3 - "$work/$name.labels.tsv" "$work/run$builtin_run.tsv" "$work/run$stored_run.tsv" "$name" "$n" "$secs" "$work/run$summary_run.tsv" <<'PY'
import math, sys
from collections import Counter
labels = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[1]))
def scores(path):
    pred = dict(l.rstrip("\n").split("\t") for l in open(path))
    ids = [i for i in pred if i in labels]
    a, b = [labels[i] for i in ids], [pred[i] for i in ids]
    n = len(ids); joint = Counter(zip(a, b)); ca = Counter(a); cb = Counter(b)
    c2 = lambda x: x * (x - 1) / 2
    s_joint = sum(c2(v) for v in joint.values()); s_a = sum(c2(v) for v in ca.values()); s_b = sum(c2(v) for v in cb.values())
    expected = s_a * s_b / c2(n); ari = (s_joint - expected) / ((s_a + s_b) / 2 - expected)
    mi = sum(v / n * math.log(v * n / (ca[x] * cb[y])) for (x, y), v in joint.items())
    h = lambda c: -sum(v / n * math.log(v / n) for v in c.values())
    nmi = mi / ((h(ca) + h(cb)) / 2)
    return ari, nmi, len(cb), sum(1 for v in b if v == "-1") / n
name, n, secs = sys.argv[4], int(sys.argv[5]), float(sys.argv[6])
for what, path in (("built-in model (embed_pending)", sys.argv[2]), ("stored vectors", sys.argv[3]),
                   ("offline summaries (embed=summary)", sys.argv[7])):
    ari, nmi, k, out = scores(path)
    print(f"{name:<14} {what:<31} ARI {ari:.3f}  NMI {nmi:.3f}  clusters {k:>3}  outliers {100 * out:.1f}%")
print(f"{name:<14} embed_pending: {n} texts in {secs} s = {n / secs:.1f} texts/s (embed_threads = 2)")
PY
done
