"""Figures: every function returns a :class:`matplotlib.figure.Figure` and shows nothing.

Figures are built as ``Figure()`` objects on an Agg canvas, never through ``pyplot``: no global
state, no GUI backend, safe in threads and in tests. Save them with ``fig.savefig(path)``
(PNG or SVG) or :func:`save_figure` (deterministic: no timestamps in the file).

* :func:`compare_bars` — the compared figures of several models, relative to the first.
* :func:`accuracy_vs_cost` — top-1 against multiply-adds, params, memory access or latency,
  with the Pareto frontier drawn and returned.
* :func:`width_resolution_sweep` — cost of a ``width_mult`` model over α × input size, with
  the closed forms α²·ρ² and α² overlaid.
* :func:`separable_ratio_surface` — depthwise-separable / standard multiply-adds over N and
  Dk, exact beside ``1/N + 1/Dk²``, and the memory-access ratio that does not follow it.
* :func:`per_layer_cost`, :func:`cumulative_cost` — one model, op by op, the x-axis
  labelled with the layers' module names.
* :func:`roofline_scatter` — a roofline: a machine's roofs (:class:`Roofs`, peak FLOP/s per
  class of op and memory bandwidth; :data:`DEFAULT_ROOFS` unless the caller passes its own)
  and one model's ops placed by arithmetic intensity in **FLOPs per byte** of memory access.
* :func:`cumulative_overlay` — several models' cumulative cost on one axis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcost.engine.labels import Family, labels
from convcost.errors import InvalidArgumentError
from convcost.records.points import COST_AXES, CostPoint, pareto_frontier
from convcost.report.units import megabytes, shape_text, si

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from convcost.records.analysis import Analysis

DPI = 100

AXIS_LABELS = {
    "madds": "multiply-adds",
    "params": "parameters",
    "mem_bytes": "memory access (bytes, no fusion)",
    "flops": "FLOPs",
    "latency_ms": "measured latency (ms)",
    "top1": "ImageNet top-1 accuracy (%)",
}

# one colour per conv kind, shared by every per-layer figure
KIND_COLORS = {
    "standard": "#1f77b4",
    "pointwise": "#2ca02c",
    "depthwise": "#d62728",
    "grouped": "#9467bd",
    "linear": "#ff7f0e",
    "other": "#7f7f7f",
}


# --- plumbing ----------------------------------------------------------------------------------

def new_figure(width: float, height: float) -> Figure:
    """An empty Figure on an Agg canvas (no pyplot, no GUI), with constrained layout."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | Path, dpi: int = DPI) -> Path:
    """Save as PNG or SVG (by suffix) without timestamps, so reruns give identical files."""
    import matplotlib

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise InvalidArgumentError(f"{path}: plots are saved as .png or .svg, got {fmt!r}")
    meta: dict[str, Any] = {"Software": None} if fmt == "png" else {"Date": None,
                                                                    "Creator": None}
    with matplotlib.rc_context({"svg.hashsalt": "convcost"}):
        fig.savefig(path, format=fmt, dpi=dpi, metadata=meta)
    return path


def figure_png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes (for embedding in HTML)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _tick_label(v: float) -> str:
    """A tick label with as few decimals as keep it exact: 500K, 1.5M, 2M, 0.25."""
    if v <= 0:
        return "0"
    scale = next((sc for sc in (1e12, 1e9, 1e6, 1e3) if v >= sc), 1.0)
    mant = v / scale
    dec = next((d for d in (0, 1, 2) if abs(mant * 10**d - round(mant * 10**d)) < 1e-6), 2)
    return si(v, dec)


def _si_formatter(unit: str = "") -> Any:
    from matplotlib.ticker import FuncFormatter

    if unit == "B":
        # 500KB, 200MB, 1.5GB (decimal prefixes, as every MB in convcost)
        return FuncFormatter(lambda v, _: _tick_label(v) + "B" if v > 0 else "0")
    return FuncFormatter(lambda v, _: _tick_label(v))


def _tick_format(axis: str) -> Any:
    return _si_formatter("B" if axis == "mem_bytes" else "")


_PRODUCTS = labels(Family.LINEAR, Family.ATTENTION)  # linear, matmul, addmm, attention


def _kind(row: Any) -> str:
    if row.conv_kind:
        return str(row.conv_kind)
    return "linear" if row.op in _PRODUCTS else "other"


# --- label placement ---------------------------------------------------------------------------

