"""``convcost check`` over the third-party corpus and the peers' own test cases: models × peers,
unexplained differences (the target is 0 everywhere), crashes, time.

The corpus (``tests/check_corpus.py``): the 181 models of ``tests/corpus`` built on the CPU
(pytorchcv, efficientnet-pytorch at their own size within a budget of multiply-adds;
transformers from small configs), each through ``convcost.crosscheck`` against the real run,
fvcore, thop, ptflops (both backends), torchinfo and FlopCounterMode, one thread each. Then
the cases rebuilt from the peers' own test suites (``tests/test_check_upstream.py``).

Run:  .venv/bin/python benchmarks/bench_check_corpus.py [--only NAME ...] [--fast] [--jobs N]
          [--json PATH] [--no-write]
Writes docs/benchmarks/check_corpus.md (whole runs only) as well as printing each row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

OUT = ROOT / "docs" / "benchmarks" / "check_corpus.md"
PEERS = ("real", "fvcore", "thop", "ptflops-pytorch", "ptflops-aten", "torchinfo",
         "torch-flopcounter")


def _summary(checked: Any) -> dict[str, Any]:
    """One model's outcome as plain data."""
    e = checked.entry
    row: dict[str, Any] = {"name": e.name, "family": e.family, "spec": checked.spec,
                           "seconds": round(checked.seconds, 2),
                           "build_seconds": round(checked.build_seconds, 2),
                           "error": checked.error, "note": e.note, "peers": {}}
    cc = checked.result
    if cc is not None:
        row["analysed_on"] = cc.device
        for p in cc.peers:
            bad = [c.to_dict() for c in (*p.totals, *p.layers) if not c.explained]
            row["peers"][p.peer] = {
                "status": p.status, "unexplained": p.unexplained, "message": p.message,
                "layers": len(p.layers), "rules": sorted({r for c in p.totals
                                                          for r in c.rules}),
                "bad": bad[:5]}
    return row


def _run_one(name: str, upstream: bool) -> dict[str, Any]:
    if upstream:
        from test_check_upstream import CASES, run_case

        return run_case(CASES[name])
    from check_corpus import check_entry, run_check

    return _summary(run_check(check_entry(name)))


def _worker(names: list[str], upstream: bool, path: str) -> None:
    import torch

    torch.set_num_threads(1)
    with open(path, "a", encoding="utf-8") as out:
        for name in names:
            row = _run_one(name, upstream)
            out.write(json.dumps(row, default=str) + "\n")
            out.flush()


def _parallel(names: list[str], upstream: bool, jobs: int) -> list[dict[str, Any]]:
    """Each corpus model in a fresh worker process (a model's import-time state and memory
    stay there), the small upstream cases in ``jobs`` shared workers, ``jobs`` processes at a
    time; rows come back in the given order."""
    rows: dict[str, dict[str, Any]] = {}
    groups = [names[i::jobs] for i in range(jobs)] if upstream else [[n] for n in names]
    with tempfile.TemporaryDirectory() as tmp:
        pending = [g for g in groups if g]
        running: list[tuple[subprocess.Popen[bytes], list[str], str]] = []
        while pending or running:
            while pending and len(running) < jobs:
                group = pending.pop(0)
                path = os.path.join(tmp, f"{len(rows) + len(running)}-{len(pending)}.jsonl")
                cmd = [sys.executable, __file__, "--worker", "--json", path, "--only", *group]
                if upstream:
                    cmd.append("--upstream")
                running.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.DEVNULL), group, path))
            time.sleep(0.2)
            for proc, group, path in list(running):
                if proc.poll() is None:
                    continue
                running.remove((proc, group, path))
                got = Path(path).read_text(encoding="utf-8").splitlines() \
                    if Path(path).exists() else []
                done = {r["name"]: r for r in map(json.loads, got)}
                for name in group:
                    row = done.get(name) or {
                        "name": name, "error": f"worker exited with {proc.returncode}",
                        "peers": {}, "seconds": 0.0}
                    rows[name] = row
                    _print(row)
    return [rows[n] for n in names]


