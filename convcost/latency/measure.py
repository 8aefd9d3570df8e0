"""Measured latency: warm-up, timed runs in interleaved rounds, robust statistics.

:func:`measure` times any zero-argument callable; :func:`measure_interleaved` times several
in interleaved rounds (each round times every callable for its share of the budget, so a
burst of load on a shared machine falls on all of them alike); :func:`measure_model` and
:func:`measure_models` build a real random input for modules and time their forward pass in
eval mode under ``torch.inference_mode``.

Statistics (:mod:`~convcost.latency.stats`): median and quartiles of the runs left after
setting aside outliers by their MAD, the noise (robust coefficient of variation) and a
distribution-free interval for the median, widened to hold every round's median.
:func:`difference` says whether two measurements differ beyond those intervals.

On CUDA each run is timed by a pair of CUDA events recorded around the call on the current
stream, and the device is synchronised after every warm-up call; on the CPU by
``time.perf_counter``. The clock, the synchronisation and the event class are injectable, so
the machinery (warm-up, rounds, stopping rule, statistics) is tested on fake timings;
nothing here prints.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from convcost.api import INPUT_SEED, make_inputs
from convcost.errors import InvalidArgumentError
from convcost.latency.heap import heap_state, page_faults
from convcost.latency.stats import MAD_SCALE, Difference, difference, quantile, robust_stats

Timer = Callable[[Callable[[], object]], float]
"""``timer(fn) -> seconds``: call ``fn`` once and return how long it took."""


class ModelRunError(InvalidArgumentError):
    """A model that cannot run on the device asked for (or not on the input given)."""


@dataclass(frozen=True)
class Measurement:
    """Timing of one callable, in milliseconds: robust statistics over the runs left after
    outliers are set aside (``runs`` counts every timed run, ``outliers`` those set aside)."""

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
    mad_ms: float = 0.0
    ci_low_ms: float = 0.0  # interval for the median (stats.robust_stats)
    ci_high_ms: float = 0.0
    outliers: int = 0
    rounds: int = 1
    round_medians_ms: tuple[float, ...] = ()
    page_faults: float = 0.0  # the process' page faults per timed run (heap.page_faults)
    heap: str = "system"  # heap.heap_state() while timing

    @property
    def throughput(self) -> float:
        """Samples per second at the median: ``batch / (median_ms / 1000)``."""
        if self.median_ms <= 0:
            return math.inf
        return self.batch / (self.median_ms / 1000.0)

    @property
    def noise(self) -> float:
        """Robust coefficient of variation of the kept runs: ``MAD_SCALE · MAD / median``
        (:data:`~convcost.latency.stats.MAD_SCALE` = 1.4826)."""
        return MAD_SCALE * self.mad_ms / self.median_ms if self.median_ms > 0 else 0.0

    def to_dict(self, times: bool = True) -> dict[str, object]:
        """Plain JSON-ready dict: every field (``times=False``: all but the raw
        ``times_ms``), plus ``throughput`` (samples/s) and ``noise``."""
        return {
            "median_ms": self.median_ms,
            "q1_ms": self.q1_ms,
            "q3_ms": self.q3_ms,
            "iqr_ms": self.iqr_ms,
            "mean_ms": self.mean_ms,
            "mad_ms": self.mad_ms,
            "ci_low_ms": self.ci_low_ms,
            "ci_high_ms": self.ci_high_ms,
            "noise": self.noise,
            "throughput": self.throughput,
            "runs": self.runs,
            "outliers": self.outliers,
            "rounds": self.rounds,
            "warmup": self.warmup,
            "threads": self.threads,
            "device": self.device,
            "batch": self.batch,
            "page_faults": self.page_faults,
            "heap": self.heap,
            **({"times_ms": list(self.times_ms),
                "round_medians_ms": list(self.round_medians_ms)} if times else {}),
        }


def summarize(
    times_ms: Sequence[float], *, warmup: int, threads: int, device: str, batch: int,
    rounds: Sequence[Sequence[float]] = (), page_faults: float = 0.0,
) -> Measurement:
    """Build a :class:`Measurement` from recorded run times (milliseconds); ``rounds`` are the
    same times grouped by interleaved round (widening the interval, see
    :mod:`~convcost.latency.stats`); ``page_faults`` per timed run."""
    s = robust_stats(times_ms, rounds)
    return Measurement(
        median_ms=s.median,
        q1_ms=s.q1,
        q3_ms=s.q3,
        iqr_ms=s.iqr,
        mean_ms=math.fsum(times_ms) / len(times_ms),
        runs=len(times_ms),
        warmup=warmup,
        threads=threads,
        device=device,
        batch=batch,
        times_ms=tuple(times_ms),
        mad_ms=s.mad,
        ci_low_ms=s.low,
        ci_high_ms=s.high,
        outliers=s.outliers,
        rounds=max(1, len(s.round_medians)),
        round_medians_ms=s.round_medians,
        page_faults=page_faults,
        heap=heap_state(),
    )


def compare_measurements(a: Measurement, b: Measurement) -> Difference:
    """``a`` against ``b``: ratio of the medians, its bounds from the two intervals, and
    whether the intervals are apart (:func:`~convcost.latency.stats.difference`)."""
    return difference((a.median_ms, a.ci_low_ms, a.ci_high_ms),
                      (b.median_ms, b.ci_low_ms, b.ci_high_ms))


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


def _check_counts(warmup: int, min_runs: int, max_runs: int, budget_s: float, batch: int,
                  rounds: int = 1) -> None:
    if warmup < 0:
        raise InvalidArgumentError(f"warmup must be >= 0, got {warmup}")
    if min_runs < 1:
        raise InvalidArgumentError(f"min_runs must be >= 1, got {min_runs}")
    if max_runs < min_runs:
        raise InvalidArgumentError(f"max_runs ({max_runs}) must be >= min_runs ({min_runs})")
    if not (budget_s >= 0 and math.isfinite(budget_s)):
        raise InvalidArgumentError(f"budget_s must be a finite number >= 0, got {budget_s}")
    if batch < 1:
        raise InvalidArgumentError(f"batch must be >= 1, got {batch}")
    if rounds < 1:
        raise InvalidArgumentError(f"rounds must be >= 1, got {rounds}")


def clock_timer(clock: Callable[[], float] = time.perf_counter,
                sync: Callable[[], None] | None = None) -> Timer:
    """Time a call by ``clock()`` before it and after it (after ``sync()``, when given)."""
    def time_call(fn: Callable[[], object]) -> float:
        start = clock()
        fn()
        if sync is not None:
            sync()
        return clock() - start
    return time_call


def cuda_event_timer(event: Callable[..., Any] | None = None) -> Timer:
    """Time a call on the current CUDA stream by two events recorded around it: the
    device's own clock, without the host's launch latency; waits for the end event.
    ``event`` replaces ``torch.cuda.Event`` (tests)."""
    make = event if event is not None else torch.cuda.Event

    def time_call(fn: Callable[[], object]) -> float:
        start, end = make(enable_timing=True), make(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return float(start.elapsed_time(end)) / 1000.0  # elapsed_time is in ms
    return time_call


def _share(total: int, parts: int, i: int) -> int:
    """Part ``i`` of ``total`` split as evenly as possible into ``parts`` (the first
    ``total % parts`` parts get one more)."""
    return total // parts + (1 if i < total % parts else 0)


def measure_interleaved(
    fns: Mapping[str, Callable[[], object]],
    *,
    batch: int | Mapping[str, int] = 1,
    device: str = "cpu",
    threads: int | None = None,
    warmup: int = 3,
    min_runs: int = 5,
    max_runs: int = 200,
    budget_s: float = 2.0,
    rounds: int = 1,
    clock: Callable[[], float] = time.perf_counter,
    sync: Callable[[], None] | None = None,
    timer: Timer | None = None,
    progress: Callable[[str, int, float], None] | None = None,
) -> dict[str, Measurement]:
    """Time every callable of ``fns`` (by label) in ``rounds`` interleaved rounds.

    Each callable first gets ``warmup`` untimed calls; then, round after round, each callable
    in turn (the order rotates by one every round) is timed for its share of the budget:
    ``budget_s / rounds`` seconds, at least its share of ``min_runs`` and at most its share of
    ``max_runs`` runs (shares split as evenly as possible, at least one run per round).
    Before each round after the first, each callable gets one more untimed call: the others
    ran in between and took the caches. ``budget_s``, ``min_runs`` and ``max_runs`` are
    per callable, over all rounds. A run is timed by ``timer(fn)`` when given, else by
    ``clock()`` around the call and ``sync()``; warm-up calls are followed by ``sync()`` too.
    The process' page faults during each callable's timed runs are counted (between the runs
    of a segment, so the count includes nothing else's), per timed run in the result.
    ``progress(label, runs, fraction)`` is called after each timed run (``fraction``: the share
    of the whole measurement done, by rounds, callables and each one's runs or budget);
    ``threads`` pins torch's intra-op threads for the duration.
    """
    batches = {k: (batch if isinstance(batch, int) else batch[k]) for k in fns}
    _check_counts(warmup, min_runs, max_runs, budget_s, min(batches.values(), default=1),
                  rounds)
    time_call = timer if timer is not None else clock_timer(clock, sync)
    labels = list(fns)
    times: dict[str, list[list[float]]] = {k: [] for k in labels}
    faults = dict.fromkeys(labels, 0)
    with pinned_threads(threads) as used_threads:
        for label in labels:
            for _ in range(warmup):
                _untimed(fns[label], sync)
        for r in range(rounds):
            lo_runs = max(1, _share(min_runs, rounds, r))
            hi_runs = max(lo_runs, _share(max_runs, rounds, r))
            budget_r = budget_s / rounds
            order = labels[r % len(labels):] + labels[:r % len(labels)] if labels else []
            for j, label in enumerate(order):
                segment = r * len(labels) + j
                fn = fns[label]
                if r > 0:
                    _untimed(fn, sync)
                done = sum(len(t) for t in times[label])
                this: list[float] = []
                spent = 0.0
                faults_before = page_faults()
                while len(this) < hi_runs:
                    elapsed = time_call(fn)
                    this.append(elapsed * 1000.0)
                    spent += elapsed
                    if progress is not None:
                        # the segment ends at its minimum runs and budget, or its maximum runs
                        by_time = spent / budget_r if budget_r > 0 else math.inf
                        part = min(1.0, max(min(len(this) / lo_runs, by_time),
                                            len(this) / hi_runs))
                        progress(label, done + len(this),
                                 (segment + part) / (rounds * len(labels)))
                    if len(this) >= lo_runs and spent >= budget_r:
                        break
                faults[label] += page_faults() - faults_before
                times[label].append(this)
    return {
        label: summarize([t for rnd in times[label] for t in rnd], warmup=warmup,
                         threads=used_threads, device=device, batch=batches[label],
                         rounds=times[label] if rounds > 1 else (),
                         page_faults=faults[label] / max(1, sum(map(len, times[label]))))
        for label in labels
    }


def _untimed(fn: Callable[[], object], sync: Callable[[], None] | None) -> None:
    fn()
    if sync is not None:
        sync()


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
    rounds: int = 1,
    clock: Callable[[], float] = time.perf_counter,
    sync: Callable[[], None] | None = None,
    timer: Timer | None = None,
    progress: Callable[[int], None] | None = None,
) -> Measurement:
    """Time ``fn``: ``warmup`` untimed calls, then timed calls until a budget or a count.

    Timed calls continue until ``max_runs`` calls, or until at least ``min_runs`` calls have
    been made and their summed time has reached ``budget_s`` seconds (split over ``rounds``
    as in :func:`measure_interleaved`). Each run is ``clock()`` before the call and after it
    (after ``sync()``, which a CUDA caller passes to wait for the device), or ``timer(fn)``.
    ``progress`` is called with the number of timed runs so far after each one. ``threads``
    pins torch's intra-op threads for the duration.
    """
    tick = None if progress is None else (lambda _label, n, _f: progress(n))
    return measure_interleaved({"": fn}, batch=batch, device=device, threads=threads,
                               warmup=warmup, min_runs=min_runs, max_runs=max_runs,
                               budget_s=budget_s, rounds=rounds, clock=clock, sync=sync,
                               timer=timer, progress=tick)[""]


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


def device_timing(
    dev: torch.device,
    clock: Callable[[], float] = time.perf_counter,
    event: Callable[..., Any] | None = None,
    synchronize: Callable[[torch.device], None] | None = None,
) -> tuple[Timer, Callable[[], None] | None]:
    """(timer, sync) for ``dev``: on CUDA, event pairs and ``torch.cuda.synchronize(dev)``
    (``event``/``synchronize`` replace them in tests); elsewhere ``clock`` and no sync."""
    if dev.type != "cuda":
        return clock_timer(clock), None
    wait = synchronize if synchronize is not None else torch.cuda.synchronize

    def sync() -> None:
        wait(dev)

    return cuda_event_timer(event), sync


def _runnable(model: nn.Module, dev: torch.device, dtype: torch.dtype) -> nn.Module:
    """The module to run: always a copy on ``dev`` at ``dtype`` (the same weights run as fast),
    so that nothing a forward pass does (buffers it updates, attributes it assigns, a
    ``train()``/``eval()`` of its own) reaches the user's model."""
    tensors = [*model.parameters(), *model.buffers()]
    if any(t.is_meta for t in tensors):
        raise InvalidArgumentError(
            "the model has meta-device weights; build it with real weights to time it "
            "(e.g. convcost.zoo.build(entry, device='cpu'))"
        )
    try:
        return copy.deepcopy(model).to(device=dev, dtype=dtype)
    except (RuntimeError, TypeError, ValueError, AssertionError) as exc:
        raise ModelRunError(f"the model cannot be moved to {dev} as {dtype}: "
                            f"{_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _probe(label: str, forward: Callable[[], object], shape: tuple[int, ...],
           dev: torch.device) -> None:
    """One untimed call: a model that cannot run on ``dev`` fails here, as bad input."""
    try:
        forward()
    except MemoryError:
        raise
    except Exception as exc:  # any failure of the user's forward is reported as bad input
        size = "×".join(str(s) for s in shape)
        raise ModelRunError(f"{label or 'the model'} cannot run on {dev} with input {size}: "
                            f"{_first_line(exc)}") from exc


def measure_models(
    jobs: Sequence[tuple[str, nn.Module, tuple[int, ...]]],
    *,
    device: str = "cpu",
    threads: int | None = None,
    dtype: torch.dtype = torch.float32,
    rounds: int = 3,
    clock: Callable[[], float] = time.perf_counter,
    event: Callable[..., Any] | None = None,
    progress: Callable[[str, int, float], None] | None = None,
    **kw: Any,
) -> list[Measurement]:
    """Time each ``(label, model, input_size)`` of ``jobs`` (input batch first) in ``rounds``
    interleaved rounds (:func:`measure_interleaved`; ``kw``: ``warmup``, ``min_runs``,
    ``max_runs``, ``budget_s``, each per model). One Measurement per job, in order.

    Every model gets a random input from a private generator seeded with
    :data:`INPUT_SEED` and runs in eval mode under ``torch.inference_mode``, always as a copy
    on ``device`` at ``dtype``, so the caller's module is never changed. Each model is called
    once, untimed, before anything is timed: one that cannot run on ``device`` raises
    :class:`ModelRunError` (bad input). On CUDA the runs are timed with CUDA events.
    """
    dev = check_device(device)
    timer, sync = device_timing(dev, clock, event)
    keys = [str(i) for i in range(len(jobs))]
    with ExitStack() as stack:
        fns: dict[str, Callable[[], object]] = {}
        for key, (_label, model, shape) in zip(keys, jobs, strict=True):
            run_model, x, _ = stack.enter_context(prepared(model, shape, device, dtype))

            def forward(m: nn.Module = run_model, x: torch.Tensor = x) -> object:
                return m(x)

            fns[key] = forward
        stack.enter_context(torch.inference_mode())
        with pinned_threads(threads):
            for key, (label, _, shape) in zip(keys, jobs, strict=True):
                _probe(label, fns[key], shape, dev)
                if sync is not None:
                    sync()
        tick = None if progress is None else (
            lambda key, n, f: progress(jobs[int(key)][0], n, f))
        out = measure_interleaved(
            fns, batch={k: int(j[2][0]) for k, j in zip(keys, jobs, strict=True)},
            device=str(dev), threads=threads, rounds=rounds, sync=sync, timer=timer,
            progress=tick, **kw)
    return [out[k] for k in keys]


def measure_model(
    model: nn.Module,
    input_size: tuple[int, ...],
    *,
    device: str = "cpu",
    threads: int | None = None,
    dtype: torch.dtype = torch.float32,
    rounds: int = 1,
    progress: Callable[[int], None] | None = None,
    **kw: Any,
) -> Measurement:
    """Time ``model``'s forward pass on a random input of ``input_size`` (batch first):
    :func:`measure_models` for one model (one round unless asked). Remaining keywords go to
    :func:`measure_interleaved` (``warmup``, ``min_runs``, ``max_runs``, ``budget_s``) or to
    :func:`measure_models` (``clock``, ``event``)."""
    tick = None if progress is None else (lambda _label, n, _f: progress(n))
    return measure_models([("", model, input_size)], device=device, threads=threads,
                          dtype=dtype, rounds=rounds, progress=tick, **kw)[0]


@contextmanager
def prepared(model: nn.Module, input_size: tuple[int, ...], device: str,
             dtype: torch.dtype) -> Iterator[tuple[nn.Module, torch.Tensor, torch.device]]:
    """(module to run, input, device) for timing ``model``: the input of every other run
    (:func:`convcost.api.make_inputs`: random floats from a private generator seeded with
    :data:`INPUT_SEED`, zeros for an integer :class:`~convcost.specs.InputShape` such as
    ``128:int64``); a copy of the user's module, in eval mode."""
    if not input_size or any(int(s) < 1 for s in input_size):
        raise InvalidArgumentError(f"input size {tuple(input_size)} must be positive ints")
    dev = check_device(device)
    (x,) = make_inputs(input_size, None, str(dev), dtype)
    run_model = _runnable(model, dev, dtype)
    with torch.random.fork_rng(devices=[]):  # a forward drawing random numbers leaves the
        run_model.eval()  # caller's RNG where it was (this is the copy's eval)
        yield run_model, x, dev


__all__ = [
    "INPUT_SEED",
    "Measurement",
    "ModelRunError",
    "Timer",
    "check_device",
    "clock_timer",
    "compare_measurements",
    "cuda_event_timer",
    "device_timing",
    "measure",
    "measure_interleaved",
    "measure_model",
    "measure_models",
    "pinned_threads",
    "prepared",
    "quantile",
    "summarize",
]
