"""Counters of the backward pass: the aten ops autograd runs for ``loss.backward()``, and the
few ops only a training forward runs (dropout's random mask).

Registered into the default registry by :func:`register_backward`, which
:mod:`convcost.engine.counters` calls with its own ``register`` (the zero-size rule) before it
builds :data:`~convcost.engine.counters.REGISTRY`; this module does not import that one.

A backward op's label is its forward op's followed by ``_backward`` (``conv2d_backward``,
``batch_norm_backward``, ``relu_backward``), in the forward op's family. The products of the
backward pass (``mm``, ``addmm``, ``bmm`` of ``nn.Linear`` and matmuls) are the forward
counters' own: a product is a product. Every rule, in elements of the tensor the op writes
(``n``) unless it says otherwise:

* **convolution** (``convolution_backward``, with its ``output_mask``): the input gradient is a
  transposed convolution of the output gradient with the weight, and the weight gradient a
  correlation of the input with the output gradient: each has the forward's multiply-adds
  (``N·C_out·(C_in/g)·ΠK·ΠO``). The bias gradient sums the output gradient: one add per
  element of it. Bytes: each gradient is its own pass (no fusion): the input gradient reads
  the output gradient and the weight, the weight gradient the output gradient and the input,
  the bias gradient the output gradient; each writes its gradient.
* **activations** (``threshold_backward`` = ReLU's, ``hardtanh_backward``, ``sigmoid_backward``,
  ...): the derivative, by :data:`ACTIVATION_BACKWARD_FLOPS` per element, times the incoming
  gradient; reads the gradient and the saved input (or output), writes the gradient.
* **softmax** (``_softmax_backward_data``): ``y·(g − Σ g·y)``: 4 per element; log-softmax
  (``_log_softmax_backward_data``): ``g − exp(y)·Σ g``: 4 per element.
* **normalisation** (``native_batch_norm_backward`` in training, ``native_layer_norm_backward``,
  ``native_group_norm_backward``): ``x̂ = (x − μ)·σ⁻¹`` is recomputed; the sums ``Σ g`` (1 per
  element: the bias gradient) and ``Σ g·x̂`` (4: the weight gradient) are taken when a gradient
  needs them, and the input gradient ``(g − Σg/M − x̂·Σgx̂/M)·w·σ⁻¹`` is 6 per element (x̂ again,
  the two subtractions, two multiplies). BatchNorm in eval mode: the input gradient is
  ``g·w·σ⁻¹``, 1 per element. Bytes: the gradient and the input per pass that reads them.
* **pooling**: max pooling (and adaptive max pooling) adds each output gradient into the input
  position its index names: one add per output element, the input gradient zeroed and written
  once; average pooling divides each output gradient by its window and adds it to every
  position of the window: ``n_out·(1 + ΠK)``; adaptive average pooling: one per input element.
* **resampling** (``upsample_*_backward``): each output gradient is spread back with the
  forward's weights: the forward's flops per output element. ``grid_sampler_2d_backward``
  (``F.grid_sample``): the same for the input gradient, and as many again for the grid's
  gradient when it is asked (the weights' derivatives along each coordinate); reads the
  output gradient, the input and the grid, writes the gradients asked.
* **glu** (``glu_backward``, ``a·σ(b)``): per output element ``σ(b)`` recomputed, ``g·σ(b)``
  for ``a``'s gradient and ``g·a·σ(b)·(1 − σ(b))`` for ``b``'s: 6; reads the gradient and
  the input, writes the input's gradient.
* **attention** (fused SDPA backward, flash or efficient, CPU or GPU): the five products of a
  recomputing backward (``Q·Kᵀ`` again, ``dO·Vᵀ``, ``Pᵀ·dO``, ``dS·K``, ``dSᵀ·Q``): ``B·H_q·L·S·(3E
  + 2Eᵥ)`` multiply-adds (PyTorch's ``sdpa_backward_flop_count``), and per score element 5
  flops (scale, subtract the log-sum-exp, exp, subtract ``D = Σ dO·O``, multiply), plus ``D``:
  2 per output element.
* **movement**: ``embedding_dense_backward`` adds each output-gradient row into its weight row
  (one add per element of the output gradient; the weight gradient zeroed and written once);
  ``select_backward`` / ``slice_backward`` write a zeroed tensor of the input's size and copy
  the gradient into it (no arithmetic); padding backward adds the border back (one add per
  element of the gradient).
* **dropout** in training: ``native_dropout`` draws a number per element, compares it with
  ``p`` and scales what it keeps (3 per element; writes the output and a bool mask);
  ``native_dropout_backward`` multiplies by the mask and the scale (2); ``bernoulli_`` (the
  mask of ``F.dropout`` on the meta device) draws and compares (2), reading nothing; ``rand``,
  ``randn`` and their in-place forms (stochastic depth's masks) one draw per element.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from convcost import formulas as f
from convcost.engine.registry import Counted, Counter, Family
from convcost.formulas import OpCost
from convcost.formulas._core import make_cost
from convcost.graph import Node, TensorInfo

Register = Callable[..., Callable[[Counter], Counter]]
"""``convcost.engine.counters.register``: ``register(*keys, family=..., labels=...)(fn)``."""

_COUNTERS: list[tuple[tuple[str, ...], Family, tuple[str, ...], Counter]] = []


def _backward(*keys: str, family: Family, labels: Iterable[str]) -> Callable[[Counter], Counter]:
    """Collect ``fn`` for :func:`register_backward`."""
    declared = tuple(labels)

    def deco(fn: Counter) -> Counter:
        _COUNTERS.append((keys, family, declared, fn))
        return fn

    return deco


def register_backward(register: Register) -> None:
    """Register every counter of this module through ``register`` (the default registry's)."""
    for keys, family, labels, fn in _COUNTERS:
        register(*keys, family=family, labels=labels)(fn)


def _shape(x: Any) -> tuple[int, ...]:
    """A tensor argument's shape, ``()`` for a Python scalar (the forward counters' too)."""
    return x.shape if isinstance(x, TensorInfo) else ()


def _mask(node: Node, i: int, name: str) -> tuple[bool, bool, bool]:
    """An op's 3-entry ``output_mask`` (which gradients it computes); all when absent."""
    value = node.arg(i, name)
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        return True, True, True
    return bool(value[0]), bool(value[1]), bool(value[2])


def _elementwise(shape: tuple[int, ...], per_element: int, reads: int, isz: int,
                 extra_read_bytes: int = 0) -> OpCost:
    """``per_element`` flops per element of ``shape``, ``reads`` tensors of that shape read,
    one written."""
    n = math.prod(shape)
    return make_cost(shape, extra_flops=per_element * n, read_elems=reads * n, itemsize=isz,
                     extra_read_bytes=extra_read_bytes)


# --- convolution --------------------------------------------------------------------------------

_DIMS = (1, 2, 3)
"""The spatial dims of 1-d..3-d ops (the forward counters' too)."""


@_backward("aten.convolution_backward", family=Family.CONV,
           labels=(*(f"conv{d}d_backward" for d in _DIMS),
                   *(f"conv_transpose{d}d_backward" for d in _DIMS)))
def _conv_backward(node: Node) -> Counted:
    # (grad_output, input, weight, bias_sizes, stride, padding, dilation, transposed,
    #  output_padding, groups, output_mask)
    g, x, w = node.args[0], node.args[1], node.args[2]
    stride, padding, dilation = node.args[4], node.args[5], node.args[6]
    transposed, output_padding, groups = bool(node.args[7]), node.args[8], node.args[9]
    grad_in, grad_w, grad_b = _mask(node, 10, "output_mask")
    isz = node.itemsize
    dims = len(x.shape) - 2
    kernel = tuple(w.shape[2:])
    if transposed:
        out_channels = w.shape[1] * groups
        fwd = f.conv_transpose(x.shape, out_channels, kernel, stride, padding, output_padding,
                               groups, False, dilation, itemsize=isz)
        label = f"conv_transpose{dims}d_backward"
    else:
        out_channels = w.shape[0]
        fwd = f.conv(x.shape, out_channels, kernel, stride, padding, dilation, groups, False,
                     itemsize=isz)
        label = f"conv{dims}d_backward"
    n_g, n_x, n_w = math.prod(g.shape), math.prod(x.shape), math.prod(w.shape)
    madds = fwd.madds * (int(grad_in) + int(grad_w))
    flops = 2 * madds + (n_g if grad_b else 0)
    read = ((n_g + n_w) if grad_in else 0) + ((n_g + n_x) if grad_w else 0) + (
        n_g if grad_b else 0)
    write = (n_x if grad_in else 0) + (n_w if grad_w else 0) + (out_channels if grad_b else 0)
    out = x.shape if grad_in else w.shape if grad_w else (out_channels,)
    cost = OpCost(0, madds, flops, read * isz, write * isz, tuple(out))
    return Counted(label, cost, f.conv_kind(x.shape[1], out_channels, kernel, groups), kernel,
                   groups)


# --- activations and softmax --------------------------------------------------------------------

ACTIVATION_BACKWARD_FLOPS: dict[str, tuple[int, str]] = {
    "relu": (1, "select g where the saved value is > 0"),
    "relu6": (2, "select g inside (0, 6): two compares"),
    "hardtanh": (2, "select g inside (min, max): two compares"),
    "leaky_relu": (2, "compare, multiply by the slope"),
    "elu": (3, "compare, the derivative from the saved value (exp or the output), multiply"),
    "hardsigmoid": (3, "two compares, multiply by 1/6"),
    "hardswish": (5, "two compares, (2x + 3)/6: multiply, add, multiply; times g"),
    "sigmoid": (3, "g·y·(1 − y): subtract, multiply, multiply"),
    "tanh": (3, "g·(1 − y²): multiply, subtract, multiply"),
    "silu": (9, "σ(x) (4), then g·σ·(1 + x·(1 − σ)): subtract, multiply, add, multiply, "
                "multiply"),
    "gelu": (11, "Φ(x) (scale, erf, add, multiply: 4), φ(x) (square, scale, exp, scale: 4), "
                 "g·(Φ + x·φ): multiply, add, multiply"),
    "gelu_tanh": (15, "the tanh form's inner polynomial and tanh (7), its derivative (6), "
                      "times g with the product rule (2)"),
    "mish": (14, "softplus (3), tanh (1), σ (4), g·(t + x·σ·(1 − t²)): 6"),
    "softplus": (6, "g·σ(βx): multiply, σ (4), multiply"),
    "prelu": (4, "input gradient: compare, multiply; weight gradient: multiply, accumulate"),
}
"""Flops per element of an activation's backward (the derivative times the incoming
gradient), with the rule that gives the number."""

_ACT_BACKWARD = {
    "aten.threshold_backward": "relu",
    "aten.leaky_relu_backward": "leaky_relu",
    "aten.elu_backward": "elu",
    "aten.hardsigmoid_backward": "hardsigmoid",
    "aten.hardswish_backward": "hardswish",
    "aten.sigmoid_backward": "sigmoid",
    "aten.tanh_backward": "tanh",
    "aten.silu_backward": "silu",
    "aten.mish_backward": "mish",
    "aten.softplus_backward": "softplus",
    "aten._prelu_kernel_backward": "prelu",
}


@_backward(*_ACT_BACKWARD, "aten.hardtanh_backward", "aten.gelu_backward",
           family=Family.ACTIVATION,
           labels=(f"{k}_backward" for k in ACTIVATION_BACKWARD_FLOPS if k != "gelu_tanh"))
def _activation_backward(node: Node) -> Counted:
    g = node.args[0]
    if node.op == "aten.hardtanh_backward":  # (grad, self, min_val, max_val)
        lo, hi = node.arg(2, "min_val", -1.0), node.arg(3, "max_val", 1.0)
        kind = "relu6" if (lo, hi) == (0.0, 6.0) else "hardtanh"
        label = f"{kind}_backward"
    elif node.op == "aten.gelu_backward":  # (grad, self, approximate)
        approximate = node.arg(2, "approximate")
        kind, label = ("gelu_tanh" if approximate == "tanh" else "gelu"), "gelu_backward"
    else:
        kind = _ACT_BACKWARD[node.op]
        label = f"{kind}_backward"
    cost = _elementwise(g.shape, ACTIVATION_BACKWARD_FLOPS[kind][0], 2, node.itemsize)
    if kind == "prelu":  # (grad, self, weight): the weight gradient is written too
        w = node.args[2]
        cost = OpCost(0, 0, cost.flops, cost.mem_read_bytes + w.numel * node.itemsize,
                      cost.mem_write_bytes + w.numel * node.itemsize, cost.out_shape)
    return Counted(label, cost)


@_backward("aten._softmax_backward_data", "aten._log_softmax_backward_data",
           family=Family.SOFTMAX, labels=("softmax_backward", "log_softmax_backward"))
def _softmax_backward(node: Node) -> Counted:
    g = node.args[0]  # (grad_output, output, dim, input_dtype)
    label = "log_softmax_backward" if "log" in node.op else "softmax_backward"
    return Counted(label, _elementwise(g.shape, 4, 2, node.itemsize))


# --- normalisation ------------------------------------------------------------------------------


def _norm_backward(g: TensorInfo, masks: tuple[bool, bool, bool], groups: int, elems: int,
                   weight: Any, bias: Any, training: bool, isz: int) -> OpCost:
    """The rule of the module docstring: ``Σ g`` for the bias gradient (or a training input
    gradient), ``Σ g·x̂`` for the weight gradient (or a training input gradient), then the
    input gradient. ``elems``: the size of the weight and of the bias, when the norm has them
    (a weight and bias gradient only then)."""
    has_w = isinstance(weight, TensorInfo)
    grad_in = masks[0]
    grad_w = masks[1] and has_w
    grad_b = masks[2] and isinstance(bias, TensorInfo)
    params = elems if has_w else 0
    n = g.numel
    sum_g = grad_b or (grad_in and training)
    sum_gx = grad_w or (grad_in and training)
    flops = (n if sum_g else 0) + (4 * n if sum_gx else 0)
    read = (n if sum_g else 0) + (2 * n if sum_gx else 0)
    write = 0
    if grad_in:
        flops += 6 * n if training else n
        read += 2 * n if training else n
        write += n
    write += (params if grad_w else 0) + (params if grad_b else 0)
    read += 2 * groups + params  # the saved statistics and the weight
    return OpCost(0, 0, flops, read * isz, write * isz, g.shape)


@_backward("aten.native_batch_norm_backward", family=Family.NORM,
           labels=("batch_norm_backward",))
def _batch_norm_backward(node: Node) -> Counted:
    # (grad_out, input, weight, running_mean, running_var, save_mean, save_invstd, train, eps,
    #  output_mask); no bias argument: an affine norm has a bias where it has a weight
    g, w = node.args[0], node.arg(2, "weight")
    c = g.shape[1] if len(g.shape) > 1 else 1
    cost = _norm_backward(g, _mask(node, 9, "output_mask"), c, c, w, w,
                          bool(node.arg(7, "train", True)), node.itemsize)
    return Counted("batch_norm_backward", cost)


@_backward("aten.native_layer_norm_backward", family=Family.NORM,
           labels=("layer_norm_backward",))
def _layer_norm_backward(node: Node) -> Counted:
    # (grad_out, input, normalized_shape, mean, rstd, weight, bias, output_mask)
    g, normalized = node.args[0], tuple(node.args[2])
    norm = math.prod(normalized)
    rows = g.numel // norm if norm else 0
    cost = _norm_backward(g, _mask(node, 7, "output_mask"), rows, norm, node.arg(5, "weight"),
                          node.arg(6, "bias"), True, node.itemsize)
    return Counted("layer_norm_backward", cost)


@_backward("aten.native_group_norm_backward", family=Family.NORM,
           labels=("group_norm_backward",))
def _group_norm_backward(node: Node) -> Counted:
    # (grad_out, input, mean, rstd, weight, N, C, HxW, group, output_mask); a bias with the weight
    g, w = node.args[0], node.arg(4, "weight")
    n, c, group = node.args[5], node.args[6], node.args[8]
    cost = _norm_backward(g, _mask(node, 9, "output_mask"), n * group, c, w, w, True,
                          node.itemsize)
    return Counted("group_norm_backward", cost)


# --- pooling and resampling ---------------------------------------------------------------------


def _scatter_back(g: TensorInfo, x: TensorInfo, flops: int, isz: int,
                  index_bytes: int = 0) -> OpCost:
    """An output gradient spread back onto a zeroed input gradient: reads the output gradient
    (and its indices), writes the input gradient once."""
    return OpCost(0, 0, flops, g.numel * isz + index_bytes, x.numel * isz, x.shape)


_POOL_DIMS = (2, 3)
"""aten has no 1-d pooling backward: a 1-d pool runs as a 2-d one (its backward too)."""


@_backward(*(f"aten.max_pool{d}d_with_indices_backward" for d in _POOL_DIMS),
           *(f"aten.adaptive_max_pool{d}d_backward" for d in _POOL_DIMS),
           family=Family.POOL,
           labels=(*(f"max_pool{d}d_backward" for d in _POOL_DIMS),
                   *(f"adaptive_max_pool{d}d_backward" for d in _POOL_DIMS)))
def _max_pool_backward(node: Node) -> Counted:
    # (grad_output, self, kernel, stride, padding, dilation, ceil_mode, indices) or
    # (grad_output, self, indices)
    g, x = node.args[0], node.args[1]
    idx = node.args[-1] if isinstance(node.args[-1], TensorInfo) else None
    dims = len(x.shape) - 2
    label = (f"adaptive_max_pool{dims}d_backward" if "adaptive" in node.op
             else f"max_pool{dims}d_backward")
    cost = _scatter_back(g, x, g.numel, node.itemsize,
                         idx.numel * idx.itemsize if idx is not None else 0)
    return Counted(label, cost)


@_backward("aten.avg_pool2d_backward", "aten.avg_pool3d_backward", family=Family.POOL,
           labels=(f"avg_pool{d}d_backward" for d in _POOL_DIMS))
def _avg_pool_backward(node: Node) -> Counted:
    # (grad_output, self, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor)
    g, x, kernel = node.args[0], node.args[1], node.args[2]
    dims = len(x.shape) - 2
    k = list(kernel) if isinstance(kernel, (list, tuple)) else [kernel]
    window = math.prod(k) if len(k) == dims else k[0] ** dims
    cost = _scatter_back(g, x, g.numel * (1 + window), node.itemsize)
    return Counted(f"avg_pool{dims}d_backward", cost)


@_backward("aten._adaptive_avg_pool2d_backward", "aten._adaptive_avg_pool3d_backward",
           family=Family.ADAPTIVE_POOL,
           labels=(f"adaptive_avg_pool{d}d_backward" for d in _POOL_DIMS))
def _adaptive_avg_pool_backward(node: Node) -> Counted:
    g, x = node.args[0], node.args[1]  # (grad_output, self)
    return Counted(f"adaptive_avg_pool{len(x.shape) - 2}d_backward",
                   _scatter_back(g, x, x.numel, node.itemsize))


_UPSAMPLE_BACKWARD = {
    "aten.upsample_nearest1d_backward": "nearest", "aten.upsample_nearest2d_backward": "nearest",
    "aten.upsample_nearest3d_backward": "nearest",
    "aten._upsample_nearest_exact1d_backward": "nearest-exact",
    "aten._upsample_nearest_exact2d_backward": "nearest-exact",
    "aten._upsample_nearest_exact3d_backward": "nearest-exact",
    "aten.upsample_linear1d_backward": "linear", "aten.upsample_bilinear2d_backward": "bilinear",
    "aten.upsample_trilinear3d_backward": "trilinear",
    "aten.upsample_bicubic2d_backward": "bicubic",
}


@_backward(*_UPSAMPLE_BACKWARD, family=Family.RESAMPLE, labels=("interpolate_backward",))
def _upsample_backward(node: Node) -> Counted:
    # (grad_output, output_size, input_size, ...)
    g, in_size = node.args[0], tuple(node.args[2])
    per_output = f.UPSAMPLE_FLOPS_PER_OUTPUT[_UPSAMPLE_BACKWARD[node.op]](len(in_size) - 2)
    cost = OpCost(0, 0, g.numel * max(per_output, 1), g.numel * node.itemsize,
                  math.prod(in_size) * node.itemsize, in_size)
    return Counted("interpolate_backward", cost)


@_backward("aten.grid_sampler_2d_backward", "aten.grid_sampler_3d_backward",
           family=Family.RESAMPLE, labels=("grid_sample_backward",))
def _grid_sample_backward(node: Node) -> Counted:
    # (grad_output, input, grid, interpolation_mode, padding_mode, align_corners, output_mask)
    g, x, grid = node.args[0], node.args[1], node.args[2]
    per = f.grid_sample_flops(node.arg(3, "interpolation_mode", 0), len(x.shape) - 2)
    mask = node.arg(6, "output_mask", [True, True]) or [True, True]
    asked = [t for t, want in zip((x, grid), mask, strict=False) if want]
    flops = g.numel * per * len(asked)
    read = (g.numel + x.numel + grid.numel) * node.itemsize
    return Counted("grid_sample_backward",
                   OpCost(0, 0, flops, read, sum(t.numel for t in asked) * node.itemsize,
                          x.shape))


@_backward("aten.glu_backward", family=Family.ELEMENTWISE, labels=("glu_backward",))
def _glu_backward(node: Node) -> Counted:
    g, x = node.args[0], node.args[1]  # (grad_output, self, dim)
    return Counted("glu_backward", OpCost(0, 0, 6 * g.numel, (g.numel + x.numel) * node.itemsize,
                                          x.numel * node.itemsize, x.shape))


# --- attention ----------------------------------------------------------------------------------


@_backward("aten._scaled_dot_product_flash_attention_for_cpu_backward",
           "aten._scaled_dot_product_flash_attention_backward",
           "aten._scaled_dot_product_efficient_attention_backward",
           "aten._scaled_dot_product_cudnn_attention_backward",
           family=Family.ATTENTION, labels=("attention_backward",))
def _attention_backward(node: Node) -> Counted:
    g, q, k, v = node.args[0], node.args[1], node.args[2], node.args[3]  # (grad_out, q, k, v..)
    *lead, lq, e = q.shape
    s, ev = k.shape[-2], v.shape[-1]
    heads = math.prod(lead)  # batch × query heads (key/value heads shared: GQA)
    madds = heads * lq * s * (3 * e + 2 * ev)
    scores = heads * lq * s
    flops = 2 * madds + 5 * scores + 2 * heads * lq * ev
    isz = node.itemsize
    read = (2 * g.numel + q.numel + k.numel + v.numel + heads * lq) * isz  # dO, O, Q, K, V, lse
    write = (q.numel + k.numel + v.numel) * isz
    return Counted("attention_backward", OpCost(0, madds, flops, read, write, q.shape))


# --- movement -----------------------------------------------------------------------------------


@_backward("aten.embedding_dense_backward", family=Family.MOVEMENT,
           labels=("embedding_backward",))
def _embedding_backward(node: Node) -> Counted:
    # (grad_output, indices, num_weights, padding_idx, scale_grad_by_freq)
    g, idx, rows = node.args[0], node.args[1], node.args[2]
    dim = g.shape[-1] if g.shape else 1
    isz = node.itemsize
    cost = OpCost(0, 0, g.numel, g.numel * isz + idx.numel * idx.itemsize, rows * dim * isz,
                  (rows, dim))
    return Counted("embedding_backward", cost)


@_backward("aten.select_backward", "aten.slice_backward", family=Family.MOVEMENT,
           labels=("select_backward", "slice_backward"))
def _index_backward(node: Node) -> Counted:
    g, sizes = node.args[0], tuple(node.args[1])  # (grad_output, input_sizes, dim, ...)
    isz = node.itemsize
    cost = OpCost(0, 0, 0, g.numel * isz, math.prod(sizes) * isz, sizes)
    return Counted(node.op.split(".")[-1], cost)


_PAD_BACKWARD = tuple(f"aten.{kind}_pad{d}d_backward" for kind in ("reflection", "replication")
                      for d in _DIMS)


@_backward(*_PAD_BACKWARD, family=Family.MOVEMENT, labels=("pad_backward",))
def _pad_backward(node: Node) -> Counted:
    g, x = node.args[0], node.args[1]  # (grad_output, self, padding)
    return Counted("pad_backward", _scatter_back(g, x, g.numel, node.itemsize))


# --- dropout in training ------------------------------------------------------------------------


@_backward("aten.native_dropout", family=Family.ELEMENTWISE, labels=("dropout",))
def _dropout(node: Node) -> Counted:
    x = node.args[0]  # (input, p, train): the output and a bool mask
    train = node.arg(2, "train", True)
    if train is False:
        return Counted("dropout", OpCost(0, 0, 0, 0, 0, x.shape))
    cost = make_cost(x.shape, extra_flops=3 * x.numel, read_elems=x.numel,
                     itemsize=x.itemsize, extra_write_bytes=x.numel)
    return Counted("dropout", cost)


@_backward("aten.native_dropout_backward", family=Family.ELEMENTWISE,
           labels=("dropout_backward",))
def _dropout_backward(node: Node) -> Counted:
    g, mask = node.args[0], node.args[1]  # (grad_output, mask, scale)
    return Counted("dropout_backward", _elementwise(g.shape, 2, 1, node.itemsize,
                                                    mask.numel * mask.itemsize))


@_backward("aten.bernoulli", family=Family.ELEMENTWISE, labels=("bernoulli",))
def _bernoulli(node: Node) -> Counted:
    x = node.args[0]  # bernoulli_(self, p): self filled with 0/1 draws
    p = node.arg(1, "p")
    read = p.numel * p.itemsize if isinstance(p, TensorInfo) else 0
    cost = make_cost(x.shape, extra_flops=2 * x.numel, read_elems=0, itemsize=x.itemsize,
                     extra_read_bytes=read)
    return Counted("bernoulli", cost)


_RANDOM = ("aten.rand", "aten.rand_like", "aten.randn", "aten.randn_like", "aten.uniform",
           "aten.normal")


@_backward(*_RANDOM, family=Family.ELEMENTWISE, labels=("random",))
def _random(node: Node) -> Counted:
    """Random numbers (stochastic depth's and drop-connect's masks in training): one draw per
    element written, nothing read."""
    out = node.out_shape if node.outputs else _shape(node.args[0])
    n = math.prod(out)
    return Counted("random", make_cost(out, extra_flops=n, read_elems=0, itemsize=node.itemsize))


__all__ = ["ACTIVATION_BACKWARD_FLOPS", "register_backward"]