# directions tried around a point, nearest first: right, left, above, below, then diagonals
_DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1))
_RADII = (3, 9, 16, 26, 38, 52)  # gap between marker and label edge, in points


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(ax: Axes, xs: Sequence[float], ys: Sequence[float], texts: Sequence[str],
                 *, fontsize: float = 7.5, marker_pt: float = 4.0,
                 priority: Sequence[int] = (),
                 obstacles: Sequence[tuple[float, float]] = (),
                 lines: Sequence[tuple[Sequence[float], Sequence[float]]] = (),
                 colors: Sequence[str] | None = None) -> list[int]:
    """Label points so that no two labels overlap each other, a marker, or the axes' edge.

    Deterministic greedy repel: labels are placed one by one (``priority`` indices first, then
    by x), each at the first of 8 directions × 6 distances around its point whose box touches
    no placed label and no marker; a label placed away from its point gets a thin leader line.
    A label with no free spot is left out. ``obstacles`` are more data points to keep clear
    (unlabelled markers), ``lines`` polylines (xs, ys) that labels must not cross. Call it
    after the limits and scales are final.
    Returns the indices of the labelled points.
    """
    fig = ax.get_figure(root=True)
    assert fig is not None
    fig.draw_without_rendering()  # settle the layout, so data -> pixel transforms are final
    fig.set_layout_engine("none")  # labels must not move the axes after placement
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    px_per_pt = fig.dpi / 72
    frame = ax.get_window_extent(renderer)
    pts = [tuple(ax.transData.transform((x, y))) for x, y in zip(xs, ys, strict=True)]
    r = marker_pt * px_per_pt
    more = [tuple(ax.transData.transform(xy)) for xy in obstacles]
    taken = [(px - r, py - r, px + r, py + r) for px, py in [*pts, *more]]
    for lx, ly in lines:  # a small box every few pixels along each line
        taken += [(px - 2, py - 2, px + 2, py + 2) for px, py in _line_pixels(ax, lx, ly)]
    order = list(dict.fromkeys([*priority, *sorted(range(len(xs)), key=lambda i: (xs[i], i))]))
    placed = []
    for i in order:
        probe = ax.text(0, 0, texts[i], fontsize=fontsize)
        box = probe.get_window_extent(renderer)
        probe.remove()
        w, h = box.width + 2, box.height + 2
        px, py = pts[i]
        for radius in _RADII:
            gap = radius * px_per_pt + r
            spot = None
            for dx, dy in _DIRECTIONS:
                cx = px + dx * (gap + w / 2)
                cy = py + dy * (gap + h / 2)
                cand = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                inside = (cand[0] >= frame.x0 and cand[2] <= frame.x1 and cand[1] >= frame.y0
                          and cand[3] <= frame.y1)
                if inside and not any(_overlap(cand, t) for t in taken):
                    spot = (cx, cy, cand)
                    break
            if spot is not None:
                cx, cy, cand = spot
                taken.append(cand)
                far = radius > _RADII[1]
                ax.annotate(texts[i], (xs[i], ys[i]),
                            xytext=((cx - px) / px_per_pt, (cy - py) / px_per_pt),
                            textcoords="offset points", ha="center", va="center",
                            fontsize=fontsize, gid=f"label-{i}",
                            color=colors[i] if colors is not None else None,
                            arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.5",
                                        "shrinkA": 0, "shrinkB": 2} if far else None)
                placed.append(i)
                break
    return sorted(placed)


# --- compare -----------------------------------------------------------------------------------

COMPARE_FIELDS = ("params", "madds", "flops", "mem_bytes")


def compare_bars(analyses: Sequence[Analysis], fields: Sequence[str] = COMPARE_FIELDS,
                 labels: Sequence[str] | None = None,
                 latency_ms: Sequence[float] | None = None) -> Figure:
    """Grouped bars: one group per figure (params, multiply-adds, ...), one bar per model,
    height relative to the first model (= 1), each bar labelled with its absolute value.
    ``latency_ms`` (one measured median per analysis) adds a "latency" group."""
    if not analyses:
        raise InvalidArgumentError("compare_bars needs at least one analysis")
    for f in fields:
        if f not in (*COMPARE_FIELDS, "mem_read_bytes", "mem_write_bytes"):
            raise InvalidArgumentError(f"unknown field {f!r}; use {', '.join(COMPARE_FIELDS)}")
    from convcost.report.compare import display_names

    several_inputs = len({a.input for a in analyses}) > 1
    names = list(labels) if labels is not None else display_names(analyses)
    import numpy as np

    fig = new_figure(min(14.0, 2.5 + len(fields) * (0.45 * len(analyses) + 0.6)), 4.8)
    ax = fig.add_subplot()
    if latency_ms is not None and len(latency_ms) != len(analyses):
        raise InvalidArgumentError("compare_bars: give one latency per analysis")
    values: list[dict[str, float]] = [dict(a.totals.as_dict()) for a in analyses]
    if latency_ms is not None:
        fields = (*fields, "latency_ms")
        for vals, ms in zip(values, latency_ms, strict=True):
            vals["latency_ms"] = ms
    base = values[0]
    n = len(analyses)
    width = 0.8 / n
    x = np.arange(len(fields))
    colors = [f"C{i % 10}" for i in range(n)]
    top = 0.0
    for j, (vals, name) in enumerate(zip(values, names, strict=True)):
        rel = [vals[f] / base[f] if base[f] else 0.0 for f in fields]
        top = max(top, *rel)
        bars = ax.bar(x + (j - (n - 1) / 2) * width, rel, width * 0.92, label=name,
                      color=colors[j], gid=f"bars-{j}")
        texts = [megabytes(vals[f], 1).replace(" MB", "MB") if f.endswith("bytes")
                 else f"{vals[f]:.3g}ms" if f == "latency_ms" else si(vals[f], 1)
                 for f in fields]
        ax.bar_label(bars, texts, fontsize=7.5 if n <= 4 else 6.5, padding=2,
                     rotation=0 if n <= 4 else 90)
    ax.set_xticks(x, [AXIS_LABELS[f].split(" (")[0] if f in AXIS_LABELS else f
                      for f in fields])
    ax.set_ylabel(f"relative to {names[0]} (= 1)")
    ax.set_ylim(0, top * (1.15 if n <= 4 else 1.35))
    ax.axhline(1.0, color="0.4", lw=0.7, ls="--")
    ax.set_title(f"Cost compared, input {shape_text(analyses[0].input)}"
                 if not several_inputs else "Cost compared")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize=8,
               ncols=min(n, 3), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


