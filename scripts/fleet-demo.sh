#!/usr/bin/env bash
# A fleet on one machine: a throwaway PostgreSQL, three `osusume serve` replicas (127.0.0.1:18081-18083)
# sharing it and one model directory, and nginx on 127.0.0.1:18080 in front of them.
#   1. visibility: an event posted to replica 1 shows in replica 3's recommendations for that user
#   2. load: 60 s of reads (GET recommendations) and writes (POST single events, one new user each)
#      through nginx at the same time; replica 2 is killed with SIGKILL at t = 30 s
#   3. durability: writes acknowledged (2xx) vs rows stored in PostgreSQL -> lost must be 0;
#      reads: non-2xx and socket errors while a replica died
#   4. model versions: GET /v1/admin/versions on replica 1 vs live.version of every live replica
#   5. replica 2 restarted against the same store
#   6. a retrain (`osusume retrain` on the store) and a rollback reach every replica without a restart
# Writes the summary to stdout and to bench/results/fleet-demo-DATE.txt.
#
# Environment (all optional):
#   OSUSUME_BIN   the binary (default .build-release/release/osusume, built when missing)
#   MODEL         a trained model directory (default: train EASE into the temp dir)
#   DURATION      load seconds (default 60); the kill comes at DURATION/2
#   READ_CONNS, WRITE_CONNS   wrk connections (default 16 each, one wrk thread each)
#   BASE_PORT     nginx port; replicas use the next three (default 18080)
# Progress goes to stderr. Exit status 0 when every check passes.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { echo "[fleet-demo] $*" >&2; }
die() { log "error: $*"; exit 1; }

. scripts/bench-lib.sh
resolve_bin
need_tools nginx:nginx wrk:wrk jq:jq curl:curl psql:postgresql-client
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

DURATION="${DURATION:-60}"
KILL_AT=$((DURATION / 2))
READ_CONNS="${READ_CONNS:-16}"
WRITE_CONNS="${WRITE_CONNS:-16}"
BASE_PORT="${BASE_PORT:-18080}"
LB_PORT=$BASE_PORT
PORTS=($((BASE_PORT + 1)) $((BASE_PORT + 2)) $((BASE_PORT + 3)))
KEY="fleet-$RANDOM$RANDOM"
LB="http://127.0.0.1:$LB_PORT"

for p in "$LB_PORT" "${PORTS[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then die "port $p on 127.0.0.1 is already taken"; fi
done

