"""The op graph: an immutable list of op nodes, as recorded from a model (no torch here).

A :class:`Node` holds one executed op: its key (``"aten.convolution"``), the module scope it ran
in, its arguments with every tensor replaced by a :class:`TensorInfo` (shape, bytes per element,
and the parameter it is, if any), its output shapes, and its phase (the forward pass, or the
backward pass autograd ran for a loss). Counters in :mod:`convcost.engine`
turn nodes into costs using :mod:`convcost.formulas` only.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Shape = tuple[int, ...]

FORWARD = "forward"
"""The phase of an op the model's forward pass (or the loss computed from its output) ran."""
BACKWARD = "backward"
"""The phase of an op autograd ran for ``loss.backward()`` (``analyze(..., backward=True)``)."""


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """What the engine needs of a tensor: shape, element size, and parameter identity.

    ``param`` is the qualified name of the model parameter this tensor is (or a view of), and
    ``param_numel`` that parameter's size; both are empty for activations and buffers.
    """

    shape: Shape
    itemsize: int = 4
    param: str | None = None
    param_numel: int = 0

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True, slots=True)
class Node:
    """One executed op."""

    index: int
    op: str  # overload packet, e.g. "aten.convolution", "aten.add_"
    scope: str  # module path, "" for the root module
    module: str  # class name of the innermost module
    call: int  # 1 for the first call of that module, 2 for the second, ...
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    outputs: tuple[TensorInfo, ...] = ()
    phase: str = FORWARD  # FORWARD, or BACKWARD for an op autograd ran for loss.backward()

    def tensors(self) -> Iterator[TensorInfo]:
        """Every tensor among the arguments, nested lists included, in order."""
        yield from _tensors(self.args)
        yield from _tensors(tuple(self.kwargs.values()))

    def arg(self, i: int, name: str, default: Any = None) -> Any:
        """Positional argument ``i`` or keyword ``name``."""
        if i < len(self.args):
            return self.args[i]
        return self.kwargs.get(name, default)

    @property
    def out_shape(self) -> Shape:
        return self.outputs[0].shape if self.outputs else ()

    @property
    def itemsize(self) -> int:
        for t in (*self.outputs, *self.tensors()):
            return t.itemsize
        return 4


def shape_text(shape: object, sep: str = "×") -> str:
    """``(1, 3, 224, 224) -> '1×3×224×224'`` (``sep="x"`` for CSV and file names).

    >>> shape_text((1, 3, 224, 224)), shape_text([2, 8], "x"), shape_text(())
    ('1×3×224×224', '2x8', '')
    """
    return sep.join(map(str, shape))  # type: ignore[call-overload]


def _tensors(items: tuple[Any, ...]) -> Iterator[TensorInfo]:
    for a in items:
        if isinstance(a, TensorInfo):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from _tensors(tuple(a))


__all__ = ["BACKWARD", "FORWARD", "Node", "Shape", "TensorInfo", "shape_text"]
