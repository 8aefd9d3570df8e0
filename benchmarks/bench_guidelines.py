"""ShuffleNetV2's Tables 1-4 reproduced on this machine, and the audit of four zoo models.

Times all 51 micro-benchmark networks (``convcost.latency.shufflenet_experiments``), prints
progress, and writes docs/benchmarks/guidelines.md: every table beside the paper's figures,
normalised to the table's first row, with the trend of each table.

Run: .venv/bin/python benchmarks/bench_guidelines.py [--rounds 3] [--budget 0.15] [--threads 1]
     [--widths cpu|gpu]
About 1.5-2 min on a 2-core CPU with the defaults (3 rounds × 51 networks × ≥ 5 runs);
run it on a quiet machine: other processes only add time, and the best of the interleaved
rounds is kept to blunt that, but a busy machine still skews the small networks.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

import convcost
from convcost.engine.guidelines import audit
from convcost.latency.calibrate import machine_name
from convcost.latency.shufflenet_experiments import reproduce
from convcost.report import tables
from convcost.report.guidelines import reproduction_tables, verdict_sentences

ROOT = Path(__file__).resolve().parents[1]
AUDITED = ("mobilenet_v2", "shufflenet_v1:groups=8", "shufflenet_v2", "resnet50")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--budget", type=float, default=0.15, help="timed s per network and round")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--widths", choices=("cpu", "gpu"), default="cpu")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "guidelines.md")
    args = ap.parse_args()

    start = time.perf_counter()
    load_before = os.getloadavg()[0]

    def progress(done: int, total: int, label: str) -> None:
        print(f"[{done + 1}/{total}] {label}", file=sys.stderr, flush=True)

    rep = reproduce(widths=args.widths, threads=args.threads, budget_s=args.budget,
                    rounds=args.rounds, progress=progress)
    lines = [
        "# ShuffleNetV2's guidelines: Tables 1-4 reproduced here, and the audit",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {machine_name()} ({platform.machine()}, "
        f"{os.cpu_count()} CPUs), torch {torch.__version__}, {rep.threads} thread(s), batch "
        f"{rep.batch}, best of {rep.rounds} interleaved rounds of {rep.budget_s:g} s per "
        f"network. Reproduce: `.venv/bin/python benchmarks/bench_guidelines.py` "
        f"(this run: {time.perf_counter() - start:.0f} s), or "
        "`convcost guidelines --reproduce`.",
        "",
        f"Load average (1 min) before / after the run: {load_before:.1f} / "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs. With a load above the CPU "
        "count the trends below are not trustworthy: rerun on a quiet machine.",
        "",
        "Each speed is divided by the first row of its table at the same size, here and in "
        "the paper (GPU: GTX 1080Ti, batches/s at batch 8; ARM: Snapdragon 810, images/s at "
        "batch 1), so only the trends compare. Networks and widths: "
        "`convcost/latency/shufflenet_experiments.py`; metric definitions: "
        "`docs/guidelines.md`.",
        "",
    ]
    for t in reproduction_tables(rep):
        lines.append(tables.to_markdown(t))
    lines += audit_section()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s", file=sys.stderr)


AUDIT_HEADING = "## The audit on four zoo models (`convcost guidelines MODEL`)"


def audit_section() -> list[str]:
    """The verdicts of the analytic audit (no timing) on the zoo models of :data:`AUDITED`."""
    lines = [AUDIT_HEADING, ""]
    for spec in AUDITED:
        a = convcost.analyze(spec)
        result = audit(a.rows, modules=a.evaluation.modules)
        sentences = verdict_sentences(result.verdicts).values()
        lines += [f"**{spec}**", ""] + [f"- {v}" for v in sentences] + [""]
    return lines


if __name__ == "__main__":
    main()
