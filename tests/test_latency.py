"""The latency machinery: statistics on injected timings, warm-up, stopping, threads, the
model left untouched, roofline arithmetic, the calibration cache, the scores, and the CLI.

No assertion here depends on how fast anything runs: timings are injected (fake clock,
fake micro-benchmark results, fake profiler events) or only their shape is checked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import convcost
from convcost.cli import app
from convcost.engine import Row
from convcost.errors import ConvcostError, InvalidArgumentError
from convcost.formulas import Cost
from convcost.latency import calibrate as cal_mod
from convcost.latency.calibrate import (
    MICRO_BENCHMARKS,
    ROLES,
    Calibration,
    calibration_from_timings,
    work_of,
)
from convcost.latency.fit import fit_relative, ranks, share_within, spearman
from convcost.latency.measure import measure, measure_model, quantile
from convcost.latency.profile_layers import LABEL_PREFIX, join_layers, profile_layers, self_times
from convcost.latency.roofline import estimate_op, op_class, predict_latency, predict_rows

runner = CliRunner()


class FakeClock:
    """Returns 0 at each run's start and the run's duration (seconds) at its end."""

    def __init__(self, durations_ms: list[float]) -> None:
        self.values: Iterator[float] = iter(
            v for d in durations_ms for v in (0.0, d / 1000.0))
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return next(self.values)


# --- statistics on injected timings --------------------------------------------------------


def test_statistics_exact_on_injected_timings() -> None:
    # runs 4,1,3,2,6,5 ms -> sorted 1,2,3,4,5,6 (n = 6); linear interpolation at h = 5p:
    # q1: h = 1.25 -> 2 + 0.25*(3-2) = 2.25; median: h = 2.5 -> 3.5; q3: h = 3.75 -> 4.75
    # IQR = 4.75 - 2.25 = 2.5; mean = 21/6 = 3.5; throughput at batch 4 = 4 / 0.0035 s
    clock = FakeClock([4, 1, 3, 2, 6, 5])
    m = measure(lambda: None, batch=4, warmup=0, min_runs=6, max_runs=6, budget_s=100,
                clock=clock)
    assert m.runs == 6
    assert m.times_ms == pytest.approx((4, 1, 3, 2, 6, 5), rel=1e-12)
    assert m.q1_ms == pytest.approx(2.25, rel=1e-12)
    assert m.median_ms == pytest.approx(3.5, rel=1e-12)
    assert m.q3_ms == pytest.approx(4.75, rel=1e-12)
    assert m.iqr_ms == pytest.approx(2.5, rel=1e-12)
    assert m.mean_ms == pytest.approx(3.5, rel=1e-12)
    assert m.throughput == pytest.approx(4 / 0.0035, rel=1e-12)  # 1142.857... samples/s
    d = m.to_dict()
    assert d["median_ms"] == m.median_ms and d["throughput"] == m.throughput
    assert d["times_ms"] == list(m.times_ms)


def test_quantile_odd_count_and_single_value() -> None:
    # 10,20,30,40,50: q1 at h = 1 -> 20, median at h = 2 -> 30, q3 at h = 3 -> 40
    vals = [50.0, 10.0, 40.0, 20.0, 30.0]
    assert [quantile(vals, p) for p in (0.25, 0.5, 0.75)] == [20.0, 30.0, 40.0]
    assert quantile([7.0], 0.25) == 7.0
    with pytest.raises(InvalidArgumentError):
        quantile([], 0.5)


def test_warmup_runs_first_and_is_not_timed() -> None:
    log: list[str] = []
    clock_calls: list[int] = []

    def fn() -> None:
        log.append("fn")

    def clock() -> float:
        clock_calls.append(len(log))  # how many fn calls preceded this clock read
        return 0.0 if len(clock_calls) % 2 else 0.001

    syncs: list[int] = []
    seen: list[int] = []
    m = measure(fn, warmup=3, min_runs=5, max_runs=5, budget_s=100, clock=clock,
                sync=lambda: syncs.append(1), progress=seen.append)
    assert len(log) == 3 + 5  # 3 warm-up calls, 5 timed ones
    assert len(clock_calls) == 2 * 5  # the clock is read only around timed calls
    assert clock_calls[0] == 3  # ... and first after all 3 warm-up calls
    assert len(syncs) == 8  # sync after every call, warm-up included, before the clock
    assert seen == [1, 2, 3, 4, 5]
    assert m.warmup == 3 and m.runs == 5


def test_stops_at_budget_after_min_runs() -> None:
    # 4 ms per run, budget 10 ms: 4, 8, 12 ms spent -> stops after run 3
    m = measure(lambda: None, warmup=0, min_runs=2, max_runs=100, budget_s=0.010,
                clock=FakeClock([4.0] * 100))
    assert m.runs == 3
    # budget 0: exactly min_runs
    m = measure(lambda: None, warmup=0, min_runs=5, max_runs=100, budget_s=0.0,
                clock=FakeClock([4.0] * 100))
    assert m.runs == 5
    # never past max_runs however large the budget
    m = measure(lambda: None, warmup=0, min_runs=2, max_runs=7, budget_s=1e9,
                clock=FakeClock([4.0] * 100))
    assert m.runs == 7


@pytest.mark.parametrize("kw", [{"warmup": -1}, {"min_runs": 0}, {"min_runs": 5, "max_runs": 4},
                                {"budget_s": -1.0}, {"batch": 0}, {"threads": 0}])
def test_bad_arguments(kw: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError):
        measure(lambda: None, **kw)


def test_threads_pinned_and_restored() -> None:
    before = torch.get_num_threads()
    inside: list[int] = []
    m = measure(lambda: inside.append(torch.get_num_threads()), threads=1, warmup=1,
                min_runs=2, max_runs=2)
    assert set(inside) == {1} and m.threads == 1
    assert torch.get_num_threads() == before

    def boom() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        measure(boom, threads=1)
    assert torch.get_num_threads() == before
    # no threads given: torch's current setting, reported
    assert measure(lambda: None, min_runs=1, max_runs=1).threads == before


# --- measure_model leaves the model as it found it --------------------------------------------


SEEN: list[tuple[bool, bool]] = []  # module-level: a deep copy of the model shares it


class Probe(nn.Module):
    """Records, in a list it does not own, the mode it ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        SEEN.append((self.training, torch.is_inference_mode_enabled()))
        return self.bn(self.conv(x))


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_measure_model_does_not_mutate(dtype: torch.dtype) -> None:
    SEEN.clear()
    model = Probe().train()
    model.bn.eval()  # a mixed state must come back exactly
    hook = model.conv.register_forward_hook(lambda *a: None)
    before = _snapshot(model)
    flags = [m.training for m in model.modules()]
    m = measure_model(model, (2, 3, 8, 8), dtype=dtype, warmup=1, min_runs=2, max_runs=2,
                      budget_s=0)
    assert m.batch == 2 and m.runs == 2 and m.device == "cpu"
    assert SEEN and all(s == (False, True) for s in SEEN)  # eval mode, inference_mode
    assert [x.training for x in model.modules()] == flags
    after = model.state_dict()
    assert list(after) == list(before)
    assert all(torch.equal(after[k], before[k]) for k in before)  # BN stats untouched
    assert model.conv.weight.dtype == torch.float32
    assert list(model.conv._forward_hooks) == [hook.id] and not model._forward_pre_hooks
    hook.remove()


