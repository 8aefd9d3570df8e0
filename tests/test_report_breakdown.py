"""Per-layer breakdown: the MobileNet paper's Table 2, the report files, atomic writing."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import convcost
from convcost.cli import app
from convcost.errors import ConvcostError, InvalidArgumentError
from convcost.records.compare import Compared
from convcost.report import breakdown
from convcost.zoo import build

runner = CliRunner()


@pytest.fixture(scope="module")
def mobilenet() -> convcost.Analysis:
    return convcost.analyze(build("mobilenet_v1"), (1, 3, 224, 224), name="mobilenet_v1")


def test_mobilenet_table2_resource_per_layer_type(mobilenet: convcost.Analysis) -> None:
    """Howard et al. 2017 (arXiv:1704.04861) Table 2, "Resource per layer type", printed to
    two decimals: Conv 1×1 94.86 % mult-adds / 74.59 % params, Conv DW 3×3 3.06 / 1.06,
    Conv 3×3 1.19 / 0.02, Fully connected 0.18 / 24.33.

    Derivation from the zoo model (224×224, α=1): 1×1 convs 539,492,352 of 568,740,352
    mult-adds = 94.857 %; depthwise 17,385,984 = 3.057 %; FC 1,024,000 = 0.180 %; the 3×3 stem
    112·112·32·3·9 = 10,838,016 = 1.906 %. The paper's parameter shares are of the conv/FC
    weights only (no BatchNorm, no biases): 3,139,584 / 44,640 / 864 / 1,024,000 of 4,209,088.
    """
    df = breakdown.layer_type_frame(mobilenet).set_index("layer_type")
    published = {  # layer type: (% mult-adds, % parameters) as printed in Table 2
        "Conv 1×1": (94.86, 74.59),
        "Conv DW 3×3": (3.06, 1.06),
        "Conv 3×3": (1.19, 0.02),
        "Fully connected": (0.18, 24.33),
    }
    for kind, (madds_pct, weights_pct) in published.items():
        assert round(df.loc[kind, "weights_pct"], 2) == weights_pct, kind
        if kind != "Conv 3×3":
            assert round(df.loc[kind, "madds_pct"], 2) == madds_pct, kind
    # The printed 1.19 % cannot be right: the four rows then sum to 99.29 %. The three others
    # match to the last digit, so the stem's share is 100 - 94.86 - 3.06 - 0.18 = 1.90 %
    # (± the 0.015 of three roundings); we compute 1.906 % (a transposed "1.91"?).
    assert sum(v[0] for v in published.values()) == pytest.approx(99.29)
    assert df.loc["Conv 3×3", "madds_pct"] == pytest.approx(100 - 94.86 - 3.06 - 0.18,
                                                            abs=0.015)
    assert df.loc["Conv 3×3", "madds"] == 112 * 112 * 32 * 3 * 9
    assert df["madds_pct"].sum() == pytest.approx(100.0)
    assert df["params"].sum() == mobilenet.totals.params


def test_weights_equal_the_real_modules_weights(mobilenet: convcost.Analysis) -> None:
    model = build("mobilenet_v1", device="cpu")
    real = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear))
    assert real == 4_209_088
    assert sum(breakdown.weights(r) for r in mobilenet.rows) == real


class Mixed(nn.Module):
    """One conv of each labelling case: 5×5 depthwise, 1×7, grouped 1×1, 3×3 with bias."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=True)
        self.dw = nn.Conv2d(8, 8, 5, padding=2, groups=8, bias=False)
        self.row = nn.Conv2d(8, 8, (1, 7), padding=(0, 3), bias=False)
        self.group = nn.Conv2d(8, 16, 1, groups=4, bias=False)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.group(self.row(self.dw(self.stem(x))))
        return self.fc(x.mean((2, 3)))


