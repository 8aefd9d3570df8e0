"""Cost records and argument checks shared by every formula module (standard library only).

Units follow the public contract in DESIGN.md:

* ``params``: parameters owned by the op (weights, bias, affine), unique;
* ``madds``: multiply-accumulates of conv / linear / matmul / attention, bias excluded;
* ``flops``: 2 x madds + every other arithmetic op, by the rule in the op's docstring;
* ``mem_read_bytes`` / ``mem_write_bytes``: bytes read (inputs, weights, buffers) and written
  (outputs) by the op alone, with no fusion, at ``itemsize`` bytes per element.

All counts are for the whole batch and are Python ints.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from convcost.errors import InvalidArgumentError

Shape = tuple[int, ...]

#: bytes per element of an index tensor (int64), as indexing ops and ``argmax`` read and write
INDEX_ITEMSIZE = 8

#: bytes per element of the dtypes an analysis can be run at
ITEMSIZE: dict[str, int] = {
    "float64": 8,
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "int8": 1,
    "uint8": 1,
}

COST_FIELDS: tuple[str, ...] = (
    "params",
    "madds",
    "flops",
    "mem_read_bytes",
    "mem_write_bytes",
    "mem_bytes",
)


@dataclass(frozen=True, slots=True)
class Cost:
    """Additive cost of one op or a group of ops. ``mem_bytes`` = read + write."""

    params: int = 0
    madds: int = 0
    flops: int = 0
    mem_read_bytes: int = 0
    mem_write_bytes: int = 0

    @property
    def mem_bytes(self) -> int:
        return self.mem_read_bytes + self.mem_write_bytes

    def __add__(self, other: Cost) -> Cost:
        if not isinstance(other, Cost):
            return NotImplemented
        return Cost(
            self.params + other.params,
            self.madds + other.madds,
            self.flops + other.flops,
            self.mem_read_bytes + other.mem_read_bytes,
            self.mem_write_bytes + other.mem_write_bytes,
        )

    def __radd__(self, other: object) -> Cost:
        # lets sum() start from 0
        if other == 0:
            return Cost(
                self.params, self.madds, self.flops, self.mem_read_bytes, self.mem_write_bytes
            )
        return NotImplemented

    def scaled(self, times: int) -> Cost:
        """The cost of running this op ``times`` times (parameters are shared, not repeated)."""
        return Cost(
            self.params,
            self.madds * times,
            self.flops * times,
            self.mem_read_bytes * times,
            self.mem_write_bytes * times,
        )

    def as_dict(self) -> dict[str, int]:
        """The contract's cost fields, in contract order."""
        return {name: getattr(self, name) for name in COST_FIELDS}

    def base(self) -> Cost:
        """This record as a plain :class:`Cost` (drops the shape of an :class:`OpCost`)."""
        return Cost(self.params, self.madds, self.flops, self.mem_read_bytes, self.mem_write_bytes)


@dataclass(frozen=True, slots=True)
class OpCost(Cost):
    """Cost of one op together with the shape of its (first) output."""

    out_shape: Shape = ()


def numel(shape: Iterable[int]) -> int:
    """Number of elements of a tensor of ``shape`` (1 for a scalar ``()``)."""
    return math.prod(shape)


def make_cost(
    out_shape: Sequence[int],
    *,
    params: int = 0,
    madds: int = 0,
    extra_flops: int = 0,
    read_elems: int,
    write_elems: int | None = None,
    itemsize: int = 4,
    extra_read_bytes: int = 0,
    extra_write_bytes: int = 0,
    out_itemsize: int | None = None,
) -> OpCost:
    """Assemble an :class:`OpCost`: flops = 2 x madds + ``extra_flops``.

    ``write_elems`` defaults to the number of elements of ``out_shape``. Elements are
    ``itemsize`` bytes, those written ``out_itemsize`` bytes when it is given (a comparison's
    bools, a conversion's new dtype); ``extra_read_bytes`` / ``extra_write_bytes`` add operands
    of another dtype (int64 indices, bool masks).
    """
    out = tuple(int(d) for d in out_shape)
    written = numel(out) if write_elems is None else write_elems
    out_isz = itemsize if out_itemsize is None else check_itemsize(out_itemsize)
    return OpCost(
        params=params,
        madds=madds,
        flops=2 * madds + extra_flops,
        mem_read_bytes=read_elems * itemsize + extra_read_bytes,
        mem_write_bytes=written * out_isz + extra_write_bytes,
        out_shape=out,
    )


