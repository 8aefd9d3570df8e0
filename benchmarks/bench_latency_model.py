"""Predicted vs measured latency across the zoo: convcost's model against multiply-adds.

The zoo is the latency model's *development set* (the held-out test is
``bench_latency_heldout.py``). Every zoo model is built with random weights and timed at
1×3×224×224 on the CPU (eval mode, ``torch.inference_mode``, threads pinned) with
``convcost.latency.measure.measure_models``: groups of ``--group`` models, each group in
``--rounds`` interleaved rounds, median after the MAD outlier screen. The model is calibrated
first by ``convcost calibrate``'s micro-benchmarks (checked; written to the user's calibration
cache, so ``convcost bench --predict`` agrees).

Predictors, unfitted (straight from the calibration):
- convcost: ``convcost.latency.roofline.predict_latency``;
- multiply-adds × the calibration suite's seconds per multiply-add;
- the textbook roofline ``Σ max(work / peak, bytes / bandwidth)`` with the same rates.
And, as in issue 7, multiply-adds and convcost each mapped by a two-parameter fit on the zoo
itself (``convcost.latency.fit.fit_relative``), in-sample and leave-one-out.

Run:  .venv/bin/python benchmarks/bench_latency_model.py [--threads N] [--budget S]
Writes docs/benchmarks/latency.md, latency.json, latency_madds.png, latency_predicted.png.
``--reuse`` redoes the predictions, fits, table and plots from latency.json's measurements
and calibration without timing anything.
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


def load() -> float:
    """The 1-minute load average (nan where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def measure_zoo(names: list[str], threads: int, budget: float, rounds: int, group: int
                ) -> dict[str, Any]:
    import torch

    from convcost.latency.measure import measure_models
    from convcost.zoo import build

    out: dict[str, Any] = {}
    for start in range(0, len(names), group):
        batch = names[start:start + group]
        jobs = []
        for name in batch:
            torch.manual_seed(0)
            jobs.append((name, build(name, device="cpu"), SHAPE))
        before = load()
        for name, m in zip(batch, measure_models(jobs, threads=threads, rounds=rounds,
                                                 warmup=2, min_runs=6, max_runs=300,
                                                 budget_s=budget), strict=True):
            rec = m.to_dict(times=False)
            rec["load"] = [before, load()]
            out[name] = rec
            print(f"{name:22s} median {m.median_ms:9.2f} ms  IQR {m.iqr_ms:7.2f}  noise "
                  f"{m.noise:6.1%}  load {before:.2f}", file=sys.stderr, flush=True)
        del jobs
    return out


def evaluate(names: list[str], measured: dict[str, Any], cal_dict: dict[str, Any],
             s_per_madd: float) -> dict[str, Any]:
    import convcost
    from convcost.latency.fit import fit_relative, mape, share_within, spearman
    from convcost.latency.roofline import Calibration, predict_latency

    cal = Calibration.from_dict(cal_dict)
    rows = []
    for name in names:
        a = convcost.analyze(name, SHAPE)
        pred = predict_latency(a, cal)
        rows.append({"model": name, "madds": a.totals.madds, "mem_bytes": a.totals.mem_bytes,
                     "measured_ms": measured[name]["median_ms"],
                     "iqr_ms": measured[name]["iqr_ms"], "predicted_ms": pred.ms,
                     "roofline_ms": pred.roofline_seconds * 1000.0,
                     "madds_ms": a.totals.madds * s_per_madd * 1000.0,
                     "by_class_ms": {k: v * 1000 for k, v in pred.by_class().items()}})
    y = [r["measured_ms"] for r in rows]
    scores: dict[str, Any] = {}
    for key in ("predicted_ms", "madds_ms", "roofline_ms"):
        p = [r[key] for r in rows]
        scores[key] = {"spearman": spearman(p, y), "mape": mape(p, y),
                       **{f"within_{round(t * 100)}": share_within(p, y, t)
                          for t in (0.10, 0.20, TOLERANCE)}}
    for key, xs in (("baseline", [float(r["madds"]) for r in rows]),
                    ("convcost", [r["predicted_ms"] for r in rows])):
        fit = fit_relative(xs, y)
        fitted = [fit(x) for x in xs]
        loo = []
        for i in range(len(xs)):
            f = fit_relative(xs[:i] + xs[i + 1:], y[:i] + y[i + 1:])
            loo.append(f(xs[i]))
        for r, p, q in zip(rows, fitted, loo, strict=True):
            r[f"{key}_fit_ms"] = p
            r[f"{key}_loo_ms"] = q
        scores[key] = {"slope": fit.slope, "intercept_ms": fit.intercept,
                       "spearman": spearman(xs, y), "within": share_within(fitted, y, TOLERANCE),
                       "within_loo": share_within(loo, y, TOLERANCE)}
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
        f"multiply-adds × calibration constant (ρ={s['madds_ms']['spearman']:.3f}, "
        f"{s['madds_ms']['within_10']:.0%} within ±10 %)": [r["madds_ms"] for r in rows],
        f"convcost, unfitted (ρ={s['predicted_ms']['spearman']:.3f}, "
        f"{s['predicted_ms']['within_10']:.0%} within ±10 %)": [r["predicted_ms"] for r in rows],
    }
    predicted_png = save_figure(
        predicted_vs_measured(names, y, series, tolerance=0.10, title=title),
        out_dir / "latency_predicted.png")
    return [madds_png, predicted_png]


