"""The records of ``convcost summary``: the torchinfo / torchsummary layer table and totals.

Built from one :class:`~convcost.records.analysis.Analysis` (module calls with their
input/output shapes, op rows with convcost's mult-adds) and what
:func:`convcost.capture.modules.module_infos` read of the model (numel, ``requires_grad``,
names, ``kernel_size``). Numbers stay ints; :mod:`convcost.report.summary` renders them.

Definitions, read in torchinfo 1.8.0 (``model_statistics.py``, ``layer_info.py``,
``torchinfo.py``, ``formatting.py``) and torchsummary's printed figures:

* rows (torchinfo): every module call in call order (a module called again is a new row,
  marked ``(recursive)``), plus containers that are never called themselves (``ModuleList``)
  inserted above their first child; depth = nesting in the module tree; ``d-i`` numbers the
  i-th row at depth d over the whole model. Rows deeper than ``depth`` are hidden; a row at
  ``depth`` shows its recursive parameter count, a shallower container only the parameters
  its children do not hold.
* rows (torchsummary): every module call except the root, ``nn.Sequential`` and
  ``nn.ModuleList`` (subclasses included), in the order the calls return, named
  ``Class-k``; the batch dimension is printed as -1 at batch 1; ``Param #`` is the module's
  own parameters (weight and bias), 0 on a repeated call. A model that is a single layer
  keeps its own row (torchsummary prints an empty table for it).
* Total / trainable params: convcost's unique parameters (tied weights once) and those with
  ``requires_grad``. Both tools agree on models without tied weights.
* Input size: input numel × bytes per element (torchinfo adds ``sys.getsizeof`` of the
  storage object, a constant 64 bytes per input on torch 2.13).
* Forward/backward pass size: torchinfo = 2 × the first output's bytes of every call of a
  leaf module that has parameters; torchsummary = 2 × the first output's bytes of every row
  it shows.
* Params size: unique parameters × bytes per element (at the analysed dtype). torchinfo
  sums leaf modules only, so a parameter held by a container itself (or a module that never
  ran) is missing from its figure; the zoo has none.
* MB: torchinfo 10⁶ bytes; torchsummary 2²⁰ bytes. Two decimals in both.
* Total mult-adds: convcost's analytic ``madds`` (bias and normalisation excluded,
  docs/conventions.md). torchinfo's own convention is computed too
  (:attr:`SummaryTotals.torchinfo_mult_adds`, a footnote line): per call of a leaf module,
  for each parameter named ``weight``/``bias``: numel × N × ∏ output spatial dims when the
  class name contains "Conv", else numel × N; other parameters whose name contains
  "weight"/"bias": numel × N × output channels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convcost.errors import InvalidArgumentError
from convcost.formulas import itemsize_of

if TYPE_CHECKING:
    from convcost.capture.modules import ModuleInfo
    from convcost.records.analysis import Analysis

STYLES = ("torchinfo", "torchsummary")
# torchinfo's column names (``col_names``) and their header titles
COLUMNS: dict[str, str] = {
    "input_size": "Input Shape",
    "output_size": "Output Shape",
    "num_params": "Param #",
    "params_percent": "Param %",
    "kernel_size": "Kernel Shape",
    "mult_adds": "Mult-Adds",
    "trainable": "Trainable",
}
DEFAULT_COLUMNS = ("output_size", "num_params")
MB = {"torchinfo": 10**6, "torchsummary": 2**20}

@dataclass(frozen=True)
class SummaryRow:
    """One row of the layer table (one call of one module)."""

    scope: str  # module path, "" = the root
    module: str  # class name
    depth: int
    depth_index: int  # torchinfo's "d-i": the i-th row at this depth, model-wide
    call: int
    leaf: bool
    executed: bool  # False: a container listed only to show the tree (never called itself)
    recursive: bool  # a module already listed (its parameters are not counted again)
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    output_bytes: int  # the first output tensor's bytes
    params: int  # recursive parameter count of the module
    trainable_params: int
    leftover_params: int  # params not held by the rows below it (torchinfo's leftover)
    own_params: int  # the module's own parameters
    kernel_size: tuple[int, ...] | int | None
    mult_adds: int  # convcost madds of this call (leaf) or of the subtree (container)
    torchinfo_mult_adds: int  # torchinfo's convention for this call (leaf modules)
    finished: int = -1  # rank in return order (torchsummary's row order)
    container: bool = False  # nn.Sequential / nn.ModuleList: torchsummary shows no row

    @property
    def label(self) -> str:
        return self.module if self.depth == 0 else f"{self.module}: {self.depth}-" \
            f"{self.depth_index}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.scope, "module": self.module, "depth": self.depth,
            "depth_index": self.depth_index, "call": self.call, "leaf": self.leaf,
            "executed": self.executed, "recursive": self.recursive,
            "input_shape": None if self.input_shape is None else list(self.input_shape),
            "output_shape": None if self.output_shape is None else list(self.output_shape),
            "output_bytes": self.output_bytes, "params": self.params,
            "trainable_params": self.trainable_params, "own_params": self.own_params,
            "kernel_size": (list(self.kernel_size) if isinstance(self.kernel_size, tuple)
                            else self.kernel_size),
            "madds": self.mult_adds, "torchinfo_mult_adds": self.torchinfo_mult_adds,
        }


@dataclass(frozen=True)
class SummaryTotals:
    """The totals block, in bytes and counts (ints), under one style's definitions."""

    total_params: int
    trainable_params: int
    mult_adds: int  # convcost madds
    torchinfo_mult_adds: int  # torchinfo's convention, for comparison
    input_bytes: int
    forward_backward_bytes: int
    params_bytes: int
    megabyte: int  # bytes per "MB" in this style

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def total_bytes(self) -> int:
        return self.input_bytes + self.forward_backward_bytes + self.params_bytes

    def mb(self, nbytes: int) -> str:
        return f"{nbytes / self.megabyte:0.2f}"

    def as_dict(self) -> dict[str, int]:
        return {
            "total_params": self.total_params, "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params, "mult_adds": self.mult_adds,
            "torchinfo_mult_adds": self.torchinfo_mult_adds, "input_bytes": self.input_bytes,
            "forward_backward_bytes": self.forward_backward_bytes,
            "params_bytes": self.params_bytes, "total_bytes": self.total_bytes,
            "megabyte": self.megabyte,
        }


