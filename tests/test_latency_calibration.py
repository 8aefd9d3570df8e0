"""The calibration: it inverts the predictor on its own networks, its sanity checks re-measure
or refuse, and two calibrations from noisy injected timings agree within 10 % per constant.

No timing here is real: each network's time comes from a known set of constants (TRUTH) run
through the predictor on that network's own analysis, and noise is injected run by run.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from torch import nn

import convcost
from convcost.errors import ConvcostError, InvalidArgumentError
from convcost.latency import calibrate as cal_mod
from convcost.latency.calibrate import (
    LOOP,
    MICRO_BENCHMARKS,
    CalibrationError,
    Counts,
    Limits,
    MicroBenchmark,
    all_counts,
    calibration_from_timings,
    cpu_limits,
    measure_checked,
    run_micro_benchmarks,
    sanity_problems,
)
from convcost.latency.roofline import OP_CLASSES, Calibration, OpCost, predict_latency

# constants of a plausible 2-core CPU: (fixed cost s, s per unit of work, s per byte); the
# convs, products and pools move their bytes at the memory ops' rate B (SHARED_BYTES)
B = 1 / 60e9
TRUTH = Calibration(
    ops={"dense": OpCost(5e-6, 1 / 80e9, B), "grouped": OpCost(20e-6, 1 / 20e9, B),
         "pointwise": OpCost(4e-6, 1 / 60e9, B), "depthwise": OpCost(30e-6, 1 / 10e9, B),
         "gemm": OpCost(2e-6, 1 / 50e9, B), "max_pool": OpCost(2e-6, 1 / 0.7e9, B),
         "avg_pool": OpCost(2e-6, 1 / 3e9, B), "reduce": OpCost(3e-6, 0.0, 1 / 20e9),
         "transcendental": OpCost(1e-6, 1 / 2e9, 0.0), "norm": OpCost(5e-6, 0.0, 1 / 40e9),
         "memory": OpCost(1.5e-6, 0.0, B)},
    stream_bytes_per_s=17e9, cache_bytes=32 * 2**20, module_overhead_s=0.6e-6,
    free_op_overhead_s=0.4e-6, device="cpu", threads=2, machine="test", torch_version="x",
    context_s=12e-6, context_s_per_byte=1 / 200e9, channel_block=16,
    # convs whose channels do not fill 16-channel blocks run slower (roofline module doc);
    # the suite's grouped convs have 4 (counted as aligned) or 8 channels a group: no ragged
    alignment={"dense:half": 1.2, "dense:ragged": 1.6, "pointwise:half": 1.3,
               "pointwise:ragged": 1.9, "depthwise:half": 1.4, "depthwise:ragged": 1.7,
               "grouped:half": 1.1})
LIMITS = Limits(madds_per_s=1e12, bytes_per_s=1e13, overhead_s=1e-3, source="test limits")


def true_times(truth: Calibration) -> dict[str, float]:
    """Each network's time as ``truth`` predicts it on the network's own analysis: alone
    (no context cost) but for the small model, which is a model."""
    out = {}
    alone = replace(truth, context_s=0.0, context_s_per_byte=0.0)
    for b in MICRO_BENCHMARKS:
        a = convcost.analyze(b.build(), b.input_size)
        out[b.name] = predict_latency(a, truth if b.role == "context" else alone).seconds
    return out


def constants(cal: Calibration) -> dict[str, float]:
    """Every constant of a calibration by name (rates as seconds per unit)."""
    out = {"stream": 1 / cal.stream_bytes_per_s, "module": cal.module_overhead_s,
           "free": cal.free_op_overhead_s, "context": cal.context_s,
           "context per byte": cal.context_s_per_byte,
           "block": float(cal.channel_block), **cal.alignment}
    for k, c in cal.ops.items():
        out |= {f"{k}.overhead": c.overhead_s, f"{k}.work": c.s_per_work,
                f"{k}.byte": c.s_per_byte}
    return out


def assert_close(a: Calibration, b: Calibration, rel: float) -> None:
    ca, cb = constants(a), constants(b)
    assert set(ca) == set(cb)
    bad = {k: (ca[k], cb[k]) for k in ca if not math.isclose(ca[k], cb[k], rel_tol=rel,
                                                            abs_tol=1e-15)}
    assert not bad, bad


@pytest.fixture(scope="module")
def counts() -> dict[str, Counts]:
    return all_counts()


@pytest.fixture(scope="module")
def truth_seconds() -> dict[str, float]:
    return true_times(TRUTH)


def steady(seconds: dict[str, float]) -> Callable[[MicroBenchmark, int], Sequence[float]]:
    return lambda b, r: [seconds[b.name]] * 5


def test_calibration_inverts_the_predictor(truth_seconds: dict[str, float],
                                           counts: dict[str, Counts]) -> None:
    # times made by the predictor from TRUTH give TRUTH back, every constant (the fixed costs
    # net of the tiny networks' own work after the fixed-point rounds)
    cal = calibration_from_timings(truth_seconds, device="cpu", threads=2,
                                   cache_bytes=TRUTH.cache_bytes, counts=counts, limits=LIMITS,
                                   block=16)
    assert_close(cal, TRUTH, rel=1e-6)
    with pytest.raises(InvalidArgumentError, match="missing"):
        calibration_from_timings({"relu @112": 1.0}, device="cpu", threads=1)


def test_the_truth_passes_the_sanity_checks(truth_seconds: dict[str, float],
                                            counts: dict[str, Counts]) -> None:
    assert sanity_problems(truth_seconds, LIMITS, counts) == []


def test_a_fixed_cost_above_its_bound_is_measured_again(
        truth_seconds: dict[str, float], counts: dict[str, Counts]) -> None:
    # the first measurement of the depthwise fixed-cost network runs into 8 ms bursts
    # (LOOP ops of 7,993 µs each, the symptom): 8 ms per op > the 1 ms bound, and
    # > the whole smallest depthwise network; the network is measured again, alone
    seen: list[str] = []
    tiny = f"overhead:depthwise x{LOOP}"

    def sampler(b: MicroBenchmark, r: int) -> list[float]:
        seen.append(b.name)
        first = seen.count(b.name) <= 3  # the first measurement: 3 rounds
        t = truth_seconds[b.name] + (LOOP * 7.993e-3 if b.name == tiny and first else 0.0)
        return [t] * 5

    times, attempts = measure_checked("cpu", 2, rounds=3, sampler=sampler, limits=LIMITS,
                                      counts=counts)
    assert attempts == 2
    # measured again, 3 rounds each: that network, the module-call network it is net of, and
    # the smallest depthwise network it was compared with
    assert len(seen) == 3 * len(MICRO_BENCHMARKS) + 3 * 3
    assert seen.count(tiny) == 6
    assert times[tiny].seconds == pytest.approx(truth_seconds[tiny])
    problems = sanity_problems({**truth_seconds, tiny: truth_seconds[tiny] + LOOP * 7.993e-3},
                               LIMITS, counts)
    # compared with the quickest depthwise network under TRUTH
    quickest = min((b.name for b in MICRO_BENCHMARKS if b.role == "depthwise"),
                   key=truth_seconds.__getitem__)
    assert {p.what for p in problems} == {
        "fixed cost of overhead:depthwise (s)",
        f"fixed cost of overhead:depthwise (s), above {quickest}"}


def test_a_calibration_that_stays_insane_is_refused(truth_seconds: dict[str, float],
                                                    counts: dict[str, Counts]) -> None:
    # the dense stem "runs" in 1 ns every time: 118,013,952 madds / 1e-9 s = 1.2e17 madds/s,
    # beyond the machine's 1e12
    fast = "dense 3->64 7x7/2 @224"

    def sampler(b: MicroBenchmark, r: int) -> list[float]:
        return [1e-9 if b.name == fast else truth_seconds[b.name]] * 5

    with pytest.raises(CalibrationError, match="multiply-adds/s of dense 3->64 7x7/2 @224") as e:
        measure_checked("cpu", 2, rounds=1, retries=2, sampler=sampler, limits=LIMITS,
                        counts=counts)
    assert "after 3 measurements" in str(e.value) and isinstance(e.value, ConvcostError)


def test_cpu_limits_from_cpuinfo() -> None:
    info = "cpu MHz\t\t: 2000.000\ncpu MHz\t\t: 2500.000\nflags\t\t: fpu avx2 fma\n"
    lim = cpu_limits(4, info, cpus=2)
    # min(4 threads, 2 CPUs) = 2 cores × 2.5 GHz × 1.6 × 16 lanes = 128 G madds/s; × 192 B
    assert lim.madds_per_s == pytest.approx(2 * 2.5e9 * 1.6 * 16)
    assert lim.bytes_per_s == pytest.approx(2 * 2.5e9 * 1.6 * 192)
    assert cpu_limits(1, "flags : avx512f\n", cpus=8).madds_per_s == pytest.approx(
        5e9 * 1.6 * 32)  # no clock in cpuinfo: 5 GHz assumed


# --- repeatability on injected noise --------------------------------------------------------


def noisy(seconds: dict[str, float], seed: int, *, slow_rounds: float = 0.25
          ) -> Callable[[MicroBenchmark, int], list[float]]:
    """Run times around the true ones: each run × lognormal(σ = 3 %), 3 % of the runs hit by
    a scheduler stall (+ 8 ms, the issue's 7,993 µs), and a round of a network slowed by 30 %
    (another process busy for a while) with probability ``slow_rounds``."""
    rng = random.Random(seed)

    def sample(b: MicroBenchmark, r: int) -> list[float]:
        slow = 1.3 if rng.random() < slow_rounds else 1.0
        out = []
        for _ in range(40):
            t = seconds[b.name] * slow * math.exp(rng.gauss(0.0, 0.03))
            out.append(t + (8e-3 if rng.random() < 0.03 else 0.0))
        return out

    return sample


def calibration_with(sampler: Callable[[MicroBenchmark, int], list[float]],
                     counts: dict[str, Counts], rounds: int = 5) -> Calibration:
    times = run_micro_benchmarks("cpu", 2, rounds=rounds, sampler=sampler)
    return calibration_from_timings({k: v.seconds for k, v in times.items()}, device="cpu",
                                    threads=2, cache_bytes=TRUTH.cache_bytes, counts=counts,
                                    limits=LIMITS)


def test_two_noisy_calibrations_agree_within_10_percent(truth_seconds: dict[str, float],
                                                        counts: dict[str, Counts]) -> None:
    # per network and round, the MAD screen drops the stalls (8 ms is > 3.5 robust σ away)
    # and the median of 40 runs shrugs off the 3 % jitter (its own spread is ~0.6 %); the
    # lowest of 5 rounds is moved by slowed rounds only when all 5 are: 0.25^5 ≈ 0.1 % per
    # network. Every constant comes within 10 % of the other calibration's, and of TRUTH.
    first = calibration_with(noisy(truth_seconds, 1), counts)
    second = calibration_with(noisy(truth_seconds, 2), counts)
    for a, b in ((first, second), (first, TRUTH), (second, TRUTH)):
        ca, cb = constants(a), constants(b)
        worst = max(ca, key=lambda k: abs(ca[k] / cb[k] - 1) if cb[k] else 0.0)
        assert all(math.isclose(ca[k], cb[k], rel_tol=0.10) for k in ca), (worst, ca[worst],
                                                                           cb[worst])


def test_without_the_robust_statistics_they_do_not(truth_seconds: dict[str, float],
                                                   counts: dict[str, Counts]) -> None:
    # the same noise summarised by a plain mean of every run: one 8 ms stall among 40 runs
    # of a 25 µs network adds 200 µs to its mean, and the constants scatter far beyond 10 %
    def mean_of(sampler: Callable[[MicroBenchmark, int], list[float]]) -> Calibration:
        seconds = {}
        for b in MICRO_BENCHMARKS:
            runs = [t for r in range(5) for t in sampler(b, r)]
            seconds[b.name] = sum(runs) / len(runs)
        return calibration_from_timings(seconds, device="cpu", threads=2,
                                        cache_bytes=TRUTH.cache_bytes, counts=counts,
                                        limits=LIMITS)

    ca = constants(mean_of(noisy(truth_seconds, 1)))
    cb = constants(mean_of(noisy(truth_seconds, 2)))
    assert any(not math.isclose(ca[k], cb[k], rel_tol=0.10) for k in ca)


def test_rounds_are_interleaved_and_each_network_rebuilt(counts: dict[str, Counts]) -> None:
    order: list[tuple[int, str]] = []

    def sampler(b: MicroBenchmark, r: int) -> list[float]:
        order.append((r, b.name))
        return [1e-3, 2e-3, 3e-3]

    times = run_micro_benchmarks("cpu", 1, rounds=2, sampler=sampler,
                                 only=["relu @112", "silu @56"])
    # in MICRO_BENCHMARKS' order within a round, round after round
    assert order == [(0, "silu @56"), (0, "relu @112"), (1, "silu @56"), (1, "relu @112")]
    assert times["relu @112"].seconds == 2e-3 and times["relu @112"].rounds == (2e-3, 2e-3)
    assert times["relu @112"].spread == 0.0


# --- the calibrate command on injected timings ------------------------------------------------


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def test_calibration_cache_written_read_forced_and_repaired(
        cache_home: Path, truth_seconds: dict[str, float]) -> None:
    calls: list[str] = []

    def fake(bench: MicroBenchmark, r: int) -> list[float]:
        calls.append(bench.name)
        return [truth_seconds[bench.name]] * 5

    n = len(MICRO_BENCHMARKS)
    cal = cal_mod.calibrate("cpu", 1, sampler=fake, rounds=1)
    path = cal_mod.cache_path("cpu", 1)
    assert len(calls) == n and cal.attempts == 1
    assert path.parent == cache_home / "convcost" and path.is_file()
    assert json.loads(path.read_text())["threads"] == 1

    def refuse(bench: MicroBenchmark, r: int) -> list[float]:
        raise AssertionError("should have come from the cache")

    again = cal_mod.calibrate("cpu", 1, sampler=refuse)
    assert again == cal  # every field, the timings included, read back
    assert cal_mod.read_cached("cpu", 1) == cal
    assert cal_mod.read_cached("cpu", 2) is None  # another thread count: another key
    cal_mod.calibrate("cpu", 1, sampler=fake, force=True, rounds=1)
    assert len(calls) == 2 * n

    path.write_text("{not json")  # corrupt -> measured again and repaired
    assert cal_mod.read_cached("cpu", 1) is None
    cal_mod.calibrate("cpu", 1, sampler=fake, rounds=1)
    assert len(calls) == 3 * n and cal_mod.read_cached("cpu", 1) is not None
    data = json.loads(path.read_text())
    data["stream_bytes_per_s"] = -1  # valid JSON, impossible value
    path.write_text(json.dumps(data))
    assert cal_mod.read_cached("cpu", 1) is None


def test_calibration_cache_unwritable(cache_home: Path, truth_seconds: dict[str, float]
                                      ) -> None:
    (cache_home / "convcost").write_text("a file where the folder should be")
    with pytest.raises(ConvcostError, match="XDG_CACHE_HOME"):
        cal_mod.calibrate("cpu", 1, rounds=1, sampler=steady(truth_seconds))


def test_cache_dir_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cal_mod.cache_dir() == tmp_path / ".cache" / "convcost"


def test_every_class_is_calibrated() -> None:
    assert set(TRUTH.ops) == set(OP_CLASSES)


@pytest.mark.parametrize(("conv", "block", "expected"), [
    (nn.Conv2d(32, 192, 1), 16, "aligned"),
    (nn.Conv2d(24, 144, 1), 16, "half"),  # 24 = 16 + 8
    (nn.Conv2d(24, 144, 1), 8, "aligned"),
    (nn.Conv2d(20, 120, 1), 16, "ragged"),  # 20 = 16 + 4
    (nn.Conv2d(20, 120, 1), 8, "half"),
    (nn.Conv2d(58, 58, 3, padding=1, groups=58), 16, "ragged"),  # ShuffleNet V2's
    (nn.Conv2d(3, 32, 3, 2, 1), 16, "aligned"),  # an RGB stem: oneDNN's first-layer path
    (nn.Conv2d(256, 256, 3, padding=1, groups=32), 16, "half"),  # 8 channels a group
    (nn.Conv2d(20, 120, 1), 1, "aligned"),  # no blocked layout (CUDA)
])
def test_channel_alignment(conv: nn.Module, block: int, expected: str) -> None:
    from convcost.latency.roofline import channel_alignment

    a = convcost.analyze(conv, (1, conv.in_channels, 16, 16))  # type: ignore[arg-type]
    (row,) = [r for r in a.rows if r.conv_kind]
    assert channel_alignment(row, block) == expected


def test_channel_block_from_the_cpu_flags() -> None:
    from convcost.latency.calibrate import channel_block

    assert channel_block("cpu", "flags\t: fpu sse avx2 fma avx512f\n") == 16
    assert channel_block("cpu", "flags\t: fpu sse avx2 fma\n") == 8
    assert channel_block("cpu", "processor : 0\n") == 1  # unknown vector width: no blocks
