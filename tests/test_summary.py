"""``convcost summary``: torchsummary's figures for the reference layers, torchinfo's own
totals and table on the zoo, a golden rendering, the CLI, and the model left untouched.

Regenerate the golden files after an intended change with
``CONVCOST_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/test_summary.py`` and review the diff.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import convcost
from convcost.cli import app
from convcost.errors import InvalidArgumentError
from convcost.report.summary import summary_table
from convcost.studies.summary import summary
from convcost.zoo import build, list_entries

HERE = Path(__file__).parent
ALL_COLUMNS = ["input_size", "output_size", "num_params", "params_percent", "kernel_size",
               "mult_adds", "trainable"]
runner = CliRunner()


def assert_same_as_torchinfo(ours: object, theirs: object) -> None:
    """Our rendering equals torchinfo's, line for line, but the mult-adds line: torchinfo
    1.8.0 on Python 3.11 prints its unit enum there ("(Units.MEGABYTES)") and we show
    convcost's count; our footnote lines follow torchinfo's last rule."""
    theirs_lines = [ln for ln in str(theirs).splitlines() if not ln.startswith("Total mult")]
    ours_lines = [ln for ln in str(ours).splitlines() if not ln.startswith("Total mult")]
    assert ours_lines[:len(theirs_lines)] == theirs_lines
    assert len(ours_lines) == len(theirs_lines) + 2  # + the input line and the madds footnote


# --- (1) the reference layers, figure for figure, torchsummary layout ------------------------


def _reference_rows() -> list[dict[str, str]]:
    """The table of tests/reference/summary_examples.md, one dict per layer."""
    text = (HERE / "reference" / "summary_examples.md").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [dict(zip(header, (c.strip() for c in ln.strip("|").split("|")), strict=True))
            for ln in lines[1:] if not ln.startswith("| ---")]
    assert len(rows) == 7
    return rows


_LAYER = re.compile(r"(?P<kind>\w+) (?P<k>\d)×\d, (?P<cin>\d+)→(?P<cout>\d+)"
                    r"(?:, groups=(?P<g>\d+))?")


def _reference_layer(row: dict[str, str]) -> tuple[nn.Module, tuple[int, ...]]:
    """The layer the tutorial printed: one bias-free conv, stride 1, "same" padding."""
    m = _LAYER.fullmatch(row["layer"])
    assert m, row["layer"]
    k, cin, cout = int(m["k"]), int(m["cin"]), int(m["cout"])
    conv = nn.Conv2d(cin, cout, k, padding=k // 2, groups=int(m["g"] or 1), bias=False)
    size = tuple(int(v) for v in row["input (C,H,W)"].strip("()").split(","))
    return nn.Sequential(conv), (1, *size)


@pytest.mark.parametrize("row", _reference_rows(), ids=lambda r: r["layer"])
def test_reference_layers_reproduce_torchsummary(row: dict[str, str]) -> None:
    model, size = _reference_layer(row)
    text = str(summary(model, size, style="torchsummary"))
    lines = text.splitlines()
    # torchsummary's row: "{:>20}  {:>25} {:>15}" of "Conv2d-1", the shape with -1, the params
    expected_row = f"{'Conv2d-1':>20}  {row['output shape']:>25} {int(row['params']):>15,}"
    assert expected_row in lines
    assert f"Total params: {int(row['params']):,}" in lines
    for label in ("Input size (MB)", "Forward/backward pass size (MB)", "Params size (MB)",
                  "Estimated Total Size (MB)"):
        assert f"{label}: {row[label]}" in lines, label


def test_reference_first_layer_derivation() -> None:
    """The first reference layer worked by hand (float32, MB = 2**20 bytes)."""
    s = summary(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False)), (1, 3, 64, 64),
                style="torchsummary")
    t = s.totals
    assert t.total_params == 108  # 3*4*3*3
    assert t.input_bytes == 49_152  # 3*64*64*4 -> 0.046875 MB -> "0.05"
    assert t.forward_backward_bytes == 131_072  # 2 * 4*64*64*4 -> 0.125 MB -> "0.12" (half-even)
    assert t.params_bytes == 432  # 108*4
    assert t.total_bytes == 180_656  # 0.1723 MB -> "0.17"
    assert t.megabyte == 2**20
    # a model that is the layer itself gives the same figures (its row is kept)
    bare = summary(nn.Conv2d(3, 4, 3, padding=1, bias=False), (1, 3, 64, 64),
                   style="torchsummary")
    assert bare.totals == t
    assert f"{'Conv2d-1':>20}  {'[-1, 4, 64, 64]':>25} {'108':>15}" in str(bare).splitlines()


def test_torchsummary_rows_follow_return_order_and_skip_sequential() -> None:
    s = summary("resnet18", (1, 3, 64, 64), style="torchsummary")
    names = [ln.split()[0] for ln in str(s).splitlines()[3:] if ln.startswith(" ")]
    # torchsummary numbers rows as forward hooks fire: a block after its children
    assert names[:4] == ["Conv2d-1", "BatchNorm2d-2", "ReLU-3", "MaxPool2d-4"]
    assert names[4:11] == ["Conv2d-5", "BatchNorm2d-6", "ReLU-7", "Conv2d-8",
                           "BatchNorm2d-9", "ReLU-10", "BasicBlock-11"]
    assert not any(n.startswith("Sequential") for n in names)
    assert names[-1] == "Linear-68"


# --- (2) torchinfo's own totals and table on the zoo --------------------------------------------

# every zoo model accepts 3x64x64 (the smallest feature map then is 2x2, ResNet's last stage);
# torchinfo runs the model for real on the CPU, so a small input keeps this test ~30 s
ZOO_INPUT = (1, 3, 64, 64)


@pytest.mark.parametrize("entry", list_entries(), ids=lambda e: e.name)
def test_zoo_agrees_with_torchinfo(entry: object) -> None:
    torchinfo = pytest.importorskip("torchinfo", reason="torchinfo is not installed")
    model = build(entry, device="cpu")  # type: ignore[arg-type]
    cols = [c for c in ALL_COLUMNS if c != "mult_adds"]  # Mult-Adds shows convcost's count
    theirs = torchinfo.summary(model, input_size=ZOO_INPUT, verbose=0, col_names=cols)
    ours = summary(model, ZOO_INPUT, columns=cols)
    t = ours.totals
    assert t.total_params == theirs.total_params
    assert t.trainable_params == theirs.trainable_params
    assert t.torchinfo_mult_adds == theirs.total_mult_adds
    # torchinfo's input size is sys.getsizeof(storage): the bytes plus the storage object
    storage_overhead = sys.getsizeof(torch.empty(0).untyped_storage())
    assert t.input_bytes + storage_overhead == theirs.total_input
    assert t.forward_backward_bytes == theirs.total_output_bytes
    assert t.params_bytes == theirs.total_param_bytes
    assert_same_as_torchinfo(ours, theirs)
    # torchinfo's scaling of the count: M below 10**9, G from there (none reaches 10**12)
    madds = ours.totals.mult_adds
    shown = f"(G): {madds / 1e9:,.2f}" if madds >= 1e9 else f"(M): {madds / 1e6:,.2f}"
    assert f"Total mult-adds, convcost {shown}" in str(ours).splitlines()


def test_frozen_layers_match_torchinfo() -> None:
    torchinfo = pytest.importorskip("torchinfo", reason="torchinfo is not installed")
    model = build("resnet18", device="cpu")
    for p in model.get_submodule("layer1").parameters():  # the test's own model
        p.requires_grad_(False)
    model.get_parameter("fc.bias").requires_grad_(False)  # Linear: weight yes, bias no
    theirs = torchinfo.summary(model, input_size=ZOO_INPUT, verbose=0, depth=2,
                               col_names=["output_size", "num_params", "trainable"])
    ours = summary(model, ZOO_INPUT, depth=2, columns=["output_size", "num_params", "trainable"])
    # layer1 = 2 BasicBlocks of 2 × (64*64*9 conv + 2*64 BN) = 147,968 frozen; + fc bias 1,000
    assert ours.totals.non_trainable_params == 147_968 + 1_000 == (
        theirs.total_params - theirs.trainable_params)
    assert_same_as_torchinfo(ours, theirs)
    lines = str(ours).splitlines()
    assert any(ln.startswith("│    └─BasicBlock: 2-1") and "(73,984)" in ln and "False" in ln
               for ln in lines)
    assert any(ln.startswith("├─Linear: 1-10") and "Partial" in ln for ln in lines)


# --- (3) golden rendering of a small model with the awkward cases -----------------------------


class Tiny(nn.Module):
    """A shared activation (called twice: a "(recursive)" row), a ModuleList that is never
    called itself (inserted above its first child), a frozen BatchNorm, a bias."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.ReLU()
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),
                          nn.Conv2d(8, 16, 1)),
            nn.Conv2d(16, 16, 1, bias=False),
        ])
        self.head = nn.Linear(16, 10)
        for p in self.bn.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.bn(self.stem(x)))
        for block in self.blocks:
            x = block(x)
        x = self.act(x)
        return self.head(x.mean((2, 3)))


