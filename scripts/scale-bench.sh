#!/usr/bin/env bash
# Osusume at MovieLens-20M size on one machine: writes the synthetic log (osusume synth), then
# times import, EASE's exact fit against the LAPACK bound, full-ranking evaluation of every
# user, and serving the saved model from one and from two processes at once.
# Usage: scripts/scale-bench.sh [PRESET (default ml-20m)] [WORK FOLDER (default /tmp/osusume-scale)]
# Needs about 12 GB of memory and 5 GB of disk for ml-20m; about 30 minutes on 2 cores
# (SCALE_LARGE_CATALOG=0 skips the 100,000-item part, SCALE_SEQUENTIAL=0 the SASRec and BERT4Rec
# epochs: about 10 minutes without either).
# Writes bench/results/scale-<preset>-<date>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "scale-bench: $*" >&2; }
die() { log "$*"; exit 1; }
source scripts/bench-lib.sh
PRESET="${1:-ml-20m}"; WORK="${2:-/tmp/osusume-scale}"
resolve_bin
mkdir -p "$WORK" bench/results
OUT="bench/results/scale-$PRESET-$(date +%F).txt"
DATA="$WORK/synth-$PRESET"; MODEL="$WORK/ease-$PRESET"
timed() {  # timed LABEL CMD…: runs CMD under /usr/bin/time, prints its output, then wall time and peak RSS
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" 2>"$WORK/stderr.txt" | tee -a "$OUT"
  read -r secs kb <"$WORK/time.txt"
  printf '%s: %.1f s wall, peak RSS %.2f GB\n' "$label" "$secs" "$(echo "$kb / 1048576" | bc -l)" | tee -a "$OUT"
}
command -v bc >/dev/null || need_tools bc:bc
{
  echo "# Osusume at scale, preset $PRESET, $(date -u +%FT%TZ), osusume $(git rev-parse --short HEAD)"
  echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GB; load before: $(uptime | sed 's/.*load average: //')"
} | tee "$OUT"
timed "synth" "$BIN" synth --preset "$PRESET" --out "$DATA"
timed "import" "$BIN" bench data --data "$DATA" --format movielens-csv --runs 1
timed "ease fit vs LAPACK bound" "$BIN" bench ease --data "$DATA" --format movielens-csv
# Leave-one-out, full ranking over all items for every user; the model is saved for serving.
timed "ease evaluate (fit + full ranking of every user + save)" "$BIN" evaluate --data "$DATA" --format movielens-csv --model ease --save "$MODEL"
timed "pop evaluate" "$BIN" evaluate --data "$DATA" --format movielens-csv --model pop
# The sparse approximation on the same log, then on a 100,000-item catalog where exact EASE
# (40 GB) is refused with its figure.
timed "localease evaluate" "$BIN" evaluate --data "$DATA" --format movielens-csv --model localease
if [ "${SCALE_LARGE_CATALOG:-1}" = 1 ]; then
  BIG="$WORK/synth-100k-items"
  timed "synth 100k items" "$BIN" synth --users 138493 --items 100000 --interactions 20000000 --out "$BIG"
  { "$BIN" evaluate --data "$BIG" --format movielens-csv --model ease --set maxItems=200000 2>&1 | tail -1 || true; } | tee -a "$OUT"
  timed "localease evaluate, 100k items" "$BIN" evaluate --data "$BIG" --format movielens-csv --model localease
fi
if [ "${SCALE_SEQUENTIAL:-1}" = 1 ]; then
  # One training epoch of each sequential model at its defaults: above 16,384 items loss=auto
  # trains with the sampled softmax (1,024 negatives per 256 positions, logQ-corrected).
  for model in sasrec bert4rec; do
    timed "$model one epoch (loss=auto; wall includes import and save)" "$BIN" train --data "$DATA" --format movielens-csv \
      --model "$model" --set epochs=1 --out "$WORK/$model-$PRESET"
    grep -E "sampledAbove|epoch 1/1 loss" "$WORK/stderr.txt" | tee -a "$OUT"
  done
fi
timed "serve (one process)" "$BIN" bench serve --model "$MODEL" --requests 3000
# Two processes serving the same mapped model at once: the second adds only its private memory.
"$BIN" bench serve --model "$MODEL" --requests 3000 >"$WORK/serve-a.txt" 2>&1 &
sleep 0.5
"$BIN" bench serve --model "$MODEL" --requests 3000 >"$WORK/serve-b.txt" 2>&1
wait
{ echo "two processes at once:"; sed -n 2p "$WORK/serve-a.txt"; sed -n 2p "$WORK/serve-b.txt"; } | tee -a "$OUT"
echo "# load after: $(uptime | sed 's/.*load average: //')" | tee -a "$OUT"
log "written $OUT"
