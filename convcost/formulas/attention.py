"""Scaled-dot-product attention (``F.scaled_dot_product_attention``).

Counting rules: ``Q·Kᵀ`` is ``B·L·S·E`` multiply-adds and ``softmax(·)·V`` is ``B·L·S·Eᵥ``
(B = product of the batch/head dims). Other flops per score element: one scale multiply,
softmax's 5 (see ``elementwise.ACTIVATION_FLOPS``), and one add with an additive mask. Memory:
an unfused implementation reads Q, K, V (and the mask), writes and re-reads the L×S score
matrix twice (scores, then probabilities) and writes the output; ``fused=True`` (flash /
memory-efficient kernels) counts only Q, K, V, mask and output.

Grouped-query attention (``enable_gqa=True``): ``h_kv`` key/value heads, each shared by
``h_q / h_kv`` query heads, so the products are counted with the query's heads (PyTorch's
``sdpa_flop_count`` rule); K and V are read at their own size.

Multi-head attention (``nn.MultiheadAttention``'s fused kernel) and the transformer encoder
layer (``nn.TransformerEncoderLayer``'s) are the sums of their steps, each by its own rule:
``linear`` projections, ``attention``, and for the layer ``add``, ``layer_norm`` and the
feed-forward ``linear`` / activation / ``linear``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from convcost.errors import InvalidArgumentError
from convcost.formulas._core import (
    OpCost,
    broadcast_shapes,
    check_itemsize,
    check_positive,
    check_shape,
    make_cost,
)
from convcost.formulas.elementwise import ACTIVATION_FLOPS, activation, binary
from convcost.formulas.linear import linear
from convcost.formulas.norm import layer_norm
from convcost.formulas.reduction import reduction


def attention(
    q_shape: Sequence[int],
    k_shape: Sequence[int],
    v_shape: Sequence[int],
    mask_shape: Sequence[int] | None = None,
    *,
    fused: bool = False,
    enable_gqa: bool = False,
    itemsize: int = 4,
) -> OpCost:
    """Cost of ``scaled_dot_product_attention(q, k, v, attn_mask, enable_gqa=enable_gqa)``;
    shapes (..., L|S, E|Eᵥ), heads at dim -3.

    >>> attention((1, 12, 197, 64), (1, 12, 197, 64), (1, 12, 197, 64)).madds  # 2·12·197²·64
    59610624
    >>> attention((1, 4, 8, 16), (1, 2, 8, 16), (1, 2, 8, 16), enable_gqa=True).madds  # 2·4·8²·16
    8192
    """
    q = check_shape(q_shape, "query shape", min_rank=2)
    k = check_shape(k_shape, "key shape", min_rank=2)
    v = check_shape(v_shape, "value shape", min_rank=2)
    if q[-1] != k[-1]:
        raise InvalidArgumentError(f"query {q} and key {k} must share the last (embedding) dim")
    if k[-2] != v[-2]:
        raise InvalidArgumentError(f"key {k} and value {v} must have the same length S")
    kb, vb = k[:-2], v[:-2]
    if enable_gqa and min(len(q), len(k), len(v)) >= 3 and k[-3] != q[-3]:
        if k[-3] != v[-3] or q[-3] % k[-3]:
            raise InvalidArgumentError(
                f"grouped-query attention needs key {k} and value {v} with the same heads, "
                f"a divisor of the query's {q[-3]}")
        kb, vb = (*k[:-3], q[-3]), (*v[:-3], q[-3])  # each key/value head serves h_q/h_kv
    batch = broadcast_shapes(q[:-2], kb, vb)
    b, seq_l, seq_s = math.prod(batch), q[-2], k[-2]
    scores = b * seq_l * seq_s
    madds = scores * q[-1] + scores * v[-1]
    mask_elems = 0
    extra = scores * (1 + ACTIVATION_FLOPS["softmax"][0])
    if mask_shape is not None:
        m = check_shape(mask_shape, "mask shape")
        broadcast_shapes(m, (*batch, seq_l, seq_s))
        mask_elems = math.prod(m)
        extra += scores
    out = (*batch, seq_l, v[-1])
    reads = math.prod(q) + math.prod(k) + math.prod(v) + mask_elems
    writes = math.prod(out)
    if not fused:
        reads += 2 * scores
        writes += 2 * scores
    return make_cost(
        out, madds=madds, extra_flops=extra, read_elems=reads, write_elems=writes,
        itemsize=check_itemsize(itemsize),
    )


def _sum(steps: Sequence[OpCost], last: OpCost) -> OpCost:
    """The cost of running ``steps`` then ``last``, with ``last``'s output."""
    total = sum(steps, last.base())
    return OpCost(total.params, total.madds, total.flops, total.mem_read_bytes,
                  total.mem_write_bytes, last.out_shape)


