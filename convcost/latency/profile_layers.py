"""Measured time per module with the profiler PyTorch ships (``torch.profiler``).

Every module's forward is wrapped in a ``record_function`` range named
``convcost.module::<scope>`` by a forward pre-hook and a forward hook; the hooks are removed
in ``finally`` and every ``training`` flag restored, so the caller's model ends as it began.
A module's *self* time is its range minus the ranges of the modules it called, which is
exactly the time of the ops convcost attributes to that scope (a row's ``name``): functional
ops such as ``x + y`` in a block's ``forward`` land in the block's own scope, as in convcost.

On CPU the time is the ranges' CPU time; on CUDA it is the device time of the kernels each
range launched. Each profiled forward pass is a profiling session of its own and a scope's
time is its median over the passes (a scheduler stall lands on one scope of one pass). The
profiler and the hooks cost a few microseconds per module range, a large share of a small
layer's time: on the CPU that cost is measured on a chain of ``nn.Identity`` (which do
nothing) and taken off every scope (``net_of_profiler``).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from convcost.errors import InvalidArgumentError
from convcost.latency.measure import pinned_threads, prepared

LABEL_PREFIX = "convcost.module::"


@dataclass(frozen=True)
class LayerTime:
    """Measured time of one module scope, per forward pass (milliseconds)."""

    name: str  # module scope, as in convcost's rows ("" = the root module)
    module: str  # class of that module
    self_ms: float  # own ops only: its range minus the ranges of the modules it called
    total_ms: float  # its whole range
    calls: int  # calls per forward pass

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "module": self.module, "self_ms": self.self_ms,
                "total_ms": self.total_ms, "calls": self.calls}


def _event_time_us(event: Any, cuda: bool) -> float:
    if cuda:
        return float(getattr(event, "device_time_total", 0.0))
    return float(event.cpu_time_total)


def self_times(
    events: Iterable[Any], runs: int, classes: dict[str, str], *, cuda: bool = False
) -> list[LayerTime]:
    """Per-scope times from profiler events (``FunctionEvent``-like: ``name``,
    ``cpu_time_total``, ``cpu_parent``), averaged over ``runs`` forward passes."""
    if runs < 1:
        raise InvalidArgumentError(f"runs must be >= 1, got {runs}")
    total: dict[str, float] = {}
    own: dict[str, float] = {}
    calls: dict[str, int] = {}
    for ev in events:
        name = str(ev.name)
        if not name.startswith(LABEL_PREFIX):
            continue
        scope = name[len(LABEL_PREFIX):]
        t = _event_time_us(ev, cuda)
        total[scope] = total.get(scope, 0.0) + t
        own[scope] = own.get(scope, 0.0) + t
        calls[scope] = calls.get(scope, 0) + 1
        parent = getattr(ev, "cpu_parent", None)
        while parent is not None and not str(parent.name).startswith(LABEL_PREFIX):
            parent = getattr(parent, "cpu_parent", None)
        if parent is not None:
            outer = str(parent.name)[len(LABEL_PREFIX):]
            own[outer] = own.get(outer, 0.0) - t
    order = [s for s in classes if s in total] + [s for s in total if s not in classes]
    return [
        LayerTime(name=s, module=classes.get(s, ""), self_ms=max(own[s], 0.0) / 1000.0 / runs,
                  total_ms=total[s] / 1000.0 / runs, calls=round(calls[s] / runs))
        for s in order
    ]


@contextmanager
def _stderr_silenced() -> Iterator[None]:
    """File descriptor 2 pointed at /dev/null for the block (C++ logging bypasses
    ``sys.stderr``), and restored after it."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def median_times(per_run: Sequence[Sequence[LayerTime]], overhead_ms: float = 0.0
                 ) -> list[LayerTime]:
    """One :class:`LayerTime` per scope from several profiled runs: the median over the
    runs of its self and total times (a scope absent from a run counts 0 there), each less
    ``overhead_ms`` per call (the profiler's own cost of a module range), never below 0;
    scopes in first-seen order.

    The median, not the mean: a run in which the scheduler took the CPU away for a few
    milliseconds lands all of them on whichever scope was running.
    """
    from convcost.latency.stats import median

    if not per_run:
        raise InvalidArgumentError("median_times needs at least one profiled run")
    first: dict[str, LayerTime] = {}
    for run in per_run:
        for t in run:
            first.setdefault(t.name, t)
    out = []
    for name, t in first.items():
        found = [next((x for x in run if x.name == name), None) for run in per_run]
        calls = round(median([float(x.calls) if x else 0.0 for x in found]))
        cost = overhead_ms * calls
        self_ms = median([x.self_ms if x else 0.0 for x in found])
        total_ms = median([x.total_ms if x else 0.0 for x in found])
        out.append(LayerTime(name=name, module=t.module, self_ms=max(0.0, self_ms - cost),
                             total_ms=max(0.0, total_ms - cost), calls=calls))
    return out


