"""Indexing: gather and scatter by index (embedding lookups, advanced indexing, ``gather``,
``scatter``, ``index_put``), bags of embeddings, ``nonzero``.

No multiply-adds. Index tensors are int64 (``index_itemsize`` = 8 bytes per index), boolean
masks 1 byte per element. Counting rules:

* **gather** (``nn.Embedding``, ``x[idx]``, ``index_select``, ``gather``): reads the indices
  and, per output element, the one element it copies (not the whole source: a lookup in a
  50,000-row table reads the rows it looks up); writes the output. 0 flops.
* **scatter** (``scatter``, ``scatter_add``, ``scatter_reduce``, ``index_put``,
  ``index_add``, ``index_copy``, ``index_fill``, ``masked_scatter``): sets elements at the
  indices. Reads the indices and the source (a broadcast value once); with ``accumulate``
  (scatter_add, scatter_reduce, index_add, ``index_put(accumulate=True)``) it also reads each
  destination element and does one op (add, multiply, max...) per element written. Out of
  place, the destination is copied first: its whole tensor is read and the whole output
  written. In place (``x[idx] = v``, ``index_put_``, ``index_copy_``) only the elements set
  are written.
* **embedding bag** (``nn.EmbeddingBag``): gathers one row of ``D`` per index, then reduces
  each bag: ``(indices − bags)·D`` adds (sum, mean) or compares (max), ``bags·D`` divides for a
  mean, ``indices·D`` multiplies with per-sample weights. Reads the indices, the offsets, the
  per-sample weights and the gathered rows; writes the bags (the bookkeeping outputs it
  returns for the backward pass are not counted).
* **nonzero**: one compare per input element; writes the ``found × rank`` int64 coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from convcost.errors import InvalidArgumentError
from convcost.formulas._core import (
    INDEX_ITEMSIZE,
    OpCost,
    broadcast_shapes,
    check_itemsize,
    check_shape,
    make_cost,
)


def gather(out_shape: Sequence[int], index_elems: int, *,
           index_itemsize: int = INDEX_ITEMSIZE, itemsize: int = 4) -> OpCost:
    """A lookup that makes ``out_shape`` from ``index_elems`` indices.

    >>> gather((1, 128, 768), 128).mem_read_bytes   # 128 indices · 8 + 128·768 values · 4
    394240
    """
    out = check_shape(out_shape, "output shape")
    _check_count(index_elems, "index_elems")
    return make_cost(out, read_elems=math.prod(out), itemsize=check_itemsize(itemsize),
                     extra_read_bytes=index_elems * check_itemsize(index_itemsize))


def embedding(indices_shape: Sequence[int], embedding_dim: int, *,
              index_itemsize: int = INDEX_ITEMSIZE, itemsize: int = 4) -> OpCost:
    """``nn.Embedding(num, embedding_dim)`` on indices of ``indices_shape``: a :func:`gather`
    of one row per index.

    >>> embedding((1, 3), 4).out_shape, embedding((1, 3), 4).mem_bytes  # 3·8 + 12·4 + 12·4
    ((1, 3, 4), 120)
    """
    idx = check_shape(indices_shape, "indices shape")
    return gather((*idx, embedding_dim), math.prod(idx), index_itemsize=index_itemsize,
                  itemsize=itemsize)


def scatter(self_shape: Sequence[int], written: int, index_elems: int, *,
            src_elems: int | None = None, accumulate: bool = False, inplace: bool = False,
            index_itemsize: int = INDEX_ITEMSIZE, itemsize: int = 4) -> OpCost:
    """``written`` elements of a tensor of ``self_shape`` set at ``index_elems`` indices (a
    boolean mask: its elements, with ``index_itemsize=1``) from ``src_elems`` source elements
    (default ``written``; a broadcast value is read once, a Python scalar not at all).

    >>> scatter((2, 3, 4, 4), 32, 32, accumulate=True).flops   # one add per element written
    32
    >>> scatter((8, 1024, 64), 64, 1, inplace=True).mem_write_bytes   # x[i] = v: 64 · 4
    256
    """
    dest = check_shape(self_shape, "destination shape")
    _check_count(written, "written")
    _check_count(index_elems, "index_elems")
    src = written if src_elems is None else src_elems
    _check_count(src, "src_elems")
    n = math.prod(dest)
    reads = src + (written if accumulate else 0) + (0 if inplace else n)
    return make_cost(
        dest, extra_flops=written if accumulate else 0, read_elems=reads,
        write_elems=written if inplace else n, itemsize=check_itemsize(itemsize),
        extra_read_bytes=index_elems * check_itemsize(index_itemsize),
    )


EMBEDDING_BAG_MODES = ("sum", "mean", "max")
"""``nn.EmbeddingBag``'s modes, in the order of aten's ``mode`` argument (0, 1, 2)."""


def embedding_bag(indices: int, bags: int, embedding_dim: int, mode: str = "mean", *,
                  per_sample_weights: bool = False, offsets: int | None = None,
                  index_itemsize: int = INDEX_ITEMSIZE, itemsize: int = 4) -> OpCost:
    """``nn.EmbeddingBag(num, embedding_dim, mode=mode)``: ``indices`` lookups reduced into
    ``bags`` bags; ``offsets``: how many offsets are read (default ``bags``).

    >>> embedding_bag(6, 2, 4, "sum").flops   # (6 − 2) rows of 4 added
    16
    """
    if mode not in EMBEDDING_BAG_MODES:
        raise InvalidArgumentError(f"unknown embedding bag mode {mode!r}; use one of "
                                   f"{', '.join(EMBEDDING_BAG_MODES)}")
    _check_count(indices, "indices")
    _check_count(bags, "bags")
    out = check_shape((bags, embedding_dim), "output shape")
    rows = indices * embedding_dim
    flops = max(indices - bags, 0) * embedding_dim
    flops += (bags * embedding_dim if mode == "mean" else 0) + (rows if per_sample_weights
                                                                  else 0)
    index_reads = indices + (bags if offsets is None else offsets)
    return make_cost(
        out, extra_flops=flops,
        read_elems=rows + (indices if per_sample_weights else 0),
        itemsize=check_itemsize(itemsize),
        extra_read_bytes=index_reads * check_itemsize(index_itemsize),
    )


def nonzero(in_shape: Sequence[int], found: int, *, in_itemsize: int = 4,
            index_itemsize: int = INDEX_ITEMSIZE) -> OpCost:
    """``torch.nonzero(x)`` (and ``torch.where(cond)``, boolean-mask indexing): ``found``
    non-zero elements, each written as ``rank`` int64 coordinates.

    >>> nonzero((4, 4), 10).out_shape, nonzero((4, 4), 10).mem_write_bytes   # 10·2·8
    ((10, 2), 160)
    """
    shape = check_shape(in_shape, "input shape")
    _check_count(found, "found")
    n = math.prod(shape)
    out = (found, len(shape))
    return make_cost(
        out, extra_flops=n, read_elems=0, extra_read_bytes=n * check_itemsize(in_itemsize),
        out_itemsize=index_itemsize,
    )


def indexed_elems(self_shape: Sequence[int],
                  indices: Sequence[tuple[Sequence[int], bool] | None]) -> int:
    """How many elements ``x[indices]`` selects (what ``x[indices] = v`` writes): each entry
    is None for a whole dim, or an index tensor's (shape, is a boolean mask). Integer index
    tensors broadcast together; a mask covers its dims and counts every position in them (an
    upper bound: which positions are true is data, not shape).

    >>> indexed_elems((2, 3, 4, 4), [None, ((2,), False)])   # x[:, [0, 2]]: 2·2·4·4
    64
    >>> indexed_elems((2, 3, 4, 4), [None, None, ((4, 4), True)])   # x[:, :, mask]
    96
    """
    shape = check_shape(self_shape, "indexed tensor shape")
    covered = 0
    count = 1
    integer: list[Sequence[int]] = []
    for entry in indices:
        if entry is None:
            count *= shape[covered] if covered < len(shape) else 1
            covered += 1
            continue
        idx, mask = entry
        if mask:
            count *= math.prod(idx)
            covered += len(idx)
        else:
            integer.append(idx)
            covered += 1
    if covered > len(shape):
        raise InvalidArgumentError(f"{len(indices)} indices cover {covered} dims of a "
                                   f"{len(shape)}-d tensor {shape}")
    return count * math.prod(broadcast_shapes(*integer)) * math.prod(shape[covered:])


def _check_count(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"{name} must be an integer >= 0, got {value!r}")


__all__ = ["EMBEDDING_BAG_MODES", "embedding", "embedding_bag", "gather", "indexed_elems",
           "nonzero", "scatter"]
