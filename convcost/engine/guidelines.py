"""ShuffleNetV2's four guidelines (Ma et al. 2018, arXiv:1807.11164, §2) audited over cost rows.

Pure Python over :class:`~convcost.engine.evaluate.Row` s: no torch. Every metric is defined in
``docs/guidelines.md``; in short (MAC = memory access in elements = ``mem_bytes / itemsize``):

* **G1** (equal channel width minimises MAC): for every pointwise conv (1×1, groups 1),
  ``c1``, ``c2``, its MAC, the G1 lower bound ``2·sqrt(P·B) + B/P`` for its multiply-adds B
  at its P = N·H_out·W_out output positions, and ``excess = MAC / bound - 1``.
* **G2** (excessive group convolution increases MAC): for every grouped conv (groups > 1 and
  not depthwise), its MAC against the conv with groups 1 of the *same multiply-adds and the
  same input* (``c2 / g`` outputs): ``penalty = MAC / MAC_g1 - 1``. For a 1×1 conv at batch 1
  this is ``grouped_pointwise_mac(h, w, c1, B, g) / grouped_pointwise_mac(h, w, c1, B, 1) - 1``.
* **G3** (network fragmentation reduces parallelism): per *block* (see :func:`find_blocks`),
  the ops, the convs, the *small* convs (below ``small_fraction`` of the block's
  multiply-adds) and the parallel branches (the largest number of inputs any join op of the
  block merges: ``add`` 2, ``cat`` of k tensors k; 1 with no join).
* **G4** (elementwise operations are non-negligible): the share of memory access in
  elementwise ops (activations, adds/muls, normalisation), by op label, with depthwise convs
  shown apart (the paper counts them as elementwise too).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from convcost.engine.counters import ACTIVATION_LABELS, ELEMENTWISE_LABELS
from convcost.engine.evaluate import Row
from convcost.errors import InvalidArgumentError
from convcost.formulas.memory_access import pointwise_mac_lower_bound

ACTIVATION_OPS = ACTIVATION_LABELS
"""Activation labels of the engine's counters."""

ELEMENTWISE_OPS = ELEMENTWISE_LABELS
"""Op labels G4 counts as elementwise (the paper's ReLU, AddTensor, AddBias, ...): every label
of the engine's elementwise counters."""

DATA_MOVEMENT_OPS = frozenset({"cat", "copy", "pad", "fill"})
"""Labels that only move data: concat, channel shuffle (a ``copy``), padding, fills."""

JOIN_OPS = frozenset({"add", "cat"})
"""Labels that can merge parallel branches (``cat`` also covers ``stack``)."""

G4_CATEGORIES = ("conv/linear", "depthwise", "elementwise", "data movement", "other")


# --- records ------------------------------------------------------------------------------------


def ratio_text(c1: int, c2: int) -> str:
    """``c1:c2`` reduced to ``1:x`` or ``x:1`` (one decimal unless whole): 64, 256 → ``1:4``."""
    def num(v: float) -> str:
        return f"{v:.0f}" if abs(v - round(v)) < 0.05 else f"{v:.1f}"

    return f"1:{num(c2 / c1)}" if c2 >= c1 else f"{num(c1 / c2)}:1"


@dataclass(frozen=True)
class G1Record:
    """One pointwise conv against the G1 bound for its multiply-adds."""

    index: int
    name: str
    c1: int
    c2: int
    positions: int  # P = N·H_out·W_out
    madds: int
    mac: int  # elements
    bound: float  # 2·sqrt(P·B) + B/P elements

    @property
    def excess(self) -> float:
        return self.mac / self.bound - 1.0

    @property
    def ratio(self) -> str:
        return ratio_text(self.c1, self.c2)

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "index": self.index, "c1": self.c1, "c2": self.c2,
                "ratio": self.ratio, "positions": self.positions, "madds": self.madds,
                "mac": self.mac, "mac_lower_bound": self.bound, "excess": self.excess}


