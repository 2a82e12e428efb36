#!/usr/bin/env bash
# Runs Osusume's test suite (installs OpenBLAS first when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec swift test "$@"
