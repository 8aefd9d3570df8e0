"""A small tabular record and its renderers: rich table, Markdown, CSV, HTML.

Commands build a :class:`Table` of already-formatted cells (or raw numbers for CSV) and pick
the renderer; JSON is produced from the records themselves, not from the table.

**Fitting a terminal.** :func:`print_rich` never cuts a cell and never drops the identifying
column(s). Each column has a *priority* (:attr:`Table.priority`): 0 marks the identifying
columns (the model, the layer: always shown), then 1, 2, ... from most to least wanted.
:func:`fit` picks, for the console's width, the first of these layouts that fits:

1. ``columns`` — every column, text columns in :attr:`Table.wrap` wrapped at spaces;
2. ``transposed`` — for tables that allow it (:attr:`Table.transpose`, e.g. ``compare``:
   few rows, many columns), one column per row and one line per column, so two models stay
   side by side on 80 columns;
3. ``columns`` with the lowest-priority columns left out (a narrower, lower-priority column
   that still fits is kept), and a note under the table naming what was left out and that
   ``--format md`` (or piping the output, which renders at natural width) shows every column;
4. ``stacked`` — one block per row, ``column  value`` on each line (``psql``'s expanded
   display), when not even the identifying columns and one more fit.

Numbers and identifiers are never wrapped: a column's width is at least its longest cell
(wrapped columns: their longest word), so rich never has to truncate (no ``…``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

ALL_COLUMNS_HINT = "--format md (or a pipe) shows every column"
WRAP_MIN = 16  # a wrapped text column is never narrower than this (or its natural width)
_GAP = 3  # characters between two columns (padding, rule, padding)


@dataclass
class Table:
    """Columns, rows of display cells, optional raw rows for CSV, and notes under the table.

    ``priority`` (one int per column, optional): 0 for the identifying columns, never left out
    of a terminal view; larger numbers are left out first when the terminal is too narrow
    (ties: the rightmost first). Default: column 0 identifying, the others by position.
    ``terminal_hide`` columns come last in that order (shown only when everything else fits).
    ``wrap``: text columns that may wrap at spaces (all others, and the identifying columns,
    keep each cell on one line).
    ``transpose``: narrow terminals may show the table turned, one column per row.
    """

    title: str
    columns: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    raw_rows: list[Sequence[object]] = field(default_factory=list)
    raw_columns: Sequence[str] | None = None
    right_align: frozenset[int] = frozenset()
    notes: list[str] = field(default_factory=list)
    indent_rows: frozenset[int] = frozenset()  # sub-rows shown dimmed/indented
    terminal_hide: frozenset[int] = frozenset()  # left out of a terminal view first
    priority: Sequence[int] | None = None
    wrap: frozenset[int] = frozenset()
    transpose: bool = False

    def add(self, cells: Sequence[str], raw: Sequence[object] | None = None,
            *, sub: bool = False) -> None:
        if sub:
            self.indent_rows = self.indent_rows | {len(self.rows)}
        self.rows.append(cells)
        if raw is not None:
            self.raw_rows.append(raw)

    def priorities(self) -> list[int]:
        """Each column's priority (0: identifying); ``terminal_hide`` columns rank last."""
        n = len(self.columns)
        if self.priority is None:
            ranks = [0, *range(1, n)]
        else:
            if len(self.priority) != n:
                raise ValueError(f"priority has {len(self.priority)} entries for {n} columns")
            ranks = list(self.priority)
        top = max(ranks, default=0) + 1
        return [top if i in self.terminal_hide and ranks[i] else r for i, r in enumerate(ranks)]

    def key_columns(self) -> list[int]:
        """The identifying columns (priority 0)."""
        return [i for i, p in enumerate(self.priorities()) if p == 0] or [0]


# --- Markdown, HTML, CSV ----------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """``text`` with every control character (ESC, BEL, newlines, C1 codes) shown as ``\\xNN``:
    names come from the user's model and spec, and must never drive the terminal (an ANSI or
    OSC escape sequence) or break a line of a table."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


_MD_SPECIAL = re.compile(r"([\\`\[\]<>|])")


def markdown_text(text: object) -> str:
    """``text`` as literal Markdown: the characters that would make a link, HTML, code or a
    new cell (``[ ] < > ` |`` and ``\\``) are escaped, so a module named ``<script>`` or
    ``[x](javascript:...)`` stays text."""
    return _MD_SPECIAL.sub(r"\\\1", printable(text))


