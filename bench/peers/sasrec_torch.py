#!/usr/bin/env python3
"""SASRec in plain PyTorch with the same shapes and training scheme as Osusume's `sasrec`
(Sources/OsusumeNeural/SASRec.swift), for a seconds-per-epoch comparison on the same machine.

Same as Osusume: tokens 0 = padding, item i = i + 1; histories cut into windows of maxLength + 1
items (consecutive windows share one item); batches of similar-length windows (sorted within
pools of 32 batches), left-padded to the batch's longest window; positions counted back from the
end (or, with --positions-from-start, from each window's first item); embeddings N(0, 0.02²), item embeddings × √dim at the input; pre-LN Transformer blocks (GELU feed-forward of width
`--ff`, dropout), causal + key-padding masks, final layer norm, full softmax cross-entropy over
all items with the item table tied as output; Adam (lr 1e-3). Leave-one-out split (last item
test, second-last validation), full ranking with history items excluded.

  bench/peers/.venv/bin/python bench/peers/sasrec_torch.py --data /work/shared/data/ml-1m/ml-1m.txt \
      --epochs 1 --threads 2            # one epoch, prints seconds per epoch and NDCG@10 as JSON
  ... --max-steps 20                    # time the first 20 steps only (seconds per step, extrapolated)
"""
import argparse
import json
import math
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load(path):
    seqs = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if len(parts) == 2:  # "user item" per line
                seqs.setdefault(parts[0], []).append(parts[1])
            else:                # "user item item ..." per line
                seqs.setdefault(parts[0], []).extend(parts[1:])
    items = {}
    out = []
    for u in seqs:
        out.append([items.setdefault(i, len(items)) for i in seqs[u]])
    return out, len(items)


def windows(seqs, size, step):
    out = []
    for s in seqs:
        end = len(s)
        while end > 0:
            start = max(0, end - size)
            if end - start < 2:
                break
            out.append([t + 1 for t in s[start:end]])
            if start == 0:
                break
            end -= step
    return out


def batches(lengths, batch, rng):
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch * 32
    out = []
    for p in range(0, len(order), pool):
        sl = sorted(order[p:p + pool], key=lambda i: (lengths[i], i))
        out += [sl[b:b + batch] for b in range(0, len(sl), batch)]
    rng.shuffle(out)
    return out


class QueryNormBlock(nn.Module):
    """The original SASRec code's block: q = LN(x); h = q + attn(q, x, x); n = LN(h); n + FF(n)."""

    def __init__(self, dim, heads, ff, dropout, activation):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.drop1 = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff), nn.ReLU() if activation == "relu" else nn.GELU(),
                                nn.Dropout(dropout), nn.Linear(ff, dim))
        self.drop2 = nn.Dropout(dropout)

    def forward(self, x, src_mask=None, src_key_padding_mask=None):
        q = self.norm1(x)
        a, _ = self.attn(q, x, x, attn_mask=src_mask, key_padding_mask=src_key_padding_mask, need_weights=False)
        n = self.norm2(q + self.drop1(a))
        return n + self.drop2(self.ff(n))


class SASRec(nn.Module):
    def __init__(self, tokens, max_len, dim, blocks, heads, ff, dropout, scale=True, query_norm=False, activation="gelu",
                 from_start=False):
        super().__init__()
        self.from_start = from_start
        self.scale = math.sqrt(dim) if scale else 1.0
        self.items = nn.Embedding(tokens, dim)
        self.pos = nn.Embedding(max_len, dim)
        nn.init.normal_(self.items.weight, std=0.02)
        nn.init.normal_(self.pos.weight, std=0.02)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([
            QueryNormBlock(dim, heads, ff, dropout, activation) if query_norm else
            nn.TransformerEncoderLayer(dim, heads, ff, dropout, activation=activation, batch_first=True, norm_first=True)
            for _ in range(blocks)])
        self.norm = nn.LayerNorm(dim)
        self.max_len = max_len

    def forward(self, tok):
        b, l = tok.shape
        if self.from_start:
            # Positions from each row's first token (as Osusume's positionsFromStart): with left
            # padding, row r's first token sits at l − len(r).
            first = (tok == 0).sum(dim=1, keepdim=True)
            pos = (torch.arange(l).unsqueeze(0) - first).clamp(min=0)
        else:
            pos = torch.arange(self.max_len - l, self.max_len).unsqueeze(0).expand(b, l)
        h = self.drop(self.items(tok) * self.scale + self.pos(pos))
        causal = torch.triu(torch.ones(l, l, dtype=torch.bool), 1)
        pad = tok == 0
        for blk in self.blocks:
            h = blk(h, src_mask=causal, src_key_padding_mask=pad)
        return self.norm(h)


