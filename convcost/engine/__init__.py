"""The engine: recorded op nodes to per-op costs through one registry keyed by op.

Pure Python (imports :mod:`convcost.formulas` and :mod:`convcost.graph` only).
"""

from convcost.engine.evaluate import (
    Evaluation,
    ModuleCost,
    Row,
    by_conv_kind,
    by_module,
    by_op,
    evaluate,
)
from convcost.engine.registry import REGISTRY, Counted, DuplicateRegistrationError, Registry

__all__ = [
    "REGISTRY",
    "Counted",
    "DuplicateRegistrationError",
    "Evaluation",
    "ModuleCost",
    "Registry",
    "Row",
    "by_conv_kind",
    "by_module",
    "by_op",
    "evaluate",
]