def _print(row: dict[str, Any]) -> None:
    peers = row.get("peers", {})
    bad = {p: v["unexplained"] for p, v in peers.items() if v["unexplained"]}
    failed = [p for p, v in peers.items() if v["status"] == "failed"]
    print(f"{row['name']:<32} {row.get('seconds', 0):7.1f}s  unexplained={bad or 0} "
          f"failed={failed or 0}" + (f"  ERROR {row['error'][:120]}" if row.get("error")
                                     else ""), flush=True)


def _cell(row: dict[str, Any], peer: str) -> str:
    p = row.get("peers", {}).get(peer)
    if p is None:
        return "—"
    if p["status"] == "skipped":
        return "skipped"
    if p["status"] == "failed":
        return "**failed**"
    mark = "raises (predicted)" if p["status"] == "raised" else str(p["unexplained"])
    return mark if not p["unexplained"] else f"**{p['unexplained']}**"


# what a rule says about the peer's number, for the "what each peer misses" table
RAISES = {"fvcore-trace-outputs", "fvcore-module-in-autograd-function",
          "fvcore-matmul-vector-operand", "thop-hook-tensor-input",
          "ptflops-mha-three-positional-inputs", "torchinfo-unsupported-output"}
MISSES = {"fvcore-sdpa-unsupported", "fvcore-fused-kernels", "fvcore-recurrent-unsupported",
          "fvcore-no-handle", "fvcore-dead-code", "fvcore-autograd-function-opaque",
          "fvcore-conv-padding-mode", "fvcore-matmul-first-operand", "thop-unhooked-products",
          "thop-einsum-two-operands", "ptflops-unhooked-products", "ptflops-aten-unmapped-op",
          "torchinfo-leaf-modules-only", "torchinfo-linear-leading-dims",
          "flopcounter-cpu-sdpa-zero", "flopcounter-unregistered-op"}


def misses_table(rows: list[dict[str, Any]]) -> str:
    """Per peer, each rule that moved its figures on some model, and on how many models."""
    from convcost.oracles.conventions import RULES

    lines = ["| peer | rule | models | kind | what the peer does |",
             "| --- | --- | ---: | --- | --- |"]
    for peer in PEERS[1:]:
        seen = Counter(rule for r in rows for rule in r.get("peers", {}).get(peer, {})
                       .get("rules", []))
        for rule, n in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0])):
            kind = ("raises" if rule in RAISES else "**misses** products" if rule in MISSES
                    else "counts otherwise")
            what = RULES[rule].description if rule in RULES else ""
            lines.append(f"| {peer} | `{rule}` | {n} | {kind} | {what.replace('|', '/')} |")
    return "\n".join(lines)