def test_measure_model_rejects_meta_weights_and_absent_cuda(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidArgumentError, match="meta"):
        measure_model(nn.Conv2d(3, 4, 3, device="meta"), (1, 3, 8, 8))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # also on a GPU machine
    with pytest.raises(InvalidArgumentError, match="CUDA"):
        measure_model(nn.Conv2d(3, 4, 3), (1, 3, 8, 8), device="cuda")


def test_measure_model_keeps_global_rng() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    measure_model(nn.ReLU(), (1, 3, 4, 4), warmup=0, min_runs=1, max_runs=1)
    assert torch.equal(torch.rand(3), expected)  # the input came from a private generator


# --- roofline arithmetic -----------------------------------------------------------------------

CAL = Calibration(
    peak_dense_madds_per_s=1e9, peak_pointwise_madds_per_s=5e8,
    peak_depthwise_madds_per_s=1e8, pool_flops_per_s=1e7, bandwidth_bytes_per_s=1e9,
    transcendental_per_s=1e6, stream_bytes_per_s=1e8, cache_bytes=1000, op_overhead_s=1e-6,
    norm_overhead_s=3e-6, conv_overhead_s=2e-6, depthwise_overhead_s=5e-6,
    device="cpu", threads=1, machine="test", torch_version="x")


def _row(op: str, kind: str | None, madds: int, nbytes: int, flops: int = 0,
         name: str = "m", out_shape: tuple[int, ...] = (1,)) -> Row:
    return Row(index=0, name=name, module="M", op=op, aten=op, call=1, in_shapes=((1,),),
               out_shape=out_shape, conv_kind=kind,
               cost=Cost(0, madds, flops or 2 * madds, nbytes // 2, nbytes - nbytes // 2))


@pytest.mark.parametrize(("row", "cls", "seconds", "bound"), [
    # dense: compute 2e6/1e9 = 2e-3; bytes 1e5 > cache 1000 -> 1e5/1e8 = 1e-3; + conv 2e-6
    (_row("conv2d", "standard", 2_000_000, 100_000), "dense", 2e-3 + 2e-6, "compute"),
    # pointwise: compute 1000/5e8 = 2e-6; memory 1e6/1e8 = 1e-2 (streamed); + 2e-6
    (_row("conv2d", "pointwise", 1000, 1_000_000), "pointwise", 1e-2 + 2e-6, "memory"),
    # linear (no conv_kind, madds > 0) is a GEMM too: 5e5/5e8 = 1e-3 vs 800/1e9 = 8e-7 (cache)
    (_row("linear", None, 500_000, 800), "pointwise", 1e-3 + 2e-6, "compute"),
    # depthwise: 1e5/1e8 = 1e-3 vs 2000/1e8 = 2e-5; + the depthwise overhead 5e-6
    (_row("conv2d", "depthwise", 100_000, 2000), "depthwise", 1e-3 + 5e-6, "compute"),
    # grouped conv counts as dense: 1e6/1e9 = 1e-3 vs 500/1e9 = 5e-7
    (_row("conv2d", "grouped", 1_000_000, 500), "dense", 1e-3 + 2e-6, "compute"),
    # pool: flops 1e5/1e7 = 1e-2 vs 800/1e9 = 8e-7 (fits the cache); + op 1e-6
    (_row("max_pool2d", None, 0, 800, flops=100_000), "pool", 1e-2 + 1e-6, "compute"),
    # memory op in cache: 500/1e9 = 5e-7 + 1e-6
    (_row("relu", None, 0, 500), "memory", 5e-7 + 1e-6, "memory"),
    # a norm is a memory op with the norm overhead: 500/1e9 = 5e-7 + 3e-6
    (_row("batch_norm", None, 0, 500), "memory", 5e-7 + 3e-6, "memory"),
    # SiLU on 2×5 outputs: 10/1e6 = 1e-5 vs 80/1e9 = 8e-8; + 1e-6
    (_row("silu", None, 0, 80, out_shape=(2, 5)), "transcendental", 1e-5 + 1e-6, "compute"),
    # memory op beyond the cache: 4000/1e8 = 4e-5 + 1e-6
    (_row("add", None, 0, 4000), "memory", 4e-5 + 1e-6, "memory"),
])
def test_roofline_per_op(row: Row, cls: str, seconds: float, bound: str) -> None:
    est = estimate_op(row, CAL)
    assert op_class(row) == cls == est.op_class
    assert est.seconds == pytest.approx(seconds, rel=1e-12)
    assert est.bound == bound


def test_prediction_sums_ops_by_class_and_module() -> None:
    rows = [_row("conv2d", "standard", 2_000_000, 100_000, name="a"),
            _row("relu", None, 0, 500, name="a"), _row("add", None, 0, 4000, name="b")]
    pred = predict_rows(rows, CAL)
    # 2.002e-3 + 1.5e-6 + 4.1e-5 = 2.0445e-3 s
    assert pred.seconds == pytest.approx(2.0445e-3, rel=1e-12)
    assert pred.ms == pytest.approx(2.0445, rel=1e-12)
    assert pred.by_class()["dense"] == pytest.approx(2.002e-3, rel=1e-12)
    assert pred.by_class()["memory"] == pytest.approx(4.25e-5, rel=1e-12)
    assert pred.by_scope() == pytest.approx({"a": 2.0035e-3, "b": 4.1e-5}, rel=1e-12)


def test_predict_latency_on_an_analysis() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                          nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),
                          nn.Conv2d(8, 16, 1, bias=False), nn.MaxPool2d(2))
    a = convcost.analyze(model, (1, 3, 16, 16))
    pred = predict_latency(a, CAL)
    assert [op.op_class for op in pred.ops] == ["dense", "memory", "memory", "depthwise",
                                                "pointwise", "pool"]
    with pytest.raises(InvalidArgumentError):
        predict_latency(object(), CAL)


