"""Measured latency: warm-up, repeated timed runs, median and interquartile range.

:func:`measure` times any zero-argument callable; :func:`measure_model` builds a real random
input for a module and times its forward pass in eval mode under ``torch.inference_mode``.

Statistics are exact functions of the recorded run times: the median and the quartiles use
linear interpolation between order statistics (numpy's default ``method="linear"``): for
sorted times ``t[0] <= ... <= t[n-1]`` the ``p``-quantile is read at position
``h = (n - 1) * p`` as ``t[floor(h)] + (h - floor(h)) * (t[floor(h) + 1] - t[floor(h)])``.

The clock is injectable so that the machinery (warm-up, stopping rule, statistics) is tested
on fake timings; nothing here prints.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from convcost.errors import InvalidArgumentError

INPUT_SEED = 0
"""Seed of the private generator that draws the random input of :func:`measure_model`."""


@dataclass(frozen=True)
class Measurement:
    """Timing of one callable: statistics over ``runs`` timed calls, all in milliseconds."""

    median_ms: float
    q1_ms: float
    q3_ms: float
    iqr_ms: float
    mean_ms: float
    runs: int
    warmup: int
    threads: int
    device: str
    batch: int
    times_ms: tuple[float, ...]

    @property
    def throughput(self) -> float:
        """Samples per second at the median: ``batch / (median_ms / 1000)``."""
        if self.median_ms <= 0:
            return math.inf
        return self.batch / (self.median_ms / 1000.0)

    def to_dict(self, times: bool = True) -> dict[str, object]:
        """Plain JSON-ready dict: every field (``times=False``: all but the raw
        ``times_ms``), plus ``throughput`` (samples/s)."""
        return {
            "median_ms": self.median_ms,
            "q1_ms": self.q1_ms,
            "q3_ms": self.q3_ms,
            "iqr_ms": self.iqr_ms,
            "mean_ms": self.mean_ms,
            "throughput": self.throughput,
            "runs": self.runs,
            "warmup": self.warmup,
            "threads": self.threads,
            "device": self.device,
            "batch": self.batch,
            **({"times_ms": list(self.times_ms)} if times else {}),
        }


def quantile(values: Sequence[float], p: float) -> float:
    """The ``p``-quantile of ``values`` by linear interpolation (numpy's default method).

    >>> quantile([4.0, 1.0, 3.0, 2.0], 0.25)  # sorted 1,2,3,4; h = 3*0.25 = 0.75
    1.75
    """
    if not values:
        raise InvalidArgumentError("quantile of no values; time at least one run")
    if not 0.0 <= p <= 1.0:
        raise InvalidArgumentError(f"quantile p={p} is outside [0, 1]")
    ordered = sorted(values)
    h = (len(ordered) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


def summarize(
    times_ms: Sequence[float], *, warmup: int, threads: int, device: str, batch: int
) -> Measurement:
    """Build a :class:`Measurement` from recorded run times (milliseconds)."""
    q1 = quantile(times_ms, 0.25)
    q3 = quantile(times_ms, 0.75)
    return Measurement(
        median_ms=quantile(times_ms, 0.5),
        q1_ms=q1,
        q3_ms=q3,
        iqr_ms=q3 - q1,
        mean_ms=math.fsum(times_ms) / len(times_ms),
        runs=len(times_ms),
        warmup=warmup,
        threads=threads,
        device=device,
        batch=batch,
        times_ms=tuple(times_ms),
    )


@contextmanager
def pinned_threads(threads: int | None) -> Iterator[int]:
    """Set torch's intra-op thread count for the block (if given) and restore it afterwards."""
    before = torch.get_num_threads()
    if threads is not None:
        if threads < 1:
            raise InvalidArgumentError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def _check_counts(warmup: int, min_runs: int, max_runs: int, budget_s: float, batch: int) -> None:
    if warmup < 0:
        raise InvalidArgumentError(f"warmup must be >= 0, got {warmup}")
    if min_runs < 1:
        raise InvalidArgumentError(f"min_runs must be >= 1, got {min_runs}")
    if max_runs < min_runs:
        raise InvalidArgumentError(f"max_runs ({max_runs}) must be >= min_runs ({min_runs})")
    if budget_s < 0:
        raise InvalidArgumentError(f"budget_s must be >= 0, got {budget_s}")
    if batch < 1:
        raise InvalidArgumentError(f"batch must be >= 1, got {batch}")


def measure(
    fn: Callable[[], object],
    *,
    batch: int = 1,
    device: str = "cpu",
    threads: int | None = None,
    warmup: int = 3,
    min_runs: int = 5,
    max_runs: int = 200,
    budget_s: float = 2.0,
    clock: Callable[[], float] = time.perf_counter,
    sync: Callable[[], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Measurement:
    """Time ``fn``: ``warmup`` untimed calls, then timed calls until a budget or a count.

    Timed calls continue until ``max_runs`` calls, or until at least ``min_runs`` calls have
    been made and their summed time has reached ``budget_s`` seconds. Each run is
    ``clock()`` before the call and after it (after ``sync()``, which a CUDA caller passes
    to wait for the device). ``progress`` is called with the number of timed runs so far
    after each one. ``threads`` pins torch's intra-op threads for the duration.
    """
    _check_counts(warmup, min_runs, max_runs, budget_s, batch)
    with pinned_threads(threads) as used_threads:
        for _ in range(warmup):
            fn()
            if sync is not None:
                sync()
        times_ms: list[float] = []
        spent_s = 0.0
        while len(times_ms) < max_runs:
            start = clock()
            fn()
            if sync is not None:
                sync()
            elapsed = clock() - start
            times_ms.append(elapsed * 1000.0)
            spent_s += elapsed
            if progress is not None:
                progress(len(times_ms))
            if len(times_ms) >= min_runs and spent_s >= budget_s:
                break
    return summarize(times_ms, warmup=warmup, threads=used_threads, device=device, batch=batch)


def check_device(device: str) -> torch.device:
    """Validate a device name (``cpu`` or ``cuda[:N]``); CUDA must be available."""
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise InvalidArgumentError(f"unknown device {device!r}; use 'cpu' or 'cuda'") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidArgumentError("--device cuda: CUDA is not available here; use --device cpu")
    if dev.type not in ("cpu", "cuda"):
        raise InvalidArgumentError(f"device {device!r} is not supported; use 'cpu' or 'cuda'")
    return dev


def _runnable(model: nn.Module, dev: torch.device, dtype: torch.dtype) -> tuple[nn.Module, bool]:
    """The module to run: the user's own when already on ``dev``/``dtype``, else a copy."""
    tensors = [*model.parameters(), *model.buffers()]
    if any(t.is_meta for t in tensors):
        raise InvalidArgumentError(
            "the model has meta-device weights; build it with real weights to time it "
            "(e.g. convcost.zoo.build(entry, device='cpu'))"
        )
    in_place = all(
        t.device.type == dev.type
        and (dev.index is None or t.device.index == dev.index)
        and (not t.is_floating_point() or t.dtype == dtype)
        for t in tensors
    )
    if in_place:
        return model, False
    return copy.deepcopy(model).to(device=dev, dtype=dtype), True


def measure_model(
    model: nn.Module,
    input_size: tuple[int, ...],
    *,
    device: str = "cpu",
    threads: int | None = None,
    dtype: torch.dtype = torch.float32,
    **kw: object,
) -> Measurement:
    """Time ``model``'s forward pass on a random input of ``input_size`` (batch first).

    The input comes from a private generator seeded with :data:`INPUT_SEED`. The model runs
    in eval mode under ``torch.inference_mode``; a model already on ``device`` at ``dtype``
    runs as is and every module's ``training`` flag is restored afterwards, any other is
    copied first, so the caller's module is never changed. Remaining keywords go to
    :func:`measure` (``warmup``, ``min_runs``, ``max_runs``, ``budget_s``, ``clock``,
    ``progress``).
    """
    with prepared(model, input_size, device, dtype) as (run_model, x, dev):
        sync: Callable[[], None] | None = None
        if dev.type == "cuda":
            def sync() -> None:
                torch.cuda.synchronize(dev)

        def forward() -> object:
            return run_model(x)

        with torch.inference_mode():
            return measure(forward, batch=int(input_size[0]), device=str(dev), threads=threads,
                           sync=sync, **kw)  # type: ignore[arg-type]


@contextmanager
def prepared(model: nn.Module, input_size: tuple[int, ...], device: str,
             dtype: torch.dtype) -> Iterator[tuple[nn.Module, torch.Tensor, torch.device]]:
    """(module to run, input, device) for timing ``model``: a random input from a private
    generator seeded with :data:`INPUT_SEED`; the user's module itself when already on
    ``device`` at ``dtype`` (every ``training`` flag restored on exit), else a copy; in eval
    mode."""
    if not input_size or any(int(s) < 1 for s in input_size):
        raise InvalidArgumentError(f"input size {tuple(input_size)} must be positive ints")
    dev = check_device(device)
    gen = torch.Generator().manual_seed(INPUT_SEED)
    x = torch.randn(tuple(int(s) for s in input_size), generator=gen, dtype=dtype).to(dev)
    run_model, copied = _runnable(model, dev, dtype)
    flags = [(m, m.training) for m in run_model.modules()]
    try:
        run_model.eval()
        yield run_model, x, dev
    finally:
        if not copied:
            for module, training in flags:
                module.training = training


__all__ = [
    "INPUT_SEED",
    "Measurement",
    "check_device",
    "measure",
    "measure_model",
    "pinned_threads",
    "prepared",
    "quantile",
    "summarize",
]
