#!/usr/bin/env python3
"""Independent numpy reference for the leave-one-out protocol (Pop, EASE, ItemKNN-cosine).

Used to check that recbole_run.py makes RecBole evaluate exactly the protocol:
fit on train, test input = train + valid, rank the last item among all items minus
train + valid items. Ties are reported both ways (optimistic: rank = 1 + #items with a
strictly higher score; pessimistic: also counting equal scores), so tie sensitivity shows.

  bench/peers/.venv/bin/python bench/peers/reference_check.py \
      --data /work/shared/data/ml-1m/ml-1m.txt --model ease --reg 250
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recbole_run import detect_format, read_sequences  # noqa: E402


def metrics_from_ranks(ranks, ks=(10, 20)):
    ranks = np.asarray(ranks, dtype=np.float64)
    out = {}
    for k in ks:
        hit = ranks <= k
        out[f"HR@{k}"] = float(hit.mean())
        out[f"NDCG@{k}"] = float(np.where(hit, 1.0 / np.log2(ranks + 1.0), 0.0).mean())
        out[f"MRR@{k}"] = float(np.where(hit, 1.0 / ranks, 0.0).mean())
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--format", default="auto")
    ap.add_argument("--model", default="ease", choices=["pop", "ease", "itemknn"])
    ap.add_argument("--reg", type=float, default=250.0)
    ap.add_argument("--k", type=int, default=100, help="ItemKNN neighbours")
    ap.add_argument("--phase", default="test", choices=["test", "valid"])
    args = ap.parse_args()

    fmt = detect_format(args.data) if args.format == "auto" else args.format
    seqs = [(u, s) for u, s in read_sequences(args.data, fmt) if len(s) >= 3]
    items = sorted({i for _, s in seqs for i in s})
    iidx = {i: n for n, i in enumerate(items)}
    n_u, n_i = len(seqs), len(items)

    def matrix(cut):
        rows, cols = [], []
        for u, (_, s) in enumerate(seqs):
            c = [iidx[i] for i in s[: len(s) - cut]]
            rows.extend([u] * len(c))
            cols.extend(c)
        return sp.csr_matrix((np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(n_u, n_i))

    X_train = matrix(2)
    X_in = matrix(1) if args.phase == "test" else X_train
    target = np.array([iidx[s[-1]] if args.phase == "test" else iidx[s[-2]] for _, s in seqs])

    t0 = time.time()
    if args.model == "pop":
        pop = np.asarray(X_train.sum(axis=0)).ravel()
        score_fn = lambda rows: np.tile(pop, (len(rows), 1))  # noqa: E731
    elif args.model == "ease":
        G = (X_train.T @ X_train).toarray()
        G[np.diag_indices(n_i)] += args.reg
        P = np.linalg.inv(G)
        B = P / (-np.diag(P))
        np.fill_diagonal(B, 0.0)
        score_fn = lambda rows: np.asarray(X_in[rows] @ B)  # noqa: E731
    else:
        # RecBole ItemKNN (shrink=0): cosine, keep top-k per target column, score = X W
        norms = np.sqrt(np.asarray(X_train.multiply(X_train).sum(axis=0)).ravel())
        S = (X_train.T @ X_train).toarray() / (np.outer(norms, norms) + 1e-6)
        np.fill_diagonal(S, 0.0)
        W = np.zeros_like(S)
        for j in range(n_i):
            col = S[:, j]
            top = np.argpartition(-col, args.k)[: args.k]
            W[top, j] = col[top]
        score_fn = lambda rows: np.asarray(X_in[rows] @ W)  # noqa: E731
    fit_s = time.time() - t0

    t0 = time.time()
    opt, pes = [], []
    for start in range(0, n_u, 512):
        rows = np.arange(start, min(start + 512, n_u))
        sc = score_fn(rows).astype(np.float64)
        tgt = sc[np.arange(len(rows)), target[rows]].copy()
        sub = X_in[rows].tocoo()
        sc[sub.row, sub.col] = -np.inf
        opt.extend((sc > tgt[:, None]).sum(axis=1) + 1)
        eq = (sc == tgt[:, None]).sum(axis=1) - 1
        pes.extend((sc > tgt[:, None]).sum(axis=1) + 1 + eq)
    out = {"model": args.model, "phase": args.phase, "users": n_u, "items": n_i,
           "interactions": int(sum(len(s) for _, s in seqs)),
           "reg": args.reg if args.model == "ease" else None,
           "metrics_optimistic_ties": metrics_from_ranks(opt),
           "metrics_pessimistic_ties": metrics_from_ranks(pes),
           "fit_s": round(fit_s, 2), "eval_s": round(time.time() - t0, 2)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
