"""Models as points in accuracy-vs-cost space, and the Pareto frontier among them.

Pure data (no matplotlib): :func:`zoo_points` gathers every published result of the zoo
(``convcost/data/published.csv``) with the cost convcost computes for that exact variant and
input size; :func:`pareto_frontier` picks the points that no other point beats on both axes.
Latency is not measured here: attach it with :func:`with_latency` when you have it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from convcost.errors import InvalidArgumentError

COST_AXES = ("madds", "params", "mem_bytes", "flops", "latency_ms")


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

    @property
    def spec(self) -> str:
        """The zoo spec of this variant: ``mobilenet_v1:width_mult=0.5``."""
        return f"{self.model}:{self.variant}" if self.variant else self.model

    @property
    def label(self) -> str:
        """A short plot label: ``mobilenet_v1 α=0.5 @160`` (resolution shown when not 224)."""
        short = (self.variant.replace("width_mult=", "α=").replace("groups=", "g=")
                 .replace("scale=", "×").replace(",", " "))
        text = f"{self.model} {short}".strip()
        return text if self.resolution == 224 else f"{text} @{self.resolution}"

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


def point_for(spec: str, resolution: int | None = None, *, dtype: str = "float32") -> CostPoint:
    """The cost point of one zoo spec at ``resolution`` (default: the model's own input),
    with the published top-1 when the zoo's table has this variant at this size."""
    from convcost.api import analyze
    from convcost.zoo import build, parse_spec
    from convcost.zoo._spec import format_options
    from convcost.zoo.published import lookup_top1

    entry, options = parse_spec(spec)
    channels, height, _ = entry.default_input
    res = resolution or height
    a = analyze(build(entry, **options), (1, channels, res, res),  # type: ignore[arg-type]
                dtype=dtype, name=spec)
    pub = lookup_top1(entry.name, options, res)
    options_text = format_options(entry, options)
    t = a.totals
    return CostPoint(model=entry.name, variant=options_text, resolution=res,
                     top1=pub.top1 if pub else None, params=t.params, madds=t.madds,
                     flops=t.flops, mem_bytes=t.mem_bytes, family=entry.family,
                     source=pub.source if pub else "",
                     is_default=not options_text and res == height)


def zoo_points(models: Iterable[str] | None = None, *, variants: bool = True,
               dtype: str = "float32") -> list[CostPoint]:
    """Every published zoo result as a :class:`CostPoint`, in the published table's order.

    ``models`` keeps only these zoo names (aliases allowed); ``variants=False`` keeps only each
    model's default options at its default input size.
    """
    from convcost.zoo import get_entry
    from convcost.zoo.published import load_published

    wanted = None if models is None else {get_entry(m).name for m in models}
    points = []
    for row in load_published():
        if wanted is not None and row.model not in wanted:
            continue
        entry = get_entry(row.model)
        if not variants and (row.variant or row.input_res != entry.default_input[-1]):
            continue
        points.append(point_for(row.spec, row.input_res, dtype=dtype))
    return points


def sweep_points(model: str = "mobilenet_v1",
                 alphas: Sequence[float] = (0.25, 0.5, 0.75, 1.0),
                 resolutions: Sequence[int] = (128, 160, 192, 224), *,
                 dtype: str = "float32") -> list[CostPoint]:
    """One point per width multiplier α × input size of a zoo model with ``width_mult``."""
    from convcost.zoo import parse_spec

    entry, options = parse_spec(model)
    if "width_mult" not in {o.name for o in entry.options}:
        raise InvalidArgumentError(f"{entry.name} has no width_mult option; sweepable models: "
                                   f"{', '.join(sweepable_models())}")
    if "width_mult" in options:
        raise InvalidArgumentError(f"give the model without width_mult (the sweep sets it), "
                                   f"got {model!r}")
    extra = "".join(f",{k}={v}" for k, v in options.items())
    return [point_for(f"{entry.name}:width_mult={a}{extra}", r, dtype=dtype)
            for a in alphas for r in resolutions]


def sweepable_models() -> list[str]:
    """Zoo models with a ``width_mult`` option."""
    from convcost.zoo import list_entries

    return [e.name for e in list_entries() if any(o.name == "width_mult" for o in e.options)]


def with_latency(points: Sequence[CostPoint],
                 latency_ms: Mapping[str, float]) -> list[CostPoint]:
    """The points with ``latency_ms`` filled from a mapping keyed by zoo spec (aliases and
    any option spelling: ``shufflenet_v2``, ``mobilenet_v1:width_mult=0.50``), at the model's
    default input size, or by ``"spec@resolution"``; points without a measurement keep None.
    Names that are not zoo specs are matched as written (at 224 when no size is given)."""
    table: dict[tuple[str, int | None], float] = {}
    for key, ms in latency_ms.items():
        spec, at, res = key.rpartition("@") if "@" in key else (key, "", "")
        table[(canonical_spec(spec), int(res) if at and res.isdigit() else None)] = ms
    out = []
    for p in points:
        found = table.get((p.spec, p.resolution))
        if found is None and p.resolution == _default_size(p.model):
            found = table.get((p.spec, None))
        out.append(replace(p, latency_ms=found) if found is not None else p)
    return out


def _default_size(model: str) -> int:
    from convcost.errors import ModelSpecError
    from convcost.zoo import get_entry

    try:
        return get_entry(model).default_input[-1]
    except ModelSpecError:
        return 224


def canonical_spec(spec: str) -> str:
    """A zoo spec in one spelling: the entry's name and its non-default options in order
    (anything else is returned as written)."""
    from convcost.errors import ModelSpecError
    from convcost.zoo import parse_spec
    from convcost.zoo._spec import format_options

    try:
        entry, options = parse_spec(spec)
    except ModelSpecError:
        return spec  # not a zoo spec: as written
    text = format_options(entry, options)
    return f"{entry.name}:{text}" if text else entry.name


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


__all__ = [
    "COST_AXES",
    "CostPoint",
    "canonical_spec",
    "pareto_frontier",
    "point_for",
    "sweep_points",
    "sweepable_models",
    "with_latency",
    "zoo_points",
]
