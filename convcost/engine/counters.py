"""Counters: aten op nodes to costs, through :mod:`convcost.formulas` only.

Each counter reads the node's argument shapes and attributes and calls the formula of its op
family, so the rule for an op lives in one place (the formula's docstring). The label is what
users see in the ``op`` column; each registration declares every label its counter returns and
their family (:class:`~convcost.engine.registry.Family`), and :data:`REGISTRY`, the default
registry, is built from these registrations once, at the end of this module.
"""

from __future__ import annotations

import math
from typing import Any

from convcost import formulas as f
from convcost.engine.registry import Counted, Family, RegistryBuilder
from convcost.errors import InvalidArgumentError
from convcost.formulas import OpCost
from convcost.formulas.pool import PoolKind
from convcost.graph import Node, TensorInfo

_TABLE = RegistryBuilder()
register = _TABLE.register


def _shape(x: Any) -> tuple[int, ...]:
    return x.shape if isinstance(x, TensorInfo) else ()


# --- convolution --------------------------------------------------------------------------------


_DIMS = (1, 2, 3)
CONV_TRANSPOSE_LABELS = frozenset(f"conv_transpose{d}d" for d in _DIMS)
"""Labels of transposed convolutions (the rest of :attr:`Family.CONV` is ``conv1d``..``3d``)."""


@register("aten.convolution", "aten._convolution", family=Family.CONV,
          labels=(*(f"conv{d}d" for d in _DIMS), *sorted(CONV_TRANSPOSE_LABELS)))
def _conv(node: Node) -> Counted:
    x, w, bias = node.args[0], node.args[1], node.arg(2, "bias")
    stride, padding, dilation = node.args[3], node.args[4], node.args[5]
    transposed, output_padding, groups = node.args[6], node.args[7], node.args[8]
    dims = len(x.shape) - 2
    has_bias = isinstance(bias, TensorInfo)
    isz = node.itemsize
    kernel = w.shape[2:]
    expected_in = w.shape[0] if transposed else w.shape[1] * groups
    if len(x.shape) != len(w.shape) or x.shape[1] != expected_in:
        raise InvalidArgumentError(
            f"convolution weight {w.shape} (groups={groups}) expects {expected_in} input "
            f"channels, got input {x.shape}")
    if transposed:
        out_channels = w.shape[1] * groups
        cost = f.conv_transpose(x.shape, out_channels, kernel, stride, padding, output_padding,
                                groups, has_bias, dilation, itemsize=isz)
        # the contract's four kinds; the op label says it is transposed
        return Counted(f"conv_transpose{dims}d", cost,
                       f.conv_kind(x.shape[1], out_channels, kernel, groups), tuple(kernel),
                       groups)
    out_channels = w.shape[0]
    cost = f.conv(x.shape, out_channels, kernel, stride, padding, dilation, groups, has_bias,
                  itemsize=isz)
    return Counted(f"conv{dims}d", cost, f.conv_kind(x.shape[1], out_channels, kernel, groups),
                   tuple(kernel), groups)


# --- linear / matmul ----------------------------------------------------------------------------


def _is_weight(t: Any) -> bool:
    return isinstance(t, TensorInfo) and t.param is not None


@register("aten.addmm", "aten.baddbmm", family=Family.LINEAR,
          labels=("linear", "addmm", "matmul"))
def _matmul_add(node: Node) -> Counted:
    """``base + a @ b``: the product, one add per output element, ``base`` read once."""
    base, a, b = node.args[0], node.args[1], node.args[2]
    mm = f.matmul(a.shape, b.shape, itemsize=node.itemsize)
    out = mm.out_shape
    cost = OpCost(
        params=0, madds=mm.madds, flops=mm.flops + math.prod(out),
        mem_read_bytes=mm.mem_read_bytes + base.numel * node.itemsize,
        mem_write_bytes=mm.mem_write_bytes, out_shape=out,
    )
    if _is_weight(b) or _is_weight(base):
        return Counted("linear", cost)
    return Counted("addmm" if node.op == "aten.addmm" else "matmul", cost)


@register("aten.mm", "aten.bmm", "aten.matmul", "aten.mv", "aten.dot", family=Family.LINEAR,
          labels=("linear", "matmul"))
