#!/usr/bin/env bash
# Fuzzes every parser of outside input with libFuzzer (address sanitizer on): the ten importers,
# the CSV scanner, safetensors, model manifests, feedback events and the HTTP API's request
# bodies (Sources/osusume-fuzz).
# Seed corpora come from the bundled data, ../shared/data when present and tests' fixtures.
# Usage: scripts/fuzz.sh [SECONDS_PER_HARNESS (default 600)] [HARNESS …]
# A crash stops that harness, is kept under out/fuzz/HARNESS/ and makes the script fail; fix it
# and add the input to Tests/FuzzRegressions/HARNESS/ (replayed by the tests). Leak reports are
# off: Foundation's file reading leaks a buffer per call, which is not ours to fix.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-600}"; shift || true
ALL="csv-scanner movielens-csv movielens-dat movielens-100k sasrec recbole anime-csv anime-caserec anilist-json mal-xml csv safetensors manifest feedback requests"
HARNESSES="${*:-$ALL}"
swift build --product osusume-fuzz --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING >&2
BIN=.build-fuzz/debug/osusume-fuzz
SHARED=../shared/data
seed() {  # seed HARNESS FILE [LINES]: the head of a real file as a starting input
  local h="$1" f="$2" n="${3:-40}"
  [ -f "$f" ] && head -n "$n" "$f" > "out/fuzz/$h/corpus/$(basename "$f").seed" || true
}
failed=0; summary=""
for h in $HARNESSES; do
  mkdir -p "out/fuzz/$h/corpus"
  case "$h" in
    csv-scanner|movielens-csv) seed "$h" data/ml-latest-small/ratings.csv; seed "$h" data/ml-latest-small/movies.csv ;;
    movielens-dat) printf '1::1193::5::978300760\n1::661::3::978302109\n' > "out/fuzz/$h/corpus/ratings.seed" ;;
    movielens-100k) seed "$h" "$SHARED/ml-100k/u.data" ;;
    sasrec) seed "$h" "$SHARED/ml-1m/ml-1m.txt" 5 ;;
    recbole) printf 'user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t2\t3\t881250949\n' > "out/fuzz/$h/corpus/inter.seed" ;;
    anime-csv) seed "$h" "$SHARED/anime/anime.csv" ;;
    anime-caserec) seed "$h" "$SHARED/anime/caserec-anime-5000users/anime_history.dat" ;;
    anilist-json) printf '{"data":{"MediaListCollection":{"user":{"mediaListOptions":{"scoreFormat":"POINT_10"}},"lists":[{"entries":[{"mediaId":1,"score":8,"status":"COMPLETED","completedAt":{"year":2020,"month":1,"day":2},"media":{"id":1,"idMal":1,"title":{"romaji":"Cowboy Bebop"},"genres":["Action"],"format":"TV","episodes":26,"startDate":{"year":1998}}}]}]}}}' > "out/fuzz/$h/corpus/list.seed" ;;
    mal-xml) printf '<myanimelist><myinfo><user_name>kei</user_name></myinfo><anime><series_animedb_id>1</series_animedb_id><series_title><![CDATA[Cowboy Bebop]]></series_title><series_type>TV</series_type><series_episodes>26</series_episodes><my_score>9</my_score><my_status>Completed</my_status><my_finish_date>2020-01-02</my_finish_date></anime></myanimelist>\n' > "out/fuzz/$h/corpus/list.seed" ;;
    csv) printf 'user,item,rating,timestamp\nalice,b1,5,2020-05-01\nbob,"b;2",3.5,1588500000\n' > "out/fuzz/$h/corpus/log.seed" ;;
    safetensors) for f in Tests/OsusumeTensorTests/Fixtures/*.safetensors; do [ -f "$f" ] && cp "$f" "out/fuzz/$h/corpus/"; done ;;
    manifest) [ -f models/quickstart-ease/manifest.json ] && cp models/quickstart-ease/manifest.json "out/fuzz/$h/corpus/" || printf '{"kind":"ease"}' > "out/fuzz/$h/corpus/m.seed" ;;
    feedback) printf '[{"user":"u1","item":"1","kind":"like","rating":4,"key":"k1"},{"user":"u2","item":"2","kind":"dislike"}]' > "out/fuzz/$h/corpus/events.seed" ;;
    requests) printf '[{"user":"u1","item":1,"kind":"like","at":"2024-05-01T10:00:00Z","key":"k1"},{"user":2,"item":"2","kind":"rating","rating":4.5,"at":1714557600}]' > "out/fuzz/$h/corpus/batch.seed"
              printf '{"history":[1,"Toy Story"],"user":"u1","k":10,"blend":"ease:0.6,content:0.4","mix":"2 popular + 8 personal","includeSeen":false}' > "out/fuzz/$h/corpus/recommend.seed"
              printf '{"version":3}' > "out/fuzz/$h/corpus/rollback.seed" ;;
    *) echo "fuzz: unknown harness '$h' (one of: $ALL)" >&2; exit 2 ;;
  esac
  start=$(date +%s)
  if (cd "out/fuzz/$h" && ASAN_OPTIONS=detect_leaks=0 OSUSUME_FUZZ_TARGET="$h" "../../../$BIN" -max_total_time="$SECONDS_EACH" -detect_leaks=0 -rss_limit_mb=4096 \
        -timeout=20 -print_final_stats=1 corpus >log.txt 2>&1); then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "out/fuzz/$h/log.txt")
    line="$h: 0 crashes in $(( $(date +%s) - start )) s, ${runs:-?} inputs"
  else
    failed=1
    line="$h: CRASH after $(( $(date +%s) - start )) s — see out/fuzz/$h/log.txt and out/fuzz/$h/crash-*"
  fi
  echo "$line"; summary+="$line"$'\n'
done
printf 'fuzz summary (%s s per harness):\n%s' "$SECONDS_EACH" "$summary"
exit $failed
