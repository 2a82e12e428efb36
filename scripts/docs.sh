#!/usr/bin/env bash
# Builds the DocC documentation of the library targets that have catalogs (OsusumeModels with the
# article "Adding a model", OsusumeServe with "Serving recommendations") into out/docs/TARGET,
# with warnings as errors: a broken symbol link or a renamed API in an article fails the build.
# Usage: scripts/docs.sh [TARGET …]
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS="${*:-OsusumeModels OsusumeServe}"
mkdir -p out/docs
for t in $TARGETS; do
  swift package --allow-writing-to-directory "out/docs/$t" generate-documentation --target "$t" \
    --output-path "out/docs/$t" --warnings-as-errors --transform-for-static-hosting --hosting-base-path "$t" >"out/docs/$t.log" 2>&1 \
    || { cat "out/docs/$t.log" >&2; echo "docs: $t failed" >&2; exit 1; }
  echo "docs: $t → out/docs/$t ($(find "out/docs/$t" -type f | wc -l) files)"
done
