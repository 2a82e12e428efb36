#!/usr/bin/env bash
# Real-browser test of the web page, for each catalog: the bundled MovieLens data and the anime
# sample in ../shared/data/anime (skipped with a message when absent). For each it trains an EASE
# model when missing, starts `osusume serve` on 127.0.0.1, and drives headless Chromium (DevTools
# protocol, scripts/browser_test.py) through a stale favourite, three favourites picked by mouse
# and keyboard, the reasons, the similar panel and a phone viewport.
#
# Skips (exit 0, with a message) when Chromium is absent, unless running as root with apt-get,
# where it installs Debian's `chromium`. Exits non-zero when the page does not work.
# Environment: OSUSUME_BIN (default: build .build-serve/release/osusume); SCREENSHOT_DIR, where
# NAME-desktop.png and NAME-phone.png go (default out/screenshots; never a tracked file);
# CATALOGS (default "movies anime").
set -euo pipefail
cd "$(dirname "$0")/.."

find_chromium() { command -v chromium || command -v chromium-browser || command -v google-chrome || true; }
CHROMIUM="$(find_chromium)"
if [ -z "$CHROMIUM" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser test: installing Debian's chromium …" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq chromium fonts-dejavu-core >/dev/null || true
  CHROMIUM="$(find_chromium)"
fi
if [ -z "$CHROMIUM" ]; then
  echo "SKIP browser test: Chromium not found (install it with: sudo apt-get install -y chromium)"
  exit 0
fi
command -v python3 >/dev/null || { echo "SKIP browser test: python3 not found"; exit 0; }

BIN="${OSUSUME_BIN:-}"
if [ -z "$BIN" ]; then
  swift build -c release --product osusume --scratch-path .build-serve >&2
  BIN=.build-serve/release/osusume
fi
SHOTS="${SCREENSHOT_DIR:-out/screenshots}"
mkdir -p "$SHOTS"
ANIME_DATA="${ANIME_DATA:-../shared/data/anime/caserec-anime-5000users}"
WORK="$(mktemp -d)"
SERVER_PID=""; CHROME_PID=""
# Chromium's helper processes (renderer, crash handler) outlive the main one and keep writing
# into the profile; stop every process using this run's profile before removing it.
stop_chromium() {
  [ -n "$CHROME_PID" ] && kill "$CHROME_PID" 2>/dev/null || true
  pkill -f -- "--user-data-dir=$WORK/profile" 2>/dev/null || true
  for _ in $(seq 1 50); do
    pgrep -f -- "--user-data-dir=$WORK/profile" >/dev/null 2>&1 || break
    sleep 0.1
  done
  pkill -9 -f -- "--user-data-dir=$WORK/profile" 2>/dev/null || true
}
cleanup() {
  stop_chromium
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK" 2>/dev/null || { sleep 1; rm -rf "$WORK" 2>/dev/null; } || true
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# run_catalog NAME MODEL_DIR "TRAIN ARGS" QUERY1 QUERY2 QUERY3
run_catalog() {
  local name="$1" model="$2" train_args="$3"; shift 3
  for f in "$SHOTS/$name-desktop.png" "$SHOTS/$name-phone.png"; do
    if git ls-files --error-unmatch "$f" >/dev/null 2>&1; then
      echo "browser test: refusing to write over the tracked file $f (set SCREENSHOT_DIR)" >&2; exit 1
    fi
  done
  if [ ! -f "$model/manifest.json" ]; then
    echo "browser test ($name): fitting EASE into $model …" >&2
    # shellcheck disable=SC2086
    "$BIN" train --model ease $train_args --out "$model" --quiet
  fi
  local port devtools
  port="$(free_port)"; devtools="$(free_port)"
  rm -f "$WORK/feedback.sqlite"*
  "$BIN" serve --model "$model" --host 127.0.0.1 --port "$port" --store "$WORK/feedback.sqlite" --quiet >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 150); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "browser test FAILED: the server exited:" >&2; cat "$WORK/server.log" >&2; exit 1; fi
    sleep 0.2
  done
  rm -rf "$WORK/profile" 2>/dev/null || true
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --no-default-browser-check \
    --disable-extensions --user-data-dir="$WORK/profile" --remote-debugging-address=127.0.0.1 \
    --remote-debugging-port="$devtools" --window-size=1280,900 about:blank >"$WORK/chromium.log" 2>&1 &
  CHROME_PID=$!
  if ! python3 scripts/browser_test.py "$devtools" "http://127.0.0.1:$port/" "$SHOTS" "$name" "$@"; then
    echo "--- server log ---" >&2; tail -20 "$WORK/server.log" >&2
    echo "--- chromium log ---" >&2; tail -20 "$WORK/chromium.log" >&2
    exit 1
  fi
  stop_chromium
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$CHROME_PID" "$SERVER_PID" 2>/dev/null || true
  CHROME_PID=""; SERVER_PID=""
}

for catalog in ${CATALOGS:-movies anime}; do
  case "$catalog" in
    movies) run_catalog movies models/quickstart-ease "" "toy story" "matrix" "godfather" ;;
    anime)
      if [ ! -d "$ANIME_DATA" ]; then echo "SKIP browser test (anime): $ANIME_DATA not found"; continue; fi
      run_catalog anime models/browser-anime-ease "--data $ANIME_DATA" "fullmetal alchemist brotherhood" "death note" "cowboy bebop" ;;
    *) echo "browser test: unknown catalog '$catalog' (movies, anime)" >&2; exit 2 ;;
  esac
done
echo "browser test passed (${CATALOGS:-movies anime}); screenshots in $SHOTS"
