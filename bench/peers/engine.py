"""One training step of a SASRec-shaped model in PyTorch (CPU) next to Osusume's tensor engine.

Both sides build the same model: item and position embeddings (scaled item embedding plus
position, dropout), pre-LN Transformer blocks (causal multi-head attention with q/k/v/output
projections, ReLU feed-forward of width dim, dropout after each sub-layer), a final layer norm,
and full-softmax cross-entropy over every item at every position with the item table tied as the
output layer; AdamW (lr 1e-3, weight decay 0.01). A step is forward, backward and update.

Prints PyTorch's step time, runs `osusume bench engine --json` with the same settings, and prints
both times, their ratio (Osusume / PyTorch), achieved GFLOP/s and both peak memories. See
README-engine.md for the venv.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, dim, heads, dropout):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.output = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.linear1 = nn.Linear(dim, dim)
        self.linear2 = nn.Linear(dim, dim)
        self.p = dropout

    def forward(self, x):
        b, l, d = x.shape
        h, dh = self.heads, d // self.heads
        y = self.norm1(x)
        q = self.query(y).view(b, l, h, dh).transpose(1, 2)
        k = self.key(y).view(b, l, h, dh).transpose(1, 2)
        v = self.value(y).view(b, l, h, dh).transpose(1, 2)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        a = a.transpose(1, 2).reshape(b, l, d)
        x = x + F.dropout(self.output(a), self.p, self.training)
        y = self.norm2(x)
        f = self.linear2(F.dropout(F.relu(self.linear1(y)), self.p, self.training))
        return x + F.dropout(f, self.p, self.training)


class SASRec(nn.Module):
    def __init__(self, items, length, dim, heads, blocks, dropout):
        super().__init__()
        self.items = nn.Embedding(items, dim)
        self.positions = nn.Embedding(length, dim)
        nn.init.normal_(self.items.weight, std=0.02)
        nn.init.normal_(self.positions.weight, std=0.02)
        self.blocks = nn.ModuleList(Block(dim, heads, dropout) for _ in range(blocks))
        self.norm = nn.LayerNorm(dim)
        self.p = dropout
        self.dim = dim

    def forward(self, seqs, positions, targets):
        h = self.items(seqs) * math.sqrt(self.dim) + self.positions(positions)
        h = F.dropout(h, self.p, self.training)
        for block in self.blocks:
            h = block(h)
        h = self.norm(h)
        logits = h @ self.items.weight.T
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


def flops(a):
    n, d, l, b = a.batch * a.length, a.dim, a.length, a.batch
    per_block = 8 * n * d * d + 4 * n * d * d + 4 * b * l * l * d
    return 3 * (a.blocks * per_block + 2 * n * d * a.items)


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def run_pytorch(a):
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    model = SASRec(a.items, a.length, a.dim, a.heads, a.blocks, a.dropout)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    g = torch.Generator().manual_seed(a.seed + 17)
    seqs = torch.randint(1, a.items, (a.batch, a.length), generator=g)
    targets = torch.randint(1, a.items, (a.batch, a.length), generator=g)
    positions = torch.arange(a.length).expand(a.batch, a.length)
    fwd, bwd, upd, total, losses = [], [], [], [], []
    for step in range(a.warmup + a.steps):
        if step == a.warmup:
            reset_peak()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(seqs, positions, targets)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        losses.append(loss.item())
        if step >= a.warmup:
            fwd.append(t1 - t0); bwd.append(t2 - t1); upd.append(t3 - t2); total.append(t3 - t0)
    step = statistics.median(total)
    return {
        "stepSeconds": step, "stepSecondsMin": min(total), "stepSecondsMax": max(total),
        "forwardSeconds": statistics.median(fwd), "backwardSeconds": statistics.median(bwd),
        "updateSeconds": statistics.median(upd), "achievedGFLOPS": flops(a) / step / 1e9,
        "peakResidentBytes": peak_bytes(), "firstLoss": losses[0], "lastLoss": losses[-1],
        "threads": torch.get_num_threads(), "torch": torch.__version__,
    }


def run_osusume(a):
    cmd = a.osusume.split() + ["--json", "--threads", str(a.threads), "--steps", str(a.steps),
                               "--warmup", str(a.warmup), "--batch", str(a.batch), "--length", str(a.length),
                               "--dim", str(a.dim), "--heads", str(a.heads), "--blocks", str(a.blocks),
                               "--items", str(a.items), "--dropout", str(a.dropout)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out[out.index("{"):])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--length", type=int, default=200)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--items", type=int, default=3416)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--osusume", default=".build/release/osusume bench engine",
                   help="command that runs Osusume's benchmark (given --json and the settings)")
    p.add_argument("--skip-osusume", action="store_true", help="time PyTorch only")
    p.add_argument("--json", action="store_true", help="print both reports as JSON")
    a = p.parse_args()

    ours = None if a.skip_osusume else run_osusume(a)   # first, so no PyTorch thread is still spinning
    theirs = run_pytorch(a)
    mib = 1 / 1048576
    print(f"PyTorch {theirs['torch']}: step {theirs['stepSeconds']:.3f} s (min {theirs['stepSecondsMin']:.3f}, "
          f"max {theirs['stepSecondsMax']:.3f}; forward {theirs['forwardSeconds']:.3f}, backward "
          f"{theirs['backwardSeconds']:.3f}, update {theirs['updateSeconds']:.3f}), "
          f"{theirs['achievedGFLOPS']:.1f} GFLOP/s, peak {theirs['peakResidentBytes'] * mib:.0f} MiB, "
          f"loss {theirs['firstLoss']:.4f} -> {theirs['lastLoss']:.4f}")
    if ours:
        print(f"Osusume: step {ours['stepSeconds']:.3f} s (min {ours['stepSecondsMin']:.3f}, max {ours['stepSecondsMax']:.3f}; "
              f"forward {ours['forwardSeconds']:.3f}, backward {ours['backwardSeconds']:.3f}, update {ours['updateSeconds']:.3f}), "
              f"{ours['achievedGFLOPS']:.1f} GFLOP/s (sgemm {ours['sgemmGFLOPS']:.1f} at {ours['sgemmShape']}, "
              f"{ours['sgemmScoringGFLOPS']:.1f} at {ours['sgemmScoringShape']}), peak {ours['peakResidentBytes'] * mib:.0f} MiB, "
              f"loss {ours['firstLoss']:.4f} -> {ours['lastLoss']:.4f}, {ours['simd']}")
        print(f"ratio Osusume / PyTorch: {ours['stepSeconds'] / theirs['stepSeconds']:.3f} "
              f"(goal <= 0.5); peak memory {ours['peakResidentBytes'] * mib:.0f} vs {theirs['peakResidentBytes'] * mib:.0f} MiB; "
              f"{a.threads} threads, {flops(a) / 1e9:.1f} GFLOP per step")
    if a.json:
        print(json.dumps({"osusume": ours, "pytorch": theirs}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
