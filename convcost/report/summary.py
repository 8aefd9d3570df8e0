"""Rendering of :class:`~convcost.records.summary.Summary`: torchinfo's and torchsummary's
layouts, and a report Table for CSV / Markdown. The records and their definitions are in
:mod:`convcost.records.summary`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from convcost.records.summary import COLUMNS, Summary, SummaryRow
from convcost.report.units import shape_text

if TYPE_CHECKING:
    from convcost.report.tables import Table

_COL_WIDTH = 25  # torchinfo's col_width default
_NAME_WIDTH = 40  # torchinfo's minimum layer-name width, grown in steps of 5
_TS_RULE = 64  # torchsummary's rule width


def render(s: Summary) -> str:
    """The summary as the text its style prints (``str(summary)``)."""
    return _render_torchsummary(s) if s.style == "torchsummary" else _render_torchinfo(s)


def _shape(shape: Sequence[int] | None) -> str:
    return "--" if not shape else str(list(shape))


def _count(n: int) -> str:
    return f"{n:,}" if n > 0 else "--"


def _shown_params(r: SummaryRow, s: Summary) -> int:
    """torchinfo's Param # as a number: the subtree at the depth limit and for leaves, what
    the children do not hold for shallower containers, 0 for a repeated call."""
    if r.recursive:
        return 0
    return r.params if r.depth == s.depth or r.leaf else r.leftover_params


def _cells(r: SummaryRow, s: Summary) -> dict[str, str]:
    at_max = r.depth == s.depth
    if r.params == 0:
        params = "--"
    elif r.recursive:
        params = "(recursive)"
    elif at_max or r.leaf:
        params = f"{r.params:,}" if r.trainable_params else f"({r.params:,})"
    else:
        params = _count(r.leftover_params)
    shown = _shown_params(r, s)
    total = s.totals.total_params
    if r.recursive:
        percent = "(recursive)"
    elif total == 0 or shown == 0:
        percent = "     --"
    else:
        percent = f"{shown / total:>7.2%}"
    if r.params == 0:
        trainable = "--"
    elif r.trainable_params == 0:
        trainable = "False"
    else:
        trainable = "True" if r.trainable_params == r.params else "Partial"
    madds = _count(r.mult_adds) if (r.leaf or at_max) else "--"
    kernel = "--" if r.kernel_size is None else str(
        list(r.kernel_size) if isinstance(r.kernel_size, tuple) else r.kernel_size)
    return {
        "input_size": _shape(r.input_shape), "output_size": _shape(r.output_shape),
        "num_params": params, "params_percent": percent, "kernel_size": kernel,
        "mult_adds": madds, "trainable": trainable,
    }


def _prefix(depth: int) -> str:
    if depth == 0:
        return ""
    return "├─" if depth == 1 else "│    " * (depth - 1) + "└─"


def _scaled(n: int) -> tuple[str, str]:
    """torchinfo's mult-adds scaling: (unit, value) in M below 10⁹, then G, then T."""
    scale, unit = (10**12, "T") if n >= 10**12 else (10**9, "G") if n >= 10**9 else (10**6, "M")
    value = n / scale
    return unit, f"{int(value):,}" if value.is_integer() else f"{value:,.2f}"


def _count_line(label: str, n: int) -> str:
    """``Total mult-adds (M): 568.74``."""
    unit, text = _scaled(n)
    return f"{label} ({unit}): {text}"


def _render_torchinfo(s: Summary) -> str:
    longest = max((len(r.label) + r.depth * 5 + 1 for r in s.rows), default=0)
    name_w = _NAME_WIDTH if longest < _NAME_WIDTH else math.ceil(longest / 5) * 5
    rule = "=" * (name_w + _COL_WIDTH * len(s.columns))

    def line(first: str, cells: Sequence[str]) -> str:
        text = f"{first:<{name_w}} " + "".join(f"{c:<{_COL_WIDTH}} " for c in cells)
        return text.rstrip()

    t = s.totals
    out = [rule, line("Layer (type:depth-idx)", [COLUMNS[c] for c in s.columns]), rule]
    for r in s.shown:
        cells = _cells(r, s)
        out.append(line(_prefix(r.depth) + r.label, [cells[c] for c in s.columns]))
    out += [
        rule,
        f"Total params: {t.total_params:,}",
        f"Trainable params: {t.trainable_params:,}",
        f"Non-trainable params: {t.non_trainable_params:,}",
        _count_line("Total mult-adds, convcost", t.mult_adds),
        rule,
        f"Input size (MB): {t.mb(t.input_bytes)}",
        f"Forward/backward pass size (MB): {t.mb(t.forward_backward_bytes)}",
        f"Params size (MB): {t.mb(t.params_bytes)}",
        f"Estimated Total Size (MB): {t.mb(t.total_bytes)}",
        rule,
        *footnotes(s),
    ]
    return "\n".join(out) + "\n"


