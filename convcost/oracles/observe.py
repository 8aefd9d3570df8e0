"""The observation pass: what the peers key on, recorded on a real CPU run of the model.

One forward pass of a copy of the model under a ``TorchFunctionMode`` (the torch functions the
model's Python code calls, with their arguments), a ``TorchDispatchMode`` (the aten ops each
of those ran and their multiply-adds, from :mod:`convcost.oracles.real`'s counter) and module
hooks (scopes, every module call's inputs and outputs). The modules themselves are read
before the run. The result is plain data (:class:`convcost.oracles.context.Context`); the
adapters compute each peer's figure from it and convcost's rows.

A ``TorchFunctionMode`` sees only the outermost torch function of a call (inside it the mode is
off), as thop's own function counter does; and it disables ``nn.MultiheadAttention``'s and
``nn.TransformerEncoderLayer``'s fast paths, as thop's and convcost's own captures do. The real
run (:func:`convcost.oracles.real.run_real`) records where those fast paths ran instead.
"""

from __future__ import annotations

import contextlib
import dis
import inspect
import sys
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from convcost.oracles.context import (
    AtenOp,
    Call,
    Context,
    Dict,
    ModuleCall,
    ModuleInfo,
    Other,
    Param,
    Tensor,
    Tree,
)
from convcost.oracles.real import aten_madds, aten_op

# --- values as data ---------------------------------------------------------------------------

_ATTR_TYPES = (bool, int, float, str, type(None))


def tree(value: Any, depth: int = 0) -> Tree:
    """A value as plain data: tensors as :class:`Tensor`, containers kept, other objects as
    :class:`Other` (what torchinfo's size walk asks of them)."""
    if isinstance(value, torch.Tensor):
        return Tensor(tuple(value.shape), value.element_size())
    if isinstance(value, _ATTR_TYPES):
        return value
    if depth > 6:
        return Other(type(value).__name__)
    if isinstance(value, Mapping):
        items = tuple((str(k), tree(v, depth + 1)) for k, v in value.items())
        return Dict(items)
    if isinstance(value, tuple) and not hasattr(value, "_fields"):  # torch.Size too
        return tuple(tree(v, depth + 1) for v in value)
    if isinstance(value, list):
        return [tree(v, depth + 1) for v in value]
    if isinstance(value, tuple):  # a NamedTuple (PackedSequence is one)
        data = getattr(value, "data", None)
        return Other(type(value).__name__,
                     data=tree(data) if isinstance(data, torch.Tensor) else None)
    if isinstance(value, (torch.dtype, torch.device)):
        return str(value)
    inner = getattr(value, "tensors", None)
    return Other(type(value).__name__,
                 tensors=tree(inner, depth + 1) if inner is not None else None)


def _attrs(module: nn.Module) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:  # a parametrized or weight-normed module computes its weight on access
        weight = getattr(module, "weight", None)
    except Exception:  # a weight that cannot be computed yet
        weight = None
    if isinstance(weight, torch.Tensor):
        out["weight_shape"] = tuple(weight.shape)
    for k, v in vars(module).items():
        if k.startswith("_"):
            continue
        if isinstance(v, _ATTR_TYPES):
            out[k] = v
        elif isinstance(v, (tuple, list)) and all(isinstance(x, _ATTR_TYPES) for x in v):
            out[k] = tuple(v)
    return out


def _params(named: Any) -> tuple[Param, ...]:
    return tuple(Param(n, p.numel(), p.requires_grad, p.element_size())
                 for n, p in named if not isinstance(p, nn.parameter.UninitializedParameter))


def walks(model: nn.Module) -> dict[str, int]:
    """How many times a walk down ``children()`` (which skips a module listed twice under the
    same parent) meets each module, by canonical name: ptflops sums a module once per meeting."""
    canonical = {id(m): n for n, m in model.named_modules()}
    count: dict[str, int] = {}

    def visit(mod: nn.Module) -> None:
        name = canonical[id(mod)]
        count[name] = count.get(name, 0) + 1
        for child in mod.children():
            visit(child)

    visit(model)
    return count


