"""``convcost memory``: the peak memory table, and memory over time as a figure.

Renders :class:`convcost.records.memory.MemoryReport`; bytes become MB (10⁶ bytes) and counts
get SI prefixes only here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from convcost.records.memory import OPTIMIZER_PHASE, MemoryReport
from convcost.report.tables import Table
from convcost.report.units import megabytes, shape_text, si

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CATEGORY_NAMES = {
    "parameters": "parameters",
    "gradients": "gradients",
    "optimizer_state": "optimizer state",
    "saved_for_backward": "saved for backward",
    "other_activations": "other activations",
    "inputs": "inputs",
}
"""Each category's name in tables and legends."""

CATEGORY_COLORS = {
    "parameters": "#1f77b4",
    "gradients": "#ff7f0e",
    "optimizer_state": "#9467bd",
    "saved_for_backward": "#d62728",
    "other_activations": "#2ca02c",
    "inputs": "#7f7f7f",
}


def _gib(nbytes: int) -> str:
    return f"{nbytes / 2**30:.2f} GiB"


def memory_table(reports: Sequence[MemoryReport]) -> Table:
    """One row per model: the inference peak, the training step's (when asked), where the
    peak reported happens, what is live then by category, the FLOPs of both passes and the
    largest batch that fits a budget (when asked)."""
    train = any(r.training is not None for r in reports)
    fit = any(r.fit is not None for r in reports)
    cats = list(CATEGORY_NAMES)
    columns = ["model", "input", "inference peak", *(("training peak",) if train else ()),
               "peak at", *(CATEGORY_NAMES[c] for c in cats), "forward FLOPs",
               *(("backward FLOPs",) if train else ()), *(("max batch",) if fit else ())]
    raw = ["model", "input", "inference_peak_bytes",
           *(("training_peak_bytes", "optimizer") if train else ()), "peak_op",
           *cats, "forward_flops", *(("backward_flops",) if train else ()),
           *(("budget_bytes", "max_batch") if fit else ())]
    at = columns.index("peak at")
    table = Table(
        title="",
        columns=columns,
        raw_columns=raw,
        right_align=frozenset(i for i, c in enumerate(columns)
                              if c not in ("model", "input", "peak at")),
        # the model, then the peaks; where and what last
        priority=[0, 4, 1, *((1,) if train else ()), 5, *(3 for _ in cats), 4,
                  *((4,) if train else ()), *((2,) if fit else ())],
        wrap=frozenset({at}),
        transpose=True,
    )
    for r in reports:
        peak = r.peak
        cells = [r.model, shape_text(r.input), megabytes(r.inference.bytes)]
        values: list[object] = [r.model, shape_text(r.input, "x"), r.inference.bytes]
        if train:
            cells.append(megabytes(r.training.bytes) if r.training else "—")
            values += [r.training.bytes if r.training else "", r.optimizer or ""]
        cells.append(peak.where)
        values.append(peak.where)
        for c in cats:
            cells.append(megabytes(peak.by_category.get(c, 0)))
            values.append(peak.by_category.get(c, 0))
        cells.append(si(r.forward_flops))
        values.append(r.forward_flops)
        if train:
            cells.append(si(r.backward_flops) if r.backward_flops is not None else "—")
            values.append("" if r.backward_flops is None else r.backward_flops)
        if fit:
            cells.append(str(r.fit.max_batch) if r.fit else "—")
            values += ([r.fit.budget_bytes, r.fit.max_batch] if r.fit else ["", ""])
        table.add(cells, values)
    table.notes.extend(memory_notes(reports))
    return table


