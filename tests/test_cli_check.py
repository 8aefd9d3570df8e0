"""``convcost check``: JSON shape, table, exit codes (0 explained, 1 unexplained, 2 bad input)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli import app
from convcost.oracles import ADAPTERS

runner = CliRunner()

MODEL_FILE = '''
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))
'''


@pytest.fixture
def model_file(tmp_path: Path) -> str:
    path = tmp_path / "net.py"
    path.write_text(MODEL_FILE)
    return f"{path}:Net"


def test_json_shape_and_exit_0(model_file: str) -> None:
    pytest.importorskip("fvcore")
    r = runner.invoke(app, ["check", model_file, "--input", "3x8x8", "--batch", "2",
                            "--peer", "real", "--peer", "fvcore", "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["unexplained"] == 0
    (m,) = data["models"]
    assert m["input"] == [2, 3, 8, 8] and m["unexplained"] == 0
    # conv madds 2·8·64 · 3·9 = 27,648
    assert m["madds"] == 27_648
    real, fv = m["peers"]
    assert real["peer"] == "real" and real["reported"] == real["predicted"] == 27_648
    assert real["unexplained"] == 0 and "layers" not in real
    assert fv["peer"] == "fvcore" and fv["status"] == "ok", fv
    # + BN 2 per element: 2·8·64·2 = 2,048
    assert fv["reported"] == fv["predicted"] == 27_648 + 2_048
    assert fv["rules"] == {"fvcore-bn-per-element": 2_048} and fv["delta"] == 0


def test_layers_json_and_table(model_file: str) -> None:
    r = runner.invoke(app, ["check", model_file, "--input", "3x8x8", "--peer", "real",
                            "--layers", "--format", "json"])
    assert r.exit_code == 0, r.output
    layers = json.loads(r.stdout)["models"][0]["peers"][0]["layers"]
    # the conv at batch 1: 8·8 outputs × 8 channels × 3·3·3 = 13,824
    assert {"metric": "madds", "name": "conv", "module": "Conv2d", "reported": 13_824,
            "predicted": 13_824, "delta": 0, "explained": True, "rules": {},
            "convcost_madds": 13_824} in layers
    r = runner.invoke(app, ["check", model_file, "--input", "3x8x8", "--peer", "real",
                            "--layers", "--format", "md"])
    assert r.exit_code == 0, r.output
    assert "| real | conv | Conv2d | madds | 13,824 | 13,824 | 0 |" in r.stdout
    assert "unexplained: 0" in r.stdout


def test_unexplained_exits_1(model_file: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # an adapter that forgets the conv: every op falls to the default (an unregistered op
    # counts 0), so the real madds are no longer predicted
    monkeypatch.setitem(ADAPTERS, "torch-flopcounter", dataclasses.replace(
        ADAPTERS["torch-flopcounter"], aten={}))
    r = runner.invoke(app, ["check", model_file, "--input", "3x8x8",
                            "--peer", "torch-flopcounter", "--format", "json"])
    assert r.exit_code == 1, r.output
    peer = json.loads(r.stdout)["models"][0]["peers"][0]
    # 2 per multiply-add of the conv: 2·13,824 = 27,648 reported, 0 predicted
    # unexplained: the total and the conv layer (2)
    assert peer["reported"] == 27_648 and peer["predicted"] == 0 and peer["unexplained"] == 2
    r = runner.invoke(app, ["check", model_file, "--input", "3x8x8",
                            "--peer", "torch-flopcounter"])
    assert r.exit_code == 1 and "UNEXPLAINED" in r.stdout


def test_failed_peer_exits_1(model_file: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from convcost.oracles import peers

    def broken(model: object, args: object, kwargs: object) -> object:
        raise RuntimeError("the peer crashed")

    monkeypatch.setitem(peers.RUNNERS, "torch-flopcounter", broken)
    r = runner.invoke(app, ["check", model_file, "--input", "3x8x8",
                            "--peer", "torch-flopcounter", "--format", "json"])
    assert r.exit_code == 1, r.output  # a crashed peer proves nothing: CI must not pass
    data = json.loads(r.stdout)
    assert data["failed"] == 1 and data["unexplained"] == 0
    peer = data["models"][0]["peers"][0]
    assert peer["status"] == "failed" and "the peer crashed" in peer["message"]


def test_skipped_peer_in_table(model_file: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "torchinfo", None)
    r = runner.invoke(app, ["check", model_file, "--input", "3x8x8", "--format", "csv"])
    assert r.exit_code == 0, r.output
    assert "pip install 'convcost[oracles]'" in r.stdout and "skipped" in r.stdout


def test_a_named_peer_not_installed_exits_2_naming_the_extra(
        model_file: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "torchinfo", None)
    r = runner.invoke(app, ["check", model_file, "--input", "3x8x8", "--peer", "torchinfo"])
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "--peer torchinfo: torchinfo is not installed: pip install 'convcost[oracles]'" \
        in lines[0]


TOKENS_FILE = '''
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 8)
        self.fc = nn.Linear(8, 50)

    def forward(self, ids, mask):
        return self.fc(self.emb(ids)) * mask[..., None]
'''


def test_token_ids_and_several_inputs(tmp_path: Path) -> None:
    path = tmp_path / "tok.py"
    path.write_text(TOKENS_FILE)
    r = runner.invoke(app, ["check", f"{path}:Net", "--input", "6:int64", "--input",
                            "6:float32", "--batch", "2", "--format", "json"])
    assert r.exit_code == 0, r.output
    (m,) = json.loads(r.stdout)["models"]
    assert m["inputs"] == [{"name": "arg0", "shape": [2, 6], "dtype": "int64"},
                           {"name": "arg1", "shape": [2, 6], "dtype": "float32"}]
    # fc: 2·6 rows × 8·50 = 4,800 multiply-adds
    assert m["madds"] == 4_800 and m["unexplained"] == 0 and m["failed"] == 0


@pytest.mark.parametrize("args", [
    ["check", "no_such_model"],
    ["check", "resnet18", "--peer", "bogus"],
    ["check", "resnet18", "--batch", "0"],
    ["check", "resnet18", "--input", "abc"],
])
def test_bad_input_exits_2_with_one_line(args: list[str]) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convcost: error:"), r.stderr


def test_user_code_needs_input(model_file: str) -> None:
    r = runner.invoke(app, ["check", model_file])
    assert r.exit_code == 2 and "--input" in r.stderr