def describe_modules(model: nn.Module) -> tuple[dict[str, ModuleInfo], dict[str, str]]:
    """Every module once, by its canonical name, and every other name it has."""
    canonical: dict[int, str] = {}
    aliases: dict[str, str] = {}
    for name, mod in model.named_modules(remove_duplicate=False):
        if id(mod) in canonical:
            aliases[name] = canonical[id(mod)]
        else:
            canonical[id(mod)] = name
    infos: dict[str, ModuleInfo] = {}
    for name, mod in model.named_modules():
        cls = type(mod)
        nn_classes = tuple(c.__name__ for c in cls.__mro__
                           if c.__module__.startswith("torch.nn.") and c is not nn.Module)
        children = tuple(canonical[id(c)] for c in mod.children())
        infos[name] = ModuleInfo(
            scope=name, cls=cls.__name__, nn_classes=nn_classes,
            torch_nn=cls.__module__.startswith("torch.nn."), leaf=not children,
            params=_params(mod.named_parameters()),
            direct=_params(mod.named_parameters(recurse=False)),
            attrs=_attrs(mod), children=children)
    return infos, aliases


# --- function names ---------------------------------------------------------------------------

def _names() -> dict[int, str]:
    found: dict[int, str] = {}
    for prefix, space in (("F", F), ("torch", torch), ("Tensor", torch.Tensor),
                          ("torch.special", torch.special), ("torch.linalg", torch.linalg),
                          ("torch.fft", torch.fft)):
        for attr in dir(space):
            if attr.startswith("_") and not (attr.startswith("__") and attr.endswith("__")):
                continue
            try:
                obj = getattr(space, attr)
            except Exception:  # a lazy attribute that cannot load
                continue
            if callable(obj) and id(obj) not in found:
                found[id(obj)] = f"{prefix}.{attr}"
    return found


_NAMES: dict[int, str] = {}


def function_name(func: Any) -> str:
    """``F.relu``, ``torch.matmul``, ``Tensor.matmul``: the name a peer's table uses."""
    if not _NAMES:
        _NAMES.update(_names())
    name = _NAMES.get(id(func))
    if name is not None:
        return name
    owner = getattr(func, "__objclass__", None)
    if owner is not None and issubclass(owner, torch._C.TensorBase):
        return f"Tensor.{func.__name__}"
    module = getattr(func, "__module__", None) or ""
    return f"{module}.{getattr(func, '__qualname__', repr(func))}"


_OPERATOR_CODES: dict[tuple[Any, int], bool] = {}


def _called_by_operator(frame: Any) -> bool:
    """Whether the Python instruction that led to this call is an operator (``x @ y``,
    ``x + y``, ``x[i]``) rather than a call by name (``x.matmul(y)``): a tensor method's torch
    function is the same object either way, but ptflops patches only the named method."""
    key = (frame.f_code, frame.f_lasti)
    found = _OPERATOR_CODES.get(key)
    if found is None:
        found = False
        for ins in dis.get_instructions(frame.f_code):
            if ins.offset == frame.f_lasti:
                found = ins.opname.startswith(("BINARY_", "INPLACE_", "COMPARE_OP",
                                               "UNARY_"))
                break
        _OPERATOR_CODES[key] = found
    return found


_TORCH_GLUE = ("torch/overrides.py", "torch/nn/functional.py", "torch/_jit_internal.py",
               "torch/functional.py")


def _user_frame(frame: Any) -> Any:
    """The frame that called the torch function (past torch's own dispatch glue)."""
    while frame is not None and frame.f_code.co_filename.replace("\\", "/").endswith(
            _TORCH_GLUE):
        frame = frame.f_back
    return frame


_LOADS = ("LOAD_ATTR", "LOAD_METHOD", "LOAD_GLOBAL", "LOAD_NAME", "LOAD_FAST", "LOAD_DEREF")
_BY_ATTRIBUTE: dict[tuple[Any, int, str], bool] = {}


