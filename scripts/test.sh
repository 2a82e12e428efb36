#!/usr/bin/env bash
# Runs Osusume's test suite (installs OpenBLAS first when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
# XCTest only: the suite has no Swift Testing tests, and its empty summary would be the last line.
exec swift test --disable-swift-testing "$@"
