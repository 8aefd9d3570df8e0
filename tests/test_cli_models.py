"""``convcost layers`` and ``convcost compare`` on user code (zoo names: tests/test_zoo*.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli import app
from convcost.formulas import COST_FIELDS

runner = CliRunner()

MODEL_FILE = '''
import torch.nn as nn


class Separable(nn.Module):
    """3×3 standard stem, then a depthwise-separable pair."""

    def __init__(self, width=16):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.dw = nn.Conv2d(width, width, 3, padding=1, groups=width, bias=False)
        self.pw = nn.Conv2d(width, 2 * width, 1, bias=False)

    def forward(self, x):
        return self.pw(self.dw(self.stem(x)))


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.b = nn.Conv2d(16, 32, 3, padding=1, bias=False)

    def forward(self, x):
        return self.b(self.a(x))


def make_wide():
    return Separable(width=32)


def broken():
    raise RuntimeError("factory exploded")


NOT_A_MODEL = 3
'''


@pytest.fixture
def model_file(tmp_path: Path) -> str:
    path = tmp_path / "nets.py"
    path.write_text(MODEL_FILE)
    return str(path)


def test_layers_json_contract(model_file: str) -> None:
    r = runner.invoke(app, ["layers", f"{model_file}:Separable", "--input", "32", "-f", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["input"] == [1, 3, 32, 32] and d["dtype"] == "float32"
    assert [(x["name"], x["conv_kind"]) for x in d["layers"]] == [
        ("stem", "standard"), ("dw", "depthwise"), ("pw", "pointwise")]
    # stem 32·32·16·3·9, dw 32·32·16·9, pw 32·32·16·32
    assert [x["madds"] for x in d["layers"]] == [442_368, 147_456, 524_288]
    assert d["totals"]["madds"] == 442_368 + 147_456 + 524_288
    assert set(d["totals"]) == set(COST_FIELDS)
    assert d["unsupported"] == {}
    assert set(d["by_op"]) == {"conv2d"}


def test_layers_by_op_module_csv_md_batch_dtype(model_file: str, tmp_path: Path) -> None:
    spec = f"{model_file}:make_wide"
    r = runner.invoke(app, ["layers", spec, "-i", "3x16x24", "-b", "4", "--dtype", "float16",
                            "--by", "op", "-f", "csv"])
    assert r.exit_code == 0, r.output
    header, row = r.stdout.splitlines()[:2]
    assert header.startswith("op,count,params,madds")
    # batch 4 at 16×24: stem 4·16·24·32·27 + dw 4·16·24·32·9 + pw 4·16·24·32·64
    assert row.split(",")[:4] == ["conv2d", "3", str(32 * 27 + 32 * 9 + 32 * 64),
                                  str(4 * 16 * 24 * 32 * (27 + 9 + 64))]
    out = tmp_path / "layers.md"
    r = runner.invoke(app, ["layers", spec, "-i", "32", "--by", "module", "-f", "md",
                            "--out", str(out)])
    assert r.exit_code == 0
    # one row per module at depth 1 (indented under the root): stem is a Conv2d with 1 op
    assert re.search(r"^\|\s+stem \| Conv2d \| 1 \|", out.read_text(), re.M)


def test_compare_rows_and_explanations(model_file: str) -> None:
    r = runner.invoke(app, ["compare", f"{model_file}:Plain", f"{model_file}:Separable",
                            "--input", "32", "-f", "json"])
    assert r.exit_code == 0, r.output
    models = json.loads(r.stdout)["models"]
    assert [m["model"].split(":")[1] for m in models] == ["Plain", "Separable"]
    plain, sep = models
    # Plain: 32·32·(16·27 + 32·144) ; Separable: 442,368 + 147,456 + 524,288
    assert plain["totals"]["madds"] == 32 * 32 * (16 * 27 + 32 * 144)
    assert sep["totals"]["madds"] == 1_114_112
    assert sep["madds_share"]["pointwise"] == pytest.approx(524_288 / 1_114_112)
    assert plain["madds_share"]["standard"] == 1.0
    table = runner.invoke(app, ["compare", f"{model_file}:Plain", f"{model_file}:Separable",
                                "--input", "32"]).stdout
    assert "fewer mult-adds" in table and "biggest difference" in table


def test_compare_across_resolutions(model_file: str) -> None:
    r = runner.invoke(app, ["compare", f"{model_file}:Plain", "-i", "32", "-i", "64",
                            "-f", "json"])
    a, b = json.loads(r.stdout)["models"]
    assert b["totals"]["madds"] == 4 * a["totals"]["madds"]  # 2× resolution, 4× pixels


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["layers", "{f}:Nope", "-i", "32"], "has no attribute 'Nope'"),
        (["layers", "{f}:broken", "-i", "32"], "factory exploded"),
        (["layers", "{f}:NOT_A_MODEL", "-i", "32"], "neither an nn.Module"),
        (["layers", "missing_dir/none.py:Net", "-i", "32"], "does not exist"),
        (["layers", "{f}:Plain"], "give its input size with --input"),
        (["layers", "{f}:Plain", "-i", "4x32x32"], "rejected its input 1×4×32×32"),
        (["layers", "{f}:Plain", "-i", "abc"], "input spec"),
        (["layers", "{f}:Plain", "-i", "32", "-b", "0"], "--batch"),
        (["layers", "{f}:Plain", "-i", "32", "--dtype", "int4"], "dtype"),
        (["compare", "{f}:Plain", "-i", "32", "--sort", "speed"], "--sort"),
    ],
)
def test_bad_model_input_is_one_line(model_file: str, args: list[str], message: str) -> None:
    r = runner.invoke(app, [a.replace("{f}", model_file) for a in args])
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convcost: error:"), r.stderr
    assert message in lines[0]