# --- accuracy vs cost --------------------------------------------------------------------------

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "*", "p")


def accuracy_vs_cost(points: Sequence[CostPoint], x: str = "madds", *,
                     labels: str = "auto",
                     title: str | None = None) -> tuple[Figure, list[CostPoint]]:
    """Top-1 against a cost (log x-axis): one marker per model and variant, coloured by
    family, the Pareto frontier (lowest cost for its accuracy) drawn as a staircase and listed
    beside the plot. Points without a top-1 or without the ``x`` figure (e.g. no measured
    latency) are left out.

    ``labels``: ``all`` (every point), ``frontier`` (frontier points and each model's default
    variant), ``none``, or ``auto`` (all up to 30 points, else ``frontier``). Labels never
    overlap; one with no free spot is left out (the frontier is labelled first).

    Returns the figure and the frontier points in order of increasing cost.
    """
    if x not in COST_AXES:
        raise InvalidArgumentError(f"x must be one of {', '.join(COST_AXES)}, got {x!r}")
    if labels not in ("auto", "all", "frontier", "none"):
        raise InvalidArgumentError(f"labels must be auto, all, frontier or none, got {labels!r}")
    usable = [p for p in points if p.top1 is not None and p.value(x) is not None]
    if not usable:
        hint = (" (attach measurements with convcost.studies.with_latency)"
                if x == "latency_ms" else "")
        raise InvalidArgumentError(f"no point has both a top-1 and {x}{hint}")
    xs = [float(p.value(x) or 0.0) for p in usable]  # never None: filtered above
    ys = [float(p.top1 or 0.0) for p in usable]
    front = pareto_frontier(xs, ys)

    fig = new_figure(11.5, 6.4)
    grid = fig.add_gridspec(1, 2, width_ratios=(3.3, 1))
    ax = fig.add_subplot(grid[0, 0])
    side = fig.add_subplot(grid[0, 1])
    side.axis("off")

    families = list(dict.fromkeys(p.family or p.model for p in usable))
    for k, fam in enumerate(families):
        idx = [i for i, p in enumerate(usable) if (p.family or p.model) == fam]
        ax.scatter([xs[i] for i in idx], [ys[i] for i in idx], s=30, zorder=3,
                   marker=_MARKERS[k % len(_MARKERS)], color=f"C{k % 10}", label=fam,
                   edgecolor="white", linewidth=0.5, gid=f"family-{k}")
    fx = [xs[i] for i in front] + [max(xs) * 1.25]  # the staircase runs on to the edge
    fy = [ys[i] for i in front]
    fy.append(fy[-1])
    ax.step(fx, fy, where="post", color="0.25", lw=1.0,
            ls="--", zorder=2, label="Pareto frontier", gid="frontier")
    ax.scatter(fx[:-1], fy[:-1], s=90, facecolor="none", edgecolor="0.15", lw=1.0, zorder=4,
               gid="frontier-points")
    ax.set_xscale("log")
    lo, hi = min(xs), max(xs)
    ax.set_xlim(lo / 1.5, hi * 1.5)
    ax.set_ylim(min(ys) - 2.5, max(ys) + 2.5)
    ax.xaxis.set_major_formatter(_tick_format(x))
    if hi / lo < 30:  # less than ~1.5 decades: label 2×, 3×, 5× too, or one tick is left
        from matplotlib.ticker import LogLocator

        ax.xaxis.set_minor_locator(LogLocator(subs=(2.0, 3.0, 5.0)))
        ax.xaxis.set_minor_formatter(_tick_format(x))
    else:
        ax.xaxis.set_minor_formatter(_blank())
    ax.set_xlabel(f"{AXIS_LABELS[x]} — log scale")
    ax.set_ylabel(AXIS_LABELS["top1"])
    ax.grid(True, which="major", color="0.9", lw=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(title or f"Accuracy vs {AXIS_LABELS[x].split(' (')[0]}: "
                 f"{len(usable)} models and variants")

    side.legend(*ax.get_legend_handles_labels(), loc="upper left", fontsize=8, frameon=False,
                title="family", title_fontsize=8.5, alignment="left")
    lines = [f"{n + 1}. {usable[i].label}  ({_fmt(xs[i], x)}, {ys[i]:.1f}%)"
             for n, i in enumerate(front)]
    side.text(0.0, 0.0, "Pareto frontier (low cost, high top-1):\n" + "\n".join(lines),
              fontsize=7.5, va="bottom", ha="left", transform=side.transAxes, gid="frontier-list")

    mode = labels if labels != "auto" else ("all" if len(usable) <= 30 else "frontier")
    if mode != "none":
        if mode == "all":
            chosen = list(range(len(usable)))
        else:
            defaults = [i for i, p in enumerate(usable) if p.is_default]
            chosen = sorted(set(front) | set(defaults))
        texts = [usable[i].label for i in chosen]
        others = [(xs[i], ys[i]) for i in range(len(usable)) if i not in set(chosen)]
        place_labels(ax, [xs[i] for i in chosen], [ys[i] for i in chosen], texts,
                     priority=[chosen.index(i) for i in front], obstacles=others,
                     lines=[_step_corners(fx, fy)])
    return fig, [usable[i] for i in front]


def _step_corners(xs: Sequence[float],
                  ys: Sequence[float]) -> tuple[list[float], list[float]]:
    """The corners of a post-step line through (xs, ys), as a polyline."""
    cx: list[float] = []
    cy: list[float] = []
    for i in range(len(xs)):
        cx.append(xs[i])
        cy.append(ys[i])
        if i + 1 < len(xs):
            cx.append(xs[i + 1])
            cy.append(ys[i])
    return cx, cy


def _line_pixels(ax: Axes, xs: Sequence[float], ys: Sequence[float],
                 spacing_px: float = 5.0) -> list[tuple[float, float]]:
    """Pixel points every few pixels along a polyline given in data coordinates."""
    to_px = ax.transData.transform
    out = []
    for x0, y0, x1, y1 in zip(xs, ys, xs[1:], ys[1:], strict=False):
        p0, p1 = to_px((x0, y0)), to_px((x1, y1))
        steps = max(1, int(math.hypot(*(p1 - p0)) / spacing_px))
        out += [(float(q[0]), float(q[1])) for q in
                (p0 + (p1 - p0) * k / steps for k in range(steps + 1))]
    return out


def _blank() -> Any:
    from matplotlib.ticker import NullFormatter

    return NullFormatter()


def _fmt(v: float, axis: str) -> str:
    if axis == "mem_bytes":
        return megabytes(v, 1)
    if axis == "latency_ms":
        return f"{v:.2f} ms"
    return si(v, 1)


# --- width and resolution sweeps ---------------------------------------------------------------

def width_resolution_sweep(points: Sequence[CostPoint]) -> Figure:
    """Multiply-adds and parameters of a ``width_mult`` zoo model over α × input size.

    Left: multiply-adds against α, one curve per resolution, with the closed form α²·ρ² drawn
    from the largest variant (dashed). Right: parameters against α with α² (dashed); parts
    that do not scale as α² (a classifier whose in-features scale as α, a head kept at full
    width as in MobileNet V2) keep the narrow models above it.
    Published top-1 values are written next to the variants that have one. ``points``: one
    model's variants (:func:`convcost.studies.sweep_points`; ``convcost.plots`` makes them
    from a model name).
    """
    pts = list(points)
    if not pts:
        raise InvalidArgumentError("width_resolution_sweep needs at least one point")
    alphas = sorted({_alpha(p) for p in pts})
    resolutions = sorted({p.resolution for p in pts})
    by = {(_alpha(p), p.resolution): p for p in pts}
    a_max, r_max = alphas[-1], resolutions[-1]
    ref = by[(a_max, r_max)]

    fig = new_figure(11.5, 4.8)
    left, right = fig.subplots(1, 2)
    lines: list[tuple[list[float], list[float]]] = []
    for k, res in enumerate(resolutions):
        xs = [a for a in alphas if (a, res) in by]
        ys = [float(by[(a, res)].madds) for a in xs]
        color = f"C{k}"
        left.plot(xs, ys, "o-", color=color, label=f"{res}×{res}", gid=f"sweep-{res}")
        closed = [ref.madds * (a / a_max) ** 2 * (res / r_max) ** 2 for a in xs]
        left.plot(xs, closed, ls="--", lw=0.9, color=color, alpha=0.7)
        lines.append((xs, ys))
        lines.append((xs, closed))
    left.plot([], [], ls="--", color="0.4", label="closed form α²·ρ²")
    from matplotlib.ticker import LogLocator

    left.set_yscale("log")
    left.yaxis.set_major_formatter(_si_formatter())
    left.yaxis.set_minor_locator(LogLocator(subs=(2.0, 3.0, 5.0)))
    left.yaxis.set_minor_formatter(_si_formatter())
    left.tick_params(axis="y", which="minor", labelsize=7)
    left.set_xlim(min(alphas) - 0.08, max(alphas) + 0.12)
    left.set_xlabel("width multiplier α")
    left.set_ylabel("multiply-adds — log scale")
    left.set_title(f"{ref.model}: multiply-adds by α and input size\n"
                   "(labels: published top-1)", fontsize=10)
    left.legend(fontsize=8, title="input", title_fontsize=8)
    left.set_xticks(alphas)

    params = [by[(a, r_max)].params for a in alphas]
    right.plot(alphas, params, "o-", color="C4", label="computed", gid="sweep-params")
    right.plot(alphas, [ref.params * (a / a_max) ** 2 for a in alphas], ls="--", color="0.4",
               label="closed form α²")
    right.set_xlabel("width multiplier α")
    right.set_ylabel("parameters")
    right.yaxis.set_major_formatter(_si_formatter())
    right.set_ylim(0, max(params) * 1.1)
    right.set_xticks(alphas)
    right.set_title(f"{ref.model}: parameters by α (independent of input size)", fontsize=10)
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.grid(True, color="0.92", lw=0.6)
        ax.spines[["top", "right"]].set_visible(False)
    labelled = [p for p in pts if p.top1 is not None]
    if labelled:
        place_labels(left, [_alpha(p) for p in labelled], [p.madds for p in labelled],
                     [f"{p.top1:.1f}%" for p in labelled], fontsize=7, lines=lines,
                     colors=[f"C{resolutions.index(p.resolution)}" for p in labelled])
    return fig


def _alpha(p: CostPoint) -> float:
    return p.width_mult


# --- depthwise-separable ratio -----------------------------------------------------------------

def separable_ratio_surface(channels: Sequence[int] = (8, 16, 32, 64, 128, 256, 512, 1024),
                            kernels: Sequence[int] = (1, 2, 3, 4, 5, 6, 7, 8, 9),
                            size: int = 14, curves: Sequence[int] = (3, 5, 7)) -> Figure:
    """Depthwise-separable / standard cost of one layer over output channels N and kernel Dk.

    Left: the exact multiply-add ratio (from :func:`convcost.formulas.separable_comparison`,
    M = N, F = ``size``, stride 1) as a heat map. Right: for Dk in ``curves``, the exact ratio
    (markers) on the closed form ``1/N + 1/Dk²`` (lines) — they coincide, the spatial size
    cancels — and the memory-access ratio (dotted), which does not follow it: the separable
    pair writes and re-reads an M×F×F intermediate map.
    """
    import numpy as np
    from matplotlib.colors import LogNorm

    from convcost.formulas import separable_comparison

    grid = np.zeros((len(kernels), len(channels)))
    for i, k in enumerate(kernels):
        for j, n in enumerate(channels):
            grid[i, j] = float(separable_comparison(n, n, k, size).exact_ratio)

    fig = new_figure(12.0, 5.0)
    left, right = fig.subplots(1, 2, width_ratios=(1.05, 1))
    im = left.imshow(grid, origin="lower", aspect="auto", cmap="viridis_r",
                     norm=LogNorm(vmin=grid.min(), vmax=max(1.0, grid.max())), gid="surface")
    for i in range(len(kernels)):
        for j in range(len(channels)):
            v = grid[i, j]
            left.text(j, i, f"{v:.2f}" if v >= 0.095 else f"{v:.3f}", ha="center",
                      va="center", fontsize=6.5,
                      color="white" if v > math.sqrt(grid.min() * max(1.0, grid.max()))
                      else "black")
    left.set_xticks(range(len(channels)), [str(c) for c in channels])
    left.set_yticks(range(len(kernels)), [f"{k}×{k}" for k in kernels])
    left.set_xlabel("output channels N (= input channels M)")
    left.set_ylabel("kernel Dk × Dk")
    left.set_title(f"exact separable / standard multiply-adds (F = {size})", fontsize=10)
    bar = fig.colorbar(im, ax=left, label="ratio (log scale)", shrink=0.9)
    bar.formatter = _ratio_formatter()
    bar.update_ticks()

    ns = list(channels)
    dense = np.geomspace(min(ns), max(ns), 200)
    for k_i, k in enumerate(curves):
        color = f"C{k_i}"
        comps = [separable_comparison(n, n, k, size) for n in ns]
        mem = [float(c.ratios(c.separable)["mem_bytes"]) for c in comps]
        right.plot(dense, 1 / dense + 1 / k**2, color=color, lw=1.2,
                   label=f"1/N + 1/{k * k} (Dk={k})", gid=f"closed-{k}")
        exact = [float(c.exact_ratio) for c in comps]
        right.plot(ns, exact, "o", color=color, ms=5, gid=f"exact-{k}")
        right.plot(ns, mem, ":", marker=".", color=color, lw=1.2, gid=f"mem-{k}")
    right.plot([], [], "o", color="0.3", ms=5, label="exact multiply-adds (markers)")
    right.plot([], [], ":", marker=".", color="0.3", label="exact memory access (bytes)")
    right.set_xscale("log", base=2)
    right.set_yscale("log")
    right.set_xticks(ns, [str(n) for n in ns])
    right.set_xlabel("output channels N (= M) — log scale")
    right.set_ylabel("separable / standard — log scale")
    right.yaxis.set_major_formatter(_ratio_formatter())
    right.set_title("closed form vs exact, multiply-adds and memory access", fontsize=10)
    right.grid(True, which="both", color="0.92", lw=0.6)
    right.legend(fontsize=7.5, loc="upper right")
    right.spines[["top", "right"]].set_visible(False)
    return fig


def _ratio_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:g}")


