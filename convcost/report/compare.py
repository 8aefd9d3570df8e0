"""``convcost compare``: one row per model (and input), each figure relative to the first."""

from __future__ import annotations

from collections.abc import Sequence

from convcost.engine.labels import Family, labels
from convcost.records.analysis import Analysis
from convcost.records.compare import KINDS, Compared
from convcost.report.layers import unsupported_note
from convcost.report.tables import Table
from convcost.report.units import megabytes, shape_text, si


def _ratio(r: float, less: str, more: str, same: str, tolerance: float = 0.0) -> str:
    """``r`` = this / that as "3.9× fewer mult-adds", "1.6× faster", or ``same``."""
    if abs(r - 1) <= tolerance:
        return same
    return f"{1 / r:.1f}× {less}" if r < 1 else f"{r:.1f}× {more}"


def _rel(value: int, base: int, noun: str) -> str:
    if base == 0:
        return "—"
    return _ratio(value / base, f"fewer {noun}", f"more {noun}", f"same {noun}")


def _speed(r: float) -> str:
    return _ratio(r, "faster", "slower", "as fast", tolerance=0.05)


def _rel_latency(ms: float | None, base_ms: float | None,
                 significant: bool | None = None) -> tuple[str, ...]:
    """"2.1× faster" / "1.3× slower" against the first model, when both were timed; "speed
    not significantly different" when the measurement cannot tell them apart."""
    if ms is None or not base_ms:
        return ()
    if significant is False:
        return ("speed not significantly different",)
    return (_speed(ms / base_ms),)


def _significant(c: Compared, base: Compared) -> bool | None:
    """Whether the measurement tells ``c`` and ``base`` apart (the use case's ``vs_first``
    verdict, whichever of the two carries it); None when neither does."""
    for this, other in ((c, base), (base, c)):
        d = (this.latency or {}).get("vs_first")
        if d and d.get("model") == other.analysis.model:
            return bool(d["significant"])
    return None


def sort_items(items: Sequence[Compared], sort: str | None = None) -> list[Compared]:
    """``items`` sorted by a cost field (ascending) or ``top1`` (descending); None keeps them."""
    rows = list(items)
    if sort == "top1":
        rows.sort(key=lambda c: -(c.top1 or 0.0))
    elif sort == "latency_ms":
        rows.sort(key=lambda c: float("inf") if c.latency_ms is None else c.latency_ms)
    elif sort:
        rows.sort(key=lambda c: getattr(c.analysis.totals, sort))
    return rows


def compare_table(items: Sequence[Compared], sort: str | None = None) -> Table:
    """The comparison table; ``sort`` by a cost field (ascending) or ``top1`` (descending);
    items with a training step (``compare --train``) add its peak memory and FLOPs."""
    rows = sort_items(items, sort)
    base = rows[0].analysis.totals if rows else None
    timed = any(c.latency is not None for c in rows)
    table = Table(
        title="",
        columns=("model", "input", "params", "mult-adds", "FLOPs", "memory", "peak act.",
                 "layers", "dw / pw / std / grp mult-adds", "top-1",
                 *(("latency (IQR)",) if timed else ()), "vs first"),
        raw_columns=("model", "input", "params", "madds", "flops", "mem_read_bytes",
                     "mem_write_bytes", "mem_bytes", "peak_activation_bytes", "layers",
                     "depthwise_share", "pointwise_share", "standard_share", "grouped_share",
                     "top1", *(("latency_ms", "latency_iqr_ms") if timed else ())),
        right_align=frozenset({2, 3, 4, 5, 6, 7, 9, *((10,) if timed else ())}),
        # model (and the input when inputs differ) identify a row; then mult-adds, params,
        # latency, memory and top-1, the comparison; shapes, FLOPs and the layer count last
        priority=(0, 0 if len({c.analysis.input for c in rows}) > 1 else 5, 1, 1, 4, 2, 4, 5,
                  3, 2, *((1,) if timed else ()), 2),
        wrap=frozenset({11 if timed else 10}),
        transpose=True,
    )
    for c in rows:
        a, rec = c.analysis, c.record()
        sh = rec["madds_share"]
        t = a.totals
        shares = " / ".join(f"{100 * sh[k]:.0f}%" for k in ("depthwise", "pointwise",
                                                             "standard", "grouped"))
        rel = "baseline" if base is None or c is rows[0] else ", ".join(
            (_rel(t.madds, base.madds, "mult-adds"), _rel(t.params, base.params, "params"),
             *_rel_latency(c.latency_ms, rows[0].latency_ms, _significant(c, rows[0]))))
        lat = c.latency
        table.add(
            [a.model, shape_text(a.input), si(t.params), si(t.madds), si(t.flops),
             megabytes(t.mem_bytes), megabytes(rec["peak_activation_bytes"]),
             str(rec["layers"]), shares, f"{c.top1:.1f}%" if c.top1 is not None else "—",
             *((f"{lat['median_ms']:.2f} ms (±{lat['iqr_ms'] / 2:.2f})" if lat else "—",)
               if timed else ()), rel],
            [a.model, shape_text(a.input, "x"), t.params, t.madds, t.flops,
             t.mem_read_bytes, t.mem_write_bytes, t.mem_bytes, rec["peak_activation_bytes"],
             rec["layers"], sh["depthwise"], sh["pointwise"], sh["standard"], sh["grouped"],
             "" if c.top1 is None else c.top1,
             *((("", "") if lat is None else (lat["median_ms"], lat["iqr_ms"])) if timed
               else ())],
        )
    if any(c.training is not None for c in items):
        _add_training(table, rows)
    table.notes.extend(explain(rows))
    return table


