"""``convcost zoo``: every zoo model with its options, computed cost and published top-1."""

from __future__ import annotations

from convcost.records.zoo import ZooRow
from convcost.report.tables import Table
from convcost.report.units import shape_text, si


def zoo_table(rows: list[ZooRow]) -> Table:
    table = Table(
        title="convcost zoo: parameters and mult-adds computed at each model's default input",
        columns=("model", "family", "input", "params", "mult-adds", "top-1", "aliases",
                 "options", "source"),
        raw_columns=("name", "family", "default_input", "params", "madds", "top1", "aliases",
                     "options", "published_params", "published_madds", "source", "paper",
                     "notes"),
        right_align=frozenset({3, 4, 5}),
        priority=(0, 3, 2, 1, 1, 1, 5, 4, 6),
        wrap=frozenset({6, 7, 8}),
    )
    for r in rows:
        table.add(
            [r.name, r.family, shape_text(r.default_input), si(r.params), si(r.madds),
             f"{r.top1:.1f}%" if r.top1 is not None else "—", ", ".join(r.aliases) or "—",
             "; ".join(r.options) or "—", r.source or "—"],
            [r.name, r.family, shape_text(r.default_input, "x"), r.params, r.madds,
             "" if r.top1 is None else r.top1, " ".join(r.aliases), "; ".join(r.options),
             r.published_params or "", r.published_madds or "", r.source, r.paper, r.notes],
        )
    table.notes.append("options go in the model spec: e.g. mobilenet_v1:width_mult=0.5, "
                       "shufflenet_v1:groups=8,scale=0.5; every model also takes num_classes. "
                       "Where a paper and torchvision differ, `--format md` or json shows "
                       "which one each model follows (notes)")
    return table


__all__ = ["zoo_table"]
