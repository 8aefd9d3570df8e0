"""Per-layer, per-op and per-module tables of an :class:`~convcost.records.analysis.Analysis`."""

from __future__ import annotations

import html
from collections import Counter
from typing import TYPE_CHECKING

from convcost.formulas import COST_FIELDS
from convcost.report.tables import Table, to_html
from convcost.report.units import megabytes, shape_text, si

if TYPE_CHECKING:
    from convcost.records.analysis import Analysis


_KIND_TAG = {"depthwise": "dw", "pointwise": "pw", "grouped": "grouped", "standard": ""}


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def header(a: Analysis) -> str:
    t = a.totals
    inputs = ", ".join(shape_text(s) for s in a.inputs)
    return (f"{a.model} — input {inputs} ({a.dtype}): {si(t.params)} params, "
            f"{si(t.madds)} mult-adds, {si(t.flops)} FLOPs, {megabytes(t.mem_bytes)} memory")


def unsupported_note(a: Analysis) -> str | None:
    """The ops the totals leave out, with where they ran; None when every op was costed.
    Every output that shows a total shows this line."""
    if not a.unsupported:
        return None
    where = a.evaluation.unsupported_scopes
    listed = "; ".join(f"{op} ×{n} (in {', '.join(s or '(root)' for s in where[op][:3])})"
                       for op, n in a.unsupported.items())
    return f"{a.model}: not counted (unsupported ops): {listed}"


def _notes(a: Analysis) -> list[str]:
    note = unsupported_note(a)
    notes = [] if note is None else [note]
    if a.fake_tensors:
        notes.append("captured on fake tensors: the forward pass needed tensor values on the "
                     "meta device (Tensor.item()), so data-dependent branches took the path a "
                     "tracer takes; --device cpu runs it with real values")
    return notes


def layers_table(a: Analysis, by: str = "layer", depth: int | None = 1) -> Table:
    """The table for ``convcost layers --by layer|op|module``."""
    if by == "layer":
        return _by_layer(a)
    if by == "op":
        return _by_op(a)
    if by == "module":
        return _by_module(a, depth)
    raise ValueError(f"by must be 'layer', 'op' or 'module', got {by!r}")


def _by_layer(a: Analysis) -> Table:
    total = a.totals
    table = Table(
        title=header(a),
        columns=("#", "layer", "module", "op", "input", "output", "params", "mult-adds",
                 "FLOPs", "memory", "% mult-adds"),
        raw_columns=("index", "name", "module", "op", "conv_kind", "in_shapes", "out_shape",
                     *COST_FIELDS),
        right_align=frozenset({0, 6, 7, 8, 9, 10}),
        # the layer's name identifies it; its op, mult-adds and memory first, the module
        # class and the input shapes (the previous layer's output) last
        priority=(4, 0, 5, 1, 5, 3, 2, 1, 3, 1, 2),
        wrap=frozenset({4}),
    )
    for r in a.rows:
        c = r.cost
        op = f"{r.op} {_KIND_TAG.get(r.conv_kind, '')}".rstrip() if r.conv_kind else r.op
        name = r.name or "(root)"
        if r.call > 1:
            name += f" [call {r.call}]"
        table.add(
            [str(r.index), name, r.module, op, " ".join(shape_text(s) for s in r.in_shapes),
             shape_text(r.out_shape), si(c.params), si(c.madds), si(c.flops),
             megabytes(c.mem_bytes), _pct(c.madds, total.madds)],
            [r.index, r.name, r.module, r.op, r.conv_kind or "",
             " ".join(shape_text(s) for s in r.in_shapes), shape_text(r.out_shape),
             *c.as_dict().values()],
        )
    table.add(["", "total", "", "", "", "", si(total.params), si(total.madds), si(total.flops),
               megabytes(total.mem_bytes), "100.0%"])
    table.notes.extend(_notes(a))
    return table


def _by_op(a: Analysis) -> Table:
    total = a.totals
    counts = Counter(r.op for r in a.rows)
    table = Table(
        title=header(a),
        columns=("op", "count", "params", "mult-adds", "FLOPs", "memory", "% mult-adds",
                 "% memory"),
        raw_columns=("op", "count", *COST_FIELDS),
        right_align=frozenset(range(1, 8)),
        priority=(0, 3, 2, 1, 3, 1, 2, 2),
    )
    for op, c in sorted(a.by_op().items(), key=lambda kv: -kv[1].madds):
        table.add([op, str(counts[op]), si(c.params), si(c.madds), si(c.flops),
                   megabytes(c.mem_bytes), _pct(c.madds, total.madds),
                   _pct(c.mem_bytes, total.mem_bytes)],
                  [op, counts[op], *c.as_dict().values()])
    table.notes.extend(_notes(a))
    return table


def _by_module(a: Analysis, depth: int | None) -> Table:
    total = a.totals
    table = Table(
        title=header(a),
        columns=("module", "class", "ops", "params", "mult-adds", "FLOPs", "memory",
                 "% mult-adds"),
        raw_columns=("name", "module", "depth", "ops", *COST_FIELDS),
        right_align=frozenset(range(2, 8)),
        priority=(0, 3, 4, 2, 1, 3, 1, 2),
    )
    for m in a.by_module(depth):
        c = m.cost
        label = "  " * m.depth + (m.name.rpartition(".")[2] if m.name else a.model)
        table.add([label, m.module, str(m.ops), si(c.params), si(c.madds), si(c.flops),
                   megabytes(c.mem_bytes), _pct(c.madds, total.madds)],
                  [m.name, m.module, m.depth, m.ops, *c.as_dict().values()])
    table.notes.extend(_notes(a))
    return table


def layers_html(a: Analysis, max_rows: int = 400) -> str:
    """A compact HTML view for Jupyter: header, per-op summary, per-layer table."""
    notes = "".join(f"<p>{html.escape(n)}</p>" for n in _notes(a))
    return (f"<div><p><b>{html.escape(header(a))}</b></p>{notes}"
            f"<details><summary>by op</summary>"
            f"{to_html(_by_op(a), 100, notes=False)}</details>"
            f"<details open><summary>by layer</summary>"
            f"{to_html(_by_layer(a), max_rows, notes=False)}</details>"
            "</div>")


__all__ = ["header", "layers_html", "layers_table"]
