"""An op convcost cannot cost is named in every output that shows a total: layers (table,
md, json), compare (table, md, json), summary (text, json) and the report."""

from __future__ import annotations

import csv
import io
import json
import re
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli import app

runner = CliRunner()

# torch.histc has no counter (docs/conventions.md lists what is counted); its op key is
# aten.histc, seen as is in every output below
MODEL = textwrap.dedent("""
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            return torch.histc(self.conv(x), bins=4)
""")
OP = "aten.histc"
# the conv alone is counted: 1×3×16×16 → 1×4×14×14, 4·14·14 = 784 outputs × 3·3·3 = 27 taps
CONV_MADDS = 4 * 14 * 14 * 3 * 3 * 3  # = 21,168


@pytest.fixture
def spec(tmp_path: Path) -> str:
    path = tmp_path / "net.py"
    path.write_text(MODEL)
    return f"{path}:Net"


@pytest.mark.parametrize("command", ["layers", "compare", "summary"])
@pytest.mark.parametrize("fmt", ["table", "md", "json"])
def test_every_total_names_what_it_leaves_out(spec: str, command: str, fmt: str) -> None:
    r = runner.invoke(app, [command, spec, "-i", "16", "-f", fmt])
    assert r.exit_code == 0, r.stderr
    assert OP in r.stdout
    if fmt == "json":
        data = json.loads(r.stdout)
        record = data["models"][0] if command == "compare" else data
        assert record["unsupported"] == {OP: 1}
        # the totals are the conv's alone: histc adds nothing to them
        madds = (record["totals"]["mult_adds"] if command == "summary"
                 else record["totals"]["madds"])
        assert madds == CONV_MADDS
    else:
        # summary's torchinfo-style text starts its sentence with a capital
        assert re.search(r"[Nn]ot counted \(unsupported ops\): aten\.histc ×1", r.stdout), \
            r.stdout


def test_the_report_names_it(spec: str, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    r = runner.invoke(app, ["report", spec, "-i", "16", "--out", str(out)])
    assert r.exit_code == 0, r.stderr
    assert OP in (out / "report.md").read_text()
    assert OP in (out / "report.html").read_text()


@pytest.mark.parametrize("command", ["layers", "compare", "summary"])
def test_csv_stays_a_csv_and_stderr_names_what_it_leaves_out(spec: str, command: str) -> None:
    r = runner.invoke(app, [command, spec, "-i", "16", "-f", "csv"])
    assert r.exit_code == 0, r.stderr
    assert OP not in r.stdout  # the CSV holds rows only
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert len({len(row) for row in rows}) == 1  # rectangular: no note row of its own shape
    # a header, then: layers and compare the conv's row alone (histc gives none); summary
    # the module tree, the root Net and its Conv2d
    assert len(rows) == {"layers": 2, "compare": 2, "summary": 3}[command]
    if command != "summary":
        assert rows[1][rows[0].index("madds")] == str(CONV_MADDS)
    warning, = r.stderr.splitlines()
    assert warning.startswith("convcost: warning: ") and OP in warning
    clean = runner.invoke(app, [command, "mobilenet_v1", "-i", "32", "-f", "csv"])
    assert clean.exit_code == 0 and clean.stderr == ""
