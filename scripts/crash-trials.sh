#!/usr/bin/env bash
# Crash trials: kill -9 the server while it acknowledges feedback, and `train --out` while it
# writes a model, then check that every acknowledged event is in the store and that the model
# directory is the old or the new model, never a torn one.
#   scripts/crash-trials.sh [--trials N] [--bin PATH] [--store URL]
# --store defaults to a SQLite file in a temporary folder (a postgres:// URL also works).
# Prints one line per trial and ends with 'crash trials: N passed, N failed'.
set -euo pipefail
cd "$(dirname "$0")/.."
trials=10
bin=${OSUSUME_BIN:-.build-release/release/osusume}
store=""
while [ $# -gt 0 ]; do
  case $1 in
    --trials) trials=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --store) store=$2; shift 2 ;;
    *) echo "usage: $0 [--trials N] [--bin PATH] [--store URL]" >&2; exit 2 ;;
  esac
done
log() { echo "[crash-trials] $*" >&2; }
die() { log "error: $*"; exit 1; }
. scripts/bench-lib.sh
need_tools curl:curl
[ -x "$bin" ] || { echo "error: $bin not found; build it (swift build -c release --scratch-path .build-release) or give --bin" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
work=$(mktemp -d)
server=""
cleanup() { [ -z "$server" ] || kill -9 "$server" 2>/dev/null || true; jobs -p | xargs -r kill 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
store=${store:-$work/events.sqlite}
port=$((20000 + RANDOM % 20000))
run=r$RANDOM$RANDOM   # users of this run, apart from any earlier run's in the same store
passed=0; failed=0

echo "training a model for the trials …" >&2
t0=$(date +%s%N)
"$bin" train --model ease --out "$work/model" --quiet >/dev/null
train_ms=$(( ($(date +%s%N) - t0) / 1000000 ))

# Posts single events for users PREFIX-N as fast as one connection goes, logging each one
# acknowledged (201) to FILE; stops when the server is gone.
writer() {
  local prefix=$1 file=$2 n=0 code
  while [ $n -lt 100000 ]; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H 'Authorization: Bearer crash' \
      -d "{\"user\":\"$prefix-$n\",\"item\":\"1\",\"kind\":\"like\"}" "http://127.0.0.1:$port/v1/feedback") || return 0
    [ "$code" = 201 ] && echo "$prefix-$n" >>"$file"
    [ "$code" = 000 ] && return 0
    n=$((n + 1))
  done
}

for t in $(seq 1 "$trials"); do
  "$bin" serve --model "$work/model" --store "$store" --port "$port" --api-key crash --quiet >"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
  : >"$work/acked"
  for w in 1 2 3 4; do writer "$run-t$t-w$w" "$work/acked" & done
  sleep "0.$((3 + RANDOM % 7))"
  kill -9 "$server"; wait "$server" 2>/dev/null || true; server=""
  wait
  acked=$(wc -l <"$work/acked")
  "$bin" events export --store "$store" | grep -o "\"user\":\"$run-t$t-[^\"]*\"" | sed 's/"user":"//; s/"$//' | sort -u >"$work/stored" || true
  missing=$(sort -u "$work/acked" | comm -23 - "$work/stored" | wc -l)
  if [ "$acked" -gt 0 ] && [ "$missing" -eq 0 ]; then passed=$((passed + 1)); verdict=ok; else failed=$((failed + 1)); verdict=FAILED; fi
  echo "feedback trial $t: $acked acknowledged, $(wc -l <"$work/stored") stored, $missing missing: $verdict"
done

# Model save: kill -9 at a random point of `train --out` over an existing model.
old=$(grep -o '"createdAt" : "[^"]*"' "$work/model/manifest.json")
for t in $(seq 1 "$trials"); do
  "$bin" train --model ease --out "$work/model" --quiet >/dev/null 2>&1 &
  pid=$!
  # Anywhere from the start to a little past the time a whole run takes.
  kill_ms=$(( RANDOM * (train_ms * 12 / 10) / 32768 ))
  sleep "$((kill_ms / 1000)).$(printf %03d $((kill_ms % 1000)))"
  kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  now=$(grep -o '"createdAt" : "[^"]*"' "$work/model/manifest.json" 2>/dev/null || echo none)
  if "$bin" recommend --model "$work/model" --user 1 --quiet >/dev/null 2>&1; then
    passed=$((passed + 1)); verdict=ok
    [ "$now" = "$old" ] && state=old || state=new
    old=$now
  else
    failed=$((failed + 1)); verdict=FAILED; state=torn
  fi
  echo "model-save trial $t: the directory holds the $state model: $verdict"
done
echo "crash trials: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