def test_golden_torchinfo_all_columns(golden: Callable[[str, str], None]) -> None:
    text = str(summary(Tiny(), (2, 3, 32, 32), columns=ALL_COLUMNS))
    golden("summary_tiny_torchinfo.txt", text)


def test_golden_torchsummary(golden: Callable[[str, str], None]) -> None:
    golden("summary_tiny_torchsummary.txt",
                 str(summary(Tiny(), (1, 3, 32, 32), style="torchsummary")))


def test_tiny_matches_torchinfo_and_its_counts() -> None:
    torchinfo = pytest.importorskip("torchinfo", reason="torchinfo is not installed")
    cols = [c for c in ALL_COLUMNS if c != "mult_adds"]
    model = Tiny()
    ours = summary(model, (2, 3, 32, 32), columns=cols)
    theirs = torchinfo.summary(model, input_size=(2, 3, 32, 32), verbose=0, col_names=cols)
    assert_same_as_torchinfo(ours, theirs)
    t = ours.totals
    # params: stem 8*3*9=216, bn 16 (frozen), dw 8*9=72, pw 8*16+16=144, conv 16*16=256,
    # head 16*10+10=170 -> 874, 858 trainable
    assert (t.total_params, t.trainable_params) == (874, 858)
    # convcost madds (batch 2): stem 216*16*16, dw 72*16*16, pw 128*16*16, conv 256*16*16,
    # head 160 per sample -> 2 * (672*256 + 160) = 344,384
    assert t.mult_adds == 344_384
    # torchinfo's convention adds the conv bias (16 per output pixel), BN's 16 params × N
    # and the Linear bias: 2 * ((672 + 16)*256 + 16 + 170) = 352,628
    assert t.torchinfo_mult_adds == 352_628 == theirs.total_mult_adds
    rows = {(r.scope, r.call): r for r in ours.rows}
    assert rows[("act", 2)].recursive and not rows[("act", 1)].recursive
    assert not rows[("blocks", 1)].executed  # inserted, like torchinfo's missing containers


