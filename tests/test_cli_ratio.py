"""``convcost ratio`` in-process (CliRunner), its output formats and its errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli import app

runner = CliRunner()
BASE = ["ratio", "--cin", "512", "--cout", "512", "--kernel", "3", "--size", "14"]


def test_table_shows_designs_and_both_ratios() -> None:
    r = runner.invoke(app, BASE)
    assert r.exit_code == 0, r.output
    out = r.stdout
    for text in ("standard 3×3", "depthwise-separable", "462.42M", "52.28M", "8.84× fewer",
                 "521/4608 = 0.113064", "1/512 + 1/9", "(equal)"):
        assert text in out, text


def test_json_follows_contract() -> None:
    r = runner.invoke(app, [*BASE, "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    cost_fields = {"params", "madds", "flops", "mem_read_bytes", "mem_write_bytes", "mem_bytes"}
    assert cost_fields <= data["standard"].keys()
    assert cost_fields <= data["depthwise_separable"].keys()
    assert data["standard"]["madds"] == 14 * 14 * 512 * 512 * 9
    assert data["exact_ratio"]["fraction"] == "521/4608"
    assert data["closed_form"]["fraction"] == "521/4608"
    assert data["closed_form_expr"] == "1/512 + 1/9"
    assert data["input"] == [1, 512, 14, 14]
    assert data["dtype"] == "float32"


def test_csv_and_markdown() -> None:
    r = runner.invoke(app, [*BASE, "--format", "csv", "--groups", "4"])
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    designs = [row["design"] for row in rows if not row["part"]]
    assert designs == ["standard 3×3", "grouped 3×3 g=4", "depthwise-separable",
                       "spatial 1×3 + 3×1"]
    assert int(rows[0]["madds"]) == 462_422_016
    md = runner.invoke(app, [*BASE, "-f", "md"]).stdout
    assert md.count("\n| ") >= 5 and "| ---: |" in md


def test_options_change_the_layer() -> None:
    r = runner.invoke(app, ["ratio", "--cin", "32", "--cout", "64", "--alpha", "0.5",
                            "--rho", "0.5", "--size", "112", "--stride", "2", "--batch", "2",
                            "--dtype", "float16", "-f", "json"])
    data = json.loads(r.stdout)
    assert data["input"] == [2, 16, 56, 56]
    assert data["standard"]["out_shape"] == [2, 32, 28, 28]
    assert data["multipliers"]["closed_form_madds_ratio"] == 0.0625
    # float16: the standard conv reads 2·16·56·56 + 32·16·9 elements of 2 bytes
    assert data["standard"]["mem_read_bytes"] == (2 * 16 * 56 * 56 + 32 * 16 * 9) * 2


def test_out_file_is_written(tmp_path: Path) -> None:
    target = tmp_path / "ratio.json"
    r = runner.invoke(app, [*BASE, "-f", "json", "--out", str(target)])
    assert r.exit_code == 0
    assert r.stdout == ""
    assert json.loads(target.read_text())["exact_ratio"]["fraction"] == "521/4608"
    assert [p.name for p in tmp_path.iterdir()] == ["ratio.json"]  # no temp file left
    assert target.stat().st_mode & 0o777 == 0o644  # a normal file, not mkstemp's 0600


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ratio", "--cin", "512", "--cout", "512", "--groups", "3"], "must divide"),
        (["ratio", "--cin", "0", "--cout", "512"], "positive"),
        (["ratio", "--cin", "abc", "--cout", "512"], "--cin"),
        (["ratio", "--cout", "512"], "--cin"),
        (["ratio", "--cin", "8", "--cout", "8", "--kernel", "0"], "kernel"),
        (["ratio", "--cin", "8", "--cout", "8", "--dtype", "float13"], "unknown dtype"),
        (["ratio", "--cin", "8", "--cout", "8", "-f", "xml"], "xml"),
        (["ratio", "--cin", "8", "--cout", "8", "--alpha", "-1"], "width multiplier"),
        (["nosuchcommand"], "nosuchcommand"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], message: str) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("convcost: error:")
    assert message in lines[0]
    assert "Traceback" not in r.stderr


def test_out_into_missing_folder_fails_cleanly(tmp_path: Path) -> None:
    r = runner.invoke(app, [*BASE, "--out", str(tmp_path / "nope" / "x.md")])
    assert r.exit_code == 2
    assert "does not exist" in r.stderr


def test_version_and_help() -> None:
    assert runner.invoke(app, ["--version"]).stdout.startswith("convcost ")
    assert "depthwise-separable" in runner.invoke(app, ["ratio", "--help"]).stdout


def test_console_script_answers_without_torch() -> None:
    # the whole process: python -m convcost ratio ..., then check what it imported
    code = (
        "import sys, runpy\n"
        "sys.argv = ['convcost', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('convcost', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "heavy = [m for m in ('torch', 'pandas', 'matplotlib', 'numpy') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, *BASE[0:], "-f", "json"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout
    assert '"exact_ratio"' in proc.stdout
