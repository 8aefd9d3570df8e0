"""Whole-process time of ``convcost ratio`` against the peers answering the same question.

The question: the cost of a 3×3 conv 512→512 on 14×14 and of its depthwise-separable
replacement (expected 462,422,016 and 903,168 + 51,380,224 = 52,283,392 multiply-adds).
Each command runs in a fresh process, 7 times; the table shows median / min / max wall time.
``import torch`` alone is the floor any torch-based tool pays.

Run: .venv/bin/python benchmarks/bench_ratio_startup.py   (writes docs/benchmarks/ratio_startup.md)
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 7
TARGET_S = 0.5

LAYERS = """
import torch
from torch import nn
std = nn.Conv2d(512, 512, 3, padding=1, bias=False)
sep = nn.Sequential(nn.Conv2d(512, 512, 3, padding=1, groups=512, bias=False),
                    nn.Conv2d(512, 512, 1, bias=False))
x = torch.randn(1, 512, 14, 14)
"""

TOOLS: dict[str, list[str]] = {
    "convcost ratio": [sys.executable, "-m", "convcost", "ratio", "--cin", "512", "--cout",
                       "512", "--kernel", "3", "--size", "14", "--format", "json"],
    "python -c 'import torch' (floor)": [sys.executable, "-c", "import torch"],
    "thop": [sys.executable, "-c", LAYERS + """
import thop
a = thop.profile(std, inputs=(x,), verbose=False)[0]
b = thop.profile(sep, inputs=(x,), verbose=False)[0]
print(int(a), int(b))
"""],
    "fvcore": [sys.executable, "-c", LAYERS + """
from fvcore.nn import FlopCountAnalysis
print(FlopCountAnalysis(std, x).total(), FlopCountAnalysis(sep, x).total())
"""],
    "ptflops (pytorch)": [sys.executable, "-c", LAYERS + """
from ptflops import get_model_complexity_info
f = lambda m: get_model_complexity_info(m, (512, 14, 14), as_strings=False,
                                        print_per_layer_stat=False, verbose=False)[0]
print(int(f(std)), int(f(sep)))
"""],
    "torchinfo": [sys.executable, "-c", LAYERS + """
from torchinfo import summary
print(summary(std, input_data=x, verbose=0).total_mult_adds,
      summary(sep, input_data=x, verbose=0).total_mult_adds)
"""],
}


def run(cmd: list[str]) -> tuple[list[float], str]:
    times, out = [], ""
    for _ in range(RUNS):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            return times, "error: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:80]
        out = proc.stdout
    return times, out


def reported(name: str, out: str) -> str:
    if out.startswith("error"):
        return out
    if name.startswith("convcost"):
        import json

        d = json.loads(out)
        return f"{d['standard']['madds']:,} / {d['depthwise_separable']['madds']:,}"
    parts = out.split()
    return " / ".join(f"{int(float(p)):,}" for p in parts) if parts else "—"


def main() -> None:
    import torch

    rows = []
    base = None
    for name, cmd in TOOLS.items():
        times, out = run(cmd)
        med = statistics.median(times)
        base = base or med
        rows.append((name, med, min(times), max(times), med / base, reported(name, out)))
        print(f"{name:34s} median {med:.3f} s  (min {min(times):.3f}, max {max(times):.3f})  "
              f"{med / base:.1f}× convcost  {rows[-1][5]}", flush=True)
    lines = [
        "# `convcost ratio`: whole-process time",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, torch {torch.__version__}; {RUNS} fresh processes "
        "per row. Question: a 3×3 conv 512→512 on 14×14 vs its depthwise-separable pair "
        "(expected 462,422,016 / 52,283,392 multiply-adds). Reproduce: "
        "`.venv/bin/python benchmarks/bench_ratio_startup.py`.",
        "",
        "| command | median (s) | min | max | × convcost | reported (standard / separable) |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
        *(f"| {n} | {m:.3f} | {lo:.3f} | {hi:.3f} | {r:.1f}× | {rep} |"
          for n, m, lo, hi, r, rep in rows),
        "",
        f"Target: `convcost ratio` under {TARGET_S} s: "
        f"{'met' if rows[0][1] < TARGET_S else 'NOT met'} ({rows[0][1]:.3f} s). It never "
        "imports torch.",
    ]
    out = ROOT / "docs" / "benchmarks" / "ratio_startup.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(lines[-1])


if __name__ == "__main__":
    main()
