#!/usr/bin/env bash
# Builds Osusume (release) and runs the quickstart on the bundled MovieLens data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
swift build -c release --product osusume 2>&1 | grep -v '^\[' >&2 || true
test -x .build/release/osusume || { echo "error: build failed; run 'swift build -c release' to see why" >&2; exit 1; }
exec .build/release/osusume quickstart "$@"