# --- one model, op by op -----------------------------------------------------------------------

def _category_legend(ax: Axes, kinds: Sequence[str]) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=KIND_COLORS[k], label=k if k in ("linear", "other") else f"{k} conv")
               for k in KIND_COLORS if k in kinds]
    ax.legend(handles=handles, fontsize=7.5, loc="upper right", ncols=len(handles),
              frameon=False)


def _layer_name(row: Any, limit: int = 28) -> str:
    """A row's module name for a tick label; a long one keeps its end (``…stage3.2.branch2``)."""
    name = str(row.name or "(root)")
    return name if len(name) <= limit else "…" + name[-(limit - 1):]


def labelled_ops(rows: Sequence[Any], limit: int) -> list[int]:
    """The indices of the ops whose names label the x-axis: every op when there are at most
    ``limit``; else the ops with multiply-adds (the conv and linear layers), each at least
    ``len(rows) / limit`` ops after the previous one, so no two labels touch."""
    every = list(range(len(rows)))
    if len(every) <= limit:
        return every
    gap = math.ceil(len(rows) / limit)
    shown: list[int] = []
    for i in [i for i in every if rows[i].cost.madds > 0] or every:
        if not shown or i - shown[-1] >= gap:
            shown.append(i)
    return shown


def per_layer_cost(a: Analysis, max_labels: int = 64) -> Figure:
    """Multiply-adds (top) and memory access (bottom) of every op in execution order,
    coloured by conv kind; ops without multiply-adds (norm, activation, add, concat, shuffle)
    are grey and show up only in memory access. The x-axis is labelled with the layers'
    module names (when there are more than ``max_labels`` ops, the conv and linear layers,
    spaced so that no two labels touch: :func:`labelled_ops`)."""
    rows = a.rows
    kinds = [_kind(r) for r in rows]
    colors = [KIND_COLORS[k] for k in kinds]
    idx = list(range(len(rows)))
    fig = new_figure(11.0, 6.8)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(1, 1))
    top.bar(idx, [r.cost.madds for r in rows], width=0.85, color=colors, gid="madds")
    bottom.bar(idx, [r.cost.mem_bytes for r in rows], width=0.85, color=colors, gid="mem")
    top.yaxis.set_major_formatter(_si_formatter())
    bottom.yaxis.set_major_formatter(_si_formatter("B"))
    top.set_ylabel("multiply-adds")
    bottom.set_ylabel("memory access")
    shown = labelled_ops(rows, max_labels)
    bottom.set_xticks(shown, [_layer_name(rows[i]) for i in shown], rotation=90,
                      fontsize=6.5 if len(shown) <= 40 else 5.5, fontfamily="monospace")
    top.tick_params(axis="x", length=0)
    every = len(shown) == len(rows)
    bottom.set_xlabel("layer (module name), in execution order" + (
        "" if every else f"; {len(shown)} of {len(rows)} ops named"), fontsize=9)
    t = a.totals
    top.set_title(f"{a.model}, input {shape_text(a.input)}: {si(t.madds)} multiply-adds,"
                  f" {megabytes(t.mem_bytes)} memory access over {len(rows)} ops", fontsize=10)
    _category_legend(top, sorted(set(kinds), key=list(KIND_COLORS).index))
    top.set_ylim(0, max((r.cost.madds for r in rows), default=1) * 1.18 or 1)
    for ax in (top, bottom):
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(True, axis="y", color="0.92", lw=0.6)
        ax.set_xlim(-1, len(rows))
    return fig


