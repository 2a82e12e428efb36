#!/usr/bin/env python3
"""Run one RecBole 1.2.1 model on exactly Osusume's leave-one-out protocol.

Converts a data file into RecBole atomic files under bench/peers/work/, configures
RecBole (no filtering, leave-one-out by position, full ranking, K=10,20), trains the
model, and prints ONE JSON line on stdout (RecBole's own log goes to stderr).

Protocol (Osusume's, reproduced here):
  * per user, in file (time) order: last item = test target, second-to-last =
    validation target, the rest = train. Models fit on train only.
  * validation: input = train items, ranking over all items minus train items.
  * test: input = train + validation item, ranking over all items minus
    train + validation items.
  * HR@K (= Recall@K with one target), NDCG@K, MRR@K for K = 10, 20.

RecBole differs from that natively in two places, both fixed here (see README.md):
  * general models (EASE, ItemKNN, MultiVAE, ...) read the user's history from the
    train split only, also at test time: the validation item is masked out of the
    ranking but is not part of the model's input. We re-point the model's input
    matrix to train + validation before the test evaluation (no refit).
  * sequential models (SASRec, BERT4Rec, ...) get the right input (every item
    before the target) but RecBole does not exclude history items from the ranking
    at all. We mask them (train items at validation, train + validation at test).
Both the protocol-matched metrics ("metrics") and RecBole's native ones
("metrics_recbole_native") are reported.

Usage:
  bench/peers/.venv/bin/python bench/peers/recbole_run.py \
      --data /work/shared/data/ml-1m/ml-1m.txt --model EASE --set reg_weight=500
"""

import argparse
import hashlib
import json
import os
import platform
import resource
import sys
import time
import warnings

# torch >= 2.6 loads checkpoints with weights_only=True by default; RecBole 1.2.1 pickles
# its config and numpy/scipy "other parameters" into the checkpoint it reloads itself.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
warnings.filterwarnings("ignore")

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_WORK = os.path.join(HERE, "work")

METRIC_NAMES = {"hit": "HR", "ndcg": "NDCG", "mrr": "MRR", "recall": "Recall",
                "precision": "Precision", "map": "MAP"}

SEQUENTIAL_CE_MODELS = {"SASRec", "BERT4Rec", "GRU4Rec", "NARM", "STAMP", "Caser",
                        "NextItNet", "SRGNN", "GCSAN", "LightSANs", "CORE", "FPMC"}


class StopTraining(Exception):
    pass


# ----------------------------------------------------------------------------- data


def detect_format(path):
    with open(path, "r", encoding="latin-1") as f:
        head = f.readline()
    if "::" in head or "\t" in head or "," in head:
        return "movielens"
    return "sasrec"


def read_sequences(path, fmt):
    """Return list of (user_token, [item_token, ...]) in time order, users in file order."""
    seqs = {}
    order = []
    if fmt == "sasrec":
        # `user item item ...` per line (one line per user), or `user item` pairs per line
        # (kang205's original layout): items in file order.
        with open(path, "r", encoding="latin-1") as f:
            for line in f:
                tok = line.split()
                if not tok:
                    continue
                u = tok[0]
                if u not in seqs:
                    seqs[u] = []
                    order.append(u)
                seqs[u].extend(tok[1:])
        return [(u, seqs[u]) for u in order]
    if fmt == "movielens":
        # user, item, rating, timestamp separated by '::', tab or comma (optional header).
        # Per user: stable sort by timestamp, ties keep file order.
        rows = {}
        with open(path, "r", encoding="latin-1") as f:
            first = True
            for n, line in enumerate(f):
                line = line.strip()
                if not line:
                    continue
                sep = "::" if "::" in line else ("\t" if "\t" in line else ",")
                parts = line.split(sep)
                if first:
                    first = False
                    try:
                        float(parts[0])
                    except ValueError:
                        continue  # header
                u, i, ts = parts[0], parts[1], float(parts[3]) if len(parts) > 3 else float(n)
                if u not in rows:
                    rows[u] = []
                    order.append(u)
                rows[u].append((ts, n, i))
        out = []
        for u in order:
            r = sorted(rows[u], key=lambda x: (x[0], x[1]))
            out.append((u, [i for _, _, i in r]))
        return out
    raise ValueError(f"unknown format {fmt}")


