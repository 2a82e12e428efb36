#!/usr/bin/env bash
# Serves recommendations for anime: fits EASE and ItemKNN on the MyAnimeList sample in
# ../shared/data/anime (5,000 users' lists, 7,390 anime with type, episodes and genres) when the
# models are missing, then starts `osusume serve` on 127.0.0.1 with the web page.
# Environment: ANIME_DATA (default ../shared/data/anime/caserec-anime-5000users), PORT (8080),
# OSUSUME_BIN (default: build .build-serve/release/osusume). Extra arguments go to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${ANIME_DATA:-../shared/data/anime/caserec-anime-5000users}"
[ -d "$DATA" ] || { echo "serve-anime: $DATA not found (set ANIME_DATA to an anime data folder)" >&2; exit 1; }
BIN="${OSUSUME_BIN:-}"
if [ -z "$BIN" ]; then
  swift build -c release --product osusume --scratch-path .build-serve >&2
  BIN=.build-serve/release/osusume
fi
for kind in ease itemknn; do
  if [ ! -f "models/anime-$kind/manifest.json" ]; then
    echo "serve-anime: fitting $kind on $DATA …" >&2
    "$BIN" train --model "$kind" --data "$DATA" --out "models/anime-$kind" --quiet
  fi
done
exec "$BIN" serve --model models/anime-ease --model models/anime-itemknn --host 127.0.0.1 --port "${PORT:-8080}" \
  --store models/anime-feedback.sqlite "$@"