# --- API, other formats ---------------------------------------------------------------------


def test_public_api_and_to_dict() -> None:
    s = convcost.summary("mobilenet_v1", (1, 3, 64, 64), depth=1)
    assert isinstance(s, convcost.Summary)
    d = s.to_dict()
    assert d["input"] == [1, 3, 64, 64] and d["style"] == "torchinfo" and d["depth"] == 1
    a = convcost.analyze("mobilenet_v1", (1, 3, 64, 64))
    assert d["totals"]["total_params"] == a.totals.params
    # every MobileNet V1 map at 64² is 2/7 the side of the 224² one (32..2 vs 112..7), so the
    # conv madds scale by 4/49: (568,740,352 − 1,024,000 FC) · 4/49 + 1,024,000 = 47,368,192
    assert d["totals"]["mult_adds"] == 47_368_192
    assert max(layer["depth"] for layer in d["layers"]) == 1
    assert d["layers"][0]["name"] == "" and d["layers"][0]["output_shape"] == [1, 1000]
    json.dumps(d)  # JSON-able as is
    table = summary_table(s)
    assert table.columns[0] == "Layer (type:depth-idx)" and len(table.rows) == len(d["layers"])


def test_analysis_carries_module_calls() -> None:
    a = convcost.analyze("resnet18", (2, 3, 64, 64))
    outs = {(c.scope, c.call): c.outputs for c in a.module_calls}
    assert outs[("conv1", 1)] == ((2, 64, 32, 32),)  # 64 / stride 2
    assert outs[("", 1)] == ((2, 1000),)
    assert [c.scope for c in a.module_calls[:3]] == ["", "conv1", "bn1"]  # pre-order
    assert a.module_calls[0].finished == len(a.module_calls) - 1  # the root returns last
    shared = [c for c in convcost.analyze(Tiny(), (1, 3, 32, 32)).module_calls
              if c.scope == "act"]
    # one entry per call: 8 channels at 16×16 the first time, 16 the second
    assert [(c.call, c.outputs) for c in shared] == [(1, ((1, 8, 16, 16),)),
                                                     (2, ((1, 16, 16, 16),))]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"style": "keras"}, "style"),
    ({"columns": ["output_size", "flops"]}, "unknown column"),
    ({"depth": -1}, "depth"),
])
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        summary(nn.Sequential(nn.Conv2d(3, 4, 3)), (1, 3, 8, 8), **kwargs)  # type: ignore[arg-type]


