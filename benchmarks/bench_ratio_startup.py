"""Whole-process wall time of ``convcost ratio`` against the peers answering the same question.

The question: the multiply-adds of a 3×3 conv 512→512 on 14×14 (462,422,016) and of its
depthwise-separable replacement (3×3 depthwise 903,168 + 1×1 pointwise 51,380,224 =
52,283,392). Every row is a fresh ``subprocess.run([sys.executable, ...])``, timed from launch
to exit, ``--runs`` times (default 7), the rows interleaved round by round so that machine
drift hits every row alike. ``import torch`` alone is the floor any torch-based tool pays.
Each peer's answer is checked against the expected numbers; a different answer is printed.

Run: .venv/bin/python benchmarks/bench_ratio_startup.py   (writes docs/benchmarks/ratio_startup.md)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "benchmarks" / "ratio_startup.md"
TARGET_S = 0.5
STANDARD = 462_422_016  # 14·14·512·512·9
DEPTHWISE = 903_168  # 14·14·512·9
POINTWISE = 51_380_224  # 14·14·512·512
SEPARABLE = DEPTHWISE + POINTWISE  # 52,283,392

CONVCOST_ARGS = ["ratio", "--cin", "512", "--cout", "512", "--kernel", "3", "--size", "14",
                 "--format", "json"]

# the layers every peer is given: bias-free, batch 1, float32 on the CPU
LAYERS = """
import json, logging, warnings
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
import torch
from torch import nn
std = nn.Conv2d(512, 512, 3, padding=1, bias=False).eval()
sep = nn.Sequential(nn.Conv2d(512, 512, 3, padding=1, groups=512, bias=False),
                    nn.Conv2d(512, 512, 1, bias=False)).eval()
x = torch.randn(1, 512, 14, 14)
"""

PEERS: dict[str, tuple[str, str]] = {
    # name: (how it reports, code printing a JSON [standard, separable] as its last line)
    "thop": ("`profile()[0]`, 1 per multiply-add (\"MACs\")", """
from thop import profile
f = lambda m: profile(m, inputs=(x,), verbose=False)[0]
print(json.dumps([f(std), f(sep)]))
"""),
    "fvcore": ("`FlopCountAnalysis.total()`, 1 per multiply-add", """
from fvcore.nn import FlopCountAnalysis
def f(m):
    a = FlopCountAnalysis(m, x)
    a.unsupported_ops_warnings(False)
    return a.total()
print(json.dumps([f(std), f(sep)]))
"""),
    "ptflops (pytorch backend)": ("`get_model_complexity_info()[0]`, \"MACs\" per image", """
from ptflops import get_model_complexity_info
f = lambda m: get_model_complexity_info(m, (512, 14, 14), backend="pytorch",
                                        print_per_layer_stat=False, as_strings=False,
                                        verbose=False)[0]
print(json.dumps([f(std), f(sep)]))
"""),
    "torchinfo": ("`summary().total_mult_adds`, \"Mult-Adds\"", """
from torchinfo import summary
f = lambda m: summary(m, input_data=x, verbose=0).total_mult_adds
print(json.dumps([f(std), f(sep)]))
"""),
}


@dataclass
class Row:
    name: str
    short: str  # label in the progress lines
    cmd: list[str]
    how: str = ""
    times: list[float] = field(default_factory=list)
    reported: str = "—"
    ok: bool | None = None  # None: nothing to check (the import-only floor)
    error: str = ""


def build_rows() -> list[Row]:
    exe = sys.executable
    rows = [
        Row("convcost ratio", "convcost", [exe, "-m", "convcost", *CONVCOST_ARGS],
            "`madds` (JSON)"),
        Row("`import torch` (floor)", "torch", [exe, "-c", "import torch"]),
    ]
    for name, (how, code) in PEERS.items():
        rows.append(Row(name, name.split()[0], [exe, "-c", LAYERS + code], how))
    return rows


def parse(row: Row, stdout: str) -> None:
    """Fill ``row.reported`` / ``row.ok`` from the process's stdout."""
    if row.name.startswith("convcost"):
        d = json.loads(stdout)
        std = d["standard"]["madds"]
        parts = [p["madds"] for p in d["depthwise_separable"]["parts"]]
        sep = d["depthwise_separable"]["madds"]
        row.ok = (std, sep, parts) == (STANDARD, SEPARABLE, [DEPTHWISE, POINTWISE])
        row.reported = f"{std:,} / {sep:,} ({' + '.join(f'{p:,}' for p in parts)})"
        return
    if not row.how:
        return
    lines = stdout.strip().splitlines()
    std, sep = (float(v) for v in json.loads(lines[-1]))
    row.ok = (std, sep) == (STANDARD, SEPARABLE)
    row.reported = f"{std:,.0f} / {sep:,.0f}"
    if not row.ok:
        row.reported += f" (expected {STANDARD:,} / {SEPARABLE:,})"


