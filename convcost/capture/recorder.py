"""Record every aten op a model runs, with the module scope it ran in.

A ``TorchDispatchMode`` sees each op after autograd and after composite ops are decomposed, so
``F.conv2d``, ``x + y``, ``torch.cat``, the copy inside a channel shuffle and in-place ops are
all seen, not only modules. Forward pre/post hooks on every submodule keep the scope stack.

By default the model runs on the meta device: parameters and buffers are swapped for meta
tensors with ``torch.func.functional_call`` (no copy of the weights, nothing computed), so a
4096² input or a batch of 256 costs the same to analyse as 224². Everything the recorder
changes is put back in ``finally``: hooks removed, ``training`` flags restored, the original
parameters and buffers back in place, also when the forward pass raises.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from convcost.engine import REGISTRY, Counted, Registration, Registry
from convcost.errors import CaptureError, ConvcostError
from convcost.graph import Node, TensorInfo


class ModuleCall(NamedTuple):
    """One call of one module: its scope, which call it was, and the shapes of the tensors it
    took and returned (in the order a walk of nested tuples, lists and dicts meets them)."""

    scope: str  # "" = the root module (its class: Recording.modules[scope])
    call: int  # 1 for the module's first call, 2 for its second, ...
    inputs: tuple[tuple[int, ...], ...]
    outputs: tuple[tuple[int, ...], ...]
    itemsizes: tuple[int, ...]  # bytes per element of each output
    finished: int  # rank in the order calls returned (post-order)


@dataclass
class Recording:
    """What one forward pass ran."""

    nodes: list[Node]
    params: dict[str, int]  # unique parameter name -> numel
    modules: dict[str, str]  # scope -> class name, in first-call order
    outputs: list[tuple[int, ...]] = field(default_factory=list)
    counted: dict[int, Counted] = field(default_factory=dict)  # answers computed during capture
    calls: list[ModuleCall] = field(default_factory=list)  # every module call, in call order


@dataclass
class _Frame:
    name: str
    cls: str
    call: int
    module: nn.Module | None = None
    inputs: Any = None  # the call's (args, kwargs): shapes are read only for an error message
    slot: int = -1  # this call's index in _Recorder.calls

    @property
    def in_shapes(self) -> list[tuple[int, ...]]:
        return _shapes(self.inputs)

    @property
    def desc(self) -> str:
        """``Conv2d(3, 8, kernel_size=(3, 3), ...)`` for a leaf module, else its class."""
        m = self.module
        if m is None or next(iter(m.children()), None) is not None or not m.extra_repr():
            return self.cls
        return f"{self.cls}({m.extra_repr()})"


class _Recorder(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # TorchDispatchMode otherwise wraps __torch_dispatch__ in torch._disable_dynamo, whose
        # first call imports all of torch._dynamo (~1 s, sympy included). The recorder never
        # compiles inside the mode, so it does not need that guard.
        return False

    def __init__(self, param_ids: dict[int, tuple[str, int]], registry: Registry) -> None:
        super().__init__()
        self.param_ids = param_ids
        self.registry = registry
        self.nodes: list[Node] = []
        self.stack: list[_Frame] = []
        self.keep: list[torch.Tensor] = []  # views of parameters, kept alive so ids stay unique
        self.counted: dict[int, Counted] = {}  # node index -> counter answer already computed
        self.calls: list[ModuleCall | None] = []  # filled in by the scope hooks

    def _info(self, t: torch.Tensor) -> TensorInfo:
        owner = self.param_ids.get(id(t))
        if owner is None:
            return TensorInfo(tuple(t.shape), t.element_size())
        return TensorInfo(tuple(t.shape), t.element_size(), owner[0], owner[1])

    def _convert(self, value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return self._info(value)
        if isinstance(value, list):
            return [self._convert(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._convert(v) for v in value)
        if isinstance(value, (torch.dtype, torch.device, torch.memory_format, torch.layout)):
            return str(value)
        if isinstance(value, (int, float, bool, str)) or value is None:
            return value
        return repr(value)

    def _synthesize(self, op: str, args: Any, kwargs: Any, node_args: tuple[Any, ...],
                    node_kwargs: dict[str, Any]) -> Any:
        """The op's output made from the counter's shape, without running a kernel.

        Only for meta tensors of one floating dtype and ops in :data:`_SYNTHESIZED` counted by a
        built-in counter (a user's counter may not know the output shape): their Python meta
        kernels cost ~1 s of imports on first use. Returns None to fall back to the real
        kernel, which then also raises torch's own error for inconsistent shapes.
        """
        kind = _SYNTHESIZED.get(op)
        tensors = _tensors((args, kwargs))
        if kind is None or not tensors:
            return None
        dtype = tensors[0].dtype
        if not dtype.is_floating_point or any(
            t.device.type != "meta" or t.dtype != dtype for t in tensors
        ):
            return None
        counter = self.registry.lookup(op)
        if not isinstance(counter, Registration) or not counter.builtin:
            return None
        node = Node(0, op, "", "", 1, node_args, node_kwargs)
        try:
            counted = counter(node)
        except (ConvcostError, IndexError, TypeError, AttributeError, ValueError):
            return None
        shape = counted.cost.out_shape
        self.counted[len(self.nodes)] = counted
        if op.endswith("_"):  # in-place: the result is the first argument itself
            return args[0] if tuple(args[0].shape) == shape else None
        out = torch.empty(shape, dtype=dtype, device="meta")
        if kind == "norm":  # (output, saved mean, saved invstd): empty at inference
            empty = torch.empty(0, dtype=dtype, device="meta")
            return out, empty, empty.clone()
        if kind == "indices":
            return out, torch.empty(shape, dtype=torch.int64, device="meta")
        return out

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        op = str(func.overloadpacket)
        node_args = tuple(self._convert(a) for a in args)
        node_kwargs = {k: self._convert(v) for k, v in kwargs.items()}
        out = self._synthesize(op, args, kwargs, node_args, node_kwargs)
        if out is None:
            out = func(*args, **kwargs)
        outs = _tensors(out)
        first = args[0] if args else None
        if (isinstance(first, torch.Tensor) and id(first) in self.param_ids
                and isinstance(self.registry.lookup(op), str)):
            for o in outs:  # a view of a parameter is that parameter (nn.Linear's weight.t())
                self.param_ids[id(o)] = self.param_ids[id(first)]
                self.keep.append(o)
        frame = self.stack[-1] if self.stack else _ROOT
        self.nodes.append(Node(
            index=len(self.nodes),
            op=op,
            scope=frame.name,
            module=frame.cls,
            call=frame.call,
            args=node_args,
            kwargs=node_kwargs,
            outputs=tuple(self._info(o) for o in outs),
        ))
        return out


# ops whose output convcost makes itself on the meta device (see _Recorder._synthesize)
_SYNTHESIZED: dict[str, str] = {
    **dict.fromkeys((
        "aten.convolution", "aten.addmm", "aten.mm", "aten.bmm", "aten.cat", "aten.mean",
        "aten._adaptive_avg_pool2d", "aten.avg_pool2d", "aten._softmax", "aten.clone",
        "aten.relu", "aten.relu_", "aten.hardtanh", "aten.hardtanh_", "aten.hardswish",
        "aten.hardswish_", "aten.hardsigmoid", "aten.hardsigmoid_", "aten.sigmoid",
        "aten.sigmoid_", "aten.silu", "aten.silu_", "aten.gelu", "aten.tanh", "aten.add",
        "aten.add_", "aten.mul", "aten.mul_", "aten.sub", "aten.div",
    ), "tensor"),
    "aten.native_batch_norm": "norm",
    "aten._native_batch_norm_legit_no_training": "norm",
    "aten.max_pool2d_with_indices": "indices",
}


_ROOT = _Frame("", "", 1)


def _tensors(value: Any, out: list[torch.Tensor] | None = None) -> list[torch.Tensor]:
    """Every tensor in nested tuples, lists and dicts (what aten ops and forwards pass);
    a few times faster than torch's general pytree on this hot path."""
    found = [] if out is None else out
    if isinstance(value, torch.Tensor):
        found.append(value)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _tensors(v, found)
    elif isinstance(value, dict):
        for v in value.values():
            _tensors(v, found)
    return found


def _shapes(values: Any) -> list[tuple[int, ...]]:
    return [tuple(t.shape) for t in _tensors(values)]


def _call_record(frame: _Frame, args: Any, kwargs: Any, out: Any, finished: int) -> ModuleCall:
    # fast path for the usual one-tensor-in, one-tensor-out call (this runs once per module
    # call, inside the benchmarked capture)
    if len(args) == 1 and not kwargs and isinstance(args[0], torch.Tensor):
        ins: tuple[tuple[int, ...], ...] = (tuple(args[0].shape),)
    else:
        ins = tuple(tuple(t.shape) for t in _tensors((args, kwargs)))
    if isinstance(out, torch.Tensor):
        outs: tuple[tuple[int, ...], ...] = (tuple(out.shape),)
        sizes: tuple[int, ...] = (out.element_size(),)
    else:
        found = _tensors(out)
        outs = tuple(tuple(t.shape) for t in found)
        sizes = tuple(t.element_size() for t in found)
    return ModuleCall(frame.name, frame.call, ins, outs, sizes, finished)


@contextmanager
def _scope_hooks(model: nn.Module, rec: _Recorder, modules: dict[str, str]) -> Iterator[None]:
    calls: dict[str, int] = {}
    done = [0]  # calls returned so far
    handles = []

    def pre(name: str, cls: str) -> Any:
        def hook(m: nn.Module, args: Any, kwargs: Any) -> None:
            calls[name] = calls.get(name, 0) + 1
            modules.setdefault(name, cls)
            # the call's place is taken now, so calls keep pre-order (parents before children)
            rec.calls.append(None)
            rec.stack.append(_Frame(name, cls, calls[name], m, (args, kwargs),
                                    len(rec.calls) - 1))
        return hook

    def post(name: str) -> Any:
        def hook(_m: nn.Module, args: Any, kwargs: Any, out: Any) -> None:
            if rec.stack and rec.stack[-1].name == name:
                frame = rec.stack.pop()
                rec.calls[frame.slot] = _call_record(frame, args, kwargs, out, done[0])
                done[0] += 1
        return hook

    try:
        for name, module in model.named_modules():
            cls = type(module).__name__
            handles.append(module.register_forward_pre_hook(pre(name, cls), with_kwargs=True))
            handles.append(module.register_forward_hook(post(name), with_kwargs=True))
        yield
    finally:
        for h in handles:
            h.remove()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for an analysis (tens of milliseconds).

    The capture allocates tens of thousands of small objects; with torch's large heap that
    triggers a full collection costing more than the whole capture (71 ms vs 28 ms for
    ResNet-50 here). The previous state is restored, also on error.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    saved = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        yield
    finally:
        for m, flag in saved:
            m.training = flag


def _stand_in(t: torch.Tensor, device: str, dtype: torch.dtype) -> torch.Tensor:
    want = dtype if t.is_floating_point() else t.dtype
    if device == "meta":
        return torch.empty(t.shape, dtype=want, device="meta")
    return torch.zeros(t.shape, dtype=want, device=device)


def _needs_swap(tensors: list[torch.Tensor], device: str, dtype: torch.dtype) -> bool:
    for t in tensors:
        if t.device.type != torch.device(device).type:
            return True
        if t.is_floating_point() and t.dtype != dtype:
            return True
    return False


def record(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], *,
           device: str = "meta", dtype: torch.dtype = torch.float32,
           registry: Registry = REGISTRY) -> Recording:
    """Run ``model(*args, **kwargs)`` once under the recorder and return what ran.

    ``args``/``kwargs`` must already be on ``device``. ``registry`` is the one the evaluation
    will use (``Recording.counted`` holds its answers). The model is left exactly as it was.
    """
    all_params = list(model.named_parameters(remove_duplicate=False))
    buffers = list(model.named_buffers(remove_duplicate=False))
    unique: dict[str, torch.Tensor] = {}
    name_of: dict[int, str] = {}
    for name, p in all_params:  # tied weights once, under their first name
        if id(p) not in name_of:
            name_of[id(p)] = name
            unique[name] = p
    params = {name: p.numel() for name, p in unique.items()}
    param_ids: dict[int, tuple[str, int]] = {}
    swap: dict[str, torch.Tensor] | None = None
    if _needs_swap([t for _, t in all_params + buffers], device, dtype):
        swap = {}
        made: dict[int, torch.Tensor] = {}
        for name, t in all_params + buffers:
            if id(t) not in made:
                made[id(t)] = _stand_in(t, device, dtype)
                if id(t) in name_of:
                    param_ids[id(made[id(t)])] = (name_of[id(t)], t.numel())
            swap[name] = made[id(t)]
    else:
        param_ids = {id(p): (name, p.numel()) for name, p in unique.items()}
    rec = _Recorder(param_ids, registry)
    modules: dict[str, str] = {}
    with ExitStack() as stack:
        stack.enter_context(_eval_mode(model))
        stack.enter_context(_scope_hooks(model, rec, modules))
        stack.enter_context(torch.no_grad())
        try:
            with rec:
                if swap is None:
                    out = model(*args, **kwargs)
                else:
                    out = torch.func.functional_call(model, swap, args, kwargs, strict=False)
        except Exception as exc:
            raise _explain(exc, rec, model, device) from exc
    calls = [c for c in rec.calls if c is not None]
    return Recording(rec.nodes, params, modules, _shapes(out), rec.counted, calls)


