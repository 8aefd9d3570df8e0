"""``convcost ratio``: one layer, standard vs depthwise-separable (and grouped, spatial)."""

from __future__ import annotations

from convcost.formulas.design import LayerDesign, SeparableComparison
from convcost.report.tables import Table
from convcost.report.units import fraction, megabytes, shape_text, si, times

# the terminal view shows "8.84× fewer"; csv/json carry the ratio itself

COLUMNS = ("design", "output", "params", "mult-adds", "FLOPs", "memory", "vs standard")
RAW_COLUMNS = ("design", "part", "out_shape", "params", "madds", "flops", "mem_read_bytes",
               "mem_write_bytes", "mem_bytes", "madds_ratio_vs_standard")


def ratio_table(cmp: SeparableComparison, dtype: str = "float32") -> Table:
    """The comparison as a :class:`Table`, with the ratios explained in the notes."""
    kh, kw = cmp.kernel
    title = (
        f"{kh}×{kw} conv {cmp.in_channels}→{cmp.out_channels}, input {shape_text(cmp.in_shape)} "
        f"({dtype}), stride {cmp.stride}"
    )
    table = Table(title=title, columns=COLUMNS, raw_columns=RAW_COLUMNS,
                  right_align=frozenset(range(2, len(COLUMNS))), terminal_hide=frozenset({1}))
    base = cmp.standard.cost.madds
    designs: list[LayerDesign] = [cmp.standard]
    designs += [d for d in (cmp.grouped, cmp.separable, cmp.spatial) if d is not None]
    for design in designs:
        cost = design.cost
        ratio = cost.madds / base
        table.add(
            [design.name, shape_text(design.out_shape), si(cost.params), si(cost.madds),
             si(cost.flops), megabytes(cost.mem_bytes), times(ratio)],
            [design.name, "", list(design.out_shape), cost.params, cost.madds, cost.flops,
             cost.mem_read_bytes, cost.mem_write_bytes, cost.mem_bytes, ratio],
        )
        if len(design.parts) > 1:
            for name, part in design.parts:
                table.add(
                    [name, shape_text(part.out_shape), si(part.params), si(part.madds),
                     si(part.flops), megabytes(part.mem_bytes), ""],
                    [design.name, name, list(part.out_shape), part.params, part.madds,
                     part.flops, part.mem_read_bytes, part.mem_write_bytes, part.mem_bytes, ""],
                    sub=True,
                )
    table.notes.extend(_notes(cmp))
    return table


def _notes(cmp: SeparableComparison) -> list[str]:
    n, dk2 = cmp.out_channels, cmp.kernel[0] * cmp.kernel[1]
    exact, closed = cmp.exact_ratio, cmp.closed_form
    verdict = "equal" if exact == closed else f"differs by {float(exact - closed):+.6f}"
    ratios = cmp.ratios(cmp.separable)
    notes = [
        f"depthwise-separable / standard mult-adds, exact: {fraction(exact)}",
        f"closed form 1/N + 1/Dk² = 1/{n} + 1/{dk2}: {fraction(closed)} ({verdict})",
        f"params ratio {float(ratios['params']):.4f}; memory-access ratio "
        f"{float(ratios['mem_bytes']):.4f} (the separable pair writes and re-reads a "
        f"{cmp.in_channels}-channel intermediate map, so memory shrinks less than mult-adds)",
    ]
    if cmp.grouped is not None:
        g_ratio = cmp.grouped.cost.madds / cmp.standard.cost.madds
        notes.append(f"grouped conv, g={cmp.groups}: mult-adds ratio {g_ratio:.4f} "
                     f"(closed form 1/g = {1 / cmp.groups:.4f})")
    if cmp.spatial is not None:
        s_ratio = cmp.spatial.cost.madds / cmp.standard.cost.madds
        k = cmp.kernel[0]
        notes.append(
            f"spatially separable 1×{k} + {k}×1: mult-adds ratio {s_ratio:.4f} "
            f"(closed form (M+N)/(M·k) = {(cmp.in_channels + n) / (cmp.in_channels * k):.4f}"
            f", 2/k = {2 / k:.4f} when M = N)"
        )
    if cmp.multipliers is not None:
        m = cmp.multipliers
        notes.append(
            f"width α={m.alpha}, resolution ρ={m.rho}: separable mult-adds ×"
            f"{float(m.exact_madds_ratio):.4f} exactly vs closed form α²ρ² = "
            f"{m.closed_form_madds_ratio:.4f}; params ×{float(m.exact_params_ratio):.4f} vs "
            f"α² = {m.closed_form_params_ratio:.4f} (channels are rounded to integers and the "
            "depthwise part scales with α, not α²)"
        )
    return notes
