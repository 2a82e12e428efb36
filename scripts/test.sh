#!/usr/bin/env bash
# Runs Osusume's test suite (installs OpenBLAS first when missing) against a throwaway PostgreSQL
# on 127.0.0.1, started here and stopped on exit, unless OSUSUME_TEST_POSTGRES_URL already names one.
# Before the unit tests, a short round of crash trials (kill -9 during feedback writes and model
# saves) runs on the debug binary; `scripts/crash-trials.sh --trials 50` is the long run. Then the
# fuzzing regression inputs are replayed and every fuzz harness runs briefly. After
# them, the DocC documentation is built (scripts/docs.sh) and the browser test
# (scripts/browser-test.sh) drives the web page in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
# Formatting is checked first: the configuration is .swift-format, `swift format -i -r Sources Tests Package.swift` applies it.
swift format lint --strict -r Sources Tests Package.swift
if [ -z "${OSUSUME_TEST_POSTGRES_URL:-}" ]; then
  pgdir=$(mktemp -d)
  trap 'bash scripts/postgres.sh stop "$pgdir"' EXIT
  OSUSUME_TEST_POSTGRES_URL=$(bash scripts/postgres.sh start "$pgdir")
  export OSUSUME_TEST_POSTGRES_URL
fi
if [ $# -eq 0 ]; then
  swift build --build-tests
  bash scripts/crash-trials.sh --trials 3 --bin .build/debug/osusume
  case $OSUSUME_TEST_POSTGRES_URL in *\?*) sep='&' ;; *) sep='?' ;; esac
  bash scripts/crash-trials.sh --trials 2 --bin .build/debug/osusume --store "$OSUSUME_TEST_POSTGRES_URL${sep}schema=crash_trials"
  # Inputs that once crashed a parser, or sit on one of its edges, replayed on the plain build.
  for dir in Tests/FuzzRegressions/*/; do .build/debug/osusume-fuzz "$(basename "$dir")" "$dir"*; done
  # A short fuzzing round of every harness (address sanitizer on); scripts/fuzz.sh 600 is the long run.
  bash scripts/fuzz.sh "${FUZZ_SMOKE_SECONDS:-10}"
fi
# XCTest only: the suite has no Swift Testing tests, and its empty summary would be the last line.
swift test --disable-swift-testing "$@"
if [ $# -eq 0 ]; then
  # The DocC catalogs and their articles, warnings as errors (a renamed API breaks the build).
  bash scripts/docs.sh
  # The web page in a real browser, for films and anime (skips with a message without Chromium).
  OSUSUME_BIN=.build/debug/osusume bash scripts/browser-test.sh
fi
