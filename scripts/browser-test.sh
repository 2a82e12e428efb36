#!/usr/bin/env bash
# Real-browser test of the web page: starts `osusume serve` on 127.0.0.1 with the quickstart EASE
# model, drives headless Chromium (DevTools protocol, scripts/browser_test.py) to pick three
# favourites through the page's own search box, waits for the recommendations and their
# "because you liked" lines, and saves docs/screenshots/web.png.
#
# Skips (exit 0, with a message) when Chromium is absent, unless running as root with apt-get,
# where it installs Debian's `chromium`. Exits non-zero when the page does not work.
# Environment: OSUSUME_BIN (default: build .build-serve/release/osusume), MODEL (default
# models/quickstart-ease, trained with `osusume train --model ease` when missing), SCREENSHOT.
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
MODEL="${MODEL:-models/quickstart-ease}"
if [ ! -f "$MODEL/manifest.json" ]; then
  echo "browser test: fitting EASE on the bundled data into $MODEL …" >&2
  "$BIN" train --model ease --out "$MODEL" --quiet
fi
SCREENSHOT="${SCREENSHOT:-docs/screenshots/web.png}"

WORK="$(mktemp -d)"
SERVER_PID=""; CHROME_PID=""
cleanup() {
  [ -n "$CHROME_PID" ] && kill "$CHROME_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PORT="$(free_port)"; DEVTOOLS="$(free_port)"

"$BIN" serve --model "$MODEL" --host 127.0.0.1 --port "$PORT" --store "$WORK/feedback.sqlite" --quiet >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/healthz', timeout=1)" 2>/dev/null; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "browser test FAILED: the server exited:" >&2; cat "$WORK/server.log" >&2; exit 1; fi
  sleep 0.2
done

"$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --no-default-browser-check \
  --disable-extensions --user-data-dir="$WORK/profile" --remote-debugging-address=127.0.0.1 \
  --remote-debugging-port="$DEVTOOLS" --window-size=1280,1240 about:blank >"$WORK/chromium.log" 2>&1 &
CHROME_PID=$!

if python3 scripts/browser_test.py "$DEVTOOLS" "http://127.0.0.1:$PORT/" "$SCREENSHOT"; then
  echo "browser test passed"
else
  echo "--- server log ---" >&2; tail -20 "$WORK/server.log" >&2
  echo "--- chromium log ---" >&2; tail -20 "$WORK/chromium.log" >&2
  exit 1
fi
