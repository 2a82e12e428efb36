#!/usr/bin/env bash
# Serving figures for docs/serving.md: in-process latency (`osusume bench serve`) and HTTP
# throughput of POST /v1/recommendations with wrk against 127.0.0.1 (10 s, 2 threads, 64
# connections) on the quickstart EASE model. Skips the HTTP part when wrk is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${OSUSUME_BIN:-}"
if [ -z "$BIN" ]; then
  swift build -c release --product osusume --scratch-path .build-serve >&2
  BIN=.build-serve/release/osusume
fi
MODEL="${MODEL:-models/quickstart-ease}"
[ -f "$MODEL/manifest.json" ] || "$BIN" train --model ease --out "$MODEL" --quiet

echo "== in-process: synthetic EASE, 10,000 items, 50-item history, top-10"
"$BIN" bench serve --items 10000 --history 50 --k 10 --requests 2000
echo "== in-process: $MODEL, 50-item history, top-10"
"$BIN" bench serve --model "$MODEL" --history 50 --k 10 --requests 2000

if ! command -v wrk >/dev/null 2>&1; then echo "SKIP HTTP benchmark: wrk not found (apt-get install -y wrk)"; exit 0; fi
WORK="$(mktemp -d)"; SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$BIN" serve --model "$MODEL" --host 127.0.0.1 --port "$PORT" --store "$WORK/feedback.sqlite" --quiet &
SERVER_PID=$!
for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
echo "== HTTP: wrk -t2 -c64 -d10s POST /v1/recommendations ($MODEL)"
wrk -t2 -c64 -d10s --latency -s scripts/wrk-recommendations.lua "http://127.0.0.1:$PORT/v1/recommendations"
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^osusume_http_requests_total.*recommendations"' || true
