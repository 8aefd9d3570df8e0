"""The engine: recorded op nodes to per-op costs through one registry keyed by op.

Pure Python (imports :mod:`convcost.formulas` and :mod:`convcost.graph` only). For a counter of
your own (``convcost.analyze(..., counters={...})``): it receives a :class:`Node` and returns an
:class:`OpCost` (or a plain :class:`Cost`, or a :class:`Counted` to choose the label).
"""

from convcost.engine.counters import REGISTRY
from convcost.engine.evaluate import (
    Evaluation,
    ModuleCost,
    Row,
    by_conv_kind,
    by_module,
    by_op,
    evaluate,
)
from convcost.engine.registry import (
    Counted,
    CounterError,
    DuplicateRegistrationError,
    Family,
    Registration,
    Registry,
    RegistryBuilder,
    UserCounter,
)
from convcost.formulas import Cost, OpCost
from convcost.graph import Node, TensorInfo

__all__ = [
    "REGISTRY",
    "Cost",
    "Counted",
    "CounterError",
    "DuplicateRegistrationError",
    "Evaluation",
    "Family",
    "ModuleCost",
    "Node",
    "OpCost",
    "Registration",
    "Registry",
    "RegistryBuilder",
    "Row",
    "TensorInfo",
    "UserCounter",
    "by_conv_kind",
    "by_module",
    "by_op",
    "evaluate",
]