def run_once(row: Row) -> None:
    t0 = time.perf_counter()
    proc = subprocess.run(row.cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    row.times.append(time.perf_counter() - t0)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        row.error = f"exit {proc.returncode}: {last[:100]}"
        row.ok = False
    elif row.reported == "—":
        try:
            parse(row, proc.stdout)
        except (ValueError, KeyError, IndexError) as exc:
            row.error = f"unreadable output ({exc}): {proc.stdout.strip()[-100:]!r}"
            row.ok = False


def nproc() -> str:
    exe = shutil.which("nproc")
    if exe:
        return subprocess.run([exe], capture_output=True, text=True, check=False).stdout.strip()
    return str(len(os.sched_getaffinity(0)))


def loadavg() -> str:
    try:
        return "{:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())
    except OSError:
        return "n/a"


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def render(rows: list[Row], runs: int, wall: float, load: str) -> list[str]:
    base = statistics.median(rows[0].times)
    convcost_s = base
    met = convcost_s < TARGET_S and rows[0].ok
    peers = ", ".join(f"{d} {version(d)}" for d in ("ultralytics-thop", "fvcore", "ptflops",
                                                    "torchinfo"))
    lines = [
        "# `convcost ratio`: whole-process wall time vs the peers",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} "
        f"({platform.system()}), `nproc` = {nproc()}, Python {platform.python_version()}, "
        f"torch {version('torch')}; {peers}. `OMP_NUM_THREADS` = "
        f"{os.environ.get('OMP_NUM_THREADS', 'unset (library default)')}; load average "
        f"before / after the run: {load} (other work on the machine shows up as spread).",
        "",
        "Question: a 3×3 conv 512→512 on 1×512×14×14 (no bias) vs its depthwise-separable "
        f"pair; expected {STANDARD:,} / {SEPARABLE:,} multiply-adds "
        f"({DEPTHWISE:,} depthwise + {POINTWISE:,} pointwise). Each row is a fresh "
        f"`subprocess.run([sys.executable, ...])` timed from launch to exit, {runs} "
        f"run{'s' if runs > 1 else ''} per row, rows interleaved round by round. The peers "
        "build the real modules and run them on a random input; `import torch` alone is the "
        "floor every torch-based tool pays. "
        "convcost runs `python -m convcost "
        + " ".join(CONVCOST_ARGS) + "` and never imports torch.",
        "",
        "Reproduce: `.venv/bin/python benchmarks/bench_ratio_startup.py` "
        f"(this run took {wall:.0f} s).",
        "",
        "| tool | median (s) | min | max | × convcost | reported standard / separable | "
        "as expected | how it reports |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for r in rows:
        med = statistics.median(r.times)
        check = {True: "yes", False: "**no**", None: ""}[r.ok]
        rep = r.error or r.reported
        lines.append(f"| {r.name} | {med:.3f} | {min(r.times):.3f} | {max(r.times):.3f} | "
                     f"{med / base:.1f}× | {rep} | {check} | {r.how} |")
    lines += [
        "",
        f"Target: `convcost ratio` answers in under {TARGET_S} s (whole process): "
        f"**{'met' if met else 'NOT met'}** (median {convcost_s:.3f} s).",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="processes per row (default 7)")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {OUT.name}")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    load_before = loadavg()
    start = time.perf_counter()
    rows = build_rows()
    for i in range(args.runs):
        for row in rows:
            run_once(row)
        print(f"round {i + 1}/{args.runs}: "
              + ", ".join(f"{r.short} {r.times[-1]:.2f}s" for r in rows), flush=True)
    wall = time.perf_counter() - start

    lines = render(rows, args.runs, wall, f"{load_before} / {loadavg()}")
    print("\n".join(lines))
    if not args.no_write:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"\nwrote {OUT.relative_to(ROOT)}")
    ok = rows[0].ok and statistics.median(rows[0].times) < TARGET_S
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
