"""Tables of ShuffleNetV2's guideline audit and of the reproduced Tables 1–4.

Presentation only: the audit is :mod:`convcost.engine.guidelines`, the experiments
:mod:`convcost.latency.shufflenet_experiments` (imported for typing only, so this module never
imports torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convcost.engine.guidelines import (
    G1Record,
    G2Record,
    G3Record,
    G4Record,
    GuidelinesAudit,
)
from convcost.report.tables import Table
from convcost.report.units import shape_text

if TYPE_CHECKING:
    from convcost.latency.shufflenet_experiments import Reproduction, TableResult


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:+.1f} %"


def _share(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def _n(x: float) -> str:
    return f"{x:,.0f}"


def audit_tables(result: GuidelinesAudit, top: int = 10, title: str = "") -> list[Table]:
    """One table per guideline (worst offenders first), the verdict as the table's note."""
    prefix = f"{title}: " if title else ""
    v = result.verdicts

    g1 = Table(f"{prefix}G1 — 1×1 convs against the minimum memory access for their "
               "multiply-adds", ["layer", "c1", "c2", "c1:c2", "madds", "MAC (elements)",
                                 "G1 minimum", "excess"],
               right_align=frozenset(range(1, 8)),
               raw_columns=["name", "c1", "c2", "ratio", "madds", "mac", "mac_lower_bound",
                            "excess"])
    for r in result.worst("g1", top):
        assert isinstance(r, G1Record)
        g1.add([r.name, str(r.c1), str(r.c2), r.ratio, _n(r.madds), _n(r.mac), _n(r.bound),
                _pct(r.excess)],
               [r.name, r.c1, r.c2, r.ratio, r.madds, r.mac, r.bound, r.excess])
    g1.notes.append(v["g1"])

    g2 = Table(f"{prefix}G2 — grouped convs against groups 1 at equal multiply-adds",
               ["layer", "c1", "c2", "g", "kernel", "madds", "MAC", "MAC at g=1", "penalty"],
               right_align=frozenset(range(1, 9)),
               raw_columns=["name", "c1", "c2", "groups", "kernel", "madds", "mac",
                            "mac_groups_1", "penalty"])
    for r in result.worst("g2", top):
        assert isinstance(r, G2Record)
        kernel = shape_text(r.kernel)
        g2.add([r.name, str(r.c1), str(r.c2), str(r.groups), kernel, _n(r.madds), _n(r.mac),
                _n(r.mac_g1), _pct(r.penalty)],
               [r.name, r.c1, r.c2, r.groups, kernel, r.madds, r.mac, r.mac_g1, r.penalty])
    g2.notes.append(v["g2"])

    g3 = Table(f"{prefix}G3 — fragmentation per block",
               ["block", "module", "ops", "convs", "small convs", "branches", "joins", "madds"],
               right_align=frozenset(range(2, 8)),
               raw_columns=["name", "module", "ops", "convs", "small_convs", "branches",
                            "joins", "madds"])
    for r in result.worst("g3", top):
        assert isinstance(r, G3Record)
        g3.add([r.name or "(root)", r.module, str(r.ops), str(r.convs), str(r.small_convs),
                str(r.branches), str(r.joins), _n(r.madds)],
               [r.name, r.module, r.ops, r.convs, r.small_convs, r.branches, r.joins,
                r.madds])
    g3.notes += [v["g3"], f"blocks: {result.block_rule}; small = below "
                 f"{100 * result.small_fraction:.0f} % of the block's multiply-adds."]

    timed = result.g4_time_categories is not None
    cols = ["op", "category", "count", "mem_bytes", "share of memory access"]
    raw = ["op", "category", "count", "mem_bytes", "share"]
    if timed:
        cols.append("share of time")
        raw.append("time_share")
    g4 = Table(f"{prefix}G4 — elementwise ops' share of memory access", cols,
               right_align=frozenset(range(2, len(cols))), raw_columns=raw)
    for r in result.worst("g4", top):
        assert isinstance(r, G4Record)
        cells = [r.op, r.category, str(r.count), _n(r.mem_bytes), _share(r.share)]
        values: list[object] = [r.op, r.category, r.count, r.mem_bytes, r.share]
        if timed:
            cells.append(_share(r.time_share))
            values.append(r.time_share)
        g4.add(cells, values)
    cats = ", ".join(f"{c} {_share(s)}" for c, s in result.g4_categories.items())
    g4.notes += [v["g4"], f"memory access by category: {cats}."]
    if result.g4_time_categories is not None:
        tcats = ", ".join(f"{c} {_share(s)}" for c, s in result.g4_time_categories.items())
        g4.notes.append(f"time by category: {tcats}.")
    return [g1, g2, g3, g4]


def reproduction_table(t: TableResult) -> Table:
    """One reproduced table: measured images/s and, per size, here / paper GPU / paper ARM
    normalised to the first row."""
    sizes = t.sizes()
    cols = ["config", "channels"]
    for s in sizes:
        cols += [f"{s} img/s", f"{s} here", f"{s} GPU", f"{s} ARM"]
    table = Table(f"{t.table} — measured here vs ShuffleNetV2's Table {t.table[1]} "
                  "(speed normalised to the first row)", cols,
                  right_align=frozenset(range(2, len(cols))))
    for config in t.configs():
        row = [config]
        chans = []
        for i in range(len(sizes)):
            m = t.get(config, i)
            chans.append("/".join(map(str, m.experiment.channels)))
            here, gpu, cpu = t.normalized(config, i)
            row += [f"{m.speed:.1f}", f"{here:.2f}", f"{gpu:.2f}", f"{cpu:.2f}"]
        row.insert(1, ", ".join(chans))
        table.add(row)
    table.notes.append(t.trend())
    return table


def reproduction_tables(rep: Reproduction) -> list[Table]:
    tables = [reproduction_table(t) for t in rep.tables]
    if tables:
        tables[-1].notes.append(
            f"Measured at batch {rep.batch}, {rep.threads} thread(s), {rep.device}, "
            f"best of {rep.rounds} interleaved rounds of {rep.budget_s:g} s of timed runs per "
            f"network (median of each round); widths of the paper's "
            f"{'ARM/CPU' if rep.widths == 'cpu' else 'GPU'} column; whole run "
            f"{rep.seconds:.0f} s. Paper: GPU = GTX 1080Ti batches/s at batch 8, ARM = "
            "Snapdragon 810 images/s at batch 1.")
    return tables


__all__ = ["audit_tables", "reproduction_table", "reproduction_tables"]
