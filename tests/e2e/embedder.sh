#!/usr/bin/env bash
# The built-in model in a backend, where the regression tests cannot reach: a model
# directory that is unreadable or damaged (58030, nothing stored), two threads, and a long
# embed_pending stopped by statement_timeout and by pg_cancel_backend, keeping the batches
# it finished. Usage: tests/e2e/embedder.sh [15|18]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ver=${1:-18}
e2e_setup "$ver" $((55950 + ver))
pg -c "CREATE EXTENSION llm_clusters"
model=$("$(pg_config_for "$ver")" --sharedir)/extension/llm_clusters/all-MiniLM-L6-v2
scratch=$work/models; mkdir -p "$scratch"
# Copies owned by root that the server's user may not read, or with a damaged file.
cp -r "$model" "$scratch/unreadable"; chmod 000 "$scratch/unreadable/model.safetensors"
cp -r "$model" "$scratch/damaged"; truncate -s 1000000 "$scratch/damaged/model.safetensors"
chmod 755 "$scratch" "$scratch"/*
pg -o /dev/null -c "SELECT llm_clusters.capture(jsonb_agg(jsonb_build_object('event', '\$ai_generation',
    'properties', jsonb_build_object('\$ai_trace_id', 'm' || i, '\$ai_input', 'question number ' || i || ' about ' || (ARRAY['billing', 'shipping', 'passwords'])[1 + i % 3]))))
  FROM generate_series(1, 6000) i"
for case in unreadable damaged; do
  err=$(pg -c "SET llm_clusters.model_dir = '$scratch/$case'" -c "SELECT llm_clusters.embed_pending('generation')" 2>&1 || true)
  case "$err" in
    *"model file \"$scratch/$case/model.safetensors\""*) ;;
    *) fail "$case model: $err" ;;
  esac
  state=$(pg -At -c "SET llm_clusters.model_dir = '$scratch/$case'" -c "\\set VERBOSITY verbose" -c "SELECT llm_clusters.embed_text('x')" 2>&1 | grep -o '58030' | head -1 || true)
  [ "$state" = 58030 ] || fail "$case model: SQLSTATE is not 58030"
  expect "$case model: nothing stored" "SELECT count(*) FROM llm_clusters.embeddings" 0
  pass "$case model: 58030, ${err%%$'\n'*}"
done

say "two threads give the same vectors as one, in both precisions"
vec() { pg -At -c "SET llm_clusters.embed_threads = $1" -c "SET llm_clusters.embed_precision = $2" -c "SELECT array_agg(round(x::numeric, 5)) FROM unnest(llm_clusters.embed_text('How do I reset my password? ' || repeat('More words here. ', 40))) x"; }
for precision in f32 int8; do
  one=$(vec 1 $precision); two=$(vec 2 $precision)
  [ -n "$one" ] && [ "$one" = "$two" ] || fail "$precision: embed_threads 1 and 2 differ"
  pass "$precision: embed_threads = 2 gives the vector of embed_threads = 1"
done

# hold_item: another session writes, and keeps uncommitted, the embedding of the 257th item
# embed_pending would take next: its second batch (of 256) waits for that row, whatever the
# machine's speed.
holder=
E2E_CLEANUP='[ -z "$holder" ] || kill $holder 2>/dev/null; true'
hold_item() {
  local item; item=$(q "SELECT e.uuid FROM llm_clusters.events e
    WHERE NOT EXISTS (SELECT 1 FROM llm_clusters.embeddings m WHERE m.item_id = e.uuid::text)
    ORDER BY e.\"timestamp\" DESC, e.uuid OFFSET 256 LIMIT 1")
  pg -c "BEGIN" -c "INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding) VALUES (1, 'generation', '$item', '{}')" \
     -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
  holder=$!
  wait_until "another session holds item $item uncommitted" 20 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep')"
}
# The session's end (its backend, not only psql: a backend in pg_sleep notices no client).
release_item() {
  q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep'" >/dev/null
  wait "$holder" 2>/dev/null || true; holder=
}

say "statement_timeout during a long embed_pending keeps the finished batches"
hold_item
# 20 s: far more than a batch of 256 short texts takes; the second batch then waits.
out=$(pg -At -c "SET statement_timeout = '20s'" -c "SELECT llm_clusters.embed_pending('generation', 6000)" 2>&1)
stored=$(echo "$out" | tail -1)
[[ "$out" == *"embed_pending stopped after 256 items, which are kept"* ]] || fail "no WARNING about the stop after the first batch: $out"
expect "what it returned, one batch, is what is stored" "SELECT count(*) || ' ' || $stored FROM llm_clusters.embeddings" "256 256"
pass "statement_timeout: stopped in the second batch, the first (256 items) kept"
release_item

say "pg_cancel_backend during a long embed_pending"
hold_item
pg -At -c "SELECT llm_clusters.embed_pending('generation', 6000)" >"$work/cancel.out" 2>&1 &
bg=$!
wait_until "embed_pending waits for the held item in its second batch" 60 \
  "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT llm_clusters.embed_pending%' AND wait_event_type = 'Lock')"
q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT llm_clusters.embed_pending%' AND wait_event_type = 'Lock'" >/dev/null
wait "$bg" || true
expect "cancel: the first batch is kept" "SELECT count(*) FROM llm_clusters.embeddings" 512
grep -q "embed_pending stopped after 256 items, which are kept" "$work/cancel.out" || fail "cancel: no WARNING ($(cat "$work/cancel.out"))"
pass "cancel: stopped in the second batch, the first (256 more items) kept"
release_item
say "embedder end-to-end passed"