# --- (5) the model is read, never changed -----------------------------------------------------


def test_model_is_not_mutated() -> None:
    model = Tiny()
    model.train()
    before = copy.deepcopy(model.state_dict())
    grads = {n: p.requires_grad for n, p in model.named_parameters()}
    hooks = (len(model._forward_hooks), len(model._forward_pre_hooks))
    summary(model, (1, 3, 32, 32), columns=ALL_COLUMNS)
    summary(model, (1, 3, 32, 32), style="torchsummary")
    assert all(m.training for m in model.modules())
    assert {n: p.requires_grad for n, p in model.named_parameters()} == grads
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(t.device.type == "cpu" for t in after.values())
    assert (len(model._forward_hooks), len(model._forward_pre_hooks)) == hooks
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


# --- (4) the command line -----------------------------------------------------------------------


def test_cli_torchinfo_style() -> None:
    r = runner.invoke(app, ["summary", "resnet18", "--input", "3x64x64", "--depth", "1",
                            "--col", "output_size,num_params,trainable"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[1].split() == ["Layer", "(type:depth-idx)", "Output", "Shape", "Param", "#",
                                "Trainable"]
    assert "├─Sequential: 1-5" in r.stdout and "└─" not in r.stdout  # depth 1 only
    assert "Total params: 11,689,512" in lines  # torchvision's ResNet-18
    assert "Input size (MB): 0.05" in lines  # 3*64*64*4 = 49,152 B


def test_cli_torchsummary_style() -> None:
    r = runner.invoke(app, ["summary", "mobilenet_v1", "-i", "64", "--style", "torchsummary"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[1] == f"{'Layer (type)':>20}  {'Output Shape':>25} {'Param #':>15}"
    assert f"{'Conv2d-1':>20}  {'[-1, 32, 32, 32]':>25} {'864':>15}" in lines  # 3*32*9


def test_cli_json_and_batch() -> None:
    r = runner.invoke(app, ["summary", "squeezenet1_1", "-i", "64", "-b", "2", "-f", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["input"] == [2, 3, 64, 64]
    assert d["totals"]["input_bytes"] == 2 * 3 * 64 * 64 * 4
    assert d["layers"][0]["output_shape"] == [2, 1000]


def test_cli_csv_and_out_file(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    r = runner.invoke(app, ["summary", "squeezenet1_1", "-i", "64", "-f", "csv", "-o", str(out)])
    assert r.exit_code == 0, r.output
    header = out.read_text().splitlines()[0]
    assert header == "layer,name,depth,output_size,num_params"


@pytest.mark.parametrize(("args", "message"), [
    (["summary", "resnet18", "--input", "3x0x64"], "positive"),
    (["summary", "resnet18", "--col", "output_size,bogus"], "unknown column"),
    (["summary", "resnet18", "--style", "keras"], "keras"),
    (["summary", "resnet18", "--input", "4x64x64"], "rejected its input"),
    (["summary", "resnet18", "-i", "64", "--depth", "-2"], "depth"),
])
def test_cli_bad_input_is_one_line(args: list[str], message: str) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convcost: error:"), r.stderr
    assert message in lines[0]
