"""Models as points in accuracy-vs-cost space, and the Pareto frontier among them.

Pure data: a :class:`CostPoint` is one zoo variant at one input size with its published top-1
and computed cost (made by :func:`convcost.studies.zoo_points`); :func:`pareto_frontier` picks
the points that no other point beats on both axes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from convcost.errors import InvalidArgumentError

COST_AXES = ("madds", "params", "mem_bytes", "flops", "latency_ms")
_SHORT = {"width_mult": "α=", "groups": "g=", "scale": "×"}  # short option names for labels


@dataclass(frozen=True)
class CostPoint:
    """One model variant at one input size: its published top-1 and its computed cost."""

    model: str  # zoo name
    variant: str  # canonical option string, "" for the defaults
    resolution: int
    top1: float | None
    params: int
    madds: int
    flops: int
    mem_bytes: int
    family: str = ""
    source: str = ""
    latency_ms: float | None = None
    is_default: bool = False  # the model's default options at its default input size
    options: dict[str, object] = field(default_factory=dict)  # the variant's typed options

    @property
    def spec(self) -> str:
        """The zoo spec of this variant: ``mobilenet_v1:width_mult=0.5``."""
        return f"{self.model}:{self.variant}" if self.variant else self.model

    @property
    def label(self) -> str:
        """A short plot label: ``mobilenet_v1 α=0.5 @160`` (resolution shown when not 224)."""
        short = " ".join(f"{_SHORT.get(k, k + '=')}{str(v).lower() if isinstance(v, bool) else v}"
                         for k, v in self.options.items())
        text = f"{self.model} {short}".strip()
        return text if self.resolution == 224 else f"{text} @{self.resolution}"

    @property
    def width_mult(self) -> float:
        """The width multiplier α of this variant (1.0 when it has none)."""
        return float(self.options.get("width_mult", 1.0))  # type: ignore[arg-type]

    def value(self, axis: str) -> float | None:
        """The figure on ``axis`` (one of :data:`COST_AXES` or ``top1``); None when unknown."""
        if axis not in (*COST_AXES, "top1"):
            raise InvalidArgumentError(f"axis must be one of {', '.join(COST_AXES)} or top1, "
                                       f"got {axis!r}")
        v = getattr(self, axis)
        return None if v is None else float(v)

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "variant": self.variant, "spec": self.spec,
                "resolution": self.resolution, "family": self.family, "top1": self.top1,
                "params": self.params, "madds": self.madds, "flops": self.flops,
                "mem_bytes": self.mem_bytes, "latency_ms": self.latency_ms,
                "source": self.source, "is_default": self.is_default}


def pareto_frontier(xs: Sequence[float], ys: Sequence[float]) -> list[int]:
    """Indices of the points on the frontier of *low x, high y*, in order of increasing x.

    A point is on the frontier when no other point has ``x <= its x`` and ``y >= its y`` with
    at least one strict (ties on both keep the first). Sort by x (then y descending) and keep
    each point whose y beats every y seen so far: O(n log n).

    >>> pareto_frontier([1, 2, 3, 4], [50, 40, 60, 60])
    [0, 2]
    """
    if len(xs) != len(ys):
        raise InvalidArgumentError(f"xs and ys differ in length: {len(xs)} vs {len(ys)}")
    order = sorted(range(len(xs)), key=lambda i: (xs[i], -ys[i], i))
    front: list[int] = []
    best = float("-inf")
    for i in order:
        if ys[i] > best:
            front.append(i)
            best = ys[i]
    return front


__all__ = ["COST_AXES", "CostPoint", "pareto_frontier"]