@dataclass(frozen=True)
class Summary:
    """A model summary: all rows (also the hidden ones), totals, and how to show them."""

    model: str
    inputs: tuple[tuple[int, ...], ...]
    dtype: str
    style: str
    depth: int
    columns: tuple[str, ...]
    rows: tuple[SummaryRow, ...]  # torchinfo's list: every call + inserted containers
    totals: SummaryTotals
    batch: int = 1
    notes: tuple[str, ...] = field(default=())
    unsupported: dict[str, int] = field(default_factory=dict)  # ops the totals leave out

    @property
    def shown(self) -> tuple[SummaryRow, ...]:
        """The rows the table shows in this style."""
        if self.style == "torchsummary":
            return tuple(sorted(filter(is_torchsummary_row, self.rows), key=lambda r: r.finished))
        return tuple(r for r in self.rows if r.depth <= self.depth)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "input": list(self.inputs[0]) if self.inputs else [],
            "inputs": [list(s) for s in self.inputs],
            "dtype": self.dtype,
            "style": self.style,
            "depth": self.depth,
            "columns": list(self.columns),
            "layers": [r.as_dict() for r in self.shown],
            "totals": self.totals.as_dict(),
            "notes": list(self.notes),
            "unsupported": dict(self.unsupported),
        }

    def __str__(self) -> str:
        # a presentation convenience, like DataFrame.to_string: report/ renders the layout
        from convcost.report.summary import render

        return render(self)


# --- building -----------------------------------------------------------------------------



# --- building -----------------------------------------------------------------------------


def is_torchsummary_row(row: SummaryRow) -> bool:
    # torchsummary hooks every module but the model itself, nn.Sequential and nn.ModuleList;
    # a model that is one layer (no children) keeps its row here, where torchsummary's
    # table would be empty
    return row.executed and (row.depth > 0 or row.leaf) and not row.container


def torchinfo_mult_adds(info: ModuleInfo, out_shape: Sequence[int] | None) -> int:
    """torchinfo 1.8.0's ``LayerInfo.calculate_macs`` convention for one call of a module."""
    if not out_shape:
        return 0
    total = 0
    for name, numel in info.named:
        if name in ("weight", "bias"):
            if "Conv" in info.cls:
                total += numel * out_shape[0] * math.prod(out_shape[2:])
            else:
                total += numel * out_shape[0]
        elif "weight" in name or "bias" in name:
            total += numel * math.prod(out_shape[:2])
    return total