def _add_training(table: Table, rows: Sequence[Compared]) -> None:
    """Two columns at the end: each model's training step's peak memory and its forward +
    backward FLOPs (``rows`` in the table's order)."""
    n = len(table.columns)
    ranks = table.priorities()
    table.columns = (*table.columns, "train peak", "train FLOPs")
    table.raw_columns = (*(table.raw_columns or ()), "training_peak_bytes", "training_flops")
    table.right_align = table.right_align | {n, n + 1}
    table.priority = (*ranks, 2, 4)
    for i, c in enumerate(rows):
        m = c.training
        peak = None if m is None else (m.training or m.inference).bytes
        flops = None if m is None else m.forward_flops + (m.backward_flops or 0)
        table.rows[i] = (*table.rows[i], "—" if peak is None else megabytes(peak),
                         "—" if flops is None else si(flops))
        if i < len(table.raw_rows):
            table.raw_rows[i] = (*table.raw_rows[i], "" if peak is None else peak,
                                 "" if flops is None else flops)


def explain(items: Sequence[Compared]) -> list[str]:
    """Plain-language lines: what differs most between the models, and where the cost sits."""
    if not items:
        return []
    label = dict(zip(map(id, items), display_names([c.analysis for c in items]), strict=True))

    def name(c: Compared) -> str:
        return label[id(c)]

    notes = [n for c in items if (n := unsupported_note(c.analysis)) is not None]
    for c in items:
        sh = c.shares()
        kind, share = max(sh.items(), key=lambda kv: kv[1])
        by_op = c.analysis.by_op()
        total_mem = c.analysis.totals.mem_bytes or 1
        convs = labels(Family.CONV)
        conv_mem = sum(v.mem_bytes for k, v in by_op.items() if k in convs)
        notes.append(
            f"{name(c)}: {100 * share:.0f}% of its mult-adds are in {kind} "
            f"{'convs' if kind in KINDS else 'ops (linear, matmul, attention)'}; "
            f"{100 * (1 - conv_mem / total_mem):.0f}% of its memory traffic is outside the "
            "convolutions (normalisation, activations, adds, concat, shuffles)")
    if len(items) > 1:
        first, *rest = items
        for c in rest:
            ratios = {
                "mult-adds": c.analysis.totals.madds / max(first.analysis.totals.madds, 1),
                "params": c.analysis.totals.params / max(first.analysis.totals.params, 1),
                "memory access": c.analysis.totals.mem_bytes / max(
                    first.analysis.totals.mem_bytes, 1),
            }
            what, r = max(ratios.items(), key=lambda kv: max(kv[1], 1 / kv[1]) if kv[1] else 0)
            notes.append(f"biggest difference: {name(c)} has "
                         f"{_ratio(r, f'fewer {what}', f'more {what}', f'the same {what}')} "
                         f"than {name(first)}")
            if c.latency_ms is not None and first.latency_ms and _significant(c, first) is False:
                notes.append(f"measured: {name(c)} and {name(first)} differ by less than the "
                             "noise (their intervals overlap): not significant")
            elif c.latency_ms is not None and first.latency_ms:
                m = ratios["mult-adds"]
                t = c.latency_ms / first.latency_ms
                notes.append(
                    f"measured: {name(c)} runs {_speed(t)} than {name(first)} with "
                    f"{_ratio(m, 'fewer', 'more', 'as many', tolerance=0.05)} "
                    "mult-adds" + ("" if 0.8 < t / m < 1.25 else
                                   " — FLOPs are not speed: memory access, op count and "
                                   "parallelism decide the rest (convcost guidelines)"))
    timed = [{"model": name(c), **c.latency} for c in items if c.latency is not None]
    if timed:
        from convcost.report.latency import heap_notes

        notes.extend(heap_notes(timed))
    return notes


def display_names(analyses: Sequence[Analysis]) -> list[str]:
    """Each model's name, with its input (``mobilenet_v1 @ 3×160×160``) when the inputs
    differ."""
    several = len({a.input for a in analyses}) > 1
    return [f"{a.model} @ {shape_text(a.input[1:])}" if several else a.model for a in analyses]


__all__ = ["compare_table", "display_names", "explain", "sort_items"]