def test_layer_types_and_weights_of_each_conv() -> None:
    a = convcost.analyze(Mixed(), (2, 3, 16, 16))
    got = {r.name: (breakdown.layer_type(r), breakdown.weights(r)) for r in a.rows
           if r.conv_kind or r.op == "linear"}
    assert got == {
        "stem": ("Conv 3×3", 8 * 3 * 9),  # bias (8) excluded
        "dw": ("Conv DW 5×5", 8 * 25),
        "row": ("Conv 7-tap", 8 * 8 * 7),  # 1×7: not square, named by its taps
        "group": ("Conv grouped", 16 * 2),  # 8/4 inputs per output
        "fc": ("Fully connected", 16 * 10),
    }


def test_layer_frame(mobilenet: convcost.Analysis) -> None:
    df = breakdown.layer_frame(mobilenet)
    assert len(df) == len(mobilenet.rows)
    assert df["cum_madds_pct"].iloc[-1] == pytest.approx(100.0)
    assert df["madds_pct"].sum() == pytest.approx(100.0)
    first = df.iloc[0]  # the stem: 10,838,016 madds over 605,568 + 1,605,632 bytes
    assert first["intensity"] == pytest.approx(10_838_016 / 2_211_200)
    assert first["layer_type"] == "Conv 3×3"


def _report_files(out: Path) -> set[str]:
    return {p.name for p in out.iterdir()}


def test_write_report(tmp_path: Path, mobilenet: convcost.Analysis) -> None:
    out = tmp_path / "mnv1"
    files = breakdown.write_report([Compared(mobilenet, 70.6, "Table 6")], out)
    assert {f.name for f in files} | {breakdown.MARKER} == _report_files(out) == {
        "report.md", "report.html", "mobilenet_v1_per_layer.png",
        "mobilenet_v1_cumulative.png", "mobilenet_v1_roofline.png", breakdown.MARKER}
    md = (out / "report.md").read_text()
    assert "- **multiply-adds**: 568.74M (568,740,352)" in md
    assert "- **published top-1**: 70.6% (Table 6)" in md
    assert "| Conv 1×1 | 13 | 539.49M | 94.86% | 3.14M | 74.19% | 74.59% |" in md
    assert "![Cumulative cost along the network](mobilenet_v1_cumulative.png)" in md
    # one per-layer row per op (+ header, separator, total)
    table = md.split("### Per-layer table")[1]
    assert table.count("\n| ") == len(mobilenet.rows) + 3
    html = (out / "report.html").read_text()
    assert html.count("src='data:image/png;base64,") == 3
    assert "<img" in html and "mobilenet_v1_" not in re.sub(r"id='[^']*'", "", html)
    assert (out / "report.html").stat().st_size < 1_000_000
    # deterministic: the same report twice is byte-identical
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    breakdown.write_report([Compared(mobilenet, 70.6, "Table 6")], out, force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    with pytest.raises(InvalidArgumentError, match="--force"):
        breakdown.write_report([Compared(mobilenet)], out)


def test_force_never_touches_a_file_convcost_did_not_write(
        tmp_path: Path, mobilenet: convcost.Analysis) -> None:
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    (mine / "figure.png").write_bytes(b"the user's own plot")
    with pytest.raises(InvalidArgumentError, match="not a convcost report folder"):
        breakdown.write_report([Compared(mobilenet)], mine, force=True)
    assert (mine / "thesis.tex").read_text() == "years of work"
    # a report folder with files of the user's added: --force replaces the report, and only
    # the report (the manifest says what convcost wrote), a user's *.png included
    out = tmp_path / "rep"
    breakdown.write_report([Compared(mobilenet)], out)
    (out / "notes.txt").write_text("mine")
    (out / "my_plot.png").write_bytes(b"mine too")
    with pytest.raises(InvalidArgumentError, match="already exists"):
        breakdown.write_report([Compared(mobilenet)], out)  # no --force: refused
    files = breakdown.write_report([Compared(mobilenet, top1=70.6)], out, force=True)
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "my_plot.png").read_bytes() == b"mine too"
    assert "70.6" in (out / "report.md").read_text()
    assert {f.name for f in files} <= {p.name for p in out.iterdir()}
    # a later report of another model drops the first one's images, not the user's files
    half = convcost.analyze("mobilenet_v1:width_mult=0.5", (1, 3, 32, 32))
    breakdown.write_report([Compared(half)], out, force=True)
    names = {p.name for p in out.iterdir()}
    assert "mobilenet_v1_per_layer.png" not in names
    assert {"notes.txt", "my_plot.png"} <= names
    # and through the CLI: a folder convcost did not write is exit 2, one line, untouched
    r = runner.invoke(app, ["report", "mobilenet_v1", "--input", "32", "--out", str(mine),
                            "--force"])
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
    assert (mine / "thesis.tex").exists() and (mine / "figure.png").exists()


