"""Reductions, scans and selections along dims: sum, mean, max (with its index), all/any,
variance, vector norms, cumulative sums, sort and top-k.

No multiply-adds. Counting rules (``∏in`` / ``∏out``: elements of the input / output):

* **reduction** (sum, mean, prod, amax, amin, max/min along a dim, argmax/argmin, all/any):
  one op (add, multiply, compare, logical and/or) per element folded away, ``∏in − ∏out``;
  a mean adds one divide per output.
* **variance** (var, std, var_mean, std_mean): the mean (``∏in − ∏out`` adds, ``∏out``
  divides), then per element a subtract, a square and an accumulate (``∏in − ∏out`` adds),
  and a divide by ``count − correction`` per output: ``4·∏in`` in all (the correction does
  not change the count); std adds one square root per output.
* **vector norm** (``torch.linalg.vector_norm``, ``torch.norm``, ``F.normalize``'s norm): one
  op per element to make each term (``x·x`` for ord 2; ``|x|`` for ord 1 and ±inf; ``x ≠ 0``
  for ord 0; ``|x|`` and a power, 2 ops, for any other ord), the fold (``∏in − ∏out`` adds,
  or compares for ±inf), and one root per output for ord 2 (square root) and any other
  ord p ≠ 0, 1, ±inf (power 1/p). Ord 2 is ``2·∏in`` in all.
* **scan** (cumsum, cumprod, cummax, cummin): ``L − 1`` ops along each line of length ``L``,
  ``∏in − ∏in / L``.
* **sort**: ``L·⌈log₂ L⌉`` comparisons per line (a comparison sort); **top-k**: ``L·⌈log₂ k⌉``
  per line (a k-element heap over the line), at least ``L``.
* **selection** (median, nanmedian, kthvalue): ``L`` comparisons per line (a linear-time
  selection, by the rule of a max).
* **logsumexp**: the max (``∏in − ∏out`` compares), per element a subtract and an exp, the sum
  (``∏in − ∏out`` adds), per output a log and the max added back: ``4·∏in`` in all.

Memory: the input is read once; the output is written, with ``out_itemsize`` bytes per output
element where it differs from the input's: values and an int64 index (``itemsize + 8``) for
max/min along a dim, sort, top-k, cummax/cummin; the index alone (8) for argmax/argmin; 1 for
the bools of all/any.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from convcost.errors import InvalidArgumentError
from convcost.formulas._core import (
    INDEX_ITEMSIZE,
    OpCost,
    Shape,
    check_itemsize,
    check_positive,
    check_shape,
    make_cost,
)


def _reduced(shape: Shape, dims: Sequence[int] | None, keepdim: bool) -> Shape:
    rank = len(shape)
    for d in dims or ():
        if rank and not -rank <= d < rank:
            raise InvalidArgumentError(f"dim {d} is out of range for a {rank}-d tensor")
    axes = set(range(rank)) if dims is None else {d % rank if rank else 0 for d in dims}
    return tuple((1 if i in axes else d) for i, d in enumerate(shape) if keepdim or i not in axes)


def reduction(
    shape: Sequence[int], dims: Sequence[int] | None = None, *, mean: bool = False,
    keepdim: bool = False, itemsize: int = 4, out_itemsize: int | None = None,
) -> OpCost:
    """``sum`` / ``mean`` / ``amax`` / ``max(dim)`` / ``argmax`` / ``all`` ... over ``dims``
    (all when None): one op per input element folded, plus one divide per output element for a
    mean. ``out_itemsize``: bytes written per output element when not ``itemsize`` (see the
    module doc).

    >>> reduction((1, 1280, 7, 7), (2, 3), mean=True).flops   # 1280·48 adds + 1280 divides
    62720
    >>> reduction((2, 3, 4), [1], out_itemsize=4 + 8).mem_write_bytes  # max(dim=1): 8 · (4 + 8)
    96
    """
    shp = check_shape(shape, "input shape")
    out = _reduced(shp, dims, keepdim)
    n_in, n_out = math.prod(shp), math.prod(out)
    return make_cost(
        out,
        extra_flops=(n_in - n_out) + (n_out if mean else 0),
        read_elems=n_in,
        itemsize=check_itemsize(itemsize),
        out_itemsize=out_itemsize,
    )


def variance(
    shape: Sequence[int], dims: Sequence[int] | None = None, *, std: bool = False,
    with_mean: bool = False, keepdim: bool = False, itemsize: int = 4,
) -> OpCost:
    """``var`` / ``std`` over ``dims`` (all when None); ``with_mean``: ``var_mean`` /
    ``std_mean``, which also write the mean.

    >>> variance((2, 3, 4, 4), [1]).flops, variance((2, 3, 4, 4), [1], std=True).flops
    (384, 416)
    """
    shp = check_shape(shape, "input shape")
    out = _reduced(shp, dims, keepdim)
    n_in, n_out = math.prod(shp), math.prod(out)
    return make_cost(
        out,
        extra_flops=4 * n_in + (n_out if std else 0),
        read_elems=n_in,
        write_elems=n_out * (2 if with_mean else 1),
        itemsize=check_itemsize(itemsize),
    )


def vector_norm(
    shape: Sequence[int], ord: float = 2, dims: Sequence[int] | None = None, *,
    keepdim: bool = False, itemsize: int = 4,
) -> OpCost:
    """``torch.linalg.vector_norm(x, ord, dims)`` (the whole tensor when ``dims`` is None).

    >>> vector_norm((2, 3, 4, 4), 2, [1]).flops, vector_norm((2, 3, 4, 4), 1, [1]).flops
    (192, 160)
    """
    shp = check_shape(shape, "input shape")
    out = _reduced(shp, dims, keepdim)
    n_in, n_out = math.prod(shp), math.prod(out)
    p = float(ord)
    per_element = 1 if p in (0.0, 1.0, 2.0, math.inf, -math.inf) else 2
    per_output = 0 if p in (0.0, 1.0, math.inf, -math.inf) else 1
    return make_cost(
        out,
        extra_flops=per_element * n_in + (n_in - n_out) + per_output * n_out,
        read_elems=n_in,
        itemsize=check_itemsize(itemsize),
    )


def _line(shape: Shape, dim: int) -> tuple[int, int]:
    """(length along ``dim``, number of lines) of ``shape``."""
    rank = max(len(shape), 1)
    if not -rank <= dim < rank:
        raise InvalidArgumentError(f"dim {dim} is out of range for a {len(shape)}-d tensor")
    length = shape[dim % rank] if shape else 1
    return length, math.prod(shape) // length


def scan(
    shape: Sequence[int], dim: int, *, itemsize: int = 4, out_itemsize: int | None = None
) -> OpCost:
    """``cumsum`` / ``cumprod`` (``cummax`` / ``cummin`` with ``out_itemsize = itemsize +
    8``) along ``dim``: ``L − 1`` ops per line.

    >>> scan((2, 3, 4, 4), 1).flops   # 32 lines of 3: 2 adds each
    64
    """
    shp = check_shape(shape, "input shape")
    length, lines = _line(shp, dim)
    return make_cost(
        shp, extra_flops=lines * (length - 1), read_elems=math.prod(shp),
        itemsize=check_itemsize(itemsize), out_itemsize=out_itemsize,
    )


def sort(shape: Sequence[int], dim: int = -1, *, itemsize: int = 4) -> OpCost:
    """``torch.sort`` (and ``argsort``, which runs it) along ``dim``: values and int64 indices
    written.

    >>> sort((2, 3, 4, 4), 1).flops   # 32 lines of 3: 3·⌈log₂ 3⌉ = 6 comparisons each
    192
    """
    shp = check_shape(shape, "input shape")
    length, lines = _line(shp, dim)
    return make_cost(
        shp, extra_flops=lines * length * math.ceil(math.log2(length)),
        read_elems=math.prod(shp), extra_write_bytes=math.prod(shp) * INDEX_ITEMSIZE,
        itemsize=check_itemsize(itemsize),
    )


def topk(shape: Sequence[int], k: int, dim: int = -1, *, itemsize: int = 4) -> OpCost:
    """``torch.topk(x, k, dim)``: the ``k`` largest (or smallest) values and their int64
    indices.

    >>> topk((2, 3, 4, 4), 2, 1).out_shape, topk((2, 3, 4, 4), 2, 1).flops  # 32 lines · 3 · 1
    ((2, 2, 4, 4), 96)
    """
    shp = check_shape(shape, "input shape")
    length, lines = _line(shp, dim)
    check_positive(k, "k")
    if k > length:
        raise InvalidArgumentError(f"top-k k={k} exceeds the {length} values along dim {dim}")
    out = (*shp[:dim % len(shp)], k, *shp[dim % len(shp) + 1:]) if shp else ()
    return make_cost(
        out, extra_flops=lines * length * max(1, math.ceil(math.log2(k))),
        read_elems=math.prod(shp), extra_write_bytes=math.prod(out) * INDEX_ITEMSIZE,
        itemsize=check_itemsize(itemsize),
    )


def select_kth(shape: Sequence[int], dim: int | None = -1, *, keepdim: bool = False,
               itemsize: int = 4) -> OpCost:
    """``torch.kthvalue`` / ``median`` / ``nanmedian`` along ``dim`` (values and int64 indices
    written), or of the whole tensor when ``dim`` is None (one value, no index).

    >>> select_kth((2, 8, 5), 1).flops, select_kth((2, 8, 5), 1).out_shape   # 10 lines of 8
    (80, (2, 5))
    >>> select_kth((4, 4), None).mem_write_bytes   # torch.median(x): one float
    4
    """
    shp = check_shape(shape, "input shape")
    isz = check_itemsize(itemsize)
    if dim is None:
        return make_cost((), extra_flops=math.prod(shp), read_elems=math.prod(shp),
                         itemsize=isz)
    length, lines = _line(shp, dim)
    out = _reduced(shp, [dim], keepdim)
    return make_cost(out, extra_flops=lines * length, read_elems=math.prod(shp),
                     extra_write_bytes=math.prod(out) * INDEX_ITEMSIZE, itemsize=isz)


def logsumexp(shape: Sequence[int], dims: Sequence[int] | None = None, *,
              keepdim: bool = False, itemsize: int = 4) -> OpCost:
    """``torch.logsumexp`` over ``dims`` (all when None), computed stably: ``4·∏in`` (module
    doc); the input read once, the output written.

    >>> logsumexp((2, 10), [1]).flops, logsumexp((2, 10), [1]).out_shape
    (80, (2,))
    """
    shp = check_shape(shape, "input shape")
    out = _reduced(shp, dims, keepdim)
    return make_cost(out, extra_flops=4 * math.prod(shp), read_elems=math.prod(shp),
                     itemsize=check_itemsize(itemsize))


__all__ = ["logsumexp", "reduction", "scan", "select_kth", "sort", "topk", "variance",
           "vector_norm"]
