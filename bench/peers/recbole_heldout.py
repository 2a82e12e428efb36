#!/usr/bin/env python3
"""RecBole 1.2.1's autoencoders (MultiVAE, MultiDAE, RecVAE) on the held-out-users protocol,
on exactly the split that `osusume split` wrote.

RecBole has no strong-generalisation split of its own, so this script uses RecBole's model and
trainer classes on Osusume's files:

- training: RecBole's dataset built from `train.tsv` only (the held-out users are not in it),
  RecBole's training data loader for the model (batches of users) and its trainer's `_train_epoch` (RecVAE's alternating
  encoder/decoder updates included), RecBole's defaults unless `--set` changes them;
- validation after every epoch and test at the end: each held-out user's fold-in history
  (items unknown to the training data are dropped) goes through the model's `forward` as a
  binary row, the history items are excluded, and the targets are ranked against all items
  (full ranking). NDCG@K uses an ideal DCG over min(|targets|, K) targets, Recall@K is
  hits / |targets|: the definitions of Osusume's evaluator. The best validation epoch's weights
  are tested; training stops after `--patience` epochs without improvement.

  osusume split --data ../shared/data/ml-1m/ml-1m.txt --split held-out-users --held-out 600 \\
      --out bench/peers/work/ml-1m-heldout
  bench/peers/.venv/bin/python bench/peers/recbole_heldout.py --split bench/peers/work/ml-1m-heldout \\
      --model MultiVAE --epochs 100 --patience 10 --threads 2
"""
import argparse
import copy
import json
import math
import os
import platform
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def read_split(path):
    train = []
    with open(os.path.join(path, "train.tsv")) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            train.append((parts[0], parts[1]))
    cases = {}
    for name in ("validation", "test"):
        with open(os.path.join(path, name + ".jsonl")) as f:
            cases[name] = [json.loads(line) for line in f if line.strip()]
    with open(os.path.join(path, "split.json")) as f:
        info = json.load(f)
    return train, cases, info


def write_atomic(train, work, name):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name + ".inter"), "w") as f:
        f.write("user_id:token\titem_id:token\ttimestamp:float\n")
        pos = {}
        for u, i in train:
            k = pos.get(u, 0)
            pos[u] = k + 1
            f.write(f"{u}\t{i}\t{k}\n")