def cumulative_cost(a: Analysis) -> Figure:
    """Cumulative share of multiply-adds, parameters and memory access along the network."""
    import numpy as np

    rows = a.rows
    t = a.totals
    fig = new_figure(9.0, 4.6)
    ax = fig.add_subplot()
    idx = np.arange(1, len(rows) + 1)
    for field, label, color in (("madds", "multiply-adds", "C0"), ("params", "parameters", "C1"),
                                ("mem_bytes", "memory access", "C2")):
        total = getattr(t, field)
        if not total:
            continue
        cum = np.cumsum([getattr(r.cost, field) for r in rows]) / total * 100
        ax.step(idx, cum, where="post", color=color, label=label, gid=f"cum-{field}")
    ax.set_xlabel("ops executed (execution order)")
    ax.set_ylabel("% of the model's total")
    ax.set_ylim(0, 101)
    ax.set_xlim(0, len(rows) + 1)
    ax.grid(True, color="0.92", lw=0.6)
    ax.legend(fontsize=8, loc="upper left")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(f"{a.model}: where the cost accumulates, input {shape_text(a.input)}",
                 fontsize=10)
    return fig


@dataclass(frozen=True)
class Roofs:
    """A machine's roofline as plain numbers: the peak FLOP/s of each class of op and the
    memory bandwidth in bytes/s.

    ``report/`` never imports the latency model; the caller builds this from whatever it
    knows (``convcost report`` from a cached ``convcost calibrate`` result, whose
    multiply-add rates are doubled into FLOP/s) or uses :data:`DEFAULT_ROOFS`. ``source``
    says where the numbers come from and is printed on the figure.
    """

    dense_flops_per_s: float  # k×k convs, dense and grouped
    pointwise_flops_per_s: float  # 1×1 convs, linear, matmul, attention
    depthwise_flops_per_s: float
    bandwidth_bytes_per_s: float  # data that stays in cache (an ImageNet feature map)
    stream_bytes_per_s: float | None = None  # data streamed beyond the last-level cache
    source: str = ""

    def peak(self, kind: str) -> float:
        """The compute roof of a conv kind (:data:`KIND_COLORS`); ops without
        multiply-adds ("other") share the dense roof (only the memory roof matters to them)."""
        if kind == "depthwise":
            return self.depthwise_flops_per_s
        if kind in ("pointwise", "linear"):
            return self.pointwise_flops_per_s
        return self.dense_flops_per_s

    def attainable(self, kind: str, intensity: float) -> float:
        """The roofline: ``min(peak of the kind, intensity × bandwidth)`` in FLOP/s, for
        ``intensity`` in FLOPs per byte."""
        return min(self.peak(kind), intensity * self.bandwidth_bytes_per_s)


