"""Record every aten op a model runs, with the module scope it ran in.

A ``TorchDispatchMode`` sees each op after autograd and after composite ops are decomposed, so
``F.conv2d``, ``x + y``, ``torch.cat``, the copy inside a channel shuffle and in-place ops are
all seen, not only modules. Forward pre/post hooks on every submodule keep the scope stack.

By default the model runs on the meta device: parameters and buffers are swapped for meta
tensors with ``torch.func.functional_call`` (no copy of the weights, nothing computed), so a
4096² input or a batch of 256 costs the same to analyse as 224². Everything the recorder
changes is put back in ``finally``: hooks removed, ``training`` flags restored, the original
parameters and buffers back in place, also when the forward pass raises.

Two functions are seen before they decompose (:mod:`convcost.capture.functions`): ``F.linear``
keeps the caller's shapes in its row, and on meta ``F.scaled_dot_product_attention`` runs the
fused op the CPU would run, so both devices record the same ``attention`` node.

**Data-dependent control flow on meta.** A meta tensor has no values, so ``Tensor.item()``,
``if mask.all():`` and the like fail. Then the forward pass runs once more on ``FakeTensor``s
(``torch._subclasses.fake_tensor``, imported only then: the inputs wrapped, the weights fake
stand-ins), the meta tensors ``torch.compile`` traces with: libraries that check for tracing
(transformers'
``is_tracing``: its masking utilities' packed-sequence and all-ones checks) skip the check and
take the path they take under ``torch.compile``. A value that is truly needed still fails, and
the error is the first run's, pointing to ``device='cpu'``. :attr:`Recording.fake` says which
run answered. The first run's side effects on the inputs (a KV cache it appended to before it
failed) are not undone.

**A training step and memory** (``record(..., backward=True, memory=True)``), by
:class:`_Tracking`, a subclass the plain capture never pays for: the forward pass in training
mode with gradients on, each parameter a stand-in that requires grad as the parameter does,
then ``loss.backward()``; each backward op takes the module scope of the forward op it
differentiates (autograd's sequence numbers link the two). With ``memory``, every storage's
allocation and release is noted (:class:`_Storages`, :class:`~convcost.engine.memory
.Lifetimes`), with the tensors autograd saves for backward (a ``saved_tensors_hooks`` pack
hook that returns the tensor itself) and each parameter's gradient.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import re
import weakref
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from convcost.capture.functions import Functions
from convcost.engine import REGISTRY, Counted, Registration, Registry
from convcost.engine.memory import Category, Event, Lifetimes, Param
from convcost.errors import CaptureError, ConvcostError, InvalidArgumentError
from convcost.graph import BACKWARD, FORWARD, Node, TensorInfo


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
    fake: bool = False  # captured on FakeTensors after plain meta met a data-dependent value
    lifetimes: Lifetimes | None = None  # every storage's allocation and release (memory=True)


@dataclass
class _Frame:
    name: str
    cls: str
    call: int
    module: nn.Module | None = None
    inputs: Any = None  # the call's (args, kwargs): shapes are read only for an error message
    slot: int = -1  # this call's index in _Recorder.calls
    plain: Any = None  # the DisableTorchFunction guard a _PLAIN_LEAVES module runs under

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
        self.phase = FORWARD

    def node_count(self) -> int:
        return len(self.nodes)

    def linear_shapes(self, start: int, in_shape: tuple[int, ...],
                      out_shape: tuple[int, ...]) -> None:
        """``F.linear`` on ``in_shape`` (more than 2-d) recorded nodes ``start:``; when that is
        torch's ``view → addmm|mm → view``, give the product node the caller's shapes: the
        input ``(..., in)`` instead of ``(N, in)``, the output ``(..., out)``. Its cost does not
        change (the counter's matmul broadcasts the leading dims); only the row's shapes do.
        Other decompositions (a non-contiguous input runs ``bmm`` + ``add``) keep theirs."""
        found = [i for i in range(start, len(self.nodes))
                 if self.nodes[i].op in ("aten.addmm", "aten.mm")]
        if len(found) != 1:
            return
        i = found[0]
        node = self.nodes[i]
        pos = 1 if node.op == "aten.addmm" else 0
        a = node.args[pos] if len(node.args) > pos else None
        lead_in, lead_out = math.prod(in_shape[:-1]), math.prod(out_shape[:-1])
        if (not isinstance(a, TensorInfo) or a.shape != (lead_in, in_shape[-1])
                or node.out_shape != (lead_out, out_shape[-1]) or len(node.outputs) != 1):
            return
        args = list(node.args)
        args[pos] = dataclasses.replace(a, shape=in_shape)
        self.nodes[i] = dataclasses.replace(
            node, args=tuple(args),
            outputs=(dataclasses.replace(node.outputs[0], shape=out_shape),))
        self.counted.pop(i, None)  # counted on the 2-d shapes: count again

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
        if kind == "norm" and op == "aten.native_batch_norm" and len(args) > 5 and args[5]:
            return None  # training: the batch statistics it saves for backward have a shape
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
        if op.startswith("prim."):  # a FakeTensor's metadata query (prim.device): no op ran
            return func(*args, **kwargs)
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
        frame = self.stack[-1] if self.stack else self._outside()
        self.nodes.append(Node(
            index=len(self.nodes),
            op=op,
            scope=frame.name,
            module=frame.cls,
            call=frame.call,
            args=node_args,
            kwargs=node_kwargs,
            outputs=tuple(self._info(o) for o in outs),
            phase=self.phase,
        ))
        return out

    def _outside(self) -> _Frame:
        """The frame of an op run outside every module call (the loss, the backward pass)."""
        return _ROOT


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


class _Storages:
    """Every storage one run touches: when it was made and when its last reference went.

    A storage is known by the address of its ``StorageImpl`` while it lives. Its release is
    a weak reference's callback: the storage's Python object lives exactly as long as the
    storage (PyTorch keeps it alive while C++ holds the storage), and CPython runs the
    callback the moment the last reference goes, so releases are noted in the order the run
    makes them, between the ops they follow (``Event.at``: the last op recorded then)."""

    def __init__(self, ops: Callable[[], int]) -> None:
        self.ops = ops  # how many ops are recorded so far
        self.keys: dict[int, int] = {}  # a live storage's address -> its key
        self.sizes: dict[int, int] = {}  # key -> bytes
        self.refs: dict[int, weakref.ref[Any]] = {}  # key -> weak reference, while it lives
        self.resident: dict[int, int] = {}  # storages alive before the run: key -> bytes
        self.events: list[Event] = []

    def note(self, t: torch.Tensor, made: bool) -> int | None:
        """The key of ``t``'s storage. One not seen before was made by the op just recorded
        (``made``) or existed before the run (an input, a weight: resident). None for a
        tensor without a storage of its own (sparse, nested, a subclass wrapper)."""
        try:
            s = t.untyped_storage()
            addr, n = s._cdata, s.nbytes()
        except (RuntimeError, NotImplementedError, TypeError, AttributeError):
            return None
        key = self.keys.get(addr)
        if key is None:
            key = len(self.sizes)
            self.keys[addr] = key
            self.sizes[key] = n
            self.refs[key] = weakref.ref(s, self._released(key, addr))
            if made:
                self.events.append(Event(self.ops() - 1, key, n))
            else:
                self.resident[key] = n
        elif n != self.sizes[key]:  # resized in place (resize_, set_)
            self.sizes[key] = n
            self.events.append(Event(self.ops() - 1, key, n))
        return key

    def _released(self, key: int, addr: int) -> Callable[[Any], None]:
        def gone(_ref: Any) -> None:
            if self.keys.get(addr) == key:
                del self.keys[addr]
            self.refs.pop(key, None)
            self.events.append(Event(self.ops() - 1, key, -self.sizes[key]))
        return gone

    def stop(self) -> None:
        """No more events: what is still alive stays alive (the weak references dropped)."""
        self.refs.clear()


def _sequence_nr() -> int:
    """The sequence number the next autograd node will get (torch >= 2.2); -1 without it."""
    peek = getattr(torch._C._autograd, "_get_sequence_nr", None)
    return int(peek()) if peek is not None else -1


class _Tracking(_Recorder):
    """The recorder of a training step (``backward``: every backward op takes the module
    scope of the forward op it differentiates, found by autograd's sequence numbers) and of
    memory (``memory``: every storage's allocation and release, :class:`_Storages`). Only
    these runs pay for it; a plain capture runs :class:`_Recorder` alone."""

    def __init__(self, param_ids: dict[int, tuple[str, int]], registry: Registry, *,
                 backward: bool, memory: bool) -> None:
        super().__init__(param_ids, registry)
        self.backward = backward
        self.storages = _Storages(self.node_count) if memory else None
        self.scopes: dict[int, _Frame] = {}  # forward op's autograd sequence nr -> its scope
        self.mapped = -1  # sequence numbers below this one have their scope (-1: none yet)
        self.previous = _ROOT  # the scope of the forward op dispatched last

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        if self.backward and self.phase == FORWARD:
            self._scope_nodes()
        st = self.storages
        if st is not None:
            for t in _tensors((args, kwargs)):
                st.note(t, made=False)
        out = super().__torch_dispatch__(func, types, args, kwargs)
        if st is not None:
            for t in _tensors(out):
                st.note(t, made=True)
        return out

    def _scope_nodes(self) -> None:
        """Give the autograd nodes made since the last op their forward op's scope: the one
        autograd made for this op before dispatching it (sequence number: the next one less
        one), and those made after the previous op returned (an in-place op's node is made
        once it ran) the previous op's."""
        seq = _sequence_nr() - 1
        if seq < 0:
            return
        if self.mapped < 0:  # the first op: earlier numbers belong to earlier runs
            self.mapped = seq
        for n in range(self.mapped, seq):
            self.scopes.setdefault(n, self.previous)
        f = self.stack[-1] if self.stack else _ROOT
        if f is not _ROOT:  # a copy without the call's inputs, which it would keep alive
            f = _Frame(f.name, f.cls, f.call)
        self.scopes.setdefault(seq, f)
        self.mapped = max(self.mapped, seq + 1)
        self.previous = f

    def _outside(self) -> _Frame:
        if self.phase == BACKWARD:
            node = torch._C._current_autograd_node()
            if node is not None:
                return self.scopes.get(node._sequence_nr(), _ROOT)
        return _ROOT


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

    def pre(name: str, cls: str, plain: bool) -> Any:
        def hook(m: nn.Module, args: Any, kwargs: Any) -> None:
            calls[name] = calls.get(name, 0) + 1
            modules.setdefault(name, cls)
            # the call's place is taken now, so calls keep pre-order (parents before children)
            rec.calls.append(None)
            frame = _Frame(name, cls, calls[name], m, (args, kwargs), len(rec.calls) - 1)
            if plain:
                frame.plain = torch._C.DisableTorchFunction()
                frame.plain.__enter__()
            rec.stack.append(frame)
        return hook

    def post(name: str) -> Any:
        def hook(_m: nn.Module, args: Any, kwargs: Any, out: Any) -> None:
            if rec.stack and rec.stack[-1].name == name:
                frame = rec.stack.pop()
                if frame.plain is not None:
                    rec.calls[frame.slot] = _call_record(frame, args, kwargs, out, done[0])
                    frame.plain.__exit__(None, None, None)
                else:
                    with torch._C.DisableTorchFunction():  # shapes read without Functions
                        rec.calls[frame.slot] = _call_record(frame, args, kwargs, out,
                                                             done[0])
                done[0] += 1
        return hook

    try:
        for name, module in model.named_modules():
            cls = type(module).__name__
            plain = type(module) in _PLAIN_LEAVES and next(module.children(), None) is None
            handles.append(module.register_forward_pre_hook(pre(name, cls, plain),
                                                            with_kwargs=True))
            handles.append(module.register_forward_hook(post(name), with_kwargs=True))
        yield
    finally:
        for frame in reversed(rec.stack):  # calls a raise left open
            if frame.plain is not None:
                frame.plain.__exit__(None, None, None)
                frame.plain = None
        for h in handles:
            h.remove()


# torch.nn leaf modules whose forward calls neither F.linear nor F.scaled_dot_product_attention
# (the two functions capture.functions sees): they run with torch functions going straight to
# the dispatcher, not through Functions' Python handler. That handler costs a ResNet-50 capture
# ~0.5 ms (5 %) for its F.conv2d, F.batch_norm and F.relu calls; with this, nothing measurable.
# Exact classes only: a subclass may override forward. (A tensor subclass's own
# __torch_function__ is bypassed inside these modules too; the capture's tensors have none.)
_PLAIN_LEAVES: frozenset[type[nn.Module]] = frozenset({
    nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d,
    nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.LayerNorm,
    nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d, nn.LocalResponseNorm,
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Sigmoid, nn.Tanh, nn.Softmax,
    nn.LogSoftmax, nn.Softplus,
    nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
    nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.Identity, nn.Flatten,
    nn.Upsample, nn.PixelShuffle, nn.PixelUnshuffle, nn.ChannelShuffle, nn.ZeroPad2d,
    nn.ConstantPad2d, nn.ReflectionPad2d, nn.ReplicationPad2d, nn.Embedding,
})


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
def _training_flags(model: nn.Module, training: bool) -> Iterator[None]:
    """Every module's ``training`` flag set for the capture (False: inference; True: a
    training step's, as ``model.train()`` would set them), and back as it was after. The
    flags are set directly: a model's own ``train()``/``eval()`` may do more (freeze weights,
    switch branches) and is never called."""
    saved = [(m, m.training) for m in model.modules()]
    try:
        for m, _ in saved:
            m.training = training
        yield
    finally:
        for m, flag in saved:
            m.training = flag


@contextmanager
def _attributes_kept(model: nn.Module) -> Iterator[None]:
    """Tensors a forward pass may assign to its modules as plain attributes (old-style
    ``weight_norm`` and ``spectral_norm`` recompute ``module.weight`` from the swapped
    stand-ins in a pre-hook) are put back as they were, so no meta stand-in stays behind."""
    saved = [(m, {k: v for k, v in vars(m).items() if isinstance(v, torch.Tensor)})
             for m in model.modules()]
    try:
        yield
    finally:
        for m, attrs in saved:
            for k, v in attrs.items():
                if vars(m).get(k) is not v:
                    object.__setattr__(m, k, v)


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
           registry: Registry = REGISTRY, backward: bool = False,
           loss: Callable[[Any], torch.Tensor] | None = None,
           memory: bool = False) -> Recording:
    """Run ``model(*args, **kwargs)`` under the recorder and return what ran.

    ``args``/``kwargs`` must already be on ``device``. ``registry`` is the one the evaluation
    will use (``Recording.counted`` holds its answers). The model is left exactly as it was.
    On meta, a forward pass that needs a tensor's value runs once more on fake tensors (module
    docstring).

    ``backward``: a training step's forward and backward pass instead of inference: every
    module in training mode, gradients on, each parameter swapped for a stand-in that
    requires grad as the parameter does (the model's own ``.grad`` and ``requires_grad`` are
    never touched); then ``loss(output)`` (default: the sum of every floating output that
    requires grad) and its ``backward()``, whose ops are recorded with phase ``backward`` and
    the module scope of the forward op they differentiate. ``memory``: also note every
    storage's allocation and release (:attr:`Recording.lifetimes`).
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

    def stand_ins() -> tuple[dict[str, torch.Tensor], dict[int, tuple[str, int]],
                             dict[int, torch.Tensor]]:
        """A stand-in for every parameter and buffer slot (made under the active modes:
        fake ones in the fake run), each parameter stand-in's (name, numel) by id, and each
        original's stand-in by the original's id."""
        swap: dict[str, torch.Tensor] = {}
        made: dict[int, torch.Tensor] = {}
        ids: dict[int, tuple[str, int]] = {}
        for name, t in _slots(model):
            if id(t) not in made:
                made[id(t)] = (_training_stand_in(t, device, dtype, id(t) in name_of)
                               if backward else _stand_in(t, device, dtype))
                if id(t) in name_of:
                    ids[id(made[id(t)])] = (name_of[id(t)], t.numel())
            swap[name] = made[id(t)]
        return swap, ids, made

    def run(fake: bool) -> Recording:
        rec = (_Tracking({}, registry, backward=backward, memory=memory)
               if backward or memory else _Recorder({}, registry))
        st = rec.storages if isinstance(rec, _Tracking) else None
        modules: dict[str, str] = {}
        saved: set[int] = set()
        with ExitStack() as stack:
            stack.enter_context(_training_flags(model, backward))
            stack.enter_context(_attributes_kept(model))
            stack.enter_context(_scope_hooks(model, rec, modules))
            stack.enter_context(torch.enable_grad() if backward else torch.no_grad())
            if device != "meta":  # a forward that draws random numbers leaves the caller's
                stack.enter_context(torch.random.fork_rng(devices=[]))  # RNG where it was
            try:
                a, kw = args, kwargs
                swap: dict[str, torch.Tensor] | None = None
                made: dict[int, torch.Tensor] = {}
                roles: dict[int, Category] = {}
                if fake:  # every tensor a fake one, weights too (converting each as an op
                    # first meets it costs ~1 ms: a quarter second for LLaMA-7B)
                    a, kw = _faked(stack, (args, kwargs))
                    swap, rec.param_ids, made = stand_ins()
                elif backward or _needs_swap([t for _, t in all_params + buffers], device,
                                             dtype):
                    swap, rec.param_ids, made = stand_ins()
                else:  # the model's own weights; its buffers as copies, so that a forward
                    # that updates them (a step counter, running statistics) changes nothing
                    rec.param_ids = {id(p): (name, p.numel()) for name, p in unique.items()}
                    if buffers:
                        swap = {name: t for name, t in _slots(model)}
                        copies: dict[int, torch.Tensor] = {}
                        for name, t in _slots(model):
                            if id(t) not in name_of:
                                swap[name] = copies.setdefault(id(t), t.clone())
                weights = [made.get(id(p), p) for p in unique.values()]
                if st is not None:
                    roles = _resident(st, model, weights, swap, (a, kw))
                    if backward:
                        stack.enter_context(torch.autograd.graph.saved_tensors_hooks(
                            _saver(st, saved), _identity))
                with rec, Functions(rec, fuse_attention=device == "meta"):
                    if swap is None:
                        out = model(*a, **kw)
                    else:
                        # tie_weights=False: swap holds every (module, attribute) slot once
                        out = torch.func.functional_call(model, swap, a, kw, strict=False,
                                                         tie_weights=False)
                    if backward:
                        total = _loss_of(out, loss, type(model).__name__)
                        rec.phase = BACKWARD
                        total.backward()
                lifetimes = None
                if st is not None:
                    lifetimes = _lifetimes(st, roles, saved, list(unique), weights,
                                           rec.nodes, backward)
            except ConvcostError:
                raise
            except Exception as exc:
                raise _explain(exc, rec, model, device) from exc
        calls = [c for c in rec.calls if c is not None]
        return Recording(rec.nodes, params, modules, _shapes(out), rec.counted, calls, fake,
                         lifetimes)

    try:
        return run(fake=False)
    except CaptureError as err:
        if not (device == "meta" and _needs_values(err.__cause__)):
            raise
        first = err
    try:
        return run(fake=True)
    except Exception:
        # still data-dependent, or fake tensors fail in their own way: the first run's error
        # names the layer and says what to do (analyse on the CPU)
        raise first from first.__cause__


def _training_stand_in(t: torch.Tensor, device: str, dtype: torch.dtype,
                       param: bool) -> torch.Tensor:
    """A parameter's stand-in for a training step: a leaf that requires grad as the parameter
    does, so the backward pass fills its ``.grad``, never the parameter's; on the parameter's
    own device and dtype it shares the parameter's storage (no copy). A buffer's: a copy, so
    the running statistics a training forward updates stay as they were."""
    if device == "meta" or _needs_swap([t], device, dtype):
        s = _stand_in(t, device, dtype)
    else:
        s = t.detach() if param else t.clone()
    if param and t.requires_grad and (s.is_floating_point() or s.is_complex()):
        s.requires_grad_(True)
    return s


def _loss_of(out: Any, loss: Callable[[Any], torch.Tensor] | None, model: str) -> torch.Tensor:
    """The scalar a training step differentiates: ``loss(out)``, or the sum of every floating
    output that requires grad."""
    if loss is not None:
        try:
            value = loss(out)
        except ConvcostError:
            raise
        except Exception as exc:
            msg = " ".join(str(exc).split()) or type(exc).__name__
            raise CaptureError(f"the loss function failed on {model}'s output: {msg}") from exc
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            what = (f"a tensor of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor)
                    else type(value).__name__)
            raise InvalidArgumentError(f"the loss function must return a scalar tensor, got "
                                       f"{what}")
        if not value.requires_grad:
            raise InvalidArgumentError(
                f"the loss {model}'s output gives does not depend on any parameter that "
                "requires grad: nothing to differentiate")
        return value
    parts = [t for t in _tensors(out)
             if (t.is_floating_point() or t.is_complex()) and t.requires_grad]
    if not parts:
        raise InvalidArgumentError(
            f"{model} has no differentiable output (no floating output depends on a parameter "
            "that requires grad): give a loss that returns one (loss=...), or analyse "
            "inference only")
    total = parts[0].sum()
    for t in parts[1:]:
        total = total + t.sum()
    return total.real if total.is_complex() else total


def _identity(x: Any) -> Any:
    return x


def _saver(st: _Storages, saved: set[int]) -> Callable[[torch.Tensor], torch.Tensor]:
    """A pack hook that notes the storage of every tensor autograd saves for backward and
    saves the tensor itself (as it would without a hook)."""
    def pack(t: torch.Tensor) -> torch.Tensor:
        key = st.note(t, made=False)
        if key is not None:
            saved.add(key)
        return t
    return pack


def _resident(st: _Storages, model: nn.Module, weights: list[torch.Tensor],
              swap: dict[str, torch.Tensor] | None, inputs: Any) -> dict[int, Category]:
    """Note every storage alive before the run, with its role: the weights (``weights``: the
    ones the run uses, stand-ins or the model's own), the buffers and tensor attributes of the
    modules (their role: parameters, the model's state), and the inputs."""
    roles: dict[int, Category] = {}
    state = [*weights, *(swap.values() if swap else (t for _, t in _slots(model)))]
    state += [v for m in model.modules() for v in vars(m).values()
              if isinstance(v, torch.Tensor)]
    for t in state:
        key = st.note(t, made=False)
        if key is not None:
            roles[key] = Category.PARAMETERS
    for t in _tensors(inputs):
        key = st.note(t, made=False)
        if key is not None and key not in roles:
            roles[key] = Category.INPUTS
    return roles


def _lifetimes(st: _Storages, roles: dict[int, Category], saved: set[int], names: list[str],
               weights: list[torch.Tensor], nodes: list[Node], backward: bool) -> Lifetimes:
    """What :class:`_Storages` noted, with every storage's role: parameters and inputs as
    noted before the run; each weight's ``.grad`` a gradient; what autograd saved for backward
    (and is neither) saved; the weights in order, with their gradients, for the optimizer."""
    out = {key: Category.SAVED_FOR_BACKWARD for key in saved}
    params: list[Param] = []
    for name, w in zip(names, weights, strict=True):
        grad = w.grad if backward else None
        gkey = st.keys.get(grad.untyped_storage()._cdata) if grad is not None else None
        if gkey is not None:
            out[gkey] = Category.GRADIENTS
        key = st.note(w, made=False)
        params.append(Param(name, -1 if key is None else key, w.numel() * w.element_size(),
                            gkey))
    out.update(roles)
    events = tuple(st.events)
    st.stop()
    return Lifetimes(dict(st.resident), events, out, tuple(params), tuple(nodes), backward)


def _slots(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """Every parameter and buffer by one of its qualified names, each (module, attribute)
    slot once. A module registered under two names (``nn.Sequential(lin, relu, lin)``) has
    one slot per tensor, not two: swapping it twice would save the first stand-in as the
    "original" and put it back at the end, leaving the user's model on meta. Tied tensors
    in different modules (GPT-2's ``lm_head.weight`` is ``wte.weight``) are different slots
    and each is swapped."""
    seen: set[tuple[int, str]] = set()
    out: list[tuple[str, torch.Tensor]] = []
    for prefix, module in model.named_modules(remove_duplicate=False):
        for attr, t in (*module._parameters.items(), *module._buffers.items()):
            if t is None or (id(module), attr) in seen:
                continue
            seen.add((id(module), attr))
            out.append((f"{prefix}.{attr}" if prefix else attr, t))
    return out


def _faked(stack: ExitStack, inputs: tuple[Any, Any]) -> tuple[Any, Any]:
    """Enter a ``FakeTensorMode`` on ``stack`` and return ``inputs`` with every tensor
    wrapped as a fake one. Tensors inside objects pytree does not open (a KV cache) are
    wrapped as the ops meet them (``allow_non_fake_inputs``)."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils import _pytree as pytree

    mode = stack.enter_context(FakeTensorMode(allow_non_fake_inputs=True))
    faked: tuple[Any, Any] = pytree.tree_map_only(torch.Tensor, mode.from_tensor, inputs)
    return faked


def _needs_values(exc: BaseException | None) -> bool:
    """A failure of the meta device itself: an op that needs values (``Tensor.item()``,
    a data-dependent output shape) or has no meta kernel."""
    if exc is None:
        return False
    msg = str(exc)
    return ("meta" in msg.lower() or isinstance(exc, NotImplementedError)
            or "data-dependent" in msg)


_TOO_SMALL = re.compile(
    r"too small|greater than actual input size|non-positive|must be greater than 0|"
    r"Kernel size can't be greater", re.I)


def _explain(exc: Exception, rec: _Recorder, model: nn.Module, device: str) -> CaptureError:
    """One line that says where the forward pass failed and what to do."""
    msg = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, TypeError) and not rec.nodes and "forward()" in msg:
        what = "got more inputs than it takes" if "were given" in msg else \
            "needs arguments that were not given"
        return CaptureError(
            f"{type(model).__name__}.forward() {what} ({msg}); give one input per positional "
            "argument (CLI: one --input each; Python: analyze(..., inputs=(...), kwargs={...}))"
        )
    if rec.phase == BACKWARD:
        last = rec.nodes[-1].op if rec.nodes else "its first op"
        return CaptureError(f"the backward pass of {type(model).__name__} failed after {last}: "
                            f"{msg}" + ("; analyse with device='cpu' (CLI: --device cpu)"
                                        if device == "meta" and _needs_values(exc) else ""))
    frame = rec.stack[-1] if rec.stack else None
    where = f"layer '{frame.name or '(root)'}' {frame.desc}" if frame else "the model"
    shapes = ", ".join("×".join(map(str, s)) for s in frame.in_shapes) if frame else ""
    got = f" {shapes}" if shapes else ""
    if device == "meta" and _needs_values(exc):
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
