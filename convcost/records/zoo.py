"""One row of ``convcost zoo``: a zoo model's computed cost beside its published figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


__all__ = ["ZooRow"]
