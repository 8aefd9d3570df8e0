"""convcost: what a convolutional network really costs.

Parameters, multiply-adds, FLOPs and memory access, layer by layer, computed from the
formulas. Importing ``convcost`` is cheap: torch, pandas and matplotlib are imported only by
the parts that need them (``convcost.analyze``, the zoo, reports), on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convcost.errors import CaptureError, ConvcostError, InvalidArgumentError, ModelSpecError
from convcost.formulas import COST_FIELDS, Cost, OpCost

__version__ = "0.1.0"

if TYPE_CHECKING:
    from convcost.api import analyze
    from convcost.report.analysis import Analysis


def __getattr__(name: str) -> Any:
    # torch is imported only when the engine is first used
    if name == "analyze":
        from convcost.api import analyze

        return analyze
    if name == "Analysis":
        from convcost.report.analysis import Analysis

        return Analysis
    raise AttributeError(f"module 'convcost' has no attribute {name!r}")


__all__ = [
    "COST_FIELDS",
    "Analysis",
    "CaptureError",
    "ConvcostError",
    "Cost",
    "InvalidArgumentError",
    "ModelSpecError",
    "OpCost",
    "__version__",
    "analyze",
]
