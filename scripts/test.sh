#!/usr/bin/env bash
# Runs Osusume's test suite (installs OpenBLAS first when missing) against a throwaway PostgreSQL
# on 127.0.0.1, started here and stopped on exit, unless OSUSUME_TEST_POSTGRES_URL already names one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
if [ -z "${OSUSUME_TEST_POSTGRES_URL:-}" ]; then
  pgdir=$(mktemp -d)
  trap 'bash scripts/postgres.sh stop "$pgdir"' EXIT
  OSUSUME_TEST_POSTGRES_URL=$(bash scripts/postgres.sh start "$pgdir")
  export OSUSUME_TEST_POSTGRES_URL
fi
# XCTest only: the suite has no Swift Testing tests, and its empty summary would be the last line.
swift test --disable-swift-testing "$@"