@dataclass(frozen=True)
class G2Record:
    """One grouped conv against the groups-1 conv of equal multiply-adds and input."""

    index: int
    name: str
    c1: int
    c2: int
    groups: int
    kernel: tuple[int, ...]
    madds: int
    mac: int  # elements
    mac_g1: int  # elements of the groups-1 conv with c2/g outputs

    @property
    def penalty(self) -> float:
        return self.mac / self.mac_g1 - 1.0

    @property
    def pointwise(self) -> bool:
        return all(k == 1 for k in self.kernel)

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "index": self.index, "c1": self.c1, "c2": self.c2,
                "groups": self.groups, "kernel": list(self.kernel),
                "pointwise": self.pointwise, "madds": self.madds, "mac": self.mac,
                "mac_groups_1": self.mac_g1, "penalty": self.penalty}


@dataclass(frozen=True)
class G3Record:
    """One block's fragmentation."""

    name: str
    module: str
    ops: int
    convs: int
    small_convs: int
    branches: int
    joins: int
    madds: int

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "module": self.module, "ops": self.ops,
                "convs": self.convs, "small_convs": self.small_convs,
                "branches": self.branches, "joins": self.joins, "madds": self.madds}


@dataclass(frozen=True)
class G4Record:
    """One op label's memory access (and, when timed, its time) in the whole model."""

    op: str
    category: str
    count: int
    mem_bytes: int
    share: float  # of the model's memory access
    time_share: float | None = None

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"op": self.op, "category": self.category, "count": self.count,
                                "mem_bytes": self.mem_bytes, "share": self.share}
        if self.time_share is not None:
            d["time_share"] = self.time_share
        return d


@dataclass(frozen=True)
class GuidelinesAudit:
    """Per-guideline records, summaries and one-line verdicts."""

    g1: tuple[G1Record, ...]
    g2: tuple[G2Record, ...]
    g3: tuple[G3Record, ...]
    g4: tuple[G4Record, ...]
    g4_categories: dict[str, float]  # category -> share of memory access
    g4_time_categories: dict[str, float] | None
    tolerance: float
    small_fraction: float
    fold_bn: bool
    block_rule: str
    verdicts: dict[str, str] = field(default_factory=dict)

    @property
    def g1_total_excess(self) -> float | None:
        """Σ MAC / Σ bound - 1 over every pointwise conv (None without pointwise convs)."""
        bound = math.fsum(r.bound for r in self.g1)
        return sum(r.mac for r in self.g1) / bound - 1.0 if bound else None

    @property
    def elementwise_share(self) -> float:
        return self.g4_categories.get("elementwise", 0.0)

    def worst(self, guideline: str, top: int | None = None) -> list[Any]:
        """The records of one guideline, worst first (G1 excess, G2 penalty, G3 fragmentation,
        G4 elementwise memory access)."""
        recs: list[Any]
        if guideline == "g1":
            recs = sorted(self.g1, key=lambda r: (-r.excess, r.index))
        elif guideline == "g2":
            recs = sorted(self.g2, key=lambda r: (-r.penalty, r.index))
        elif guideline == "g3":
            recs = sorted(self.g3, key=lambda r: (-r.branches, -r.small_convs, -r.convs,
                                                  -r.ops))
        elif guideline == "g4":
            recs = sorted((r for r in self.g4 if r.category == "elementwise"),
                          key=lambda r: -r.mem_bytes)
        else:
            raise InvalidArgumentError(f"guideline must be g1, g2, g3 or g4, got {guideline!r}")
        return recs if top is None else recs[:top]

    def to_dict(self) -> dict[str, object]:
        return {
            "verdicts": dict(self.verdicts),
            "g1": {"tolerance": self.tolerance, "total_excess": self.g1_total_excess,
                   "convs": [r.as_dict() for r in self.g1]},
            "g2": {"convs": [r.as_dict() for r in self.g2]},
            "g3": {"block_rule": self.block_rule, "small_fraction": self.small_fraction,
                   "blocks": [r.as_dict() for r in self.g3]},
            "g4": {"fold_bn": self.fold_bn, "elementwise_share": self.elementwise_share,
                   "categories": dict(self.g4_categories),
                   "time_categories": (None if self.g4_time_categories is None
                                       else dict(self.g4_time_categories)),
                   "ops": [r.as_dict() for r in self.g4]},
        }