def _mm(node: Node) -> Counted:
    a, b = node.args[0], node.args[1]
    label = "linear" if _is_weight(b) or _is_weight(a) else "matmul"
    return Counted(label, f.matmul(a.shape, b.shape, itemsize=node.itemsize))


@register(
    "aten._scaled_dot_product_flash_attention_for_cpu",
    "aten._scaled_dot_product_flash_attention",
    "aten._scaled_dot_product_efficient_attention",
    "aten._scaled_dot_product_cudnn_attention",
    family=Family.ATTENTION, labels=("attention",),
)
def _sdpa_fused(node: Node) -> Counted:
    q, k, v = node.args[0], node.args[1], node.args[2]
    mask = node.arg(3, "attn_bias") if "efficient" in node.op else node.kwargs.get("attn_mask")
    cost = f.attention(q.shape, k.shape, v.shape,
                       mask.shape if isinstance(mask, TensorInfo) else None,
                       fused=True, itemsize=node.itemsize)
    return Counted("attention", cost)


# --- normalisation ------------------------------------------------------------------------------


@register("aten.native_batch_norm", "aten._native_batch_norm_legit_no_training",
          "aten._native_batch_norm_legit", "aten.batch_norm", family=Family.NORM,
          labels=("batch_norm",))
def _batch_norm(node: Node) -> Counted:
    x, weight = node.args[0], node.arg(1, "weight")
    running_mean = node.arg(3, "running_mean")
    training = node.arg(5, "training", False) if node.op != (
        "aten._native_batch_norm_legit_no_training") else False
    if node.op == "aten._native_batch_norm_legit":
        training = node.arg(4, "training", True)
    tracked = isinstance(running_mean, TensorInfo) and not training
    for t in (weight, running_mean):
        if isinstance(t, TensorInfo) and t.shape != (x.shape[1],):
            raise InvalidArgumentError(f"batch norm over {x.shape[1]} channels got a "
                                       f"parameter of shape {t.shape}")
    cost = f.batch_norm(x.shape, affine=isinstance(weight, TensorInfo),
                        track_running_stats=tracked, itemsize=node.itemsize)
    return Counted("batch_norm", cost)


@register("aten.native_layer_norm", family=Family.NORM, labels=("layer_norm",))
def _layer_norm(node: Node) -> Counted:
    x, normalized, weight = node.args[0], node.args[1], node.arg(2, "weight")
    cost = f.layer_norm(x.shape, tuple(normalized), isinstance(weight, TensorInfo),
                        itemsize=node.itemsize)
    return Counted("layer_norm", cost)


@register("aten.native_group_norm", family=Family.NORM, labels=("group_norm",))
def _group_norm(node: Node) -> Counted:
    x, weight, groups = node.args[0], node.arg(1, "weight"), node.args[6]
    return Counted("group_norm", f.group_norm(x.shape, groups, isinstance(weight, TensorInfo),
                                              itemsize=node.itemsize))


# --- activations and other unary elementwise ops ------------------------------------------------

_UNARY = {
    "aten.relu": "relu",
    "aten.hardswish": "hardswish",
    "aten.hardsigmoid": "hardsigmoid",
    "aten.sigmoid": "sigmoid",
    "aten.silu": "silu",
    "aten.tanh": "tanh",
    "aten.leaky_relu": "leaky_relu",
    "aten.elu": "elu",
    "aten.mish": "mish",
    "aten.softplus": "softplus",
    "aten.prelu": "prelu",
    "aten._prelu_kernel": "prelu",
}


@register(*_UNARY, family=Family.ACTIVATION, labels=_UNARY.values())
def _activation(node: Node) -> Counted:
    kind = _UNARY[node.op.rstrip("_")]
    return Counted(kind, f.activation(node.args[0].shape, kind, itemsize=node.itemsize))


@register("aten.hardtanh", family=Family.ACTIVATION, labels=("relu6", "hardtanh"))
def _hardtanh(node: Node) -> Counted:
    lo, hi = node.arg(1, "min_val", -1.0), node.arg(2, "max_val", 1.0)
    kind = "relu6" if (lo, hi) == (0.0, 6.0) else "hardtanh"
    return Counted(kind, f.activation(node.args[0].shape, kind, itemsize=node.itemsize))


