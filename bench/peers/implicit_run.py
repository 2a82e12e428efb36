"""implicit (PyPI 0.7.2) ALS or BPR on a SASRec-format log, under Osusume's protocol.

Protocol (the same as `osusume evaluate --split leave-one-out`): each user's lines in file order;
the last item is the test target, the one before it the validation target, the rest training
data; users with fewer than 3 lines stay in training and get no case. The model is fitted on the
training rows (binary, duplicates collapsed). Each test user is scored with the training items
plus the validation item as history: ALS solves the user's factors from that history
(`recalculate_user=True`, as Osusume folds in a grown history); BPR has no fold-in in implicit,
so it scores with the trained user factors. Full ranking over all items, the history excluded.
NDCG@10 and HR@10 over the test users.

Confidence: Osusume's ALS uses Hu et al.'s c = 1 + alpha·r; implicit multiplies the matrix by its
own alpha and takes the result as c. With binary r, implicit's alpha = 1 + Osusume's alpha.

    bench/peers/.venv-implicit/bin/python bench/peers/implicit_run.py --data ../shared/data/ml-1m/ml-1m.txt \
        --model als --factors 128 --iterations 15 --regularization 0.1 --alpha 4 --threads 2
"""

import argparse
import json
import os
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", choices=["als", "bpr"], required=True)
    ap.add_argument("--factors", type=int, default=128)
    ap.add_argument("--iterations", type=int, default=15)
    ap.add_argument("--regularization", type=float, default=0.1)
    ap.add_argument("--alpha", type=float, default=4.0, help="Osusume's alpha (c = 1 + alpha·r)")
    ap.add_argument("--learning-rate", type=float, default=0.05)
    ap.add_argument("--cg-steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out")
    a = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit warns otherwise; its own threads do the work

    import numpy as np
    import scipy.sparse as sp
    from threadpoolctl import threadpool_limits

    users, items = {}, {}
    seqs = []
    with open(a.data) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            # "user item" pairs or "user item item …" sequences, both in time order
            u = users.setdefault(parts[0], len(users))
            if u == len(seqs):
                seqs.append([])
            for token in parts[1:]:
                seqs[u].append(items.setdefault(token, len(items)))
    n_users, n_items = len(users), len(items)
    rows, cols, tests = [], [], []
    for u, s in enumerate(seqs):
        if len(s) >= 3:
            train, val, test = s[:-2], s[-2], s[-1]
            tests.append((u, train + [val], test))
        else:
            train = s
        rows += [u] * len(train)
        cols += train
    m = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_users, n_items))
    m.data[:] = 1  # duplicates collapse to 1

    if a.model == "als":
        from implicit.cpu.als import AlternatingLeastSquares

        model = AlternatingLeastSquares(
            factors=a.factors, regularization=a.regularization, alpha=1 + a.alpha, iterations=a.iterations,
            use_cg=True, calculate_training_loss=False, num_threads=a.threads, random_state=a.seed)
        model.cg_steps = a.cg_steps  # an attribute in implicit 0.7, not a constructor argument
    else:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        model = BayesianPersonalizedRanking(
            factors=a.factors, learning_rate=a.learning_rate, regularization=a.regularization,
            iterations=a.iterations, num_threads=a.threads, random_state=a.seed)
    with threadpool_limits(limits=1, user_api="blas"):
        start = time.perf_counter()
        model.fit(m, show_progress=False)
        fit_seconds = time.perf_counter() - start

        start = time.perf_counter()
        ndcg = hr = 0.0
        for u, hist, target in tests:
            h = sp.csr_matrix((np.ones(len(hist), dtype=np.float32), ([0] * len(hist), hist)), shape=(1, n_items))
            h.data[:] = 1
            if a.model == "als":
                ids, _ = model.recommend(u, h, N=10, filter_already_liked_items=True, recalculate_user=True)
            else:
                ids, _ = model.recommend(u, h, N=10, filter_already_liked_items=True)
            ids = list(ids)
            if target in ids:
                r = ids.index(target)
                ndcg += 1 / np.log2(r + 2)
                hr += 1
        eval_seconds = time.perf_counter() - start
    result = {
        "peer": f"implicit {__import__('implicit').__version__}", "model": a.model, "data": a.data,
        "protocol": "leave-one-out, full ranking, training + validation items excluded",
        "users": len(tests), "items": n_items, "NDCG@10": ndcg / len(tests), "HR@10": hr / len(tests),
        "fit_seconds": fit_seconds, "seconds_per_iteration": fit_seconds / a.iterations, "evaluate_seconds": eval_seconds,
        "settings": {k: v for k, v in vars(a).items() if k not in ("data", "out")},
    }
    print(json.dumps(result, indent=2))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