# --- conv rows ----------------------------------------------------------------------------------


def _conv_rows(rows: Iterable[Row]) -> list[Row]:
    return [r for r in rows if r.conv_kind is not None and r.in_shapes and r.out_shape]


# --- G1, G2 -------------------------------------------------------------------------------------


def _mac(row: Row, itemsize: int) -> int:
    return row.cost.mem_bytes // itemsize


def g1_records(rows: Sequence[Row], itemsize: int = 4) -> list[G1Record]:
    """Every pointwise conv (1×1, groups 1) with its MAC and the G1 bound at its madds."""
    out = []
    for r in _conv_rows(rows):
        # G1's setting: input and output on the same h×w (a strided 1×1 conv reads 4× the
        # positions it writes, which is no channel-ratio effect)
        if (r.conv_kind != "pointwise" or r.cost.madds <= 0
                or r.in_shapes[0][2:] != r.out_shape[2:]):
            continue
        c1, c2 = r.in_shapes[0][1], r.out_shape[1]
        positions = r.out_shape[0] * math.prod(r.out_shape[2:])
        bound = pointwise_mac_lower_bound(positions, 1, r.cost.madds)
        out.append(G1Record(r.index, r.name, c1, c2, positions, r.cost.madds,
                            _mac(r, itemsize), bound))
    return out


def g2_records(rows: Sequence[Row], itemsize: int = 4) -> list[G2Record]:
    """Every grouped conv (groups > 1, not depthwise) with its MAC penalty over groups 1.

    The groups-1 conv of equal multiply-adds reads the same input and writes ``c2/g``
    channels: ``MAC_g1 = MAC - P·c2·(1 - 1/g)`` with P = N·H_out·W_out.
    """
    out = []
    for r in _conv_rows(rows):
        if r.conv_kind != "grouped":
            continue
        groups = r.groups or 1
        if groups <= 1:
            continue
        c1, c2 = r.in_shapes[0][1], r.out_shape[1]
        positions = r.out_shape[0] * math.prod(r.out_shape[2:])
        mac = _mac(r, itemsize)
        mac_g1 = mac - positions * c2 + positions * c2 // groups
        out.append(G2Record(r.index, r.name, c1, c2, groups, r.kernel or (), r.cost.madds,
                            mac, mac_g1))
    return out


# --- G3 -----------------------------------------------------------------------------------------


def _ancestors(scope: str) -> list[str]:
    """``a.b.c`` → ``["a.b.c", "a.b", "a", ""]`` (innermost first, the root last)."""
    parts = scope.split(".") if scope else []
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)] + [""]


def join_arity(row: Row) -> int:
    """How many activations a join row merges (0 if it is not a join).

    ``add`` of two tensors with the output's shape (not a scalar, not a broadcast gate), or
    ``cat`` of k tensors.
    """
    if row.op not in JOIN_OPS:
        return 0
    parts = [s for s in row.in_shapes if len(s) == len(row.out_shape) and math.prod(s) > 1]
    if row.op == "add":
        return 2 if len(parts) >= 2 and all(s == row.out_shape for s in parts[:2]) else 0
    return len(parts) if len(parts) >= 2 else 0