def pad_left(rows):
    l = max(len(r) for r in rows)
    out = np.zeros((len(rows), l), dtype=np.int64)
    for i, r in enumerate(rows):
        if r:
            out[i, l - len(r):] = r
    return torch.from_numpy(out)


def evaluate(model, histories, targets, n_items, max_len, group=256):
    model.eval()
    ndcg = hr = 0.0
    order = sorted(range(len(histories)), key=lambda i: len(histories[i]))
    with torch.no_grad():
        for g in range(0, len(order), group):
            idx = order[g:g + group]
            rows = [[t + 1 for t in histories[i][-max_len:]] for i in idx]
            h = model(pad_left(rows))[:, -1]
            scores = h @ model.items.weight[1:].T
            for k, i in enumerate(idx):
                s = scores[k]
                s[torch.tensor(histories[i], dtype=torch.long)] = -math.inf
                rank = int((s > s[targets[i]]).sum())
                if rank < 10:
                    hr += 1
                    ndcg += 1 / math.log2(rank + 2)
    model.train()
    return ndcg / len(histories), hr / len(histories)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--max-len", type=int, default=200)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--ff", type=int, default=64)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-eval", action="store_true")
    ap.add_argument("--no-scale", action="store_true", help="do not multiply item embeddings by sqrt(dim) at the input")
    ap.add_argument("--query-norm", action="store_true", help="the original SASRec code's blocks (as Osusume's queryNorm=true)")
    ap.add_argument("--activation", default="gelu", choices=["gelu", "relu"])
    ap.add_argument("--positions-from-start", action="store_true",
                    help="number positions from each window's first item (as Osusume's positionsFromStart=true)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    seqs, n = load(a.data)
    train = [s[:-2] for s in seqs]
    win = windows(train, a.max_len + 1, a.max_len)
    model = SASRec(n + 1, a.max_len, a.dim, a.blocks, a.heads, a.ff, a.dropout, scale=not a.no_scale,
                   query_norm=a.query_norm, activation=a.activation, from_start=a.positions_from_start)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    curve = []
    step_times = []
    for epoch in range(1, a.epochs + 1):
        t0 = time.time()
        bl = batches([len(w) - 1 for w in win], a.batch, rng)
        total = 0.0
        for b, members in enumerate(bl):
            ts = time.time()
            rows = [win[i] for i in members]
            inp = pad_left([r[:-1] for r in rows])
            tgt = pad_left([r[1:] for r in rows])
            h = model(inp)
            loss = F.cross_entropy((h @ model.items.weight.T).view(-1, n + 1), tgt.view(-1), ignore_index=0)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            step_times.append(time.time() - ts)
            if a.max_steps and len(step_times) >= a.max_steps:
                break
        secs = time.time() - t0
        rec = {"epoch": epoch, "loss": total / (b + 1), "seconds": secs, "steps": b + 1, "stepsPerEpoch": len(bl)}
        if a.max_steps:
            med = sorted(step_times[2:] or step_times)[len(step_times[2:] or step_times) // 2]
            rec["medianStepSeconds"] = med
            rec["extrapolatedEpochSeconds"] = med * len(bl)
            curve.append(rec)
            break
        if not a.no_eval:
            rec["validNDCG10"], _ = evaluate(model, [s[:-2] for s in seqs], [s[-2] for s in seqs], n, a.max_len)
        curve.append(rec)
        print(json.dumps(rec), flush=True)
    out = {"model": "sasrec-torch", "torch": torch.__version__, "threads": a.threads, "windows": len(win), "curve": curve}
    if not a.no_eval and not a.max_steps:
        out["testNDCG10"], out["testHR10"] = evaluate(model, [s[:-1] for s in seqs], [s[-1] for s in seqs], n, a.max_len)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
