#!/usr/bin/env bash
# Serving latency while the server retrains itself on ML-1M-sized data.
#   scripts/retrain-latency.sh [DATA]   (DATA: ml-1m_full_original_ids.txt, one line per user in time order)
# Each user's first 90% of interactions is the base log (an EASE model is trained on it); the last
# 10% become ~100k `watch` events. `serve --retrain` runs with those events stored: wrk measures
# POST /v1/recommendations idle (no retrain), then while the retrain process runs (it is started
# by the events), and the script prints both p99s, their ratio, and the retrain's decision.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/ml-1m/ml-1m_full_original_ids.txt}
[ -f "$data" ] || { echo "error: $data not found (the ML-1M sequences; see ../shared/data/ml-1m)" >&2; exit 1; }
bin=${OSUSUME_BIN:-.build-release/release/osusume}
[ -x "$bin" ] || swift build -c release --scratch-path .build-release >&2
command -v wrk >/dev/null || { echo "error: wrk not found (apt-get install -y wrk)" >&2; exit 1; }
seconds=${SECONDS_PER_PHASE:-20}
work=$(mktemp -d)
server=""
trap '[ -z "$server" ] || kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))

echo "splitting $data: first 90% of each user's items → base, last 10% → events" >&2
awk -v base="$work/base.txt" -v events="$work/events.jsonl" '{
  n = NF - 1; keep = n - int(n / 10); line = $1
  for (i = 2; i <= keep + 1; i++) line = line " " $i
  print line > base
  for (i = keep + 2; i <= NF; i++) printf "{\"user\":\"%s\",\"item\":\"%s\",\"kind\":\"watch\",\"at\":%d}\n", $1, $i, 1700000000 + i > events
}' "$data"
echo "base: $(wc -l <"$work/base.txt") users; events: $(wc -l <"$work/events.jsonl")" >&2

"$bin" train --data "$work/base.txt" --format sasrec --model ease --out "$work/model" >&2
"$bin" serve --model "$work/model" --store "$work/events.sqlite" --port "$port" --api-key bench \
  --retrain "50000 events" --min-holdout-users 20 >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

run_wrk() { wrk -t1 -c8 -d"${seconds}s" --latency -s bench/wrk/recommendations-ml1m.lua "http://127.0.0.1:$port/v1/recommendations" | grep '^RESULT'; }
retraining() { curl -s "http://127.0.0.1:$port/healthz" | grep -q '"retraining":true'; }

uptime
echo "== idle: ${seconds}s of POST /v1/recommendations (wrk -t1 -c8), no retrain"
idle=$(run_wrk); echo "$idle"

echo "== storing $(wc -l <"$work/events.jsonl") events; the server's schedule starts a retrain"
"$bin" events import "$work/events.jsonl" --store "$work/events.sqlite" --quiet
for _ in $(seq 1 100); do retraining && break; sleep 0.2; done
retraining || { echo "error: no retrain started" >&2; tail -20 "$work/serve.log" >&2; exit 1; }
start=$(date +%s)
echo "== during the retrain: ${seconds}s of the same load"
during=$(run_wrk); echo "$during"
was_running=no; retraining && was_running=yes
for _ in $(seq 1 600); do retraining || break; sleep 1; done
echo "retrain still running when the load ended: $was_running; it took about $(( $(date +%s) - start ))s from the load's start"
grep -E 'retrain(:|\|)' "$work/serve.log" | grep -vE 'retrain\| (loaded|events:)' | tail -8
p99() { echo "$1" | sed -E 's/.*p99_ms=([0-9.]+).*/\1/'; }
awk -v a="$(p99 "$idle")" -v b="$(p99 "$during")" 'BEGIN { printf "p99 idle %.2f ms, during retrain %.2f ms: %.2fx\n", a, b, b / a }'
echo "healthz, live part:"; curl -s "http://127.0.0.1:$port/healthz" | grep -o '"live":.*' 