def find_blocks(rows: Sequence[Row], modules: Mapping[str, str] | None = None,
                depth: int | None = None) -> tuple[list[str], str]:
    """The blocks of a model (module scopes) and the rule that chose them.

    * ``depth`` given: every module at that depth (``layer1.0`` is depth 2) that runs a conv.
    * otherwise, *join classes*: the classes of the modules that themselves run a join op
      (an ``add`` of two activations or a ``cat``); every module of such a class that runs a
      conv is a block (so a ResNet ``Bottleneck`` or a MobileNetV2 ``InvertedResidual`` is a
      block with or without its shortcut);
    * a model with no join: the deepest modules containing at least two convs.

    An op belongs to its innermost enclosing block; ops in no block (stem, head) are left out.
    """
    convs = _conv_rows(rows)
    conv_scopes = {s for r in convs for s in _ancestors(r.name)}
    if depth is not None:
        if depth < 0:
            raise InvalidArgumentError(f"block depth must be >= 0, got {depth}")
        found = sorted({".".join(r.name.split(".")[:depth]) for r in convs
                        if (r.name.count(".") + 1 if r.name else 0) >= depth},
                       key=lambda s: _first_index(rows, s))
        return found, f"modules at depth {depth} that run a conv"
    classes = dict(modules or {})
    for r in rows:
        classes.setdefault(r.name, r.module)
    join_classes = {classes.get(r.name, "") for r in rows if join_arity(r)}
    join_classes.discard("")
    if join_classes:
        found = [s for s in conv_scopes if classes.get(s) in join_classes]
        names = ", ".join(sorted(join_classes))
        rule = f"modules of the classes that run a join (add/cat) themselves: {names}"
    else:
        counts: dict[str, int] = {}
        for r in convs:
            for s in _ancestors(r.name):
                counts[s] = counts.get(s, 0) + 1
        multi = {s for s, n in counts.items() if n >= 2}
        found = [s for s in multi if not any(
            o != s and (s == "" or o.startswith(s + ".")) for o in multi)]
        rule = "no join op: the deepest modules containing at least two convs"
    return sorted(found, key=lambda s: _first_index(rows, s)), rule


def _first_index(rows: Sequence[Row], scope: str) -> int:
    for r in rows:
        if r.name == scope or scope == "" or r.name.startswith(scope + "."):
            return r.index
    return len(rows)


def g3_records(rows: Sequence[Row], modules: Mapping[str, str] | None = None,
               small_fraction: float = 0.1,
               depth: int | None = None) -> tuple[list[G3Record], str]:
    """Per block: ops, convs, small convs, branches and joins (see :func:`find_blocks`)."""
    if not 0 <= small_fraction < 1:
        raise InvalidArgumentError(f"small fraction must be in [0, 1), got {small_fraction}")
    blocks, rule = find_blocks(rows, modules, depth)
    members: dict[str, list[Row]] = {b: [] for b in blocks}
    block_set = set(blocks)
    for r in rows:
        if r.op == "unused_params":
            continue
        owner = next((s for s in _ancestors(r.name) if s in block_set), None)
        if owner is not None:
            members[owner].append(r)
    classes = dict(modules or {})
    for r in rows:
        classes.setdefault(r.name, r.module)
    out = []
    for b in blocks:
        mine = members[b]
        madds = sum(r.cost.madds for r in mine)
        convs = [r for r in mine if r.conv_kind is not None]
        small = sum(1 for r in convs if r.cost.madds < small_fraction * madds)
        arities = [a for a in (join_arity(r) for r in mine) if a]
        out.append(G3Record(b, classes.get(b, ""), len(mine), len(convs), small,
                            max(arities, default=1), len(arities), madds))
    return out, rule


# --- G4 -----------------------------------------------------------------------------------------


def category(row: Row) -> str:
    """The G4 category of a row: conv/linear, depthwise, elementwise, data movement, other."""
    if row.conv_kind == "depthwise":
        return "depthwise"
    if row.cost.madds > 0 or row.conv_kind is not None:
        return "conv/linear"
    if row.op in ELEMENTWISE_OPS:
        return "elementwise"
    if row.op in DATA_MOVEMENT_OPS:
        return "data movement"
    return "other"


