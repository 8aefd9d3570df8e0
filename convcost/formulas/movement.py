"""Data movement: concat, split / chunk, channel shuffle, upsample / interpolate, pad, repeat,
copies (roll, flip, triu / tril), patches (im2col / col2im).

No multiply-adds; what matters is memory traffic (ShuffleNetV2's guideline 4: these ops are
not free). Rules:

* **concat** copies every input into a new tensor: reads all inputs, writes the output.
* **split / chunk** return views in PyTorch: no traffic (``materialize=True`` for frameworks
  that copy; then each piece is read and written once).
* **channel shuffle** = reshape (view) + transpose (view) + ``contiguous()`` (a copy): reads and
  writes the whole tensor once.
* **upsample**: nearest copies (0 flops); linear modes take a weighted sum of the 2^d
  neighbours (``2^(d+1) - 1`` flops per output: 3 linear, 7 bilinear, 15 trilinear) and
  bicubic of 4^d = 16 (31 flops). Reads the input once, writes the output.
* **pad** (reflect / replicate / circular / constant) copies into a larger tensor.
* **repeat** (``x.repeat``, ``tile``) reads the input once and writes the tiled output.
* **roll**, **flip**, **triu / tril** are copies (:func:`copy`): the whole tensor read and
  written; triu / tril write zeros where they mask (a choice by position, no arithmetic).
* **im2col** (``F.unfold``) reads the input once and writes the (N, C·∏k, L) patches, padding
  zeros included; **col2im** (``F.fold``) reads the patches and writes the (N, C, *size*)
  output, adding where patches overlap: one add per patch element that lands inside the output
  beyond the first one there (0 when the stride is at least the kernel, as in MobileViT's
  fold); patch elements that land in the padding are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from convcost.errors import InvalidArgumentError
from convcost.formulas._core import (
    OpCost,
    Shape,
    as_tuple,
    check_itemsize,
    check_positive,
    check_shape,
    make_cost,
)
from convcost.formulas.conv import conv_output_size

UPSAMPLE_FLOPS_PER_OUTPUT: dict[str, Callable[[int], int]] = {
    "nearest": lambda d: 0,
    "nearest-exact": lambda d: 0,
    "linear": lambda d: 2 ** (d + 1) - 1,
    "bilinear": lambda d: 2 ** (d + 1) - 1,
    "trilinear": lambda d: 2 ** (d + 1) - 1,
    "bicubic": lambda d: 2 * 4**d - 1,
}
"""Flops per output element of ``F.interpolate`` by mode, as a function of the number of
spatial dims ``d`` (the **upsample** rule above)."""


GRID_SAMPLE_MODES = ("bilinear", "nearest", "bicubic")
"""aten's ``interpolation_mode`` of ``grid_sampler_*d``, by its integer."""


def grid_sample_flops(interpolation_mode: int, dims: int) -> int:
    """Flops per output element of ``F.grid_sample`` (aten's ``interpolation_mode``: 0
    bilinear, trilinear in 3-d; 1 nearest; 2 bicubic): the upsample rule of that mode.

    >>> grid_sample_flops(0, 2), grid_sample_flops(0, 3), grid_sample_flops(2, 2)
    (7, 15, 31)
    """
    mode = GRID_SAMPLE_MODES[interpolation_mode] if 0 <= interpolation_mode < 3 else "bilinear"
    return int(UPSAMPLE_FLOPS_PER_OUTPUT[mode](dims))


def _dim(dim: int, rank: int) -> int:
    if not -rank <= dim < rank:
        raise InvalidArgumentError(f"dim {dim} is out of range for a {rank}-d tensor")
    return dim % rank


