"""Figures: content checked through the artists (labels, points, frontier), never by pixels."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from itertools import combinations, pairwise
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import convcost
from convcost import plots
from convcost.cli import app
from convcost.errors import InvalidArgumentError
from convcost.records.points import CostPoint, pareto_frontier
from convcost.report import plots as figures
from convcost.studies.points import point_for, with_latency, zoo_points
from convcost.zoo import build

runner = CliRunner()


def _pt(name: str, madds: int, top1: float | None, family: str = "A", **kw: object) -> CostPoint:
    return CostPoint(model=name, variant="", resolution=224, top1=top1, params=madds // 100,
                     madds=madds, flops=2 * madds, mem_bytes=madds // 10, family=family,
                     is_default=True, **kw)  # type: ignore[arg-type]


def _artist(ax: object, gid: str) -> object:
    found = [a for a in ax.get_children() if a.get_gid() == gid]  # type: ignore[attr-defined]
    assert len(found) == 1, gid
    return found[0]


# --- Pareto frontier ---------------------------------------------------------------------------

def test_pareto_frontier_by_hand() -> None:
    # (cost, top-1): B is beaten by C (cheaper and better), E ties D's cost with less accuracy,
    # F is dearer than D and no better -> frontier A, C, D in order of cost
    xs = [10, 30, 20, 40, 40, 50]
    ys = [50, 55, 60, 70, 65, 70]
    assert pareto_frontier(xs, ys) == [0, 2, 3]
    assert pareto_frontier([], []) == []
    assert pareto_frontier([5, 5], [1, 1]) == [0]  # exact duplicates: the first one stays
    with pytest.raises(InvalidArgumentError):
        pareto_frontier([1], [])


points_st = st.lists(st.tuples(st.integers(1, 50), st.integers(0, 50)), min_size=1, max_size=30)


@given(points_st)
def test_pareto_frontier_invariants(pts: list[tuple[int, int]]) -> None:
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    front = pareto_frontier(xs, ys)

    def dominates(j: int, i: int) -> bool:
        return xs[j] <= xs[i] and ys[j] >= ys[i] and (xs[j], ys[j]) != (xs[i], ys[i])

    for i in front:  # nobody beats a frontier point
        assert not any(dominates(j, i) for j in range(len(pts)))
    for i in set(range(len(pts))) - set(front):  # every other point is beaten or a duplicate
        assert any(dominates(j, i) or (pts[j] == pts[i] and j in front) for j in front)
    assert [xs[i] for i in front] == sorted(xs[i] for i in front)
    assert [ys[i] for i in front] == sorted(ys[i] for i in front)


# --- accuracy vs cost --------------------------------------------------------------------------

SYNTHETIC = [
    _pt("alpha", 40_000_000, 60.0), _pt("bravo", 100_000_000, 58.0),
    _pt("charlie", 150_000_000, 70.0, "B"), _pt("delta", 300_000_000, 69.0, "B"),
    _pt("echo", 600_000_000, 75.0, "C"), _pt("nodata", 50_000_000, None, "C"),
]


def test_accuracy_vs_cost_content() -> None:
    fig, front = plots.accuracy_vs_cost(SYNTHETIC, "madds")
    assert [p.model for p in front] == ["alpha", "charlie", "echo"]
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel().startswith("multiply-adds")
    assert "top-1" in ax.get_ylabel()
    # one marker per point with a top-1 (nodata is left out), split by family
    offsets = [len(c.get_offsets()) for c in ax.collections if str(c.get_gid()).startswith(
        "family-")]
    assert offsets == [2, 2, 1]
    step = _artist(ax, "frontier")
    assert list(step.get_xdata()[:3]) == [4e7, 1.5e8, 6e8]  # type: ignore[attr-defined]
    listed = _artist(fig.axes[1], "frontier-list").get_text()  # type: ignore[attr-defined]
    assert all(name in listed for name in ("1. alpha", "2. charlie", "3. echo"))
    assert "bravo" not in listed
    labels = [t for t in ax.texts if str(t.get_gid()).startswith("label-")]
    assert sorted(t.get_text() for t in labels) == sorted(
        p.label for p in SYNTHETIC if p.top1 is not None)


def test_labels_never_overlap() -> None:
    # 30 points on a tight diagonal: every drawn label must be clear of every other
    pts = [_pt(f"model_{i:02d}", 10_000_000 + i * 400_000, 60 + i * 0.2, f"F{i % 4}")
           for i in range(30)]
    fig, _ = plots.accuracy_vs_cost(pts, "madds", labels="all")
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [t.get_window_extent(renderer) for t in ax.texts
             if str(t.get_gid()).startswith("label-")]
    assert len(boxes) >= 10  # a floor: the test is about overlaps, not how many fit
    for a, b in combinations(boxes, 2):
        assert not a.overlaps(b)
    frame = ax.get_window_extent(renderer)
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 for b in boxes)


def test_accuracy_vs_latency_needs_measurements() -> None:
    with pytest.raises(InvalidArgumentError, match="with_latency"):
        plots.accuracy_vs_cost(SYNTHETIC, "latency_ms")
    timed = with_latency(SYNTHETIC, {"alpha": 3.0, "charlie": 2.0, "echo": 9.0})
    fig, front = plots.accuracy_vs_cost(timed, "latency_ms")
    # charlie is faster and better than alpha, so alpha drops off the frontier
    assert [p.model for p in front] == ["charlie", "echo"]
    assert fig.axes[0].get_xlabel().startswith("measured latency")
    with pytest.raises(InvalidArgumentError, match="x must be"):
        plots.accuracy_vs_cost(SYNTHETIC, "speed")


def test_zoo_points_mobilenet_v1_params_frontier() -> None:
    pts = zoo_points(["mobilenet"])  # alias of mobilenet_v1: the 9 published rows
    assert len(pts) == 9
    base = next(p for p in pts if p.is_default)
    # convcost's MobileNet V1 (README: 568,740,352 mult-adds, 4,231,976 params; the paper's
    # Table 1/6: 569 M, 4.2 M) and its published 70.6 % (Table 6)
    assert (base.madds, base.params, base.top1) == (568_740_352, 4_231_976, 70.6)
    fig, front = plots.accuracy_vs_cost(pts, "params")
    # the 192/160/128 inputs and α=0.5 @160 share parameters with a better 224 model
    assert [p.label for p in front] == ["mobilenet_v1 α=0.25", "mobilenet_v1 α=0.5",
                                        "mobilenet_v1 α=0.75", "mobilenet_v1",
                                        "mobilenet_v1 separable=false"]
    assert fig.axes[0].get_xlabel().startswith("parameters")


# --- sweeps, ratio surface ---------------------------------------------------------------------

def test_width_resolution_sweep() -> None:
    fig = plots.width_resolution_sweep("mobilenet_v1", (0.5, 1.0), (160, 224))
    left = fig.axes[0]
    curve = _artist(left, "sweep-224")
    ys = list(curve.get_ydata())  # type: ignore[attr-defined]
    # α = 1 at 224: the zoo's 568,740,352; α = 0.5: 149,497,088 (published 149M, Table 6)
    assert ys == [149_497_088, 568_740_352]
    assert left.get_yscale() == "log"
    labels = sorted(t.get_text() for t in left.texts)
    assert labels == ["60.2%", "63.7%", "67.2%", "70.6%"]  # Tables 6 and 7 of the paper
    with pytest.raises(InvalidArgumentError, match="width_mult"):
        plots.width_resolution_sweep("resnet18", (1.0,), (224,))


def test_separable_ratio_surface_matches_closed_form() -> None:
    fig = plots.separable_ratio_surface(channels=(16, 64, 256), kernels=(1, 3, 5), size=14,
                                        curves=(3,))
    left, right = fig.axes[:2]  # heat map, curves (then the colour bar)
    grid = _artist(left, "surface").get_array()  # type: ignore[attr-defined]
    assert grid.shape == (3, 3)
    # Dk=3, N=64: 1/64 + 1/9 = 73/576
    assert grid[1, 1] == pytest.approx(float(Fraction(1, 64) + Fraction(1, 9)))
    exact = _artist(right, "exact-3").get_ydata()  # type: ignore[attr-defined]
    assert list(exact) == pytest.approx([1 / n + 1 / 9 for n in (16, 64, 256)])
    mem = _artist(right, "mem-3").get_ydata()  # type: ignore[attr-defined]
    assert all(m > e for m, e in zip(mem, exact, strict=True))  # bytes save less than madds


# --- one model ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mobilenet() -> convcost.Analysis:
    return convcost.analyze(build("mobilenet_v1"), (1, 3, 224, 224), name="mobilenet_v1")


def test_per_layer_cumulative_roofline(mobilenet: convcost.Analysis) -> None:
    a = mobilenet
    fig = plots.per_layer_cost(a)
    assert len(fig.axes[0].containers[0]) == len(fig.axes[1].containers[0]) == len(a.rows)
    cum = plots.cumulative_cost(a)
    for field in ("madds", "params", "mem_bytes"):
        ys = _artist(cum.axes[0], f"cum-{field}").get_ydata()  # type: ignore[attr-defined]
        assert ys[-1] == pytest.approx(100.0)
    # the x-axis names the layers: all 28 conv/linear layers of MobileNet V1's 83 ops
    ticks = [t.get_text() for t in fig.axes[1].get_xticklabels()]
    assert ticks[:3] == ["features.0.0", "features.1.dw.0", "features.1.pw.0"]
    assert ticks[-1] == "classifier" and len(ticks) == 28
    assert "28 of 83 ops named" in fig.axes[1].get_xlabel()


def test_labelled_ops_thin_to_layers_that_never_touch() -> None:
    class R:
        def __init__(self, madds: int) -> None:
            self.cost = convcost.Cost(madds=madds)

    few = [R(0), R(5), R(0)]
    assert figures.labelled_ops(few, 3) == [0, 1, 2]  # few enough: every op
    rows = [R(1 if i % 2 == 0 else 0) for i in range(100)]  # a layer every other op
    shown = figures.labelled_ops(rows, 20)
    assert all(rows[i].cost.madds for i in shown)
    assert min(b - a for a, b in pairwise(shown)) >= 5  # ceil(100 / 20)
    assert len(shown) == 17  # 0, 6, 12, ... 96


def test_roofline_has_the_machines_roofs(mobilenet: convcost.Analysis) -> None:
    a = mobilenet
    roofs = figures.Roofs(dense_flops_per_s=200e9, pointwise_flops_per_s=100e9,
                        depthwise_flops_per_s=20e9, bandwidth_bytes_per_s=50e9,
                        stream_bytes_per_s=10e9, source="a test machine")
    fig = figures.roofline_scatter(a, roofs)
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert "a test machine" in ax.get_title()
    # the roofs: each class's peak FLOP/s from its ridge (peak / bandwidth) on
    for name, peak in (("dense", 200e9), ("pointwise", 100e9), ("depthwise", 20e9)):
        xs, ys = _artist(ax, f"roofline-{name}").get_data()  # type: ignore[attr-defined]
        assert list(ys) == [peak, peak] and xs[0] == pytest.approx(peak / 50e9)
    xs, ys = _artist(ax, "roofline-memory").get_data()  # type: ignore[attr-defined]
    assert ys[0] == pytest.approx(xs[0] * 50e9)  # the slope: bandwidth × intensity
    dw = _artist(ax, "roof-depthwise").get_offsets()  # type: ignore[attr-defined]
    pw = _artist(ax, "roof-pointwise").get_offsets()  # type: ignore[attr-defined]
    assert len(dw) == len(pw) == 13  # MobileNet V1: 13 separable blocks
    # x: FLOPs per byte. A 3×3 depthwise conv does 9 multiply-adds (18 FLOPs) per output and
    # moves ≥ 8 bytes per output (fp32 read + write): at most 18/8; every pointwise conv
    # has more than 10
    assert max(dw[:, 0]) <= 18 / 8 < 10 < min(pw[:, 0])
    # y: what the roofline allows there, min(peak of the class, intensity × bandwidth)
    for (x, y) in dw:
        assert y == pytest.approx(min(20e9, x * 50e9))
    for (x, y) in pw:
        assert y == pytest.approx(min(100e9, x * 50e9))
    # without roofs: the documented defaults
    assert figures.DEFAULT_ROOFS.source in plots.roofline_scatter(a).axes[0].get_title()


def test_cumulative_overlay(mobilenet: convcost.Analysis) -> None:
    half = convcost.analyze(build("mobilenet_v1:width_mult=0.5"), (1, 3, 224, 224),
                            name="mobilenet_v1:width_mult=0.5")
    fig = figures.cumulative_overlay([mobilenet, half])
    left, right = fig.axes
    for j, a in enumerate((mobilenet, half)):
        xs, ys = _artist(left, f"overlay-madds-{j}").get_data()  # type: ignore[attr-defined]
        assert xs[0] == 0 and xs[-1] == 100 and ys[-1] == a.totals.madds
        xs, ys = _artist(right, f"overlay-mem_bytes-{j}").get_data()  # type: ignore[attr-defined]
        assert ys[-1] == a.totals.mem_bytes
    assert [t.get_text() for t in left.get_legend().get_texts()] == [
        "mobilenet_v1", "mobilenet_v1:width_mult=0.5"]


def test_compare_bars(mobilenet: convcost.Analysis) -> None:
    half = convcost.analyze(build("mobilenet_v1:width_mult=0.5"), (1, 3, 224, 224),
                            name="mobilenet_v1:width_mult=0.5")
    fig = plots.compare_bars([mobilenet, half])
    ax = fig.axes[0]
    first, second = ([p.get_height() for p in bars] for bars in ax.containers)
    assert first == [1.0, 1.0, 1.0, 1.0]
    assert second[1] == pytest.approx(149_497_088 / 568_740_352)
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "parameters", "multiply-adds", "FLOPs", "memory access"]
    # a measured latency per model adds a fifth group, relative to the first: 6 ms / 4 ms
    fig = plots.compare_bars([mobilenet, half], latency_ms=[4.0, 6.0])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "measured latency"
    assert [p.get_height() for p in ax.containers[1]][-1] == pytest.approx(1.5)
    with pytest.raises(convcost.InvalidArgumentError):
        plots.compare_bars([mobilenet, half], latency_ms=[4.0])


def test_save_is_deterministic(tmp_path: Path, mobilenet: convcost.Analysis) -> None:
    for suffix in ("png", "svg"):
        a = plots.save_figure(plots.cumulative_cost(mobilenet), tmp_path / f"a.{suffix}")
        b = plots.save_figure(plots.cumulative_cost(mobilenet), tmp_path / f"b.{suffix}")
        assert a.read_bytes() == b.read_bytes()
    with pytest.raises(InvalidArgumentError, match=r"\.png or \.svg"):
        plots.save_figure(plots.cumulative_cost(mobilenet), tmp_path / "c.pdf")


def test_no_pyplot_no_gui() -> None:
    code = ("import sys, convcost\n"
            "from convcost.report import plots\n"
            "plots.separable_ratio_surface(channels=(8, 16), kernels=(3,), curves=(3,))\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n"
            "import matplotlib; print(matplotlib.get_backend())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().lower() == "agg"


# --- command line ------------------------------------------------------------------------------

def test_cli_plot_kinds(tmp_path: Path) -> None:
    r = runner.invoke(app, ["plot", "accuracy", "mobilenet_v1", "--x", "params",
                            "--out", str(tmp_path / "acc.png")])
    assert r.exit_code == 0, r.output
    assert "Pareto frontier (params): mobilenet_v1 α=0.25, mobilenet_v1 α=0.5" in r.output
    assert (tmp_path / "acc.png").read_bytes()[:4] == b"\x89PNG"
    r = runner.invoke(app, ["plot", "ratio", "--out", str(tmp_path / "ratio.svg")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "ratio.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(("args", "message"), [
    (["plot", "ratio", "--out", "{t}/x.txt"], ".png or .svg"),
    (["plot", "ratio", "--out", "{t}/missing/x.png"], "does not exist"),
    (["plot", "accuracy", "--x", "latency_ms", "--out", "{t}/x.png"], "--latency"),
    (["plot", "sweep", "resnet18", "--out", "{t}/x.png"], "no width_mult"),
    (["compare", "mobilenet_v1", "--plot", "{t}/x.jpg"], ".png or .svg"),
])
def test_cli_plot_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    r = runner.invoke(app, [a.format(t=tmp_path) for a in args])
    assert r.exit_code == 2
    assert message in r.output and r.output.count("\n") == 1


def test_cli_plot_latency_file(tmp_path: Path) -> None:
    lat = tmp_path / "lat.json"
    lat.write_text('{"models": [{"model": "mobilenet_v1", "median_ms": 4.5},'
                   ' {"model": "mobilenet_v1:width_mult=0.5", "median_ms": 1.5}]}')
    r = runner.invoke(app, ["plot", "accuracy", "mobilenet_v1", "--x", "latency_ms",
                            "--latency", str(lat), "--out", str(tmp_path / "lat.png")])
    assert r.exit_code == 0, r.output
    assert "mobilenet_v1 α=0.5, mobilenet_v1" in r.output


def test_cli_compare_plot(tmp_path: Path) -> None:
    out = tmp_path / "cmp.png"
    r = runner.invoke(app, ["compare", "mobilenet_v1", "mobilenet_v1:width_mult=0.5",
                            "--format", "json", "--plot", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_latency_figures_content() -> None:
    names = ["a", "b", "c"]
    fig = plots.latency_vs_madds(names, [1_000_000_000, 2_000_000_000, 4_000_000_000],
                                 [10.0, 15.0, 40.0], title="t")
    ax = fig.axes[0]
    (pts,) = ax.collections
    assert [tuple(xy) for xy in pts.get_offsets()] == [(1.0, 10.0), (2.0, 15.0), (4.0, 40.0)]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert {t.get_text() for t in ax.texts} == set(names)  # room for every label here
    series = {"baseline": [12.0, 14.0, 30.0], "convcost": [9.0, 16.0, 41.0]}
    fig = plots.predicted_vs_measured(names, [10.0, 15.0, 40.0], series, tolerance=0.25)
    ax = fig.axes[0]
    offsets = [c.get_offsets() for c in ax.collections if len(c.get_offsets()) == 3]
    assert [[tuple(xy) for xy in o] for o in offsets] == [
        [(10.0, 12.0), (15.0, 14.0), (40.0, 30.0)], [(10.0, 9.0), (15.0, 16.0), (40.0, 41.0)]]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "y = x", "±25%", "baseline", "convcost"]
    # the limits hold every point: 0.7 × 9 to 1.4 × 41
    assert ax.get_xlim() == pytest.approx((6.3, 57.4))
    with pytest.raises(convcost.InvalidArgumentError):
        plots.predicted_vs_measured(names, [1.0], series)


def test_with_latency_joins_aliases_spellings_and_sizes() -> None:
    shuffle = point_for("shufflenet_v2")  # alias of shufflenet_v2_x1_0, at its 224
    half = point_for("mobilenet_v1:width_mult=0.5", 160)
    xcep = point_for("xception")  # default input 299, not 224
    timed = with_latency([shuffle, half, xcep], {
        "shufflenet_v2": 3.0,  # the alias, no size: the model's default size
        "mobilenet_v1:width_mult=0.50@160": 2.0,  # another spelling of 0.5, at 160
        "xception": 9.0,  # no size: xception's own 299
        "mobilenet_v1:width_mult=0.5": 7.0,  # no size = 224: not the 160 point
    })
    assert [p.latency_ms for p in timed] == [3.0, 2.0, 9.0]
