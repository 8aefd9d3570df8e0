"""Predicted vs measured latency across the zoo: convcost's roofline against multiply-adds.

Every zoo model is built with random weights and timed at 1×3×224×224 on the CPU (eval mode,
``torch.inference_mode``, threads pinned) with ``convcost.latency.measure_model``: warm-up,
then timed runs for ``--budget`` seconds (at least 5). The zoo is timed ``--rounds`` times,
interleaved, and each model keeps its round with the lowest median (other processes only
ever add time). The roofline is calibrated by ``convcost calibrate``'s micro-benchmark,
measured afresh before and after the zoo (each constant from the faster of the two), and the
result is written to the user's calibration cache, so ``convcost bench --predict`` agrees.

Two predictors, each mapped to milliseconds by the same two-parameter fit
(``convcost.latency.fit.fit_relative``: ``ms = a·x + b`` minimising squared relative error):
- baseline: x = the model's multiply-adds;
- convcost: x = the calibrated roofline's sum over the model's ops (also shown unfitted,
  straight from the calibration).
Scores: Spearman rank correlation with the measured medians, and the share of models
predicted within ±25 %, in-sample and leave-one-out (the fit redone without the model).

Run:  .venv/bin/python benchmarks/bench_latency_model.py [--threads N] [--budget S]
Writes docs/benchmarks/latency.md, latency.json, latency_madds.png, latency_predicted.png.
``--reuse`` redoes the fits, table and plots from latency.json without timing anything.
On an idle 2-core machine the default run takes about 3 minutes.
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
SHAPE = (1, 3, 224, 224)
TOLERANCE = 0.25


def measure_zoo(names: list[str], threads: int, budget: float, rounds: int) -> dict[str, Any]:
    import torch

    from convcost.latency.measure import measure_model
    from convcost.zoo import build

    best: dict[str, Any] = {}
    for r in range(rounds):
        for name in names:
            torch.manual_seed(0)
            model = build(name, device="cpu")
            m = measure_model(model, SHAPE, threads=threads, warmup=2, min_runs=5,
                              max_runs=200, budget_s=budget)
            del model
            rec = m.to_dict()
            rec.pop("times_ms")
            if name not in best or rec["median_ms"] < best[name]["median_ms"]:
                best[name] = rec
            print(f"round {r + 1}/{rounds} {name:22s} median {m.median_ms:9.2f} ms  "
                  f"IQR {m.iqr_ms:7.2f}  runs {m.runs}", file=sys.stderr, flush=True)
    return best


def evaluate(names: list[str], measured: dict[str, Any], cal_dict: dict[str, Any]
             ) -> dict[str, Any]:
    import convcost
    from convcost.latency.calibrate import Calibration
    from convcost.latency.fit import fit_relative, share_within, spearman
    from convcost.latency.roofline import predict_latency

    cal = Calibration.from_dict(cal_dict)
    rows = []
    for name in names:
        a = convcost.analyze(name, SHAPE)
        pred = predict_latency(a, cal)
        rows.append({"model": name, "madds": a.totals.madds, "mem_bytes": a.totals.mem_bytes,
                     "measured_ms": measured[name]["median_ms"],
                     "iqr_ms": measured[name]["iqr_ms"], "roofline_ms": pred.ms,
                     "by_class_ms": {k: v * 1000 for k, v in pred.by_class().items()}})
    y = [r["measured_ms"] for r in rows]
    scores: dict[str, Any] = {}
    for key, xs in (("baseline", [float(r["madds"]) for r in rows]),
                    ("convcost", [r["roofline_ms"] for r in rows])):
        fit = fit_relative(xs, y)
        fitted = [fit(x) for x in xs]
        loo = []
        for i in range(len(xs)):
            f = fit_relative(xs[:i] + xs[i + 1:], y[:i] + y[i + 1:])
            loo.append(f(xs[i]))
        for r, p, q in zip(rows, fitted, loo, strict=True):
            r[f"{key}_ms"] = p
            r[f"{key}_loo_ms"] = q
        scores[key] = {"slope": fit.slope, "intercept_ms": fit.intercept,
                       "spearman": spearman(xs, y), "within": share_within(fitted, y, TOLERANCE),
                       "within_loo": share_within(loo, y, TOLERANCE)}
    raw = [r["roofline_ms"] for r in rows]
    scores["convcost_unfitted"] = {"spearman": spearman(raw, y),
                                   "within": share_within(raw, y, TOLERANCE)}
    return {"rows": rows, "scores": scores}


def plot(result: dict[str, Any], out_dir: Path, title: str) -> list[Path]:
    from convcost.report.plots import latency_vs_madds, predicted_vs_measured, save_figure

    rows = result["rows"]
    names = [r["model"] for r in rows]
    y = [r["measured_ms"] for r in rows]
    s = result["scores"]
    madds_png = save_figure(latency_vs_madds(names, [r["madds"] for r in rows], y, title),
                            out_dir / "latency_madds.png")
    series = {
        f"multiply-adds baseline (ρ={s['baseline']['spearman']:.3f}, "
        f"{s['baseline']['within']:.0%} within ±25 %)": [r["baseline_ms"] for r in rows],
        f"convcost roofline (ρ={s['convcost']['spearman']:.3f}, "
        f"{s['convcost']['within']:.0%} within ±25 %)": [r["convcost_ms"] for r in rows],
    }
    predicted_png = save_figure(
        predicted_vs_measured(names, y, series, tolerance=TOLERANCE, title=title),
        out_dir / "latency_predicted.png")
    return [madds_png, predicted_png]


def verdict(s: dict[str, Any]) -> str:
    """One line: is the issue's target met in this run?"""
    c, b = s["convcost"], s["baseline"]
    met = (c["spearman"] >= 0.9 and c["within"] >= 0.8 and c["spearman"] > b["spearman"]
           and c["within"] > b["within"])
    return (f"**{'Met' if met else 'Not met'} in this run:** convcost ρ = {c['spearman']:.3f} "
            f"and {c['within']:.0%} within ±25 % ({c['within_loo']:.0%} leave-one-out), "
            f"against ρ = {b['spearman']:.3f} and {b['within']:.0%} "
            f"({b['within_loo']:.0%}) for multiply-adds.")