def file_fingerprint(path):
    st = os.stat(path)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return {"path": os.path.abspath(path), "bytes": st.st_size, "sha256": h.hexdigest()}


def convert(path, fmt, name, work):
    """Write work/<name>/<name>.inter (user_id:token item_id:token timestamp:float).

    timestamp = position of the interaction in the user's sequence (0-based), so that
    RecBole's time ordering ('TO') is exactly the file order. Cached by content hash.
    """
    ddir = os.path.join(work, name)
    os.makedirs(ddir, exist_ok=True)
    inter = os.path.join(ddir, f"{name}.inter")
    meta_path = os.path.join(ddir, "source.json")
    fp = file_fingerprint(path)
    fp["format"] = fmt
    if os.path.exists(inter) and os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if {k: meta.get(k) for k in fp} == fp:
            return meta
    seqs = read_sequences(path, fmt)
    n_inter = 0
    items = set()
    min_len = None
    dup_users = 0
    # Per process: runs started together each write the same content, and the last rename wins.
    tmp = f"{inter}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write("user_id:token\titem_id:token\ttimestamp:float\n")
        for u, its in seqs:
            if len(set(its)) != len(its):
                dup_users += 1
            for pos, i in enumerate(its):
                f.write(f"{u}\t{i}\t{pos}\n")
            n_inter += len(its)
            items.update(its)
            min_len = len(its) if min_len is None else min(min_len, len(its))
    os.replace(tmp, inter)
    meta = dict(fp)
    meta.update({"users": len(seqs), "items": len(items), "interactions": n_inter,
                 "min_user_len": min_len, "users_with_repeated_items": dup_users})
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)
    return meta


# ----------------------------------------------------------------------------- config


def parse_sets(pairs):
    import yaml
    out = {}
    for p in pairs or []:
        if "=" not in p:
            raise SystemExit(f"--set expects key=value, got {p!r}")
        k, v = p.split("=", 1)
        val = yaml.safe_load(v)
        cur = out
        keys = k.split(".")
        for kk in keys[:-1]:
            cur = cur.setdefault(kk, {})
        cur[keys[-1]] = val
    return out


def deep_update(base, upd):
    for k, v in upd.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            deep_update(base[k], v)
        else:
            base[k] = v
    return base


def build_config_dict(args, meta, work, model_type_is_seq):
    n_items = meta["items"]
    cfg = {
        # data
        "data_path": work,
        "checkpoint_dir": os.path.join(work, "saved"),
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "TIME_FIELD": "timestamp",
        "RATING_FIELD": None,
        "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
        # no filtering of any kind (RecBole defaults, stated explicitly)
        "rm_dup_inter": None,
        "val_interval": None,
        "filter_inter_by_user_or_item": False,
        "user_inter_num_interval": "[0,inf)",
        "item_inter_num_interval": "[0,inf)",
        # leave-one-out by position, full ranking
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO",
                      "group_by": "user", "mode": "full"},
        "topk": [10, 20],
        "metrics": ["Hit", "NDCG", "MRR", "Recall"],
        "valid_metric": "NDCG@10",
        "metric_decimal_place": 6,
        # environment
        "use_gpu": bool(args.gpu),
        "gpu_id": "0" if args.gpu else "",
        "seed": args.seed,
        "reproducibility": True,
        "show_progress": False,
        "worker": 0,
        "save_dataset": False,
        "save_dataloaders": False,
        # evaluation batch: many users per batch (does not change results)
        "eval_batch_size": 512 if model_type_is_seq else 256 * (n_items + 1),
    }
    if args.model in ("Pop", "ItemKNN", "EASE", "MultiVAE", "MultiDAE", "RecVAE") and not (
            args.model == "Pop" and getattr(args, "pop_as_shipped", False)):
        # These models never look at sampled negatives; RecBole's default uniform
        # negative sampling would only cost time -- except for Pop, which counts every
        # item id in the training batch, negatives included (so sampling would add
        # random counts). Counting the train interactions only is the intended Pop.
        cfg["train_neg_sample_args"] = None
    if model_type_is_seq:
        cfg["repeatable"] = True
    if args.model in SEQUENTIAL_CE_MODELS:
        # loss_type CE (RecBole's default for SASRec/BERT4Rec/GRU4Rec) needs no negatives.
        cfg["train_neg_sample_args"] = None
    if args.epochs is not None:
        cfg["epochs"] = args.epochs
    deep_update(cfg, parse_sets(args.set))
    if cfg.get("loss_type") == "BPR" and "train_neg_sample_args" in cfg and cfg["train_neg_sample_args"] is None:
        cfg["train_neg_sample_args"] = {"distribution": "uniform", "sample_num": 1}
    return cfg