# The documented default roofs: `convcost calibrate` on the 2-core CPU of
# docs/benchmarks/latency.md (86.2, 63.6 and 19.1 G multiply-adds/s for dense, pointwise and
# depthwise convs, 135.9 GB/s in cache, 17.4 GB/s streamed), multiply-adds doubled to FLOPs.
DEFAULT_ROOFS = Roofs(
    dense_flops_per_s=172.466e9,
    pointwise_flops_per_s=127.264e9,
    depthwise_flops_per_s=38.186e9,
    bandwidth_bytes_per_s=135.852e9,
    stream_bytes_per_s=17.396e9,
    source="default roofs (the 2-core CPU of docs/benchmarks/latency.md; "
           "`convcost calibrate` measures this machine's)",
)

_ROOF_LABELS = {"dense": "dense k×k conv", "pointwise": "pointwise conv / linear",
                "depthwise": "depthwise conv"}


def roofline_scatter(a: Analysis, roofs: Roofs | None = None) -> Figure:
    """A roofline of one model's ops on one machine.

    The roofs: a horizontal line at each op class's peak FLOP/s (dense, pointwise and
    depthwise convs) and the memory roof ``bandwidth × intensity`` (dotted: the bandwidth of
    data streamed beyond the cache). Every op with FLOPs is placed at its arithmetic
    intensity — **FLOPs per byte** of memory access, no fusion, at the analysed dtype — and
    at the FLOP/s its class's roofline allows there (what the analytic model predicts; a
    measured op sits at or below it), marker area proportional to its FLOPs, coloured by
    conv kind. Ops left of their class's ridge point are memory-bound: depthwise convs do
    about Dk² FLOPs per element they read and write, so they sit far to the left.

    ``roofs`` default to :data:`DEFAULT_ROOFS`; ``convcost report`` passes this machine's
    from a cached ``convcost calibrate`` when there is one.
    """
    import numpy as np

    roofs = roofs or DEFAULT_ROOFS
    rows = [r for r in a.rows if r.cost.flops > 0 and r.cost.mem_bytes > 0]
    if not rows:
        raise InvalidArgumentError(f"{a.model} has no op with FLOPs to plot")
    fig = new_figure(9.0, 5.8)
    ax = fig.add_subplot()
    kinds = [_kind(r) for r in rows]
    intensity = [r.cost.flops / r.cost.mem_bytes for r in rows]
    total_flops = sum(r.cost.flops for r in rows)
    x_lo = min(intensity) / 2.5
    x_hi = max(max(intensity) * 2.5, 4 * roofs.dense_flops_per_s / roofs.bandwidth_bytes_per_s)
    xs = np.geomspace(x_lo, x_hi, 200)
    top = max(roofs.dense_flops_per_s, roofs.pointwise_flops_per_s,
              roofs.depthwise_flops_per_s)
    ax.plot(xs, np.minimum(xs * roofs.bandwidth_bytes_per_s, top), color="black", lw=1.3,
            gid="roofline-memory",
            label=f"memory roof: {roofs.bandwidth_bytes_per_s / 1e9:.0f} GB/s × intensity")
    if roofs.stream_bytes_per_s:
        ax.plot(xs, np.minimum(xs * roofs.stream_bytes_per_s, top), color="0.45", lw=1.0,
                ls=":", gid="roofline-stream",
                label=f"beyond the cache: {roofs.stream_bytes_per_s / 1e9:.0f} GB/s")
    for name, style in (("dense", "-"), ("pointwise", "--"), ("depthwise", "-.")):
        peak = getattr(roofs, f"{name}_flops_per_s")
        ridge = peak / roofs.bandwidth_bytes_per_s
        ax.plot([ridge, x_hi], [peak, peak], color="0.25", lw=1.0, ls=style,
                gid=f"roofline-{name}")
        ax.annotate(f"{_ROOF_LABELS[name]}: {peak / 1e9:.0f} GFLOP/s", (ridge, peak),
                    xytext=(4, -3), textcoords="offset points", ha="left", va="top",
                    fontsize=7.5, color="0.25")
    order = [k for k in KIND_COLORS if k in kinds]
    for k in order:
        sel = [i for i, kk in enumerate(kinds) if kk == k]
        sx = [intensity[i] for i in sel]
        sy = [roofs.attainable(k, intensity[i]) for i in sel]
        area = [12 + 900 * rows[i].cost.flops / total_flops for i in sel]
        bound = sum(1 for i in sel if intensity[i] * roofs.bandwidth_bytes_per_s
                    < roofs.peak(k))
        label = k if k in ("linear", "other") else f"{k} conv"
        ax.scatter(sx, sy, s=area, color=KIND_COLORS[k], alpha=0.75, edgecolor="white",
                   linewidth=0.5, zorder=3, gid=f"roof-{k}",
                   label=f"{label}: {len(sel)} op{'s' if len(sel) > 1 else ''}, "
                         f"{bound} memory-bound")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(x_lo, x_hi)
    low = min(roofs.attainable(k, x) for k, x in zip(kinds, intensity, strict=True))
    ax.set_ylim(low / 3, top * 3)
    ax.yaxis.set_major_formatter(_si_formatter())
    from matplotlib.ticker import LogLocator

    ax.xaxis.set_major_formatter(_ratio_formatter())
    ax.xaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    ax.xaxis.set_minor_formatter(_ratio_formatter())
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel("arithmetic intensity: FLOPs per byte of memory access — log scale")
    ax.set_ylabel("attainable FLOP/s — log scale")
    ax.grid(True, which="major", color="0.92", lw=0.6)
    ax.legend(fontsize=7.5, loc="upper left", framealpha=0.9,
              title="marker area ∝ the op's FLOPs", title_fontsize=7.5)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(f"{a.model}: roofline, {a.dtype}, no fusion\n{roofs.source}", fontsize=9)
    return fig


