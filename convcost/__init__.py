"""convcost: what a convolutional network really costs.

Parameters, multiply-adds, FLOPs and memory access, layer by layer, computed from the
formulas. Importing ``convcost`` is cheap: torch, pandas and matplotlib are imported only by
the parts that need them (``convcost.analyze``, the zoo, reports), on first use.
"""

from __future__ import annotations

from convcost.errors import CaptureError, ConvcostError, InvalidArgumentError, ModelSpecError
from convcost.formulas import COST_FIELDS, Cost, OpCost

__version__ = "0.1.0"

__all__ = [
    "COST_FIELDS",
    "CaptureError",
    "ConvcostError",
    "Cost",
    "InvalidArgumentError",
    "ModelSpecError",
    "OpCost",
    "__version__",
]