def memory_notes(reports: Sequence[MemoryReport]) -> list[str]:
    """Plain-language lines under the table: what the peak is made of, the optimizer, the
    budget's answer, and ops whose FLOPs are unknown."""
    notes = []
    for r in reports:
        peak = r.peak
        kind = "training step" if r.training is not None else "inference"
        biggest = max(peak.by_category.items(), key=lambda kv: kv[1], default=("", 0))
        share = biggest[1] / peak.bytes if peak.bytes else 0.0
        line = (f"{r.model}: the {kind} peaks at {megabytes(peak.bytes)} during {peak.where}; "
                f"{100 * share:.0f}% of it is {CATEGORY_NAMES.get(biggest[0], biggest[0])}")
        if r.training is not None:
            line += (f" (optimizer {r.optimizer}, steady state; {r.allocator} allocator model; "
                     f"inference: {megabytes(r.inference.bytes)})")
        else:
            line += f" ({r.allocator} allocator model)"
        notes.append(line)
        if r.fit is not None:
            f = r.fit
            what = "training step" if f.training else "inference"
            notes.append(
                f"{r.model}: the largest batch whose {what} fits {_gib(f.budget_bytes)} is "
                f"{f.max_batch}" + (f" (peak {_gib(f.peak_bytes)})" if f.peak_bytes else
                                    ": not even a batch of 1 fits"))
        if r.unsupported:
            notes.append(f"{r.model}: FLOPs not counted for "
                         + ", ".join(f"{op} ×{n}" for op, n in sorted(r.unsupported.items())))
    return notes


def memory_figure(report: MemoryReport) -> Figure:
    """Bytes held over the run, op by op, stacked by category (the highest point within each
    op that allocates or frees), with the phases marked and the peak annotated."""
    from convcost.report.plots import new_figure

    fig = new_figure(10, 4.8)
    ax = fig.add_subplot(1, 1, 1)
    moments = report.timeline
    xs = [m.index + 1 for m in moments]  # the start (before the first op) at 0
    cats = list(report.categories or CATEGORY_NAMES)
    stacks = [[m.held[i] / 1e6 if i < len(m.held) else 0.0 for m in moments]
              for i in range(len(cats))]
    ax.stackplot(xs, *stacks, labels=[CATEGORY_NAMES.get(c, c) for c in cats],
                 colors=[CATEGORY_COLORS.get(c, "#bbbbbb") for c in cats], step="post",
                 linewidth=0)
    previous = None
    for x, m in zip(xs, moments, strict=True):  # where each phase starts
        if previous is not None and m.phase != previous:
            ax.axvline(x, color="black", linewidth=0.8, linestyle="--")
            ax.text(x, 1.0, f" {m.phase}", transform=ax.get_xaxis_transform(), va="bottom",
                    fontsize=8)
        previous = m.phase
    peak = report.peak
    highest = max(moments, key=lambda m: m.bytes, default=None)
    if highest is not None:
        ax.annotate(f"peak {megabytes(peak.bytes)}\n{peak.where}",
                    xy=(highest.index + 1, highest.bytes / 1e6), xytext=(0.02, 0.97),
                    textcoords="axes fraction", fontsize=8, va="top",
                    arrowprops={"arrowstyle": "->", "linewidth": 0.8})
    kind = ("training step" + (f", {report.optimizer}" if report.optimizer else "")
            if report.training is not None else "inference")
    ax.set_title(f"{report.model} @ {shape_text(report.input)}: memory over the {kind} "
                 f"({report.allocator} allocator model)", fontsize=10, pad=14)
    steps = sum(1 for m in moments if m.phase == OPTIMIZER_PHASE)
    ax.set_xlabel("op, in the order the run executes them"
                  + (" (then optimizer.step(), one point per parameter)" if steps else ""))
    ax.set_ylabel("held (MB)")
    ax.set_xlim(0, max(xs[-1] if xs else 1, 1))
    top = max((m.bytes for m in moments), default=0) / 1e6
    ax.set_ylim(0, top * 1.35 if top else 1)  # room for the legend and the labels
    ax.legend(loc="upper right", fontsize=8, ncol=3)
    return fig


__all__ = ["CATEGORY_NAMES", "memory_figure", "memory_notes", "memory_table"]
