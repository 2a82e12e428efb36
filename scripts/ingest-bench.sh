#!/usr/bin/env bash
# Ingest throughput of ONE `osusume serve` process: acknowledged feedback events per second over
# HTTP on 127.0.0.1, measured with wrk, first with a SQLite store (temp dir) and then with a
# throwaway PostgreSQL (scripts/postgres.sh).
#   mode single: each POST /v1/feedback carries one event (a JSON object)
#   mode batch:  each POST carries an array of BATCH (default 100) events
# Events/s = 2xx answers x events per request / seconds. After each run the store's count is read
# (`osusume events count` for SQLite, psql for PostgreSQL) and must be >= the acknowledged count
# (it may be higher by the requests in flight when wrk stopped).
# Each store starts empty and grows across its runs (several million events by the last), which
# slows later runs a little; a 3 s warm-up precedes the first.
# Targets (SQLite): >= 20,000 events/s with batches, >= 5,000 events/s with single events.
#
# Environment (all optional):
#   OSUSUME_BIN    the binary (default .build-release/release/osusume, built when missing)
#   MODEL          a trained model directory to serve (default: train EASE into the temp dir)
#   STORES         "sqlite postgres" (default) or one of them
#   DURATION       seconds per wrk run (default 15)
#   WRK_THREADS    wrk threads (default 2)
#   CONNS_SINGLE   connections for single-event runs; a list runs each (default "64 128")
#   CONNS_BATCH    connections for batch runs; a list runs each (default "8 16")
#   BATCH          events per batch request (default 100)
# Progress goes to stderr; the table goes to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { echo "[ingest-bench] $*" >&2; }
die() { log "error: $*"; exit 1; }

. scripts/bench-lib.sh
resolve_bin
need_tools wrk:wrk jq:jq curl:curl

STORES="${STORES-sqlite postgres}"
DURATION="${DURATION:-15}"
WRK_THREADS="${WRK_THREADS:-2}"
CONNS_SINGLE="${CONNS_SINGLE-64 128}"
CONNS_BATCH="${CONNS_BATCH-8 16}"
BATCH="${BATCH:-100}"
TARGET_SINGLE=5000
TARGET_BATCH=20000
KEY="ingest-$RANDOM$RANDOM"
LUA="$ROOT/bench/wrk/feedback.lua"

WORK=$(mktemp -d /tmp/osusume-ingest.XXXXXX)
chmod 711 "$WORK"   # the postgres OS user must reach $WORK/pg
SERVER_PID=""
PG_STARTED=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$PG_STARTED" ]; then "$ROOT/scripts/postgres.sh" stop "$WORK/pg" >/dev/null 2>&1 || log "warning: stopping PostgreSQL failed"; fi
  if [ -n "${KEEP_WORK:-}" ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server STORE NAME: starts `serve` on a free port (default threads), waits for /healthz.
start_server() {
  PORT=$(free_port)
  "$BIN" serve --model "$MODEL" --store "$1" --host 127.0.0.1 --port "$PORT" --api-key "$KEY" \
    >"$WORK/serve-$2.log" 2>&1 &
  SERVER_PID=$!
  local i
  for i in $(seq 1 300); do   # at most 60 s
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && { log "serve ($2) is up on 127.0.0.1:$PORT (pid $SERVER_PID)"; return; }
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$WORK/serve-$2.log" >&2; die "serve ($2) exited"; }
    sleep 0.2
  done
  tail -n 20 "$WORK/serve-$2.log" >&2
  die "serve ($2) did not answer /healthz within 60 s"
}

# stop_server NAME: SIGTERM, at most 10 s, then SIGKILL; notes how it ended.
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  local st how="exited"
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$SERVER_PID" 2>/dev/null; then kill -9 "$SERVER_PID" 2>/dev/null || true; how="did not exit within 10 s (SIGKILL)"; fi
  wait "$SERVER_PID" && st=0 || st=$?
  echo "serve ($1): SIGTERM -> $how, status $st" >>"$WORK/stops"
  SERVER_PID=""
}

# The item list of bench/wrk/common.lua, checked once against the served catalog.
verify_items() {
  local ids bad=0 n=0 id
  ids=$(sed -n '/^items = {/,/^}/p' "$ROOT/bench/wrk/common.lua" | grep -o '[0-9][0-9]*')
  for id in $ids; do
    n=$((n + 1))
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v1/items/$id")" = 200 ] || { log "item $id: not in the catalog"; bad=$((bad + 1)); }
  done
  [ "$bad" = 0 ] || die "$bad of the $n items in bench/wrk/common.lua are unknown to the model"
  log "all $n items of bench/wrk/common.lua exist (GET /v1/items/ID = 200)"
}

store_count() {
  case $1 in
    sqlite) "$BIN" events count --store "$STORE" --quiet | awk 'NR == 1 { print $1 }' ;;
    postgres) psql "$STORE" -Atc "select count(*) from feedback" ;;
  esac
}

