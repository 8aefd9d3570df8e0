"""Published ImageNet results for zoo models (package data ``convcost/data/published.csv``).

One row per (model, variant, input resolution): top-1 (always), top-5, parameters and
multiply-adds where published, and the source. torchvision twins use torchvision's
IMAGENET1K_V1 weights (its GFLOPS are multiply-adds); the others cite the paper's table.
Published counts are rounded as printed (``569000000`` for "569M").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from convcost.zoo import get_entry
from convcost.zoo._spec import format_options, parse_options

COLUMNS = ("model", "variant", "input_res", "top1", "top5", "params", "madds", "source")


@dataclass(frozen=True)
class PublishedResult:
    """One published result. ``variant`` is the canonical option string (non-default options
    in the entry's order, e.g. ``"groups=4,scale=0.5"``; empty for the defaults)."""

    model: str
    variant: str
    input_res: int
    top1: float
    top5: float | None
    params: int | None
    madds: int | None
    source: str

    @property
    def spec(self) -> str:
        """The zoo spec that builds this model: ``"mobilenet_v1:width_mult=0.5"``."""
        return f"{self.model}:{self.variant}" if self.variant else self.model


def _opt_int(text: str) -> int | None:
    return int(text) if text.strip() else None


def _opt_float(text: str) -> float | None:
    return float(text) if text.strip() else None


@lru_cache(maxsize=1)
def _load() -> tuple[PublishedResult, ...]:
    text = resources.files("convcost").joinpath("data/published.csv").read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise RuntimeError(f"published.csv must have the columns {', '.join(COLUMNS)}")
    rows = []
    for rec in reader:
        top1 = _opt_float(rec["top1"])
        if top1 is None:
            raise RuntimeError(f"published.csv: {rec['model']} {rec['variant']!r} has no top-1")
        rows.append(PublishedResult(
            model=rec["model"],
            variant=rec["variant"],
            input_res=int(rec["input_res"]),
            top1=top1,
            top5=_opt_float(rec["top5"]),
            params=_opt_int(rec["params"]),
            madds=_opt_int(rec["madds"]),
            source=rec["source"],
        ))
    return tuple(rows)


def load_published() -> list[PublishedResult]:
    """Every published result, in file order."""
    return list(_load())


def lookup(model: str, options: Mapping[str, object] | None = None,
           resolution: int | None = None) -> list[PublishedResult]:
    """The published results for a zoo model (name or alias) with exactly these options
    (defaults filled in), at ``resolution`` if given."""
    entry = get_entry(model)
    wanted = format_options(entry, options or {})
    found = []
    for row in _load():
        if row.model != entry.name:
            continue
        if format_options(entry, parse_options(entry, row.variant)) != wanted:
            continue
        if resolution is not None and row.input_res != resolution:
            continue
        found.append(row)
    return found


def lookup_top1(model: str, options: Mapping[str, object] | None,
                resolution: int) -> PublishedResult | None:
    """The published result (with its top-1) for this model, options and input size."""
    found = lookup(model, options, resolution)
    return found[0] if found else None


__all__ = ["COLUMNS", "PublishedResult", "load_published", "lookup", "lookup_top1"]
