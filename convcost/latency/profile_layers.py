"""Measured time per module with the profiler PyTorch ships (``torch.profiler``).

Every module's forward is wrapped in a ``record_function`` range named
``convcost.module::<scope>`` by a forward pre-hook and a forward hook; the hooks are removed
in ``finally`` and every ``training`` flag restored, so the caller's model ends as it began.
A module's *self* time is its range minus the ranges of the modules it called, which is
exactly the time of the ops convcost attributes to that scope (a row's ``name``): functional
ops such as ``x + y`` in a block's ``forward`` land in the block's own scope, as in convcost.

On CPU the time is the ranges' CPU time; on CUDA it is the device time of the kernels each
range launched. The profiler adds a few microseconds per op, so per-layer times sum to a
little more than :func:`~convcost.latency.measure.measure_model`'s median.
"""

from __future__ import annotations

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


def profile_layers(
    model: nn.Module,
    input_size: tuple[int, ...],
    *,
    device: str = "cpu",
    threads: int | None = None,
    dtype: torch.dtype = torch.float32,
    warmup: int = 2,
    runs: int = 5,
) -> list[LayerTime]:
    """Self and total time of every module scope of ``model`` (ms per forward pass).

    The model runs in eval mode under ``torch.inference_mode`` on a random input from a
    private generator; ``warmup`` passes unprofiled, then ``runs`` profiled ones.
    """
    if runs < 1 or warmup < 0:
        raise InvalidArgumentError(f"need runs >= 1 and warmup >= 0, got {runs}, {warmup}")
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

    with prepared(model, input_size, device, dtype) as (run_model, x, dev):
        classes = {name: type(m).__name__ for name, m in run_model.named_modules()}
        activities = [torch.profiler.ProfilerActivity.CPU]
        if dev.type == "cuda":
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        handles: list[Any] = []
        try:
            for name, module in run_model.named_modules():
                handles.append(module.register_forward_pre_hook(enter(LABEL_PREFIX + name)))
                handles.append(module.register_forward_hook(leave))
            with pinned_threads(threads), torch.inference_mode():
                for _ in range(warmup):
                    run_model(x)
                prof = torch.profiler.profile(activities=activities)
                with _stderr_silenced():  # Kineto logs "profiler_start/stop" from C++ to fd 2
                    prof.__enter__()
                try:
                    for _ in range(runs):
                        run_model(x)
                    if dev.type == "cuda":
                        torch.cuda.synchronize(dev)
                finally:
                    with _stderr_silenced():
                        prof.__exit__(None, None, None)
            return self_times(prof.events(), runs, classes, cuda=dev.type == "cuda")
        finally:
            while stack:
                stack.pop().__exit__(None, None, None)
            for h in handles:
                h.remove()


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

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"name": self.name, "module": self.module, "ops": list(self.ops),
                                "measured_ms": self.measured_ms, "madds": self.madds,
                                "mem_bytes": self.mem_bytes}
        if self.predicted_ms is not None:
            d["predicted_ms"] = self.predicted_ms
        return d


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


__all__ = ["LABEL_PREFIX", "LayerReport", "LayerTime", "join_layers", "profile_layers",
           "self_times"]