def test_interrupted_report_leaves_a_whole_folder(tmp_path: Path, mobilenet: convcost.Analysis,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # the plots are not what this test is about: stub them to keep it fast
    monkeypatch.setattr(breakdown, "render_images", lambda secs, dpi=100, roofs=None: {
        s.image(p): b"png" for s in secs for p in breakdown.PLOT_NAMES})
    out = tmp_path / "rep"
    breakdown.write_report([Compared(mobilenet)], out)
    (out / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(*args: object, **kwargs: object) -> str:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:  # interrupted while rendering: nothing written yet
        m.setattr(breakdown, "render_html", boom)
        with pytest.raises(KeyboardInterrupt):
            breakdown.write_report([Compared(mobilenet)], out, force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert os.listdir(tmp_path) == ["rep"]  # no temporary folder left behind

    # killed at every rename of the update in turn: the folder is there, each file whole
    # (the old report's or the new one's), the user's file untouched, the manifest covering
    # every file convcost wrote, no temporary file left
    new = Compared(mobilenet, top1=70.6)
    expect_dir = tmp_path / "expected"
    breakdown.write_report([new], expect_dir)
    expected = {p.name: p.read_bytes() for p in expect_dir.iterdir()}
    assert expected["report.md"] != before["report.md"]  # 70.6 % now shown
    real_replace = os.replace
    steps = 0
    while True:
        calls: list[object] = []

        def fail_at(src: object, dst: object, stop: int = steps,
                    calls: list[object] = calls) -> None:
            calls.append(dst)
            if len(calls) > stop:
                raise OSError(28, "No space left on device")
            real_replace(src, dst)  # type: ignore[arg-type]

        with monkeypatch.context() as m:
            m.setattr(os, "replace", fail_at)
            try:
                breakdown.write_report([new], out, force=True)
                finished = True
            except ConvcostError as exc:
                assert "no space left" in str(exc)
                finished = False
        names = {p.name for p in out.iterdir()}
        assert (out / "notes.txt").read_text() == "mine"
        assert not [n for n in names if n.startswith(".convcost-tmp-")]
        listed = set((out / breakdown.MARKER).read_text().splitlines()[1:])
        assert names - {"notes.txt", breakdown.MARKER} <= listed
        for name in ("report.md", "report.html"):
            assert (out / name).read_bytes() in (before[name], expected[name])
        if finished:
            break
        steps += 1
    assert steps >= 3  # the manifest, the pages, the images: each failure point was tried


def test_cli_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "two"
    r = runner.invoke(app, ["report", "mobilenet_v1:width_mult=0.25", "shufflenet_v2_x0_5",
                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "mobilenet_v1_width_mult_0.25_roofline.png" in _report_files(out)
    md = (out / "report.md").read_text()
    assert md.startswith("# convcost report: mobilenet_v1:width_mult=0.25, shufflenet_v2_x0_5")
    assert "- **published top-1**: 50.6% (Howard et al. 2017" in md
    assert "- **published top-1**: 60.552% " not in md and "60.6% (torchvision" in md
    monkeypatch.setattr(breakdown, "render_images",  # fast from here
                        lambda secs, dpi=100, roofs=None: {
                            s.image(p): b"png" for s in secs for p in breakdown.PLOT_NAMES})
    r = runner.invoke(app, ["report", "shufflenet_v2_x0_5", "--out", str(out)])
    assert r.exit_code == 2
    assert r.output.count("\n") == 1 and "already exists; pass --force" in r.output
    r = runner.invoke(app, ["report", "shufflenet_v2_x0_5", "--out", str(out), "--force"])
    assert r.exit_code == 0, r.output
    assert "mobilenet_v1_width_mult_0.25_roofline.png" not in _report_files(out)


def test_html_is_responsive(tmp_path: Path, mobilenet: convcost.Analysis) -> None:
    out = tmp_path / "one"
    breakdown.write_report([Compared(mobilenet, 70.6, "Table 6")], out)
    page = (out / "report.html").read_text()
    assert "<meta name='viewport' content='width=device-width, initial-scale=1'>" in page
    # every table in a box that scrolls on its own; figures never wider than the page on a
    # wide screen, at their pixel size in a sideways-scrolling box on a narrow one
    assert page.count("<table>") == page.count("<div class='table") == 2
    assert "<div class='table tall'>" in page  # the per-layer table scrolls both ways
    css = page.split("<style>")[1].split("</style>")[0]
    assert ".table{max-width:100%;overflow:auto" in css
    assert "figure img{max-width:100%" in css and "@media (max-width:720px)" in css
    assert page.count("<figure>") == 3 and "Comparison" not in page  # one model: no comparison


def test_report_of_several_models_opens_with_their_comparison(tmp_path: Path) -> None:
    from convcost.studies.compare import compare

    items = compare(["mobilenet_v1", "shufflenet_v2"], [(3, 224, 224)])
    # the exact counts behind the page's figures: MobileNet V1 568,740,352 mult-adds (Howard
    # et al. 2017, Table 6: 569M), ShuffleNet V2 1× 144,907,992 (Ma et al. 2018: 146M) with
    # 2,278,604 parameters (2.3M); 568,740,352 / 144,907,992 = 3.92: "3.9× fewer"
    assert [(i.analysis.totals.madds, i.analysis.totals.params) for i in items] == [
        (568_740_352, 4_231_976), (144_907_992, 2_278_604)]
    # both published at 224: Howard et al. 70.6 %, torchvision's weights 69.362 %
    assert [i.top1 for i in items] == [70.6, 69.362]
    out = tmp_path / "two"
    files = breakdown.write_report(items, out)
    names = {f.name for f in files}
    assert set(breakdown.COMPARISON_IMAGES) <= names
    page = (out / "report.html").read_text()
    comparison, _, first = page.partition("<h2 id='mobilenet_v1'>")
    assert "<h2 id='comparison'>Comparison</h2>" in comparison and first
    # the compare table side by side (every model, every figure) and its turned form
    # 568,740,352 → 568.74M, 144,907,992 → 144.91M, their ratio 3.92 → 3.9×
    for text in ("<th>model</th>", "<th class=r>mult-adds</th>", "<td>mobilenet_v1</td>",
                 "<td>shufflenet_v2</td>", "568.74M", "144.91M", "3.9× fewer mult-adds",
                 "<div class='wide'>", "<div class='narrow'>", "<th>mult-adds</th>"):
        assert text in comparison, text
    assert comparison.count("<figure>") == 2  # the overlay plots
    assert page.count("src='data:image/png;base64,") == 2 + 2 * 3
    md = (out / "report.md").read_text()
    head = md.split("## mobilenet_v1")[0]
    # the params column: 2,278,604 → 2.28M
    assert "## Comparison" in head and "| shufflenet_v2 | 1×3×224×224 | 2.28M |" in head
    assert "![Cumulative multiply-adds and memory access of each model]" \
           "(comparison_overlay.png)" in head
    assert "[shufflenet_v2](#shufflenet_v2)" in head


def test_cli_report_draws_this_machines_roofs_when_calibrated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from convcost.cli.visual import _machine_roofs
    from convcost.latency import calibrate as cal_mod
    from convcost.report.plots import Roofs

    asked: list[tuple[object, ...]] = []
    monkeypatch.setattr(cal_mod, "read_cached", lambda *a, **k: asked.append((*a, k)))
    assert _machine_roofs() is None  # nothing cached: the report's default roofs
    # this machine's CPU, torch's current threads: the warm heap's calibration (calibrate's
    # default), else the system heap's
    assert asked == [("cpu", {"heap": "warm"}), ("cpu", {"heap": "system"})]
    cal = SimpleNamespace(  # a cached calibration: multiply-adds/s and bytes/s
        peak_dense_madds_per_s=80e9, peak_pointwise_madds_per_s=60e9,
        peak_depthwise_madds_per_s=20e9, bandwidth_bytes_per_s=130e9,
        stream_bytes_per_s=17e9, machine="Some CPU (8 cores)", threads=4)
    monkeypatch.setattr(cal_mod, "read_cached", lambda *a, **k: cal)
    roofs = _machine_roofs()
    assert isinstance(roofs, Roofs)
    # multiply-adds/s doubled into FLOP/s, bandwidths as measured
    assert (roofs.dense_flops_per_s, roofs.pointwise_flops_per_s,
            roofs.depthwise_flops_per_s) == (160e9, 120e9, 40e9)
    assert (roofs.bandwidth_bytes_per_s, roofs.stream_bytes_per_s) == (130e9, 17e9)
    assert "Some CPU (8 cores), 4 threads" in roofs.source
    seen: list[object] = []
    monkeypatch.setattr(breakdown, "render_images", lambda secs, dpi=100, roofs=None: (
        seen.append(roofs) or {s.image(p): b"png" for s in secs for p in breakdown.PLOT_NAMES}))
    r = runner.invoke(app, ["report", "shufflenet_v2_x0_5", "--out", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    assert seen == [roofs]


def test_report_formats_json_and_csv(tmp_path: Path) -> None:
    """``--format json`` writes every model's ``layers --format json`` object (the same
    layers and totals, plus its top-1 and where its multiply-adds sit); ``--format csv`` one
    layer table per model; neither draws an image."""
    out = tmp_path / "data"
    r = runner.invoke(app, ["report", "mobilenet_v1", "squeezenet1_1", "--input", "64",
                            "--out", str(out), "-f", "json", "--format", "csv"])
    assert r.exit_code == 0, r.output
    assert _report_files(out) - {breakdown.MARKER} == {"report.json", "mobilenet_v1_layers.csv",
                                  "squeezenet1_1_layers.csv"}
    data = json.loads((out / "report.json").read_text())
    for m in data["models"]:
        alone = runner.invoke(app, ["layers", m["model"], "--input", "64", "-f", "json"])
        expect = json.loads(alone.stdout)
        assert m["totals"] == expect["totals"] and m["layers"] == expect["layers"]
        # both models' top-1 is published at 224 only: none at 64
        assert m["top1"] is None and m["top1_source"] is None
        share = m["madds_share"]
        assert set(share) == {"standard", "depthwise", "pointwise", "grouped", "other"}
        assert sum(share.values()) == pytest.approx(1.0)
        if m["model"] == "squeezenet1_1":  # fire modules: 1×1 squeezes, 1×1 and 3×3 expands
            assert share["depthwise"] == share["grouped"] == 0.0
        else:  # MobileNet V1: 13 depthwise 3×3 convs
            assert share["depthwise"] > 0.0 and share["grouped"] == 0.0
        csv_rows = (out / f"{m['model']}_layers.csv").read_text().splitlines()
        assert len(csv_rows) == 1 + len(m["layers"])  # a header, then one row per layer
        assert csv_rows[1].split(",")[1] == m["layers"][0]["name"]


def test_report_formats_are_checked_before_any_work() -> None:
    with pytest.raises(InvalidArgumentError, match="report --format takes md, html, json, csv"):
        breakdown.check_formats(["pdf"])
    assert breakdown.check_formats(["HTML", "html", "md"]) == ["html", "md"]
