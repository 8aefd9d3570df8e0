"""``convcost summary``: the torchinfo / torchsummary layer table and totals block.

The records are built from one :class:`~convcost.report.analysis.Analysis` (module calls with
their input/output shapes, op rows with convcost's mult-adds) and the model's own parameters
(numel, ``requires_grad``, names, ``kernel_size``); the model is only read. Numbers stay ints
until :meth:`Summary.__str__` / :func:`summary_table`.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convcost.errors import InvalidArgumentError
from convcost.formulas import itemsize_of
from convcost.report.units import shape_text

if TYPE_CHECKING:
    from torch import nn

    from convcost.report.analysis import Analysis
    from convcost.report.tables import Table

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
_COL_WIDTH = 25  # torchinfo's col_width default
_NAME_WIDTH = 40  # torchinfo's minimum layer-name width, grown in steps of 5
_TS_RULE = 64  # torchsummary's rule width


@dataclass(frozen=True)
class _ModuleInfo:
    """What the summary reads from one module of the model."""

    cls: str
    leaf: bool
    params: int  # recursive, unique within the module (torchinfo's num_params)
    trainable: int
    own_params: int  # recurse=False (torchsummary's weight + bias)
    named: tuple[tuple[str, int], ...]  # recursive (name, numel), for torchinfo's mult-adds
    kernel_size: tuple[int, ...] | int | None
    container: bool  # an nn.Sequential or nn.ModuleList (subclasses too): no torchsummary row


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

    @property
    def shown(self) -> tuple[SummaryRow, ...]:
        """The rows the table shows in this style."""
        if self.style == "torchsummary":
            return tuple(sorted(filter(_torchsummary_row, self.rows), key=lambda r: r.finished))
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
        }

    def __str__(self) -> str:
        if self.style == "torchsummary":
            return _render_torchsummary(self)
        return _render_torchinfo(self)


# --- building -----------------------------------------------------------------------------


def _module_infos(model: nn.Module) -> dict[str, _ModuleInfo]:
    from torch import nn

    out: dict[str, _ModuleInfo] = {}
    for scope, m in model.named_modules():
        named = tuple((n, p.numel()) for n, p in m.named_parameters())
        own = list(m.parameters(recurse=False))
        trainable = sum(p.numel() for _, p in m.named_parameters() if p.requires_grad)
        k = getattr(m, "kernel_size", None)
        kernel = tuple(k) if isinstance(k, (tuple, list)) else (k if isinstance(k, int)
                                                               else None)
        out[scope] = _ModuleInfo(
            cls=type(m).__name__,
            leaf=next(iter(m.children()), None) is None,
            params=sum(n for _, n in named),
            trainable=trainable,
            own_params=sum(p.numel() for p in own),
            named=named,
            kernel_size=kernel,
            container=isinstance(m, (nn.Sequential, nn.ModuleList)),
        )
    return out


def _torchsummary_row(row: SummaryRow) -> bool:
    # torchsummary hooks every module but the model itself, nn.Sequential and nn.ModuleList;
    # a model that is one layer (no children) keeps its row here, where torchsummary's
    # table would be empty
    return row.executed and (row.depth > 0 or row.leaf) and not row.container


def torchinfo_mult_adds(info: _ModuleInfo, out_shape: Sequence[int] | None) -> int:
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


def build_summary(analysis: Analysis, model: nn.Module, *, depth: int = 3,
                  style: str = "torchinfo", columns: Iterable[str] | None = None) -> Summary:
    """The summary records of ``model`` from its ``analysis`` (which must be of that model)."""
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
    infos = _module_infos(model)
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
        totals=_totals(records, analysis, model, style, itemsize),
        batch=analysis.input[0] if analysis.input else 1,
    )


def _totals(rows: Sequence[SummaryRow], analysis: Analysis, model: nn.Module, style: str,
            itemsize: int) -> SummaryTotals:
    total = trainable = params_bytes = 0
    for p in model.parameters():  # unique parameters: parameters() yields tied ones once
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
        params_bytes += p.numel() * (itemsize if p.is_floating_point() else p.element_size())
    if style == "torchsummary":
        fwd = 2 * sum(r.output_bytes for r in rows if _torchsummary_row(r))
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


def summary(
    model: nn.Module | str,
    input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    depth: int = 3,
    style: str = "torchinfo",
    columns: Iterable[str] | None = None,
    dtype: Any = "float32",
    device: str = "meta",
    name: str | None = None,
) -> Summary:
    """A torchinfo / torchsummary style summary of ``model`` at ``input_size`` (batch first).

    ``model``: an ``nn.Module`` or a zoo spec (``"resnet18"``); ``input_size`` defaults to the
    zoo model's input at batch 1. ``columns``: torchinfo's column names (``input_size``,
    ``output_size``, ``num_params``, ``params_percent``, ``kernel_size``, ``mult_adds``,
    ``trainable``). The model is read, never changed. ``str(result)`` is the table.
    """
    from convcost.api import analyze, model_and_input

    module, size, label = model_and_input(model, input_size, name, device)
    analysis = analyze(module, size, dtype=dtype, device=device, name=label)
    return build_summary(analysis, module, depth=depth, style=style, columns=columns)


# --- rendering ----------------------------------------------------------------------------


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
    return [*lines, *s.notes]


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


__all__ = ["COLUMNS", "STYLES", "Summary", "SummaryRow", "SummaryTotals", "build_summary",
           "summary", "summary_table", "torchinfo_mult_adds"]
