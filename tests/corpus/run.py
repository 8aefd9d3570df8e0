"""One corpus entry, measured: built once, analysed by convcost, counted by the reference."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import convcost
from corpus.models import Entry, Inputs
from corpus.reference import Reference, reference


@dataclass(frozen=True)
class Outcome:
    """What convcost and the reference said about one entry."""

    entry: Entry
    spec: str = ""  # the input, in words
    analysis: Any = None  # convcost.Analysis, None when it failed
    error: str | None = None  # convcost's exception, "Type: message"
    seconds: float = 0.0  # the convcost.analyze call alone
    reference: Reference | None = None
    build_error: str | None = None  # the model (or its input) could not be made
    build_seconds: float = 0.0
    madds_by_aten: dict[str, int] = field(default_factory=dict)  # convcost's madds per aten op

    @property
    def ran(self) -> bool:
        return self.analysis is not None

    @property
    def params(self) -> int | None:
        return self.analysis.totals.params if self.analysis is not None else None

    @property
    def madds(self) -> int | None:
        return self.analysis.totals.madds if self.analysis is not None else None

    @property
    def unsupported(self) -> dict[str, int]:
        return self.analysis.unsupported if self.analysis is not None else {}

    @property
    def params_equal(self) -> bool | None:
        if self.analysis is None or self.reference is None:
            return None
        return self.params == self.reference.params

    @property
    def madds_equal(self) -> bool | None:
        if self.analysis is None or self.reference is None or self.reference.madds is None:
            return None
        return self.madds == self.reference.madds

    @property
    def ok(self) -> bool:
        """Ran, both counts equal, nothing unsupported."""
        return bool(self.ran and self.params_equal and self.madds_equal and not self.unsupported)


def _madds_by_aten(analysis: Any) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for row in analysis.rows:
        if row.cost.madds:
            out[str(getattr(row, "aten", None) or row.op)] += row.cost.madds
    return dict(out)


def _analyze(entry: Entry, model: Any, inputs: Inputs) -> Any:
    return convcost.analyze(model, inputs=inputs.args, kwargs=inputs.kwargs,
                            device=entry.analyze_device, name=entry.name)


def measure(entry: Entry) -> Outcome:
    """Build ``entry``, analyse it with convcost (timed), then count it with the reference.
    Never raises for a failure of the model, convcost or the reference: each is recorded."""
    start = time.perf_counter()
    try:
        model = entry.build()
        inputs = entry.make_inputs(model)
    except Exception as exc:
        return Outcome(entry, build_error=f"{type(exc).__name__}: {exc}",
                       build_seconds=time.perf_counter() - start)
    build_seconds = time.perf_counter() - start
    analysis, error = None, None
    start = time.perf_counter()
    try:
        analysis = _analyze(entry, model, inputs)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    ref = reference(model, lambda: entry.make_inputs(model))
    return Outcome(entry, spec=inputs.spec, analysis=analysis, error=error, seconds=seconds,
                   reference=ref, build_seconds=build_seconds,
                   madds_by_aten=_madds_by_aten(analysis) if analysis is not None else {})


__all__ = ["Outcome", "measure"]