def concat(shapes: Sequence[Sequence[int]], dim: int = 1, *, itemsize: int = 4) -> OpCost:
    """Cost of ``torch.cat(tensors, dim)``.

    >>> concat([(1, 58, 28, 28), (1, 58, 28, 28)]).out_shape
    (1, 116, 28, 28)
    """
    if not shapes:
        raise InvalidArgumentError("concat needs at least one input shape")
    parts = [check_shape(s, f"input {i} shape", min_rank=1) for i, s in enumerate(shapes)]
    rank = len(parts[0])
    axis = _dim(dim, rank)
    for s in parts[1:]:
        if len(s) != rank or any(
            a != b for i, (a, b) in enumerate(zip(s, parts[0], strict=True)) if i != axis
        ):
            raise InvalidArgumentError(
                f"concat inputs {parts} must match in every dim except dim {dim}"
            )
    out = list(parts[0])
    out[axis] = sum(s[axis] for s in parts)
    return make_cost(
        out, read_elems=sum(math.prod(s) for s in parts), itemsize=check_itemsize(itemsize)
    )


def split(
    in_shape: Sequence[int], sizes: int | Sequence[int], dim: int = 1,
    *, materialize: bool = False, itemsize: int = 4,
) -> list[OpCost]:
    """Pieces of ``torch.split(x, sizes, dim)``: an int is a piece size (the last may be
    smaller), a list gives each piece. Views: zero cost unless ``materialize``.

    >>> [p.out_shape for p in split((1, 116, 28, 28), 58)]
    [(1, 58, 28, 28), (1, 58, 28, 28)]
    """
    shape = check_shape(in_shape, "input shape", min_rank=1)
    axis = _dim(dim, len(shape))
    length = shape[axis]
    if isinstance(sizes, int):
        check_positive(sizes, "split size")
        pieces = [min(sizes, length - i) for i in range(0, length, sizes)]
    else:
        pieces = [int(s) for s in sizes]
        if sum(pieces) != length or any(p < 0 for p in pieces):
            raise InvalidArgumentError(
                f"split sizes {pieces} must be non-negative and add up to {length}"
            )
    return [_piece(shape, axis, p, materialize, itemsize) for p in pieces]