def _by_module_attribute(frame: Any, func: Any) -> bool:
    """Whether the caller looked the function up as an attribute of a module at call time
    (``F.gelu(x)``, ``torch.matmul(a, b)``), so that a patched module attribute is what would
    run, rather than through a reference taken earlier (``self.act = F.gelu``, ``from
    torch.nn.functional import relu``), which a patch does not reach."""
    name = getattr(func, "__name__", None)
    if frame is None or not name:
        return False
    key = (frame.f_code, frame.f_lasti, name)
    found = _BY_ATTRIBUTE.get(key)
    if found is not None:
        return found
    found = False
    loads = [i for i in dis.get_instructions(frame.f_code)
             if i.offset <= frame.f_lasti and i.opname in _LOADS]
    for k in range(len(loads) - 1, -1, -1):
        ins = loads[k]
        if ins.argval != name:
            continue
        if ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and k > 0:
            owner = loads[k - 1]
            value: Any = None
            if owner.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                value = frame.f_globals.get(owner.argval, frame.f_builtins.get(owner.argval))
            elif owner.opname in ("LOAD_FAST", "LOAD_DEREF"):
                value = frame.f_locals.get(owner.argval)
            elif owner.opname in ("LOAD_ATTR", "LOAD_METHOD"):
                value = F if owner.argval == "functional" else torch if \
                    owner.argval == "torch" else None
            found = inspect.ismodule(value)
        elif ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            found = frame.f_globals is vars(F) or frame.f_globals is vars(torch)
        break
    _BY_ATTRIBUTE[key] = found
    return found


def _inside_autograd_function(frame: Any) -> bool:
    """Whether the call comes from a custom ``torch.autograd.Function``'s forward (a jit trace
    records such a function as one opaque ``prim::PythonOp``)."""
    from torch.autograd.function import FunctionCtx

    for _ in range(64):
        if frame is None:
            return False
        ctx = frame.f_locals.get("ctx") if frame.f_code.co_name == "forward" else None
        if isinstance(ctx, FunctionCtx):
            return True
        frame = frame.f_back
    return False


# --- the pass ---------------------------------------------------------------------------------


class _Ops(TorchDispatchMode):
    """Every aten op: its multiply-adds to the open module calls, the op to the open call."""

    def __init__(self, facts: _Facts) -> None:
        super().__init__()
        self.facts = facts

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        n = aten_madds(func, tuple(args), out) or 0
        for frame in self.facts.module_stack:
            frame.madds += n
        if self.facts.open_call is not None:
            self.facts.open_call.append(aten_op(func, tuple(args), out, n))
        return out