def _markdown(rows: list[dict[str, Any]], up: list[dict[str, Any]], wall: float,
              jobs: int) -> str:
    import torch

    def v(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "not installed"

    lines = ["# `convcost check` over the third-party corpus and the peers' own test cases", "",
             f"Measured {date.today().isoformat()} on {platform.machine()}, "
             f"{os.cpu_count()} CPUs, Python {platform.python_version()}, torch "
             f"{torch.__version__}, fvcore {v('fvcore')}, ultralytics-thop "
             f"{v('ultralytics-thop')}, ptflops {v('ptflops')}, torchinfo {v('torchinfo')}; "
             f"one torch thread per check, {jobs} checks at a time. Reproduce: "
             "`.venv/bin/python benchmarks/bench_check_corpus.py`.", "",
             "Each model is built on the CPU with random weights (`tests/check_corpus.py`: the "
             "181 models of `tests/corpus`; pytorchcv and efficientnet-pytorch at their own "
             "resolution unless that is above 2 G multiply-adds, transformers from small "
             "configs with the corpus's inputs and cache modes) and checked with "
             "`convcost.crosscheck(model, inputs=..., kwargs=...)`: convcost predicts, from its "
             "own rows and each peer's adapter, what every peer reports, in total and per "
             "layer; a difference no named rule explains is *unexplained*. A cell is the "
             "number of unexplained comparisons for that peer (0 is the target); *raises "
             "(predicted)*: the peer raises on that model, as its adapter predicts, by a named "
             "rule; **failed**: it raised unpredicted (a crash).", ""]
    for title, items in (("Corpus", rows), ("Cases from the peers' own test suites", up)):
        if not items:
            continue
        unexplained = sum(p["unexplained"] for r in items for p in r.get("peers", {}).values())
        failed = sum(p["status"] == "failed" for r in items for p in r.get("peers", {}).values())
        crashes = sum(bool(r.get("error")) for r in items)
        raised = Counter(p for r in items for p, d in r.get("peers", {}).items()
                         if d["status"] == "raised")
        seconds = sum(r.get("seconds", 0.0) for r in items)
        lines += [f"## {title}", "",
                  f"- **{len(items)} models × {len(PEERS)} peers**: **{unexplained} "
                  f"unexplained**, {failed} peer failures, {crashes} crashes of the check.",
                  "- peers that raise as predicted: "
                  + (", ".join(f"{p} on {n}" for p, n in sorted(raised.items())) or "none")
                  + ".",
                  f"- time: checks {seconds:.0f} s in all (median "
                  f"{sorted(r.get('seconds', 0) for r in items)[len(items) // 2]:.1f} s, "
                  f"slowest {max(items, key=lambda r: r.get('seconds', 0))['name']} "
                  f"{max(r.get('seconds', 0) for r in items):.1f} s).", "",
                  "| model | family | input | " + " | ".join(PEERS) + " | s | note |",
                  "| --- | --- | --- | " + " | ".join("---:" for _ in PEERS) + " | ---: | --- |"]
        for r in items:
            note = r.get("error") or r.get("note") or ""
            note = " ".join(str(note).split())[:160].replace("|", "\\|")
            lines.append(f"| {r['name']} | {r.get('family', '')} | {r.get('spec', '')} | "
                         + " | ".join(_cell(r, p) for p in PEERS)
                         + f" | {r.get('seconds', 0):.1f} | {note} |")
        lines.append("")
    lines += ["## What each peer misses, on this corpus", "",
              "Each rule that moved a peer's figures away from the multiply-adds on at least "
              "one corpus model (its total, or a predicted failure), and on how many models.",
              "", misses_table(rows), "", f"Whole run: {wall:.0f} s wall.", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--fast", action="store_true", help="the fast subset only")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", default=None)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--upstream", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--skip-upstream", action="store_true")
    args = ap.parse_args()
    if args.worker:
        _worker(args.only or [], args.upstream, args.json)
        return 0
    from check_corpus import CHECK_CORPUS
    from test_check_upstream import CASES

    start = time.perf_counter()
    names = [e.name for e in CHECK_CORPUS if (not args.fast or e.fast)
             and (args.only is None or e.name in args.only)]
    rows = _parallel(names, False, args.jobs)
    up_names = [] if args.skip_upstream else [n for n in CASES
                                              if args.only is None or n in args.only]
    up = _parallel(up_names, True, args.jobs)
    wall = time.perf_counter() - start
    if args.json:
        Path(args.json).write_text(json.dumps({"corpus": rows, "upstream": up}, indent=1,
                                              default=str), encoding="utf-8")
    whole = args.only is None and not args.fast and not args.skip_upstream
    if whole and not args.no_write:
        OUT.write_text(_markdown(rows, up, wall, args.jobs), encoding="utf-8")
        print(f"wrote {OUT.relative_to(ROOT)}")
    bad = sum(p["unexplained"] + (p["status"] == "failed") for r in rows + up
              for p in r.get("peers", {}).values()) + sum(bool(r.get("error"))
                                                          for r in rows + up)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
