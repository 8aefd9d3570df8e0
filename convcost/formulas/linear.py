"""Linear layers and tensor contractions: ``nn.Linear``, ``matmul``/``@``, ``bmm``, ``einsum``.

Counting rules:

* **linear**: params ``in·out`` (+ ``out`` bias); madds ``rows · in · out`` where rows is the
  product of all leading dims; flops 2·madds + one add per output element with a bias.
* **matmul / bmm**: madds = (elements of the output) · (contracted size K); no params.
* **einsum**: contracted pairwise left to right (PyTorch's order when opt_einsum is absent);
  each pairwise step costs the product of the sizes of every index appearing in either
  operand, and a single-operand sum costs one add per input element it folds away.
* **memory**: read every operand (and the weights) once, write the output once.
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


def linear(
    in_shape: Sequence[int], out_features: int, bias: bool = True, *, itemsize: int = 4
) -> OpCost:
    """Cost of ``nn.Linear(in_shape[-1], out_features, bias)`` on ``in_shape`` = (..., in).

    >>> linear((1, 1024), 1000).params, linear((1, 1024), 1000).madds   # 1024·1000 + 1000
    (1025000, 1024000)
    """
    shape = check_shape(in_shape, "input shape", min_rank=1)
    check_positive(out_features, "out_features")
    in_features = shape[-1]
    out_shape = (*shape[:-1], out_features)
    rows = math.prod(shape[:-1])
    params = in_features * out_features + (out_features if bias else 0)
    return make_cost(
        out_shape,
        params=params,
        madds=rows * in_features * out_features,
        extra_flops=rows * out_features if bias else 0,
        read_elems=math.prod(shape) + params,
        itemsize=check_itemsize(itemsize),
    )


def matmul_shape(a_shape: Sequence[int], b_shape: Sequence[int]) -> tuple[tuple[int, ...], int]:
    """Output shape and contracted size K of ``torch.matmul`` (1-d promotion and broadcasting)."""
    a = check_shape(a_shape, "first operand shape", min_rank=1)
    b = check_shape(b_shape, "second operand shape", min_rank=1)
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise InvalidArgumentError(
            f"matmul shapes {a} and {b} do not match: {a2[-1]} (last dim of the first) must "
            f"equal {b2[-2]} (second-to-last dim of the second)"
        )
    batch = broadcast_shapes(a2[:-2], b2[:-2])
    out = (*batch, a2[-2], b2[-1])
    if len(a) == 1:
        out = (*out[:-2], out[-1])
    if len(b) == 1:
        out = out[:-1]
    return out, a2[-1]


def matmul(a_shape: Sequence[int], b_shape: Sequence[int], *, itemsize: int = 4) -> OpCost:
    """Cost of ``torch.matmul(a, b)`` / ``a @ b`` / ``torch.bmm`` / ``torch.mm``.

    >>> matmul((8, 128, 64), (8, 64, 128)).madds   # 8·128·128 outputs · K=64
    8388608
    """
    out, k = matmul_shape(a_shape, b_shape)
    return make_cost(
        out,
        madds=math.prod(out) * k,
        read_elems=math.prod(a_shape) + math.prod(b_shape),
        itemsize=check_itemsize(itemsize),
    )


def _parse_einsum(equation: str, n_operands: int) -> tuple[list[str], str]:
    eq = equation.replace(" ", "")
    if "..." in eq:
        raise InvalidArgumentError(
            "einsum with '...' is not supported by the formula; write the indices out"
        )
    lhs, arrow, rhs = eq.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != n_operands:
        raise InvalidArgumentError(
            f"einsum equation {equation!r} names {len(inputs)} operands, got {n_operands} shapes"
        )
    if not arrow:  # implicit output: indices that appear exactly once, sorted
        counts: dict[str, int] = {}
        for term in inputs:
            for ch in term:
                counts[ch] = counts.get(ch, 0) + 1
        rhs = "".join(sorted(ch for ch, c in counts.items() if c == 1))
    return inputs, rhs


def einsum(equation: str, *shapes: Sequence[int], itemsize: int = 4) -> OpCost:
    """Cost of ``torch.einsum(equation, *operands)`` given the operands' shapes.

    >>> einsum("bij,bjk->bik", (8, 128, 64), (8, 64, 128)).madds   # = matmul
    8388608
    """
    if not shapes:
        raise InvalidArgumentError("einsum needs at least one operand shape")
    inputs, output = _parse_einsum(equation, len(shapes))
    sizes: dict[str, int] = {}
    for term, shape in zip(inputs, shapes, strict=True):
        shp = check_shape(shape, f"einsum operand {term!r} shape")
        if len(term) != len(shp):
            raise InvalidArgumentError(
                f"einsum operand {term!r} has {len(term)} indices but shape {shp}"
            )
        for ch, d in zip(term, shp, strict=True):
            if sizes.get(ch, d) != d and 1 not in (d, sizes[ch]):
                raise InvalidArgumentError(
                    f"einsum index {ch!r} has sizes {sizes[ch]} and {d}; they must match"
                )
            sizes[ch] = max(d, sizes.get(ch, 1))
    madds = 0
    adds = 0
    current = inputs[0]
    if len(inputs) == 1:
        adds = math.prod(sizes[c] for c in current) - math.prod(sizes[c] for c in output)
    for idx, term in enumerate(inputs[1:], start=1):
        later = set("".join(inputs[idx + 1 :])) | set(output)
        union = "".join(dict.fromkeys(current + term))
        madds += math.prod(sizes[c] for c in union)
        current = "".join(c for c in union if c in later)
    out_shape = tuple(sizes[c] for c in output)
    return make_cost(
        out_shape,
        madds=madds,
        extra_flops=max(adds, 0),
        read_elems=sum(math.prod(s) for s in shapes),
        itemsize=check_itemsize(itemsize),
    )


__all__ = ["einsum", "linear", "matmul", "matmul_shape"]
