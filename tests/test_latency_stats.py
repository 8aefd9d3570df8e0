"""Robust statistics of run times, interleaved rounds, significance and the CUDA timing path,
all on injected timings (fake clocks, fake CUDA events): nothing here depends on how fast
anything runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

import pytest
import torch
from torch import nn

from convcost.errors import InvalidArgumentError
from convcost.latency.measure import (
    ModelRunError,
    compare_measurements,
    device_timing,
    measure,
    measure_interleaved,
    measure_models,
)
from convcost.latency.stats import (
    MAD_SCALE,
    difference,
    mad,
    median,
    median_interval_ranks,
    robust_stats,
    split_outliers,
)

# --- the statistics ----------------------------------------------------------------------------


def test_mad_and_outliers_hand_derived() -> None:
    # 10, 11, 12, 13, 100: median 12; deviations 2, 1, 0, 1, 88 -> MAD 1; robust σ 1.4826;
    # 100 is 88 / 1.4826 = 59 robust σ away (> 3.5): an outlier; 10 is 1.35 σ away: kept
    vals = [10.0, 11.0, 12.0, 13.0, 100.0]
    assert median(vals) == 12.0 and mad(vals) == 1.0
    kept, out = split_outliers(vals)
    assert kept == [10.0, 11.0, 12.0, 13.0] and out == [100.0]
    # 3.5 · 1.4826 = 5.1891: 17.18 is kept, 17.19 is not
    assert split_outliers([*vals[:4], 17.18])[1] == []
    assert split_outliers([*vals[:4], 17.19])[1] == [17.19]
    # MAD 0 (most values equal): no scale to judge by, nothing set aside
    assert split_outliers([5.0, 5.0, 5.0, 9.0]) == ([5.0, 5.0, 5.0, 9.0], [])


def test_median_interval_ranks_exact_binomial() -> None:
    # n = 20: P(B <= 5) = (1 + 20 + 190 + 1140 + 4845 + 15504) / 2^20 = 21700 / 1048576,
    # coverage 1 - 2 · 0.0207 = 0.9586 >= 0.95 -> j = 6; P(B <= 6) adds C(20,6) = 38760:
    # 1 - 2 · 60460 / 2^20 = 0.885 < 0.95
    assert median_interval_ranks(20) == (6, 1 - 2 * 21700 / 2**20)
    # n = 5: even [min, max] covers only 1 - 2/32 = 0.9375: j = 1, and that coverage
    assert median_interval_ranks(5) == (1, 1 - 2 / 32)
    assert median_interval_ranks(1) == (1, 0.0)
    with pytest.raises(InvalidArgumentError):
        median_interval_ranks(0)


def test_robust_stats_and_round_widening() -> None:
    runs = [float(v) for v in range(1, 21)]  # 1..20 ms
    s = robust_stats(runs)
    # median (10 + 11) / 2; interval ranks 6 and 15 (n = 20, j = 6): 6 and 15 ms
    assert (s.median, s.low, s.high) == (10.5, 6.0, 15.0)
    # MAD: deviations 0.5, 0.5, 1.5, 1.5, ... 9.5, 9.5 -> median 5.0; noise 1.4826 · 5 / 10.5
    assert s.mad == 5.0 and s.noise == pytest.approx(MAD_SCALE * 5.0 / 10.5)
    assert s.iqr == pytest.approx(15.25 - 5.75)
    # the same runs in two rounds whose medians are 5.5 and 15.5: the interval grows to hold
    # both (a drift of the machine between rounds widens it)
    w = robust_stats(runs, [runs[:10], runs[10:]])
    assert (w.low, w.high) == (5.5, 15.5) and w.median == s.median


def test_difference_is_significant_only_when_intervals_are_apart() -> None:
    a, b = (10.0, 9.5, 10.5), (12.0, 11.0, 13.0)
    d = difference(a, b)
    # ratio 10/12; bounds 9.5/13 and 10.5/11, both < 1: a is faster
    assert d.ratio == pytest.approx(10 / 12) and d.significant
    assert (d.low, d.high) == (pytest.approx(9.5 / 13), pytest.approx(10.5 / 11))
    # the case: 291 ms with a spread of ±112 against 210 ± 20: intervals overlap
    assert not difference((291.0, 179.0, 403.0), (210.0, 190.0, 230.0)).significant
    assert difference((291.0, 179.0, 403.0), (210.0, 190.0, 230.0)).to_dict()[
        "significant"] is False
    with pytest.raises(InvalidArgumentError):
        difference((10.0, 11.0, 12.0), b)  # the median outside its interval


# --- interleaved measurement on fake timings --------------------------------------------------


class Script:
    """A timer that returns, for each call of a labelled callable, the next scripted
    duration of that label (seconds), and logs the order of the calls."""

    def __init__(self, durations: dict[str, Callable[[int], float]]) -> None:
        self.durations = durations
        self.log: list[str] = []
        self.n: dict[str, int] = {}

    def fn(self, label: str) -> Callable[[], object]:
        def call() -> None:
            self.log.append(label)
        call.label = label  # type: ignore[attr-defined]
        return call

    def timer(self, fn: Callable[[], object]) -> float:
        fn()
        label = fn.label  # type: ignore[attr-defined]
        i = self.n.get(label, 0)
        self.n[label] = i + 1
        return self.durations[label](i)


def test_rounds_interleave_rotate_and_rewarm() -> None:
    s = Script({"a": lambda i: 0.010, "b": lambda i: 0.020})
    out = measure_interleaved({"a": s.fn("a"), "b": s.fn("b")}, warmup=2, min_runs=6,
                              max_runs=6, budget_s=0.0, rounds=3, timer=s.timer)
    # warm-up 2 each; then round 1: a ×2, b ×2; round 2 (rotated): b re-warm + ×2, a re-warm
    # + ×2; round 3: a re-warm + ×2, b re-warm + ×2 (6 runs each = 2 per round); the re-warm
    # calls are untimed but are calls: timed calls come in pairs after each
    assert s.log[:4] == ["a", "a", "b", "b"]
    assert s.log[4:8] == ["a", "a", "b", "b"]
    assert s.log[8:14] == ["b", "b", "b", "a", "a", "a"]
    assert s.log[14:] == ["a", "a", "a", "b", "b", "b"]
    assert s.n == {"a": 6, "b": 6}  # only timed calls go through the timer
    assert out["a"].runs == 6 and out["a"].rounds == 3 and out["a"].median_ms == 10.0
    assert out["b"].round_medians_ms == (20.0, 20.0, 20.0)


def test_budget_and_counts_are_split_over_rounds() -> None:
    # 4 ms runs, budget 24 ms over 2 rounds = 12 ms a round: 3 runs a round, 6 in all
    s = Script({"a": lambda i: 0.004})
    m = measure_interleaved({"a": s.fn("a")}, warmup=0, min_runs=2, max_runs=100,
                            budget_s=0.024, rounds=2, timer=s.timer)["a"]
    assert m.runs == 6 and m.rounds == 2
    # max_runs 5 over 2 rounds: 3 then 2
    m = measure_interleaved({"a": s.fn("a")}, warmup=0, min_runs=1, max_runs=5,
                            budget_s=1e9, rounds=2, timer=s.timer)["a"]
    assert m.runs == 5


def test_a_burst_moves_neither_median_nor_verdict() -> None:
    # a: 10 ms, b: 12 ms, ±1 % alternating (9.9/10.1, 11.88/12.12); in b's second round
    # another process adds 25 ms to every run. Over b's 60 runs the median is 12.12 and the
    # MAD 0.24 (20 deviations of 0, 20 of 0.24, 20 of ~25): the 20 burst runs are ~70 robust
    # σ out and set aside; the 40 calm ones give the median (11.88 + 12.12) / 2 = 12.0. The
    # burst round's own median (37.0) widens b's interval upwards only, so b's low end
    # (11.88) stays above a's high end (10.1): significant, ratio 10.0 / 12.0
    def jitter(base: float) -> Callable[[int], float]:
        return lambda i: base * (1.01 if i % 2 else 0.99)

    def b(i: int) -> float:
        return jitter(0.012)(i) + (0.025 if 20 <= i < 40 else 0.0)

    s = Script({"a": jitter(0.010), "b": b})
    out = measure_interleaved({"a": s.fn("a"), "b": s.fn("b")}, warmup=0, min_runs=60,
                              max_runs=60, budget_s=0.0, rounds=3, timer=s.timer)
    ma, mb = out["a"], out["b"]
    assert mb.median_ms == pytest.approx(12.0) and mb.outliers == 20
    assert mb.ci_low_ms == pytest.approx(11.88) and mb.ci_high_ms == pytest.approx(37.0)
    d = compare_measurements(ma, mb)
    assert d.significant and d.ratio == pytest.approx(10.0 / 12.0)


def test_overlapping_intervals_are_not_significant() -> None:
    # a: 10 ms ± 30 % (alternating 7 and 13 ms), b: 11 ms ± 30 %: the intervals overlap
    s = Script({"a": lambda i: 0.007 if i % 2 else 0.013,
                "b": lambda i: 0.0077 if i % 2 else 0.0143})
    out = measure_interleaved({"a": s.fn("a"), "b": s.fn("b")}, warmup=0, min_runs=30,
                              max_runs=30, budget_s=0.0, rounds=3, timer=s.timer)
    assert not compare_measurements(out["a"], out["b"]).significant


def test_measure_reports_robust_fields() -> None:
    # 19 runs of 5 ms and one 8 ms stall (the 7,993 µs): MAD 0 -> nothing set aside,
    # median 5; with 18 × 5 ms, one 5.1 ms and the stall: MAD 0 again... so use a spread:
    times = [5.0 + 0.1 * (i % 3) for i in range(19)] + [13.0]  # 5.0, 5.1, 5.2 ... and 13
    it = iter(times)
    m = measure(lambda: None, warmup=0, min_runs=20, max_runs=20, budget_s=0.0,
                timer=lambda fn: next(it) / 1000.0)
    # 5.0 ×7, 5.1 ×6, 5.2 ×6: median of the 19 kept = 5.1; MAD 0.1; 13 is 53 σ out
    assert m.outliers == 1 and m.median_ms == pytest.approx(5.1)
    assert m.mad_ms == pytest.approx(0.1) and m.noise == pytest.approx(MAD_SCALE * 0.1 / 5.1)
    d = m.to_dict(times=False)
    assert {"ci_low_ms", "ci_high_ms", "noise", "outliers", "rounds", "mad_ms"} <= set(d)
    assert d["rounds"] == 1 and m.mean_ms == pytest.approx(sum(times) / 20)


# --- CUDA: event timing and synchronisation, injected ------------------------------------------


class FakeEvent:
    """Stands in for ``torch.cuda.Event``: ``record`` reads a fake device clock."""

    clock: ClassVar[float] = 0.0
    log: ClassVar[list[str]] = []

    def __init__(self, enable_timing: bool = False) -> None:
        assert enable_timing
        self.t: float | None = None

    def record(self) -> None:
        self.t = FakeEvent.clock
        FakeEvent.log.append("record")

    def synchronize(self) -> None:
        FakeEvent.log.append("event-sync")

    def elapsed_time(self, end: FakeEvent) -> float:
        assert self.t is not None and end.t is not None
        return (end.t - self.t) * 1000.0  # ms, as CUDA's


def test_cuda_path_times_with_events_and_synchronizes() -> None:
    FakeEvent.clock, FakeEvent.log = 0.0, []
    syncs: list[torch.device] = []
    timer, sync = device_timing(torch.device("cuda", 0), event=FakeEvent,
                                synchronize=syncs.append)
    assert sync is not None

    def kernel() -> None:  # a "launch" that takes 3 ms of device time
        FakeEvent.clock += 0.003
        FakeEvent.log.append("launch")

    m = measure(kernel, device="cuda:0", warmup=2, min_runs=4, max_runs=4, budget_s=0.0,
                timer=timer, sync=sync)
    assert m.median_ms == pytest.approx(3.0) and m.runs == 4 and m.device == "cuda:0"
    # each warm-up call is followed by a device synchronisation; each timed call is
    # bracketed by two events and waits on the end event
    assert syncs == [torch.device("cuda", 0)] * 2
    assert FakeEvent.log == ["launch"] * 2 + ["record", "launch", "record", "event-sync"] * 4
    cpu_timer, cpu_sync = device_timing(torch.device("cpu"), clock=iter([0.0, 0.5]).__next__)
    assert cpu_sync is None and cpu_timer(lambda: None) == 0.5


# --- real modules: interleaved, and a model that cannot run --------------------------------------


class Boom(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("Torch not compiled with CUDA enabled\nmore detail")


def test_measure_models_interleaves_real_modules() -> None:
    ticks = iter(float(i) * 1e-3 for i in range(10_000))  # every clock read 1 ms later
    seen: list[tuple[str, int]] = []
    out = measure_models([("relu", nn.ReLU(), (1, 3, 4, 4)), ("tanh", nn.Tanh(), (2, 3, 4, 4))],
                         threads=1, rounds=2, warmup=1, min_runs=4, max_runs=4, budget_s=0.0,
                         clock=ticks.__next__,
                         progress=lambda label, n, f: seen.append((label, n, f)))
    assert [m.runs for m in out] == [4, 4] and [m.batch for m in out] == [1, 2]
    assert all(m.median_ms == pytest.approx(1.0) and m.rounds == 2 for m in out)
    # round 1: relu 1, 2; tanh 1, 2; round 2 rotated: tanh 3, 4; relu 3, 4 — and the share
    # of the whole done: 4 segments (2 rounds × 2 models) of 2 runs each, 1/8 per run
    assert seen == [("relu", 1, 1 / 8), ("relu", 2, 2 / 8), ("tanh", 1, 3 / 8),
                    ("tanh", 2, 4 / 8), ("tanh", 3, 5 / 8), ("tanh", 4, 6 / 8),
                    ("relu", 3, 7 / 8), ("relu", 4, 1.0)]


def test_a_model_that_cannot_run_is_bad_input() -> None:
    with pytest.raises(ModelRunError, match=r"^boom cannot run on cpu with input 1×3×4×4: "
                       r"RuntimeError: Torch not compiled with CUDA enabled$"):
        measure_models([("ok", nn.ReLU(), (1, 3, 4, 4)), ("boom", Boom(), (1, 3, 4, 4))],
                       warmup=0, min_runs=1, max_runs=1, budget_s=0.0)
    assert issubclass(ModelRunError, InvalidArgumentError)  # the CLI's exit 2


def test_bad_counts_refused() -> None:
    for kw in ({"rounds": 0}, {"budget_s": math.nan}, {"budget_s": math.inf}):
        with pytest.raises(InvalidArgumentError):
            measure(lambda: None, **kw)  # type: ignore[arg-type]
