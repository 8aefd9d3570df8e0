"""Pooling: max, average, adaptive (exact PyTorch bins) and global.

Counting rules: a max over a window of w elements is ``w - 1`` comparisons; an average is
``w - 1`` adds and one divide (``w`` flops). Windows are counted at their full kernel size
(padding included, as every peer does). Adaptive pooling uses PyTorch's bins
``[floor(i·L/out), ceil((i+1)·L/out))``, which may overlap, so its count is exact. Reads the
input once, writes the output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from convcost.errors import InvalidArgumentError
from convcost.formulas._core import (
    OpCost,
    as_tuple,
    check_itemsize,
    check_shape,
    make_cost,
)

PoolKind = Literal["max", "avg"]


def _window_flops(kind: PoolKind, window: int) -> int:
    if kind == "max":
        return window - 1
    if kind == "avg":
        return window
    raise InvalidArgumentError(f"pool kind must be 'max' or 'avg', got {kind!r}")


def _pool_out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    if 2 * p > k:
        raise InvalidArgumentError(
            f"pool padding {p} must be at most half the kernel size {k} (as in PyTorch)"
        )
    span = d * (k - 1) + 1
    num = size + 2 * p - span
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:  # last window must start inside the input
        out -= 1
    if out <= 0:
        raise InvalidArgumentError(
            f"pool window {span} is larger than the padded input {size + 2 * p}; "
            "use a smaller kernel or a larger input"
        )
    return out


def pool(
    in_shape: Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    ceil_mode: bool = False,
    kind: PoolKind = "max",
    *,
    itemsize: int = 4,
) -> OpCost:
    """Cost of ``nn.MaxPool{1,2,3}d`` / ``nn.AvgPool{1,2,3}d`` on (N, C, *spatial).

    ``stride`` defaults to the kernel size, as in PyTorch.

    >>> pool((1, 64, 112, 112), 3, 2, 1).out_shape   # ResNet stem max pool
    (1, 64, 56, 56)
    """
    shape = check_shape(in_shape, "input shape", min_rank=3)
    dims = len(shape) - 2
    kernel = as_tuple(kernel_size, dims, "kernel_size")
    strides = kernel if stride is None else as_tuple(stride, dims, "stride")
    pad = as_tuple(padding, dims, "padding", minimum=0)
    dil = as_tuple(dilation, dims, "dilation")
    out_spatial = tuple(
        _pool_out_size(size, k, s, p, d, ceil_mode)
        for size, k, s, p, d in zip(shape[2:], kernel, strides, pad, dil, strict=True)
    )
    out = (*shape[:2], *out_spatial)
    return make_cost(
        out,
        extra_flops=math.prod(out) * _window_flops(kind, math.prod(kernel)),
        read_elems=math.prod(shape),
        itemsize=check_itemsize(itemsize),
    )


def adaptive_bins(size: int, out: int) -> list[int]:
    """Window lengths of PyTorch's adaptive pooling from ``size`` to ``out`` positions."""
    return [-(-((i + 1) * size) // out) - (i * size) // out for i in range(out)]


def adaptive_pool(
    in_shape: Sequence[int],
    output_size: int | Sequence[int | None] | None,
    kind: PoolKind = "avg",
    *,
    itemsize: int = 4,
) -> OpCost:
    """Cost of ``nn.AdaptiveAvgPool{1,2,3}d`` / ``nn.AdaptiveMaxPool...``; None keeps a dim.

    >>> adaptive_pool((1, 1024, 7, 7), 1).flops   # global average: 1024 · 49
    50176
    """
    shape = check_shape(in_shape, "input shape", min_rank=3)
    dims = len(shape) - 2
    sizes: tuple[int | None, ...]
    if output_size is None or isinstance(output_size, int):
        sizes = (output_size,) * dims
    else:
        sizes = tuple(output_size)
    if len(sizes) != dims:
        raise InvalidArgumentError(f"output_size must have {dims} entries, got {sizes}")
    targets = tuple(s if o is None else o for s, o in zip(shape[2:], sizes, strict=True))
    if any(t <= 0 for t in targets):
        raise InvalidArgumentError(f"adaptive pool output size must be positive, got {targets}")
    # total window elements = product over dims of the sum of bin lengths
    window_total = math.prod(
        sum(adaptive_bins(s, t)) for s, t in zip(shape[2:], targets, strict=True)
    )
    out = (*shape[:2], *targets)
    outputs = math.prod(out)
    planes = shape[0] * shape[1]
    flops = planes * window_total - (outputs if kind == "max" else 0)
    if kind not in ("max", "avg"):
        raise InvalidArgumentError(f"pool kind must be 'max' or 'avg', got {kind!r}")
    return make_cost(
        out, extra_flops=flops, read_elems=math.prod(shape), itemsize=check_itemsize(itemsize)
    )


def global_pool(in_shape: Sequence[int], kind: PoolKind = "avg", *, itemsize: int = 4) -> OpCost:
    """Global pooling to 1×1 (``adaptive_pool`` with output size 1)."""
    return adaptive_pool(in_shape, 1, kind, itemsize=itemsize)


__all__ = ["PoolKind", "adaptive_bins", "adaptive_pool", "global_pool", "pool"]
