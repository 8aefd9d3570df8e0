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
    from convcost import plots, studies
    from convcost.api import analyze
    from convcost.oracles import crosscheck
    from convcost.records import Analysis, Summary
    from convcost.report import breakdown
    from convcost.studies.summary import summary

# public name -> the module that defines it; imported on first use, so that
# ``import convcost`` stays cheap (torch, pandas, matplotlib come with the parts that need them)
_LAZY = {
    "analyze": "convcost.api",
    "crosscheck": "convcost.oracles",  # the function; its package is convcost.oracles
    "Analysis": "convcost.records",
    "Summary": "convcost.records",
    "summary": "convcost.studies.summary",
}
_MODULES = {  # public submodules
    "plots": "convcost.plots",  # figures + the zoo points they are drawn from
    "breakdown": "convcost.report.breakdown",  # per-layer report data
    "studies": "convcost.studies",  # the use cases
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _MODULES:
        return importlib.import_module(_MODULES[name])
    raise AttributeError(f"module 'convcost' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_MODULES})


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
    "studies",
    "summary",
]
