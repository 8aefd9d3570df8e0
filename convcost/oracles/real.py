"""The real run: the model executed on CPU, with a small op-level counter of its own.

Independent of :mod:`convcost.capture` and :mod:`convcost.engine` on purpose: it counts the
multiply-adds of the aten ops that actually ran (convolution, mm, addmm, bmm, baddbmm, matmul,
mv, dot, the fused attention kernels) straight from the real tensors' shapes, attributes them to
module scopes with forward hooks, sums ``p.numel()`` over unique parameters and records the
output shape of every leaf ``torch.nn`` module (Conv2d, BatchNorm2d, ReLU, Linear, pools...).
The caller passes a copy of the model: hooks are added to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

_aten = torch.ops.aten


def _shape(t: Any) -> tuple[int, ...]:
    return tuple(t.shape) if isinstance(t, torch.Tensor) else ()


def _conv_madds(args: tuple[Any, ...], out: torch.Tensor) -> int:
    # weight (C_out, C_in/g, *k), or transposed (C_in, C_out/g, *k): every output (direct) or
    # every input (transposed, scatter) element takes one product per weight entry of its group
    x, w, transposed = args[0], args[1], bool(args[6])
    per = math.prod(w.shape[1:])
    return (x.numel() if transposed else out.numel()) * per


def _mm_madds(a: torch.Tensor, out: torch.Tensor) -> int:
    # each output element is a dot product over a's last dimension
    return out.numel() * a.shape[-1] if a.dim() else 0


def _sdpa_madds(args: tuple[Any, ...]) -> int:
    q, k, v = args[0], args[1], args[2]
    # Q·Kᵀ: (…, L, E)×(…, E, S); P·V: (…, L, S)×(…, S, Ev)
    lead = math.prod(q.shape[:-1])  # batch dims × L
    return lead * k.shape[-2] * (q.shape[-1] + v.shape[-1])


def _madds(func: Any, args: tuple[Any, ...], out: Any) -> int | None:
    packet = func._overloadpacket
    first = out[0] if isinstance(out, (tuple, list)) else out
    if packet in (_aten.convolution, _aten._convolution):
        return _conv_madds(args, first)
    if packet in (_aten.mm, _aten.bmm, _aten.matmul, _aten.mv):
        return _mm_madds(args[0], first)
    if packet in (_aten.addmm, _aten.baddbmm):
        return _mm_madds(args[1], first)
    if packet is _aten.dot:
        return int(args[0].numel())
    if packet in (_aten._scaled_dot_product_flash_attention_for_cpu,
                  _aten._scaled_dot_product_flash_attention,
                  _aten._scaled_dot_product_efficient_attention):
        return _sdpa_madds(args)
    return None


class _Counter(TorchDispatchMode):
    def __init__(self, scopes: list[str]) -> None:
        super().__init__()
        self.scopes = scopes
        self.madds: dict[str, int] = {}

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        n = _madds(func, tuple(args), out)
        if n is not None:
            scope = self.scopes[-1]
            self.madds[scope] = self.madds.get(scope, 0) + n
        return out


@dataclass
class RealRun:
    """What really ran: madds per module scope, unique params, leaf outputs."""

    madds: dict[str, int]  # scope -> multiply-adds of the ops run directly in it
    params: int  # sum(p.numel()) over unique parameters
    outputs: list[tuple[str, int, tuple[int, ...]]] = field(default_factory=list)
    # (scope of a leaf torch.nn module, call number from 1, output shape)

    @property
    def total_madds(self) -> int:
        return sum(self.madds.values())


def run_real(model: nn.Module, args: tuple[Any, ...]) -> RealRun:
    """Run ``model`` (a copy: hooks are added) on ``args`` under the counter."""
    scopes = [""]
    calls: dict[str, int] = {}
    outputs: list[tuple[str, int, tuple[int, ...]]] = []
    handles = []
    for name, mod in model.named_modules():
        # a leaf torch.nn module's output is the output of the one op it runs; a custom leaf
        # may end in a view the analytic rows do not list (ChannelShuffle's reshape)
        leaf = (next(iter(mod.children()), None) is None
                and type(mod).__module__.startswith("torch.nn."))

        def pre(_m: nn.Module, _a: Any, name: str = name) -> None:
            scopes.append(name)

        def post(_m: nn.Module, _a: Any, out: Any, name: str = name, leaf: bool = leaf) -> None:
            scopes.pop()
            calls[name] = calls.get(name, 0) + 1
            if leaf and isinstance(out, torch.Tensor):
                outputs.append((name, calls[name], tuple(out.shape)))

        if name:  # the root scope "" is the bottom of the stack
            handles.append(mod.register_forward_pre_hook(pre))
            handles.append(mod.register_forward_hook(post))
    counter = _Counter(scopes)
    try:
        with torch.no_grad(), counter:
            model(*args)
    finally:
        for h in handles:
            h.remove()
    params = sum(p.numel() for p in model.parameters())  # parameters() yields tied ones once
    return RealRun(counter.madds, params, outputs)


__all__ = ["RealRun", "run_real"]
