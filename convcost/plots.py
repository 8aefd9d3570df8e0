"""``convcost.plots``: the figures, and the zoo points they are drawn from, in one place.

The figure functions are :mod:`convcost.report.plots` (each returns a matplotlib ``Figure``
and never shows it); the points come from the use cases in :mod:`convcost.studies.points`.
:func:`width_resolution_sweep` here also accepts a model name and makes its points.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from convcost.records.points import COST_AXES, CostPoint, pareto_frontier
from convcost.report import plots as _figures
from convcost.report.plots import (
    AXIS_LABELS,
    COMPARE_FIELDS,
    DEFAULT_ROOFS,
    KIND_COLORS,
    Roofs,
    accuracy_vs_cost,
    compare_bars,
    cumulative_cost,
    cumulative_overlay,
    figure_png,
    labelled_ops,
    latency_vs_madds,
    new_figure,
    per_layer_cost,
    place_labels,
    predicted_vs_measured,
    roofline_scatter,
    save_figure,
    separable_ratio_surface,
)
from convcost.studies.points import (
    point_for,
    sweep_points,
    sweepable_models,
    with_latency,
    zoo_points,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def width_resolution_sweep(model: str = "mobilenet_v1",
                           alphas: Sequence[float] = (0.25, 0.5, 0.75, 1.0),
                           resolutions: Sequence[int] = (128, 160, 192, 224),
                           points: Sequence[CostPoint] | None = None) -> Figure:
    """:func:`convcost.report.plots.width_resolution_sweep` of ``model``'s α × resolution
    variants (``points`` skips the analysis)."""
    pts = list(points) if points is not None else sweep_points(model, alphas, resolutions)
    return _figures.width_resolution_sweep(pts)


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
    "point_for",
    "predicted_vs_measured",
    "roofline_scatter",
    "save_figure",
    "separable_ratio_surface",
    "sweep_points",
    "sweepable_models",
    "width_resolution_sweep",
    "with_latency",
    "zoo_points",
]