class _Functions(TorchFunctionMode):
    def __init__(self, facts: _Facts) -> None:
        super().__init__()
        self.facts = facts

    def __torch_function__(self, func: Any, types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        facts = self.facts
        name = function_name(func)
        if facts.open_call is not None or name in _IGNORED or name.endswith("__get__"):
            return func(*args, **kwargs)
        operator = False
        caller = _user_frame(sys._getframe(1))
        if name.startswith("Tensor."):
            operator = caller is not None and _called_by_operator(caller)
            by_attribute = not operator
        else:
            by_attribute = _by_module_attribute(caller, func)
        ops: list[AtenOp] = []
        facts.open_call = ops
        try:
            out = func(*args, **kwargs)
        finally:
            facts.open_call = None
        facts.link(len(facts.calls), (args, kwargs), out)
        facts.calls.append(Call(
            fn=name, scope=facts.scope, args=tuple(tree(a) for a in args),
            kwargs={k: tree(v) for k, v in kwargs.items()}, out=tree(out), ops=tuple(ops),
            operator=operator, within=tuple(f.id for f in facts.module_stack),
            python=inspect.isfunction(func), in_function=_inside_autograd_function(caller),
            by_attribute=by_attribute))
        return out


# attribute reads and other calls no peer counts, which a forward makes by the thousand
_IGNORED = frozenset({"Tensor.dim", "Tensor.size", "Tensor.__len__", "Tensor.numel",
                      "Tensor.is_floating_point", "Tensor.stride", "Tensor.__format__",
                      "Tensor.__bool__", "Tensor.is_contiguous", "Tensor.__hash__",
                      "Tensor.__iter__", "Tensor.item", "Tensor.tolist",
                      "Tensor.element_size", "Tensor.data_ptr", "Tensor.__index__",
                      "Tensor.__int__", "Tensor.__float__", "Tensor.__repr__",
                      "Tensor.dim_order", "Tensor.get_device", "Tensor.is_complex"})


@dataclass
class _Open:
    """A module call that has started and not yet returned."""

    scope: str
    call: int  # 1 for the module's first call
    args: Tree
    kwargs: Tree
    id: int
    parent: int | None
    in_function: bool
    madds: int = 0  # of the aten ops run so far in it (children included)


class _Facts:
    def __init__(self) -> None:
        self.module_stack: list[_Open] = []  # the open module calls, outermost first
        self.calls: list[Call] = []
        self.module_calls: list[ModuleCall] = []
        self.open_call: list[AtenOp] | None = None
        self.producer: dict[int, int] = {}  # id of a live tensor -> the call that made it
        self.deps: list[set[int]] = []  # per call: the calls whose tensors it read

    @property
    def scope(self) -> str:
        """The innermost open module call's scope (the root's "" when none is open)."""
        return self.module_stack[-1].scope if self.module_stack else ""

    def link(self, index: int, inputs: Any, out: Any) -> None:
        """Data flow: which recorded calls made the tensors this call read; this call made
        its outputs (a tensor's entry goes when it dies, so a reused id is never followed)."""
        deps = {self.producer[id(t)] for t in _leaves(inputs) if id(t) in self.producer}
        self.deps.append(deps)
        for t in _leaves(out):
            key = id(t)
            if self.producer.get(key) is None:
                with contextlib.suppress(TypeError):
                    weakref.finalize(t, self.producer.pop, key, None)
            self.producer[key] = index

    def live(self, out: Any) -> set[int]:
        """The calls whose results reach ``out`` (what a jit trace keeps)."""
        todo = [self.producer[id(t)] for t in _leaves(out) if id(t) in self.producer]
        seen: set[int] = set()
        while todo:
            i = todo.pop()
            if i in seen:
                continue
            seen.add(i)
            todo.extend(self.deps[i])
        return seen


def _leaves(value: Any, depth: int = 0) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if depth > 6:
        return []
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in _leaves(v, depth + 1)]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _leaves(v, depth + 1)]
    inner = [getattr(value, a) for a in ("key_cache", "value_cache", "layers", "keys", "values")
             if hasattr(value, a) and not callable(getattr(value, a))]
    return [t for v in inner for t in _leaves(v, depth + 1)]


def observe(model: nn.Module, args: tuple[Any, ...],
            kwargs: dict[str, Any] | None = None) -> Context:
    """Run ``model`` (a copy: hooks are added) once and record what the peers key on."""
    modules, aliases = describe_modules(model)
    canonical = {id(m): n for n, m in model.named_modules()}
    facts = _Facts()
    counts: dict[str, int] = {}
    handles = []
    next_id = [0]

    def pre(mod: nn.Module, a: Any, kw: Any) -> None:
        name = canonical[id(mod)]
        inside = _inside_autograd_function(sys._getframe(1))
        counts[name] = counts.get(name, 0) + 1
        parent = facts.module_stack[-1].id if facts.module_stack else None
        next_id[0] += 1
        facts.module_stack.append(_Open(name, counts[name], tree(a), tree(kw) if kw else None,
                                        next_id[0], parent, inside))

    def post(mod: nn.Module, a: Any, kw: Any, out: Any) -> None:
        o = facts.module_stack.pop()
        facts.module_calls.append(ModuleCall(o.scope, o.call, o.args, tree(out), o.madds,
                                             o.kwargs, o.id, o.parent, o.in_function))

    for mod in model.modules():  # each module once, shared ones included
        handles.append(mod.register_forward_pre_hook(pre, with_kwargs=True))
        handles.append(mod.register_forward_hook(post, with_kwargs=True))
    try:
        with torch.no_grad(), _Ops(facts), _Functions(facts):
            out = model(*args, **(kwargs or {}))
    finally:
        for h in handles:
            h.remove()
    live = facts.live(out)
    calls = [replace(c, live=i in live) for i, c in enumerate(facts.calls)]
    # module calls in return order (post-order), as the hooks finish them
    return Context(modules=modules, aliases=aliases, module_calls=facts.module_calls,
                   calls=calls, inputs=(tree(args), tree(kwargs or {})), output=tree(out),
                   walks=walks(model))


__all__ = ["describe_modules", "function_name", "observe", "tree"]