def cumulative_overlay(analyses: Sequence[Analysis],
                       labels: Sequence[str] | None = None) -> Figure:
    """Several models on one axis: cumulative multiply-adds (left) and memory access (right),
    in absolute terms, against the share of each model's ops executed (0 → 100 %), so
    networks of different depth line up from input to output."""
    import numpy as np

    if not analyses:
        raise InvalidArgumentError("cumulative_overlay needs at least one analysis")
    from convcost.report.compare import display_names

    names = list(labels) if labels is not None else display_names(analyses)
    fig = new_figure(11.0, 4.6)
    left, right = fig.subplots(1, 2)
    for j, (a, name) in enumerate(zip(analyses, names, strict=True)):
        rows = a.rows
        x = np.arange(0, len(rows) + 1) / max(len(rows), 1) * 100
        for ax, field in ((left, "madds"), (right, "mem_bytes")):
            cum = np.concatenate([[0], np.cumsum([getattr(r.cost, field) for r in rows])])
            ax.step(x, cum, where="post", color=f"C{j % 10}", lw=1.4, label=name,
                    gid=f"overlay-{field}-{j}")
    left.set_ylabel("cumulative multiply-adds")
    right.set_ylabel("cumulative memory access")
    left.yaxis.set_major_formatter(_si_formatter())
    right.yaxis.set_major_formatter(_si_formatter("B"))
    for ax in (left, right):
        ax.set_xlabel("ops executed (% of the model's ops, execution order)")
        ax.set_xlim(0, 100)
        ax.set_ylim(0, None)
        ax.grid(True, color="0.92", lw=0.6)
        ax.spines[["top", "right"]].set_visible(False)
    left.legend(fontsize=8, loc="upper left")
    left.set_title("multiply-adds along the network", fontsize=10)
    right.set_title("memory access along the network", fontsize=10)
    return fig