def to_markdown(table: Table) -> str:
    esc = markdown_text

    lines = [f"**{esc(table.title)}**", ""] if table.title else []
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
        lines.extend(f"- {esc(n)}" for n in table.notes)
    return "\n".join(lines) + "\n"


def to_html(table: Table, limit: int | None = None, notes: bool = True) -> str:
    """An HTML ``<table>`` in a ``<div class='table'>`` (a page can make that box scroll on
    its own), numbers right-aligned (class ``r``), wrapped text columns of class ``w``, then
    the notes; ``limit`` rows at most, with a line saying how many were left out."""
    import html

    head = "".join(f"<th{' class=r' if i in table.right_align else ''}>{html.escape(c)}</th>"
                   for i, c in enumerate(table.columns))
    shown = table.rows if limit is None else table.rows[:limit]
    attrs = [" class=r style=text-align:right" if i in table.right_align
             else " class=w" if i in table.wrap else "" for i in range(len(table.columns))]
    body = "".join(
        "<tr>" + "".join(f"<td{attrs[i] if i < len(attrs) else ''}>{html.escape(str(v))}</td>"
                         for i, v in enumerate(row)) + "</tr>"
        for row in shown)
    more = (f"<p>… {len(table.rows) - len(shown)} more rows (use .to_frame())</p>"
            if len(shown) < len(table.rows) else "")
    tail = "".join(f"<p><small>{html.escape(n)}</small></p>" for n in table.notes) if notes \
        else ""
    return (f"<div class='table'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
            f"</table></div>{more}{tail}")


def to_html_transposed(table: Table) -> str:
    """The table turned, as HTML: one column per row (headed by its identifying cells), one
    line per other column — the narrow-screen form of a comparison. No notes."""
    import html

    keys = table.key_columns()
    body = [i for i in range(len(table.columns)) if i not in set(keys)]
    cells = _cells(table)
    corner = html.escape(" / ".join(table.columns[k] for k in keys))
    head = f"<th>{corner}</th>" + "".join(
        f"<th class=r>{html.escape(_row_label(table, row)).replace(chr(10), '<br>')}</th>"
        for row in cells)
    lines = "".join(  # a wrapped text column (class w) may wrap, numbers never
        f"<tr><th>{html.escape(table.columns[i])}</th>" + "".join(
            f"<td class='r{' w' if i in table.wrap else ''}'>"
            f"{html.escape(row[i] if i < len(row) else '')}</td>" for row in cells)
        + "</tr>" for i in body)
    return (f"<div class='table'><table><thead><tr>{head}</tr></thead><tbody>{lines}</tbody>"
            "</table></div>")


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text starting with ``=``, ``+``, ``-`` or ``@``
    (a formula to Excel and LibreOffice) gets a leading ``'``; numbers stay numbers."""
    if isinstance(value, str):
        text = printable(value)
        return "'" + text if text.startswith(_FORMULA) else text
    return value


def to_csv(table: Table) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = table.raw_columns or table.columns if table.raw_rows else table.columns
    writer.writerow([csv_cell(c) for c in header])
    for row in (table.raw_rows if table.raw_rows else table.rows):
        writer.writerow([csv_cell(c) for c in row])
    return buf.getvalue()


# --- fitting a width --------------------------------------------------------------------------

@dataclass(frozen=True)
class Layout:
    """How a table is shown at one width: ``kind`` is ``columns``, ``transposed`` or
    ``stacked``; ``shown`` the table's columns in the view (in table order), ``left_out`` the
    others; ``widths`` the content width of each column of the rendered grid (for
    ``transposed``: the label column, then one per row)."""

    kind: str
    shown: tuple[int, ...]
    left_out: tuple[int, ...]
    widths: tuple[int, ...] = ()


def _len(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in text.split("\n")), default=0)


def _word(text: str) -> int:
    return max((_len(w) for w in text.split()), default=0)


def _cells(table: Table) -> list[list[str]]:
    """The rows' cells as shown (sub-rows indented in the first column)."""
    out = []
    for r, row in enumerate(table.rows):
        cells = [str(c) for c in row]
        if r in table.indent_rows and cells:
            cells[0] = "  " + cells[0]
        out.append(cells)
    return out


def _span(widths: Sequence[int]) -> int:
    return sum(widths) + _GAP * max(len(widths) - 1, 0)


def _grow(widths: list[int], natural: Sequence[int], order: Sequence[int], room: int) -> int:
    """Widen columns ``order`` (in turn) towards their natural width with ``room`` to spare;
    returns what is left."""
    for i in order:
        add = min(room, natural[i] - widths[i])
        if add > 0:
            widths[i] += add
            room -= add
    return room


