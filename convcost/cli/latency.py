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
    OutOpt,
    app,
    emit,
    resolve_model,
    write_text,
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


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v:,.3f}" if v < 10 else f"{v:,.1f}"


@app.command()
def bench(
    models: Annotated[list[str], typer.Argument(help="Model specs (zoo names or "
                                                "path/to/file.py:Class).")],
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
    from convcost.specs import parse_input

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
            model, name, default = resolve_model(spec, "cpu")
            sizes = [parse_input(s) for s in input] if input else [default] if default else []
            if not sizes:
                raise InvalidArgumentError(f"{spec} is user code: give its input size with "
                                           "--input (e.g. --input 224)")
            for size in sizes:
                for b in batches:
                    shape = (b, *size)
                    label = f"{name} {'×'.join(map(str, shape))}"
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
                    rec.update({k: v for k, v in m.to_dict().items() if k != "times_ms"})
                    if cal is not None or layers:
                        rec.update(_extras(model, name, shape, device, threads, cal, layers))
                    records.append(rec)
    finally:
        if progress is not None:
            progress.stop()
    _render(records, predict, layers, fmt, out)


def _extras(model: Any, name: str, shape: tuple[int, ...], device: str, threads: int | None,
            cal: Any, layers: bool) -> dict[str, Any]:
    from convcost.api import analyze

    a = analyze(model, shape, name=name)
    extra: dict[str, Any] = {"madds": a.totals.madds, "mem_bytes": a.totals.mem_bytes}
    per_scope = None
    if cal is not None:
        from convcost.latency.roofline import predict_latency

        pred = predict_latency(a, cal)
        extra["predicted_ms"] = pred.ms
        per_scope = pred.by_module()
    if layers:
        from convcost.latency.profile_layers import join_layers, profile_layers

        times = profile_layers(model, shape, device=device, threads=threads)
        extra["layers"] = [r.to_dict() for r in join_layers(a.rows, times, per_scope)]
    return extra


def _summary_table(records: list[dict[str, Any]], predict: bool) -> Any:
    from convcost.report.tables import Table

    cols = ["model", "input", "device", "threads", "median ms", "IQR ms", "samples/s", "runs"]
    if predict:
        cols += ["predicted ms", "error"]
    t = Table(title="Measured latency", columns=cols, right_align=frozenset(range(3, len(cols))))
    for r in records:
        cells = [r["model"], "×".join(map(str, r["input"])), r["device"], str(r["threads"]),
                 _ms(r["median_ms"]), _ms(r["iqr_ms"]), f"{r['throughput']:,.1f}",
                 str(r["runs"])]
        raw: list[object] = [r["model"], "x".join(map(str, r["input"])), r["device"],
                             r["threads"], r["median_ms"], r["iqr_ms"], r["throughput"],
                             r["runs"]]
        if predict:
            p = r.get("predicted_ms")
            err = f"{p / r['median_ms'] - 1:+.0%}" if p and r["median_ms"] > 0 else "—"
            cells += [_ms(p), err]
            raw += [p, None if err == "—" else p / r["median_ms"] - 1]
        t.add(cells, raw)
    t.raw_columns = [c.replace(" ", "_") for c in cols]
    t.notes.append("median and interquartile range (q3 − q1) of the timed runs; eval mode, "
                   "torch.inference_mode, random weights and input")
    return t


def _layers_table(rec: dict[str, Any]) -> Any:
    from convcost.report.tables import Table
    from convcost.report.units import megabytes, si

    layers = rec.get("layers", [])
    pred = any("predicted_ms" in x for x in layers)
    cols = ["module", "class", "ops", "measured ms", "madds", "mem MB"]
    if pred:
        cols.append("predicted ms")
    t = Table(title=f"{rec['model']} {'×'.join(map(str, rec['input']))}: time per module "
              "(torch.profiler, self time)", columns=cols,
              right_align=frozenset(range(3, len(cols))))
    for x in layers:
        cells = [x["name"] or "(root)", x["module"], ",".join(x["ops"]), _ms(x["measured_ms"]),
                 si(x["madds"]), megabytes(x["mem_bytes"])]
        raw: list[object] = [rec["model"], x["name"], x["module"], ",".join(x["ops"]),
                             x["measured_ms"], x["madds"], x["mem_bytes"]]
        if pred:
            cells.append(_ms(x.get("predicted_ms")))
            raw.append(x.get("predicted_ms"))
        t.add(cells, raw)
    t.raw_columns = ["model", "name", "module", "ops", "measured_ms", "madds", "mem_bytes",
                     *(["predicted_ms"] if pred else [])]
    return t


def _render(records: list[dict[str, Any]], predict: bool, layers: bool, fmt: Format,
            out: Path | None) -> None:
    from convcost.report import tables

    payload = {"models": records}
    summary = _summary_table(records, predict)
    if fmt is Format.json or not layers:
        emit(summary, payload, fmt, out)
        return
    per_model = [_layers_table(r) for r in records]
    if fmt is Format.csv:  # one CSV: every model's layers, with a model column
        merged = per_model[0]
        for t in per_model[1:]:
            merged.raw_rows.extend(t.raw_rows)
        write_text(tables.to_csv(merged), out)
    else:
        emit([summary, *per_model], payload, fmt, out)


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