# field NAME FILE: a value from the RESULT line that bench/wrk/common.lua prints.
field() { grep '^RESULT ' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

ROWS="$WORK/rows"
: >"$ROWS"
: >"$WORK/stops"
FAILED=0

# run_wrk STORE-NAME MODE CONNS: one measured run; appends a row.
run_wrk() {
  local name=$1 mode=$2 conns=$3 per out before after
  per=1; [ "$mode" = batch ] && per=$BATCH
  out="$WORK/wrk-$name-$mode-c$conns.txt"
  before=$(store_count "$name")
  log "$name/$mode: wrk -t$WRK_THREADS -c$conns -d${DURATION}s ($per event(s) per request) …"
  wrk -t"$WRK_THREADS" -c"$conns" -d"${DURATION}s" --timeout 10s --latency -s "$LUA" \
    "http://127.0.0.1:$PORT/v1/feedback" -- "$KEY" "$per" "$name-$mode-$conns-" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
  sleep 1   # let requests still in flight when wrk stopped commit
  after=$(store_count "$name")
  grep -q '^RESULT ' "$out" || { cat "$out" >&2; die "no RESULT line from wrk"; }
  local reqs ok non2xx secs p50 p99 errs codes acked stored rps eps check
  reqs=$(field requests "$out"); ok=$(field ok2xx "$out"); non2xx=$(field non2xx "$out"); secs=$(field seconds "$out")
  p50=$(field p50_ms "$out"); p99=$(field p99_ms "$out"); codes=$(field codes "$out")
  errs=$(( $(field connect_err "$out") + $(field read_err "$out") + $(field write_err "$out") + $(field timeout_err "$out") ))
  acked=$((ok * per)); stored=$((after - before))
  rps=$(awk -v n="$reqs" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
  eps=$(awk -v n="$acked" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
  if [ "$stored" -ge "$acked" ]; then check="ok (+$((stored - acked)))"; else check="LOST $((acked - stored))"; FAILED=1; fi
  printf '%-8s %-6s %5s %9s %10s %8s %8s %7s %6s %10s %10s  %s\n' "$name" "$mode" "$conns" "$rps" "$eps" "$p50" "$p99" \
    "$non2xx" "$errs" "$acked" "$stored" "$check" >>"$ROWS"
  [ "$codes" = none ] || log "$name/$mode c$conns: non-2xx answers by status: $codes"
  [ "$errs" = 0 ] || log "$name/$mode c$conns: socket errors: $(grep 'Socket errors' "$out" || echo "$errs")"
  log "$name/$mode c$conns: $rps req/s, $eps events/s acknowledged, stored $stored vs acknowledged $acked"
}

# bench_store NAME: warm-up, then the single and batch runs against the running server.
bench_store() {
  local name=$1 c
  log "$name: 3 s warm-up (single events, not counted)"
  wrk -t"$WRK_THREADS" -c16 -d3s -s "$LUA" "http://127.0.0.1:$PORT/v1/feedback" -- "$KEY" 1 "$name-warm-" >/dev/null 2>&1 || true
  for c in $CONNS_SINGLE; do run_wrk "$name" single "$c"; done
  for c in $CONNS_BATCH; do run_wrk "$name" batch "$c"; done
  curl -s "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics-$name.txt" || true
}

LOAD_BEFORE=$(uptime)
log "machine: $(nproc) cores; uptime: $LOAD_BEFORE"

if [ -z "${MODEL:-}" ]; then
  MODEL="$WORK/model"
  log "training EASE on the bundled ml-latest-small into $MODEL …"
  "$BIN" train --model ease --out "$MODEL" --quiet >&2
fi
[ -f "$MODEL/manifest.json" ] || die "no model in $MODEL"

for name in $STORES; do
  case $name in
    sqlite) STORE="$WORK/feedback.sqlite" ;;
    postgres)
      command -v psql >/dev/null || die "psql not found"
      log "starting a throwaway PostgreSQL in $WORK/pg …"
      PG_STARTED=1
      STORE=$("$ROOT/scripts/postgres.sh" start "$WORK/pg")
      log "PostgreSQL: $STORE"
      ;;
    *) die "unknown store '$name' in STORES" ;;
  esac
  start_server "$STORE" "$name"
  verify_items
  bench_store "$name"
  stop_server "$name"
done
LOAD_AFTER=$(uptime)

echo "ingest benchmark: one osusume serve, wrk -t$WRK_THREADS, ${DURATION}s per run, $BATCH events per batch request, 127.0.0.1"
echo "binary: $BIN ($("$BIN" --version 2>/dev/null || echo '?'))"
echo "machine: $(nproc) cores, $(uname -sr); $(wrk -v 2>&1 | head -n 1)"
echo "uptime before: $LOAD_BEFORE"
echo "uptime after:  $LOAD_AFTER"
echo
printf '%-8s %-6s %5s %9s %10s %8s %8s %7s %6s %10s %10s  %s\n' store mode conns "req/s" "events/s" "p50 ms" "p99 ms" \
  "non2xx" "sockE" acked stored "stored-acked"
cat "$ROWS"
echo
# Targets apply to SQLite: the best run of each mode.
for mode in single batch; do
  best=$(awk -v m="$mode" '$1 == "sqlite" && $2 == m { if ($5 > b) b = $5 } END { print b + 0 }' "$ROWS")
  target=$TARGET_SINGLE; [ "$mode" = batch ] && target=$TARGET_BATCH
  if ! grep -q "^sqlite *$mode " "$ROWS"; then continue; fi
  if [ "$best" -ge "$target" ]; then verdict=PASS; else verdict=FAIL; FAILED=1; fi
  echo "target sqlite $mode: >= $target events/s; best $best -> $verdict"
done
cat "$WORK/stops"
for name in $STORES; do
  if grep -Eiq 'error|fatal|panic|crash' "$WORK/serve-$name.log"; then
    echo "serve ($name) log has error lines ($(grep -Eic 'error|fatal|panic|crash' "$WORK/serve-$name.log")); first ones:"
    grep -Ei 'error|fatal|panic|crash' "$WORK/serve-$name.log" | sort | uniq -c | head -n 5 | sed 's/^ */  /'
  else
    echo "serve ($name) log: no error lines"
  fi
done
exit "$FAILED"
