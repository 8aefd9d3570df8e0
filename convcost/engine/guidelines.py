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

Each guideline's records are summed up in a verdict record (:class:`G1Verdict` ..
:class:`G4Verdict`, numbers only); :mod:`convcost.report.guidelines` words them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from convcost.engine.counters import ACTIVATION_LABELS, ELEMENTWISE_LABELS
from convcost.engine.evaluate import Row
from convcost.engine.labels import labels
from convcost.engine.registry import Family
from convcost.errors import InvalidArgumentError
from convcost.formulas.memory_access import pointwise_mac_lower_bound

ACTIVATION_OPS = ACTIVATION_LABELS
"""Activation labels of the engine's counters."""

ELEMENTWISE_OPS = ELEMENTWISE_LABELS
"""Op labels G4 counts as elementwise (the paper's ReLU, AddTensor, AddBias, ...): every label
of the engine's elementwise counters."""

DATA_MOVEMENT_OPS = labels(Family.MOVEMENT, Family.FILL)
"""Labels that only move data: concat, channel shuffle (a ``copy``), padding, repeats, rolls,
gathers and index lookups, fills: the engine's movement and fill families."""

JOIN_OPS = frozenset({"add", "cat"})
"""Labels that can merge parallel branches (``cat`` also covers ``stack``)."""

G4_CATEGORIES = ("conv/linear", "depthwise", "elementwise", "data movement", "other")


# --- records ------------------------------------------------------------------------------------


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

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "index": self.index, "c1": self.c1, "c2": self.c2,
                "positions": self.positions, "madds": self.madds, "mac": self.mac,
                "mac_lower_bound": self.bound, "excess": self.excess}


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


# --- worst first ---------------------------------------------------------------------------------


def _g1_rank(r: G1Record) -> tuple[float, int]:
    return (-r.excess, r.index)


def _g2_rank(r: G2Record) -> tuple[float, int]:
    return (-r.penalty, r.index)


def _g3_rank(r: G3Record) -> tuple[int, int, int, int]:
    return (-r.branches, -r.small_convs, -r.convs, -r.ops)


def _elementwise_by_size(records: Iterable[G4Record]) -> list[G4Record]:
    return sorted((r for r in records if r.category == "elementwise"), key=lambda r: -r.mem_bytes)


# --- verdicts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class G1Verdict:
    """G1 over a model: its pointwise convs against the minimum memory access for their
    multiply-adds."""

    convs: int  # pointwise convs checked
    within_tolerance: int  # of them, those with excess <= tolerance
    tolerance: float
    worst: G1Record | None  # the largest excess; None without pointwise convs
    total_excess: float | None  # Σ MAC / Σ bound - 1; None without pointwise convs

    def as_dict(self) -> dict[str, object]:
        return {"convs": self.convs, "within_tolerance": self.within_tolerance,
                "tolerance": self.tolerance, "total_excess": self.total_excess,
                "worst": None if self.worst is None else self.worst.as_dict()}


@dataclass(frozen=True)
class G2Verdict:
    """G2 over a model: its grouped convs' memory-access penalty over groups 1."""

    convs: int  # grouped convs (depthwise excluded)
    pointwise: int  # of them, those with a 1×1 kernel
    groups: tuple[int, ...]  # the distinct group counts, ascending
    median_penalty: float | None  # None without grouped convs
    worst: G2Record | None  # the largest penalty

    def as_dict(self) -> dict[str, object]:
        return {"convs": self.convs, "pointwise": self.pointwise, "groups": list(self.groups),
                "median_penalty": self.median_penalty,
                "worst": None if self.worst is None else self.worst.as_dict()}


@dataclass(frozen=True)
class G3Verdict:
    """G3 over a model: the fragmentation of a typical block and of the worst one."""

    blocks: int
    median_ops: float | None  # per block; None without blocks
    median_convs: float | None
    median_branches: float | None
    most_fragmented: G3Record | None  # first in :meth:`GuidelinesAudit.worst` order
    small_fraction: float  # the small-conv threshold its records were counted with

    def as_dict(self) -> dict[str, object]:
        return {"blocks": self.blocks, "median_ops": self.median_ops,
                "median_convs": self.median_convs, "median_branches": self.median_branches,
                "most_fragmented": (None if self.most_fragmented is None
                                    else self.most_fragmented.as_dict()),
                "small_fraction": self.small_fraction}


@dataclass(frozen=True)
class G4Verdict:
    """G4 over a model: the elementwise share of memory access (and of time, when timed)."""

    elementwise_share: float  # of the model's memory access
    depthwise_share: float
    time_share: float | None  # elementwise share of the measured time; None untimed
    largest: tuple[G4Record, ...]  # the elementwise op labels with the most memory access
    fold_bn: bool

    @property
    def paper_share(self) -> float:
        """Elementwise with depthwise convs, as the paper counts them."""
        return self.elementwise_share + self.depthwise_share

    def as_dict(self) -> dict[str, object]:
        return {"elementwise_share": self.elementwise_share,
                "depthwise_share": self.depthwise_share, "paper_share": self.paper_share,
                "time_share": self.time_share,
                "largest": [r.as_dict() for r in self.largest], "fold_bn": self.fold_bn}


@dataclass(frozen=True)
class Verdicts:
    """One verdict per guideline."""

    g1: G1Verdict
    g2: G2Verdict
    g3: G3Verdict
    g4: G4Verdict