def metrics_for(scores, cases_internal, ks):
    """scores: [n, items] numpy array (history already excluded); cases: (history ids, target ids)."""
    import numpy as np
    out = {f"NDCG@{k}": 0.0 for k in ks}
    out.update({f"Recall@{k}": 0.0 for k in ks})
    kmax = max(ks)
    top = np.argpartition(-scores, kmax, axis=1)[:, :kmax]
    for r, (_, targets, n_targets) in enumerate(cases_internal):
        row = top[r]
        row = row[np.argsort(-scores[r, row], kind="stable")]
        tset = set(targets)
        for k in ks:
            hits = [j for j, it in enumerate(row[:k]) if it in tset]
            dcg = sum(1 / math.log2(j + 2) for j in hits)
            idcg = sum(1 / math.log2(j + 2) for j in range(min(n_targets, k)))
            out[f"NDCG@{k}"] += dcg / idcg if idcg > 0 else 0
            out[f"Recall@{k}"] += len(hits) / n_targets if n_targets else 0
    n = max(1, len(cases_internal))
    return {k: v / n for k, v in out.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", required=True, help="folder written by `osusume split`")
    ap.add_argument("--model", required=True, choices=["MultiVAE", "MultiDAE", "RecVAE"])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="RecBole config override (YAML value)")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--patience", type=int, default=10)
    ap.add_argument("--max-fit-seconds", type=float, default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seed", type=int, default=2020)
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--out", default=None)
    a = ap.parse_args()

    import numpy as np
    import torch
    import yaml
    import recbole
    from logging import getLogger
    from recbole.config import Config
    from recbole.data import create_dataset
    from recbole.data.utils import get_dataloader
    from recbole.utils import get_model, get_trainer, init_seed, init_logger

    if a.threads:
        torch.set_num_threads(a.threads)
    t_start = time.time()
    if a.out:
        a.out = os.path.abspath(a.out)  # RecBole is run from the work folder
    split_dir = os.path.abspath(a.split)
    train, cases, info = read_split(split_dir)
    work = os.path.abspath(a.work)
    name = os.path.basename(split_dir.rstrip("/")) + "-rb"
    write_atomic(train, work, name)

    cfg = {
        "data_path": work,
        "checkpoint_dir": os.path.join(work, "saved"),
        "USER_ID_FIELD": "user_id", "ITEM_ID_FIELD": "item_id", "TIME_FIELD": "timestamp",
        "RATING_FIELD": None,
        "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
        "rm_dup_inter": None, "val_interval": None, "filter_inter_by_user_or_item": False,
        "user_inter_num_interval": "[0,inf)", "item_inter_num_interval": "[0,inf)",
        "train_neg_sample_args": None,
        "seed": a.seed, "reproducibility": True, "show_progress": False, "worker": 0,
        "use_gpu": False, "gpu_id": "", "save_dataset": False, "save_dataloaders": False,
        "epochs": a.epochs,
    }
    for kv in a.set:
        k, _, v = kv.partition("=")
        cfg[k] = yaml.safe_load(v)
    os.chdir(work)
    config = Config(model=a.model, dataset=name, config_dict=cfg)
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    logger = getLogger()
    dataset = create_dataset(config)
    # What data_preparation's dataset.build() does before splitting; here all of it is training data.
    dataset._change_feat_format()
    # RecBole's own choice of training loader (UserDataLoader for the autoencoders: batches of users).
    train_data = get_dataloader(config, "train")(config, dataset, None, shuffle=True)
    model = get_model(a.model)(config, dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)

    iid = dataset.iid_field
    n_items = dataset.item_num  # internal id 0 is padding

    def internal(case):
        hist = [int(dataset.token2id(iid, t)) for t in case["history"] if t in dataset.field2token_id[iid]]
        targ = [int(dataset.token2id(iid, t)) for t in case["targets"] if t in dataset.field2token_id[iid]]
        return hist, targ, len(case["targets"])

    cases_int = {k: [internal(c) for c in v] for k, v in cases.items()}

    def evaluate(which, ks=(10, 20)):
        model.eval()
        cs = cases_int[which]
        allm = []
        with torch.no_grad():
            for lo in range(0, len(cs), 256):
                chunk = cs[lo:lo + 256]
                x = torch.zeros(len(chunk), n_items)
                for r, (h, _, _) in enumerate(chunk):
                    if h:
                        x[r, h] = 1.0
                if a.model == "MultiVAE":
                    s, _, _ = model.forward(x)
                elif a.model == "MultiDAE":
                    s = model.forward(x)
                else:
                    s, _, _, _ = model.forward(x, 0.0)
                s = s.numpy().astype(np.float64)
                s[:, 0] = -np.inf
                for r, (h, _, _) in enumerate(chunk):
                    if h:
                        s[r, h] = -np.inf
                m = metrics_for(s, chunk, ks)
                allm.append((len(chunk), m))
        n = sum(c for c, _ in allm)
        return {k: sum(c * m[k] for c, m in allm) / n for k in allm[0][1]}

    curve, best, best_state, since = [], -1.0, None, 0
    epoch_s, valid_s = [], []
    fit_t0 = time.time()
    stopped = None
    for epoch in range(a.epochs):
        if a.max_fit_seconds and epoch_s and time.time() - fit_t0 + epoch_s[-1] + valid_s[-1] > a.max_fit_seconds:
            stopped = f"wall budget {a.max_fit_seconds}s"
            break
        model.train()
        t = time.time()
        loss = trainer._train_epoch(train_data, epoch, show_progress=False)
        epoch_s.append(time.time() - t)
        t = time.time()
        v = evaluate("validation")
        valid_s.append(time.time() - t)
        loss = float(sum(loss)) if isinstance(loss, tuple) else float(loss)
        curve.append({"epoch": epoch + 1, "loss": loss, "train_s": round(epoch_s[-1], 2), "valid_s": round(valid_s[-1], 2),
                      "NDCG@10": v["NDCG@10"], "Recall@20": v["Recall@20"]})
        print(json.dumps(curve[-1]), file=sys.stderr, flush=True)
        if v["NDCG@10"] > best:
            best, best_state, since = v["NDCG@10"], copy.deepcopy(model.state_dict()), 0
        else:
            since += 1
            if a.patience and since >= a.patience:
                stopped = f"early stop after {a.patience} epochs without improvement"
                break
    fit_wall = time.time() - fit_t0
    model.load_state_dict(best_state)
    t = time.time()
    test = evaluate("test")
    t_eval = time.time() - t
    out = {
        "tool": "recbole", "versions": {"recbole": recbole.__version__, "torch": torch.__version__,
                                        "python": platform.python_version()},
        "model": a.model, "split": info.get("split"), "split_folder": os.path.relpath(split_dir, HERE),
        "protocol": "full", "dataset": {"train_users": int(dataset.user_num - 1), "items_in_train": int(n_items - 1),
                                        "train_interactions": int(dataset.inter_num),
                                        "validation_cases": len(cases["validation"]), "test_cases": len(cases["test"])},
        "metrics": test, "best_valid_NDCG@10": best,
        "config": {k: config[k] for k in ("epochs", "train_batch_size", "learning_rate", "weight_decay", "seed")},
        "model_config": {k: config[k] for k in ("mlp_hidden_size", "latent_dimension", "dropout_prob", "anneal_cap",
                                                 "total_anneal_steps", "hidden_dimension", "beta", "gamma",
                                                 "n_enc_epochs", "n_dec_epochs") if k in config},
        "timings": {"epochs": len(epoch_s), "s_per_epoch": round(sum(epoch_s) / len(epoch_s), 3),
                    "valid_s_per_eval": round(sum(valid_s) / len(valid_s), 3), "fit_wall_s": round(fit_wall, 2),
                    "evaluate_s": round(t_eval, 3), "total_s": round(time.time() - t_start, 2)},
        "stopped": stopped, "valid_curve": curve,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "threads": torch.get_num_threads(), "load_end": [round(x, 2) for x in os.getloadavg()],
    }
    line = json.dumps(out, default=str)
    if a.out:
        with open(a.out, "w") as f:
            f.write(line + "\n")
    print(line, flush=True)


if __name__ == "__main__":
    main()
