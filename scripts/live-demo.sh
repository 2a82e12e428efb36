#!/usr/bin/env bash
# The live loop on the bundled MovieLens data, as a new user would try it:
#   1. an EASE model trained on the first 90% of the ratings (by time);
#   2. `serve --retrain "2000 events"` on a fresh SQLite store;
#   3. the last 10% of the ratings posted as `rating` events in batches: a user's list changes at
#      once (what they just rated is in their history and not offered again);
#   4. the server retrains by itself, measures current against candidate on the latest events,
#      and swaps the candidate in when it is not worse.
# The server gets the full catalog (--data) so that events about titles newer than the model are
# accepted; the retrain learns them. Uses OSUSUME_BIN, else the release build (.build-release, built when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${OSUSUME_BIN:-.build-release/release/osusume}
[ -x "$bin" ] || swift build -c release --scratch-path .build-release >&2
work=$(mktemp -d)
server=""
trap '[ -z "$server" ] || kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
key=demo
data=data/ml-latest-small

echo "== splitting $data by time: first 90% → base, last 10% → events"
mkdir -p "$work/base"
cp "$data"/movies.csv "$data"/links.csv "$data"/tags.csv "$work/base/" 2>/dev/null || cp "$data"/movies.csv "$work/base/"
total=$(($(wc -l <"$data/ratings.csv") - 1))
cut=$((total * 9 / 10))
tail -n +2 "$data/ratings.csv" | sort -t, -k4,4n >"$work/sorted.csv"
{ echo "userId,movieId,rating,timestamp"; head -n "$cut" "$work/sorted.csv"; } >"$work/base/ratings.csv"
tail -n +"$((cut + 1))" "$work/sorted.csv" >"$work/events.csv"
awk -F, '{ printf "{\"user\":\"%s\",\"item\":\"%s\",\"kind\":\"rating\",\"rating\":%s,\"at\":%s}\n", $1, $2, $3, $4 }' "$work/events.csv" >"$work/events.jsonl"
echo "base: $cut ratings; events: $(wc -l <"$work/events.jsonl")"

"$bin" train --data "$work/base" --model ease --out "$work/model" --quiet
"$bin" serve --model "$work/model" --store "$work/events.sqlite" --port "$port" --api-key "$key" --retrain "2000 events" \
  --data "$data" --versions "$work/versions" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "error: the server did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
api=http://127.0.0.1:$port

# The user known to the model with the most events; they watch the title that leads their list.
user=$(awk -F, 'NR == FNR { if (FNR > 1) known[$1] = 1; next } ($1 in known) { n[$1]++ }
  END { for (u in n) if (n[u] > best) { best = n[u]; pick = u }; print pick }' "$work/base/ratings.csv" "$work/events.csv")
item=$(curl -s "$api/v1/users/$user/recommendations?k=1" | sed 's/.*"items":\[{"item":{"id":"//; s/".*//')
# The titles of a user's top 5 (each list entry is {"item":{"id":…,"title":…},…,"because":[…]}).
top() { curl -s "$api/v1/users/$1/recommendations?k=5" | grep -o '"item":{"id":"[^"]*","title":"[^"]*"' | sed 's/.*"title"://' | tr '\n' ' ' || true; echo; }
echo "== user $user before any event:"; top "$user"
echo "== user $user watches item $item ($(curl -s "$api/v1/items/$item" | grep -o '"title":"[^"]*"' | awk 'NR == 1'))"
curl -s -H "Authorization: Bearer $key" -d "{\"user\":\"$user\",\"item\":\"$item\",\"kind\":\"watch\"}" "$api/v1/feedback"; echo
echo "== the very next request:"; top "$user"
curl -s "$api/v1/users/$user/recommendations?k=5" | grep -q "\"history\":.*\"id\":\"$item\"" && echo "   (item $item is in the history now, and not in the list)"

echo "== posting the $(wc -l <"$work/events.jsonl") events in batches of 1,000"
split -l 1000 "$work/events.jsonl" "$work/batch."
for f in "$work"/batch.*; do
  { printf '['; paste -sd, "$f"; printf ']'; } >"$f.json"
  curl -s -o /dev/null -w '%{http_code} ' -H "Authorization: Bearer $key" -H 'Content-Type: application/json' --data-binary @"$f.json" "$api/v1/feedback"
done
echo
echo "== waiting for the retrain (the schedule checks every 5 s)"
for _ in $(seq 1 120); do
  h=$(curl -s "$api/healthz")
  case $h in *'"lastRetrain"'*'"retraining":false'*|*'"retraining":false'*'"lastRetrain"'*) break ;; esac
  sleep 1
done
grep -E 'retrain|now serving' "$work/serve.log" | grep -v 'retrain| ' | tail -5
echo "== /healthz live:"; curl -s "$api/healthz" | grep -o '"live":{[^}]*}[^}]*}' || curl -s "$api/healthz"
echo; echo "== user $user now:"; top "$user"
