#!/usr/bin/env bash
# ALS and BPR against implicit (PyPI) on one data set, side by side in one run: the same split
# (leave-one-out, full ranking, history excluded), factors, iterations and threads.
# Usage: scripts/factor-bench.sh [DATA (default ../shared/data/ml-1m/ml-1m.txt)] [RUNS (default 3)]
# Writes bench/results/factors-<data>-<date>.txt; prints the same table.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "factor-bench: $*" >&2; }
die() { log "$*"; exit 1; }
source scripts/bench-lib.sh
DATA="${1:-../shared/data/ml-1m/ml-1m.txt}"; RUNS="${2:-3}"; THREADS=2
[ -f "$DATA" ] || die "no $DATA (the shared data sets live in ../shared/data)"
resolve_bin
VENV=bench/peers/.venv-implicit
if ! "$VENV/bin/python" -c "import implicit" 2>/dev/null; then
  log "creating $VENV (implicit and its pinned dependencies) …"
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q -r bench/peers/requirements-implicit.txt
fi
NAME=$(basename "$DATA" | sed 's/\.[a-z]*$//')
OUT="bench/results/factors-$NAME-$(date +%F).txt"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
{
  echo "# ALS and BPR vs implicit $("$VENV/bin/python" -c 'import implicit; print(implicit.__version__)') on $DATA, $THREADS threads, $RUNS runs each, alternating"
  echo "# protocol: leave-one-out (last item test, one before validation), full ranking over all items, history excluded"
  echo "# machine: $(nproc) cores; load before: $(uptime | sed 's/.*load average: //')"
  echo "# osusume $(git rev-parse --short HEAD)"
  printf '%-8s %-5s %3s  %8s  %8s  %10s\n' peer model run 'NDCG@10' 'HR@10' 's/iter'
} | tee "$OUT"
# Settings: Osusume's defaults; implicit gets the same (its alpha is Osusume's + 1, see implicit_run.py).
for model in als bpr; do
  if [ $model = als ]; then iters=15; peer_args="--iterations 15 --regularization 0.1 --alpha 4"; osu_args="--set iterations=15"
  else iters=100; peer_args="--iterations 100 --regularization 0.001 --learning-rate 0.05"; osu_args="--set epochs=100"; fi
  for run in $(seq 1 "$RUNS"); do
    "$VENV/bin/python" bench/peers/implicit_run.py --data "$DATA" --model $model --factors 128 --threads $THREADS $peer_args --seed $run --out "$TMP/p.json" >/dev/null
    "$VENV/bin/python" - "$TMP/p.json" $model $run <<'PY' | tee -a "$OUT"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{'implicit':<8} {sys.argv[2]:<5} {sys.argv[3]:>3}  {r['NDCG@10']:8.4f}  {r['HR@10']:8.4f}  {r['seconds_per_iteration']:10.3f}")
PY
    "$BIN" evaluate --data "$DATA" --model $model --threads $THREADS --model-seed $run $osu_args --json >"$TMP/o.json" 2>"$TMP/o.log" || { cat "$TMP/o.log" >&2; die "osusume evaluate failed"; }
    # The whole fit (building the matrices included) over the iterations, as for implicit's fit().
    "$VENV/bin/python" - "$TMP/o.json" $model $run $iters <<'PY' | tee -a "$OUT"
import json, sys
r = json.load(open(sys.argv[1]))
m = r["metrics"]
print(f"{'osusume':<8} {sys.argv[2]:<5} {sys.argv[3]:>3}  {m['NDCG@10']:8.4f}  {m['HR@10']:8.4f}  {r['timings']['fit_s'] / int(sys.argv[4]):10.3f}")
PY
  done
done
echo "# load after: $(uptime | sed 's/.*load average: //')" | tee -a "$OUT"
log "written $OUT"