@register("aten.gelu", family=Family.ACTIVATION, labels=("gelu",))
def _gelu(node: Node) -> Counted:
    kind = "gelu_tanh" if node.kwargs.get("approximate", node.arg(1, "approximate")) == "tanh" \
        else "gelu"
    return Counted("gelu", f.activation(node.args[0].shape, kind, itemsize=node.itemsize))


@register("aten._softmax", "aten._log_softmax", "aten.softmax", "aten.log_softmax",
          "aten._safe_softmax", family=Family.SOFTMAX, labels=("softmax", "log_softmax"))
def _softmax(node: Node) -> Counted:
    kind = "log_softmax" if "log" in node.op else "softmax"
    return Counted(kind, f.activation(node.args[0].shape, kind, itemsize=node.itemsize))


# one flop per element: simple math functions
_MATH = ("aten.exp", "aten.log", "aten.sqrt", "aten.rsqrt", "aten.abs", "aten.neg",
         "aten.reciprocal", "aten.erf", "aten.sin", "aten.cos", "aten.clamp", "aten.clamp_min",
         "aten.clamp_max", "aten.sign", "aten.floor", "aten.ceil", "aten.round",
         "aten.logical_not", "aten.bitwise_not")


def _names(keys: tuple[str, ...]) -> list[str]:
    """The labels of counters that name an op after its key: ``aten.mul`` -> ``mul``."""
    return [k.split(".")[-1].rstrip("_") for k in keys]


@register(*_MATH, family=Family.ELEMENTWISE, labels=_names(_MATH))
def _unary_math(node: Node) -> Counted:
    cost = f.unary(node.args[0].shape, 1, itemsize=node.itemsize)
    return Counted(node.op.split(".")[-1].rstrip("_"), cost)


# --- binary elementwise -------------------------------------------------------------------------

_BINARY = ("aten.add", "aten.sub", "aten.mul", "aten.div", "aten.rsub", "aten.maximum",
           "aten.minimum", "aten.pow", "aten.eq", "aten.ne", "aten.lt", "aten.le", "aten.gt",
           "aten.ge", "aten.remainder", "aten.fmod", "aten.logical_and", "aten.logical_or",
           "aten.bitwise_and", "aten.bitwise_or", "aten.atan2", "aten.floor_divide")


@register(*_BINARY, family=Family.ELEMENTWISE, labels=(*_names(_BINARY), "gate_mul"))
def _binary(node: Node) -> Counted:
    a, b = node.args[0], node.arg(1, "other")
    label = node.op.split(".")[-1].rstrip("_")
    isz = node.itemsize
    if label == "mul" and isinstance(b, TensorInfo) and _is_gate(_shape(a), b.shape):
        return Counted("gate_mul", f.gate(a.shape, b.shape, itemsize=isz))
    cost = f.binary(_shape(a), _shape(b), itemsize=isz)
    alpha = node.kwargs.get("alpha", 1)
    if label in ("add", "sub") and alpha not in (1, 1.0):  # x + alpha·y: one more multiply
        cost = OpCost(0, 0, 2 * cost.flops, cost.mem_read_bytes, cost.mem_write_bytes,
                      cost.out_shape)
    return Counted(label, cost)


def _is_gate(x: tuple[int, ...], g: tuple[int, ...]) -> bool:
    """An SE-style gate: (N, C, 1, 1) onto (N, C, H, W) with H·W > 1."""
    return (len(x) == len(g) >= 3 and g[:2] == x[:2] and all(d == 1 for d in g[2:])
            and math.prod(x[2:]) > 1)


_TERNARY = ("aten.addcmul", "aten.addcdiv", "aten.lerp", "aten.where")


@register(*_TERNARY, family=Family.ELEMENTWISE, labels=_names(_TERNARY))
def _ternary(node: Node) -> Counted:
    shapes = [_shape(a) for a in node.args[:3]]
    out = f.broadcast_shapes(*shapes)
    n = math.prod(out)
    isz = node.itemsize
    flops = 0 if node.op.startswith("aten.where") else 2 * n
    cost = OpCost(0, 0, flops, sum(math.prod(s) for s in shapes) * isz, n * isz, out)
    return Counted(node.op.split(".")[-1].rstrip("_"), cost)


