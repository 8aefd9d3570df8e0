"""Every command's table read in a terminal of 80, 100, 120 and 160 columns, and in a pipe.

Each table is rendered by :func:`convcost.report.tables.print_rich` on a rich Console of a
fixed width (``record=True``), as ``emit`` does on a terminal of that width. Whatever the
layout (all columns, turned, columns left out, one block per row), the text must:

- fit the width (no line longer than the terminal);
- never cut a cell: no ``…``; every identifying cell (model, layer, peer) and every shown
  cell that is not a wrapped text column appears whole on one line, so every number shown
  appears in full; a wrapped text column's every word appears whole;
- name every column it left out, with the way to see them (``--format md`` or a pipe).

The rendered text of each command at the four widths is also a golden file
(``tests/golden/widths/NAME.txt``; regenerate with ``CONVCOST_REGEN_GOLDEN=1`` and review).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from convcost.cli import app
from convcost.records.compare import Compared
from convcost.report import tables
from convcost.report.tables import ALL_COLUMNS_HINT, Layout, Table

WIDTHS = (80, 100, 120, 160)


def render(table: Table, width: int) -> tuple[str, Layout]:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None,
                      legacy_windows=False)
    layout = tables.print_rich(table, console)
    return console.export_text(), layout


def assert_readable(table: Table, width: int) -> str:
    text, layout = render(table, width)
    assert "…" not in text, text
    too_long = [line for line in text.splitlines() if cell_len(line.rstrip()) > width]
    assert not too_long, f"{len(too_long)} lines wider than {width}: {too_long[0]!r}"
    keys = set(table.key_columns())
    for row in table.rows:
        for i in keys:
            assert str(row[i]).strip() in text, (width, row[i])
        for i in layout.shown:
            cell = str(row[i]).strip()
            if i in table.wrap and i not in keys:
                for word in cell.split():
                    assert word in text, (width, table.columns[i], word)
            else:
                assert cell in text, (width, table.columns[i], cell)
    assert keys <= set(layout.shown), "an identifying column was left out"
    flat = " ".join(text.split())
    if layout.left_out:
        names = ", ".join(table.columns[i] for i in layout.left_out)
        assert f"not shown at {width} columns: {names}; {ALL_COLUMNS_HINT}" in flat
    else:
        assert "not shown at" not in flat
    return text


def golden_text(table: Table) -> str:
    out = []
    for w in WIDTHS:
        text = assert_readable(table, w)
        out.append(f"──── {w} columns " + "─" * (w - 13 - len(str(w))) + "\n")
        out.append("".join(line.rstrip() + "\n" for line in text.splitlines()))
    return "".join(out)


# --- the tables of every command --------------------------------------------------------------

@pytest.fixture(scope="module")
def compared() -> list[Compared]:
    from convcost.studies.compare import compare

    return compare(["mobilenet_v1", "shufflenet_v2"], [(3, 224, 224)])


def _compare(compared: list[Compared]) -> Table:
    from convcost.report.compare import compare_table

    return compare_table(compared)


def _compare_inputs() -> Table:
    from convcost.report.compare import compare_table
    from convcost.studies.compare import compare

    # the same model at two inputs: the input column identifies the rows too
    items = compare(["mobilenet_v1", "shufflenet_v2"], [(3, 160, 160), (3, 224, 224)])
    return compare_table(items)


def _compare_bench(compared: list[Compared]) -> Table:
    from convcost.report.compare import compare_table

    timed = [Compared(c.analysis, c.top1, c.top1_source,
                      {"median_ms": ms, "iqr_ms": iqr, "runs": 20})
             for c, ms, iqr in zip(compared, (16.34, 9.87), (0.53, 0.21), strict=True)]
    return compare_table(timed)


def _layers(by: str) -> Callable[[], Table]:
    def make() -> Table:
        from convcost.api import analyze
        from convcost.report.layers import layers_table
        from convcost.zoo import build

        a = analyze(build("shufflenet_v2"), (1, 3, 224, 224), name="shufflenet_v2")
        return layers_table(a, by, 2)
    return make


def _check(layers: bool) -> Callable[[], Table]:
    def make() -> Table:
        for peer in ("fvcore", "thop", "ptflops", "torchinfo"):
            pytest.importorskip(peer)
        from convcost.report.check import check_table
        from convcost.studies.check import check

        peers = ["fvcore"] if layers else None
        return check_table(check(["shufflenet_v2"], [(3, 64, 64)], peers=peers), layers)
    return make


def _guidelines() -> list[Table]:
    from convcost.report.guidelines import audit_tables
    from convcost.studies.guidelines import audit

    return audit_tables(audit("shufflenet_v1:groups=8").audit, title="shufflenet_v1")


def _reproduction() -> list[Table]:
    from convcost.latency import shufflenet_experiments as sx
    from convcost.latency.measure import Measurement, summarize
    from convcost.report.guidelines import reproduction_tables

    speeds = iter(range(1, 10_000))

    def fake(model: Any, size: tuple[int, ...]) -> Measurement:
        ms = 1000.0 / (900 + 37 * next(speeds) % 700)  # a few hundred images/s, all different
        return summarize([ms, ms, ms], warmup=1, threads=1, device="cpu", batch=size[0])

    return reproduction_tables(sx.reproduce(rounds=1, measure_fn=fake))


def _bench() -> list[Table]:
    from convcost.report.latency import bench_tables

    record = {
        "model": "mobilenet_v3_small", "input": [1, 3, 224, 224], "device": "cpu",
        "threads": 2, "median_ms": 4.1234, "iqr_ms": 0.0812, "throughput": 242.5, "runs": 97,
        "predicted_ms": 4.5, "predicted_error": 0.091,
        "layers": [
            {"name": "features.0.0", "module": "Conv2d", "ops": ["conv2d"],
             "measured_ms": 0.183, "madds": 5_419_008, "mem_bytes": 2_016_000,
             "predicted_ms": 0.2, "error": 0.093},
            {"name": "features.1.block.1.fc1", "module": "Conv2d", "ops": ["conv2d", "relu"],
             "measured_ms": 0.0213, "madds": 128, "mem_bytes": 1_120, "predicted_ms": 0.019,
             "error": -0.108},
            {"name": "classifier.3", "module": "Linear", "ops": ["linear"],
             "measured_ms": 0.712, "madds": 1_024_000, "mem_bytes": 4_100_000,
             "predicted_ms": 0.6, "error": -0.157},
        ],
    }
    second = {**record, "model": "shufflenet_v2_x0_5", "median_ms": 3.02, "iqr_ms": 0.11,
              "throughput": 331.1, "runs": 132, "predicted_ms": 2.7, "predicted_error": -0.106}
    return bench_tables([record, second], predict=True, layers=True)


def _zoo() -> Table:
    from convcost.report.zoo import zoo_table
    from convcost.studies.zoo import zoo_rows

    return zoo_table(zoo_rows("shufflenet"))


def _ratio() -> Table:
    from convcost.formulas import separable_comparison
    from convcost.report.ratio import ratio_table

    return ratio_table(separable_comparison(512, 512, 3, 14, groups=4, width_mult=0.75))


CASES: dict[str, Callable[..., Table | list[Table]]] = {
    "compare": _compare,
    "compare_inputs": _compare_inputs,
    "compare_bench": _compare_bench,
    "layers": _layers("layer"),
    "layers_by_op": _layers("op"),
    "layers_by_module": _layers("module"),
    "check": _check(False),
    "check_layers": _check(True),
    "guidelines": _guidelines,
    "guidelines_reproduce": _reproduction,
    "bench": _bench,
    "zoo": _zoo,
    "ratio": _ratio,
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_table_readable_at_every_width(name: str, compared: list[Compared],
                                             golden: Callable[[str, str], None]) -> None:
    make = CASES[name]
    made = make(compared) if name in ("compare", "compare_bench") else make()
    several = made if isinstance(made, list) else [made]
    golden(f"widths/{name}.txt", "\n".join(golden_text(t) for t in several))


# --- the main job ----------------------------------------------------------------------------

def test_compare_keeps_two_models_side_by_side_on_80_columns(compared: list[Compared]) -> None:
    table = _compare(compared)
    text, layout = render(table, 80)
    assert layout.kind == "transposed" and not layout.left_out
    header = text.splitlines()[0]
    assert "mobilenet_v1" in header and "shufflenet_v2" in header
    # every figure of both models on the line of its column name
    for i, column in enumerate(table.columns[1:], start=1):
        line = next(x for x in text.splitlines() if x.startswith(column.split()[0]))
        if i not in table.wrap:
            assert table.rows[0][i] in line and table.rows[1][i] in line, column
    # 160 columns: the plain table, every column
    assert render(table, 160)[1] == tables.fit(table, 160)
    assert tables.fit(table, 160).kind == "columns" and not tables.fit(table, 160).left_out


def test_compare_in_a_pipe_has_every_column_at_natural_width() -> None:
    r = CliRunner().invoke(app, ["compare", "mobilenet_v1", "shufflenet_v2", "--input", "224"])
    assert r.exit_code == 0, r.output
    header = r.stdout.splitlines()[0]
    for column in ("model", "input", "params", "mult-adds", "FLOPs", "memory", "peak act.",
                   "layers", "dw / pw / std / grp mult-adds", "top-1", "vs first"):
        assert column in header
    assert "…" not in r.stdout and "not shown" not in r.stdout
    assert all(line == line.rstrip() for line in r.stdout.splitlines())  # no trailing blanks


def test_identifying_columns_survive_any_width() -> None:
    t = Table("", ["layer", "a", "b"], right_align=frozenset({1, 2}))
    t.add(["features.13.pointwise.conv", "123,456,789", "987,654,321"])
    for width in (30, 40, 60):
        text, layout = render(t, width)
        assert "…" not in text and "features.13.pointwise.conv" in text
        assert layout.kind == ("stacked" if width < 40 else "columns")


# --- any table, any width --------------------------------------------------------------------

_word = st.text(st.sampled_from("abcdefghij0123456789.,%×"), min_size=1, max_size=12)
_cell = st.lists(_word, min_size=1, max_size=4).map(" ".join)


@st.composite
def _tables(draw: st.DrawFn) -> Table:
    n = draw(st.integers(1, 9))
    columns = [draw(_word) for _ in range(n)]
    priority = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    right = frozenset(i for i in range(n) if draw(st.booleans()))
    wrap = frozenset(i for i in range(n) if i not in right and draw(st.booleans()))
    t = Table("", columns, right_align=right, priority=priority, wrap=wrap,
              transpose=draw(st.booleans()))
    for _ in range(draw(st.integers(0, 5))):
        # text that may wrap in wrapped columns; identifying cells are one word: a cell
        # wider than the terminal could not be shown whole on one line
        t.add([draw(_cell) if i in wrap and i not in t.key_columns() else draw(_word)
               for i in range(n)])
    return t


@settings(max_examples=150, deadline=None)
@given(_tables(), st.integers(40, 200))
def test_any_table_fits_without_cutting(table: Table, width: int) -> None:
    # identifying cells up to 12 characters: at 40 columns at least the stacked form fits
    assert_readable(table, width)


def test_priorities_are_checked_and_hidden_columns_go_first() -> None:
    with pytest.raises(ValueError, match="priority"):
        Table("", ["a", "b"], priority=(0,)).priorities()
    t = Table("", ["a", "b", "c"], terminal_hide=frozenset({1}))
    assert t.priorities() == [0, 3, 2] and t.key_columns() == [0]


def test_transposed_html_has_one_column_per_row(compared: list[Compared]) -> None:
    table = _compare(compared)
    html = tables.to_html_transposed(table)
    assert html.count("<tr>") == 1 + len(table.columns) - len(table.key_columns())
    assert "mobilenet_v1</th>" in html and "shufflenet_v2</th>" in html
    assert "<th>mult-adds</th>" in html and "568.74M" in html


def test_readme_shows_what_a_100_column_terminal_shows(compared: list[Compared]) -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("`make run` is the main job")[1].split("```text\n")[1].split("```")[0]
    text, _ = render(_compare(compared), 100)
    assert block == "".join(line.rstrip() + "\n" for line in text.splitlines())
