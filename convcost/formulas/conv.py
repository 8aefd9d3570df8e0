"""Convolution in all its forms: 1-d/2-d/3-d, strided, padded, dilated, grouped, depthwise,
pointwise, transposed; and a classifier of the kind.

Counting rules (``docs/conventions.md`` collects them):

* **params** = ``C_out · C_in/g · ∏k`` (+ ``C_out`` bias). Transposed: ``C_in · C_out/g · ∏k``
  (+ ``C_out`` bias).
* **madds** = one multiply-accumulate per weight tap per output position, padded zeros
  included (every peer and every paper counts them): ``N · C_out · ∏out · C_in/g · ∏k``.
  Transposed convolution is counted from the input side, where every input element is
  multiplied by every tap of its group's kernels: ``N · C_in · ∏in · C_out/g · ∏k``. Counting
  it from the output side as if it were a direct conv over-counts by about stride².
* **flops** = 2 · madds + one add per output element when there is a bias.
* **memory** reads the input and the weights (and bias), writes the output. A padding mode
  other than ``zeros`` materialises a padded copy in PyTorch; that copy is not counted here
  (it is a separate ``pad`` op when captured).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from convcost.errors import InvalidArgumentError
from convcost.formulas._core import OpCost, Shape, as_tuple, check_itemsize, check_shape, make_cost

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
ConvKind = Literal["standard", "grouped", "depthwise", "pointwise"]
CONV_KINDS: tuple[ConvKind, ...] = ("standard", "grouped", "depthwise", "pointwise")

PaddingArg = int | Sequence[int] | str


def _resolve_padding(
    padding: PaddingArg, dims: int, kernel: Shape, dilation: Shape, stride: Shape
) -> tuple[Shape, Shape]:
    """(left, right) padding per spatial dim; ``"same"`` puts the odd one on the right."""
    if isinstance(padding, str):
        if padding == "valid":
            zero = (0,) * dims
            return zero, zero
        if padding == "same":
            if any(s != 1 for s in stride):
                raise InvalidArgumentError(
                    f"padding='same' needs stride 1 (as in PyTorch), got stride {stride}; "
                    "give the padding as integers instead"
                )
            total = tuple(d * (k - 1) for k, d in zip(kernel, dilation, strict=True))
            left = tuple(t // 2 for t in total)
            right = tuple(t - left_ for t, left_ in zip(total, left, strict=True))
            return left, right
        raise InvalidArgumentError(
            f"padding must be an integer, a tuple, 'same' or 'valid', got {padding!r}"
        )
    pad = as_tuple(padding, dims, "padding", minimum=0)
    return pad, pad


def _spatial_dims(in_shape: Shape) -> int:
    dims = len(in_shape) - 2
    if dims not in (1, 2, 3):
        raise InvalidArgumentError(
            f"convolution input must be (N, C, L), (N, C, H, W) or (N, C, D, H, W); "
            f"got shape {in_shape}"
        )
    return dims


def _check_groups(in_channels: int, out_channels: int, groups: int) -> None:
    if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
        raise InvalidArgumentError(f"groups must be a positive integer, got {groups!r}")
    if in_channels % groups or out_channels % groups:
        raise InvalidArgumentError(
            f"groups={groups} must divide both in_channels={in_channels} and "
            f"out_channels={out_channels}; pick a common divisor "
            f"(e.g. {math.gcd(in_channels, out_channels)})"
        )


def _prologue(
    in_shape: Sequence[int], out_channels: int, groups: int, kernel_size: int | Sequence[int],
    stride: int | Sequence[int], dilation: int | Sequence[int],
) -> tuple[Shape, Shape, Shape, Shape]:
    """Checked (input shape, kernel, stride, dilation) shared by direct and transposed conv."""
    shape = check_shape(in_shape, "input shape")
    dims = _spatial_dims(shape)
    if isinstance(out_channels, bool) or not isinstance(out_channels, int) or out_channels <= 0:
        raise InvalidArgumentError(f"out_channels must be a positive integer, got {out_channels}")
    _check_groups(shape[1], out_channels, groups)
    return (shape, as_tuple(kernel_size, dims, "kernel_size"), as_tuple(stride, dims, "stride"),
            as_tuple(dilation, dims, "dilation"))


def conv_output_size(
    size: int, kernel: int, stride: int = 1, pad_total: int = 0, dilation: int = 1
) -> int:
    """``floor((size + pad_total - dilation·(kernel-1) - 1) / stride) + 1``, checked > 0."""
    span = dilation * (kernel - 1) + 1
    padded = size + pad_total
    if span > padded:
        raise InvalidArgumentError(
            f"kernel {kernel} (dilation {dilation}, span {span}) is larger than the padded "
            f"input {padded} (size {size} + padding {pad_total}); use a smaller kernel, more "
            "padding or a larger input"
        )
    return (padded - span) // stride + 1


def conv(
    in_shape: Sequence[int],
    out_channels: int,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    bias: bool = True,
    padding_mode: str = "zeros",
    *,
    itemsize: int = 4,
) -> OpCost:
    """Cost of ``nn.Conv{1,2,3}d`` on an input of ``in_shape`` = (N, C_in, *spatial).

    Arguments mirror PyTorch's. See the module docstring for the counting rules.

    >>> c = conv((1, 512, 14, 14), 512, 3, padding=1, bias=False)
    >>> c.out_shape, c.params, c.madds   # 512·512·9 ; 14·14·512·512·9
    ((1, 512, 14, 14), 2359296, 462422016)
    """
    shape, kernel, strides, dil = _prologue(in_shape, out_channels, groups, kernel_size, stride,
                                            dilation)
    dims, n, c_in, spatial = len(kernel), shape[0], shape[1], shape[2:]
    if padding_mode not in PADDING_MODES:
        raise InvalidArgumentError(
            f"unknown padding_mode {padding_mode!r}; use one of {', '.join(PADDING_MODES)}"
        )
    left, right = _resolve_padding(padding, dims, kernel, dil, strides)
    if padding_mode == "reflect":
        for size, p_l, p_r in zip(spatial, left, right, strict=True):
            if max(p_l, p_r) >= size:
                raise InvalidArgumentError(
                    f"reflect padding {max(p_l, p_r)} must be smaller than the input size {size}"
                )
    out_spatial = tuple(
        conv_output_size(size, k, s, p_l + p_r, d)
        for size, k, s, p_l, p_r, d in zip(spatial, kernel, strides, left, right, dil, strict=True)
    )
    taps = (c_in // groups) * math.prod(kernel)  # multiply-adds per output element
    out_shape = (n, out_channels, *out_spatial)
    out_elems = math.prod(out_shape)
    params = out_channels * taps + (out_channels if bias else 0)
    return make_cost(
        out_shape,
        params=params,
        madds=out_elems * taps,
        extra_flops=out_elems if bias else 0,
        read_elems=math.prod(shape) + params,
        itemsize=check_itemsize(itemsize),
    )


def conv_transpose(
    in_shape: Sequence[int],
    out_channels: int,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    bias: bool = True,
    dilation: int | Sequence[int] = 1,
    *,
    itemsize: int = 4,
) -> OpCost:
    """Cost of ``nn.ConvTranspose{1,2,3}d`` (argument order as in PyTorch).

    Output size per dim: ``(L-1)·s - 2p + d·(k-1) + output_padding + 1``. Multiply-adds are
    counted from the input side: ``N · C_in · ∏in · C_out/g · ∏k``; bias adds one flop per
    output element.

    >>> conv_transpose((1, 16, 8, 8), 8, 4, stride=2, padding=1, bias=False).madds  # 16·64·8·16
    131072
    """
    shape, kernel, strides, dil = _prologue(in_shape, out_channels, groups, kernel_size, stride,
                                            dilation)
    dims, n, c_in, spatial = len(kernel), shape[0], shape[1], shape[2:]
    pad = as_tuple(padding, dims, "padding", minimum=0)
    out_pad = as_tuple(output_padding, dims, "output_padding", minimum=0)
    for op, s, d in zip(out_pad, strides, dil, strict=True):
        if op >= max(s, d):
            raise InvalidArgumentError(
                f"output_padding {op} must be smaller than stride {s} or dilation {d}"
            )
    out_spatial = tuple(
        (size - 1) * s - 2 * p + d * (k - 1) + op + 1
        for size, s, p, d, k, op in zip(spatial, strides, pad, dil, kernel, out_pad, strict=True)
    )
    if any(o <= 0 for o in out_spatial):
        raise InvalidArgumentError(
            f"transposed convolution output size {out_spatial} is not positive; "
            f"reduce padding {pad}"
        )
    taps = (out_channels // groups) * math.prod(kernel)  # per input element
    out_shape = (n, out_channels, *out_spatial)
    out_elems = math.prod(out_shape)
    params = c_in * taps + (out_channels if bias else 0)
    return make_cost(
        out_shape,
        params=params,
        madds=math.prod(shape) * taps,
        extra_flops=out_elems if bias else 0,
        read_elems=math.prod(shape) + params,
        itemsize=check_itemsize(itemsize),
    )


def conv_kind(
    in_channels: int, out_channels: int, kernel_size: int | Sequence[int], groups: int = 1
) -> ConvKind:
    """Classify a convolution.

    * ``depthwise``: ``groups == in_channels > 1`` (each input channel convolved on its own;
      ``out_channels = m · in_channels`` with channel multiplier m >= 1);
    * ``grouped``: any other ``groups > 1`` (ShuffleNet's grouped 1×1 convs land here);
    * ``pointwise``: a 1×1 (or 1, 1×1×1) kernel with ``groups == 1``;
    * ``standard``: everything else, including asymmetric 1×n / n×1 kernels
      (see :func:`is_spatially_separable_pair`).

    Transposed convolutions get the same four kinds (from their groups and kernel); their op
    label (``conv_transpose2d``) says they are transposed.
    """
    _check_groups(in_channels, out_channels, groups)
    kernel = (kernel_size,) if isinstance(kernel_size, int) else tuple(kernel_size)
    if groups > 1 and groups == in_channels:
        return "depthwise"
    if groups > 1:
        return "grouped"
    if all(k == 1 for k in kernel):
        return "pointwise"
    return "standard"


def depthwise_multiplier(in_channels: int, out_channels: int, groups: int) -> int | None:
    """The channel multiplier of a depthwise conv (``out/in``), or None if it is not depthwise."""
    if groups > 1 and groups == in_channels and out_channels % in_channels == 0:
        return out_channels // in_channels
    return None


def is_spatially_separable_pair(first_kernel: Sequence[int], second_kernel: Sequence[int]) -> bool:
    """True for consecutive 2-d kernels ``1×n`` then ``n×1`` (or ``n×1`` then ``1×n``), n > 1.

    Such a pair covers an n×n receptive field with 2n instead of n² taps (Inception v3).
    """
    a, b = tuple(first_kernel), tuple(second_kernel)
    if len(a) != 2 or len(b) != 2:
        return False
    return (a[0] == 1 and b[1] == 1 and a[1] == b[0] > 1) or (
        a[1] == 1 and b[0] == 1 and a[0] == b[1] > 1
    )


__all__ = [
    "CONV_KINDS",
    "PADDING_MODES",
    "ConvKind",
    "conv",
    "conv_kind",
    "conv_output_size",
    "conv_transpose",
    "depthwise_multiplier",
    "is_spatially_separable_pair",
]
