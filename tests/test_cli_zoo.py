"""The CLI on zoo names: ``zoo``, ``layers`` and the mission's ``compare`` example."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from convcost.cli import app
from convcost.zoo import list_entries

runner = CliRunner()


def test_zoo_lists_every_model_with_computed_cost() -> None:
    r = runner.invoke(app, ["zoo", "-f", "json"])
    assert r.exit_code == 0, r.output
    models = {m["name"]: m for m in json.loads(r.stdout)["models"]}
    assert set(models) == {e.name for e in list_entries()}
    # torchvision's published num_params (tests/reference/torchvision_meta.csv) and
    # MobileNet V1's paper figures (569 M mult-adds, 4.2 M params; arXiv:1704.04861 Table 8)
    assert models["mobilenet_v2"]["params"] == 3_504_872
    assert models["shufflenet_v2_x1_0"]["params"] == 2_278_604
    assert round(models["mobilenet_v1"]["madds"] / 1e6) == 569
    assert models["mobilenet_v1"]["top1"] == 70.6
    assert models["xception"]["default_input"] == [1, 3, 299, 299]
    assert all(m["top1"] is not None and m["source"] for m in models.values())
    assert any("groups" in o for o in models["shufflenet_v1"]["options"])
    table = runner.invoke(app, ["zoo", "--family", "shufflenet"]).stdout
    assert "shufflenet_v1" in table and "resnet50" not in table


def test_layers_on_zoo_name_with_options() -> None:
    r = runner.invoke(app, ["layers", "mobilenet_v1:width_mult=0.5", "--input", "160",
                            "--by", "op", "-f", "csv"])
    assert r.exit_code == 0, r.output
    rows = {row["op"]: row for row in csv.DictReader(io.StringIO(r.stdout))}
    # MobileNet 0.50-160: 76 M mult-adds and 1.32 M params (arXiv:1704.04861 Table 9); the
    # count is 76,524,800, the paper prints whole millions
    total_madds = sum(int(row["madds"]) for row in rows.values())
    assert abs(total_madds / 1e6 - 76) < 1
    assert round(sum(int(row["params"]) for row in rows.values()) / 1e4) == 133


def test_mission_compare_mobilenet_v1_vs_shufflenet_v2() -> None:
    r = runner.invoke(app, ["compare", "mobilenet_v1", "shufflenet_v2", "--input", "224",
                            "-f", "json"])
    assert r.exit_code == 0, r.output
    v1, v2 = json.loads(r.stdout)["models"]
    assert v1["input"] == v2["input"] == [1, 3, 224, 224]
    assert v2["totals"]["params"] == 2_278_604  # torchvision shufflenet_v2_x1_0
    assert v2["top1"] == pytest.approx(69.362)  # torchvision IMAGENET1K_V1 acc@1
    # MobileNet V1: 95 % of its mult-adds in 1×1 convs (the paper's Table 2 says 94.86 %)
    assert v1["madds_share"]["pointwise"] == pytest.approx(0.9486, abs=0.005)
    table = runner.invoke(app, ["compare", "mobilenet_v1", "shufflenet_v2", "--input",
                                "224"]).stdout
    assert "3.9× fewer mult-adds" in table  # 568.7 M / 144.9 M
    assert "biggest difference" in table


def test_unknown_zoo_name_suggests() -> None:
    r = runner.invoke(app, ["layers", "mobilnet_v1"])
    assert r.exit_code == 2
    assert "did you mean: mobilenet_v1" in r.stderr
    r = runner.invoke(app, ["compare", "mobilenet_v1:depth=3"])
    assert r.exit_code == 2 and "depth" in r.stderr