# ---------------------------------------------------------------------------------------------
# argument checks: every message names the argument and says what to change


def check_shape(shape: Sequence[int], name: str = "shape", *, min_rank: int = 0) -> Shape:
    """A tuple of positive ints with at least ``min_rank`` dims."""
    try:
        out = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"{name} must be a sequence of integers, got {shape!r}"
        ) from None
    if len(out) < min_rank:
        raise InvalidArgumentError(
            f"{name} must have at least {min_rank} dimensions, got {out} ({len(out)})"
        )
    if any(d <= 0 for d in out):
        raise InvalidArgumentError(f"{name} must have positive sizes, got {out}")
    return out


def check_positive(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{name} must be an integer, got {value!r}")
    if value <= 0:
        raise InvalidArgumentError(f"{name} must be a positive integer, got {value}")
    return value


_DTYPE_ALIASES = {"fp32": "float32", "fp16": "float16", "half": "float16", "float": "float32",
                  "double": "float64", "fp64": "float64", "bf16": "bfloat16"}


def canonical_dtype(dtype: str) -> str:
    """``"torch.float16"``, ``"fp16"``, ``"half"`` -> ``"float16"``; unknown names raise."""
    name = str(dtype).removeprefix("torch.").lower()
    name = _DTYPE_ALIASES.get(name, name)
    if name not in ITEMSIZE:
        raise InvalidArgumentError(f"unknown dtype {dtype!r}; use one of {', '.join(ITEMSIZE)}")
    return name


def itemsize_of(dtype: str) -> int:
    """Bytes per element of a dtype name (``"float32"``, ``"torch.float16"``, ``"fp16"``)."""
    return ITEMSIZE[canonical_dtype(dtype)]


def check_itemsize(itemsize: int) -> int:
    return check_positive(itemsize, "itemsize (bytes per element)")


def as_tuple(value: int | Sequence[int], dims: int, name: str, *, minimum: int = 1) -> Shape:
    """Expand an int to ``dims`` copies, or check a sequence has ``dims`` entries >= minimum."""
    if isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be an integer or a tuple, got {value!r}")
    items: tuple[int, ...]
    if isinstance(value, int):
        items = (value,) * dims
    else:
        try:
            items = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise InvalidArgumentError(
                f"{name} must be an integer or a tuple of {dims} integers, got {value!r}"
            ) from None
        if len(items) == 1:
            items = items * dims
        if len(items) != dims:
            raise InvalidArgumentError(
                f"{name} must have {dims} entries for a {dims}-d op, got {items}"
            )
    if any(v < minimum for v in items):
        raise InvalidArgumentError(f"{name} must be >= {minimum}, got {items}")
    return items


def broadcast_shapes(*shapes: Sequence[int]) -> Shape:
    """NumPy/PyTorch broadcasting of several shapes (size-1 dims stretch; a mismatch raises)."""
    rank = max((len(s) for s in shapes), default=0)
    out: list[int] = []
    for i in range(rank):
        size = 1
        for s in shapes:
            j = len(s) - rank + i
            if j < 0:
                continue
            d = int(s[j])
            if d == 1 or d == size:
                continue
            if size != 1:
                raise InvalidArgumentError(
                    f"shapes {[tuple(s) for s in shapes]} cannot be broadcast together "
                    f"(dimension {i - rank}: {size} vs {d})"
                )
            size = d
        out.append(size)
    return tuple(out)


__all__ = [
    "COST_FIELDS",
    "INDEX_ITEMSIZE",
    "ITEMSIZE",
    "Cost",
    "OpCost",
    "Shape",
    "as_tuple",
    "broadcast_shapes",
    "canonical_dtype",
    "check_itemsize",
    "check_positive",
    "check_shape",
    "itemsize_of",
    "make_cost",
    "numel",
]