def chunk(
    in_shape: Sequence[int], chunks: int, dim: int = 1,
    *, materialize: bool = False, itemsize: int = 4,
) -> list[OpCost]:
    """Pieces of ``torch.chunk(x, chunks, dim)`` (PyTorch's rule: ceil-sized pieces)."""
    shape = check_shape(in_shape, "input shape", min_rank=1)
    check_positive(chunks, "chunks")
    axis = _dim(dim, len(shape))
    return split(shape, -(-shape[axis] // chunks), axis, materialize=materialize,
                 itemsize=itemsize)


def _piece(shape: Shape, axis: int, size: int, materialize: bool, itemsize: int) -> OpCost:
    out = (*shape[:axis], size, *shape[axis + 1:])
    n = math.prod(out) if materialize else 0
    return make_cost(out, read_elems=n, write_elems=n, itemsize=check_itemsize(itemsize))


def channel_shuffle(in_shape: Sequence[int], groups: int, *, itemsize: int = 4) -> OpCost:
    """Cost of ShuffleNet's channel shuffle on (N, C, ...): one full read and write.

    >>> channel_shuffle((1, 116, 28, 28), 2).mem_bytes   # 2 · 116·28·28 · 4
    727552
    """
    shape = check_shape(in_shape, "input shape", min_rank=2)
    check_positive(groups, "groups")
    if shape[1] % groups:
        raise InvalidArgumentError(
            f"channel shuffle groups={groups} must divide the {shape[1]} channels"
        )
    return make_cost(shape, read_elems=math.prod(shape), itemsize=check_itemsize(itemsize))


def copy(in_shape: Sequence[int], *, itemsize: int = 4, out_itemsize: int | None = None
         ) -> OpCost:
    """A plain copy (``contiguous()`` of a non-contiguous tensor, ``clone``, a dtype
    conversion): read + write, the output at ``out_itemsize`` (default: ``itemsize``).

    >>> c = copy((1, 1000), itemsize=4, out_itemsize=2)   # x.half(): 4000 bytes in, 2000 out
    >>> c.mem_read_bytes, c.mem_write_bytes
    (4000, 2000)
    """
    shape = check_shape(in_shape, "input shape")
    return make_cost(shape, read_elems=math.prod(shape), itemsize=check_itemsize(itemsize),
                     out_itemsize=out_itemsize)


def upsample(
    in_shape: Sequence[int],
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    *,
    itemsize: int = 4,
) -> OpCost:
    """Cost of ``F.interpolate`` / ``nn.Upsample`` on (N, C, *spatial).

    >>> upsample((1, 256, 14, 14), scale_factor=2, mode="bilinear").flops  # 7 per output
    1404928
    """
    shape = check_shape(in_shape, "input shape", min_rank=3)
    dims = len(shape) - 2
    if mode not in UPSAMPLE_FLOPS_PER_OUTPUT:
        raise InvalidArgumentError(
            f"unknown interpolation mode {mode!r}; use one of "
            f"{', '.join(UPSAMPLE_FLOPS_PER_OUTPUT)}"
        )
    if (size is None) == (scale_factor is None):
        raise InvalidArgumentError("give exactly one of size and scale_factor")
    if size is not None:
        target = (size,) * dims if isinstance(size, int) else tuple(int(s) for s in size)
    else:
        assert scale_factor is not None
        factors = (
            (float(scale_factor),) * dims
            if isinstance(scale_factor, (int, float))
            else tuple(float(f) for f in scale_factor)
        )
        if len(factors) != dims:
            raise InvalidArgumentError(f"scale_factor must have {dims} entries, got {factors}")
        target = tuple(math.floor(s * f) for s, f in zip(shape[2:], factors, strict=True))
    if len(target) != dims or any(t <= 0 for t in target):
        raise InvalidArgumentError(f"interpolation output size must be {dims} positive ints, "
                                   f"got {target}")
    out = (*shape[:2], *target)
    return make_cost(
        out,
        extra_flops=math.prod(out) * UPSAMPLE_FLOPS_PER_OUTPUT[mode](dims),
        read_elems=math.prod(shape),
        itemsize=check_itemsize(itemsize),
    )


def pad(in_shape: Sequence[int], padding: Sequence[int], *, itemsize: int = 4) -> OpCost:
    """Cost of ``F.pad(x, padding)``; ``padding`` as in PyTorch (last dim first, pairs)."""
    shape = list(check_shape(in_shape, "input shape"))
    pads = [int(p) for p in padding]
    if len(pads) % 2 or len(pads) // 2 > len(shape):
        raise InvalidArgumentError(f"padding {pads} must be pairs for at most {len(shape)} dims")
    for i in range(len(pads) // 2):
        shape[-1 - i] += pads[2 * i] + pads[2 * i + 1]
    if any(d <= 0 for d in shape):
        raise InvalidArgumentError(f"padding {pads} leaves a non-positive size {tuple(shape)}")
    return make_cost(shape, read_elems=math.prod(in_shape), itemsize=check_itemsize(itemsize))


def repeat(in_shape: Sequence[int], repeats: Sequence[int], *, itemsize: int = 4) -> OpCost:
    """Cost of ``x.repeat(*repeats)`` (``torch.tile``): ``repeats`` may add leading dims.

    >>> repeat((3,), (2,)).out_shape, repeat((3,), (2,)).mem_bytes   # (3 + 6) · 4
    ((6,), 36)
    """
    shape = check_shape(in_shape, "input shape")
    reps = tuple(int(r) for r in repeats)
    if len(reps) < len(shape) or any(r < 0 for r in reps):
        raise InvalidArgumentError(f"repeats {reps} must be >= 0, one per dim of {shape} or "
                                   "more")
    padded = (1,) * (len(reps) - len(shape)) + shape
    out = tuple(d * r for d, r in zip(padded, reps, strict=True))
    return make_cost(out, read_elems=math.prod(shape), itemsize=check_itemsize(itemsize))


def _blocks(size: int, kernel: int, dilation: int, padding: int, stride: int
            ) -> tuple[int, int, int]:
    """Along one dim: (patches, patch elements inside the input, input positions covered)."""
    blocks = conv_output_size(size, kernel, stride, 2 * padding, dilation)
    inside = 0
    covered: set[int] = set()
    for b in range(blocks):
        for k in range(kernel):
            pos = b * stride - padding + k * dilation
            if 0 <= pos < size:
                inside += 1
                covered.add(pos)
    return blocks, inside, len(covered)


def _patch_args(size: Sequence[int], kernel: int | Sequence[int], dilation: int | Sequence[int],
                padding: int | Sequence[int], stride: int | Sequence[int]
                ) -> list[tuple[int, int, int]]:
    dims = len(size)
    k = as_tuple(kernel, dims, "kernel_size")
    d = as_tuple(dilation, dims, "dilation")
    p = as_tuple(padding, dims, "padding", minimum=0)
    s = as_tuple(stride, dims, "stride")
    return [_blocks(*args) for args in zip(size, k, d, p, s, strict=True)]


def im2col(in_shape: Sequence[int], kernel_size: int | Sequence[int],
           dilation: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
           stride: int | Sequence[int] = 1, *, itemsize: int = 4) -> OpCost:
    """Cost of ``F.unfold(x, kernel_size, dilation, padding, stride)`` on (N, C, H, W) or
    (C, H, W).

    >>> im2col((2, 3, 4, 4), 2, stride=2).out_shape   # 3·2·2 rows, 2·2 patches
    (2, 12, 4)
    """
    shape = check_shape(in_shape, "input shape", min_rank=3)
    if len(shape) > 4:
        raise InvalidArgumentError(f"im2col takes (N, C, H, W) or (C, H, W), got {shape}")
    kh, kw = as_tuple(kernel_size, 2, "kernel_size")
    patches = math.prod(b for b, _, _ in _patch_args(shape[-2:], kernel_size, dilation,
                                                     padding, stride))
    out = (*shape[:-3], shape[-3] * kh * kw, patches)
    return make_cost(out, read_elems=math.prod(shape), itemsize=check_itemsize(itemsize))


def col2im(in_shape: Sequence[int], output_size: Sequence[int], kernel_size: int | Sequence[int],
           dilation: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
           stride: int | Sequence[int] = 1, *, itemsize: int = 4) -> OpCost:
    """Cost of ``F.fold(x, output_size, kernel_size, dilation, padding, stride)`` on
    (N, C·∏k, L) or (C·∏k, L).

    >>> col2im((2, 12, 4), (4, 4), 2, stride=2).flops   # no overlap: a pure copy
    0
    >>> col2im((1, 4, 25), (4, 4), 2, stride=1, padding=1).flops  # 8·8 inside, on 4·4
    48
    """
    shape = check_shape(in_shape, "input shape", min_rank=2)
    size = check_shape(output_size, "output_size", min_rank=2)
    if len(shape) > 3 or len(size) != 2:
        raise InvalidArgumentError(f"col2im takes (N, C·kh·kw, L) or (C·kh·kw, L) and a 2-d "
                                   f"output size, got {shape} and {size}")
    kh, kw = as_tuple(kernel_size, 2, "kernel_size")
    if shape[-2] % (kh * kw):
        raise InvalidArgumentError(f"col2im input {shape}: dim -2 must be a multiple of the "
                                   f"kernel's {kh}·{kw}")
    dims = _patch_args(size, kernel_size, dilation, padding, stride)
    if shape[-1] != math.prod(b for b, _, _ in dims):
        raise InvalidArgumentError(f"col2im input {shape} has {shape[-1]} patches; output "
                                   f"size {size} gives {math.prod(b for b, _, _ in dims)}")
    planes = math.prod(shape[:-2]) * (shape[-2] // (kh * kw))
    inside = planes * math.prod(i for _, i, _ in dims)
    covered = planes * math.prod(c for _, _, c in dims)
    out = (*shape[:-2], shape[-2] // (kh * kw), *size)
    return make_cost(out, extra_flops=inside - covered, read_elems=math.prod(shape),
                     itemsize=check_itemsize(itemsize))


__all__ = ["UPSAMPLE_FLOPS_PER_OUTPUT", "channel_shuffle", "chunk", "col2im", "concat", "copy",
           "im2col", "pad", "repeat", "split", "upsample"]
