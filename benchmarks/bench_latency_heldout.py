"""Held-out validation of convcost's latency model on third-party models it never saw.

The held-out models are pytorchcv's ImageNet classifiers (``tests/corpus``, pytorchcv
0.0.67): per family, the first model in the corpus' order that is (1) not an architecture
of convcost's own zoo (the models the predictor was developed on: ``ZOO_TWINS``) and (2) at
most ``--max-madds`` multiply-adds at its native resolution (the run must fit a few
minutes). No held-out model is used by the calibration or by any fit: the predictor's
constants come from ``convcost calibrate``'s micro-benchmarks alone, measured at the start of
this run.

Each model: random weights (seeded), batch 1, its native input (224², 299² or 331²),
float32, eval mode, ``torch.inference_mode``, torch threads pinned (``--threads``). The
models are timed in groups of ``--group``, each group in ``--rounds`` interleaved rounds
(``convcost.latency.measure.measure_models``): median of the runs left after the MAD
outlier screen, IQR, and the 95 % interval of the median.

Three predictors, none fitted to these models:
- convcost: ``convcost.latency.roofline.predict_latency`` (per-op terms, module calls, view
  ops, cold weights), straight from the calibration;
- multiply-adds × one constant measured on the calibration suite
  (``convcost.latency.calibrate.seconds_per_madd``: the micro-benchmark networks' time over
  their multiply-adds);
- the textbook roofline, ``Σ max(work / peak, bytes / bandwidth)`` per op with the same
  calibrated rates, no fixed costs.
For reference only, multiply-adds with the single best constant fitted on the held-out models
themselves (an oracle: what multiply-adds could do at best).

Run:  .venv/bin/python benchmarks/bench_latency_heldout.py [--threads N] [--budget S]
Writes docs/benchmarks/latency_heldout.md and latency_heldout.json; ``--reuse`` renders them
again from the JSON without timing anything.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convcost import Analysis
    from convcost.latency.roofline import Calibration

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
OUT_DIR = ROOT / "docs" / "benchmarks"

# pytorchcv models of an architecture convcost's zoo has (the development set of the
# predictor); near twins (the same network with the stride moved) count as twins
ZOO_TWINS = frozenset({
    "mobilenet_w1", "mobilenetb_w1", "mobilenetv2_w1", "mobilenetv2b_w1",
    "mobilenetv3_small_w1", "mobilenetv3_large_w1", "shufflenet_g3_w1", "shufflenetv2_w1",
    "shufflenetv2_w2", "shufflenetv2b_w1", "squeezenet_v1_0", "squeezenet_v1_1",
    "efficientnet_b0", "efficientnet_b0c", "mnasnet_b1", "xception", "vgg16", "resnet18",
    "resnet50", "resnet50b", "resnet152",
})
TOLERANCES = (0.10, 0.20)


def load() -> float:
    """The 1-minute load average (nan where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def select(max_madds: float) -> tuple[list[dict[str, Any]], dict[str, Analysis]]:
    """The held-out models (module doc), each with its family, input and convcost counts,
    and each one's analysis by name (for :func:`predict`)."""
    from corpus.models import CORPUS

    import convcost

    chosen: list[dict[str, Any]] = []
    analyses: dict[str, Analysis] = {}
    families: set[str] = set()
    for e in CORPUS:
        if e.source != "pytorchcv" or e.family in families or e.name in ZOO_TWINS:
            continue
        model = e.build()
        x = e.make_inputs(model).args[0]
        a = convcost.analyze(model, tuple(x.shape), name=e.name)
        if a.totals.madds > max_madds:
            continue
        families.add(e.family)
        analyses[e.name] = a
        chosen.append({"model": e.name, "family": e.family, "input": list(x.shape),
                       "madds": a.totals.madds, "mem_bytes": a.totals.mem_bytes,
                       "params": a.totals.params})
    return chosen, analyses


def measure(chosen: list[dict[str, Any]], threads: int, budget: float, rounds: int,
            group: int) -> None:
    """Time every chosen model (in place: ``measured_ms``, ``iqr_ms``, ...)."""
    import torch
    from corpus.models import _pytorchcv

    from convcost.latency.measure import measure_models

    def cpu_build(name: str) -> Any:
        """The corpus' pytorchcv model built on the CPU: pytorchcv's own initialisation."""
        return _pytorchcv(name, "cpu")()

    for start in range(0, len(chosen), group):
        batch = chosen[start:start + group]
        jobs = []
        for rec in batch:
            torch.manual_seed(0)
            model = cpu_build(rec["model"])
            jobs.append((rec["model"], model, tuple(rec["input"])))
        before = load()
        out = measure_models(jobs, threads=threads, rounds=rounds, warmup=2, min_runs=6,
                             max_runs=300, budget_s=budget)
        after = load()
        for rec, m in zip(batch, out, strict=True):
            rec.update({"measured_ms": m.median_ms, "iqr_ms": m.iqr_ms,
                        "ci_low_ms": m.ci_low_ms, "ci_high_ms": m.ci_high_ms,
                        "noise": m.noise, "runs": m.runs, "outliers": m.outliers,
                        "page_faults": m.page_faults,
                        "load": [before, after]})
            print(f"{rec['model']:28s} {m.median_ms:9.2f} ms  IQR {m.iqr_ms:7.2f}  noise "
                  f"{m.noise:6.1%}  load {before:.2f}->{after:.2f}", file=sys.stderr,
                  flush=True)
        del jobs, out
        gc.collect()


def predict(chosen: list[dict[str, Any]], analyses: dict[str, Analysis], cal: Calibration,
            s_per_madd: float) -> None:
    """Add each predictor's milliseconds to every record (in place), from :func:`select`'s
    analyses."""
    from convcost.latency.roofline import predict_latency

    for rec in chosen:
        p = predict_latency(analyses[rec["model"]], cal)
        rec["predicted_ms"] = p.ms
        rec["roofline_ms"] = p.roofline_seconds * 1000.0
        rec["madds_ms"] = rec["madds"] * s_per_madd * 1000.0
        rec["predicted_by_class_ms"] = {k: v * 1000.0 for k, v in p.by_class().items()}


def scores(chosen: list[dict[str, Any]]) -> dict[str, Any]:
    from convcost.latency.fit import fit_relative, mape, share_within, spearman

    y = [r["measured_ms"] for r in chosen]
    out: dict[str, Any] = {}
    oracle = fit_relative([float(r["madds"]) for r in chosen], y, intercept=False)
    for r in chosen:
        r["madds_oracle_ms"] = oracle(float(r["madds"]))
    for key in ("predicted_ms", "madds_ms", "roofline_ms", "madds_oracle_ms"):
        p = [r[key] for r in chosen]
        out[key] = {"spearman": spearman(p, y), "mape": mape(p, y),
                    **{f"within_{round(t * 100)}": share_within(p, y, t) for t in TOLERANCES}}
    out["madds_oracle_ms"]["ms_per_gmadd"] = oracle.slope * 1e9
    return out


def limits_note(rows: list[dict[str, Any]]) -> list[str]:
    """What limits the accuracy here: the noise within this run, and how far this machine's
    speed drifts between runs (from ``latency_calibration.json``, when it exists)."""
    from convcost.latency.stats import median

    noise = sorted(r["noise"] for r in rows)
    lines = [f"Noise within this run: the median model's robust spread was "
             f"{median(noise):.1%} (largest {noise[-1]:.1%})."]
    store = OUT_DIR / "latency_calibration.json"
    if store.is_file():
        cal = json.loads(store.read_text())
        worst = max(cal["rows"], key=lambda r: r["spread"])
        within = sum(r["spread"] <= 0.10 for r in cal["rows"])
        lines[-1] += (f" Between runs this machine drifts further: two calibrations a minute "
                      f"apart ([latency_calibration.md](latency_calibration.md)) agree within "
                      f"10 % on {within} of {len(cal['rows'])} constants, the widest apart "
                      f"by {worst['spread']:.0%} ({worst['constant']}).")
    return [*lines, ""]


def repeatability(rows: list[dict[str, Any]], other_path: Path) -> dict[str, Any]:
    """How the measured medians agree with another run's (another process, possibly another
    heap): the share within ±5 % and ±10 %, the median and the largest disagreement."""
    other = json.loads(other_path.read_text())
    theirs = {r["model"]: r["measured_ms"] for r in other["models"]}
    ratios = sorted(r["measured_ms"] / theirs[r["model"]] - 1 for r in rows
                    if r["model"] in theirs and theirs[r["model"]] > 0)
    apart = sorted(abs(x) for x in ratios)
    return {"other": other_path.name, "other_heap": other["meta"].get("heap", "system"),
            "other_date": other["meta"]["date"], "models": len(ratios),
            "within_5": sum(a <= 0.05 for a in apart) / len(apart),
            "within_10": sum(a <= 0.10 for a in apart) / len(apart),
            "median_abs": apart[len(apart) // 2], "max_abs": apart[-1],
            "median_ratio": ratios[len(ratios) // 2]}


def repeat_note(rep: dict[str, Any] | None) -> list[str]:
    if not rep:
        return []
    return [f"**Measurement repeatability** (the noise floor under the ±10 % target): the "
            f"same {rep['models']} models timed in another process ({rep['other']}, heap: "
            f"{rep['other_heap']}, {rep['other_date']}) agree within ±5 % for "
            f"{rep['within_5']:.0%} and within ±10 % for {rep['within_10']:.0%}; median "
            f"disagreement {rep['median_abs']:.1%}, largest {rep['max_abs']:.0%}, median "
            f"ratio this/that {1 + rep['median_ratio']:.3f}.", ""]


def markdown(result: dict[str, Any]) -> str:
    from convcost.latency.roofline import Calibration

    meta, s, rows = result["meta"], result["scores"], result["models"]
    cal = Calibration.from_dict(meta["calibration"])
    names = {"predicted_ms": "convcost (calibrated per-op model)",
             "madds_ms": "multiply-adds × constant from the calibration suite",
             "roofline_ms": "textbook roofline, Σ max(work/peak, bytes/bw)",
             "madds_oracle_ms": "multiply-adds × best constant fitted on these models (oracle)"}
    lines = [
        "# Latency, held out: convcost's predictor on models it never saw",
        "",
        f"Measured {meta['date']} on {meta['machine']} ({meta['cpus']} CPUs), Python "
        f"{meta['python']}, torch {meta['torch']}, pytorchcv {meta['pytorchcv']}, **torch "
        f"threads: {meta['threads']}, heap: {meta.get('heap', 'system')}** (convcost.latency."
        "heap), batch 1, each model's native input, float32, eval "
        f"mode, `torch.inference_mode`, random weights. **Load average (1 min) at the start: "
        f"{meta['load_start']:.2f}, at the end: {meta['load_end']:.2f}**; the benchmark's "
        "own threads count for 1 to 2 of it (each group's in the JSON). Models timed in "
        f"groups of {meta['group']}, {meta['rounds']} interleaved "
        f"rounds, {meta['budget']} s of runs each; median after the MAD outlier screen. Wall "
        f"time: {meta['wall_s']:.0f} s. Reproduce: "
        "`.venv/bin/python benchmarks/bench_latency_heldout.py`.",
        "",
        f"**{len(rows)} held-out models**: pytorchcv's ImageNet classifiers, per family the "
        "first in the corpus' order that is not an architecture of convcost's zoo (the "
        "models the predictor was developed on) and has at most "
        f"{meta['max_madds'] / 1e9:.1f} G multiply-adds. None of them is used by the "
        "calibration or any fit: every constant comes from `convcost calibrate`'s "
        "micro-benchmarks, measured at the start of this run.",
        "",
        "| predictor | Spearman ρ | within ±10 % | within ±20 % | MAPE |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for key, label in names.items():
        v = s[key]
        lines.append(f"| {label} | {v['spearman']:.3f} | {v['within_10']:.0%} | "
                     f"{v['within_20']:.0%} | {v['mape']:.1%} |")
    lines += [
        "",
        f"Multiply-adds' constant from the calibration suite: "
        f"{meta['s_per_madd'] * 1e12:.2f} ms per G multiply-adds; the oracle's, fitted on "
        f"these models: {s['madds_oracle_ms']['ms_per_gmadd']:.2f} ms per G.",
        "",
        "Target (issue 16): ρ ≥ 0.98 and ≥ 90 % within ±10 % on held-out models.",
        "",
        *repeat_note(result.get("repeatability")),
        *limits_note(rows),
        "## Calibration used (`convcost calibrate`, this run)",
        "",
        "| constant | value |",
        "| --- | ---: |",
        *(f"| {name} | {value:,.3f} {unit} |" for name, value, unit in cal.describe()),
        "",
        "## Per model",
        "",
        "| model | family | input | G madds | measured ms | IQR ms | faults/run | convcost ms "
        "| error | madds ms | error | roofline ms |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in sorted(rows, key=lambda r: r["measured_ms"]):
        m = r["measured_ms"]
        lines.append(
            f"| {r['model']} | {r['family'].split('/')[-1]} | "
            f"{'×'.join(map(str, r['input'][2:]))} | {r['madds'] / 1e9:.3f} | {m:.2f} | "
            f"{r['iqr_ms']:.2f} | {r.get('page_faults', float('nan')):,.0f} | "
            f"{r['predicted_ms']:.2f} | {r['predicted_ms'] / m - 1:+.0%} | "
            f"{r['madds_ms']:.2f} | {r['madds_ms'] / m - 1:+.0%} | {r['roofline_ms']:.2f} |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    import torch

    from convcost.latency.heap import HEAPS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--budget", type=float, default=1.2, help="seconds per model")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--max-madds", type=float, default=4.5e9)
    parser.add_argument("--heap", choices=HEAPS, default="warm",
                        help="warm: freed memory kept mapped (convcost.latency.heap), as "
                        "convcost bench and calibrate do by default")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--repeat-of", type=Path, default=None,
                        help="another run's JSON: report how the measured medians agree")
    parser.add_argument("--reuse", action="store_true",
                        help="no timing: render the Markdown again from the JSON")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    warnings.filterwarnings("ignore")
    store = args.out_dir / "latency_heldout.json"
    if args.reuse:
        result = json.loads(store.read_text())
    else:
        from importlib import metadata

        from convcost.latency import calibrate as cal_mod

        if args.heap == "warm":
            from convcost.latency.heap import keep_memory_mapped

            keep_memory_mapped()
        t0 = time.perf_counter()
        load_start = load()
        chosen, analyses = select(args.max_madds)
        print(f"{len(chosen)} held-out models; load {load_start:.2f}", file=sys.stderr)
        cal = cal_mod.calibrate("cpu", args.threads, force=True)
        s_per_madd = cal_mod.seconds_per_madd(cal)
        measure(chosen, args.threads, args.budget, args.rounds, args.group)
        predict(chosen, analyses, cal, s_per_madd)
        meta = {"date": time.strftime("%Y-%m-%d"), "machine": cal_mod.machine_name("cpu"),
                "cpus": os.cpu_count(), "python": platform.python_version(),
                "torch": torch.__version__, "pytorchcv": metadata.version("pytorchcv"),
                "threads": args.threads, "budget": args.budget, "rounds": args.rounds,
                "group": args.group, "max_madds": args.max_madds, "heap": args.heap,
                "load_start": load_start,
                "load_end": load(), "wall_s": time.perf_counter() - t0,
                "s_per_madd": s_per_madd, "calibration": cal.to_dict()}
        result = {"meta": meta, "models": chosen}
    result["scores"] = scores(result["models"])
    if args.repeat_of is not None:
        result["repeatability"] = repeatability(result["models"], args.repeat_of)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(result, indent=1) + "\n")
    text = markdown(result)
    (args.out_dir / "latency_heldout.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