# ----------------------------------------------------------------------------- main


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def rename_metrics(res):
    out = {}
    for k, v in (res or {}).items():
        name, _, kk = k.partition("@")
        out[f"{METRIC_NAMES.get(name, name)}@{kk}"] = float(v)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="data file (sasrec `user item item ...` lines, or movielens ratings)")
    ap.add_argument("--format", default="auto", choices=["auto", "sasrec", "movielens"])
    ap.add_argument("--name", default=None, help="dataset name in the work folder (default: the data file's folder name)")
    ap.add_argument("--model", required=True, help="RecBole model class name: Pop, ItemKNN, EASE, MultiVAE, MultiDAE, RecVAE, NeuMF, SASRec, BERT4Rec, ...")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="RecBole config override, value parsed as YAML; dotted keys for nested dicts")
    ap.add_argument("--epochs", type=int, default=None, help="RecBole `epochs` (default: RecBole's, 300)")
    ap.add_argument("--max-fit-seconds", type=float, default=None,
                    help="stop training before an epoch that would end past this wall budget; the best checkpoint so far is tested")
    ap.add_argument("--target-valid", type=float, default=None,
                    help="record the wall time at which validation NDCG@10 first reaches this value")
    ap.add_argument("--stop-at-target", action="store_true", help="stop training once --target-valid is reached")
    ap.add_argument("--native", action="store_true",
                    help="validate with RecBole's native behaviour (no history masking for sequential models)")
    ap.add_argument("--seed", type=int, default=2020)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    ap.add_argument("--gpu", action="store_true")
    ap.add_argument("--work", default=DEFAULT_WORK)
    ap.add_argument("--out", default=None, help="also write the JSON to this file")
    ap.add_argument("--quiet", action="store_true", help="RecBole log level WARNING")
    ap.add_argument("--show-progress", action="store_true",
                    help="RecBole's per-batch progress bar during training (to time a long epoch before it ends)")
    ap.add_argument("--pop-as-shipped", action="store_true",
                    help="Pop: keep RecBole 1.2.1's per-batch counting bug (default: count every train interaction)")
    ap.add_argument("--keep-checkpoint", action="store_true", help="keep RecBole's saved .pth in work/saved")
    args = ap.parse_args(argv)

    t_start = time.time()
    load_start = loadavg()
    args.data = os.path.abspath(args.data)
    if args.out:
        args.out = os.path.abspath(args.out)
    fmt = detect_format(args.data) if args.format == "auto" else args.format
    name = args.name or os.path.basename(os.path.dirname(os.path.abspath(args.data))) or "data"
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    # RecBole ships per-dataset yaml for some names (ml-100k.yaml turns on normalize_all,
    # which rescales our position timestamps and breaks the time order) and download URLs
    # for others: use a name of our own for the atomic files.
    rb_name = f"{name}-loo"
    meta = convert(args.data, fmt, rb_name, work)
    file_seqs = dict(read_sequences(args.data, fmt))
    t_convert = time.time() - t_start

    import numpy as np
    import torch
    import recbole
    from logging import getLogger
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.data.interaction import cat_interactions
    from recbole.model.abstract_recommender import AutoEncoderMixin
    from recbole.utils import get_model, get_trainer, init_seed, init_logger, ModelType

    if args.threads:
        torch.set_num_threads(args.threads)

    model_class = get_model(args.model)
    is_seq = model_class.type == ModelType.SEQUENTIAL
    cfg_dict = build_config_dict(args, meta, work, is_seq)
    if args.quiet:
        cfg_dict["state"] = "WARNING"

    os.chdir(work)  # RecBole writes ./log and ./log_tensorboard
    config = Config(model=args.model, dataset=rb_name, config_dict=cfg_dict)
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    logger = getLogger()

    t0 = time.time()
    dataset = create_dataset(config)
    uid_f, iid_f, time_f = dataset.uid_field, dataset.iid_field, dataset.time_field

    # Per-user item sequences (internal ids) in time order, for sequential history masking.
    # Per-user item sequences (internal ids) in file order: for sequential history masking
    # and to check RecBole's split against the protocol.
    user_seq = {}
    for utok, its in file_seqs.items():
        user_seq[int(dataset.token2id(uid_f, utok))] = np.asarray(dataset.token2id(iid_f, its), dtype=np.int64)
    n_eval_users = sum(1 for v in user_seq.values() if len(v) >= 3)

    train_data, valid_data, test_data = data_preparation(config, dataset)
    t_data = time.time() - t0

    def split_mismatches(ds_, offset):
        f = ds_.inter_feat
        uu, ii = f[uid_f].numpy(), f[iid_f].numpy()
        bad = 0
        for u, i in zip(uu, ii):
            s_ = user_seq[int(u)]
            if len(s_) < offset or s_[-offset] != i:
                bad += 1
        return bad, len(uu)
    split_check = {}
    for nm, dl, off in (("valid", valid_data, 2), ("test", test_data, 1)):
        bad, n = split_mismatches(dl._dataset, off)
        split_check[nm] = {"rows": n, "target_mismatches": bad}
        if bad:
            logger.warning(f"{nm}: {bad} of {n} targets are not the protocol's ({'last' if off == 1 else 'second-to-last'} item)")
    if not is_seq:
        tr_rows = len(train_data._dataset)
        expect = sum(max(len(v) - 2, 0) for v in user_seq.values())
        split_check["train"] = {"rows": tr_rows, "expected": expect}

    train_ds, valid_ds, test_ds = train_data._dataset, valid_data._dataset, test_data._dataset
    counts = {
        "name": name,
        "path": meta["path"],
        "sha256": meta["sha256"],
        "format": fmt,
        "users": int(dataset.user_num - 1),
        "items": int(dataset.item_num - 1),
        "interactions": int(dataset.inter_num),
        "file_users": meta["users"],
        "file_items": meta["items"],
        "file_interactions": meta["interactions"],
        "evaluated_users": n_eval_users,
        "train_rows": int(len(train_ds)),
        "valid_rows": int(len(valid_ds)),
        "test_rows": int(len(test_ds)),
        "split_check": split_check,
    }

    # ---- Pop: RecBole 1.2.1 counts an item once per training batch however often it occurs
    # in that batch (item_cnt[item] = item_cnt[item] + 1 with repeated indices), so its
    # "popularity" depends on train_batch_size (RecBole issues #1844/#2198). Count properly.
    pop_fix = args.model == "Pop" and not args.pop_as_shipped
    if pop_fix:
        from recbole.model.general_recommender.pop import Pop

        def _pop_loss(self, interaction):
            item = interaction[self.ITEM_ID]
            self.item_cnt.index_add_(0, item, torch.ones(len(item), 1, dtype=self.item_cnt.dtype, device=self.item_cnt.device))
            self.max_cnt = torch.max(self.item_cnt, dim=0)[0]
            return torch.nn.Parameter(torch.zeros(1)).to(self.device)

        Pop.calculate_loss = _pop_loss

    # ---- model
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    t0 = time.time()
    model = model_class(config, train_ds).to(config["device"])
    t_model_init = time.time() - t0
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)

    state = {"phase": "valid", "mask_seq": is_seq and not args.native}
    seq_hist = {}

    def history_tensor(uid, phase):
        key = (uid, phase)
        h = seq_hist.get(key)
        if h is None:
            s = user_seq[uid]
            h = torch.as_tensor(s[:-2] if phase == "valid" else s[:-1], dtype=torch.long)
            seq_hist[key] = h
        return h

    orig_batch_eval = trainer._full_sort_batch_eval

    def batch_eval(batched_data):
        interaction, scores, positive_u, positive_i = orig_batch_eval(batched_data)
        if state["mask_seq"]:
            uids = interaction[uid_f].cpu().numpy()
            rows, cols = [], []
            for r, u in enumerate(uids):
                h = history_tensor(int(u), state["phase"])
                rows.append(torch.full_like(h, r))
                cols.append(h)
            rows = torch.cat(rows).to(scores.device)
            cols = torch.cat(cols).to(scores.device)
            scores[rows, cols] = -np.inf
        return interaction, scores, positive_u, positive_i

    trainer._full_sort_batch_eval = batch_eval

    # ---- timing hooks
    curve = []
    train_epoch_s = []
    valid_epoch_s = []
    fit_t0 = [None]
    reached = {}

    orig_train_epoch = trainer._train_epoch
    orig_valid_epoch = trainer._valid_epoch

    def train_epoch(train_data_, epoch_idx, *a, **kw):
        if args.max_fit_seconds is not None and train_epoch_s:
            elapsed = time.time() - fit_t0[0]
            per = sum(train_epoch_s) / len(train_epoch_s) + (
                sum(valid_epoch_s) / len(valid_epoch_s) if valid_epoch_s else 0.0)
            if elapsed + per > args.max_fit_seconds:
                raise StopTraining(f"wall budget {args.max_fit_seconds}s reached before epoch {epoch_idx}")
        if args.stop_at_target and reached:
            raise StopTraining("target reached")
        t = time.time()
        r = orig_train_epoch(train_data_, epoch_idx, *a, **kw)
        train_epoch_s.append(time.time() - t)
        return r

    def valid_epoch(valid_data_, *a, **kw):
        t = time.time()
        score, result = orig_valid_epoch(valid_data_, *a, **kw)
        valid_epoch_s.append(time.time() - t)
        elapsed = time.time() - fit_t0[0]
        entry = {"epoch": len(train_epoch_s), "elapsed_s": round(elapsed, 2),
                 "train_s": round(train_epoch_s[-1], 2) if train_epoch_s else None,
                 "valid_s": round(valid_epoch_s[-1], 2),
                 "NDCG@10": float(result.get("ndcg@10", score)),
                 "HR@10": float(result.get("hit@10", float("nan"))),
                 "load": loadavg()}
        curve.append(entry)
        if args.target_valid is not None and not reached and entry["NDCG@10"] >= args.target_valid:
            reached.update({"epoch": entry["epoch"], "elapsed_s": entry["elapsed_s"],
                            "elapsed_incl_model_init_s": round(elapsed + t_model_init, 2)})
        return score, result

    trainer._train_epoch = train_epoch
    trainer._valid_epoch = valid_epoch

    # ---- fit
    stopped = None
    fit_t0[0] = time.time()
    try:
        trainer.fit(train_data, valid_data, saved=True, show_progress=args.show_progress)
    except StopTraining as e:
        stopped = str(e)
        logger.info(f"training stopped: {e}")
    fit_wall = time.time() - fit_t0[0]
    best_valid = rename_metrics(trainer.best_valid_result)

    # ---- test: RecBole native first (loads best checkpoint), then protocol-matched
    state["phase"] = "test"
    state["mask_seq"] = False
    t0 = time.time()
    native = trainer.evaluate(test_data, load_best_model=True, show_progress=False)
    t_native = time.time() - t0

    test_input = "train+valid"
    if is_seq:
        state["mask_seq"] = True
        hist_note = "train+valid items masked by this script (RecBole masks none for sequential models)"
        test_input = "train+valid (RecBole native)"
    else:
        hist_note = "train+valid items masked (RecBole native for general models)"
        tv = train_ds.copy(cat_interactions([train_ds.inter_feat, valid_ds.inter_feat]))
        if args.model == "EASE":
            model.interaction_matrix = tv.inter_matrix(form="csr").astype(np.float32)
        elif args.model == "ItemKNN":
            X = tv.inter_matrix(form="csr").astype(np.float32)
            model.interaction_matrix = X
            if model.method == "user":
                model.pred_mat = model.w.dot(X).tolil()
            else:
                model.pred_mat = X.dot(model.w).tolil()
        elif isinstance(model, AutoEncoderMixin):
            model.build_histroy_items(tv)
        elif args.model in ("Pop", "NeuMF", "BPR", "DMF", "ConvNCF"):
            test_input = "n/a (model has no history input)"
        else:
            test_input = "train only (RecBole native; no hook for this model)"
    t0 = time.time()
    matched = trainer.evaluate(test_data, load_best_model=False, show_progress=False)
    t_eval = time.time() - t0

    n_ep = len(train_epoch_s)
    fit_s = t_model_init + sum(train_epoch_s)
    out = {
        "tool": "recbole",
        "versions": {"recbole": recbole.__version__, "torch": torch.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
        "dataset": counts,
        "split": "leave-one-out",
        "protocol": "full",
        "model": args.model,
        "config": {k: (config[k] if not isinstance(config[k], (torch.device,)) else str(config[k]))
                   for k in sorted(set(list(cfg_dict.keys()) + _model_keys(config, args.model)))
                   if k not in ("data_path", "checkpoint_dir")},
        "metrics": rename_metrics(matched),
        "metrics_recbole_native": rename_metrics(native),
        "test_input": test_input,
        "patches": {"pop_count_fix": pop_fix,
                    "sequential_history_masking": bool(is_seq and not args.native),
                    "general_test_input_train_plus_valid": (not is_seq) and test_input == "train+valid"},
        "test_history_masking": hist_note,
        "best_valid": best_valid,
        "timings": {
            "convert_s": round(t_convert, 3),
            "data_s": round(t_data, 3),
            "model_init_s": round(t_model_init, 3),
            "fit_s": round(fit_s, 3),
            "fit_wall_s": round(t_model_init + fit_wall, 3),
            "epochs": n_ep,
            "s_per_epoch": round(sum(train_epoch_s) / n_ep, 3) if n_ep else None,
            "valid_s_per_eval": round(sum(valid_epoch_s) / len(valid_epoch_s), 3) if valid_epoch_s else None,
            "evaluate_s": round(t_eval, 3),
            "evaluate_native_s": round(t_native, 3),
            "total_s": round(time.time() - t_start, 3),
        },
        "stopped": stopped,
        "target_valid": ({"value": args.target_valid, "reached": reached or None}
                         if args.target_valid is not None else None),
        "valid_curve": curve,
        "peak_rss_mb": round(rss_mb(), 1),
        "threads": torch.get_num_threads(),
        "load": {"start": load_start, "end": loadavg(), "cpus": os.cpu_count()},
    }
    if not args.keep_checkpoint and os.path.exists(trainer.saved_model_file):
        os.remove(trainer.saved_model_file)
    line = json.dumps(out, default=str)
    if args.out:
        with open(args.out, "w") as f:
            f.write(line + "\n")
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return out


def _model_keys(config, model):
    """Hyper-parameter keys from RecBole's model yaml plus the training keys that matter."""
    keys = ["epochs", "train_batch_size", "learning_rate", "learner", "stopping_step",
            "eval_step", "weight_decay", "train_neg_sample_args", "seed", "MAX_ITEM_LIST_LENGTH"]
    try:
        import recbole, yaml
        p = os.path.join(os.path.dirname(recbole.__file__), "properties", "model", f"{model}.yaml")
        with open(p) as f:
            keys += list((yaml.safe_load(f) or {}).keys())
    except OSError:
        pass
    return [k for k in keys if k in config]


if __name__ == "__main__":
    main()
