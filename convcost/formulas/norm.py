"""Normalisation layers at inference: BatchNorm, LayerNorm, GroupNorm (and InstanceNorm).

Counting rules:

* **BatchNorm** (inference) uses running statistics, so it is a per-channel affine map
  ``y = x·a + b``: 2 flops per element. The per-channel constants ``a, b`` are computed once
  when the model is loaded, not per pass, and are not counted. Params: ``2C`` with affine
  (weight, bias); the running mean and variance are buffers, read but not params. Reads: the
  input, the affine params and the two running-stat buffers.
* **LayerNorm / GroupNorm** compute statistics per sample: 5 flops per element (sum, subtract
  the mean, square, accumulate, multiply by the reciprocal std), 2 per normalised group (add
  eps, reciprocal square root), and 2 more per element with an elementwise affine: 1 for the
  weight (multiply), 1 for the bias (add). A norm with a weight and no bias
  (``nn.LayerNorm(bias=False)``) has only the multiply, and reads and owns only the weight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from convcost.errors import InvalidArgumentError
from convcost.formulas._core import OpCost, check_itemsize, check_positive, check_shape, make_cost


def batch_norm(
    in_shape: Sequence[int], affine: bool = True, track_running_stats: bool = True,
    *, bias: bool | None = None, itemsize: int = 4,
) -> OpCost:
    """Cost of ``nn.BatchNorm{1,2,3}d`` in eval mode on (N, C, ...).

    ``bias``: whether the affine has a bias (default: ``affine``); ``F.batch_norm`` may be
    given a weight alone.

    >>> batch_norm((1, 32, 112, 112)).flops, batch_norm((1, 32, 112, 112)).params
    (802816, 64)
    """
    shape = check_shape(in_shape, "input shape", min_rank=2)
    c = shape[1]
    n = math.prod(shape)
    weight, shift = _affine(c, affine, bias)
    if not track_running_stats:
        # batch statistics at inference: a per-sample normalisation like GroupNorm(C)
        return _stat_norm(shape, shape[0] * c, weight, shift, itemsize)
    params = weight + shift
    return make_cost(
        shape,
        params=params,
        extra_flops=2 * n,
        read_elems=n + params + 2 * c,  # + the running mean and variance
        itemsize=check_itemsize(itemsize),
    )


def _affine(elems: int, affine: bool, bias: bool | None) -> tuple[int, int]:
    """Elements of the weight and of the bias of an affine over ``elems`` values."""
    if not affine:
        return 0, 0
    return elems, elems if bias is None or bias else 0


def _stat_norm(shape: tuple[int, ...], groups: int, weight: int, bias: int,
               itemsize: int) -> OpCost:
    n = math.prod(shape)
    flops = 5 * n + 2 * groups + (n if weight else 0) + (n if bias else 0)
    return make_cost(
        shape, params=weight + bias, extra_flops=flops, read_elems=n + weight + bias,
        itemsize=check_itemsize(itemsize),
    )


def layer_norm(
    in_shape: Sequence[int], normalized_shape: Sequence[int] | int,
    elementwise_affine: bool = True, *, bias: bool = True, itemsize: int = 4,
) -> OpCost:
    """Cost of ``nn.LayerNorm(normalized_shape, elementwise_affine, bias=bias)``: statistics
    over the trailing dims.

    >>> layer_norm((1, 197, 768), 768).params   # weight + bias
    1536
    >>> layer_norm((1, 197, 768), 768, bias=False).params   # weight only
    768
    """
    shape = check_shape(in_shape, "input shape", min_rank=1)
    norm = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(shape[len(shape) - len(norm):]) != norm:
        raise InvalidArgumentError(
            f"normalized_shape {norm} must equal the trailing dims of the input {shape}"
        )
    rows = math.prod(shape[: len(shape) - len(norm)])
    return _stat_norm(shape, rows, *_affine(math.prod(norm), elementwise_affine, bias),
                      itemsize)


def group_norm(
    in_shape: Sequence[int], num_groups: int, affine: bool = True, *, bias: bool | None = None,
    itemsize: int = 4,
) -> OpCost:
    """Cost of ``nn.GroupNorm(num_groups, C)`` on (N, C, ...); InstanceNorm is groups = C.
    ``bias``: whether the affine has a bias (default: ``affine``; ``F.group_norm`` may be
    given a weight alone).

    >>> group_norm((2, 64, 8, 8), 32).flops   # 5·8192 + 2·(2·32) + 2·8192
    57472
    """
    shape = check_shape(in_shape, "input shape", min_rank=2)
    check_positive(num_groups, "num_groups")
    c = shape[1]
    if c % num_groups:
        raise InvalidArgumentError(
            f"num_groups={num_groups} must divide the {c} channels"
        )
    return _stat_norm(shape, shape[0] * num_groups, *_affine(c, affine, bias), itemsize)


__all__ = ["batch_norm", "group_norm", "layer_norm"]
