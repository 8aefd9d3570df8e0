"""Scaled-dot-product attention (``F.scaled_dot_product_attention``).

Counting rules: ``Q·Kᵀ`` is ``B·L·S·E`` multiply-adds and ``softmax(·)·V`` is ``B·L·S·Eᵥ``
(B = product of the batch/head dims). Other flops per score element: one scale multiply,
softmax's 5 (see ``elementwise.ACTIVATION_FLOPS``), and one add with an additive mask. Memory:
an unfused implementation reads Q, K, V (and the mask), writes and re-reads the L×S score
matrix twice (scores, then probabilities) and writes the output; ``fused=True`` (flash /
memory-efficient kernels) counts only Q, K, V, mask and output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from convcost.errors import InvalidArgumentError
from convcost.formulas._core import OpCost, broadcast_shapes, check_itemsize, check_shape, make_cost
from convcost.formulas.elementwise import ACTIVATION_FLOPS


def attention(
    q_shape: Sequence[int],
    k_shape: Sequence[int],
    v_shape: Sequence[int],
    mask_shape: Sequence[int] | None = None,
    *,
    fused: bool = False,
    itemsize: int = 4,
) -> OpCost:
    """Cost of ``scaled_dot_product_attention(q, k, v, attn_mask)``; shapes (..., L|S, E|Eᵥ).

    >>> attention((1, 12, 197, 64), (1, 12, 197, 64), (1, 12, 197, 64)).madds  # 2·12·197²·64
    59610624
    """
    q = check_shape(q_shape, "query shape", min_rank=2)
    k = check_shape(k_shape, "key shape", min_rank=2)
    v = check_shape(v_shape, "value shape", min_rank=2)
    if q[-1] != k[-1]:
        raise InvalidArgumentError(f"query {q} and key {k} must share the last (embedding) dim")
    if k[-2] != v[-2]:
        raise InvalidArgumentError(f"key {k} and value {v} must have the same length S")
    batch = broadcast_shapes(q[:-2], k[:-2], v[:-2])
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


__all__ = ["attention"]