def g4_records(rows: Sequence[Row], fold_bn: bool = False,
               times_s: Mapping[int, float] | None = None
               ) -> tuple[list[G4Record], dict[str, float], dict[str, float] | None]:
    """Memory access (and time, given per-row seconds by row index) per op label and category.

    ``fold_bn``: BatchNorm folded into the preceding conv at inference, so its rows are left
    out of the model's total as well.
    """
    kept = [r for r in rows if r.op != "unused_params" and not (fold_bn and r.op == "batch_norm")]
    total = sum(r.cost.mem_bytes for r in kept)
    per: dict[tuple[str, str], list[int]] = {}
    cat_bytes = dict.fromkeys(G4_CATEGORIES, 0)
    cat_time = dict.fromkeys(G4_CATEGORIES, 0.0)
    label_time: dict[tuple[str, str], float] = {}
    for r in kept:
        key = (r.op, category(r))
        acc = per.setdefault(key, [0, 0])
        acc[0] += 1
        acc[1] += r.cost.mem_bytes
        cat_bytes[key[1]] += r.cost.mem_bytes
        if times_s is not None:
            t = times_s.get(r.index, 0.0)
            cat_time[key[1]] += t
            label_time[key] = label_time.get(key, 0.0) + t
    total_time = math.fsum(cat_time.values())
    records = [
        G4Record(op, cat, n, b, b / total if total else 0.0,
                 None if times_s is None or not total_time else label_time[(op, cat)] / total_time)
        for (op, cat), (n, b) in sorted(per.items(), key=lambda kv: -kv[1][1])
    ]
    shares = {c: (b / total if total else 0.0) for c, b in cat_bytes.items()}
    time_shares = None if times_s is None or not total_time else {
        c: t / total_time for c, t in cat_time.items()}
    return records, shares, time_shares


def row_times(rows: Sequence[Row], scope_seconds: Mapping[str, float]) -> dict[int, float]:
    """Seconds per row index from measured *self* seconds per module scope.

    A scope's self time (its own ops, as a profiler's module ranges give it) is shared among
    that scope's rows in proportion to their memory access (equally when all are zero): a
    leaf module such as ``Conv2d`` or ``ReLU`` has one row per call and gets it all.
    """
    by_scope: dict[str, list[Row]] = {}
    for r in rows:
        if r.op != "unused_params":
            by_scope.setdefault(r.name, []).append(r)
    out: dict[int, float] = {}
    for scope, mine in by_scope.items():
        t = scope_seconds.get(scope, 0.0)
        total = sum(r.cost.mem_bytes for r in mine)
        for r in mine:
            out[r.index] = t * (r.cost.mem_bytes / total if total else 1 / len(mine))
    return out


# --- the audit and its verdicts -----------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{100 * x:+.0f} %" if abs(x) >= 0.005 else "+0 %"


def _verdict_g1(recs: Sequence[G1Record], tolerance: float, total: float | None) -> str:
    if not recs:
        return "G1: no 1×1 convs with groups 1; nothing to check."
    ok = sum(1 for r in recs if r.excess <= tolerance)
    worst = max(recs, key=lambda r: r.excess)
    return (f"G1: {ok} of {len(recs)} 1×1 convs within {100 * tolerance:.0f} % of the minimum "
            f"memory access for their multiply-adds; worst {_pct(worst.excess)} in "
            f"{worst.name or '(root)'} (c1:c2 = {worst.ratio}); all together "
            f"{_pct(total or 0.0)}.")


def _verdict_g2(recs: Sequence[G2Record]) -> str:
    if not recs:
        return "G2: no grouped convs (depthwise convs excluded); no group-conv penalty."
    groups = sorted({r.groups for r in recs})
    pw = sum(1 for r in recs if r.pointwise)
    worst = max(recs, key=lambda r: r.penalty)
    med = statistics.median(r.penalty for r in recs)
    return (f"G2: {len(recs)} grouped convs ({pw} pointwise), g = "
            f"{', '.join(map(str, groups))}; median memory-access penalty {_pct(med)} over "
            f"groups 1 at equal multiply-adds, worst {_pct(worst.penalty)} in "
            f"{worst.name or '(root)'} (g = {worst.groups}).")