@contextmanager
def _ranges(model: nn.Module) -> Iterator[None]:
    """Every module's forward wrapped in a ``record_function`` range named
    ``LABEL_PREFIX + scope`` for the block; the hooks removed after it."""
    stack: list[Any] = []

    def enter(label: str) -> Any:
        def pre(_m: nn.Module, _args: Any) -> None:
            rf = torch.profiler.record_function(label)
            rf.__enter__()
            stack.append(rf)
        return pre

    def leave(_m: nn.Module, _args: Any, _out: Any) -> None:
        if stack:
            stack.pop().__exit__(None, None, None)

    handles: list[Any] = []
    try:
        for name, module in model.named_modules():
            handles.append(module.register_forward_pre_hook(enter(LABEL_PREFIX + name)))
            handles.append(module.register_forward_hook(leave))
        yield
    finally:
        while stack:
            stack.pop().__exit__(None, None, None)
        for h in handles:
            h.remove()


def _profile_runs(run: Any, runs: int, classes: dict[str, str], dev: torch.device
                  ) -> list[list[LayerTime]]:
    """Per-scope times of ``runs`` calls of ``run()``, each in a profiling session of its
    own."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    cuda = dev.type == "cuda"
    if cuda:
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    out = []
    for _ in range(runs):
        prof = torch.profiler.profile(activities=activities)
        with _stderr_silenced():  # Kineto logs "profiler_start/stop" from C++ to fd 2
            prof.__enter__()
        try:
            run()
            if cuda:
                torch.cuda.synchronize(dev)
        finally:
            with _stderr_silenced():
                prof.__exit__(None, None, None)
        out.append(self_times(prof.events(), 1, classes, cuda=cuda))
    return out


PROBE_MODULES = 50
"""``nn.Identity`` modules in the chain that measures the profiler's cost of one range."""


def range_overhead_ms(runs: int = 5) -> float:
    """The profiler's own cost of one module range on the CPU (hooks, ``record_function``,
    the profiler's book-keeping): the median self time of an ``nn.Identity``, which does
    nothing, in a profiled chain of :data:`PROBE_MODULES` of them."""
    from convcost.latency.stats import median

    chain = nn.Sequential(*(nn.Identity() for _ in range(PROBE_MODULES)))
    x = torch.zeros(1)
    classes = {name: type(m).__name__ for name, m in chain.named_modules()}
    with _ranges(chain), torch.inference_mode():
        chain(x)
        per_run = _profile_runs(lambda: chain(x), runs, classes, torch.device("cpu"))
    leaves = [t.self_ms for run in per_run for t in run if t.name]
    return median(leaves) if leaves else 0.0


