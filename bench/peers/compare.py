#!/usr/bin/env python3
"""Run Osusume and RecBole 1.2.1 on the same data and split, print them side by side.

For each model: RecBole via recbole_run.py (in bench/peers/.venv), Osusume via
`<osusume> evaluate ... --json`; prints metric / Osusume / RecBole / difference plus
timings, and writes bench/peers/results/<dataset>-<model>[-<tag>].json.

  python3 bench/peers/compare.py --data /work/shared/data/ml-1m/ml-1m.txt --models pop,itemknn,ease
  python3 bench/peers/compare.py --data ... --models ease --peer-set reg_weight=500 --osusume-set lambda=500 --tag reg500
  python3 bench/peers/compare.py --data ... --models ease --peer-only       # RecBole alone
  python3 bench/peers/compare.py --data ... --models ease --reuse-peer      # keep RecBole numbers already in results/

--peer-set / --osusume-set take MODEL:KEY=VALUE to apply to one model only, or KEY=VALUE for all.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
VENV_PY = os.path.join(HERE, ".venv", "bin", "python")
RESULTS = os.path.join(HERE, "results")

MODEL_MAP = {
    "pop": "Pop", "itemknn": "ItemKNN", "ease": "EASE", "multivae": "MultiVAE",
    "multidae": "MultiDAE", "recvae": "RecVAE", "neumf": "NeuMF", "sasrec": "SASRec",
    "bert4rec": "BERT4Rec", "lightgcn": "LightGCN",
}
METRICS = ["NDCG@10", "HR@10", "NDCG@20", "HR@20", "MRR@10", "MRR@20", "Recall@10", "Recall@20"]


def run_measured(cmd, timeout=None, env=None):
    """Run cmd; return (rc, stdout, stderr, wall_s, peak_rss_mb of that child alone)."""
    import tempfile
    import threading
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        t0 = time.time()
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, text=True, env=env)
        timer = None
        timed_out = []
        if timeout:
            def _kill():
                timed_out.append(True)
                p.kill()
            timer = threading.Timer(timeout, _kill)
            timer.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.time() - t0
        if timer:
            timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read(), fe.read()
    rc = 124 if timed_out else p.returncode
    if timed_out:
        err += f"\n[timeout after {timeout}s]"
    return rc, out, err, wall, ru.ru_maxrss / 1024.0


def parse_json_doc(text):
    text = text.strip()
    if not text:
        raise ValueError("empty output")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    for line in reversed(text.splitlines()):  # last JSON line
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    a, b = text.find("{"), text.rfind("}")
    return json.loads(text[a:b + 1])


def sets_for(model, sets):
    out = []
    for s in sets or []:
        if ":" in s.split("=", 1)[0]:
            m, kv = s.split(":", 1)
            if m.lower() != model:
                continue
            out.append(kv)
        else:
            out.append(s)
    return out


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return None


def fmt(v, nd=4):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def print_table(model, osu, peer, file=sys.stdout):
    om = (osu or {}).get("metrics", {})
    pm = (peer or {}).get("metrics", {})
    w = [10, 10, 10, 10, 7]
    print(f"\n== {model} ==", file=file)
    print(f"{'metric':<{w[0]}} {'Osusume':>{w[1]}} {'RecBole':>{w[2]}} {'diff':>{w[3]}} {'rel':>{w[4]}}", file=file)
    for m in METRICS:
        o, p = om.get(m), pm.get(m)
        if o is None and p is None:
            continue
        d = (o - p) if (o is not None and p is not None) else None
        rel = f"{100.0 * d / p:+.1f}%" if (d is not None and p) else "-"
        ds = f"{d:+.6f}" if d is not None else "-"
        print(f"{m:<{w[0]}} {fmt(o):>{w[1]}} {fmt(p):>{w[2]}} {ds:>{w[3]}} {rel:>{w[4]}}", file=file)
    ot = (osu or {}).get("timings", {})
    pt = (peer or {}).get("timings", {})
    rows = [("fit_s", ot.get("fit_s"), pt.get("fit_s")),
            ("evaluate_s", ot.get("evaluate_s"), pt.get("evaluate_s")),
            ("s/epoch", ot.get("s_per_epoch"), pt.get("s_per_epoch")),
            ("epochs", ot.get("epochs"), pt.get("epochs")),
            ("wall_s", (osu or {}).get("_wall_s"), (peer or {}).get("_wall_s")),
            ("peak_MB", (osu or {}).get("_peak_rss_mb"), (peer or {}).get("peak_rss_mb"))]
    for name, o, p in rows:
        if o is None and p is None:
            continue
        ratio = f"x{p / o:.1f}" if (isinstance(o, (int, float)) and isinstance(p, (int, float)) and o) else "-"
        print(f"{name:<{w[0]}} {fmt(o, 2):>{w[1]}} {fmt(p, 2):>{w[2]}} {'':>{w[3]}} {ratio:>{w[4]}}", file=file)


def summary_table(results_dir):
    """Markdown table of every results/*.json (RecBole and, where present, Osusume)."""
    import glob
    rows = []
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        with open(path) as f:
            r = json.load(f)
        p, o = r.get("recbole") or {}, r.get("osusume") or {}
        pm, om, pt = p.get("metrics", {}), o.get("metrics", {}), p.get("timings", {})
        overrides = [c[c.index("--set") + 1] for c in [r["recbole_command"][i:i + 2] for i in range(len(r.get("recbole_command") or []))] if c[0] == "--set"] if r.get("recbole_command") else []
        load = (p.get("load") or {}).get("start")
        rows.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            os.path.basename(path)[:-5], r.get("recbole_model"), " ".join(overrides) or "defaults",
            *[fmt(pm.get(m)) for m in ("NDCG@10", "HR@10", "NDCG@20", "HR@20", "MRR@10")],
            fmt(pt.get("fit_s"), 1) + f" ({fmt(pt.get('model_init_s'), 1)})", fmt(pt.get("s_per_epoch"), 1) + (f" x{pt.get('epochs')}" if pt.get("epochs") else ""),
            fmt(om.get("NDCG@10")), load[0] if load else "-"))
    head = ("| result | RecBole model | overrides | NDCG@10 | HR@10 | NDCG@20 | HR@20 | MRR@10 | fit s (model init s) | s/epoch x epochs | Osusume NDCG@10 | load1 at start |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|")
    return head + "\n" + "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--data", required="--table" not in sys.argv)
    ap.add_argument("--format", default="sasrec", help="Osusume --format (RecBole side auto-detects)")
    ap.add_argument("--name", default=None, help="dataset name (default: the data file's folder name)")
    ap.add_argument("--models", default="pop,itemknn,ease", help="comma list of Osusume model names")
    ap.add_argument("--osusume", default=os.path.join(REPO, ".build", "release", "osusume"))
    ap.add_argument("--peer-only", action="store_true", help="run RecBole only")
    ap.add_argument("--osusume-only", action="store_true", help="run Osusume only (RecBole numbers from results/ if present)")
    ap.add_argument("--reuse-peer", action="store_true",
                    help="reuse the RecBole result already stored in results/ when its overrides match")
    ap.add_argument("--peer-set", action="append", default=[], metavar="[MODEL:]KEY=VALUE")
    ap.add_argument("--osusume-set", action="append", default=[], metavar="[MODEL:]KEY=VALUE")
    ap.add_argument("--peer-args", default="", help="extra arguments for recbole_run.py (e.g. '--epochs 50 --max-fit-seconds 1800')")
    ap.add_argument("--k", default="10,20")
    ap.add_argument("--tag", default=None, help="suffix for the results file name")
    ap.add_argument("--results", default=RESULTS)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--timeout", type=float, default=None, help="per-run timeout in seconds")
    ap.add_argument("--table", action="store_true", help="print a markdown table of results/*.json and exit")
    args = ap.parse_args()
    if args.table:
        print(summary_table(args.results))
        return []

    name = args.name or os.path.basename(os.path.dirname(os.path.abspath(args.data)))
    models = [m.strip().lower() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in MODEL_MAP:
            sys.exit(f"unknown model {m}; known: {', '.join(MODEL_MAP)}")

    have_osu = os.path.isfile(args.osusume) and os.access(args.osusume, os.X_OK)
    run_osu = not args.peer_only
    if run_osu and not have_osu:
        print(f"[compare] Osusume binary not found at {args.osusume}: skipping Osusume "
              f"(build it with `swift build -c release`, or pass --osusume PATH)", file=sys.stderr)
        run_osu = False
    run_peer = not args.osusume_only
    if run_peer and not os.path.exists(VENV_PY):
        sys.exit(f"[compare] {VENV_PY} missing: run `bash bench/peers/setup.sh` first")

    os.makedirs(args.results, exist_ok=True)
    summary = []
    for m in models:
        rb = MODEL_MAP[m]
        fname = f"{name}-{m}" + (f"-{args.tag}" if args.tag else "") + ".json"
        fpath = os.path.join(args.results, fname)
        previous = None
        if os.path.exists(fpath):
            with open(fpath) as f:
                previous = json.load(f)

        peer_sets = sets_for(m, args.peer_set)
        peer_cmd = [VENV_PY, os.path.join(HERE, "recbole_run.py"), "--data", args.data,
                    "--model", rb, "--quiet"] + shlex.split(args.peer_args)
        if args.name:
            peer_cmd += ["--name", args.name]
        for s in peer_sets:
            peer_cmd += ["--set", s]

        peer = None
        reuse = previous and previous.get("recbole") and (args.osusume_only or args.reuse_peer) and \
            (previous.get("recbole_command") or [])[4:] == peer_cmd[4:]
        if reuse:
            peer = previous["recbole"]
            print(f"[compare] {m}: reusing RecBole result from {fpath}", file=sys.stderr)
        elif run_peer:
            print(f"[compare] {m}: RecBole {rb} ... ({uptime()})", file=sys.stderr)
            rc, out, err, wall, _ = run_measured(peer_cmd, timeout=args.timeout)
            if rc != 0:
                print(f"[compare] RecBole {rb} failed (rc={rc}):\n{err[-3000:]}", file=sys.stderr)
            else:
                peer = parse_json_doc(out)
                peer["_wall_s"] = round(wall, 2)
        elif args.osusume_only and previous:
            peer = previous.get("recbole")

        osu = None
        osu_cmd = [args.osusume, "evaluate", "--data", args.data, "--format", args.format,
                   "--model", m, "--split", "leave-one-out", "--protocol", "full",
                   "--k", args.k, "--json"]
        for s in sets_for(m, args.osusume_set):
            osu_cmd += ["--set", s]
        if run_osu:
            print(f"[compare] {m}: Osusume ... ({uptime()})", file=sys.stderr)
            rc, out, err, wall, rss = run_measured(osu_cmd, timeout=args.timeout)
            if rc != 0:
                print(f"[compare] Osusume {m} failed (rc={rc}):\n{err[-3000:]}", file=sys.stderr)
            else:
                try:
                    osu = parse_json_doc(out)
                    osu["_wall_s"] = round(wall, 2)
                    osu["_peak_rss_mb"] = round(rss, 1)
                except (ValueError, json.JSONDecodeError) as e:
                    print(f"[compare] Osusume {m}: cannot parse JSON ({e}):\n{out[-2000:]}", file=sys.stderr)
        elif not args.peer_only and previous and previous.get("osusume"):
            osu = None  # binary missing: do not present stale Osusume numbers as current

        # dataset agreement
        warn = []
        if osu and peer:
            od, pd = osu.get("dataset", {}), peer.get("dataset", {})
            for k in ("users", "items", "interactions"):
                if k in od and k in pd and od[k] != pd[k]:
                    warn.append(f"dataset {k} differ: osusume {od[k]} vs recbole {pd[k]}")
        for w_ in warn:
            print(f"[compare] WARNING {m}: {w_}", file=sys.stderr)

        print_table(m, osu, peer)
        diff = {}
        if osu and peer:
            for k in METRICS:
                if k in osu.get("metrics", {}) and k in peer.get("metrics", {}):
                    diff[k] = osu["metrics"][k] - peer["metrics"][k]
        record = {
            "dataset": name,
            "data": os.path.abspath(args.data),
            "model": m,
            "recbole_model": rb,
            "split": "leave-one-out",
            "protocol": "full ranking over all items; history (train+valid) excluded; K=10,20",
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "host": {"machine": platform.machine(), "cpus": os.cpu_count(), "uptime": uptime()},
            "recbole_command": peer_cmd if peer is not None else None,
            "osusume_command": osu_cmd if osu is not None else None,
            "recbole": peer,
            "osusume": osu,
            "diff_osusume_minus_recbole": diff or None,
            "warnings": warn or None,
        }
        if previous and osu is None and previous.get("osusume") and not run_osu:
            record["osusume_previous"] = previous.get("osusume")
        if not args.no_write and (peer or osu):
            with open(fpath, "w") as f:
                json.dump(record, f, indent=1, default=str)
                f.write("\n")
            print(f"[compare] wrote {os.path.relpath(fpath, REPO)}", file=sys.stderr)
        summary.append(record)
    return summary


if __name__ == "__main__":
    main()
