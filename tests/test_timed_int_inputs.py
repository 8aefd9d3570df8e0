"""Integer inputs (``--input 16:int64``: token ids) reach every run of a model, the timed ones
and the training step included — they used to be drawn as floats there (an embedding then
refused them: exit 2)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli import app

runner = CliRunner()

FAST = ["--budget", "0.01", "--threads", "1"]


@pytest.fixture
def spec(tmp_path: Path) -> str:
    path = tmp_path / "emb.py"
    path.write_text(textwrap.dedent("""
        from torch import nn

        class Tokens(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(100, 16)
                self.fc = nn.Linear(16, 4)

            def forward(self, ids):
                return self.fc(self.emb(ids)).mean(1)
    """))
    return f"{path}:Tokens"


@pytest.mark.parametrize("args", [
    ["bench", "{spec}", *FAST, "--runs", "5", "--warmup", "0", "--rounds", "1"],
    ["compare", "{spec}", "--bench", *FAST],
    ["compare", "{spec}", "--train"],
])
def test_token_ids_reach_every_run(spec: str, args: list[str]) -> None:
    r = runner.invoke(app, [a.format(spec=spec) for a in args]
                      + ["--input", "16:int64", "-f", "json"])
    assert r.exit_code == 0, r.output
    (model,) = json.loads(r.stdout)["models"]
    assert model["input"] == [1, 16]
    if "--train" in args:
        # the step's FLOPs: forward 16 ids × Linear(16, 4) = 64 multiply-adds = 128 FLOPs of
        # the product, its backward twice that (input and weight gradients) and more; the
        # training record exists and names the default optimizer
        assert model["training"]["optimizer"] == "adam"
        assert model["training"]["backward_flops"] > 0
    else:
        assert model["median_ms" if args[0] == "bench" else "latency"]
