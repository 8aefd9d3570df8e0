"""The latency machinery: statistics on injected timings, warm-up, stopping, threads, the
model left untouched, roofline arithmetic, the calibration cache, the scores, and the CLI.

No assertion here depends on how fast anything runs: timings are injected (fake clock,
fake micro-benchmark results, fake profiler events) or only their shape is checked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import convcost
from convcost.cli import app
from convcost.engine import Row
from convcost.errors import InvalidArgumentError
from convcost.formulas import Cost
from convcost.latency import calibrate as cal_mod
from convcost.latency.calibrate import LOOP, MICRO_BENCHMARKS, ROLES, counts_of
from convcost.latency.fit import fit_relative, fit_terms, mape, ranks, share_within, spearman
from convcost.latency.measure import measure, measure_model, quantile
from convcost.latency.profile_layers import (
    LABEL_PREFIX,
    LayerTime,
    join_layers,
    median_times,
    profile_layers,
    self_times,
)
from convcost.latency.roofline import (
    OP_CLASSES,
    Calibration,
    OpCost,
    estimate_op,
    op_class,
    predict_latency,
    predict_rows,
    weight_bytes_of,
)

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

# per class: (fixed cost s, s per unit of work, s per byte in cache)
CAL = Calibration(
    ops={"dense": OpCost(2e-6, 1e-9, 1e-9), "grouped": OpCost(3e-6, 2e-9, 1e-9),
         "pointwise": OpCost(2e-6, 2e-9, 1e-9), "depthwise": OpCost(5e-6, 1e-8, 1e-9),
         "gemm": OpCost(1e-6, 2e-9, 1e-9), "max_pool": OpCost(1e-6, 1e-7, 1e-9),
         "avg_pool": OpCost(1e-6, 1e-8, 1e-9), "reduce": OpCost(2e-6, 0.0, 3e-9),
         "transcendental": OpCost(1e-6, 1e-6, 1e-9), "norm": OpCost(3e-6, 0.0, 2e-9),
         "memory": OpCost(1e-6, 0.0, 1e-9)},
    stream_bytes_per_s=1e8, cache_bytes=1000, module_overhead_s=1e-7, free_op_overhead_s=2e-7,
    device="cpu", threads=1, machine="test", torch_version="x")


def _row(op: str, kind: str | None, madds: int, nbytes: int, flops: int = 0,
         name: str = "m", out_shape: tuple[int, ...] = (1,),
         in_shapes: tuple[tuple[int, ...], ...] = ((1,),), read: int | None = None) -> Row:
    r = nbytes // 2 if read is None else read
    return Row(index=0, name=name, module="M", op=op, aten=op, call=1, in_shapes=in_shapes,
               out_shape=out_shape, conv_kind=kind,
               cost=Cost(0, madds, flops or 2 * madds, r, nbytes - r))


@pytest.mark.parametrize(("row", "cls", "seconds", "bound"), [
    # dense: 2e6 madds · 1e-9 = 2e-3; 1e5 B > cache 1000 -> streamed, 1e5 · 1e-8 = 1e-3;
    # + fixed 2e-6
    (_row("conv2d", "standard", 2_000_000, 100_000), "dense", 3.002e-3, "compute"),
    # pointwise: 1000 · 2e-9 = 2e-6; 1e6 B streamed: 1e-2; + 2e-6
    (_row("conv2d", "pointwise", 1000, 1_000_000), "pointwise", 1.0004e-2, "memory"),
    # linear (no conv_kind, madds > 0) is a gemm: 5e5 · 2e-9 = 1e-3; 800 B in cache 8e-7; + 1e-6
    (_row("linear", None, 500_000, 800), "gemm", 1.0018e-3, "compute"),
    # depthwise: 1e5 · 1e-8 = 1e-3; 2000 B > cache: 2e-5; + 5e-6
    (_row("conv2d", "depthwise", 100_000, 2000), "depthwise", 1.025e-3, "compute"),
    # grouped: 1e6 · 2e-9 = 2e-3; 500 B in cache 5e-7; + 3e-6
    (_row("conv2d", "grouped", 1_000_000, 500), "grouped", 2.0035e-3, "compute"),
    # pool: 1e5 window ops · 1e-7 = 1e-2; 800 B 8e-7; + 1e-6
    (_row("max_pool2d", None, 0, 800, flops=100_000), "max_pool", 1.00018e-2, "compute"),
    # avg pool: 1e5 window ops · 1e-8 = 1e-3; 800 B 8e-7; + 1e-6
    (_row("avg_pool2d", None, 0, 800, flops=100_000), "avg_pool", 1.0018e-3, "compute"),
    # a reduction (global average pooling): 600 B · 3e-9 = 1.8e-6; + 2e-6
    (_row("mean", None, 0, 600), "reduce", 3.8e-6, "memory"),
    # memory op in cache: 500 · 1e-9 = 5e-7 + 1e-6
    (_row("relu", None, 0, 500), "memory", 1.5e-6, "memory"),
    # a norm: 500 · 2e-9 = 1e-6 + 3e-6
    (_row("batch_norm", None, 0, 500), "norm", 4e-6, "memory"),
    # SiLU on 2×5 outputs: 10 · 1e-6 = 1e-5; 80 · 1e-9 = 8e-8; + 1e-6
    (_row("silu", None, 0, 80, out_shape=(2, 5)), "transcendental", 1.108e-5, "compute"),
    # memory op beyond the cache: 4000 · 1e-8 = 4e-5 + 1e-6
    (_row("add", None, 0, 4000), "memory", 4.1e-5, "memory"),
])
def test_roofline_per_op(row: Row, cls: str, seconds: float, bound: str) -> None:
    est = estimate_op(row, CAL)
    assert op_class(row) == cls == est.op_class
    assert est.seconds == pytest.approx(seconds, rel=1e-12)
    assert est.bound == bound


def test_cold_weights_are_streamed() -> None:
    # a 1×1 conv in cache: reads 10 input elements (40 B) and 360 B of weights, writes 25
    # elements (100 B, so 4 B per element): 500 B < cache 1000
    row = _row("conv2d", "pointwise", 0, 500, out_shape=(1, 25), in_shapes=((1, 10),),
               read=400)
    assert weight_bytes_of(row) == 360
    # warm: 500 · 1e-9 = 5e-7 + 2e-6; cold: 140 · 1e-9 + 360 · 1e-8 = 3.74e-6, + 2e-6
    assert estimate_op(row, CAL).seconds == pytest.approx(2.5e-6, rel=1e-12)
    assert estimate_op(row, CAL, cold_weights=True).seconds == pytest.approx(5.74e-6,
                                                                             rel=1e-12)


def test_prediction_sums_ops_by_class_and_module() -> None:
    rows = [_row("conv2d", "standard", 2_000_000, 100_000, name="a"),
            _row("relu", None, 0, 500, name="a"), _row("add", None, 0, 4000, name="b")]
    pred = predict_rows(rows, CAL)
    # 3.002e-3 + 1.5e-6 + 4.1e-5 = 3.0445e-3 s
    assert pred.seconds == pytest.approx(3.0445e-3, rel=1e-12)
    assert pred.ms == pytest.approx(3.0445, rel=1e-12)
    assert pred.by_class()["dense"] == pytest.approx(3.002e-3, rel=1e-12)
    assert pred.by_class()["memory"] == pytest.approx(4.25e-5, rel=1e-12)
    assert pred.by_scope() == pytest.approx({"a": 3.0035e-3, "b": 4.1e-5}, rel=1e-12)
    # module calls and view ops add their fixed costs: 3 calls of "a", one of "" and 5 views
    more = replace(pred, module_calls=("", "a", "a", "a"), free_ops=5,
                   module_overhead_s=1e-7, free_op_overhead_s=2e-7)
    assert more.seconds == pytest.approx(3.0445e-3 + 4e-7 + 1e-6, rel=1e-12)
    assert more.by_scope() == pytest.approx({"a": 3.0035e-3 + 3e-7, "b": 4.1e-5, "": 1e-7},
                                            rel=1e-12)
    assert more.by_class()["module calls"] == pytest.approx(4e-7)
    assert more.by_class()["view ops"] == pytest.approx(1e-6)


def test_predict_latency_on_an_analysis() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                          nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),
                          nn.Conv2d(8, 16, 1, bias=False), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(1024, 10))  # 16 × 8 × 8 = 1024 features
    a = convcost.analyze(model, (1, 3, 16, 16))
    pred = predict_latency(a, CAL)
    assert [op.op_class for op in pred.ops] == ["dense", "norm", "memory", "depthwise",
                                                "pointwise", "max_pool", "gemm"]
    # the Sequential and its 8 children: 9 module calls; the view ops convcost saw (the
    # flatten's view, the linear's transpose, the batch norm's empty) are counted too
    assert len(pred.module_calls) == 9
    free = sum(a.evaluation.free.values())
    assert free >= 2
    assert pred.seconds == pytest.approx(
        sum(op.seconds for op in pred.ops) + 9 * 1e-7 + free * 2e-7, rel=1e-12)
    with pytest.raises(InvalidArgumentError):
        predict_latency(object(), CAL)


def test_calibration_round_trips_and_rejects_impossible_values() -> None:
    data = CAL.to_dict()
    assert Calibration.from_dict(json.loads(json.dumps(data))) == CAL
    bad = json.loads(json.dumps(data))
    bad["ops"]["dense"]["s_per_work"] = -1.0
    with pytest.raises(ValueError, match="dense"):
        Calibration.from_dict(bad)
    bad = json.loads(json.dumps(data))
    del bad["ops"]["norm"]
    with pytest.raises(ValueError, match="classes"):
        Calibration.from_dict(bad)
    with pytest.raises(ValueError, match="version"):
        Calibration.from_dict({**data, "version": 4})
    # the rates people read: 1 / (s per multiply-add), 1 / (s per byte of the memory ops)
    assert CAL.peak_dense_madds_per_s == pytest.approx(1e9)
    assert CAL.bandwidth_bytes_per_s == pytest.approx(1e9)
    assert ("module call", pytest.approx(0.1), "µs") in CAL.describe()


# --- the micro-benchmark networks do the intended work -----------------------------------------


def test_micro_benchmark_networks_have_the_intended_work() -> None:
    counts = {b.name: counts_of(b) for b in MICRO_BENCHMARKS}  # raises on a class mismatch
    for bench in MICRO_BENCHMARKS:
        assert bench.role in ROLES, bench.name
        c = counts[bench.name]
        if bench.role in OP_CLASSES or bench.role == "stream":
            assert c.ops == 1 and c.module_calls == 1, bench.name
        elif bench.role.startswith("overhead:"):
            assert c.ops == LOOP and c.module_calls == 1, bench.name  # no call per op
    assert set(ROLES) == {b.role for b in MICRO_BENCHMARKS}  # every role has its networks
    # 3×3 conv 64→64 on 56×56, padding 1: 56·56 outputs × 64 × 64 × 9 = 115,605,504
    assert counts["dense 64->64 3x3/1 @56"].work == 56 * 56 * 64 * 64 * 9 == 115_605_504
    # ResNet's stem, 7×7/2 3→64 on 224²: 112·112 × 64 × 3 × 49 = 118,013,952
    assert counts["dense 3->64 7x7/2 @224"].work == 118_013_952
    # 1×1 conv 256→256 on 28×28: 28·28 × 256 × 256 = 51,380,224
    assert counts["pointwise 256->256 1x1/1 @28"].work == 51_380_224
    # 3×3 in 32 groups, 128→128 on 56²: 56·56 × 128 × (128/32) × 9 = 14,450,688
    assert counts["grouped 128->128 3x3/1 g32 @56"].work == 14_450_688
    # depthwise 3×3 on 256×56×56: 56·56 × 256 × 9 = 7,225,344; 5×5 on 672×14×14: 3,292,800
    assert counts["depthwise 256->256 3x3/1 @56"].work == 7_225_344
    assert counts["depthwise 672->672 5x5/1 @14"].work == 14 * 14 * 672 * 25 == 3_292_800
    # stride-2 depthwise on 144×56×56 -> 28×28 outputs: 28·28 × 144 × 9 = 1,016,064
    assert counts["depthwise 144->144 3x3/2 @56"].work == 1_016_064
    # max-pool 3×3/2 on 64×112×112 -> 64×56×56 outputs, 8 comparisons each = 1,605,632
    assert counts["max-pool 3x3/2 @112"].work == 64 * 56 * 56 * 8 == 1_605_632
    # x + y: two distinct 128×56×56 operands read, one written: 3 × 1,605,632 B = 4,816,896
    assert counts["x + y @56"].nbytes == 3 * 128 * 56 * 56 * 4 == 4_816_896
    # SiLU: one output element per input element, 96·56·56 = 301,056
    assert counts["silu @56"].work == 301_056
    # linear 4096->4096: 64 MiB of weights + 16 KiB in + 16 KiB out = 67,141,632 B (> any L3)
    assert counts["linear 4096->4096"].nbytes == (4096 * 4096 + 2 * 4096) * 4 == 67_141_632
    # the module-call network: the Sequential and its 50 children; the view network 50 views
    assert counts[f"module call x{LOOP + 1}"].module_calls == LOOP + 1
    assert counts[f"view x{LOOP}"].free_ops == LOOP
    # the small model: 4 blocks of 3 convs, 3 batch norms, 2 ReLU6 and an add = 36 ops; the
    # Sequential, its 4 blocks and their 8 leaves each = 37 module calls
    mini = counts["mini-model: 4 inverted residuals 32x4 @28"]
    assert (mini.ops, mini.module_calls) == (36, 37)


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


def test_mape() -> None:
    # |1.1 - 1| + |0.8 - 1| + 0 = 0.3 over 3 = 0.1
    assert mape([1.1, 0.8, 2.0], [1.0, 1.0, 2.0]) == pytest.approx(0.1)


def test_fit_terms_exact_bounded_and_offset() -> None:
    # t = 2 + 3·f1 + 0.5·f2 exactly, offsets 2: recovered exactly
    f1, f2 = [1.0, 2.0, 3.0, 4.0], [4.0, 1.0, 0.0, 2.0]
    t = [2 + 3 * a + 0.5 * b for a, b in zip(f1, f2, strict=True)]
    assert fit_terms([f1, f2], t, [2.0] * 4) == (pytest.approx(3.0), pytest.approx(0.5))
    # with x2 held at or above 1, the best is x2 = 1 and x1 refitted: the relative residual
    # of x1·f1 ≈ t - 2 - f2, weights 1/t², u = f1/t, r = (t - 2 - f2)/t; x1 = Σur / Σu²
    x1, x2 = fit_terms([f1, f2], t, [2.0] * 4, lower=[0.0, 1.0])
    u = [a / y for a, y in zip(f1, t, strict=True)]
    r = [(y - 2 - b) / y for b, y in zip(f2, t, strict=True)]
    assert x2 == 1.0
    assert x1 == pytest.approx(sum(a * b for a, b in zip(u, r, strict=True))
                               / sum(a * a for a in u))
    # collinear columns: the singular full system is skipped, a one-column fit stands
    (a, b) = fit_terms([f1, [2 * v for v in f1]], [3 * v for v in f1])
    assert a * 1 + b * 2 == pytest.approx(3.0)
    with pytest.raises(InvalidArgumentError):
        fit_terms([f1], [1.0, 0.0, 1.0, 1.0])


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


def test_median_times_shrug_off_a_stall_and_net_the_profiler() -> None:
    def lt(name: str, self_ms: float, calls: int = 1) -> LayerTime:
        return LayerTime(name, "M", self_ms, self_ms + 1.0, calls)

    # scope a: 1.0, 1.2 and 9.0 ms (a 7.8 ms stall in the third run) -> median 1.2; scope b
    # runs twice per pass: 0.5, 0.7 and absent (0) -> median 0.5; less 0.1 ms per call
    runs = [[lt("a", 1.0), lt("b", 0.5, 2)], [lt("a", 1.2), lt("b", 0.7, 2)], [lt("a", 9.0)]]
    out = {t.name: t for t in median_times(runs, overhead_ms=0.1)}
    assert out["a"].self_ms == pytest.approx(1.2 - 0.1) and out["a"].calls == 1
    assert out["a"].total_ms == pytest.approx(2.2 - 0.1)
    assert out["b"].calls == 2 and out["b"].self_ms == pytest.approx(0.5 - 2 * 0.1)
    assert median_times([[lt("c", 0.05)]], overhead_ms=0.1)[0].self_ms == 0.0  # never < 0
    with pytest.raises(InvalidArgumentError):
        median_times([])


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

FAST = ["--input", "3x32x32", "--budget", "0.001", "--runs", "5", "--warmup", "1", "--threads",
        "1"]


def ten_ms(*_args: Any, **_kw: Any) -> Any:
    """A sampler for ``calibrate``: every micro-benchmark network runs in 10 ms (the tiny ones
    then cost 10 ms / 50 = 200 µs an op, below the 1 ms bound and below every class network;
    the largest network, 118 M multiply-adds, runs at 11.8 G/s, below any CPU's bound)."""
    return lambda bench, r: [0.010] * 5


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def test_cli_bench_json_contract() -> None:
    res = runner.invoke(app, ["bench", "mobilenet_v3_small", *FAST, "--batches", "1,2",
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
    monkeypatch.setattr(cal_mod, "real_sampler", ten_ms)
    res = runner.invoke(app, ["bench", "mobilenet_v3_small", *FAST, "--layers", "--predict",
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    (m,) = json.loads(res.stdout)["models"]
    assert m["predicted_ms"] > 0 and m["madds"] > 0
    layers = {x["name"]: x for x in m["layers"]}
    assert layers["features.0.0"]["ops"] == ["conv2d"]
    assert all(x["measured_ms"] >= 0 and "predicted_ms" in x for x in m["layers"])
    # the total line adds up the rows
    total = m["layers_total"]
    assert total["measured_ms"] == pytest.approx(sum(x["measured_ms"] for x in m["layers"]))
    assert total["predicted_ms"] == pytest.approx(sum(x["predicted_ms"] for x in m["layers"]))
    assert total["predicted_model_ms"] == pytest.approx(m["predicted_ms"])
    for fmt in ("table", "csv"):
        res = runner.invoke(app, ["bench", "mobilenet_v3_small", *FAST, "--layers",
                                  "--predict", "--format", fmt])
        assert res.exit_code == 0, res.output
        assert "features.0.0" in res.stdout and "total" in res.stdout


def test_cli_calibrate(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cal_mod, "real_sampler", ten_ms)
    res = runner.invoke(app, ["calibrate", "--threads", "1", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["threads"] == 1 and Path(data["cache"]).parent == cache_home / "convcost"
    assert set(data["ops"]) == set(OP_CLASSES) and data["attempts"] == 1
    res = runner.invoke(app, ["calibrate", "--threads", "1"])
    assert res.exit_code == 0 and "dense: arithmetic" in res.stdout
    assert "depthwise: overhead" in res.stdout and "module call" in res.stdout


def test_cli_calibrate_refused_is_one_line(cache_home: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    # every network "runs" in 1 ns: every rate beyond the machine's, every time
    monkeypatch.setattr(cal_mod, "real_sampler", lambda *a, **k: lambda b, r: [1e-9] * 5)
    res = runner.invoke(app, ["calibrate", "--threads", "1", "--force"])
    assert res.exit_code == 2
    assert "calibration refused after 3 measurements" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")
def test_cli_bench_cuda_absent_exits_2() -> None:
    res = runner.invoke(app, ["bench", "mobilenet_v3_small", "--device", "cuda"])
    assert res.exit_code == 2
    assert "CUDA is not available" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_cli_bench_bad_input_exits_2() -> None:
    res = runner.invoke(app, ["bench", "mobilenet_v3_small", "--runs", "2"])
    assert res.exit_code == 2



CANNOT_RUN = '''
import torch
from torch import nn


class Bad(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x) + torch.ones(1, device="cuda")
'''


@pytest.mark.parametrize("args", [
    ["--budget", "0"], ["--budget", "inf"], ["--budget", "nan"], ["--threads", "0"],
    ["--rounds", "0"],
])
def test_cli_bench_bad_numbers_exit_2_in_one_line(args: list[str]) -> None:
    res = runner.invoke(app, ["bench", "mobilenet_v3_small", *args])
    assert res.exit_code == 2, res.output
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")
def test_cli_bench_model_that_cannot_run_exits_2(tmp_path: Path) -> None:
    # the model runs on meta (convcost's analysis) but not for real on this CPU-only torch
    path = tmp_path / "bad.py"
    path.write_text(CANNOT_RUN)
    res = runner.invoke(app, ["bench", f"{path}:Bad", "--input", "3x16x16", "--budget",
                              "0.01"])
    assert res.exit_code == 2, res.output
    assert "cannot run on cpu with input 1×3×16×16" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