_TOO_SMALL = re.compile(
    r"too small|greater than actual input size|non-positive|must be greater than 0|"
    r"Kernel size can't be greater", re.I)


def _explain(exc: Exception, rec: _Recorder, model: nn.Module, device: str) -> CaptureError:
    """One line that says where the forward pass failed and what to do."""
    msg = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, TypeError) and not rec.nodes and "forward()" in msg:
        return CaptureError(
            f"{type(model).__name__}.forward() needs arguments that were not given ({msg}); "
            "pass every input (analyze(..., inputs=(...), kwargs={...}))"
        )
    frame = rec.stack[-1] if rec.stack else None
    where = f"layer '{frame.name or '(root)'}' {frame.desc}" if frame else "the model"
    shapes = ", ".join("×".join(map(str, s)) for s in frame.in_shapes) if frame else ""
    got = f" {shapes}" if shapes else ""
    if device == "meta" and (
        "meta" in msg.lower() or isinstance(exc, NotImplementedError) or "data-dependent" in msg
    ):
        return CaptureError(
            f"{where} cannot run on the meta device ({msg}); its control flow needs real "
            "values: analyse with device='cpu' (CLI: --device cpu)"
        )
    if _TOO_SMALL.search(msg):
        return CaptureError(
            f"the input is too small for the network: the spatial size reached zero at {where}"
            f" (its input{got}; {msg})"
        )
    return CaptureError(f"{where} rejected its input{got}: {msg}")


__all__ = ["ModuleCall", "Recording", "gc_paused", "record"]
