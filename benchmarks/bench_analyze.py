"""Analysis time and memory: convcost against the peers, one fresh process per measurement.

For each model (ResNet-50, MobileNetV2) and input (1×3×224², 1×3×1024², 64×3×224²), every
tool analyses the same CPU model with real weights, built before the clock starts. A worker
process reports the wall time of the analysis call alone and the peak memory it added
(peak RSS during the call minus RSS before it). Each tool's time is the median of up to 5
calls in its process (fewer when calls are slow). convcost's first call in the process is
also shown on its own ("cold").

Run:  .venv/bin/python benchmarks/bench_analyze.py [--models resnet50 mobilenet_v2]
Writes the table to docs/benchmarks/analyze.md as well as printing it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = [(1, 3, 224, 224), (1, 3, 1024, 1024), (64, 3, 224, 224)]
TOOLS = ["convcost", "fvcore", "thop", "ptflops-pytorch", "ptflops-aten", "torchinfo",
         "FlopCounterMode"]
TIMEOUT_S = 600
REPEATS = 5  # per process: the median is reported
BUDGET_S = 20.0  # stop repeating once a tool has spent this long
# The VM's host adds ±50 % noise between processes; fast cells (every tool well under a second)
# are measured in ROUNDS interleaved processes per tool and the median process is reported.
ROUNDS_FAST = 3
FAST_SHAPES = {(1, 3, 224, 224)}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def worker(tool: str, model_name: str, shape: tuple[int, ...]) -> dict[str, object]:
    import torch

    from convcost.zoo import build

    torch.manual_seed(0)
    model = build(model_name, device="cpu").eval()
    x = torch.randn(shape)
    result: dict[str, object] = {}

    def timed(fn):  # type: ignore[no-untyped-def]
        """Median of up to REPEATS calls (fewer when a call is slow), peak memory of the first.

        The cyclic GC fires at unpredictable points and costs ~70 ms on torch's heap, so one
        call per process would measure GC luck as much as the tool."""
        base = _rss_bytes()
        times = []
        while len(times) < REPEATS and sum(times) < BUDGET_S:
            t0 = time.perf_counter()
            value = fn()
            times.append(time.perf_counter() - t0)
            if len(times) == 1:
                peak = max(0, _peak_bytes() - base)
        return value, statistics.median(times), peak

    if tool == "convcost":
        import convcost

        base = _rss_bytes()
        t0 = time.perf_counter()
        convcost.analyze(model, shape)
        cold = time.perf_counter() - t0
        mem_cold = max(0, _peak_bytes() - base)
        a, warm, mem_warm = timed(lambda: convcost.analyze(model, shape))
        result.update(seconds=warm, cold_seconds=cold, peak_bytes=mem_warm,
                      cold_peak_bytes=mem_cold, reported=a.totals.madds,
                      unit="madds")
    elif tool == "fvcore":
        from fvcore.nn import FlopCountAnalysis

        def run() -> int:
            fca = FlopCountAnalysis(model, x)
            fca.unsupported_ops_warnings(False)
            fca.uncalled_modules_warnings(False)
            return int(fca.total())

        value, s, m = timed(run)
        result.update(seconds=s, peak_bytes=m, reported=value, unit="1 per multiply-add")
    elif tool == "thop":
        import thop

        (ops, _params), s, m = timed(lambda: thop.profile(model, inputs=(x,), verbose=False))
        result.update(seconds=s, peak_bytes=m, reported=int(ops), unit="MACs (thop)")
    elif tool.startswith("ptflops"):
        from ptflops import get_model_complexity_info

        backend = tool.split("-")[1]

        def run_pt() -> int:
            macs, _ = get_model_complexity_info(
                model, tuple(shape[1:]), as_strings=False, print_per_layer_stat=False,
                verbose=False, backend=backend, input_constructor=lambda _res: x)
            return int(macs)

        value, s, m = timed(run_pt)
        result.update(seconds=s, peak_bytes=m, reported=value, unit=f"MACs (ptflops {backend})")
    elif tool == "torchinfo":
        from torchinfo import summary

        stats, s, m = timed(lambda: summary(model, input_data=x, verbose=0))
        result.update(seconds=s, peak_bytes=m, reported=int(stats.total_mult_adds),
                      unit="mult-adds (torchinfo)")
    elif tool == "FlopCounterMode":
        from torch.utils.flop_counter import FlopCounterMode

        def run_fc() -> int:
            with torch.no_grad(), FlopCounterMode(display=False) as fc:
                model(x)
            return int(fc.get_total_flops())

        value, s, m = timed(run_fc)
        result.update(seconds=s, peak_bytes=m, reported=value, unit="2 per multiply-add")
    else:
        raise SystemExit(f"unknown tool {tool}")
    return result


def measure(tool: str, model: str, shape: tuple[int, ...]) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--worker", tool, model, *map(str, shape)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S,
                              cwd=ROOT, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {TIMEOUT_S} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": tail[:120]}
    return json.loads(lines[-1])


def fmt_s(v: object) -> str:
    return f"{float(v):.3f}" if isinstance(v, (int, float)) else "—"


def fmt_mb(v: object) -> str:
    return f"{float(v) / 2**20:,.0f}" if isinstance(v, (int, float)) else "—"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["resnet50", "mobilenet_v2"])
    parser.add_argument("--tools", nargs="+", default=TOOLS)
    parser.add_argument("--worker", nargs="+")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "analyze.md"))
    args = parser.parse_args()
    if args.worker:
        tool, model, *dims = args.worker
        print(json.dumps(worker(tool, model, tuple(int(d) for d in dims))))
        return

    import torch

    lines = [
        "# Analysis time and memory: convcost vs the peers",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} "
        f"CPUs, Python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch threads. One fresh process per cell; model built "
        "(CPU, real weights) before the clock; time = median of up to 5 analysis calls (fewer "
        "when slow); at 1×3×224² the tools run in 3 interleaved rounds of processes and the "
        "median process is shown; memory = peak RSS added during the first call. Reproduce: "
        "`.venv/bin/python benchmarks/bench_analyze.py`.",
        "",
        "| model | input | tool | time (s) | × convcost | peak added (MiB) | reported | unit |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    summary: dict[tuple[str, str], dict[str, object]] = {}
    for model in args.models:
        for shape in SIZES:
            label = "×".join(map(str, shape))
            base: float | None = None
            rounds = ROUNDS_FAST if shape in FAST_SHAPES else 1
            trials: dict[str, list[dict[str, object]]] = {t: [] for t in args.tools}
            for _ in range(rounds):
                for tool in args.tools:
                    trials[tool].append(measure(tool, model, shape))
            for tool in args.tools:
                ok = [t for t in trials[tool] if "error" not in t]
                r = (sorted(ok, key=lambda t: float(t["seconds"]))[len(ok) // 2]  # type: ignore[arg-type]
                     if ok else trials[tool][0])
                summary[(model + " " + label, tool)] = r
                if "error" in r:
                    lines.append(f"| {model} | {label} | {tool} | — | — | — | "
                                 f"{r['error']} | |")
                    print(lines[-1], flush=True)
                    continue
                secs = float(r["seconds"])  # type: ignore[arg-type]
                if tool == "convcost":
                    base = secs
                    lines.append(f"| {model} | {label} | convcost (cold: first call) | "
                                 f"{fmt_s(r['cold_seconds'])} | | "
                                 f"{fmt_mb(r['cold_peak_bytes'])} | | |")
                    print(lines[-1], flush=True)
                ratio = f"{secs / base:.1f}×" if base else "—"
                name = "convcost (warm)" if tool == "convcost" else tool
                lines.append(f"| {model} | {label} | {name} | {fmt_s(secs)} | {ratio} | "
                             f"{fmt_mb(r['peak_bytes'])} | {r['reported']:,} | {r['unit']} |")
                print(lines[-1], flush=True)
    lines += ["", "## Targets", ""]
    for model in args.models:
        rows = {s: summary.get((f"{model} {'×'.join(map(str, s))}", "convcost"), {})
                for s in SIZES}
        if any("error" in r or not r for r in rows.values()):
            continue
        t224, t1024, t64 = (float(rows[s]["seconds"]) for s in SIZES)  # type: ignore[arg-type]
        slower_peers = [
            (t, s) for s in SIZES for t in args.tools if t != "convcost"
            and "error" not in summary[(f"{model} {'×'.join(map(str, s))}", t)]
            and float(summary[(f"{model} {'×'.join(map(str, s))}", t)]["seconds"])  # type: ignore[arg-type]
            <= float(rows[s]["seconds"])  # type: ignore[arg-type]
        ]
        lines.append(
            f"- {model}: warm 224² {t224 * 1000:.0f} ms, 1024² {t1024 * 1000:.0f} ms "
            f"({t1024 / t224:.2f}× of 224²), batch 64 {t64 * 1000:.0f} ms "
            f"({t64 / t224:.2f}×); peers as fast or faster: {slower_peers or 'none'}")
    text = "\n".join(lines) + "\n"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print("\n".join(lines[-len(args.models) - 1:]))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