PLOTS: dict[str, Callable[..., Figure]] = {
    "per_layer": per_layer_cost,
    "cumulative": cumulative_cost,
    "roofline": roofline_scatter,
}



# --- latency -----------------------------------------------------------------------------------


def latency_vs_madds(names: Sequence[str], madds: Sequence[int], measured_ms: Sequence[float],
                     title: str = "") -> Figure:
    """Measured latency against multiply-adds (log-log), one labelled point per model: how
    far FLOPs are from speed."""
    if not len(names) == len(madds) == len(measured_ms) or not names:
        raise InvalidArgumentError("latency_vs_madds needs one madds and one latency per name")
    fig = new_figure(8.0, 6.0)
    ax = fig.add_subplot()
    xs = [m / 1e9 for m in madds]
    ax.scatter(xs, measured_ms, color="C0", zorder=3, s=22)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("multiply-adds (G) — log scale")
    ax.set_ylabel("measured latency, median (ms) — log scale")
    ax.set_title("Multiply-adds vs measured latency" + (f"\n{title}" if title else ""),
                 fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.margins(0.08)
    place_labels(ax, xs, measured_ms, list(names), fontsize=6.5)
    return fig


def predicted_vs_measured(names: Sequence[str], measured_ms: Sequence[float],
                          predictions: dict[str, Sequence[float]], *, tolerance: float = 0.25,
                          label_series: str | None = None, title: str = "") -> Figure:
    """Each predictor's latency (``predictions``: legend label → one value per model) against
    the measured one, log-log, with y = x and the ±``tolerance`` band; the points of
    ``label_series`` (default: the last series) carry the model names."""
    if not names or any(len(v) != len(names) for v in (measured_ms, *predictions.values())):
        raise InvalidArgumentError("predicted_vs_measured needs one value per model and series")
    allv = [*measured_ms, *(v for vals in predictions.values() for v in vals)]
    lo, hi = min(allv) * 0.7, max(allv) * 1.4
    fig = new_figure(8.0, 6.6)
    ax = fig.add_subplot()
    ax.plot([lo, hi], [lo, hi], color="black", lw=1, label="y = x")
    ax.fill_between([lo, hi], [lo * (1 - tolerance), hi * (1 - tolerance)],
                    [lo * (1 + tolerance), hi * (1 + tolerance)], color="0.85",
                    label=f"±{tolerance:.0%}")
    markers = ("x", "o", "s", "^")
    for i, (label, vals) in enumerate(predictions.items()):
        ax.scatter(measured_ms, vals, marker=markers[i % len(markers)], color=f"C{i + 1}",
                   zorder=3 + i, s=24, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("measured latency, median (ms) — log scale")
    ax.set_ylabel("predicted latency (ms) — log scale")
    ax.set_title("Predicted vs measured latency" + (f"\n{title}" if title else ""),
                 fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    key = label_series if label_series is not None else list(predictions)[-1]
    others = [(x, y) for k, vals in predictions.items() if k != key
              for x, y in zip(measured_ms, vals, strict=True)]
    place_labels(ax, list(measured_ms), list(predictions[key]), list(names), fontsize=6,
                 obstacles=others,
                 colors=[f"C{list(predictions).index(key) + 1}"] * len(names))
    return fig


__all__ = [
    "AXIS_LABELS",
    "COMPARE_FIELDS",
    "COST_AXES",
    "DEFAULT_ROOFS",
    "KIND_COLORS",
    "CostPoint",
    "Roofs",
    "accuracy_vs_cost",
    "compare_bars",
    "cumulative_cost",
    "cumulative_overlay",
    "figure_png",
    "labelled_ops",
    "latency_vs_madds",
    "new_figure",
    "pareto_frontier",
    "per_layer_cost",
    "place_labels",
    "predicted_vs_measured",
    "roofline_scatter",
    "save_figure",
    "separable_ratio_surface",
    "width_resolution_sweep",
]
