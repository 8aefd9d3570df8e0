"""``convcost zoo``: every zoo model with its options, computed cost and published top-1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convcost.report.tables import Table
from convcost.report.units import shape_text, si


@dataclass(frozen=True)
class ZooRow:
    """One zoo model at its default input: computed cost beside the published figures."""

    name: str
    family: str
    aliases: tuple[str, ...]
    options: tuple[str, ...]
    default_input: tuple[int, ...]
    params: int
    madds: int
    top1: float | None
    published_params: int | None
    published_madds: int | None
    source: str
    paper: str
    notes: str

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name, "family": self.family, "aliases": list(self.aliases),
            "options": list(self.options), "default_input": list(self.default_input),
            "params": self.params, "madds": self.madds, "top1": self.top1,
            "published_params": self.published_params, "published_madds": self.published_madds,
            "source": self.source, "paper": self.paper, "notes": self.notes,
        }


def zoo_table(rows: list[ZooRow]) -> Table:
    table = Table(
        title="convcost zoo: parameters and mult-adds computed at each model's default input",
        columns=("model", "family", "input", "params", "mult-adds", "top-1", "aliases",
                 "options", "source"),
        raw_columns=("name", "family", "default_input", "params", "madds", "top1", "aliases",
                     "options", "published_params", "published_madds", "source", "paper",
                     "notes"),
        right_align=frozenset({3, 4, 5}),
        terminal_hide=frozenset({6, 8}),
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


__all__ = ["ZooRow", "zoo_table"]
