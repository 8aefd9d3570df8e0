"""``bench``: measured latency of models, with their cost, the calibrated model's prediction
and per-layer times on request; which differences the measurement can tell apart."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from convcost.errors import InvalidArgumentError
from convcost.resolve import Resolved, check_batch, resolve
from convcost.specs import InputShape, batched, check_budget

Progress = Callable[[str, int, int], None]
"""``progress(label, done, total)``: called as each timed run of ``label`` ends, as each
calibration micro-benchmark starts, and before each model is profiled or predicted."""


PROGRESS_STEPS = 1000
"""The timing's progress is reported in thousandths of the whole measurement."""


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
    rounds: int = 3,
    layers: bool = False,
    predict: bool = False,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """One record per model, input and batch: ``model``, ``input``, the measurement
    (``median_ms``, ``iqr_ms``, ``ci_low_ms``/``ci_high_ms``, ``noise``, ...;
    :meth:`~convcost.latency.measure.Measurement.to_dict`), ``vs_first`` (against the first
    record of the same input: the ratio of the medians, its bounds and whether it is
    significant), and with ``predict`` / ``layers`` the prediction and per-layer times.

    All models are timed in ``rounds`` interleaved rounds (``budget_s`` and ``runs`` per
    model, over all rounds). ``inputs``: one sample's shape each, without the batch (default:
    each model's own). Models run with random weights, in eval mode, on ``device``.
    """
    from convcost.latency.measure import check_device, compare_measurements, measure_models

    check_device(device)
    for b in batches:
        check_batch(b)
    if runs < 5:
        raise InvalidArgumentError(f"--runs must be at least 5, got {runs}")
    check_budget(budget_s)
    if rounds < 1:
        raise InvalidArgumentError(f"--rounds must be at least 1, got {rounds}")
    cal = None
    if predict:
        from convcost.latency.calibrate import calibrate

        cal = calibrate(device, threads, progress=progress)
    from convcost.graph import shape_text

    jobs: list[tuple[str, Resolved, InputShape]] = []
    for spec in models:
        model = resolve(spec, "cpu")
        for size in model.input_sizes(inputs):  # batch 1 here; each batch below
            for b in batches:
                shape = batched(InputShape(size[1:], size.dtype), b)
                jobs.append((f"{model.name} {shape_text(shape)}", model, shape))

    def tick(label: str, _runs: int, fraction: float) -> None:
        if progress is not None:
            progress(f"timing {label}", round(fraction * PROGRESS_STEPS), PROGRESS_STEPS)

    measured = measure_models([(label, m.module, shape) for label, m, shape in jobs],
                              device=device, threads=threads, rounds=rounds, warmup=warmup,
                              min_runs=5, max_runs=runs, budget_s=budget_s, progress=tick)
    records: list[dict[str, Any]] = []
    first: dict[tuple[int, ...], int] = {}
    for i, ((_, model, shape), m) in enumerate(zip(jobs, measured, strict=True)):
        rec: dict[str, Any] = {"model": model.name, "input": list(shape)}
        rec.update(m.to_dict(times=False))
        j = first.setdefault(tuple(shape), i)
        if j != i and m.median_ms > 0 and measured[j].median_ms > 0:
            rec["vs_first"] = {"model": jobs[j][1].name,
                               **compare_measurements(m, measured[j]).to_dict()}
        if cal is not None or layers:
            if progress is not None:
                progress(f"{'profiling' if layers else 'predicting'} {jobs[i][0]}", i,
                         len(jobs))
            rec.update(_extras(model, shape, device, threads, cal, layers, m.median_ms))
        records.append(rec)
    return records


def _extras(model: Resolved, shape: tuple[int, ...], device: str, threads: int | None,
            cal: Any, layers: bool, measured_ms: float) -> dict[str, Any]:
    from convcost.api import analyze

    a = analyze(model.module, shape, name=model.name)
    extra: dict[str, Any] = {"madds": a.totals.madds, "mem_bytes": a.totals.mem_bytes}
    pred = None
    if cal is not None:
        from convcost.latency.roofline import predict_latency

        pred = predict_latency(a, cal)
        extra["predicted_ms"] = pred.ms
        extra["predicted_error"] = pred.ms / measured_ms - 1 if measured_ms > 0 else None
        extra["predicted_by_class_ms"] = {k: v * 1000.0 for k, v in pred.by_class().items()}
    if layers:
        from convcost.latency.profile_layers import join_layers, layer_totals, profile_layers

        times = profile_layers(model.module, shape, device=device, threads=threads)
        joined = join_layers(a.rows, times, None if pred is None else pred.by_scope())
        extra["layers"] = [r.to_dict() for r in joined]
        extra["layers_total"] = layer_totals(joined, None if pred is None else pred.seconds)
    return extra


__all__ = ["Progress", "bench", "check_budget"]
