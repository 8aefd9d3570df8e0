"""Tables, verdict sentences and JSON of ShuffleNetV2's guideline audit, and the tables of
the reproduced Tables 1–4.

Presentation only: the audit and its verdicts (numbers) are :mod:`convcost.engine.guidelines`,
the experiments :mod:`convcost.latency.shufflenet_experiments` (imported for typing only, so
this module never imports torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convcost.engine.guidelines import (
    G1Record,
    G1Verdict,
    G2Record,
    G2Verdict,
    G3Record,
    G3Verdict,
    G4Record,
    G4Verdict,
    GuidelinesAudit,
    Verdicts,
)
from convcost.report.tables import Table
from convcost.report.units import shape_text

if TYPE_CHECKING:
    from convcost.latency.shufflenet_experiments import Reproduction, TableResult, Trend
    from convcost.records.guidelines import ModelAudit


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:+.1f} %"


def _share(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def _n(x: float) -> str:
    return f"{x:,.0f}"


def ratio_text(c1: int, c2: int) -> str:
    """``c1:c2`` reduced to ``1:x`` or ``x:1`` (one decimal unless whole): 64, 256 → ``1:4``."""
    def num(v: float) -> str:
        return f"{v:.0f}" if abs(v - round(v)) < 0.05 else f"{v:.1f}"

    return f"1:{num(c2 / c1)}" if c2 >= c1 else f"{num(c1 / c2)}:1"


# --- verdict sentences --------------------------------------------------------------------------


def _whole_pct(x: float) -> str:
    return f"{100 * x:+.0f} %" if abs(x) >= 0.005 else "+0 %"


def _where(name: str) -> str:
    return name or "(root)"


def g1_sentence(v: G1Verdict) -> str:
    if v.worst is None:
        return "G1: no 1×1 convs with groups 1; nothing to check."
    w = v.worst
    return (f"G1: {v.within_tolerance} of {v.convs} 1×1 convs within {100 * v.tolerance:.0f} % "
            f"of the minimum memory access for their multiply-adds; worst "
            f"{_whole_pct(w.excess)} in {_where(w.name)} (c1:c2 = {ratio_text(w.c1, w.c2)}); "
            f"all together {_whole_pct(v.total_excess or 0.0)}.")


def g2_sentence(v: G2Verdict) -> str:
    if v.worst is None or v.median_penalty is None:
        return "G2: no grouped convs (depthwise convs excluded); no group-conv penalty."
    w = v.worst
    return (f"G2: {v.convs} grouped convs ({v.pointwise} pointwise), g = "
            f"{', '.join(map(str, v.groups))}; median memory-access penalty "
            f"{_whole_pct(v.median_penalty)} over groups 1 at equal multiply-adds, worst "
            f"{_whole_pct(w.penalty)} in {_where(w.name)} (g = {w.groups}).")


def g3_sentence(v: G3Verdict) -> str:
    w = v.most_fragmented
    if w is None:
        return "G3: no blocks found; nothing to check."
    return (f"G3: {v.blocks} blocks; median {v.median_ops:g} ops, {v.median_convs:g} convs, "
            f"{v.median_branches:g} branch(es) per block; most fragmented {_where(w.name)} "
            f"({w.branches} branch(es), {w.convs} convs of which {w.small_convs} below "
            f"{100 * v.small_fraction:.0f} % of its multiply-adds, {w.ops} ops).")


def g4_sentence(v: G4Verdict) -> str:
    text = (f"G4: elementwise ops are {100 * v.elementwise_share:.0f} % of memory access"
            f"{' (BN folded)' if v.fold_bn else ''}")
    if v.depthwise_share:
        text += f", {100 * v.paper_share:.0f} % with depthwise convs as the paper counts them"
    if v.time_share is not None:
        text += f"; {100 * v.time_share:.0f} % of measured time"
    named = ", ".join(f"{r.op} {100 * r.share:.0f} %" for r in v.largest)
    return text + (f"; largest: {named}." if named else ".")


def verdict_sentences(v: Verdicts) -> dict[str, str]:
    """One line per guideline, keyed ``g1`` .. ``g4``."""
    return {"g1": g1_sentence(v.g1), "g2": g2_sentence(v.g2), "g3": g3_sentence(v.g3),
            "g4": g4_sentence(v.g4)}


def _g1_dict(r: G1Record) -> dict[str, object]:
    """The record's numbers with its ``ratio`` text after ``c2``."""
    out: dict[str, object] = {}
    for key, value in r.as_dict().items():
        out[key] = value
        if key == "c2":
            out["ratio"] = ratio_text(r.c1, r.c2)
    return out


def audit_payload(result: GuidelinesAudit | ModelAudit) -> dict[str, Any]:
    """``convcost guidelines --format json``: ``result.to_dict()``'s numbers with the text
    the engine leaves out: the verdict sentences (``verdicts``, before ``g1``) and every G1
    record's ``ratio``."""
    audit = result if isinstance(result, GuidelinesAudit) else result.audit
    out: dict[str, Any] = {}
    for key, value in result.to_dict().items():
        if key == "g1":
            out["verdicts"] = verdict_sentences(audit.verdicts)
            worst = audit.verdicts.g1.worst
            value = {**value, "convs": [_g1_dict(r) for r in audit.g1],
                     "verdict": {**value["verdict"],
                                 "worst": None if worst is None else _g1_dict(worst)}}
        out[key] = value
    return out


