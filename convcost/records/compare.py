"""One compared model: its analysis, published top-1 and measured latency (``compare``,
``report``); the use case :func:`convcost.studies.compare` makes them, ``report/`` renders
them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from convcost.engine.labels import LINEAR
from convcost.records.analysis import Analysis
from convcost.records.memory import MemoryReport

KINDS = ("standard", "depthwise", "pointwise", "grouped")


@dataclass(frozen=True)
class Compared:
    """One compared model: its analysis, its published top-1 when the zoo knows it, its
    measured latency when it was timed (``Measurement.to_dict()`` of ``convcost.latency``) and
    its training step's memory when asked (``compare(train=...)``)."""

    analysis: Analysis
    top1: float | None = None
    top1_source: str | None = None
    latency: Mapping[str, Any] | None = None
    training: MemoryReport | None = None

    @property
    def latency_ms(self) -> float | None:
        return None if self.latency is None else float(self.latency["median_ms"])

    def shares(self) -> dict[str, float]:
        """Share of multiply-adds per conv kind (and ``other``: linear, matmul, attention)."""
        total = self.analysis.totals.madds
        kinds = self.analysis.by_conv_kind()
        out = {k: (kinds[k].madds / total if k in kinds and total else 0.0) for k in KINDS}
        out["other"] = max(0.0, 1.0 - sum(out.values())) if total else 0.0
        return out

    def record(self) -> dict[str, Any]:
        a = self.analysis
        return {
            "model": a.model,
            "input": list(a.input),
            "dtype": a.dtype,
            "totals": a.totals.as_dict(),
            "peak_activation_bytes": a.peak_activation_bytes(),
            "layers": sum(1 for r in a.rows if r.conv_kind or r.op == LINEAR),
            "ops": len(a.rows),
            "madds_share": self.shares(),
            "top1": self.top1,
            "top1_source": self.top1_source,
            "unsupported": a.unsupported,
            **({} if self.latency is None else {"latency": dict(self.latency)}),
            **({} if self.training is None else {"training": self._training_record()}),
        }

    def _training_record(self) -> dict[str, Any]:
        m = self.training
        assert m is not None
        return {**(m.training.record() if m.training else {}), "optimizer": m.optimizer,
                "forward_flops": m.forward_flops, "backward_flops": m.backward_flops}


__all__ = ["KINDS", "Compared"]
