"""Build every zoo model on the meta device and analyse it at its default input, in one process.

Prints per-model build and analysis time and the totals, and writes docs/benchmarks/zoo.md.
Run: .venv/bin/python benchmarks/bench_zoo.py
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

T0 = time.perf_counter()
import torch  # noqa: E402

import convcost  # noqa: E402
from convcost.zoo import build, list_entries  # noqa: E402

IMPORTS = time.perf_counter() - T0
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    lines = [
        "# The whole zoo, built on meta and analysed, in one process",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}. Reproduce: `.venv/bin/python benchmarks/bench_zoo.py`.",
        "",
        "| model | input | build (ms) | analyse (ms) | params | mult-adds | ops |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    total_build = total_analyse = 0.0
    for entry in list_entries():
        t = time.perf_counter()
        model = build(entry)
        built = time.perf_counter() - t
        t = time.perf_counter()
        a = convcost.analyze(model, (1, *entry.default_input))
        analysed = time.perf_counter() - t
        total_build += built
        total_analyse += analysed
        lines.append(f"| {entry.name} | {'×'.join(map(str, entry.default_input))} | "
                     f"{built * 1000:.0f} | {analysed * 1000:.0f} | {a.totals.params:,} | "
                     f"{a.totals.madds:,} | {len(a.rows)} |")
        print(lines[-1], flush=True)
    wall = time.perf_counter() - T0
    lines += ["", f"{len(list_entries())} models: imports {IMPORTS:.2f} s, building "
              f"{total_build:.2f} s, analysing {total_analyse:.2f} s; whole process "
              f"{wall:.2f} s."]
    print(lines[-1])
    out = ROOT / "docs" / "benchmarks" / "zoo.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
