"""``convcost report`` and ``convcost plot``: per-layer reports and figures."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from convcost.cli._app import BatchOpt, DeviceOpt, DtypeOpt, InputOpt, ModelsArg, app
from convcost.errors import InvalidArgumentError


def check_image_path(path: Path) -> Path:
    """A PNG or SVG path in an existing folder, else a one-line error (before any work)."""
    if path.suffix.lower() not in (".png", ".svg"):
        raise InvalidArgumentError(f"{path}: give a .png or .svg file name")
    if not path.parent.is_dir():
        raise InvalidArgumentError(f"folder {path.parent} does not exist; create it first")
    if path.is_dir():
        raise InvalidArgumentError(f"{path} is a folder; give a .png or .svg file name")
    return path


def save_atomic(fig: Any, path: Path) -> None:
    """Save a figure via a temporary file in the same folder, renamed into place."""
    import os
    import tempfile

    from convcost.report.plots import save_figure

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        save_figure(fig, tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@app.command()
def report(
    models: ModelsArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write (report.md, "
                                      "report.html, PNGs).")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing folder.")] = False,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = "float32",
    device: DeviceOpt = "meta",
    title: Annotated[str | None, typer.Option(help="Report title.")] = None,
) -> None:
    """Per-layer breakdown report: Markdown + self-contained HTML with plots."""
    from convcost.cli.models import compared_items
    from convcost.report.breakdown import write_report

    if out.exists() and not force:  # fail before analysing anything
        raise InvalidArgumentError(f"{out} already exists; pass --force to replace it")
    if not out.parent.is_dir():
        raise InvalidArgumentError(f"--out: folder {out.parent} does not exist; create it "
                                   "first")
    items = compared_items(models, input, batch, dtype, device)
    files = write_report(items, out, force=force, title=title)
    typer.echo(f"wrote {out}/ ({', '.join(f.name for f in files)})")


class PlotKind(str, Enum):
    accuracy = "accuracy"
    sweep = "sweep"
    ratio = "ratio"


class Axis(str, Enum):
    madds = "madds"
    params = "params"
    mem_bytes = "mem_bytes"
    flops = "flops"
    latency_ms = "latency_ms"


def _read_latency(path: Path) -> dict[str, float]:
    """Latency in ms by spec: ``{"spec": ms}`` or ``{"models": [{"model", "median_ms"}]}``
    (the shape of ``convcost bench --format json``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidArgumentError(f"--latency {path}: cannot read JSON ({exc})") from exc
    if isinstance(data, dict) and isinstance(data.get("models"), list):
        return {str(m["model"]): float(m["median_ms"]) for m in data["models"]
                if isinstance(m, dict) and "model" in m and m.get("median_ms") is not None}
    if isinstance(data, dict) and all(isinstance(v, int | float) for v in data.values()):
        return {str(k): float(v) for k, v in data.items()}
    raise InvalidArgumentError(f"--latency {path}: expected {{\"spec\": ms, ...}} or the JSON "
                               "of convcost bench")


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
) -> None:
    """Figures: accuracy vs cost with the Pareto frontier, width/resolution sweeps, the
    depthwise-separable ratio surface."""
    from convcost.report import plots, points

    check_image_path(out)
    if kind is PlotKind.accuracy:
        if x is Axis.latency_ms and latency is None:
            raise InvalidArgumentError("--x latency_ms needs --latency FILE.json with the "
                                       "measured latency of the models")
        pts = points.zoo_points(model or None)
        if latency is not None:
            pts = points.with_latency(pts, _read_latency(latency))
        fig, front = plots.accuracy_vs_cost(pts, x.value, labels=labels)
        save_atomic(fig, out)
        typer.echo(f"wrote {out}; Pareto frontier ({x.value}): "
                   + ", ".join(p.label for p in front))
    elif kind is PlotKind.sweep:
        if model and len(model) > 1:
            raise InvalidArgumentError("sweep takes one --model")
        save_atomic(plots.width_resolution_sweep(model[0] if model else "mobilenet_v1"), out)
        typer.echo(f"wrote {out}")
    else:
        save_atomic(plots.separable_ratio_surface(size=size), out)
        typer.echo(f"wrote {out}")
