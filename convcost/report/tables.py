"""A small tabular record and its renderers: rich table, Markdown, CSV.

Commands build a :class:`Table` of already-formatted cells (or raw numbers for CSV) and pick
the renderer; JSON is produced from the records themselves, not from the table.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

FORMATS = ("table", "json", "csv", "md")


@dataclass
class Table:
    """Columns, rows of display cells, optional raw rows for CSV, and notes under the table."""

    title: str
    columns: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    raw_rows: list[Sequence[object]] = field(default_factory=list)
    raw_columns: Sequence[str] | None = None
    right_align: frozenset[int] = frozenset()
    notes: list[str] = field(default_factory=list)
    indent_rows: frozenset[int] = frozenset()  # sub-rows shown dimmed/indented
    terminal_hide: frozenset[int] = frozenset()  # columns left out of the terminal view

    def add(self, cells: Sequence[str], raw: Sequence[object] | None = None,
            *, sub: bool = False) -> None:
        if sub:
            self.indent_rows = self.indent_rows | {len(self.rows)}
        self.rows.append(cells)
        if raw is not None:
            self.raw_rows.append(raw)


def to_markdown(table: Table) -> str:
    def esc(cell: str) -> str:
        return str(cell).replace("|", r"\|")

    lines = [f"**{table.title}**", ""] if table.title else []
    lines.append("| " + " | ".join(esc(c) for c in table.columns) + " |")
    lines.append(
        "|" + "|".join(" ---: " if i in table.right_align else " --- "
                       for i in range(len(table.columns))) + "|"
    )
    for i, row in enumerate(table.rows):
        cells = [esc(c) for c in row]
        if i in table.indent_rows and cells:
            cells[0] = "↳ " + cells[0]
        lines.append("| " + " | ".join(cells) + " |")
    if table.notes:
        lines.append("")
        lines.extend(f"- {n}" for n in table.notes)
    return "\n".join(lines) + "\n"


def to_html(table: Table, limit: int | None = None, notes: bool = True) -> str:
    """An HTML ``<table>`` (numbers right-aligned, class ``r``), then the notes; ``limit``
    rows at most, with a line saying how many were left out."""
    import html

    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    shown = table.rows if limit is None else table.rows[:limit]
    right = " class=r style=text-align:right"
    body = "".join(
        "<tr>" + "".join(f"<td{right if i in table.right_align else ''}>"
                         f"{html.escape(str(v))}</td>" for i, v in enumerate(row)) + "</tr>"
        for row in shown)
    more = (f"<p>… {len(table.rows) - len(shown)} more rows (use .to_frame())</p>"
            if len(shown) < len(table.rows) else "")
    tail = "".join(f"<p><small>{html.escape(n)}</small></p>" for n in table.notes) if notes \
        else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}{tail}"


def to_csv(table: Table) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if table.raw_rows:
        writer.writerow(table.raw_columns or table.columns)
        writer.writerows(table.raw_rows)
    else:
        writer.writerow(table.columns)
        writer.writerows(table.rows)
    return buf.getvalue()


def print_rich(table: Table, console: Console) -> None:
    from rich import box
    from rich.table import Table as RichTable

    rt = RichTable(title=table.title or None, box=box.SIMPLE_HEAVY, title_justify="left",
                   title_style="bold")
    keep = [i for i in range(len(table.columns)) if i not in table.terminal_hide]
    name_col = next((i for i in keep if i not in table.right_align), 0)
    for i in keep:
        rt.add_column(table.columns[i], justify="right" if i in table.right_align else "left",
                      no_wrap=i != name_col, min_width=14 if i == name_col else None)
    for r, row in enumerate(table.rows):
        cells = [str(row[i]) for i in keep]
        if r in table.indent_rows:
            rt.add_row("  " + cells[0], *cells[1:], style="dim")
        else:
            rt.add_row(*cells)
    console.print(rt)
    for note in table.notes:
        console.print(note, highlight=False)
