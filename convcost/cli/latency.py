"""``convcost bench`` and ``convcost calibrate``: measured latency and its roofline estimate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from convcost.cli._app import (
    Format,
    FormatOpt,
    InputOpt,
    ModelsArg,
    OutOpt,
    app,
    emit,
    resolve_with_input,
)

DeviceChoice = Annotated[str, typer.Option("--device", help="cpu (default) or cuda.")]
ThreadsOpt = Annotated[int | None, typer.Option(
    "--threads", help="Torch intra-op threads (default: torch's current setting).")]


def _progress(enabled: bool) -> Any:
    """A rich progress bar on stderr when it is a terminal, else None."""
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.completed} runs"), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)


@app.command()
def bench(
    models: ModelsArg,
    input: InputOpt = None,
    batch: Annotated[list[int] | None, typer.Option(
        "--batch", "-b", help="Batch size (repeat for several).")] = None,
    device: DeviceChoice = "cpu",
    threads: ThreadsOpt = None,
    budget: Annotated[float, typer.Option(help="Seconds of timed runs per model and batch "
                                          "(at least 5 runs).")] = 2.0,
    runs: Annotated[int, typer.Option(help="At most this many timed runs.")] = 200,
    warmup: Annotated[int, typer.Option(help="Untimed runs first.")] = 3,
    layers: Annotated[bool, typer.Option("--layers", help="Also time every module with "
                                         "torch.profiler, beside its cost.")] = False,
    predict: Annotated[bool, typer.Option("--predict", help="Show the calibrated roofline's "
                                          "prediction (calibrates once per machine).")] = False,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Measured latency: median, IQR and throughput of each model's forward pass."""
    from convcost.errors import InvalidArgumentError
    from convcost.latency.measure import check_device, measure_model
    from convcost.report.units import shape_text

    check_device(device)
    batches = batch or [1]
    if any(b < 1 for b in batches):
        raise InvalidArgumentError(f"--batch must be positive integers, got {batches}")
    if runs < 5:
        raise InvalidArgumentError(f"--runs must be at least 5, got {runs}")
    if budget < 0:
        raise InvalidArgumentError(f"--budget must be >= 0 seconds, got {budget}")
    cal = None
    if predict:
        from convcost.latency.calibrate import calibrate

        cal = calibrate(device, threads)
    records: list[dict[str, Any]] = []
    progress = _progress(sys.stderr.isatty())
    if progress is not None:
        progress.start()
    try:
        for spec in models:
            model, name, sizes = resolve_with_input(spec, input, 1, "cpu")
            for size in sizes:
                for b in batches:
                    shape = (b, *size[1:])
                    label = f"{name} {shape_text(shape)}"
                    task = None if progress is None else progress.add_task(label, total=runs)

                    def tick(n: int, task: Any = task) -> None:
                        if progress is not None:
                            progress.update(task, completed=n)

                    m = measure_model(model, shape, device=device, threads=threads,
                                      warmup=warmup, min_runs=5, max_runs=runs,
                                      budget_s=budget, progress=tick)
                    if progress is not None:
                        progress.remove_task(task)
                    rec: dict[str, Any] = {"model": name, "input": list(shape)}
                    rec.update(m.to_dict(times=False))
                    if cal is not None or layers:
                        rec.update(_extras(model, name, shape, device, threads, cal, layers,
                                           m.median_ms))
                    records.append(rec)
    finally:
        if progress is not None:
            progress.stop()
    _render(records, predict, layers, fmt, out)


def _extras(model: Any, name: str, shape: tuple[int, ...], device: str, threads: int | None,
            cal: Any, layers: bool, measured_ms: float) -> dict[str, Any]:
    from convcost.api import analyze

    a = analyze(model, shape, name=name)
    extra: dict[str, Any] = {"madds": a.totals.madds, "mem_bytes": a.totals.mem_bytes}
    per_scope = None
    if cal is not None:
        from convcost.latency.roofline import predict_latency

        pred = predict_latency(a, cal)
        extra["predicted_ms"] = pred.ms
        extra["predicted_error"] = pred.ms / measured_ms - 1 if measured_ms > 0 else None
        per_scope = pred.by_scope()
    if layers:
        from convcost.latency.profile_layers import join_layers, profile_layers

        times = profile_layers(model, shape, device=device, threads=threads)
        extra["layers"] = [r.to_dict() for r in join_layers(a.rows, times, per_scope)]
    return extra


def _render(records: list[dict[str, Any]], predict: bool, layers: bool, fmt: Format,
            out: Path | None) -> None:
    from convcost.report.latency import bench_tables

    tables = bench_tables(records, predict, layers, merged=fmt is Format.csv)
    emit(tables, {"models": records}, fmt, out)


@app.command()
def calibrate(
    device: DeviceChoice = "cpu",
    threads: ThreadsOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Measure again even when cached.")]
    = False,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Micro-benchmark this machine's roofline (peaks, bandwidths, per-op overhead); cached."""
    from convcost.latency import calibrate as cal_mod
    from convcost.report.tables import Table

    cal = cal_mod.calibrate(device, threads, force=force)
    t = Table(title=f"Roofline calibration: {cal.machine}, {cal.threads} threads, {cal.device}",
              columns=["constant", "value", "unit"], right_align=frozenset({1}))
    rows = cal.describe()
    for name, value, unit in rows:
        t.add([name, f"{value:,.3f}", unit], [name, value, unit])
    t.raw_columns = ["constant", "value", "unit"]
    t.notes.append(f"cached in {cal_mod.cache_path(cal.device, cal.threads)}")
    emit(t, {**cal.to_dict(), "cache": str(cal_mod.cache_path(cal.device, cal.threads))},
         fmt, out)
