"""``memory``: how much memory a model takes at inference and for a training step, and the
largest batch that fits a budget.

The model runs once on the meta device (nothing allocated, nothing computed) with every
storage's allocation and release recorded (:func:`convcost.analyze` with ``memory=True``),
once for inference (eval, no gradients) and, with ``train``, once for a training step
(training mode, ``loss.backward()``); :func:`convcost.engine.memory.simulate` replays those
events through an allocator model, adding the optimizer's state and step. How close that comes
to a real run is measured in ``docs/benchmarks/memory.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from convcost.engine.memory import (
    CATEGORIES,
    DEFAULT_OPTIMIZER,
    Allocator,
    Lifetimes,
    Simulation,
    Snapshot,
    allocator,
    by_category,
    check_optimizer,
    parse_size,
    simulate,
)
from convcost.errors import CaptureError, InvalidArgumentError
from convcost.graph import BACKWARD, FORWARD
from convcost.records.memory import OPTIMIZER_PHASE, Fit, MemoryReport, Moment, Peak
from convcost.resolve import Resolved, check_batch, resolve

MAX_FIT_BATCH = 2**40
"""The largest batch ``fit`` searches (an input of this many samples is past any budget)."""


def memory(
    model: nn.Module | str | Resolved,
    inputs: Sequence[Sequence[int] | str] | None = None,
    *,
    batch: int = 1,
    dtype: str = "float32",
    device: str = "meta",
    train: bool = False,
    optimizer: str = DEFAULT_OPTIMIZER,
    alloc: str = "cpu",
    fit: int | str | None = None,
    loss: Callable[[Any], torch.Tensor] | None = None,
    name: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> MemoryReport:
    """Peak memory of ``model`` for one input: ``inputs`` are one sample's shapes (or
    ``--input`` texts), one per positional input, without the batch (default: the model's
    own); ``batch`` is put in front.

    Inference: eval mode, no gradients; its peak is parameters and buffers, the inputs, and
    the activations alive at once. ``train``: a steady-state training step as well (the
    optimizer's state made by an earlier step, the gradients freed by ``zero_grad()``):
    training mode, ``loss(output)`` (default: the sum of the outputs), ``backward()``,
    ``optimizer.step()`` for ``optimizer`` (``sgd``, ``momentum``, ``adam``, ``adamw``:
    :data:`convcost.engine.memory.OPTIMIZERS`). ``alloc``: the allocator model (``cpu``: the
    CPU allocator's 64-byte blocks and the CPU convolution's workspace; ``cuda``: the caching
    allocator's 512-byte rounding; ``exact``: bytes as requested). ``fit``: a budget (bytes, or
    ``"8GiB"``): the largest batch whose peak fits it. The model is never changed: its
    ``training`` flags, parameters, ``.grad`` and ``requires_grad`` stay as they were.
    ``progress(label)`` is called before each simulated run (``--fit`` tries several).
    """
    check_batch(batch)
    if train:
        check_optimizer(optimizer)
    model_alloc = _this_cpu(allocator(alloc))
    budget = None if fit is None else parse_size(fit)
    resolved = resolve(model, device, name)
    sizes = resolved.input_sizes(inputs, batch)

    def run(at: Sequence[Sequence[int]], backward: bool) -> tuple[Any, Simulation]:
        from convcost.api import analyze

        if progress is not None:
            progress(f"{'training step' if backward else 'inference'} at batch {at[0][0]}"
                     if at and at[0] else "inference")
        a = analyze(resolved.module, at, dtype=dtype, device=device, name=resolved.name,
                    backward=backward, loss=loss if backward else None, memory=True)
        assert a.lifetimes is not None
        sim = simulate(a.lifetimes, model_alloc, optimizer if backward else None)
        return a, sim

    inference, inf_sim = run(sizes, False)
    training = train_sim = None
    if train:
        training, train_sim = run(sizes, True)
    report_sim = train_sim or inf_sim
    report_run = training or inference
    assert report_run.lifetimes is not None
    fitted = None
    if budget is not None:
        fitted = _fit(lambda b: run(resolved.input_sizes(inputs, b), train)[1].peak_bytes,
                      budget, train, known={batch: report_sim.peak_bytes})
    phases = report_run.by_phase()
    return MemoryReport(
        model=resolved.name,
        inputs=inference.inputs,
        dtype=inference.dtype,
        allocator=model_alloc.name,
        params=inference.totals.params,
        inference=_peak(inf_sim, inference.lifetimes),
        forward_flops=phases[FORWARD].flops,
        training=None if train_sim is None else _peak(train_sim, report_run.lifetimes),
        optimizer=optimizer if train else None,
        backward_flops=phases[BACKWARD].flops if train and BACKWARD in phases else (
            0 if train else None),
        fit=fitted,
        categories=tuple(c.value for c in CATEGORIES),
        timeline=_timeline(report_sim, report_run.lifetimes),
        unsupported=report_run.unsupported,
    )


def _this_cpu(model: Allocator) -> Allocator:
    """The ``cpu`` allocator model with this CPU's oneDNN channel block: 16 with AVX-512, 8
    without (AVX2)."""
    if model.kernels != "cpu":
        return model
    capability = str(torch.backends.cpu.get_cpu_capability())
    return dataclasses.replace(model, block=16 if "AVX512" in capability else 8)


def _where(at: int, sim: Simulation, lifetimes: Lifetimes) -> tuple[str, str, str]:
    """(phase, op, scope) of a moment of the run."""
    if 0 <= at < len(lifetimes.nodes):
        node = lifetimes.nodes[at]
        return node.phase, node.op.removesuffix(".default"), node.scope
    param = sim.where(at)
    if param is not None:
        return OPTIMIZER_PHASE, "optimizer.step", param
    return FORWARD, "(before the first op)", ""


def _peak(sim: Simulation, lifetimes: Lifetimes | None) -> Peak:
    assert lifetimes is not None
    phase, op, scope = _where(sim.peak.at, sim, lifetimes)
    return Peak(sim.peak_bytes, phase, op, scope, sim.peak.at, by_category(sim.peak))


def _timeline(sim: Simulation, lifetimes: Lifetimes) -> tuple[Moment, ...]:
    def moment(s: Snapshot) -> Moment:
        phase = _where(s.at, sim, lifetimes)[0]
        return Moment(s.at, phase, tuple(s.by_category.get(c, 0) for c in CATEGORIES))

    return (moment(sim.start), *(moment(s) for s in sim.timeline))


def _fit(peak_of: Callable[[int], int], budget: int, training: bool,
         known: Mapping[int, int] | None = None) -> Fit:
    """The largest batch whose peak fits ``budget``. Peaks grow with the batch, nearly
    linearly: the line through batches 1 and 2 gives a first guess, then bisection between
    the largest batch that fits and the smallest that does not, each tried for real
    (``known``: peaks already simulated, by batch, not run again)."""
    tried: dict[int, int] = dict(known or {})

    def fits(b: int) -> bool:
        if b not in tried:
            try:
                tried[b] = peak_of(b)
            except (CaptureError, InvalidArgumentError):
                if b == 1:
                    raise
                tried[b] = budget + 1  # too large to even run: it does not fit
        return tried[b] <= budget

    if not fits(1):
        return Fit(budget, 0, None, training, tried)
    lo = 1
    hi: int | None = None
    if fits(2):
        lo = 2
        slope = max(tried[2] - tried[1], 1)
        guess = min(MAX_FIT_BATCH, 2 + (budget - tried[2]) // slope)
        for b in (guess, guess + 1):
            if b <= lo:
                continue
            if fits(b):
                lo = b
            else:
                hi = b
                break
    else:
        hi = 2
    while hi is None:  # the line underestimated: double until a batch does not fit
        b = min(lo * 2, MAX_FIT_BATCH)
        if b == lo:
            break
        if fits(b):
            lo = b
        else:
            hi = b
    while hi is not None and hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return Fit(budget, lo, tried[lo], training, tried)


__all__ = ["DEFAULT_OPTIMIZER", "memory"]