def markdown(result: dict[str, Any], meta: dict[str, Any]) -> str:
    s = result["scores"]
    cal = meta["calibration"]
    from convcost.latency.calibrate import Calibration

    lines = [
        "# Latency model: convcost's roofline vs multiply-adds",
        "",
        f"Measured {meta['date']} on {meta['machine']} ({meta['cpus']} CPUs), Python "
        f"{meta['python']}, torch {meta['torch']}, **torch threads: {meta['threads']}**, "
        f"batch 1, 3×224×224, float32, eval mode, `torch.inference_mode`. Each model: 2 "
        f"warm-up runs, then timed runs for {meta['budget']} s (at least 5), in "
        f"{meta['rounds']} interleaved rounds over the zoo; the round with the lowest median "
        f"is shown. Wall time of the whole run: {meta['wall_s']:.0f} s. Reproduce: "
        "`.venv/bin/python benchmarks/bench_latency_model.py`.",
        "",
        "Both predictors are mapped to milliseconds by the same two-parameter fit "
        "(`ms = a·x + b`, least squares on the relative error; "
        "`convcost.latency.fit.fit_relative`): the baseline with x = multiply-adds, convcost "
        "with x = the calibrated roofline (sum over ops of "
        "`max(work / peak, bytes / bandwidth) + overhead`, `convcost.latency.roofline`). "
        "Leave-one-out redoes the fit without the model it predicts.",
        "",
        "| predictor | Spearman ρ | within ±25 % | within ±25 % (leave-one-out) | fit |",
        "| --- | ---: | ---: | ---: | --- |",
        f"| multiply-adds baseline | {s['baseline']['spearman']:.3f} | "
        f"{s['baseline']['within']:.0%} | {s['baseline']['within_loo']:.0%} | "
        f"{s['baseline']['slope'] * 1e9:.3f} ms per G madds + "
        f"{s['baseline']['intercept_ms']:.2f} ms |",
        f"| convcost roofline | {s['convcost']['spearman']:.3f} | "
        f"{s['convcost']['within']:.0%} | {s['convcost']['within_loo']:.0%} | "
        f"{s['convcost']['slope']:.3f} × roofline + {s['convcost']['intercept_ms']:.2f} ms |",
        f"| convcost roofline, unfitted | {s['convcost_unfitted']['spearman']:.3f} | "
        f"{s['convcost_unfitted']['within']:.0%} | — | none: calibration only |",
        "",
        "Target (issue 7): ρ ≥ 0.9 and ≥ 80 % within ±25 %, both better than the baseline.",
        "",
        verdict(s),
        "",
        "Unfitted, the roofline runs short on small models by about "
        f"{s['convcost']['intercept_ms']:.0f} ms (the fit's intercept): the time eager PyTorch "
        "spends per model outside the ops it costs (module calls of the containers, view and "
        "reshape ops, allocation), which no per-op micro-benchmark sees. The fit's slope "
        f"({s['convcost']['slope']:.2f}) shows how far the calibration's average shapes are "
        "from the zoo's. Multiply-adds alone miss what the roofline sees: GoogLeNet's four "
        "max-pools (pooling runs at under 1 G window ops/s here), EfficientNet's SiLU and "
        "squeeze-excitation, the VGGs' large dense convs running near peak.",
        "",
        "## Calibration (`convcost calibrate`, this run)",
        "",
        "| constant | value |",
        "| --- | ---: |",
        *(f"| {name} | {value:,.3f} {unit} |"
          for name, value, unit in Calibration.from_dict(cal).describe()),
        "",
        "## Per model",
        "",
        "| model | madds (G) | mem (MB) | measured ms | IQR ms | convcost ms | error | "
        "baseline ms | error | roofline unfitted ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in result["rows"]:
        m = r["measured_ms"]
        lines.append(
            f"| {r['model']} | {r['madds'] / 1e9:.3f} | {r['mem_bytes'] / 1e6:.1f} | "
            f"{m:.2f} | {r['iqr_ms']:.2f} | {r['convcost_ms']:.2f} | "
            f"{r['convcost_ms'] / m - 1:+.0%} | {r['baseline_ms']:.2f} | "
            f"{r['baseline_ms'] / m - 1:+.0%} | {r['roofline_ms']:.2f} |")
    lines += [
        "",
        "![multiply-adds vs measured latency](latency_madds.png)",
        "",
        "![predicted vs measured latency](latency_predicted.png)",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--budget", type=float, default=1.5, help="seconds per model")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--reuse", action="store_true",
                        help="no timing: reuse the measurements in latency.json")
    args = parser.parse_args()

    from convcost.latency.calibrate import (
        calibration_from_timings,
        machine_name,
        run_micro_benchmarks,
        write_cached,
    )
    from convcost.zoo import list_entries

    names = args.models or [e.name for e in list_entries()]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    store = args.out_dir / "latency.json"
    if args.reuse:
        saved = json.loads(store.read_text())
        meta, measured = saved["meta"], saved["measured"]
        names = [n for n in names if n in measured]
    else:
        t0 = time.perf_counter()
        first = run_micro_benchmarks("cpu", args.threads)
        print(f"calibrated in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        measured = measure_zoo(names, args.threads, args.budget, args.rounds)
        # calibrate again after the zoo and keep each micro-benchmark's faster time, as the
        # zoo keeps its faster round: a burst of load at the start then skews neither
        last = run_micro_benchmarks("cpu", args.threads)
        cal = calibration_from_timings({k: min(first[k], last[k]) for k in first},
                                       device="cpu", threads=args.threads)
        write_cached(cal)  # so that `convcost bench --predict` uses this run's calibration
        meta = {"date": time.strftime("%Y-%m-%d"), "machine": machine_name("cpu"),
                "cpus": os.cpu_count(), "python": platform.python_version(),
                "torch": torch.__version__, "threads": args.threads, "budget": args.budget,
                "rounds": args.rounds, "wall_s": time.perf_counter() - t0,
                "calibration": cal.to_dict()}
        store.write_text(json.dumps({"meta": meta, "measured": measured}, indent=1) + "\n")
    result = evaluate(names, measured, meta["calibration"])
    title = (f"{meta['machine']}, torch threads: {meta['threads']}, torch {meta['torch']}, "
             f"1×3×224×224 fp32")
    plot(result, args.out_dir, title)
    text = markdown(result, meta)
    (args.out_dir / "latency.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
