"""Names are data, never markup: module names, class names and specs reach Markdown, CSV,
HTML and the terminal as text — no HTML, link, formula, rich markup or escape sequence."""

from __future__ import annotations

import csv
import io
import re
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli import app
from convcost.report.tables import csv_cell, markdown_text, printable

runner = CliRunner()

EVIL = textwrap.dedent("""
    from torch import nn

    class Evil(nn.Module):
        def __init__(self):
            super().__init__()
            self.add_module("=HYPERLINK(1)", nn.Linear(4, 4))
            self.add_module("<script>alert(1)</script>", nn.ReLU())
            self.add_module("[x](javascript:alert(1))", nn.ReLU())
            self.add_module("\\x1b]0;pwned\\x07[red]boom[/red]", nn.ReLU())
            self.add_module("two\\nlines|cell", nn.ReLU())

        def forward(self, x):
            for m in self.children():
                x = m(x)
            return x
""")


@pytest.fixture
def spec(tmp_path: Path) -> str:
    folder = tmp_path / "exp[/v2]"  # rich markup in the path itself
    folder.mkdir(parents=True)
    (folder / "net.py").write_text(EVIL)
    return f"{folder}/net.py:Evil"


def _run(spec: str, fmt: str) -> str:
    r = runner.invoke(app, ["layers", spec, "-i", "4:float32", "-f", fmt])
    assert r.exit_code == 0, r.stderr
    return r.stdout


def test_no_escape_sequence_reaches_the_terminal(spec: str) -> None:
    shown = {"table": "\\x1b]0;pwned\\x07", "csv": "\\x1b]0;pwned\\x07",
             "md": "\\\\x1b\\]0;pwned\\\\x07"}  # Markdown escapes the backslash too
    for fmt, text in shown.items():
        out = _run(spec, fmt)
        assert "\x1b" not in out and "\x07" not in out
        assert text in out  # shown, harmlessly
    assert "exp[/v2]" in _run(spec, "table")  # the path, not eaten as markup


def test_markdown_keeps_names_as_text(spec: str) -> None:
    out = _run(spec, "md")
    assert "<script>" not in out and "\\<script\\>" in out
    assert "[x](javascript" not in out and "\\[x\\](javascript" in out  # no link
    rows = [ln for ln in out.splitlines() if ln.startswith("| ")]
    assert len({len(re.split(r"(?<!\\)\|", ln)) for ln in rows}) == 1  # no extra cell


def test_csv_cells_never_start_a_formula(spec: str) -> None:
    cells = [c for row in csv.reader(io.StringIO(_run(spec, "csv"))) for c in row]
    assert "'=HYPERLINK(1)" in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    assert csv_cell(-3) == -3 and csv_cell("-x") == "'-x"  # numbers stay numbers


def test_the_report_page_escapes_them(spec: str, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    r = runner.invoke(app, ["report", spec, "-i", "4:float32", "--out", str(out)])
    assert r.exit_code == 0, r.stderr
    page = (out / "report.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    md = (out / "report.md").read_text()
    assert "<script>" not in md and "\x1b" not in md


def test_the_helpers() -> None:
    assert printable("a\x1b[31mb\n") == "a\\x1b[31mb\\x0a"
    assert markdown_text("[a](b) <i> `c` x|y") == "\\[a\\](b) \\<i\\> \\`c\\` x\\|y"
