"""Is ``convcost calibrate`` repeatable? Calibrate this machine ``--repeats`` times in a row
and compare every constant across the calibrations.

Each calibration is ``convcost calibrate --force --format json`` run as a process of its own,
as a user runs it (every micro-benchmark network in interleaved rounds, the sanity checks,
re-measurement), with a cache folder of its own so the user's cache is not touched. The
target (issue 16): on a quiet machine, two calibrations agree within 10 % per constant. The
1-minute load average is recorded before and after each calibration: on a busy machine the
spread is the load's, not the method's.

Run:  .venv/bin/python benchmarks/bench_latency_calibration.py [--threads N] [--repeats K]
Writes docs/benchmarks/latency_calibration.md and latency_calibration.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "docs" / "benchmarks"
TARGET = 0.10


def load() -> float:
    """The 1-minute load average (nan where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def constants(cal: Any) -> dict[str, tuple[float, str]]:
    """Every constant people read, by name: (value, unit)."""
    return {name: (value, unit) for name, value, unit in cal.describe()}


def main() -> None:
    import subprocess
    import tempfile

    import torch

    from convcost.latency.calibrate import machine_name
    from convcost.latency.heap import HEAPS
    from convcost.latency.roofline import Calibration

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--heap", choices=HEAPS, default="warm",
                        help="convcost calibrate --heap (convcost.latency.heap)")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args()

    exe = Path(sys.executable).with_name("convcost")
    runs: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for i in range(args.repeats):
        before = load()
        t = time.perf_counter()
        with tempfile.TemporaryDirectory() as cache:
            proc = subprocess.run(
                [str(exe), "calibrate", "--force", "--threads", str(args.threads), "--heap",
                 args.heap, "--format", "json"], capture_output=True, text=True, check=False,
                env={**os.environ, "XDG_CACHE_HOME": cache})
        if proc.returncode != 0:
            sys.exit(f"calibration {i + 1} failed: {proc.stderr.strip()}")
        data = json.loads(proc.stdout)
        cal = Calibration.from_dict(data)
        runs.append({"load": [before, load()], "seconds": time.perf_counter() - t,
                     "attempts": cal.attempts, "constants": constants(cal),
                     "noise": cal.noise, "calibration": cal.to_dict()})
        print(f"calibration {i + 1}: {runs[-1]['seconds']:.1f} s, {cal.attempts} "
              f"measurement(s), load {before:.2f} -> {load():.2f}", file=sys.stderr, flush=True)
    names = list(runs[0]["constants"])
    rows = []
    for name in names:
        values = [r["constants"][name][0] for r in runs]
        finite = [v for v in values if v not in (0.0, float("inf"))]
        spread = max(finite) / min(finite) - 1 if finite and min(finite) > 0 else 0.0
        rows.append({"constant": name, "unit": runs[0]["constants"][name][1], "values": values,
                     "spread": spread})
    worst = max(rows, key=lambda r: r["spread"])
    within = sum(r["spread"] <= TARGET for r in rows)
    meta = {"date": time.strftime("%Y-%m-%d"), "machine": machine_name("cpu"),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "threads": args.threads, "repeats": args.repeats,
            "heap": args.heap,
            "wall_s": time.perf_counter() - t0}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "latency_calibration.json").write_text(json.dumps(
        {"meta": meta, "runs": runs, "rows": rows}, indent=1) + "\n")
    loads = ", ".join(f"{r['load'][0]:.2f} → {r['load'][1]:.2f}" for r in runs)
    lines = [
        "# Calibration repeatability",
        "",
        f"Measured {meta['date']} on {meta['machine']} ({meta['cpus']} CPUs), Python "
        f"{meta['python']}, torch {meta['torch']}, **torch threads: {meta['threads']}, heap: "
        f"{meta['heap']}**: "
        f"{args.repeats} runs of `convcost calibrate --force` in a row, each a process of "
        "its own (every micro-benchmark network in 3 interleaved rounds of 0.1 s, the lowest "
        "of the rounds' robust medians, sanity checks). **Load average (1 min) before → "
        f"after each: {loads}.** "
        f"Wall time {meta['wall_s']:.0f} s. Reproduce: "
        "`.venv/bin/python benchmarks/bench_latency_calibration.py`.",
        "",
        f"**{within} of {len(rows)} constants agree within ±{TARGET:.0%}** across the "
        f"calibrations; the widest spread is {worst['spread']:.1%} ({worst['constant']}).",
        "",
        "| constant | " + " | ".join(f"run {i + 1}" for i in range(args.repeats))
        + " | spread |",
        "| --- | " + " | ".join("---:" for _ in range(args.repeats)) + " | ---: |",
    ]
    for r in rows:
        lines.append(f"| {r['constant']} ({r['unit']}) | "
                     + " | ".join(f"{v:,.3f}" for v in r["values"])
                     + f" | {r['spread']:.1%} |")
    lines.append("")
    text = "\n".join(lines)
    (args.out_dir / "latency_calibration.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
