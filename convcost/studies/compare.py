"""``compare``: models side by side, with their published top-1 and, optionally, measured
latency."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
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
    train: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[Compared]:
    """One :class:`~convcost.records.compare.Compared` per model and input (``inputs``: one
    sample's shape each, without the batch; default: each model's own), with the published
    top-1 when the zoo has it. ``bench`` (keyword arguments of
    :func:`convcost.latency.measure.measure_models`) also times them for real, on the same
    modules (built on the CPU with random weights), all together in interleaved rounds; each
    latency after the first of its input carries ``vs_first``: the ratio of the medians, its
    bounds, and whether the measurement tells the two apart (``significant``).
    ``train`` (an optimizer: ``sgd``, ``momentum``, ``adam``, ``adamw``) also simulates each
    model's training step (:func:`convcost.studies.memory`, on the same resolved model and
    input). ``progress(label, done, total)`` is called before each model is analysed and,
    with ``bench``, as the timing advances (in thousandths of it)."""
    from convcost.api import analyze, torch_dtype

    check_batch(batch)
    if train is not None:
        from convcost.engine.memory import check_optimizer

        check_optimizer(train)
    if bench is not None and "budget_s" in bench:
        from convcost.specs import check_budget

        check_budget(bench["budget_s"])
    items = []
    timed_jobs = []  # (module, input shape with its dtype) of each item
    for k, spec in enumerate(models):
        if progress is not None:
            progress(f"analysing {spec if isinstance(spec, str) else 'model'}", k, len(models))
        # timing needs real weights: build on the CPU once, analyse that same module
        model = resolve(spec, device if bench is None else "cpu")
        sizes = model.input_sizes(inputs, batch)
        for size in sizes:
            a = analyze(model.module, size, dtype=dtype, device=device, name=model.name)
            top1, source = published_top1(model, a.input[-1])
            training = None
            if train is not None:
                from convcost.specs import InputShape
                from convcost.studies.memory import memory

                training = memory(model, [InputShape(size[1:], size.dtype)], batch=batch,
                                  dtype=dtype, device=device, train=True, optimizer=train)
            items.append(Compared(a, top1, source, training=training))
            timed_jobs.append((model.module, size))
    if bench is None:
        return items
    # all models timed together, in interleaved rounds; each against the first of its input
    from convcost.latency.measure import compare_measurements, measure_models

    tick = None if progress is None else (
        lambda label, _runs, fraction: progress(f"timing {label}", round(fraction * 1000), 1000))
    measured = measure_models([(c.analysis.model, m, size)
                               for c, (m, size) in zip(items, timed_jobs, strict=True)],
                              dtype=torch_dtype(dtype), progress=tick, **bench)
    first: dict[tuple[int, ...], int] = {}
    timed = []
    for i, (c, m) in enumerate(zip(items, measured, strict=True)):
        latency: dict[str, Any] = m.to_dict(times=False)
        j = first.setdefault(c.analysis.input, i)
        if j != i:
            latency["vs_first"] = {"model": items[j].analysis.model,
                                   **compare_measurements(m, measured[j]).to_dict()}
        timed.append(replace(c, latency=latency))
    return timed


__all__ = ["compare", "published_top1"]