# --- reductions and pooling ---------------------------------------------------------------------


_REDUCE = ("aten.mean", "aten.sum", "aten.amax", "aten.amin", "aten.prod")


@register(*_REDUCE, family=Family.REDUCTION, labels=_names(_REDUCE))
def _reduce(node: Node) -> Counted:
    x = node.args[0]
    dims = node.arg(1, "dim")
    dims = None if dims is None or dims == [] else ([dims] if isinstance(dims, int) else dims)
    keepdim = bool(node.arg(2, "keepdim", False))
    label = node.op.split(".")[-1]
    cost = f.reduction(x.shape, dims, mean=label == "mean", keepdim=keepdim,
                       itemsize=node.itemsize)
    return Counted(label, cost)


@register("aten.max_pool1d_with_indices", "aten.max_pool2d_with_indices",
          "aten.max_pool3d_with_indices", "aten.max_pool1d", "aten.max_pool2d",
          "aten.max_pool3d", "aten.avg_pool1d", "aten.avg_pool2d", "aten.avg_pool3d",
          family=Family.POOL, labels=(f"{k}_pool{d}d" for k in ("max", "avg") for d in _DIMS))
def _pool(node: Node) -> Counted:
    x, kernel = node.args[0], node.args[1]
    kind: PoolKind = "max" if "max" in node.op else "avg"
    stride = node.arg(2, "stride") or kernel
    # max pool: (..., padding, dilation, ceil_mode); avg pool: (..., padding, ceil_mode, ...)
    dilation = node.arg(4, "dilation", 1) if kind == "max" else 1
    ceil_mode = node.arg(5 if kind == "max" else 4, "ceil_mode", False)
    cost = f.pool(x.shape, kernel, stride, node.arg(3, "padding", 0), dilation,
                  bool(ceil_mode), kind, itemsize=node.itemsize)
    return Counted(f"{kind}_pool{len(x.shape) - 2}d", cost)


@register("aten._adaptive_avg_pool2d", "aten._adaptive_avg_pool3d",
          "aten.adaptive_avg_pool1d", "aten.adaptive_max_pool1d", "aten.adaptive_max_pool2d",
          "aten.adaptive_max_pool3d", family=Family.ADAPTIVE_POOL,
          labels=(f"adaptive_{k}_pool{d}d" for k in ("max", "avg") for d in _DIMS))
def _adaptive_pool(node: Node) -> Counted:
    x = node.args[0]
    dims = len(x.shape) - 2
    kind = "max" if "max" in node.op else "avg"
    cost = f.adaptive_pool(x.shape, tuple(node.args[1]), kind,  # type: ignore[arg-type]
                           itemsize=node.itemsize)
    return Counted(f"adaptive_{kind}_pool{dims}d", cost)


# --- data movement ------------------------------------------------------------------------------


@register("aten.cat", "aten.concat", "aten.stack", family=Family.MOVEMENT, labels=("cat",))
def _cat(node: Node) -> Counted:
    parts = [t.shape for t in node.args[0]]
    dim = node.arg(1, "dim", 0)
    if node.op == "aten.stack":
        ax = dim % (len(parts[0]) + 1)
        parts = [(*s[:ax], 1, *s[ax:]) for s in parts]
        dim = ax
    return Counted("cat", f.concat(parts, dim, itemsize=node.itemsize))


@register("aten.clone", "aten._to_copy", "aten.contiguous", "aten.lift_fresh_copy",
          family=Family.MOVEMENT, labels=("copy",))
def _copy(node: Node) -> Counted:
    return Counted("copy", f.copy(node.args[0].shape, itemsize=node.itemsize))


@register("aten.copy_", family=Family.MOVEMENT, labels=("copy",))
def _copy_into(node: Node) -> Counted:
    src = node.args[1]
    dst = node.args[0]
    cost = f.copy(dst.shape, itemsize=node.itemsize)
    return Counted("copy", OpCost(0, 0, 0, src.numel * node.itemsize, cost.mem_write_bytes,
                                  dst.shape))


