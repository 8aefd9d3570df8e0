"""A model audited against ShuffleNetV2's guidelines: the audit and what it was run on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convcost.engine.guidelines import GuidelinesAudit


@dataclass(frozen=True)
class ModelAudit:
    """The G1–G4 audit of one model at one input; ``bench`` says how G4's time share was
    measured (threads, device, seconds), None when it was not."""

    model: str
    input: tuple[int, ...]
    dtype: str
    audit: GuidelinesAudit
    bench: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "input": list(self.input), "dtype": self.dtype,
                "bench": self.bench, **self.audit.to_dict()}


__all__ = ["ModelAudit"]
