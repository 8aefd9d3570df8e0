"""``convcost compare``: one row per model (and input), each figure relative to the first."""

from __future__ import annotations

from collections.abc import Sequence

from convcost.engine.labels import Family, labels
from convcost.records.analysis import Analysis
from convcost.records.compare import KINDS, Compared
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


def _rel_latency(ms: float | None, base_ms: float | None) -> tuple[str, ...]:
    """"2.1× faster" / "1.3× slower" against the first model, when both were timed."""
    if ms is None or not base_ms:
        return ()
    return (_speed(ms / base_ms),)


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
    """The comparison table; ``sort`` by a cost field (ascending) or ``top1`` (descending)."""
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
    )
    for c in rows:
        a, rec = c.analysis, c.record()
        sh = rec["madds_share"]
        t = a.totals
        shares = " / ".join(f"{100 * sh[k]:.0f}%" for k in ("depthwise", "pointwise",
                                                             "standard", "grouped"))
        rel = "baseline" if base is None or c is rows[0] else ", ".join(
            (_rel(t.madds, base.madds, "mult-adds"), _rel(t.params, base.params, "params"),
             *_rel_latency(c.latency_ms, rows[0].latency_ms)))
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
    table.notes.extend(explain(rows))
    return table


def explain(items: Sequence[Compared]) -> list[str]:
    """Plain-language lines: what differs most between the models, and where the cost sits."""
    if not items:
        return []
    label = dict(zip(map(id, items), display_names([c.analysis for c in items]), strict=True))

    def name(c: Compared) -> str:
        return label[id(c)]

    notes = []
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
            if c.latency_ms is not None and first.latency_ms:
                m = ratios["mult-adds"]
                t = c.latency_ms / first.latency_ms
                notes.append(
                    f"measured: {name(c)} runs {_speed(t)} than {name(first)} with "
                    f"{_ratio(m, 'fewer', 'more', 'as many', tolerance=0.05)} "
                    "mult-adds" + ("" if 0.8 < t / m < 1.25 else
                                   " — FLOPs are not speed: memory access, op count and "
                                   "parallelism decide the rest (convcost guidelines)"))
    return notes


def display_names(analyses: Sequence[Analysis]) -> list[str]:
    """Each model's name, with its input (``mobilenet_v1 @ 3×160×160``) when the inputs
    differ."""
    several = len({a.input for a in analyses}) > 1
    return [f"{a.model} @ {shape_text(a.input[1:])}" if several else a.model for a in analyses]


__all__ = ["compare_table", "display_names", "explain", "sort_items"]
