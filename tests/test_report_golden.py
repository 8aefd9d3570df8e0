"""Golden files for the rendered ``compare`` table, and its JSON checked against the contract.

Regenerate the golden files after an intended change with
``CONVCOST_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/test_report_golden.py`` and review
the diff: the test then rewrites them and fails once, so a regeneration is never silent.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from convcost.cli import app
from convcost.formulas import COST_FIELDS

MODELS = ["mobilenet_v1", "shufflenet_v2"]
runner = CliRunner()


@pytest.mark.parametrize(("fmt", "name"), [
    ("md", "compare_mobilenet_v1_shufflenet_v2.md"),
    ("table", "compare_mobilenet_v1_shufflenet_v2.txt"),  # plain text: what a pipe gets
    ("csv", "compare_mobilenet_v1_shufflenet_v2.csv"),
])
def test_compare_golden(fmt: str, name: str, golden: Callable[[str, str], None]) -> None:
    r = runner.invoke(app, ["compare", *MODELS, "--input", "224", "--format", fmt])
    assert r.exit_code == 0, r.output
    golden(name, r.stdout)


def test_compare_json_contract() -> None:
    r = runner.invoke(app, ["compare", *MODELS, "--format", "json"])
    assert r.exit_code == 0, r.output
    payload = json.loads(r.stdout)
    assert list(payload) == ["models"]
    first, second = payload["models"]
    for rec in (first, second):
        assert {"model", "input", "totals"} <= set(rec)
        assert list(rec["totals"]) == list(COST_FIELDS)
        assert all(isinstance(v, int) for v in rec["totals"].values())
        assert rec["input"] == [1, 3, 224, 224]
    assert first["model"] == "mobilenet_v1" and second["model"] == "shufflenet_v2"
    # MobileNet V1: 4,231,976 params, 568,740,352 mult-adds (paper: 4.2M / 569M); ShuffleNet
    # V2 1.0×: torchvision's 2,278,604 parameters
    assert (first["totals"]["params"], first["totals"]["madds"]) == (4_231_976, 568_740_352)
    assert second["totals"]["params"] == 2_278_604
    assert first["top1"] == 70.6
    assert sum(first["madds_share"].values()) == pytest.approx(1.0)
