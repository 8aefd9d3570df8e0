"""What a check observed of the model while it ran, as plain data (no torch).

The peers do not all see the same model: fvcore reads a jit trace, thop and ptflops hook
module classes and Python functions, torchinfo reads each leaf module's parameters, the
dispatch-level counters see aten ops. convcost's rows say what each op costs; to predict a
peer's figure the adapters also need what the peer keys on, and that is recorded here by
:mod:`convcost.oracles.observe`, on the same model and input:

* :class:`ModuleInfo`: every module once (its canonical name = the first of
  ``named_modules()``), its class and the ``torch.nn`` classes in its MRO, whether it is a
  leaf, its parameters by name, its simple attributes (``dim``, ``mode``, ``affine``...);
* :class:`ModuleCall`: every module call, with its input shapes, its output as a shape tree
  and the multiply-adds of the aten ops it ran (its subtree included);
* :class:`Call`: every torch function the model's own code called (``F.relu``,
  ``torch.einsum``, ``Tensor.matmul``...), with where it ran, its arguments (tensors as shapes),
  its output, and the aten ops it ran;
* the **fused scopes**: modules inside which the CPU ran one fused kernel
  (``nn.MultiheadAttention``'s and ``nn.TransformerEncoderLayer``'s fast paths) when no
  ``TorchFunctionMode`` is active, which is how fvcore, ptflops, torchinfo and FlopCounterMode
  run the model; convcost's capture and thop run under one and see the slow path.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Tensor:
    """A tensor as the adapters see it: its shape and bytes per element."""

    shape: Shape
    itemsize: int = 4

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Other:
    """Any other object in an argument or output tree: its class name and what torchinfo
    asks of it (a ``.data`` with a size, ``.tensors``)."""

    cls: str
    data: Tree | None = None  # .data, when it is a tensor (PackedSequence)
    tensors: Tree | None = None  # .tensors (torchinfo's nested_list_size looks there)


# a value as data: tensors, numbers, strings, None, tuples/lists (kept as tuple / list) and
# dicts (kept as a tuple of (key, value) pairs wrapped in Dict)
@dataclass(frozen=True)
class Dict:
    items: tuple[tuple[str, Any], ...]


Tree = Any


def tensors(tree: Tree) -> Iterator[Tensor]:
    """Every tensor of a tree, depth first, in order."""
    if isinstance(tree, Tensor):
        yield tree
    elif isinstance(tree, (tuple, list)):
        for t in tree:
            yield from tensors(t)
    elif isinstance(tree, Dict):
        for _, v in tree.items:
            yield from tensors(v)


@dataclass(frozen=True)
class Param:
    name: str  # as the module's own named_parameters() names it (recursive)
    numel: int
    trainable: bool
    itemsize: int


@dataclass(frozen=True)
class ModuleInfo:
    """One module (once, under its canonical name)."""

    scope: str
    cls: str  # its own class name
    nn_classes: tuple[str, ...]  # names of the torch.nn classes in its MRO, most derived first
    torch_nn: bool  # its own class is a torch.nn class (exact-type lookups match it)
    leaf: bool  # no children
    params: tuple[Param, ...]  # module.named_parameters() (recursive, each tensor once)
    direct: tuple[Param, ...]  # named_parameters(recurse=False)
    attrs: Mapping[str, Any] = field(default_factory=dict)
    children: tuple[str, ...] = ()  # canonical scopes of its direct children

    def isa(self, cls: str) -> bool:
        """A torch.nn class in its MRO (``isinstance``)."""
        return cls in self.nn_classes

    def attr(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)

    def has_param(self, name: str) -> bool:
        """A parameter of the module itself (not of a child) by that name."""
        return any(p.name == name for p in self.direct)


@dataclass(frozen=True)
class ModuleCall:
    scope: str
    call: int  # 1 for the first call
    args: Tree  # positional arguments
    out: Tree
    madds: int  # multiply-adds of the aten ops run during the call (children included)
    kwargs: Tree = None
    id: int = 0  # order of the call's start
    parent: int | None = None  # id of the module call it ran in
    in_function: bool = False  # called inside a custom torch.autograd.Function's forward

    def arg(self, index: int, name: str) -> Any:
        """A forward argument by position, else by keyword."""
        if len(self.args) > index:
            return self.args[index]
        if isinstance(self.kwargs, Dict):
            return dict(self.kwargs.items).get(name)
        return None


@dataclass(frozen=True)
class AtenOp:
    op: str  # overload packet, "aten.bmm"
    ins: tuple[Shape | None, ...]  # each positional argument: its shape, None if no tensor
    out: Shape | None
    madds: int


@dataclass(frozen=True)
class Call:
    """A torch function the model's Python code called (not one called inside another)."""

    fn: str  # "F.relu", "torch.matmul", "Tensor.matmul", "torch.einsum", ...
    scope: str  # the module it ran in
    args: tuple[Any, ...]  # positional arguments, tensors as Tensor
    kwargs: Mapping[str, Any]
    out: Tree
    ops: tuple[AtenOp, ...]  # the aten ops it ran
    operator: bool = False  # called by a Python operator (x @ y, x + y), not by name
    within: tuple[int, ...] = ()  # ids of the module calls around it, outermost first
    python: bool = False  # a Python function (fvcore traces through it), not a builtin
    in_function: bool = False  # inside a custom torch.autograd.Function's forward
    live: bool = True  # its output reaches the model's output (a jit trace keeps it)
    by_attribute: bool = True  # looked up on its module (or class) when called: F.relu(x),
    # x.add(y); False: through a reference taken earlier (self.act = F.gelu), which a patched
    # attribute does not reach

    @property
    def madds(self) -> int:
        return sum(o.madds for o in self.ops)

    @property
    def in_tensors(self) -> list[Tensor]:
        return list(tensors((self.args, Dict(tuple(self.kwargs.items())))))

    def arg(self, index: int, name: str, default: Any = None) -> Any:
        if len(self.args) > index:
            return self.args[index]
        return self.kwargs.get(name, default)


@dataclass
class Context:
    """Everything observed about one model on one input, for the adapters."""

    modules: dict[str, ModuleInfo] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # every other name -> canonical
    module_calls: list[ModuleCall] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)  # under a TorchFunctionMode (slow paths)
    fused: dict[str, list[AtenOp]] = field(default_factory=dict)  # scope -> fused kernels run
    inputs: tuple[Tree, Tree] = ((), None)  # (positional, keyword) inputs of the model
    output: Tree = None  # what the model returned
    walks: dict[str, int] = field(default_factory=dict)  # scope -> meetings in a children() walk

    def module(self, scope: str) -> ModuleInfo | None:
        return self.modules.get(self.aliases.get(scope, scope))

    def paths(self, scope: str) -> int:
        """How many times a walk down ``children()`` from the root meets the module at
        ``scope`` (a module shared by k parents: k)."""
        return self.walks.get(scope, 1)


__all__ = ["AtenOp", "Call", "Context", "Dict", "ModuleCall", "ModuleInfo", "Other", "Param",
           "Shape", "Tensor", "Tree", "tensors"]
