"""``convcost report`` and ``convcost plot``: per-layer reports and figures."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from convcost.cli._app import (
    BatchOpt,
    DeviceOpt,
    DtypeOpt,
    InputOpt,
    ModelsArg,
    SizesOpt,
    app,
    check_image_path,
    parse_inputs,
    progress,
    save_atomic,
)
from convcost.cli.memory import AllocatorOpt, OptimizerOpt, TrainOpt
from convcost.errors import InvalidArgumentError


@app.command()
def report(
    models: ModelsArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write (report.md, "
                                      "report.html, PNGs).")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing folder.")] = False,
    input: SizesOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = "float32",
    device: DeviceOpt = "meta",
    title: Annotated[str | None, typer.Option(help="Report title.")] = None,
) -> None:
    """Per-layer breakdown report: Markdown + self-contained HTML with plots."""
    from convcost.report.breakdown import check_report_folder, write_report
    from convcost.studies.compare import compare

    check_report_folder(out, force)  # fail before analysing anything
    with progress() as step:
        items = compare(models, parse_inputs(input), batch=batch, dtype=dtype, device=device,
                        progress=step)
    files = write_report(items, out, force=force, title=title, roofs=_machine_roofs())
    typer.echo(f"wrote {out}/ ({', '.join(f.name for f in files)})")


def _machine_roofs() -> Any:
    """The roofs of this machine's cached ``convcost calibrate`` (CPU, torch's current
    threads) as plain numbers for the report's roofline, multiply-adds/s doubled to FLOP/s;
    None when nothing is cached (the report then draws its documented default roofs)."""
    from convcost.latency.calibrate import read_cached
    from convcost.report.plots import Roofs

    cal = read_cached("cpu")
    if cal is None:
        return None
    return Roofs(dense_flops_per_s=2 * cal.peak_dense_madds_per_s,
                 pointwise_flops_per_s=2 * cal.peak_pointwise_madds_per_s,
                 depthwise_flops_per_s=2 * cal.peak_depthwise_madds_per_s,
                 bandwidth_bytes_per_s=cal.bandwidth_bytes_per_s,
                 stream_bytes_per_s=cal.stream_bytes_per_s,
                 source=f"roofs of this machine (convcost calibrate: {cal.machine}, "
                        f"{cal.threads} threads)")


class PlotKind(str, Enum):
    accuracy = "accuracy"
    sweep = "sweep"
    ratio = "ratio"
    memory = "memory"


class Axis(str, Enum):
    madds = "madds"
    params = "params"
    mem_bytes = "mem_bytes"
    flops = "flops"
    latency_ms = "latency_ms"


def _read_latency(path: Path) -> dict[str, float]:
    """Latency in ms at batch 1 by ``"spec"`` or ``"spec@resolution"``: either
    ``{"spec": ms}`` or the JSON of ``convcost bench`` (``{"models": [{"model", "input",
    "median_ms", ...}]}``), whose records are keyed by model and input resolution."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidArgumentError(f"--latency {path}: cannot read JSON ({exc})") from exc

    def ms(value: object, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise InvalidArgumentError(f"--latency {path}: {what} must be a positive number of "
                                       f"milliseconds, got {value!r}")
        return float(value)

    out: dict[str, float] = {}
    if isinstance(data, dict) and isinstance(data.get("models"), list):
        for m in data["models"]:
            if not isinstance(m, dict) or "model" not in m or "median_ms" not in m:
                raise InvalidArgumentError(f"--latency {path}: each record needs model and "
                                           "median_ms (the JSON of convcost bench)")
            shape = m.get("input") or [1]
            if shape[0] != 1:
                raise InvalidArgumentError(f"--latency {path}: {m['model']} was timed at batch "
                                           f"{shape[0]}; accuracy plots need batch-1 latency")
            key = f"{m['model']}@{shape[-1]}" if len(shape) > 1 else str(m["model"])
            out[key] = ms(m["median_ms"], f"{m['model']}'s median_ms")
    elif isinstance(data, dict) and data:
        out = {str(k): ms(v, str(k)) for k, v in data.items()}
    if not out:
        raise InvalidArgumentError(f"--latency {path}: expected {{\"spec\": ms, ...}} or the "
                                   "JSON of convcost bench")
    return out


@app.command()
def plot(
    kind: Annotated[PlotKind, typer.Argument(help="accuracy (top-1 vs cost across the zoo), "
                                             "sweep (width × resolution) or ratio "
                                             "(depthwise-separable ratio over N and Dk).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Image file: .png or .svg.")],
    x: Annotated[Axis, typer.Option("--x", help="accuracy: the cost axis.")] = Axis.madds,
    model: Annotated[list[str] | None, typer.Option(
        "--model", "-m", help="accuracy: only these zoo models (repeat); sweep: the model "
        "(default mobilenet_v1).")] = None,
    labels: Annotated[str, typer.Option(help="accuracy: auto, all, frontier or none.")]
    = "auto",
    latency: Annotated[Path | None, typer.Option(
        help="accuracy: JSON of measured latency in ms by spec (needed for --x latency_ms).")]
    = None,
    size: Annotated[int, typer.Option(help="ratio: feature-map size F.")] = 14,
    spec: Annotated[str | None, typer.Argument(
        metavar="[MODEL]", help="memory: the model (a zoo name or user code).")] = None,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    train: TrainOpt = False,
    optimizer: OptimizerOpt = None,
    allocator: AllocatorOpt = "cpu",
) -> None:
    """Figures: accuracy vs cost with the Pareto frontier, width/resolution sweeps, the
    depthwise-separable ratio surface, a model's memory over an inference or a training step
    (memory MODEL [--train])."""
    from convcost import studies
    from convcost.report import plots

    check_image_path(out)
    if kind is PlotKind.accuracy:
        if x is Axis.latency_ms and latency is None:
            raise InvalidArgumentError("--x latency_ms needs --latency FILE.json with the "
                                       "measured latency of the models")
        with progress() as step:
            pts = studies.zoo_points(model or None, progress=step)
        if latency is not None:
            pts = studies.with_latency(pts, _read_latency(latency))
        fig, front = plots.accuracy_vs_cost(pts, x.value, labels=labels)
        save_atomic(fig, out)
        typer.echo(f"wrote {out}; Pareto frontier ({x.value}): "
                   + ", ".join(p.label for p in front))
    elif kind is PlotKind.sweep:
        if model and len(model) > 1:
            raise InvalidArgumentError("sweep takes one --model")
        pts = studies.sweep_points(model[0] if model else "mobilenet_v1")
        save_atomic(plots.width_resolution_sweep(pts), out)
        typer.echo(f"wrote {out}")
    elif kind is PlotKind.memory:
        _plot_memory(spec, out, input, batch, train, optimizer, allocator)
    else:
        save_atomic(plots.separable_ratio_surface(size=size), out)
        typer.echo(f"wrote {out}")


def _plot_memory(spec: str | None, out: Path, input: list[str] | None, batch: int,
                 train: bool, optimizer: str | None, allocator: str) -> None:
    """``convcost plot memory MODEL``: bytes held over the run, by category."""
    from convcost.report.memory import memory_figure
    from convcost.studies.memory import DEFAULT_OPTIMIZER, memory

    if spec is None:
        raise InvalidArgumentError("plot memory needs the model: convcost plot memory MODEL "
                                   "--out memory.png")
    report = memory(spec, parse_inputs(input), batch=batch, train=train or optimizer is not None,
                    optimizer=optimizer or DEFAULT_OPTIMIZER, alloc=allocator)
    save_atomic(memory_figure(report), out)
    typer.echo(f"wrote {out}; peak {report.peak.bytes:,} bytes during {report.peak.where}")