def build_summary(analysis: Analysis, infos: Mapping[str, ModuleInfo], *, depth: int = 3,
                  style: str = "torchinfo", columns: Iterable[str] | None = None) -> Summary:
    """The summary records from a model's ``analysis`` and its ``infos``
    (:func:`convcost.capture.modules.module_infos` of the same model)."""
    if style not in STYLES:
        raise InvalidArgumentError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    if depth < 0:
        raise InvalidArgumentError(f"depth must be 0 or more, got {depth}")
    cols = tuple(DEFAULT_COLUMNS if columns is None else columns)
    unknown = [c for c in cols if c not in COLUMNS]
    if unknown or not cols:
        raise InvalidArgumentError(f"unknown column(s) {', '.join(unknown) or '(none)'}; "
                                   f"choose from {', '.join(COLUMNS)}")
    if not analysis.module_calls:
        raise InvalidArgumentError("this analysis has no module calls recorded; run "
                                   "convcost.summary(model, input_size) instead")
    itemsize = itemsize_of(analysis.dtype)

    # convcost madds per (scope, call) and per subtree
    per_call: dict[tuple[str, int], int] = {}
    for op_row in analysis.rows:
        key = (op_row.name, op_row.call)
        per_call[key] = per_call.get(key, 0) + op_row.cost.madds
    subtree = {m.name: m.cost.madds for m in analysis.by_module(None)}

    rows: list[dict[str, Any]] = []
    listed: set[str] = set()
    hierarchy: dict[int, str] = {}

    def add(scope: str, call: int, executed: bool, ins: Sequence[tuple[int, ...]],
            outs: Sequence[tuple[int, ...]], sizes: Sequence[int], finished: int) -> None:
        info = infos.get(scope)
        if info is None:  # a module the scope hooks saw but named_modules did not
            return
        d = 0 if not scope else scope.count(".") + 1
        out_shape = outs[0] if outs else None
        rows.append({
            "scope": scope, "module": info.cls, "depth": d, "call": call,
            "leaf": info.leaf, "executed": executed, "recursive": scope in listed,
            "input_shape": ins[0] if ins else None, "output_shape": out_shape,
            "output_bytes": math.prod(outs[0]) * sizes[0] if outs else 0,
            "params": info.params, "trainable_params": info.trainable,
            "own_params": info.own_params, "kernel_size": info.kernel_size,
            "mult_adds": (per_call.get((scope, call), 0) if info.leaf
                          else subtree.get(scope, 0) if call == 1 else 0),
            "torchinfo_mult_adds": (torchinfo_mult_adds(info, out_shape)
                                    if info.leaf and executed else 0),
            "finished": finished, "container": info.container,
        })
        listed.add(scope)
        hierarchy[d] = scope
        for deeper in [k for k in hierarchy if k > d]:
            del hierarchy[deeper]

    for c in analysis.module_calls:
        parts = c.scope.split(".") if c.scope else []
        for d in range(1, len(parts)):  # containers never called themselves (ModuleList)
            anc = ".".join(parts[:d])
            if hierarchy.get(d) != anc:
                add(anc, 1, False, (), (), (), -1)
        add(c.scope, c.call, True, c.inputs, c.outputs, c.itemsizes, c.finished)

    # torchinfo's depth index and leftover params
    counters: dict[int, int] = {}
    for r in rows:
        counters[r["depth"]] = counters.get(r["depth"], 0) + 1
        r["depth_index"] = counters[r["depth"]]
    for i in range(len(rows) - 1, -1, -1):
        r = rows[i]
        below = 0
        for child in rows[i + 1:]:
            if child["depth"] <= r["depth"]:
                break
            if not child["recursive"]:
                below += child["params"] if child["leaf"] else child["leftover_params"]
        r["leftover_params"] = r["params"] - below
    records = tuple(SummaryRow(**r) for r in rows)
    return Summary(
        model=analysis.model,
        inputs=analysis.inputs,
        dtype=analysis.dtype,
        style=style,
        depth=depth,
        columns=cols,
        rows=records,
        totals=_totals(records, analysis, infos[""], style, itemsize),
        batch=analysis.input[0] if analysis.input else 1,
        unsupported=dict(analysis.unsupported),
    )


def _totals(rows: Sequence[SummaryRow], analysis: Analysis, root: ModuleInfo, style: str,
            itemsize: int) -> SummaryTotals:
    # unique parameters: named_parameters() yields tied ones once
    total, trainable = root.params, root.trainable
    params_bytes = root.float_params * itemsize + root.other_param_bytes
    if style == "torchsummary":
        fwd = 2 * sum(r.output_bytes for r in rows if is_torchsummary_row(r))
    else:
        fwd = 2 * sum(r.output_bytes for r in rows if r.executed and r.leaf and r.params > 0)
    input_bytes = sum(math.prod(s) for s in analysis.inputs) * itemsize
    return SummaryTotals(
        total_params=total,
        trainable_params=trainable,
        mult_adds=analysis.totals.madds,
        torchinfo_mult_adds=sum(r.torchinfo_mult_adds for r in rows),
        input_bytes=input_bytes,
        forward_backward_bytes=fwd,
        params_bytes=params_bytes,
        megabyte=MB[style],
    )


__all__ = ["COLUMNS", "DEFAULT_COLUMNS", "MB", "STYLES", "Summary", "SummaryRow",
           "SummaryTotals", "build_summary", "is_torchsummary_row", "torchinfo_mult_adds"]