# --- the micro-benchmark networks do the intended work -----------------------------------------


def test_micro_benchmark_networks_have_the_intended_work() -> None:
    found = {}
    for bench in MICRO_BENCHMARKS:
        assert bench.role in ROLES, bench.name
        a = convcost.analyze(bench.build(), bench.input_size)
        assert len(a.rows) == 1, bench.name
        found[bench.name] = a.rows[0]
        # every network of a class is costed as that class by the roofline
        want = {"bandwidth": "memory", "stream": "pointwise", "tiny_op": "memory",
                "tiny_norm": "memory", "tiny_conv": "pointwise",
                "tiny_depthwise": "depthwise"}.get(bench.role, bench.role)
        assert op_class(a.rows[0]) == want, bench.name
    by_name = {b.name: b for b in MICRO_BENCHMARKS}
    # 3×3 conv 64→64 on 56×56, padding 1: 56·56 outputs × 64 × 64 × 9 = 115,605,504
    assert work_of(by_name["dense 64->64 3x3/1 @56"]) == 56 * 56 * 64 * 64 * 9 == 115_605_504
    # ResNet's stem, 7×7/2 3→64 on 224²: 112·112 × 64 × 3 × 49 = 118,013,952
    assert work_of(by_name["dense 3->64 7x7/2 @224"]) == 118_013_952
    # 1×1 conv 256→256 on 28×28: 28·28 × 256 × 256 = 51,380,224
    assert work_of(by_name["pointwise 256->256 1x1/1 @28"]) == 51_380_224
    # depthwise 3×3 on 256×56×56: 56·56 × 256 × 9 = 7,225,344; 5×5 on 672×14×14: 3,292,800
    assert work_of(by_name["depthwise 256->256 3x3/1 @56"]) == 7_225_344
    assert work_of(by_name["depthwise 672->672 5x5/1 @14"]) == 14 * 14 * 672 * 25 == 3_292_800
    # stride-2 depthwise on 144×56×56 -> 28×28 outputs: 28·28 × 144 × 9 = 1,016,064
    assert found["depthwise 144->144 3x3/2 @56"].out_shape == (1, 144, 28, 28)
    assert work_of(by_name["depthwise 144->144 3x3/2 @56"]) == 1_016_064
    # max-pool 3×3/2 on 64×112×112 -> 64×56×56 outputs, 8 comparisons each = 1,605,632
    assert work_of(by_name["max-pool 3x3/2 @112"]) == 64 * 56 * 56 * 8 == 1_605_632
    # x + y: two distinct 128×56×56 operands read, one written: 3 × 1,605,632 B = 4,816,896
    assert work_of(by_name["x + y @56"]) == 3 * 128 * 56 * 56 * 4 == 4_816_896
    # SiLU: one output element per input element, 96·56·56 = 301,056
    assert work_of(by_name["silu @56"]) == 301_056
    # linear 4096->4096: 64 MiB of weights + 16 KiB in + 16 KiB out = 67,141,632 B (> any L3)
    assert work_of(by_name["linear 4096->4096"]) == (4096 * 4096 + 2 * 4096) * 4 == 67_141_632
    # the fixed-cost networks do next to no work
    assert all(work_of(b) == 0 for b in MICRO_BENCHMARKS if b.role.startswith("tiny"))
    assert found["pointwise 8->8 @4"].cost.madds == 16 * 8 * 8


