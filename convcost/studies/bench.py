"""``bench``: measured latency of models, with their cost, the calibrated roofline's
prediction and per-layer times on request."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from convcost.errors import InvalidArgumentError
from convcost.resolve import Resolved, check_batch, resolve
from convcost.specs import InputShape, batched

Progress = Callable[[str, int, int], None]
"""``progress(label, runs_done, runs_total)``: called as each timed run of ``label`` ends."""


def bench(
    models: Sequence[nn.Module | str | Resolved],
    inputs: Sequence[tuple[int, ...]] | None = None,
    *,
    batches: Sequence[int] = (1,),
    device: str = "cpu",
    threads: int | None = None,
    budget_s: float = 2.0,
    runs: int = 200,
    warmup: int = 3,
    layers: bool = False,
    predict: bool = False,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """One record per model, input and batch: ``model``, ``input``, the measurement
    (``median_ms``, ``iqr_ms``, ...; :meth:`~convcost.latency.measure.Measurement.to_dict`),
    and with ``predict`` / ``layers`` the roofline prediction and per-layer times.

    ``inputs``: one sample's shape each, without the batch (default: each model's own).
    Models run with random weights, in eval mode, on ``device``.
    """
    from convcost.latency.measure import check_device, measure_model

    check_device(device)
    for b in batches:
        check_batch(b)
    if runs < 5:
        raise InvalidArgumentError(f"--runs must be at least 5, got {runs}")
    if not (budget_s >= 0 and math.isfinite(budget_s)):
        raise InvalidArgumentError(f"--budget must be a finite number of seconds >= 0, got "
                                   f"{budget_s}")
    cal = None
    if predict:
        from convcost.latency.calibrate import calibrate

        cal = calibrate(device, threads)
    from convcost.graph import shape_text

    records: list[dict[str, Any]] = []
    for spec in models:
        model = resolve(spec, "cpu")
        for size in model.input_sizes(inputs):  # batch 1 here; each batch below
            for b in batches:
                shape = batched(InputShape(size[1:], size.dtype), b)
                label = f"{model.name} {shape_text(shape)}"

                def tick(n: int, label: str = label) -> None:
                    if progress is not None:
                        progress(label, n, runs)

                m = measure_model(model.module, shape, device=device, threads=threads,
                                  warmup=warmup, min_runs=5, max_runs=runs, budget_s=budget_s,
                                  progress=tick)
                rec: dict[str, Any] = {"model": model.name, "input": list(shape)}
                rec.update(m.to_dict(times=False))
                if cal is not None or layers:
                    rec.update(_extras(model, shape, device, threads, cal, layers,
                                       m.median_ms))
                records.append(rec)
    return records


def _extras(model: Resolved, shape: tuple[int, ...], device: str, threads: int | None,
            cal: Any, layers: bool, measured_ms: float) -> dict[str, Any]:
    from convcost.api import analyze

    a = analyze(model.module, shape, name=model.name)
    extra: dict[str, Any] = {"madds": a.totals.madds, "mem_bytes": a.totals.mem_bytes}
    per_scope = None
    if cal is not None:
        from convcost.latency.roofline import predict_latency

        pred = predict_latency(a, cal)
        extra["predicted_ms"] = pred.ms
        extra["predicted_error"] = pred.ms / measured_ms - 1 if measured_ms > 0 else None
        per_scope = pred.by_scope()
    if layers:
        from convcost.latency.profile_layers import join_layers, profile_layers

        times = profile_layers(model.module, shape, device=device, threads=threads)
        extra["layers"] = [r.to_dict() for r in join_layers(a.rows, times, per_scope)]
    return extra


__all__ = ["Progress", "bench"]