def footnotes(s: Summary) -> list[str]:
    t = s.totals
    mb = "10^6" if t.megabyte == 10**6 else "2^20"
    lines = [
        f"Input {' + '.join(shape_text(i, 'x') for i in s.inputs)}, {s.dtype}; "
        f"MB = {mb} bytes.",
        "Mult-adds: convcost's analytic count (bias and normalisation excluded); "
        "torchinfo's convention (bias and norm parameters x batch counted) gives "
        "{1} {0}.".format(*_scaled(t.torchinfo_mult_adds)),
    ]
    listing = unsupported_listing(s)
    if listing is not None:
        lines.append(f"Not counted (unsupported ops): {listing}")
    return [*lines, *s.notes]


def unsupported_listing(s: Summary) -> str | None:
    """The ops the totals leave out, ``op ×count`` each; None when every op was costed."""
    if not s.unsupported:
        return None
    return "; ".join(f"{op} ×{n}" for op, n in s.unsupported.items())


def _render_torchsummary(s: Summary) -> str:
    def shape(r: SummaryRow) -> str:
        if not r.output_shape:
            return "--"
        dims = list(r.output_shape)
        if s.batch == 1:
            dims[0] = -1
        return str(dims)

    def fmt(a: str, b: str, c: str) -> str:
        return f"{a:>20}  {b:>25} {c:>15}"

    t = s.totals
    dash, eq = "-" * _TS_RULE, "=" * _TS_RULE
    out = [dash, fmt("Layer (type)", "Output Shape", "Param #"), eq]
    for i, r in enumerate(s.shown, start=1):
        own = 0 if r.recursive else r.own_params
        out.append(fmt(f"{r.module}-{i}", shape(r), f"{own:,}"))
    out += [
        eq,
        f"Total params: {t.total_params:,}",
        f"Trainable params: {t.trainable_params:,}",
        f"Non-trainable params: {t.non_trainable_params:,}",
        dash,
        f"Input size (MB): {t.mb(t.input_bytes)}",
        f"Forward/backward pass size (MB): {t.mb(t.forward_backward_bytes)}",
        f"Params size (MB): {t.mb(t.params_bytes)}",
        f"Estimated Total Size (MB): {t.mb(t.total_bytes)}",
        dash,
        _count_line("Total mult-adds", t.mult_adds) + " (convcost, not in torchsummary)",
        *footnotes(s),
    ]
    return "\n".join(out) + "\n"


def summary_table(s: Summary) -> Table:
    """The rows as a report Table (CSV / Markdown), with raw numbers for CSV."""
    from convcost.report.tables import Table

    t = s.totals
    if s.style == "torchsummary":
        table = Table(title=f"{s.model} summary (torchsummary layout)",
                      columns=["Layer (type)", "Output Shape", "Param #"],
                      raw_columns=["layer", "name", "output_shape", "params"],
                      right_align=frozenset({2}))
        for i, r in enumerate(s.shown, start=1):
            own = 0 if r.recursive else r.own_params
            table.add([f"{r.module}-{i}", _shape(r.output_shape), f"{own:,}"],
                      [f"{r.module}-{i}", r.scope, shape_text(r.output_shape or (), "x"),
                       own])
    else:
        table = Table(title=f"{s.model} summary",
                      columns=["Layer (type:depth-idx)", *(COLUMNS[c] for c in s.columns)],
                      raw_columns=["layer", "name", "depth", *s.columns])
        for r in s.shown:
            cells = _cells(r, s)
            raw: dict[str, object] = {
                "input_size": shape_text(r.input_shape or (), "x"),
                "output_size": shape_text(r.output_shape or (), "x"),
                "num_params": _shown_params(r, s),
                "params_percent": cells["params_percent"].strip(),
                "kernel_size": cells["kernel_size"], "mult_adds": r.mult_adds,
                "trainable": cells["trainable"],
            }
            table.add([_prefix(r.depth) + r.label, *(cells[c] for c in s.columns)],
                      [r.label, r.scope, r.depth, *(raw[c] for c in s.columns)])
    table.notes = [
        f"Total params: {t.total_params:,}; trainable {t.trainable_params:,}; "
        f"non-trainable {t.non_trainable_params:,}",
        _count_line("Total mult-adds, convcost", t.mult_adds),
        f"Input size (MB): {t.mb(t.input_bytes)}; forward/backward pass size (MB): "
        f"{t.mb(t.forward_backward_bytes)}; params size (MB): {t.mb(t.params_bytes)}; "
        f"estimated total size (MB): {t.mb(t.total_bytes)}",
        *footnotes(s),
    ]
    return table


__all__ = ["footnotes", "render", "summary_table", "unsupported_listing"]