# --- calibration: arithmetic and cache ---------------------------------------------------------

# every network takes 1 ms but the fixed-cost ones: ReLU 10 µs, BatchNorm 20 µs, 1×1 conv
# 100 µs, depthwise conv 500 µs
TIMINGS = {b.name: 0.001 for b in MICRO_BENCHMARKS} | {
    "relu @4": 10e-6, "batch_norm @4": 20e-6, "pointwise 8->8 @4": 100e-6,
    "depthwise 8 3x3 @4": 500e-6}


def test_calibration_from_timings() -> None:
    cal = calibration_from_timings(TIMINGS, device="cpu", threads=1, cache_bytes=2**24)
    assert (cal.op_overhead_s, cal.norm_overhead_s, cal.conv_overhead_s,
            cal.depthwise_overhead_s) == (10e-6, 20e-6, 100e-6, 500e-6)
    # each rate: the role's total work over its total time net of the role's fixed cost
    for role, (field, _, fixed_role) in ROLES.items():
        benches = [b for b in MICRO_BENCHMARKS if b.role == role]
        if not ROLES[role][1]:
            continue
        fixed = getattr(cal, ROLES[fixed_role][0])
        expect = sum(work_of(b) for b in benches) / (len(benches) * (0.001 - fixed))
        assert getattr(cal, field) == pytest.approx(expect, rel=1e-12), role
    # e.g. the two rates with one network each: SiLU 301,056 outputs in 1 ms − 10 µs
    assert cal.transcendental_per_s == pytest.approx(301_056 / 0.00099)
    assert cal.stream_bytes_per_s == pytest.approx(67_141_632 / 0.0009)
    # each single-network class reproduces its network's time: 1 ms for the SiLU
    silu = next(b for b in MICRO_BENCHMARKS if b.role == "transcendental")
    a = convcost.analyze(silu.build(), silu.input_size)
    assert predict_latency(a, cal).seconds == pytest.approx(0.001)
    with pytest.raises(InvalidArgumentError, match="missing"):
        calibration_from_timings({"relu @4": 1.0}, device="cpu", threads=1)


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def test_calibration_cache_written_read_forced_and_repaired(cache_home: Path) -> None:
    calls: list[tuple[str, int]] = []

    def fake(device: str, threads: int) -> dict[str, float]:
        calls.append((device, threads))
        return TIMINGS

    cal = cal_mod.calibrate("cpu", 1, runner=fake)
    path = cal_mod.cache_path("cpu", 1)
    assert calls == [("cpu", 1)]
    assert path.parent == cache_home / "convcost" and path.is_file()
    assert json.loads(path.read_text())["threads"] == 1

    def refuse(device: str, threads: int) -> dict[str, float]:
        raise AssertionError("should have come from the cache")

    again = cal_mod.calibrate("cpu", 1, runner=refuse)
    assert again == cal  # every field, the timings included, read back
    assert cal_mod.read_cached("cpu", 1) == cal
    assert cal_mod.read_cached("cpu", 2) is None  # another thread count: another key
    cal_mod.calibrate("cpu", 1, runner=fake, force=True)
    assert len(calls) == 2

    path.write_text("{not json")  # corrupt -> measured again and repaired
    assert cal_mod.read_cached("cpu", 1) is None
    cal_mod.calibrate("cpu", 1, runner=fake)
    assert len(calls) == 3 and cal_mod.read_cached("cpu", 1) is not None
    data = json.loads(path.read_text())
    data["peak_dense_madds_per_s"] = -1  # valid JSON, impossible value
    path.write_text(json.dumps(data))
    assert cal_mod.read_cached("cpu", 1) is None


