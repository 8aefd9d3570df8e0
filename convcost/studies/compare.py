"""``compare``: models side by side, with their published top-1 and, optionally, measured
latency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from convcost.records.compare import Compared
from convcost.resolve import Resolved, check_batch, resolve


def published_top1(model: Resolved, resolution: int) -> tuple[float | None, str | None]:
    """The published top-1 (and its source) of a zoo model at this resolution, when the zoo's
    table has this variant; (None, None) for anything else."""
    if model.entry is None:
        return None, None
    from convcost.zoo.published import lookup_top1

    found = lookup_top1(model.entry.name, model.options, resolution)
    return (found.top1, found.source) if found else (None, None)


def compare(
    models: Sequence[nn.Module | str | Resolved],
    inputs: Sequence[tuple[int, ...]] | None = None,
    *,
    batch: int = 1,
    dtype: str = "float32",
    device: str = "meta",
    bench: Mapping[str, Any] | None = None,
) -> list[Compared]:
    """One :class:`~convcost.records.compare.Compared` per model and input (``inputs``: one
    sample's shape each, without the batch; default: each model's own), with the published
    top-1 when the zoo has it. ``bench`` (keyword arguments of
    :func:`convcost.latency.measure.measure_model`) also times each one for real, on the same
    module (built on the CPU with random weights)."""
    from convcost.api import analyze, torch_dtype

    check_batch(batch)
    items = []
    for spec in models:
        # timing needs real weights: build on the CPU once, analyse that same module
        model = resolve(spec, device if bench is None else "cpu")
        sizes = model.input_sizes(inputs, batch)
        for size in sizes:
            a = analyze(model.module, size, dtype=dtype, device=device, name=model.name)
            top1, source = published_top1(model, a.input[-1])
            latency = None
            if bench is not None:
                from convcost.latency.measure import measure_model

                m = measure_model(model.module, a.input, dtype=torch_dtype(dtype), **bench)
                latency = m.to_dict(times=False)
            items.append(Compared(a, top1, source, latency))
    return items


__all__ = ["compare", "published_top1"]
