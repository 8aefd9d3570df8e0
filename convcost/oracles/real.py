"""The real run: the model executed on CPU, with a small op-level counter of its own.

Independent of :mod:`convcost.capture` and :mod:`convcost.engine` on purpose: it counts the
multiply-adds of the aten ops that actually ran (convolution, mm, addmm, bmm, baddbmm, matmul,
mv, dot, the fused attention kernels, ``nn.MultiheadAttention``'s and
``nn.TransformerEncoderLayer``'s fast paths, the oneDNN recurrent layer) straight from the real
tensors' shapes, attributes them to module scopes with global forward hooks (none is added to
the model), sums ``p.numel()`` over unique parameters and records the output shape of every
leaf ``torch.nn`` module (Conv2d, BatchNorm2d, ReLU, Linear, pools...). It runs with no
``TorchFunctionMode`` active, as the CPU runs the model for a user, so it also records which
fused kernels ran where (the fused scopes, :class:`convcost.oracles.context.Context`). The
caller passes a copy of the model: running it may change the model's state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from convcost.oracles.context import AtenOp

_aten = torch.ops.aten


def _shape(t: Any) -> tuple[int, ...] | None:
    return tuple(t.shape) if isinstance(t, torch.Tensor) else None


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


def _mha_madds(args: tuple[Any, ...]) -> int:
    # _native_multi_head_attention(query, key, value, embed_dim, num_head, qkv_weight, ...):
    # Q, K, V projections (each row × E·E), Q·Kᵀ and P·V (L·S·E per sample), output projection
    q, k = args[0], args[1]
    e = int(args[3])
    b = math.prod(q.shape[:-2]) if q.dim() > 2 else 1
    lq, s = q.shape[-2], k.shape[-2]
    return b * ((lq + 2 * s) * e * e + 2 * lq * s * e + lq * e * e)


def _encoder_layer_madds(args: tuple[Any, ...]) -> int:
    # _transformer_encoder_layer_fwd(src, embed_dim, num_heads, qkv_weight, qkv_bias,
    # proj_weight, proj_bias, use_gelu, norm_first, eps, norm_weight_1, norm_bias_1,
    # norm_weight_2, norm_bias_2, ffn_weight_1, ffn_bias_1, ffn_weight_2, ...): self-attention
    # as above plus the feed-forward block (E·F and F·E per row)
    src, e, ffn = args[0], int(args[1]), args[14].shape[0]
    rows = math.prod(src.shape[:-1])
    length = src.shape[-2] if src.dim() > 2 else src.shape[0]
    return rows * (4 * e * e + 2 * length * e + 2 * e * ffn)


def _rnn_layer_madds(args: tuple[Any, ...]) -> int:
    # mkldnn_rnn_layer(input, w_ih, w_hh, ...): one layer, one direction; every (step, sample)
    # row multiplies its input by w_ih (G·H × I) and its hidden state by w_hh (G·H × H)
    x, w_ih, w_hh = args[0], args[1], args[2]
    rows = x.numel() // x.shape[-1]
    return rows * (w_ih.numel() + w_hh.numel())


FUSED_KERNELS = ("_native_multi_head_attention", "_transformer_encoder_layer_fwd")
"""Kernels that run a whole module's forward in one op, where the same module runs op by op
under a ``TorchFunctionMode`` (the fused scopes)."""


def aten_madds(func: Any, args: tuple[Any, ...], out: Any) -> int | None:
    """Multiply-adds of one aten op from its real tensors; None for an op that has none."""
    packet = func._overloadpacket
    first = out[0] if isinstance(out, (tuple, list)) else out
    if packet in (_aten.convolution, _aten._convolution):
        return _conv_madds(args, first)
    if packet in (_aten.mm, _aten.bmm, _aten.matmul, _aten.mv):
        return _mm_madds(args[0], first)
    if packet in (_aten.addmm, _aten.baddbmm, _aten.addmv):
        return _mm_madds(args[1], first)
    if packet is _aten.dot:
        return int(args[0].numel())
    if packet in (_aten._scaled_dot_product_flash_attention_for_cpu,
                  _aten._scaled_dot_product_flash_attention,
                  _aten._scaled_dot_product_efficient_attention):
        return _sdpa_madds(args)
    if packet is _aten._native_multi_head_attention:
        return _mha_madds(args)
    if packet is _aten._transformer_encoder_layer_fwd:
        return _encoder_layer_madds(args)
    if packet is _aten.mkldnn_rnn_layer:
        return _rnn_layer_madds(args)
    return None


def aten_op(func: Any, args: tuple[Any, ...], out: Any, madds: int) -> AtenOp:
    first = out[0] if isinstance(out, (tuple, list)) and out else out
    return AtenOp(f"aten.{func._overloadpacket.__name__}", tuple(_shape(a) for a in args),
                  _shape(first), madds)


class _Counter(TorchDispatchMode):
    def __init__(self, scopes: list[str]) -> None:
        super().__init__()
        self.scopes = scopes
        self.madds: dict[str, int] = {}
        self.fused: dict[str, list[AtenOp]] = {}

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        n = aten_madds(func, tuple(args), out)
        if n is not None:
            scope = self.scopes[-1]
            self.madds[scope] = self.madds.get(scope, 0) + n
            if func._overloadpacket.__name__ in FUSED_KERNELS:
                self.fused.setdefault(scope, []).append(aten_op(func, tuple(args), out, n))
        return out


@dataclass
class RealRun:
    """What really ran: madds per module scope, unique params, leaf outputs, fused kernels."""

    madds: dict[str, int]  # scope -> multiply-adds of the ops run directly in it
    params: int  # sum(p.numel()) over unique parameters
    outputs: list[tuple[str, int, tuple[int, ...]]] = field(default_factory=list)
    # (scope of a leaf torch.nn module, call number from 1, output shape)
    fused: dict[str, list[AtenOp]] = field(default_factory=dict)  # scope -> fused kernels

    @property
    def total_madds(self) -> int:
        return sum(self.madds.values())


def run_real(model: nn.Module, args: tuple[Any, ...],
             kwargs: dict[str, Any] | None = None) -> RealRun:
    """Run ``model`` (a copy: the run may change its state) on ``args``/``kwargs`` under the
    counter. Scopes come from global module hooks (as torch's own ModuleTracker does), so no
    module carries a hook of its own and nn.TransformerEncoderLayer keeps its fast path."""
    from torch.nn.modules.module import (
        register_module_forward_hook,
        register_module_forward_pre_hook,
    )

    names = {id(m): n for n, m in model.named_modules()}
    # a leaf torch.nn module's output is the output of the one op it runs; a custom leaf
    # may end in a view the analytic rows do not list (ChannelShuffle's reshape)
    leaves = {id(m) for m in model.modules()
              if next(iter(m.children()), None) is None
              and type(m).__module__.startswith("torch.nn.")}
    scopes = [""]
    stack: list[bool] = []
    calls: dict[str, int] = {}
    outputs: list[tuple[str, int, tuple[int, ...]]] = []

    def pre(mod: nn.Module, _a: Any) -> None:
        name = names.get(id(mod))
        stack.append(bool(name))
        if name:  # the root scope "" is the bottom of the stack
            scopes.append(name)

    def post(mod: nn.Module, _a: Any, out: Any) -> None:
        if not stack.pop():
            return
        name = scopes.pop()
        calls[name] = calls.get(name, 0) + 1
        if id(mod) in leaves and isinstance(out, torch.Tensor):
            outputs.append((name, calls[name], tuple(out.shape)))

    counter = _Counter(scopes)
    handles = [register_module_forward_pre_hook(pre), register_module_forward_hook(post)]
    try:
        with torch.no_grad(), counter:
            model(*args, **(kwargs or {}))
    finally:
        for h in handles:
            h.remove()
    params = sum(p.numel() for p in model.parameters())  # parameters() yields tied ones once
    return RealRun(counter.madds, params, outputs, counter.fused)


__all__ = ["FUSED_KERNELS", "RealRun", "aten_madds", "aten_op", "run_real"]
