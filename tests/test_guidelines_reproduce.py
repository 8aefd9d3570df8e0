"""The reproduced ShuffleNetV2 Tables 1-4: paper figures, network design, machinery.

No timing is asserted: the measurement is replaced by a fake that returns chosen medians.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from torch import nn

import convcost
from convcost.latency import shufflenet_experiments as sx
from convcost.latency.measure import Measurement, summarize
from convcost.report.guidelines import reproduction_tables, trend_sentence

CSV = Path(__file__).parent / "reference" / "shufflenet_v2_guidelines.csv"
HW = 56 * 56


def test_paper_figures_match_the_vendored_csv() -> None:
    rows = list(csv.DictReader(CSV.open(encoding="utf-8")))
    found: dict[tuple[str, str, str], list[float]] = {}
    for r in rows:
        table = r["model"][:2]
        variant = r["variant"]
        column = "gpu" if r["metric"] == "speed_gpu" else "cpu"
        if table in ("G1", "G2"):
            config = variant.split(",")[0].removeprefix("c1:c2=")
        elif table == "G3":
            config = variant.split(",")[0]
        else:
            config = variant.rsplit(",", 1)[0]
        found.setdefault((table, config, column), []).append(float(r["value"]))
        if table in ("G1", "G2"):  # the x1 widths are in the variant text
            nums = tuple(int(n) for n in re.findall(r"\d+", variant.split("for x1")[0])[-2:])
            paper = next(p for p in sx.PAPER if (p.table, p.config.label) == (table, config))
            widths = paper.gpu_widths if column == "gpu" else paper.cpu_widths
            assert widths == nums[-len(widths):], variant
    assert len(found) == 2 * len(sx.PAPER)
    for p in sx.PAPER:
        assert found[(p.table, p.config.label, "gpu")] == list(p.gpu), p
        assert found[(p.table, p.config.label, "cpu")] == list(p.cpu), p


def test_configs_are_typed_and_labelled_as_in_the_paper() -> None:
    assert [(p.table, p.config.label) for p in sx.PAPER] == [
        ("G1", "1:1"), ("G1", "1:2"), ("G1", "1:6"), ("G1", "1:12"),
        ("G2", "g=1"), ("G2", "g=2"), ("G2", "g=4"), ("G2", "g=8"),
        ("G3", "1-fragment"), ("G3", "2-fragment-series"), ("G3", "4-fragment-series"),
        ("G3", "2-fragment-parallel"), ("G3", "4-fragment-parallel"),
        ("G4", "ReLU=yes, shortcut=yes"), ("G4", "ReLU=yes, shortcut=no"),
        ("G4", "ReLU=no, shortcut=yes"), ("G4", "ReLU=no, shortcut=no")]
    assert sx.PAPER[3].config == sx.ChannelRatio(c1=1, c2=12)
    assert sx.PAPER[12].config == sx.Fragments(count=4, parallel=True)
    assert sx.PAPER[14].config == sx.Elementwise(relu=True, shortcut=False)


def _convs(model: nn.Module, size: tuple[int, ...]) -> list[tuple[int, int, int]]:
    a = convcost.analyze(model, size)
    return [(r.in_shapes[0][1], r.out_shape[1], r.cost.madds) for r in a.rows
            if r.conv_kind is not None]


@pytest.fixture(scope="module")
def cpu_experiments() -> list[sx.Experiment]:
    return sx.experiments("cpu")


def test_g1_networks_fixed_madds_and_exact_ratios(cpu_experiments: list[sx.Experiment]) -> None:
    g1 = [e for e in cpu_experiments if e.table == "G1"]
    assert len(g1) == 12
    for e in g1:
        assert isinstance(e.config, sx.ChannelRatio)
        a, b = e.config.c1, e.config.c2
        c1, c2 = e.channels
        assert c1 * b == c2 * a  # the ratio is exact
        convs = _convs(sx.build(e), e.input_size)
        assert len(convs) == 20  # 10 blocks of two 1×1 convs
        assert convs[:2] == [(c1, c2, HW * c1 * c2), (c2, c1, HW * c1 * c2)]
        madds = sum(m for *_, m in convs)
        # c1 = a·t with t = round(sqrt(B / (hw·a·b))): madds within (1 ± 1/(2t))² of the target
        t = c1 // a
        assert abs(madds / e.target_madds - 1) <= (1 + 1 / (2 * t)) ** 2 - 1  # type: ignore[operator]
    # ×1 at the paper's ARM 1:1 width 32: 20 convs · 3136 · 32 · 32 = 64,225,280
    assert g1[0].target_madds == 64_225_280 and g1[0].channels == (32, 32)
    # the paper floors 1:2 to (22, 44); the closest madds is (23, 46): 1058 vs 968 of 1024
    assert next(e for e in g1 if e.config == sx.ChannelRatio(1, 2)).channels == (23, 46)
    assert [e.channels for e in g1
            if e.config in (sx.ChannelRatio(1, 6), sx.ChannelRatio(1, 12))][::3] == [
        (13, 78), (9, 108)]


def test_g2_networks_fixed_madds(cpu_experiments: list[sx.Experiment]) -> None:
    g2 = [e for e in cpu_experiments if e.table == "G2"]
    assert [e.channels for e in g2 if e.size == 0] == [(64, 1), (90, 2), (128, 4), (184, 8)]
    for e in g2:
        c, g = e.channels
        assert c % g == 0
        convs = _convs(sx.build(e), e.input_size)
        assert len(convs) == 10 and all(m == HW * c * c // g for *_, m in convs)
        # c²/g within the rounding of c to a multiple of g: |c - c*| <= g/2
        exact = math.sqrt(e.target_madds / 10 / HW * g)  # type: ignore[operator]
        assert abs(c - exact) <= g / 2


def test_g3_fragments_keep_the_madds(cpu_experiments: list[sx.Experiment]) -> None:
    for e in (e for e in cpu_experiments if e.table == "G3"):
        c, w = e.channels
        assert isinstance(e.config, sx.Fragments)
        k = e.config.count
        convs = _convs(sx.build(e), e.input_size)
        assert len(convs) == 10 * k
        madds = sum(m for *_, m in convs)
        if e.config.parallel:  # k convs c → c/k: exactly hw·c² per block
            assert convs[0][:2] == (c, c // k) and madds == e.target_madds
        else:  # k convs w → w, w = round(c/sqrt(k)): k·w² within rounding of c²
            assert convs[0][:2] == (w, w) and madds == 10 * k * HW * w * w
            assert abs(k * w * w / (c * c) - 1) < 0.02


def test_g4_bottleneck(cpu_experiments: list[sx.Experiment]) -> None:
    g4 = [e for e in cpu_experiments if e.table == "G4" and e.size == 0]
    ops = []
    for e in g4:
        a = convcost.analyze(sx.build(e), e.input_size)
        # c = 32: 10 · 3136 · (32·8 + 9·8·8 + 8·32) = 10 · 3136 · 1,088 = 34,119,680
        assert a.totals.madds == 34_119_680
        labels = [r.op for r in a.rows]
        ops.append((labels.count("relu"), labels.count("add")))
    # ReLU yes/no × shortcut yes/no: 3 ReLUs and 1 add per unit, 10 units
    assert ops == [(30, 10), (30, 0), (0, 10), (0, 0)]


def test_gpu_widths() -> None:
    exps = sx.experiments("gpu", tables=("G2", "G3"))
    # 128·sqrt(2) = 181.02 → 182 (the paper rounds to 180); 128·sqrt(8) = 362.04 → 360
    assert [e.channels for e in exps if e.table == "G2" and e.size == 0] == [
        (128, 1), (182, 2), (256, 4), (360, 8)]
    assert {e.channels[0] for e in exps if e.table == "G3"} == {128, 256, 512}


# --- the machinery, on fake timings --------------------------------------------------------------


def _fake(medians: Iterator[float]) -> sx.MeasureFn:
    def run(model: nn.Module, size: tuple[int, ...]) -> Measurement:
        ms = next(medians)
        return summarize([ms, ms, ms], warmup=1, threads=1, device="cpu", batch=size[0])
    return run


def test_reproduce_keeps_each_networks_best_round_and_normalises() -> None:
    n = len(sx.experiments(tables=("G2",)))  # 12 networks
    # round 1: every network 10 ms; round 2: 5 ms for the first network, 40 ms for the rest
    medians = iter([10.0] * n + [5.0] + [40.0] * (n - 1))
    seen: list[int] = []
    rep = sx.reproduce(tables=("G2",), rounds=2, measure_fn=_fake(medians),
                       progress=lambda done, total, label: seen.append(done))
    assert seen == list(range(2 * n))
    (t,) = rep.tables
    g1, g8 = sx.Groups(1), sx.Groups(8)
    assert t.get(g1, 0).measurement.median_ms == 5.0  # best of 5 and 10
    assert t.get(g8, 0).measurement.median_ms == 10.0  # best of 10 and 40
    assert t.get(g1, 0).speed == pytest.approx(200.0)  # 1 image / 5 ms
    here, gpu, cpu = t.normalized(g8, 0)
    assert here == pytest.approx(0.5)
    assert gpu == pytest.approx(634 / 2451) and cpu == pytest.approx(27.8 / 40.0)
    trend = trend_sentence(t.trend())
    assert trend.startswith("G2: g=8 vs g=1 at ×1 / ×2 / ×4: here -50 / +0 / +0 %")
    assert "paper GPU -74 / -65 / -47 %" in trend and "ARM -30 / -26 / -22 %" in trend
    d = rep.to_dict()
    assert d["rounds"] == 2 and d["tables"][0]["rows"][0]["images_per_s"] == 200.0  # type: ignore[index]
    tables = reproduction_tables(rep)
    assert tables[0].rows[0][:2] == ["g=1", "64/1, 128/1, 256/1"]
    assert tables[0].notes[0] == trend


def test_trend_names_the_most_frequent_winner_ties_to_the_earlier_row() -> None:
    # G2 in the paper's order, ×1/×2/×4 each: g=8 fastest at ×1, g=4 at ×2, g=2 at ×4
    medians = iter([10.0, 10.0, 10.0,  # g=1
                    10.0, 10.0, 5.0,  # g=2
                    10.0, 5.0, 10.0,  # g=4
                    5.0, 10.0, 10.0])  # g=8
    (t,) = sx.reproduce(tables=("G2",), rounds=1, measure_fn=_fake(medians)).tables
    # three winners once each: the earliest row of the three, g=2, is named
    assert "Fastest here: g=1 at 0 of 3 sizes (g=2 at 1);" in trend_sentence(t.trend())


def test_reproduce_rejects_bad_arguments() -> None:
    from convcost.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError):
        sx.reproduce(rounds=0, measure_fn=_fake(iter([])))
    with pytest.raises(InvalidArgumentError):
        sx.experiments("tpu")
    with pytest.raises(InvalidArgumentError):
        sx.g2_network(90, 8)
