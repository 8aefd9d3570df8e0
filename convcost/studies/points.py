"""Zoo variants as points in accuracy-vs-cost space: every published result with the cost
convcost computes for that exact variant and input size, width × resolution sweeps, and
measured latency attached by spec."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from convcost.errors import InvalidArgumentError
from convcost.records.points import CostPoint
from convcost.resolve import resolve


def point_for(spec: str, resolution: int | None = None, *, dtype: str = "float32") -> CostPoint:
    """The cost point of one zoo spec at ``resolution`` (default: the model's own input),
    with the published top-1 when the zoo's table has this variant at this size."""
    from convcost.api import analyze
    from convcost.studies.compare import published_top1
    from convcost.zoo._spec import format_options

    model = resolve(spec)
    entry = model.entry
    if entry is None:
        raise InvalidArgumentError(f"{spec!r} is not a zoo spec; cost points are zoo variants")
    channels, height, _ = entry.default_input
    res = resolution or height
    a = analyze(model, (1, channels, res, res), dtype=dtype)
    top1, source = published_top1(model, res)
    options_text = format_options(entry, model.options)
    # the non-default options, typed, in the entry's order (as the canonical text has them)
    typed = {o.name: model.options[o.name] for o in entry.options
             if o.name in model.options and model.options[o.name] != o.default}
    t = a.totals
    return CostPoint(model=entry.name, variant=options_text, resolution=res, top1=top1,
                     params=t.params, madds=t.madds, flops=t.flops, mem_bytes=t.mem_bytes,
                     family=entry.family, source=source or "",
                     is_default=not options_text and res == height, options=typed)


def zoo_points(models: Iterable[str] | None = None, *, variants: bool = True,
               dtype: str = "float32",
               progress: Callable[[str, int, int], None] | None = None) -> list[CostPoint]:
    """Every published zoo result as a :class:`CostPoint`, in the published table's order.

    ``models`` keeps only these zoo names (aliases allowed); ``variants=False`` keeps only each
    model's default options at its default input size. ``progress(label, done, total)`` is
    called before each point is analysed.
    """
    from convcost.zoo import get_entry
    from convcost.zoo.published import load_published

    wanted = None if models is None else {get_entry(m).name for m in models}
    rows = []
    for row in load_published():
        if wanted is not None and row.model not in wanted:
            continue
        entry = get_entry(row.model)
        if not variants and (row.variant or row.input_res != entry.default_input[-1]):
            continue
        rows.append(row)
    points = []
    for k, row in enumerate(rows):
        if progress is not None:
            progress(f"analysing {row.spec} @{row.input_res}", k, len(rows))
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


__all__ = ["canonical_spec", "point_for", "sweep_points", "sweepable_models", "with_latency",
           "zoo_points"]