def test_calibration_cache_unwritable(cache_home: Path) -> None:
    (cache_home / "convcost").write_text("a file where the folder should be")
    with pytest.raises(ConvcostError, match="XDG_CACHE_HOME"):
        cal_mod.calibrate("cpu", 1, runner=lambda d, t: TIMINGS)


def test_cache_dir_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cal_mod.cache_dir() == tmp_path / ".cache" / "convcost"


# --- scores -------------------------------------------------------------------------------------


def test_spearman_hand_derived() -> None:
    # no ties: d = rank differences -1,1,-1,1,0, Σd² = 4, ρ = 1 - 6·4 / (5·(25-1)) = 0.8
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8, rel=1e-12)
    assert spearman([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    # ties: ranks x = 1, 2.5, 2.5, 4 and y = 1..4; deviations from 2.5:
    # x: -1.5, 0, 0, 1.5; y: -1.5, -0.5, 0.5, 1.5 -> Sxy = 4.5, Sxx = 4.5, Syy = 5
    # ρ = 4.5 / sqrt(4.5 · 5) = 3 / sqrt(10)
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(3 / math.sqrt(10), rel=1e-12)
    assert ranks([10.0, 30.0, 20.0, 30.0]) == [1.0, 3.5, 2.0, 3.5]
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_share_within() -> None:
    # 1.25 is +25 % (in, the band is closed), 0.74 is -26 % (out), 1.0 in, 2.0 out -> 2/4
    assert share_within([1.25, 0.74, 1.0, 2.0], [1, 1, 1, 1]) == 0.5
    assert share_within([0.75], [1.0]) == 1.0


def test_fit_relative() -> None:
    x = [1.0, 2.0, 5.0, 10.0]
    fit = fit_relative(x, [2 * v + 3 for v in x])  # exact affine data -> exact recovery
    assert (fit.slope, fit.intercept) == (pytest.approx(2.0), pytest.approx(3.0))
    assert fit(4.0) == pytest.approx(11.0)
    # y = 2x - 1 needs a negative intercept -> refit through the origin: u = x/y = 1, 2/3, 3/5
    # a = Σu / Σu² = (1 + 2/3 + 3/5) / (1 + 4/9 + 9/25)
    fit = fit_relative([1.0, 2.0, 3.0], [1.0, 3.0, 5.0])
    assert fit.intercept == 0.0
    assert fit.slope == pytest.approx((1 + 2 / 3 + 3 / 5) / (1 + 4 / 9 + 9 / 25), rel=1e-12)
    with pytest.raises(InvalidArgumentError):
        fit_relative([1.0], [0.0])


# --- per-layer profile ---------------------------------------------------------------------------


@dataclass
class Ev:
    name: str
    cpu_time_total: float
    cpu_parent: Ev | None = None


def test_self_times_from_events() -> None:
    # two runs of: root 100 µs ⊃ a 30 µs (⊃ an aten op) and, under a non-module range, b 50 µs
    events = []
    for _ in range(2):
        root = Ev(LABEL_PREFIX, 100.0)
        a = Ev(LABEL_PREFIX + "a", 30.0, root)
        op = Ev("aten::conv2d", 25.0, a)
        mid = Ev("some_user_range", 60.0, root)
        b = Ev(LABEL_PREFIX + "b", 50.0, mid)
        events += [root, a, op, mid, b]
    out = {t.name: t for t in self_times(events, 2, {"": "Net", "a": "Conv2d", "b": "ReLU"})}
    # per run, in ms: root self = (100 - 30 - 50) / 1000 = 0.02; a = 0.03; b = 0.05
    assert out[""].self_ms == pytest.approx(0.02) and out[""].total_ms == pytest.approx(0.1)
    assert out["a"].self_ms == pytest.approx(0.03) and out["a"].calls == 1
    assert out["b"].self_ms == pytest.approx(0.05) and out["b"].module == "ReLU"
    assert list(out) == ["", "a", "b"]


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x)) + x  # the add belongs to the block's own scope