def _measure(table: Table, cells: list[list[str]]) -> tuple[list[int], list[int], list[int]]:
    """Per column: minimum width (longest cell; wrapped columns: longest word, at least
    ``WRAP_MIN``), natural width (header and cells on one line each), natural width of the
    cells alone."""
    n = len(table.columns)
    wraps = table.wrap - set(table.key_columns())  # an identifying cell stays on one line
    lo: list[int] = []
    nat: list[int] = []
    data: list[int] = []
    for i in range(n):
        col = [row[i] for row in cells if i < len(row)]
        natural = max((_len(c) for c in col), default=0)
        header = _len(table.columns[i])
        if i in wraps:
            low = max(_word(table.columns[i]), *(_word(c) for c in col), 1)
            low = max(low, min(natural, WRAP_MIN))
        else:
            low = max(natural, _word(table.columns[i]), 1)
        lo.append(low)
        nat.append(max(natural, header, low))
        data.append(max(natural, low))
    return lo, nat, data


def fit(table: Table, width: int) -> Layout:
    """The layout of ``table`` on a console ``width`` characters wide (see the module doc)."""
    cells = _cells(table)
    n = len(table.columns)
    lo, nat, data = _measure(table, cells)
    prio = table.priorities()
    keys = table.key_columns()
    everything = tuple(range(n))
    # 1. every column
    if _span(lo) <= width:
        return Layout("columns", everything, (), tuple(_widths(table, everything, lo, nat,
                                                               data, width)))
    # 2. turned
    if table.transpose and table.rows:
        turned = _transposed_widths(table, cells, width)
        if turned is not None:
            return Layout("transposed", everything, (), tuple(turned))
    # 3. the identifying columns, then the others by priority while they fit
    chosen = set(keys)
    order = sorted((i for i in range(n) if i not in chosen), key=lambda i: (prio[i], i))
    for i in order:
        if _span([lo[j] for j in sorted(chosen | {i})]) <= width:
            chosen.add(i)
    shown = tuple(sorted(chosen))
    left = tuple(i for i in range(n) if i not in chosen)
    if (len(shown) > len(keys) or n == len(keys)) and _span([lo[i] for i in shown]) <= width:
        return Layout("columns", shown, left, tuple(_widths(table, shown, lo, nat, data, width)))
    # 4. one block per row
    return Layout("stacked", everything, ())


def _widths(table: Table, shown: Sequence[int], lo: Sequence[int], nat: Sequence[int],
            data: Sequence[int], width: int) -> list[int]:
    """Content widths of ``shown``: each at its minimum, then (by priority, while there is
    room) wrapped cells unwrapped, then headers."""
    prio = table.priorities()
    w = {i: lo[i] for i in shown}
    room = width - _span(list(w.values()))
    by_priority = sorted(shown, key=lambda i: (prio[i], i))
    for i in by_priority:  # wrapped cells on one line first: that saves a line per row
        if i in table.wrap and data[i] > w[i]:
            add = min(room, max(data[i] - w[i], 0))
            w[i] += add
            room -= add
    for i in by_priority:  # then the headers, then whatever is left
        add = min(room, max(nat[i] - w[i], 0))
        w[i] += add
        room -= add
    return [w[i] for i in shown]


def _row_label(table: Table, cells: Sequence[str]) -> str:
    """A row's heading in the turned view: its identifying cells, one per line."""
    return "\n".join(cells[i].strip() for i in table.key_columns() if i < len(cells) and cells[i])


def _transposed_widths(table: Table, cells: list[list[str]], width: int) -> list[int] | None:
    keys = set(table.key_columns())
    body = [i for i in range(len(table.columns)) if i not in keys]
    if not body:
        return None
    corner = _len(" / ".join(table.columns[k] for k in sorted(keys)))
    label_lo = max(corner, *(_word(table.columns[i]) for i in body))
    label_nat = max(label_lo, *(_len(table.columns[i]) for i in body))
    col_lo, col_nat = [], []
    for row in cells:
        heading = _len(_row_label(table, row))
        low = nat = heading
        for i in body:
            cell = row[i] if i < len(row) else ""
            nat = max(nat, _len(cell))
            if i in table.wrap:
                low = max(low, _word(cell), min(_len(cell), WRAP_MIN))
            else:
                low = max(low, _len(cell))
        col_lo.append(low)
        col_nat.append(nat)
    widths = [label_lo, *col_lo]
    if _span(widths) > width:
        return None
    natural = [label_nat, *col_nat]
    room = _grow(widths, natural, [0], width - _span(widths))  # the labels on one line
    while room > 0:  # then every row's column a character at a time, alike
        short = [j for j in range(1, len(widths)) if widths[j] < natural[j]]
        if not short:
            break
        for j in short[:room]:
            widths[j] += 1
        room -= min(room, len(short))
    return widths


