#!/usr/bin/env python3
"""Print Osusume and RecBole held-out-users results side by side.

Reads the JSON written by `osusume evaluate --json` (one file per model seed) and by
`recbole_heldout.py --out` (one file per seed), checks that every file is for the same split,
and prints per-seed figures and mean / sample standard deviation of each side:

    python3 bench/peers/heldout_table.py \
        --osusume bench/peers/results/ml-1m-heldout-seeds-osusume/osusume-multidae-wd0.01-seed*.json \
        --recbole bench/peers/results/ml-1m-heldout-seeds/recbole-multidae-seed*.json

Standard library only, so it runs without the peers' virtual environment.
"""
import argparse
import json
import statistics
import sys

METRICS = ["NDCG@10", "Recall@20"]


def load(paths, side):
    rows = []
    for path in paths:
        try:
            with open(path) as f:
                d = json.load(f)
        except (OSError, ValueError) as e:
            sys.exit(f"{path}: cannot read {side} result: {e}")
        missing = [m for m in METRICS if m not in d.get("metrics", {})]
        if missing:
            sys.exit(f"{path}: no {', '.join(missing)} in 'metrics'")
        seed = d.get("model_seed", d.get("config", {}).get("seed", "?"))
        rows.append({"path": path, "seed": seed, "split": d.get("split", "?"),
                     "protocol": d.get("protocol", "?"), "metrics": d["metrics"]})
    return rows


def summary(rows, metric):
    values = [r["metrics"][metric] for r in rows]
    mean = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
    return mean, sd


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--osusume", nargs="+", required=True, help="osusume evaluate --json outputs")
    ap.add_argument("--recbole", nargs="+", required=True, help="recbole_heldout.py --out files")
    args = ap.parse_args()
    ours, peer = load(args.osusume, "Osusume"), load(args.recbole, "RecBole")

    splits = {r["split"] for r in ours + peer}
    if len(splits) != 1:
        sys.exit("the files are for different splits: " + "; ".join(sorted(splits)))
    protocols = {r["protocol"] for r in ours + peer}
    if protocols != {"full"}:
        sys.exit("expected full-ranking results only, got: " + ", ".join(sorted(protocols)))

    print(f"split: {splits.pop()}; protocol: full ranking, fold-in history excluded")
    print(f"{'':10}" + "".join(f"{'Osusume ' + m:>18}{'RecBole ' + m:>18}" for m in METRICS))
    # One line per seed, the two sides paired by seed ("-" where a side has no run for it).
    by_seed = [{str(r["seed"]): r["metrics"] for r in rows} for rows in (ours, peer)]
    seeds = sorted(set(by_seed[0]) | set(by_seed[1]), key=lambda x: (not x.isdigit(), int(x) if x.isdigit() else 0, x))
    for seed in seeds:
        line = f"{'seed ' + seed:10}"
        for m in METRICS:
            a, b = (f"{side[seed][m]:.4f}" if seed in side else "-" for side in by_seed)
            line += f"{a:>18}{b:>18}"
        print(line)
    line = f"{'mean (sd)':10}"
    verdict = []
    for m in METRICS:
        (ma, sa), (mb, sb) = summary(ours, m), summary(peer, m)
        line += f"{f'{ma:.4f} ({sa:.4f})':>18}{f'{mb:.4f} ({sb:.4f})':>18}"
        verdict.append(f"{m} {'at least' if ma >= mb else 'below'} RecBole's ({ma - mb:+.4f})")
    print(line)
    print(f"{len(ours)} Osusume runs, {len(peer)} RecBole runs: " + "; ".join(verdict))


if __name__ == "__main__":
    main()