def total_excess(records: Sequence[G1Record]) -> float | None:
    """Σ MAC / Σ bound - 1 over pointwise convs (None without any)."""
    bound = math.fsum(r.bound for r in records)
    return sum(r.mac for r in records) / bound - 1.0 if bound else None


def g1_verdict(records: Sequence[G1Record], tolerance: float) -> G1Verdict:
    return G1Verdict(len(records), sum(1 for r in records if r.excess <= tolerance), tolerance,
                     min(records, key=_g1_rank, default=None), total_excess(records))


def g2_verdict(records: Sequence[G2Record]) -> G2Verdict:
    return G2Verdict(len(records), sum(1 for r in records if r.pointwise),
                     tuple(sorted({r.groups for r in records})),
                     statistics.median(r.penalty for r in records) if records else None,
                     min(records, key=_g2_rank, default=None))


def g3_verdict(records: Sequence[G3Record], small_fraction: float) -> G3Verdict:
    def median(values: list[int]) -> float | None:
        return float(statistics.median(values)) if values else None

    return G3Verdict(len(records), median([r.ops for r in records]),
                     median([r.convs for r in records]), median([r.branches for r in records]),
                     min(records, key=_g3_rank, default=None), small_fraction)


LARGEST_ELEMENTWISE = 3
"""How many elementwise op labels :class:`G4Verdict` names."""


def g4_verdict(records: Sequence[G4Record], shares: Mapping[str, float],
               time_shares: Mapping[str, float] | None, fold_bn: bool) -> G4Verdict:
    return G4Verdict(shares.get("elementwise", 0.0), shares.get("depthwise", 0.0),
                     None if time_shares is None else time_shares.get("elementwise", 0.0),
                     tuple(_elementwise_by_size(records)[:LARGEST_ELEMENTWISE]), fold_bn)


# --- the audit ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuidelinesAudit:
    """Per-guideline records and summaries; :attr:`verdicts` sums each guideline up in numbers
    (the sentences are :mod:`convcost.report.guidelines`')."""

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

    @property
    def g1_total_excess(self) -> float | None:
        """Σ MAC / Σ bound - 1 over every pointwise conv (None without pointwise convs)."""
        return total_excess(self.g1)

    @property
    def elementwise_share(self) -> float:
        return self.g4_categories.get("elementwise", 0.0)

    @property
    def verdicts(self) -> Verdicts:
        return Verdicts(g1_verdict(self.g1, self.tolerance), g2_verdict(self.g2),
                        g3_verdict(self.g3, self.small_fraction),
                        g4_verdict(self.g4, self.g4_categories, self.g4_time_categories,
                                   self.fold_bn))

    def worst(self, guideline: str, top: int | None = None) -> list[Any]:
        """The records of one guideline, worst first (G1 excess, G2 penalty, G3 fragmentation,
        G4 elementwise memory access)."""
        recs: list[Any]
        if guideline == "g1":
            recs = sorted(self.g1, key=_g1_rank)
        elif guideline == "g2":
            recs = sorted(self.g2, key=_g2_rank)
        elif guideline == "g3":
            recs = sorted(self.g3, key=_g3_rank)
        elif guideline == "g4":
            recs = _elementwise_by_size(self.g4)
        else:
            raise InvalidArgumentError(f"guideline must be g1, g2, g3 or g4, got {guideline!r}")
        return recs if top is None else recs[:top]

    def to_dict(self) -> dict[str, Any]:
        """Every record and verdict as numbers (``convcost guidelines --format json`` adds the
        sentences and the c1:c2 text: :func:`convcost.report.guidelines.audit_payload`)."""
        v = self.verdicts
        return {
            "g1": {"tolerance": self.tolerance, "total_excess": self.g1_total_excess,
                   "verdict": v.g1.as_dict(), "convs": [r.as_dict() for r in self.g1]},
            "g2": {"verdict": v.g2.as_dict(), "convs": [r.as_dict() for r in self.g2]},
            "g3": {"block_rule": self.block_rule, "small_fraction": self.small_fraction,
                   "verdict": v.g3.as_dict(), "blocks": [r.as_dict() for r in self.g3]},
            "g4": {"fold_bn": self.fold_bn, "elementwise_share": self.elementwise_share,
                   "categories": dict(self.g4_categories),
                   "time_categories": (None if self.g4_time_categories is None
                                       else dict(self.g4_time_categories)),
                   "verdict": v.g4.as_dict(), "ops": [r.as_dict() for r in self.g4]},
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


# --- the audit ----------------------------------------------------------------------------------


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
    return GuidelinesAudit(tuple(g1), tuple(g2), tuple(g3), tuple(g4), shares, time_shares,
                           tolerance, small_fraction, fold_bn, rule)


__all__ = [
    "ACTIVATION_OPS",
    "DATA_MOVEMENT_OPS",
    "ELEMENTWISE_OPS",
    "G4_CATEGORIES",
    "JOIN_OPS",
    "LARGEST_ELEMENTWISE",
    "G1Record",
    "G1Verdict",
    "G2Record",
    "G2Verdict",
    "G3Record",
    "G3Verdict",
    "G4Record",
    "G4Verdict",
    "GuidelinesAudit",
    "Verdicts",
    "audit",
    "category",
    "find_blocks",
    "g1_records",
    "g1_verdict",
    "g2_records",
    "g2_verdict",
    "g3_records",
    "g3_verdict",
    "g4_records",
    "g4_verdict",
    "join_arity",
    "row_times",
    "total_excess",
]
