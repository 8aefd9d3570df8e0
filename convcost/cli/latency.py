"""``convcost bench`` and ``convcost calibrate``: measured latency and its roofline estimate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from convcost.cli._app import (
    BatchOpt,
    BudgetOpt,
    Format,
    FormatOpt,
    HeapOpt,
    InputOpt,
    ModelsArg,
    OutOpt,
    ThreadsOpt,
    TimedDeviceOpt,
    app,
    emit,
    parse_batches,
    parse_inputs,
    progress,
    use_heap,
)
from convcost.errors import InvalidArgumentError


@app.command()
def bench(
    models: ModelsArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    batches: Annotated[str | None, typer.Option(
        "--batches", metavar="1,8,32", help="Several batch sizes, comma-separated (instead of "
        "--batch).")] = None,
    device: TimedDeviceOpt = "cpu",
    threads: ThreadsOpt = None,
    budget: BudgetOpt = 2.0,
    runs: Annotated[int, typer.Option(min=5, help="At most this many timed runs.")] = 200,
    warmup: Annotated[int, typer.Option(min=0, help="Untimed runs first.")] = 3,
    rounds: Annotated[int, typer.Option(min=1, help="Interleaved rounds over all the models "
                                        "(the budget and runs are split over them).")] = 3,
    layers: Annotated[bool, typer.Option("--layers", help="Also time every module with "
                                         "torch.profiler, beside its cost.")] = False,
    predict: Annotated[bool, typer.Option("--predict", help="Show the calibrated roofline's "
                                          "prediction (calibrates once per machine).")] = False,
    heap: HeapOpt = "warm",
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Measured latency: median, IQR and throughput of each model's forward pass, the models
    timed in interleaved rounds; a difference within the noise is called not significant."""
    from convcost.studies.bench import bench as bench_models

    sweep = parse_batches(batches)
    if sweep is not None and batch != 1:
        raise InvalidArgumentError("give --batch N (one batch size) or --batches 1,8,32 "
                                   "(several), not both")
    use_heap(heap)
    with progress(fmt) as step:
        records = bench_models(models, parse_inputs(input), batches=sweep or [batch],
                               device=device, threads=threads, budget_s=budget, runs=runs,
                               warmup=warmup, rounds=rounds, layers=layers, predict=predict,
                               progress=step)
    _render(records, predict, layers, fmt, out)


def _render(records: list[dict[str, Any]], predict: bool, layers: bool, fmt: Format,
            out: Path | None) -> None:
    from convcost.report.latency import bench_tables

    tables = bench_tables(records, predict, layers, merged=fmt is Format.csv)
    emit(tables, {"models": records}, fmt, out)


@app.command()
def calibrate(
    device: TimedDeviceOpt = "cpu",
    threads: ThreadsOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Measure again even when cached.")]
    = False,
    heap: HeapOpt = "warm",
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Micro-benchmark this machine's roofline (peaks, bandwidths, per-op overhead); cached."""
    from convcost.latency import calibrate as cal_mod
    from convcost.report.tables import Table

    use_heap(heap)
    with progress(fmt) as step:
        cal = cal_mod.calibrate(device, threads, force=force, progress=step)
    t = Table(title=f"Roofline calibration: {cal.machine}, {cal.threads} threads, {cal.device}",
              columns=["constant", "value", "unit"], right_align=frozenset({1}))
    rows = cal.describe()
    for name, value, unit in rows:
        t.add([name, f"{value:,.3f}", unit], [name, value, unit])
    t.raw_columns = ["constant", "value", "unit"]
    if cal.noise:
        worst = max(cal.noise, key=lambda k: cal.noise[k] if cal.noise else 0.0)
        t.notes.append(f"{len(cal.noise)} micro-benchmarks, the lowest of their rounds' robust "
                       f"medians; widest spread between rounds: {cal.noise[worst]:.0%} "
                       f"({worst}); sanity checks passed at measurement {cal.attempts}")
    t.notes.append(f"cached in {cal_mod.cache_path(cal.device, cal.threads, cal.heap)}")
    emit(t, {**cal.to_dict(), "cache": str(cal_mod.cache_path(cal.device, cal.threads, cal.heap))},
         fmt, out)