# --- rich -------------------------------------------------------------------------------------

def _printable(table: Table) -> Table:
    """A copy whose every text is :func:`printable` (no escape sequence reaches a terminal);
    rich is given ``Text`` objects, so ``[red]`` in a name is shown, never read as markup."""
    return replace(table, title=printable(table.title),
                   columns=[printable(c) for c in table.columns],
                   rows=[[printable(c) for c in row] for row in table.rows],
                   notes=[printable(n) for n in table.notes])


def print_rich(table: Table, console: Console) -> Layout:
    """Print ``table`` to fit ``console.width`` (see :func:`fit`), its title above and its
    notes below; returns the layout used."""
    from rich.text import Text

    table = _printable(table)
    layout = fit(table, console.width)
    if table.title:
        console.print(Text(table.title, style="bold"))
    if layout.kind == "stacked":
        _print_stacked(table, console)
    elif layout.kind == "transposed":
        _print_transposed(table, layout, console)
    else:
        _print_columns(table, layout, console)
    notes = list(table.notes)
    if layout.left_out:
        names = ", ".join(table.columns[i] for i in layout.left_out)
        notes.append(f"not shown at {console.width} columns: {names}; {ALL_COLUMNS_HINT}")
    if notes:
        console.print()
    for note in notes:
        console.print(Text(note), highlight=False)
    return layout


def _grid() -> object:
    from rich import box
    from rich.table import Table as RichTable

    return RichTable(box=box.SIMPLE_HEAVY, show_edge=False, pad_edge=False,
                     header_style="bold")


def _print_columns(table: Table, layout: Layout, console: Console) -> None:
    from rich.table import Table as RichTable
    from rich.text import Text

    rt = _grid()
    assert isinstance(rt, RichTable)
    for i, w in zip(layout.shown, layout.widths, strict=True):
        right = i in table.right_align
        rt.add_column(Text(table.columns[i], justify="right" if right else "left"),
                      justify="right" if right else "left", width=w, overflow="fold")
    for r, cells in enumerate(_cells(table)):
        shown = [Text(cells[i] if i < len(cells) else "") for i in layout.shown]
        rt.add_row(*shown, style="dim" if r in table.indent_rows else None)
    console.print(rt)


def _print_transposed(table: Table, layout: Layout, console: Console) -> None:
    from rich.table import Table as RichTable
    from rich.text import Text

    keys = set(table.key_columns())
    body = [i for i in range(len(table.columns)) if i not in keys]
    cells = _cells(table)
    rt = _grid()
    assert isinstance(rt, RichTable)
    label_w, *row_ws = layout.widths
    rt.add_column(" / ".join(table.columns[k] for k in sorted(keys)), width=label_w,
                  overflow="fold")
    for row, w in zip(cells, row_ws, strict=True):
        rt.add_column(Text(_row_label(table, row), justify="right"), justify="right",
                      width=w, overflow="fold")
    for i in body:  # every value right-aligned under its row's heading
        rt.add_row(Text(table.columns[i], style="bold"),
                   *(Text(row[i] if i < len(row) else "", justify="right") for row in cells))
    console.print(rt)


def _print_stacked(table: Table, console: Console) -> None:
    from rich.table import Table as RichTable
    from rich.text import Text

    keys = table.key_columns()
    body = [i for i in range(len(table.columns)) if i not in set(keys)]
    label_w = max((_len(table.columns[i]) for i in body), default=0)
    for r, row in enumerate(_cells(table)):
        if r:
            console.print()
        heading = " · ".join(row[i].strip() for i in keys if i < len(row))
        if _len(heading) > console.width:  # one identifying cell a line, each whole
            heading = "\n".join(row[i].strip() for i in keys if i < len(row))
        console.print(Text(heading, style="bold"))
        grid = RichTable.grid(padding=(0, 2))
        grid.add_column(width=min(label_w, max(console.width // 3, 1)), overflow="fold")
        grid.add_column(overflow="fold")
        for i in body:
            if i < len(row) and row[i].strip():
                grid.add_row(Text(table.columns[i], style="dim"), Text(row[i]))
        console.print(grid)