def test_profile_layers_leaves_model_untouched_and_aligns_with_rows() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), Block()).train()
    before = _snapshot(model)
    times = profile_layers(model, (1, 3, 8, 8), warmup=1, runs=2, threads=1)
    assert model.training and all(m.training for m in model.modules())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())
    names = [t.name for t in times]
    assert names == ["", "0", "1", "1.conv", "1.act"]
    assert all(t.self_ms >= 0 and t.total_ms >= t.self_ms and t.calls == 1 for t in times)
    a = convcost.analyze(model, (1, 3, 8, 8))
    joined = {j.name: j for j in join_layers(a.rows, times, {"1": 0.001})}
    assert joined["1"].ops == ("add",) and joined["1"].predicted_ms == pytest.approx(1.0)
    assert joined["1.conv"].madds == 8 * 8 * 4 * 4 * 9  # 9,216
    assert joined["0"].predicted_ms == 0.0


# --- CLI ---------------------------------------------------------------------------------------

FAST = ["--input", "3x32x32", "--budget", "0", "--runs", "5", "--warmup", "1", "--threads", "1"]


def test_cli_bench_json_contract() -> None:
    res = runner.invoke(app, ["bench", "mobilenet_v3_small", *FAST, "-b", "1", "-b", "2",
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    models = json.loads(res.stdout)["models"]
    assert [m["input"] for m in models] == [[1, 3, 32, 32], [2, 3, 32, 32]]
    for m in models:
        assert m["model"] == "mobilenet_v3_small"
        assert m["device"] == "cpu" and m["threads"] == 1 and m["runs"] == 5
        for key in ("median_ms", "q1_ms", "q3_ms", "iqr_ms", "mean_ms", "throughput"):
            assert isinstance(m[key], float) and m[key] >= 0
        assert m["iqr_ms"] == pytest.approx(m["q3_ms"] - m["q1_ms"])
        assert "layers" not in m and "predicted_ms" not in m


def test_cli_bench_layers_and_predict(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cal_mod, "run_micro_benchmarks", lambda *a, **k: TIMINGS)
    res = runner.invoke(app, ["bench", "mobilenet_v3_small", *FAST, "--layers", "--predict",
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    (m,) = json.loads(res.stdout)["models"]
    assert m["predicted_ms"] > 0 and m["madds"] > 0
    layers = {x["name"]: x for x in m["layers"]}
    assert layers["features.0.0"]["ops"] == ["conv2d"]
    assert all(x["measured_ms"] >= 0 and "predicted_ms" in x for x in m["layers"])
    for fmt in ("table", "csv"):
        res = runner.invoke(app, ["bench", "mobilenet_v3_small", *FAST, "--layers",
                                  "--predict", "--format", fmt])
        assert res.exit_code == 0, res.output
        assert "features.0.0" in res.stdout


def test_cli_calibrate(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cal_mod, "run_micro_benchmarks", lambda *a, **k: TIMINGS)
    res = runner.invoke(app, ["calibrate", "--threads", "1", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["threads"] == 1 and Path(data["cache"]).parent == cache_home / "convcost"
    res = runner.invoke(app, ["calibrate", "--threads", "1"])
    assert res.exit_code == 0 and "dense k×k conv peak" in res.stdout
    assert "overhead: depthwise conv" in res.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")
def test_cli_bench_cuda_absent_exits_2() -> None:
    res = runner.invoke(app, ["bench", "mobilenet_v3_small", "--device", "cuda"])
    assert res.exit_code == 2
    assert "CUDA is not available" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_cli_bench_bad_input_exits_2() -> None:
    res = runner.invoke(app, ["bench", "mobilenet_v3_small", "--runs", "2"])
    assert res.exit_code == 2