@register("aten.zeros", "aten.ones", "aten.full", "aten.fill", "aten.zero", "aten.zeros_like",
          "aten.ones_like", "aten.full_like", "aten.arange", "aten.scalar_tensor",
          family=Family.FILL, labels=("fill",))
def _fill(node: Node) -> Counted:
    out = node.out_shape
    return Counted("fill", OpCost(0, 0, 0, 0, math.prod(out) * node.itemsize, out))


@register("aten.constant_pad_nd", "aten.reflection_pad1d", "aten.reflection_pad2d",
          "aten.reflection_pad3d", "aten.replication_pad1d", "aten.replication_pad2d",
          "aten.replication_pad3d", "aten._pad_circular", family=Family.MOVEMENT,
          labels=("pad",))
def _pad(node: Node) -> Counted:
    return Counted("pad", f.pad(node.args[0].shape, list(node.args[1]), itemsize=node.itemsize))


_UPSAMPLE = {
    "aten.upsample_nearest1d": "nearest", "aten.upsample_nearest2d": "nearest",
    "aten.upsample_nearest3d": "nearest", "aten._upsample_nearest_exact1d": "nearest-exact",
    "aten._upsample_nearest_exact2d": "nearest-exact",
    "aten._upsample_nearest_exact3d": "nearest-exact",
    "aten.upsample_linear1d": "linear", "aten.upsample_bilinear2d": "bilinear",
    "aten.upsample_trilinear3d": "trilinear", "aten.upsample_bicubic2d": "bicubic",
    "aten._upsample_bilinear2d_aa": "bilinear", "aten._upsample_bicubic2d_aa": "bicubic",
}


@register(*_UPSAMPLE, family=Family.RESAMPLE, labels=("interpolate",))
def _upsample(node: Node) -> Counted:
    x = node.args[0]
    mode = _UPSAMPLE[node.op]
    cost = f.upsample(x.shape, size=node.out_shape[2:], mode=mode, itemsize=node.itemsize)
    return Counted("interpolate", cost)


_TABLE.register_free(
    "view: no data moved",
    "aten.view", "aten._unsafe_view", "aten.reshape", "aten._reshape_alias", "aten.t",
    "aten.transpose", "aten.permute", "aten.expand", "aten.squeeze", "aten.unsqueeze",
    "aten.split", "aten.split_with_sizes", "aten.unbind", "aten.slice", "aten.select",
    "aten.alias", "aten.detach", "aten.as_strided", "aten.narrow", "aten.chunk",
    "aten.unflatten", "aten.flatten", "aten.view_as", "aten.expand_as", "aten.numpy_T",
    "aten.movedim", "aten.unfold", "aten.diagonal", "aten.view_as_real", "aten.view_as_complex",
    "aten._conj", "aten.conj", "aten.resolve_conj", "aten.resolve_neg", "aten.lift_fresh",
)
_TABLE.register_free(
    "allocation or metadata only: no arithmetic, nothing read",
    "aten.empty", "aten.empty_like", "aten.empty_strided", "aten.new_empty",
    "aten.new_empty_strided", "aten.sym_size", "aten.sym_stride", "aten.sym_numel",
    "aten.is_same_size", "aten._local_scalar_dense", "aten.dropout", "aten.feature_dropout",
    "aten.alpha_dropout", "aten.set_",
)

REGISTRY = _TABLE.build()
"""The default registry: every counter above, built once (extend it per call with
:meth:`~convcost.engine.registry.Registry.extended`)."""

ACTIVATION_LABELS = REGISTRY.labels(Family.ACTIVATION)
"""Labels of activation functions."""

ELEMENTWISE_LABELS = REGISTRY.labels(Family.ACTIVATION, Family.ELEMENTWISE, Family.NORM)
"""Labels of every one-pass elementwise op: activations, unary math, binary and ternary
arithmetic (``gate_mul``: an SE-style channel gate) and normalisation (one pass at inference)."""

__all__ = ["ACTIVATION_LABELS", "CONV_TRANSPOSE_LABELS", "ELEMENTWISE_LABELS", "REGISTRY"]