def profile_layers(
    model: nn.Module,
    input_size: tuple[int, ...],
    *,
    device: str = "cpu",
    threads: int | None = None,
    dtype: torch.dtype = torch.float32,
    warmup: int = 2,
    runs: int = 9,
    net_of_profiler: bool = True,
) -> list[LayerTime]:
    """Self and total time of every module scope of ``model`` (ms per forward pass).

    The model runs in eval mode under ``torch.inference_mode`` on a random input from a
    private generator; ``warmup`` passes unprofiled, then ``runs`` profiled ones, each in a
    session of its own; each scope's time is its median over those runs
    (:func:`median_times`). With ``net_of_profiler`` (on the CPU) each scope's times are
    taken net of the profiler's own cost per module range (:func:`range_overhead_ms`), so
    that they compare with the prediction, which has no profiler in it.
    """
    if runs < 1 or warmup < 0:
        raise InvalidArgumentError(f"need runs >= 1 and warmup >= 0, got {runs}, {warmup}")
    with prepared(model, input_size, device, dtype) as (run_model, x, dev):
        classes = {name: type(m).__name__ for name, m in run_model.named_modules()}
        with pinned_threads(threads), torch.inference_mode():
            overhead = range_overhead_ms() if net_of_profiler and dev.type == "cpu" else 0.0
            with _ranges(run_model):
                for _ in range(warmup):
                    run_model(x)
                per_run = _profile_runs(lambda: run_model(x), runs, classes, dev)
        return median_times(per_run, overhead)


@dataclass(frozen=True)
class LayerReport:
    """One module scope: measured time beside its convcost costs (and a prediction)."""

    name: str
    module: str
    ops: tuple[str, ...]
    measured_ms: float
    madds: int
    mem_bytes: int
    predicted_ms: float | None = None

    @property
    def error(self) -> float | None:
        """``predicted / measured − 1`` (None without a prediction or a measured time)."""
        return _error(self.predicted_ms, self.measured_ms)

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"name": self.name, "module": self.module, "ops": list(self.ops),
                                "measured_ms": self.measured_ms, "madds": self.madds,
                                "mem_bytes": self.mem_bytes}
        if self.predicted_ms is not None:
            d["predicted_ms"] = self.predicted_ms
            d["error"] = self.error
        return d


def _error(predicted: float | None, measured: float) -> float | None:
    return None if predicted is None or measured <= 0 else predicted / measured - 1.0


def layer_totals(reports: Sequence[LayerReport], predicted_model_s: float | None = None
                 ) -> dict[str, object]:
    """The total line of a per-layer table: the sums of its rows' measured and predicted
    times and that error, and ``predicted_model_ms``, the whole model's prediction (the rows
    plus the view ops, which belong to no module)."""
    measured = math.fsum(r.measured_ms for r in reports)
    preds = [r.predicted_ms for r in reports if r.predicted_ms is not None]
    out: dict[str, object] = {"measured_ms": measured, "madds": sum(r.madds for r in reports),
                              "mem_bytes": sum(r.mem_bytes for r in reports)}
    if preds:
        predicted = math.fsum(preds)
        out |= {"predicted_ms": predicted, "error": _error(predicted, measured)}
    if predicted_model_s is not None:
        out["predicted_model_ms"] = predicted_model_s * 1000.0
    return out


def join_layers(
    rows: Sequence[Any], times: Sequence[LayerTime],
    predicted: dict[str, float] | None = None,
) -> list[LayerReport]:
    """Align measured self times with convcost's rows by module scope (the rows' ``name``).

    Only scopes that own at least one costed row or a measurable self time are kept, in the
    rows' execution order; ``predicted`` maps a scope to predicted seconds.
    """
    by_scope: dict[str, list[Any]] = {}
    for r in rows:
        by_scope.setdefault(r.name, []).append(r)
    measured = {t.name: t for t in times}
    out: list[LayerReport] = []
    for scope in [*by_scope, *(s for s in measured if s not in by_scope)]:
        rs = by_scope.get(scope, [])
        t = measured.get(scope)
        if not rs and (t is None or t.self_ms <= 0):
            continue
        ops = tuple(dict.fromkeys(r.op for r in rs))
        pred = None if predicted is None else predicted.get(scope, 0.0) * 1000.0
        out.append(LayerReport(
            name=scope, module=rs[0].module if rs else (t.module if t else ""), ops=ops,
            measured_ms=t.self_ms if t else 0.0,
            madds=sum(r.cost.madds for r in rs), mem_bytes=sum(r.cost.mem_bytes for r in rs),
            predicted_ms=pred))
    return out


__all__ = ["LABEL_PREFIX", "PROBE_MODULES", "LayerReport", "LayerTime", "join_layers",
           "layer_totals", "median_times", "profile_layers", "range_overhead_ms", "self_times"]