WORK=$(mktemp -d /tmp/osusume-fleet.XXXXXX)
chmod 711 "$WORK"   # PostgreSQL and the nginx workers run as other users
PIDS=("" "" "")
NGINX_PID=""
PG_STARTED=""
READ_PID=""
WRITE_PID=""
cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in "$READ_PID" "$WRITE_PID" "${PIDS[@]}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  if [ -n "$NGINX_PID" ]; then kill -QUIT "$NGINX_PID" 2>/dev/null || true; fi
  for p in "$READ_PID" "$WRITE_PID" "${PIDS[@]}" "$NGINX_PID"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null || true
  done
  if [ -n "$PG_STARTED" ]; then "$ROOT/scripts/postgres.sh" stop "$WORK/pg" >/dev/null 2>&1 || log "warning: stopping PostgreSQL failed"; fi
  if [ -n "${KEEP_WORK:-}" ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_http URL SECONDS: polls until the URL answers 2xx, at most SECONDS.
wait_http() {
  local i
  for i in $(seq 1 $(($2 * 5))); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.2
  done
  return 1
}

# start_replica N (1-based)
start_replica() {
  local n=$1 port=${PORTS[$(($1 - 1))]}
  "$BIN" serve --model "$MODEL" --store "$PG_URL" --host 127.0.0.1 --port "$port" --api-key "$KEY" \
    --follow-interval 2 >>"$WORK/replica-$n.log" 2>&1 &
  PIDS[$((n - 1))]=$!
}

LOAD_BEFORE=$(uptime)
log "machine: $(nproc) cores; uptime: $LOAD_BEFORE"

log "starting a throwaway PostgreSQL …"
PG_STARTED=1
PG_URL=$("$ROOT/scripts/postgres.sh" start "$WORK/pg")
log "PostgreSQL: $PG_URL"

if [ -z "${MODEL:-}" ]; then
  MODEL="$WORK/model"
  log "training EASE on the bundled ml-latest-small into $MODEL (once, shared by the replicas) …"
  "$BIN" train --model ease --out "$MODEL" --quiet >&2
fi
[ -f "$MODEL/manifest.json" ] || die "no model in $MODEL"

# Replica 1 first: it records the model directory as version 1 in the empty store; the others
# then find that version instead of racing to create it.
start_replica 1
wait_http "http://127.0.0.1:${PORTS[0]}/healthz" 90 || { tail -n 20 "$WORK/replica-1.log" >&2; die "replica 1 did not start"; }
start_replica 2
start_replica 3
for n in 2 3; do
  wait_http "http://127.0.0.1:${PORTS[$((n - 1))]}/healthz" 90 || { tail -n 20 "$WORK/replica-$n.log" >&2; die "replica $n did not start"; }
done
log "replicas up: ${PORTS[*]} (pids ${PIDS[*]})"

mkdir -p "$WORK/logs" "$WORK/tmp"
cat >"$WORK/nginx.conf" <<EOF
# nginx in front of the three replicas (written by scripts/fleet-demo.sh).
daemon off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log warn;
events { worker_connections 1024; }
http {
  log_format fleet '\$msec|\$request_method|\$status|\$upstream_addr|\$upstream_status|\$request_time';
  access_log $WORK/logs/access.log fleet;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  upstream osusume {
    server 127.0.0.1:${PORTS[0]} max_fails=1 fail_timeout=5s;
    server 127.0.0.1:${PORTS[1]} max_fails=1 fail_timeout=5s;
    server 127.0.0.1:${PORTS[2]} max_fails=1 fail_timeout=5s;
    keepalive 32;
  }
  server {
    listen 127.0.0.1:$LB_PORT;
    location / {
      proxy_pass http://osusume;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_connect_timeout 1s;
      proxy_read_timeout 30s;
      # Reads fail over to the next replica. POSTs are retried only when they never reached a
      # replica (connect error): no non_idempotent, so an event is never sent twice.
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 3;
    }
  }
}
EOF
"$NGINX" -t -p "$WORK" -c "$WORK/nginx.conf" >"$WORK/logs/nginx-t.log" 2>&1 || { cat "$WORK/logs/nginx-t.log" >&2; die "nginx -t failed"; }
"$NGINX" -p "$WORK" -c "$WORK/nginx.conf" >>"$WORK/logs/nginx.out" 2>&1 &
NGINX_PID=$!
wait_http "$LB/healthz" 20 || { cat "$WORK/logs/error.log" >&2; die "nginx did not proxy /healthz"; }
log "nginx up on $LB (pid $NGINX_PID)"

FAILED=0
SUMMARY="$WORK/summary.txt"
out() { echo "$*" >>"$SUMMARY"; }

# 1. Visibility across replicas.
VUSER="visibility-$$-$RANDOM"
VITEM=589
post_code=$(curl -s -o "$WORK/visibility-post.json" -w '%{http_code}' -X POST "http://127.0.0.1:${PORTS[0]}/v1/feedback" \
  -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d "{\"user\":\"$VUSER\",\"item\":\"$VITEM\",\"kind\":\"like\"}")
get_code=$(curl -s -o "$WORK/visibility-get.json" -w '%{http_code}' "http://127.0.0.1:${PORTS[2]}/v1/users/$VUSER/recommendations?k=10")
in_history=$(jq -r --arg i "$VITEM" '[.history[]?.id] | index($i) != null' "$WORK/visibility-get.json" 2>/dev/null || echo false)
n_items=$(jq -r '.items | length' "$WORK/visibility-get.json" 2>/dev/null || echo 0)
if [ "$post_code" = 201 ] && [ "$get_code" = 200 ] && [ "$in_history" = true ] && [ "$n_items" -gt 0 ]; then v=PASS; else v=FAIL; FAILED=1; fi
out "1. visibility: POST user $VUSER item $VITEM to replica 1 -> $post_code; GET its recommendations on replica 3 -> $get_code, item in history: $in_history, $n_items items -> $v"
[ "$v" = PASS ] || { log "visibility POST answer: $(cat "$WORK/visibility-post.json")"; log "visibility GET answer: $(head -c 600 "$WORK/visibility-get.json")"; }
log "visibility check: $v"

# 2. Load through nginx, replica 2 killed half-way.
FLEET_BEFORE=$(psql "$PG_URL" -Atc "select count(*) from feedback where user_id like 'fleet-%'")
log "load: ${DURATION}s of reads (-t1 -c$READ_CONNS) and writes (-t1 -c$WRITE_CONNS) through nginx; SIGKILL to replica 2 at ${KILL_AT}s"
wrk -t1 -c"$READ_CONNS" -d"${DURATION}s" --timeout 10s --latency -s "$ROOT/bench/wrk/recommendations-get.lua" "$LB" \
  >"$WORK/wrk-read.txt" 2>&1 &
READ_PID=$!
wrk -t1 -c"$WRITE_CONNS" -d"${DURATION}s" --timeout 10s --latency -s "$ROOT/bench/wrk/fleet-write.lua" "$LB/v1/feedback" -- "$KEY" \
  >"$WORK/wrk-write.txt" 2>&1 &
WRITE_PID=$!
sleep "$KILL_AT"
KILL_TIME=$(date +%s.%N)
kill -9 "${PIDS[1]}" 2>/dev/null && log "replica 2 (pid ${PIDS[1]}) killed with SIGKILL" || log "warning: replica 2 was not running at the kill"
wait "${PIDS[1]}" 2>/dev/null || true
PIDS[1]=""
wait "$READ_PID" || true; READ_PID=""
wait "$WRITE_PID" || true; WRITE_PID=""
sleep 2   # requests in flight at wrk's end commit
log "load done"

# 3. Durability and read availability.
field() { grep '^RESULT ' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
for f in read write; do grep -q '^RESULT ' "$WORK/wrk-$f.txt" || { cat "$WORK/wrk-$f.txt" >&2; die "no RESULT from the $f wrk"; }; done
w_reqs=$(field requests "$WORK/wrk-write.txt"); w_ok=$(field ok2xx "$WORK/wrk-write.txt")
w_non=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' "$WORK/wrk-write.txt"); w_non=${w_non:-0}
acked=$((w_reqs - w_non))
stored=$(( $(psql "$PG_URL" -Atc "select count(*) from feedback where user_id like 'fleet-%'") - FLEET_BEFORE ))
dups=$(psql "$PG_URL" -Atc "select count(*) from (select user_id from feedback where user_id like 'fleet-%' group by user_id having count(*) > 1) d")
lost=$((acked - stored)); [ "$lost" -gt 0 ] || lost=0
[ "$w_ok" = "$acked" ] || log "note: wrk requests - Non-2xx ($acked) differs from 2xx answers counted in Lua ($w_ok)"
# Each write is a user of its own, so with no user stored twice the counts compare exactly.
if [ "$lost" = 0 ] && [ "$dups" = 0 ]; then v=PASS; else v=FAIL; FAILED=1; fi
out "2./3. writes through nginx (wrk -t1 -c$WRITE_CONNS, ${DURATION}s, one new user per request):"
out "   requests $w_reqs, non-2xx $w_non ($(field codes "$WORK/wrk-write.txt")), socket errors connect/read/write/timeout" \
  "$(field connect_err "$WORK/wrk-write.txt")/$(field read_err "$WORK/wrk-write.txt")/$(field write_err "$WORK/wrk-write.txt")/$(field timeout_err "$WORK/wrk-write.txt")"
out "   acknowledged $acked, stored $stored (user_id like 'fleet-%'), stored beyond acknowledged $((stored > acked ? stored - acked : 0)), users stored twice $dups, lost $lost -> $v"
out "   write latency p50 $(field p50_ms "$WORK/wrk-write.txt") ms, p90 $(field p90_ms "$WORK/wrk-write.txt") ms, p99 $(field p99_ms "$WORK/wrk-write.txt") ms, max $(field max_ms "$WORK/wrk-write.txt") ms"
r_reqs=$(field requests "$WORK/wrk-read.txt"); r_non=$(field non2xx "$WORK/wrk-read.txt")
r_sock=$(( $(field connect_err "$WORK/wrk-read.txt") + $(field read_err "$WORK/wrk-read.txt") + $(field write_err "$WORK/wrk-read.txt") + $(field timeout_err "$WORK/wrk-read.txt") ))
r_secs=$(field seconds "$WORK/wrk-read.txt")
# Reads pass when at most 0.1 % of them failed (non-2xx or socket error).
if awk -v b="$((r_non + r_sock))" -v n="$r_reqs" 'BEGIN { exit !(n > 0 && b <= n / 1000) }'; then v=PASS; else v=FAIL; FAILED=1; fi
out "   reads through nginx (wrk -t1 -c$READ_CONNS): requests $r_reqs ($(awk -v n="$r_reqs" -v s="$r_secs" 'BEGIN { printf "%.0f", n / s }')/s), non-2xx $r_non ($(field codes "$WORK/wrk-read.txt")), socket errors connect/read/write/timeout" \
  "$(field connect_err "$WORK/wrk-read.txt")/$(field read_err "$WORK/wrk-read.txt")/$(field write_err "$WORK/wrk-read.txt")/$(field timeout_err "$WORK/wrk-read.txt") -> $v (<= 0.1 % failed)"
out "   read latency p50 $(field p50_ms "$WORK/wrk-read.txt") ms, p90 $(field p90_ms "$WORK/wrk-read.txt") ms, p99 $(field p99_ms "$WORK/wrk-read.txt") ms, max $(field max_ms "$WORK/wrk-read.txt") ms"
# What nginx saw: answers by method and status, upstream errors, reads retried on another replica.
if [ -s "$WORK/logs/access.log" ]; then
  out "   nginx answers: $(awk -F'|' '{ c[$2 " " $3]++ } END { for (k in c) printf "%s=%d; ", k, c[k] }' "$WORK/logs/access.log")"
  out "   nginx requests passed to more than one replica: $(awk -F'|' '$4 ~ /,/ { c[$2]++ } END { for (k in c) printf "%s=%d; ", k, c[k] }' "$WORK/logs/access.log")"
  out "   requests logged after the kill, by the last replica tried: $(awk -F'|' -v t="$KILL_TIME" '$1 > t { n = split($4, a, ", "); c[a[n]]++ } END { for (k in c) printf "%s=%d; ", k, c[k] }' "$WORK/logs/access.log")"
fi
out "   nginx error.log lines: $(wc -l <"$WORK/logs/error.log"), e.g.:"
# One line per kind of message: "[level] message [METHOD -> upstream host:port]" with a count.
grep -v '^$' "$WORK/logs/error.log" | sed -E 's/^[0-9\/]+ [0-9:]+ //; s/[0-9]+#[0-9]+: (\*[0-9]+ )?//' \
  | sed -E 's/, client: .*, request: "([A-Z]+) [^"]*", upstream: "http:\/\/([^/"]*)[^"]*".*/ [\1 -> \2]/; s/, client: .*//' \
  | sort | uniq -c | sort -rn | head -n 8 | sed 's/^/     /' >>"$SUMMARY" || true

# 4. Model versions.
versions=$(curl -s -H "Authorization: Bearer $KEY" "http://127.0.0.1:${PORTS[0]}/v1/admin/versions")
current=$(echo "$versions" | jq -r '.current // empty')
out "4. model versions (GET /v1/admin/versions on replica 1): current $current; $(echo "$versions" | jq -c '[.versions[]? | {version, eventsThrough}]' 2>/dev/null)"
vok=PASS
for n in 1 2 3; do
  port=${PORTS[$((n - 1))]}
  if [ -z "${PIDS[$((n - 1))]}" ]; then out "   replica $n ($port): down (killed)"; continue; fi
  lv=$(curl -s "http://127.0.0.1:$port/healthz" | jq -r '.live.version // "none"')
  [ "$lv" = "$current" ] || vok=FAIL
  out "   replica $n ($port): live.version $lv"
done
[ -n "$current" ] || vok=FAIL
[ "$vok" = PASS ] || FAILED=1
out "   all live replicas serve the store's current version -> $vok"

# 5. Replica 2 back: it starts against the same store and serves the same version.
start_replica 2
if wait_http "http://127.0.0.1:${PORTS[1]}/healthz" 90; then
  lv=$(curl -s "http://127.0.0.1:${PORTS[1]}/healthz" | jq -r '.live.version // "none"')
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORTS[1]}/v1/users/$VUSER/recommendations?k=10")
  out "5. replica 2 restarted: live.version $lv, recommendations for $VUSER -> $code"
else
  out "5. replica 2 restarted: did not answer /healthz within 90 s -> FAIL"; FAILED=1
fi

# 6. A new model version reaches every replica without a restart: `osusume retrain` on the store
#    (base data + the fleet's events) records a version and makes it current; the replicas follow
#    the pointer. Then a rollback through replica 3 takes all of them back to version 1.
# wait_version V: seconds until every replica serves version V (at most 15), or "timeout".
wait_version() {
  local t0 n lv all
  t0=$(date +%s%N)
  for _ in $(seq 1 75); do
    all=1
    for n in 1 2 3; do
      lv=$(curl -s "http://127.0.0.1:${PORTS[$((n - 1))]}/healthz" | jq -r '.live.version // "none"')
      [ "$lv" = "$1" ] || all=0
    done
    if [ "$all" = 1 ]; then echo "$(( ($(date +%s%N) - t0) / 1000000 )) ms"; return 0; fi
    sleep 0.2
  done
  echo timeout; return 1
}
"$BIN" retrain --store "$PG_URL" --versions "$WORK/versions" --min-holdout-users 5 --json --quiet >"$WORK/retrain.json" 2>"$WORK/retrain.log" || true
decision=$(jq -r '.decision // "failed"' "$WORK/retrain.json" 2>/dev/null || echo failed)
newv=$(jq -r '.toVersion // empty' "$WORK/retrain.json" 2>/dev/null || true)
out "6. osusume retrain on the store: $decision$([ -n "$newv" ] && echo ", version $newv") ($(jq -r '.reason // empty' "$WORK/retrain.json" 2>/dev/null))"
if [ "$decision" = swapped ] && [ -n "$newv" ]; then
  if took=$(wait_version "$newv"); then out "   every replica serves version $newv after $took -> PASS"; else out "   replicas did not all reach version $newv within 15 s -> FAIL"; FAILED=1; fi
  curl -s -o /dev/null -X POST -H "Authorization: Bearer $KEY" "http://127.0.0.1:${PORTS[2]}/v1/admin/rollback"
  if took=$(wait_version 1); then out "   rollback through replica 3: every replica serves version 1 after $took -> PASS"; else out "   rollback did not reach every replica within 15 s -> FAIL"; FAILED=1; fi
else
  out "   no new version to follow -> FAIL"; FAILED=1; tail -n 5 "$WORK/retrain.log" >&2
fi

# Graceful stop (SIGTERM, at most 10 s each), then the replica logs: lines that look like errors.
for n in 1 2 3; do
  pid=${PIDS[$((n - 1))]}
  [ -n "$pid" ] || continue
  kill -TERM "$pid" 2>/dev/null || true
  t0=$(date +%s.%N)
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  how="exited"
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; how="did not exit within 10 s (SIGKILL)"; FAILED=1; fi
  wait "$pid" && st=0 || st=$?
  PIDS[$((n - 1))]=""
  out "replica $n: SIGTERM -> $how, status $st, after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
done
for n in 1 2 3; do
  c=$(grep -Eic 'error|fatal|panic|crash' "$WORK/replica-$n.log" || true)
  out "replica $n log: $c error-like lines$([ "$c" = 0 ] || echo ", e.g.: $(grep -Ei 'error|fatal|panic|crash' "$WORK/replica-$n.log" | sort | uniq -c | head -n 3 | sed 's/^ *//' | tr '\n' '|')")"
done
LOAD_AFTER=$(uptime)

RESULTS="$ROOT/bench/results/fleet-demo-$(date +%F).txt"
mkdir -p "$(dirname "$RESULTS")"
{
  echo "fleet demo: PostgreSQL + 3 osusume serve replicas behind nginx, 127.0.0.1 ($(date -Is))"
  echo "binary: $BIN ($("$BIN" --version 2>/dev/null || echo '?'))"
  echo "tools: $("$NGINX" -v 2>&1); $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2); $(psql --version)"
  echo "machine: $(nproc) cores, $(uname -sr)"
  echo "uptime before: $LOAD_BEFORE"
  echo "uptime after:  $LOAD_AFTER"
  cat "$SUMMARY"
  if [ "$FAILED" = 0 ]; then echo "RESULT: PASS"; else echo "RESULT: FAIL"; fi
} | tee "$RESULTS"
log "summary written to $RESULTS"
exit "$FAILED"
