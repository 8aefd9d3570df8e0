"""Elementwise ops: activations, binary arithmetic with broadcasting, the SE gate, softmax,
selects (where, masked_fill).

Every elementwise op reads each operand once and writes its output once (no fusion). Flops per
output element follow :data:`ACTIVATION_FLOPS`; transcendental functions (exp, tanh, erf,
sqrt) count as one flop each, like an add. The table is the single source for these rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from convcost.errors import InvalidArgumentError
from convcost.formulas._core import (
    OpCost,
    broadcast_shapes,
    check_itemsize,
    check_shape,
    make_cost,
)

#: flops per output element, with the rule that gives the number
ACTIVATION_FLOPS: dict[str, tuple[int, str]] = {
    "identity": (0, "no arithmetic"),
    "relu": (1, "max(x, 0)"),
    "relu6": (2, "min(max(x, 0), 6)"),
    "leaky_relu": (2, "compare, multiply"),
    "elu": (3, "compare, exp, multiply-subtract"),
    "prelu": (2, "compare, multiply"),
    "hardtanh": (2, "min, max"),
    "hardsigmoid": (4, "relu6(x + 3) / 6: add, min, max, multiply"),
    "hardswish": (5, "x · hardsigmoid(x): hardsigmoid + multiply"),
    "sigmoid": (4, "1 / (1 + exp(-x)): negate, exp, add, divide"),
    "silu": (5, "x · sigmoid(x): sigmoid + multiply"),
    "tanh": (1, "tanh"),
    "gelu": (5, "0.5·x·(1 + erf(x/√2)): scale, erf, add, multiply, multiply"),
    "gelu_tanh": (9, "0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))): 9 ops"),
    "mish": (5, "x · tanh(softplus(x)): exp, add, log, tanh, multiply"),
    "softplus": (3, "log(1 + exp(x)): exp, add, log"),
    "softmax": (5, "max-reduce, subtract, exp, sum, divide"),
    "log_softmax": (5, "max-reduce, subtract, exp, sum, log-subtract"),
    "dropout": (0, "identity at inference"),
}


def activation(
    shape: Sequence[int], kind: str = "relu", *, inplace: bool = False, itemsize: int = 4
) -> OpCost:
    """Cost of an elementwise activation (or softmax along one dim) on a tensor of ``shape``.

    ``inplace`` does not change the traffic: the input is read and the result written, to the
    same buffer. ``identity`` and ``dropout`` (at inference) cost nothing and move nothing.

    >>> activation((1, 32, 112, 112), "relu6").flops   # 2 per element
    802816
    """
    if kind not in ACTIVATION_FLOPS:
        raise InvalidArgumentError(
            f"unknown activation {kind!r}; known: {', '.join(sorted(ACTIVATION_FLOPS))}"
        )
    shp = check_shape(shape, "input shape")
    per_element = ACTIVATION_FLOPS[kind][0]
    n = math.prod(shp)
    if per_element == 0:
        return make_cost(shp, read_elems=0, write_elems=0, itemsize=check_itemsize(itemsize))
    return make_cost(
        shp, extra_flops=per_element * n, read_elems=n, itemsize=check_itemsize(itemsize)
    )


def unary(shape: Sequence[int], flops_per_element: int = 1, *, itemsize: int = 4,
          out_itemsize: int | None = None) -> OpCost:
    """A unary math function (exp, log, sqrt, abs, neg, clamp, ...): ``flops_per_element``
    per element (1 by the rule above), one read and one write of the tensor (written at
    ``out_itemsize`` when it differs: ``abs`` of complex64 reads 8 bytes, writes 4).

    >>> unary((2, 8), 1).flops, unary((2, 8), 1).mem_bytes
    (16, 128)
    """
    shp = check_shape(shape, "input shape")
    n = math.prod(shp)
    return make_cost(shp, extra_flops=flops_per_element * n, read_elems=n,
                     itemsize=check_itemsize(itemsize), out_itemsize=out_itemsize)


def binary(
    a_shape: Sequence[int], b_shape: Sequence[int] = (), *, itemsize: int = 4,
    b_itemsize: int | None = None, out_itemsize: int | None = None,
) -> OpCost:
    """Cost of ``a (+ - * / max min pow ...) b`` with broadcasting: one flop per output element.

    A scalar operand is shape ``()`` and reads one element. Each operand is read once (a
    broadcast operand is not re-read per output). ``itemsize`` is ``a``'s element size;
    ``b_itemsize`` and ``out_itemsize`` default to it (a comparison reads float32 operands
    and writes 1-byte booleans).

    >>> binary((1, 64, 56, 56), (1, 64, 56, 56)).flops   # residual add: 64·56·56
    200704
    >>> c = binary((1, 1000), (), out_itemsize=1)   # x > 0: 1000 floats read, 1000 bools out
    >>> c.mem_read_bytes, c.mem_write_bytes
    (4004, 1000)
    """
    a = tuple(check_shape(a_shape, "first operand shape"))
    b = tuple(check_shape(b_shape, "second operand shape"))
    out = broadcast_shapes(a, b)
    n = math.prod(out)
    isz = check_itemsize(itemsize)
    b_isz = isz if b_itemsize is None else check_itemsize(b_itemsize)
    return make_cost(
        out,
        extra_flops=n,
        read_elems=math.prod(a),
        itemsize=isz,
        extra_read_bytes=math.prod(b) * b_isz,
        out_itemsize=out_itemsize,
    )


def gate(x_shape: Sequence[int], gate_shape: Sequence[int], *, itemsize: int = 4) -> OpCost:
    """The Squeeze-and-Excitation gate multiply ``x · s`` with ``s`` of shape (N, C, 1, 1).

    Same rule as :func:`binary`; the gate must broadcast to ``x`` without growing it.

    >>> gate((1, 96, 14, 14), (1, 96, 1, 1)).mem_read_bytes   # (96·14·14 + 96) · 4
    75648
    """
    x = check_shape(x_shape, "input shape")
    g = check_shape(gate_shape, "gate shape")
    if broadcast_shapes(x, g) != x:
        raise InvalidArgumentError(
            f"gate of shape {g} does not broadcast onto the input {x} without growing it; "
            "an SE gate is (N, C, 1, 1)"
        )
    return binary(x, g, itemsize=itemsize)


def select(
    cond_shape: Sequence[int], a_shape: Sequence[int] = (), b_shape: Sequence[int] = (),
    *, cond_itemsize: int = 1, itemsize: int = 4,
) -> OpCost:
    """``torch.where(cond, a, b)`` and ``x.masked_fill(mask, value)`` (= ``where(mask, value,
    x)``): a choice per output element, no arithmetic (0 flops). Reads the condition
    (``cond_itemsize`` bytes per element: 1 for a bool mask) and each operand once (a scalar is
    shape ``()``, one element), writes the broadcast output.

    >>> select((1, 1, 8, 8), (), (2, 4, 8, 8)).mem_read_bytes   # mask 64·1 + 1·4 + 512·4
    2116
    """
    cond = check_shape(cond_shape, "condition shape")
    a = check_shape(a_shape, "first operand shape")
    b = check_shape(b_shape, "second operand shape")
    return make_cost(
        broadcast_shapes(cond, a, b), read_elems=math.prod(a) + math.prod(b),
        itemsize=check_itemsize(itemsize),
        extra_read_bytes=math.prod(cond) * check_itemsize(cond_itemsize),
    )


__all__ = ["ACTIVATION_FLOPS", "activation", "binary", "gate", "select", "unary"]