# --- tables -------------------------------------------------------------------------------------


def audit_tables(result: GuidelinesAudit, top: int = 10, title: str = "") -> list[Table]:
    """One table per guideline (worst offenders first), the verdict as the table's note."""
    prefix = f"{title}: " if title else ""
    v = verdict_sentences(result.verdicts)

    g1 = Table(f"{prefix}G1 — 1×1 convs against the minimum memory access for their "
               "multiply-adds", ["layer", "c1", "c2", "c1:c2", "madds", "MAC (elements)",
                                 "G1 minimum", "excess"],
               right_align=frozenset(range(1, 8)), priority=(0, 3, 3, 2, 3, 2, 2, 1),
               raw_columns=["name", "c1", "c2", "ratio", "madds", "mac", "mac_lower_bound",
                            "excess"])
    for r in result.worst("g1", top):
        assert isinstance(r, G1Record)
        ratio = ratio_text(r.c1, r.c2)
        g1.add([r.name, str(r.c1), str(r.c2), ratio, _n(r.madds), _n(r.mac), _n(r.bound),
                _pct(r.excess)],
               [r.name, r.c1, r.c2, ratio, r.madds, r.mac, r.bound, r.excess])
    g1.notes.append(v["g1"])

    g2 = Table(f"{prefix}G2 — grouped convs against groups 1 at equal multiply-adds",
               ["layer", "c1", "c2", "g", "kernel", "madds", "MAC", "MAC at g=1", "penalty"],
               right_align=frozenset(range(1, 9)), priority=(0, 3, 3, 2, 4, 3, 2, 2, 1),
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
               right_align=frozenset(range(2, 8)), priority=(0, 4, 1, 2, 2, 1, 3, 3),
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
               right_align=frozenset(range(2, len(cols))), raw_columns=raw,
               priority=[0, 2, 2, 2, 1, *((1,) if timed else ())])
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
    rank = [0, 4]  # narrow terminals keep "here" at every size first, then the paper's
    for s in sizes:
        cols += [f"{s} img/s", f"{s} here", f"{s} GPU", f"{s} ARM"]
        rank += [3, 1, 2, 2]
    table = Table(f"{t.table} — measured here vs ShuffleNetV2's Table {t.table[1]} "
                  "(speed normalised to the first row)", cols,
                  right_align=frozenset(range(2, len(cols))), priority=rank,
                  wrap=frozenset({1}))
    for config in t.configs():
        row = [config.label]
        chans = []
        for i in range(len(sizes)):
            m = t.get(config, i)
            chans.append("/".join(map(str, m.experiment.channels)))
            here, gpu, cpu = t.normalized(config, i)
            row += [f"{m.speed:.1f}", f"{here:.2f}", f"{gpu:.2f}", f"{cpu:.2f}"]
        row.insert(1, ", ".join(chans))
        table.add(row)
    table.notes.append(trend_sentence(t.trend()))
    return table


def trend_sentence(t: Trend) -> str:
    """One line: the last config against the first at every size, here and in the paper,
    and which config is fastest here."""
    def pct(values: tuple[float, ...]) -> str:
        return " / ".join(f"{100 * (v - 1):+.0f}" for v in values) + " %"

    n = len(t.sizes)
    wins = t.fastest_here.count(t.first)
    best = max(t.configs, key=t.fastest_here.count)  # ties: the earlier row of the table
    return (f"{t.table}: {t.last.label} vs {t.first.label} at {' / '.join(t.sizes)}: "
            f"here {pct(t.here)}; paper GPU {pct(t.paper_gpu)}, ARM {pct(t.paper_cpu)}. "
            f"Fastest here: {t.first.label} at {wins} of {n} sizes"
            + ("" if best == t.first else f" ({best.label} at {t.fastest_here.count(best)})")
            + "; paper ARM fastest: "
            + f"{', '.join(dict.fromkeys(c.label for c in t.fastest_paper_cpu))}.")


def reproduction_payload(rep: Reproduction) -> dict[str, Any]:
    """The JSON of ``convcost guidelines --reproduce``: the measured tables, each trend as its
    numbers (``trend``) and as a sentence (``trend_text``)."""
    out = rep.to_dict()
    for table, t in zip(out["tables"], rep.tables, strict=True):  # type: ignore[call-overload]
        table["trend_text"] = trend_sentence(t.trend())
    return out


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


__all__ = [
    "audit_payload",
    "audit_tables",
    "g1_sentence",
    "g2_sentence",
    "g3_sentence",
    "g4_sentence",
    "ratio_text",
    "reproduction_payload",
    "reproduction_table",
    "reproduction_tables",
    "trend_sentence",
    "verdict_sentences",
]