def markdown(result: dict[str, Any], meta: dict[str, Any]) -> str:
    s = result["scores"]
    from convcost.latency.roofline import Calibration

    cal = Calibration.from_dict(meta["calibration"])
    labels = {"predicted_ms": "convcost (calibrated per-op model), unfitted",
              "madds_ms": "multiply-adds × calibration-suite constant",
              "roofline_ms": "textbook roofline Σ max(work/peak, bytes/bw), unfitted"}
    lines = [
        "# Latency model on the zoo (the development set)",
        "",
        f"Measured {meta['date']} on {meta['machine']} ({meta['cpus']} CPUs), Python "
        f"{meta['python']}, torch {meta['torch']}, **torch threads: {meta['threads']}**, "
        f"batch 1, 3×224×224, float32, eval mode, `torch.inference_mode`. **Load average "
        f"(1 min) at the start: {meta['load_start']:.2f}, at the end: "
        f"{meta['load_end']:.2f}**; the benchmark's own threads count for 1 to 2 of it. "
        f"Models timed in groups of {meta['group']}, "
        f"{meta['rounds']} interleaved rounds, {meta['budget']} s of runs each; median after "
        f"the MAD outlier screen. Wall time {meta['wall_s']:.0f} s. Reproduce: "
        "`.venv/bin/python benchmarks/bench_latency_model.py`.",
        "",
        "The zoo is where the latency model was developed; the held-out test on "
        "third-party models is [latency_heldout.md](latency_heldout.md).",
        "",
        "| predictor | Spearman ρ | within ±10 % | within ±20 % | within ±25 % | MAPE |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *(f"| {label} | {s[k]['spearman']:.3f} | {s[k]['within_10']:.0%} | "
          f"{s[k]['within_20']:.0%} | {s[k]['within_25']:.0%} | {s[k]['mape']:.1%} |"
          for k, label in labels.items()),
        "",
        "Fitted on the zoo itself (`ms = a·x + b`, least squares on the relative error), as "
        "issue 7 scored them:",
        "",
        "| predictor | Spearman ρ | within ±25 % | within ±25 % (leave-one-out) | fit |",
        "| --- | ---: | ---: | ---: | --- |",
        f"| multiply-adds | {s['baseline']['spearman']:.3f} | {s['baseline']['within']:.0%} | "
        f"{s['baseline']['within_loo']:.0%} | {s['baseline']['slope'] * 1e9:.3f} ms per G "
        f"madds + {s['baseline']['intercept_ms']:.2f} ms |",
        f"| convcost | {s['convcost']['spearman']:.3f} | {s['convcost']['within']:.0%} | "
        f"{s['convcost']['within_loo']:.0%} | {s['convcost']['slope']:.3f} × prediction + "
        f"{s['convcost']['intercept_ms']:.2f} ms |",
        "",
        "## Calibration (`convcost calibrate`, this run)",
        "",
        "| constant | value |",
        "| --- | ---: |",
        *(f"| {name} | {value:,.3f} {unit} |" for name, value, unit in cal.describe()),
        "",
        "## Per model",
        "",
        "| model | madds (G) | mem (MB) | measured ms | IQR ms | convcost ms | error | "
        "madds ms | error | roofline ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in result["rows"]:
        m = r["measured_ms"]
        lines.append(
            f"| {r['model']} | {r['madds'] / 1e9:.3f} | {r['mem_bytes'] / 1e6:.1f} | "
            f"{m:.2f} | {r['iqr_ms']:.2f} | {r['predicted_ms']:.2f} | "
            f"{r['predicted_ms'] / m - 1:+.0%} | {r['madds_ms']:.2f} | "
            f"{r['madds_ms'] / m - 1:+.0%} | {r['roofline_ms']:.2f} |")
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

    from convcost.latency.heap import HEAPS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--budget", type=float, default=1.2, help="seconds per model")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--heap", choices=HEAPS, default="warm",
                        help="warm: freed memory kept mapped (convcost.latency.heap), as "
                        "convcost bench and calibrate do by default")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--reuse", action="store_true",
                        help="no timing: reuse the measurements in latency.json")
    args = parser.parse_args()

    from convcost.latency import calibrate as cal_mod
    from convcost.zoo import list_entries

    names = args.models or [e.name for e in list_entries()]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    store = args.out_dir / "latency.json"
    if args.reuse:
        saved = json.loads(store.read_text())
        meta, measured = saved["meta"], saved["measured"]
        names = [n for n in names if n in measured]
    else:
        if args.heap == "warm":
            from convcost.latency.heap import keep_memory_mapped

            keep_memory_mapped()
        t0 = time.perf_counter()
        load_start = load()
        cal = cal_mod.calibrate("cpu", args.threads, force=True)
        print(f"calibrated in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        measured = measure_zoo(names, args.threads, args.budget, args.rounds, args.group)
        meta = {"date": time.strftime("%Y-%m-%d"), "machine": cal_mod.machine_name("cpu"),
                "cpus": os.cpu_count(), "python": platform.python_version(),
                "torch": torch.__version__, "threads": args.threads, "budget": args.budget,
                "rounds": args.rounds, "group": args.group, "heap": args.heap,
                "load_start": load_start,
                "load_end": load(), "wall_s": time.perf_counter() - t0,
                "s_per_madd": cal_mod.seconds_per_madd(cal),
                "calibration": cal.to_dict()}
        store.write_text(json.dumps({"meta": meta, "measured": measured}, indent=1) + "\n")
    result = evaluate(names, measured, meta["calibration"], meta["s_per_madd"])
    title = (f"{meta['machine']}, torch threads: {meta['threads']}, torch {meta['torch']}, "
             f"1×3×224×224 fp32")
    plot(result, args.out_dir, title)
    text = markdown(result, meta)
    (args.out_dir / "latency.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
