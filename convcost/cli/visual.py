"""``convcost report`` and ``convcost plot``: per-layer reports and figures."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from convcost.cli._app import (
    AllocatorOpt,
    BatchOpt,
    DeviceOpt,
    DtypeOpt,
    InputOpt,
    ModelsArg,
    OptimizerOpt,
    SizesOpt,
    TrainOpt,
    app,
    check_image_path,
    parse_inputs,
    progress,
    save_atomic,
    training_optimizer,
)
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
    fmt: Annotated[list[str] | None, typer.Option(
        "--format", "-f", help="What the folder holds (repeat): md (report.md + PNGs), html "
        "(self-contained), json (report.json: every layer), csv (a layer table per model). "
        "Default: md and html.")] = None,
) -> None:
    """Per-layer breakdown report: Markdown + self-contained HTML with plots (and on request
    JSON and CSV of every layer)."""
    from convcost.report.breakdown import check_formats, check_report_folder, write_report
    from convcost.studies.compare import compare

    formats = check_formats(fmt or ["md", "html"])
    check_report_folder(out, force)  # fail before analysing anything
    with progress() as step:
        items = compare(models, parse_inputs(input), batch=batch, dtype=dtype, device=device,
                        progress=step)
    files = write_report(items, out, force=force, title=title, roofs=_machine_roofs(),
                         formats=formats)
    typer.echo(f"wrote {out}/ ({', '.join(f.name for f in files)})")


def _machine_roofs() -> Any:
    """The roofs of this machine's cached ``convcost calibrate`` (CPU, torch's current
    threads, either heap) as plain numbers for the report's roofline, multiply-adds/s
    doubled to FLOP/s; None when nothing is cached (the report then draws its documented
    default roofs)."""
    from convcost.latency.calibrate import read_cached
    from convcost.report.plots import Roofs

    # `convcost calibrate` times with a warm heap by default; a --heap system one will do
    cal = read_cached("cpu", heap="warm") or read_cached("cpu", heap="system")
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


_IMAGE_FORMATS = ("png", "svg")


@app.command()
def plot(
    kind: Annotated[PlotKind, typer.Argument(help="accuracy (top-1 vs cost across the zoo), "
                                             "sweep (width × resolution), ratio "
                                             "(depthwise-separable ratio over N and Dk) or "
                                             "memory (a model's bytes over a run).")],
    models: Annotated[list[str] | None, typer.Argument(
        metavar="[MODEL]...", help="accuracy: only these zoo models (default: the whole zoo); "
        "sweep: the model (default mobilenet_v1); memory: the model (a zoo name or user "
        "code); ratio: none.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Image file: .png or .svg.")]
    = None,
    fmt: Annotated[str | None, typer.Option(
        "--format", "-f", help="png or svg (default: from --out's suffix).")] = None,
    x: Annotated[Axis, typer.Option("--x", help="accuracy: the cost axis.")] = Axis.madds,
    labels: Annotated[str, typer.Option(help="accuracy: auto, all, frontier or none.")]
    = "auto",
    latency: Annotated[Path | None, typer.Option(
        help="accuracy: JSON of measured latency in ms by spec (needed for --x latency_ms).")]
    = None,
    size: Annotated[int, typer.Option(help="ratio: feature-map size F.")] = 14,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    train: TrainOpt = False,
    optimizer: OptimizerOpt = None,
    allocator: AllocatorOpt = "cpu",
    model_option: Annotated[list[str] | None, typer.Option(
        "--model", "-m", hidden=True)] = None,
) -> None:
    """Figures: accuracy vs cost with the Pareto frontier, width/resolution sweeps, the
    depthwise-separable ratio surface, a model's memory over an inference or a training step
    (memory MODEL [--train])."""
    from convcost.report import plots

    if model_option:
        raise InvalidArgumentError("plot takes its models as arguments, as every command does "
                                   f"(convcost plot {kind.value} {' '.join(model_option)} "
                                   "--out FILE); -m/--model is gone")
    out = _image_out(out, fmt)
    models = models or []
    if kind is PlotKind.accuracy:
        if x is Axis.latency_ms and latency is None:
            raise InvalidArgumentError("--x latency_ms needs --latency FILE.json with the "
                                       "measured latency of the models")
        from convcost.studies.points import with_latency, zoo_points

        with progress() as step:
            pts = zoo_points(models or None, progress=step)
        if latency is not None:
            pts = with_latency(pts, _read_latency(latency))
        fig, front = plots.accuracy_vs_cost(pts, x.value, labels=labels)
        save_atomic(fig, out)
        typer.echo(f"wrote {out}; Pareto frontier ({x.value}): "
                   + ", ".join(p.label for p in front))
    elif kind is PlotKind.sweep:
        if len(models) > 1:
            raise InvalidArgumentError(f"plot sweep takes one MODEL, got {len(models)}")
        from convcost.studies.points import sweep_points

        pts = sweep_points(models[0] if models else "mobilenet_v1")
        save_atomic(plots.width_resolution_sweep(pts), out)
        typer.echo(f"wrote {out}")
    elif kind is PlotKind.memory:
        if len(models) != 1:
            raise InvalidArgumentError("plot memory takes one MODEL: convcost plot memory "
                                       "MODEL --out memory.png")
        _plot_memory(models[0], out, input, batch, train, optimizer, allocator)
    else:
        if models:
            raise InvalidArgumentError("plot ratio takes no MODEL (it is the formula's surface "
                                       "over N and Dk; --size sets F)")
        save_atomic(plots.separable_ratio_surface(size=size), out)
        typer.echo(f"wrote {out}")


def _image_out(out: Path | None, fmt: str | None) -> Path:
    """``--out`` and ``--format`` agreed: the suffix gives the format; ``--format`` alone
    (an ``--out`` without suffix) adds it; a disagreement is an error. Checked before work."""
    if out is None:
        raise InvalidArgumentError("give the image file: --out FILE.png (or .svg)")
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        if fmt not in _IMAGE_FORMATS:
            raise InvalidArgumentError(f"--format must be png or svg for a figure, got {fmt!r}")
        suffix = out.suffix.lower().lstrip(".")
        if not suffix:
            out = out.with_name(out.name + "." + fmt)
        elif suffix != fmt:
            raise InvalidArgumentError(f"--out {out} is a .{suffix} file but --format is {fmt}")
    return check_image_path(out)


def _plot_memory(spec: str, out: Path, input: list[str] | None, batch: int,
                 train: bool, optimizer: str | None, allocator: str) -> None:
    """``convcost plot memory MODEL``: bytes held over the run, by category."""
    from convcost.engine.memory import DEFAULT_OPTIMIZER
    from convcost.report.memory import memory_figure
    from convcost.studies.memory import memory

    opt = training_optimizer(train, optimizer)
    report = memory(spec, parse_inputs(input), batch=batch, train=opt is not None,
                    optimizer=opt or DEFAULT_OPTIMIZER, alloc=allocator)
    save_atomic(memory_figure(report), out)
    typer.echo(f"wrote {out}; peak {report.peak.bytes:,} bytes during {report.peak.where}")