def _verdict_g3(recs: Sequence[G3Record], small_fraction: float) -> str:
    if not recs:
        return "G3: no blocks found; nothing to check."
    med_ops = statistics.median(r.ops for r in recs)
    med_convs = statistics.median(r.convs for r in recs)
    med_br = statistics.median(r.branches for r in recs)
    worst = sorted(recs, key=lambda r: (-r.branches, -r.small_convs, -r.convs, -r.ops))[0]
    return (f"G3: {len(recs)} blocks; median {med_ops:g} ops, {med_convs:g} convs, "
            f"{med_br:g} branch(es) per block; most fragmented {worst.name or '(root)'} "
            f"({worst.branches} branch(es), {worst.convs} convs of which {worst.small_convs} "
            f"below {100 * small_fraction:.0f} % of its multiply-adds, {worst.ops} ops).")


def _verdict_g4(recs: Sequence[G4Record], shares: Mapping[str, float],
                time_shares: Mapping[str, float] | None, fold_bn: bool) -> str:
    ew = shares.get("elementwise", 0.0)
    dw = shares.get("depthwise", 0.0)
    top = [r for r in recs if r.category == "elementwise"][:3]
    named = ", ".join(f"{r.op} {100 * r.share:.0f} %" for r in top)
    text = (f"G4: elementwise ops are {100 * ew:.0f} % of memory access"
            f"{' (BN folded)' if fold_bn else ''}")
    if dw:
        text += f", {100 * (ew + dw):.0f} % with depthwise convs as the paper counts them"
    if time_shares is not None:
        text += f"; {100 * time_shares.get('elementwise', 0.0):.0f} % of measured time"
    return text + (f"; largest: {named}." if named else ".")


def audit(
    rows: Sequence[Row],
    *,
    itemsize: int = 4,
    modules: Mapping[str, str] | None = None,
    tolerance: float = 0.05,
    small_fraction: float = 0.1,
    block_depth: int | None = None,
    fold_bn: bool = False,
    times_s: Mapping[int, float] | None = None,
) -> GuidelinesAudit:
    """Audit cost rows against ShuffleNetV2's four guidelines.

    ``itemsize``: bytes per element of the analysed dtype (MAC is in elements).
    ``modules``: scope → class (``Evaluation.modules``) for the block rule.
    ``tolerance``: G1 excess counted as "at the
    minimum". ``small_fraction``: G3 small-conv threshold. ``block_depth``: G3 blocks at a
    fixed depth instead of the join rule. ``times_s``: measured seconds per row index (G4's
    time share).
    """
    if itemsize < 1:
        raise InvalidArgumentError(f"itemsize must be >= 1, got {itemsize}")
    if tolerance < 0:
        raise InvalidArgumentError(f"tolerance must be >= 0, got {tolerance}")
    g1 = g1_records(rows, itemsize)
    g2 = g2_records(rows, itemsize)
    g3, rule = g3_records(rows, modules, small_fraction, block_depth)
    g4, shares, time_shares = g4_records(rows, fold_bn, times_s)
    result = GuidelinesAudit(tuple(g1), tuple(g2), tuple(g3), tuple(g4), shares, time_shares,
                             tolerance, small_fraction, fold_bn, rule)
    result.verdicts.update({
        "g1": _verdict_g1(g1, tolerance, result.g1_total_excess),
        "g2": _verdict_g2(g2),
        "g3": _verdict_g3(g3, small_fraction),
        "g4": _verdict_g4(g4, shares, time_shares, fold_bn),
    })
    return result


__all__ = [
    "ACTIVATION_OPS",
    "DATA_MOVEMENT_OPS",
    "ELEMENTWISE_OPS",
    "G4_CATEGORIES",
    "JOIN_OPS",
    "G1Record",
    "G2Record",
    "G3Record",
    "G4Record",
    "GuidelinesAudit",
    "audit",
    "category",
    "find_blocks",
    "g1_records",
    "g2_records",
    "g3_records",
    "g4_records",
    "join_arity",
    "ratio_text",
    "row_times",
]
