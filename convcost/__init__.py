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
    from convcost.oracles import crosscheck
    from convcost.report import breakdown, plots
    from convcost.report.analysis import Analysis
    from convcost.report.summary import Summary, summary


def __getattr__(name: str) -> Any:
    # torch is imported only when the engine is first used
    if name == "analyze":
        from convcost.api import analyze

        return analyze
    if name == "crosscheck":  # the function; its package is convcost.oracles (not shadowed)
        from convcost.oracles import crosscheck

        return crosscheck
    if name == "Analysis":
        from convcost.report.analysis import Analysis

        return Analysis
    if name in ("summary", "Summary"):
        from convcost.report import summary as _summary

        return getattr(_summary, name)
    if name in ("plots", "breakdown"):  # figures + zoo points; per-layer report data
        import importlib

        return importlib.import_module(f"convcost.report.{name}")
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
    "Summary",
    "__version__",
    "analyze",
    "breakdown",
    "crosscheck",
    "plots",
    "summary",
]