def multi_head_attention(
    q_shape: Sequence[int],
    k_shape: Sequence[int],
    v_shape: Sequence[int],
    num_heads: int,
    mask_shape: Sequence[int] | None = None,
    *,
    bias: bool = True,
    need_weights: bool = False,
    average_attn_weights: bool = True,
    itemsize: int = 4,
) -> OpCost:
    """Cost of ``nn.MultiheadAttention(E, num_heads, batch_first=True)(q, k, v)``: query
    (B, L, E), key (B, S, E_k), value (B, S, E_v). The Q, K, V projections to E and the output
    projection are ``linear`` (with ``bias``); the attention runs over ``num_heads`` heads of
    E / num_heads, fused unless ``need_weights`` (then the probabilities are materialised, and
    averaged over the heads with ``average_attn_weights``: a ``mean``).

    >>> multi_head_attention((2, 3, 8), (2, 3, 8), (2, 3, 8), 2).madds  # 3·48·8 + 2·48 + 48·8
    1824
    """
    q = check_shape(q_shape, "query shape", min_rank=3)
    k = check_shape(k_shape, "key shape", min_rank=3)
    v = check_shape(v_shape, "value shape", min_rank=3)
    heads = check_positive(num_heads, "num_heads")
    e = q[-1]
    if e % heads:
        raise InvalidArgumentError(f"num_heads={heads} must divide the embedding dim {e}")
    b, length, seq = q[:-2], q[-2], k[-2]
    head = (*b, heads, length, e // heads)
    kv = (*b, heads, seq, e // heads)
    isz = check_itemsize(itemsize)
    steps = [linear(q, e, bias, itemsize=isz), linear(k, e, bias, itemsize=isz),
             linear(v, e, bias, itemsize=isz),
             attention(head, kv, kv, mask_shape, fused=not need_weights, itemsize=isz)]
    if need_weights and average_attn_weights:
        steps.append(reduction((*b, heads, length, seq), [len(b)], mean=True, itemsize=isz))
    return _sum(steps, linear((*b, length, e), e, bias, itemsize=isz))


TRANSFORMER_ACTIVATIONS = ("relu", "gelu")
"""The feed-forward activations of ``nn.TransformerEncoderLayer``'s fused kernel."""


def transformer_encoder_layer(
    x_shape: Sequence[int],
    num_heads: int,
    dim_feedforward: int,
    mask_shape: Sequence[int] | None = None,
    *,
    activation_kind: str = "relu",
    itemsize: int = 4,
) -> OpCost:
    """Cost of ``nn.TransformerEncoderLayer(E, num_heads, dim_feedforward,
    batch_first=True)`` on x = (B, L, E) in eval mode: self-attention
    (:func:`multi_head_attention`, fused), a residual ``add`` and a ``layer_norm``, then
    ``linear`` E→F, the activation, ``linear`` F→E, a residual ``add`` and a ``layer_norm``
    (``norm_first`` changes the order, not the count).

    >>> transformer_encoder_layer((2, 3, 8), 2, 16).madds   # attention 1824 + 2·(6·8·16)
    3360
    """
    x = check_shape(x_shape, "input shape", min_rank=3)
    if activation_kind not in TRANSFORMER_ACTIVATIONS:
        raise InvalidArgumentError(f"activation {activation_kind!r}: the fused encoder layer "
                                   f"runs {' or '.join(TRANSFORMER_ACTIVATIONS)}")
    isz = check_itemsize(itemsize)
    e = x[-1]
    hidden = (*x[:-1], check_positive(dim_feedforward, "dim_feedforward"))
    steps = [multi_head_attention(x, x, x, num_heads, mask_shape, itemsize=isz),
             binary(x, x, itemsize=isz), layer_norm(x, e, itemsize=isz),
             linear(x, dim_feedforward, itemsize=isz),
             activation(hidden, activation_kind, itemsize=isz),
             linear(hidden, e, itemsize=isz), binary(x, x, itemsize=isz)]
    return _sum(steps, layer_norm(x, e, itemsize=isz))


__all__ = ["TRANSFORMER_ACTIVATIONS", "attention", "multi_head_attention",
           "transformer_encoder_layer"]
