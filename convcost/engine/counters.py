"""Counters: aten op nodes to costs, through :mod:`convcost.formulas` only.

Each counter reads the node's argument shapes and attributes and calls the formula of its op
family, so the rule for an op lives in one place (the formula's docstring). The label is what
users see in the ``op`` column; each registration declares every label its counter returns and
their family (:class:`~convcost.engine.registry.Family`), and :data:`REGISTRY`, the default
registry, is built from these registrations once, at the end of this module.

**Zero-size tensors cost nothing** (an empty KV cache, an empty batch): a counter given a
tensor with no elements returns a zero cost, under the label the op has on non-empty tensors
(see :func:`register`); ``cat`` instead drops its empty parts, as ``torch.cat`` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from convcost import formulas as f
from convcost.engine.counters_backward import _DIMS, _shape, register_backward
from convcost.engine.registry import Counted, Counter, Family, RegistryBuilder
from convcost.errors import ConvcostError, InvalidArgumentError
from convcost.formulas import OpCost
from convcost.formulas.pool import PoolKind
from convcost.graph import Node, TensorInfo

_TABLE = RegistryBuilder()


def register(*keys: str, family: Family, labels: Iterable[str],
             empty_parts: bool = False) -> Callable[[Counter], Counter]:
    """Register ``fn`` for ``keys`` (see :meth:`RegistryBuilder.register`), with the zero-size
    rule: a node with a zero-size tensor among its arguments costs 0. ``empty_parts``: the
    counter handles zero-size arguments itself (``cat``)."""
    declared = tuple(labels)

    def deco(fn: Counter) -> Counter:
        counter = fn if empty_parts else _zero_when_empty(fn, declared)
        _TABLE.register(*keys, family=family, labels=declared)(counter)
        return fn

    return deco


def _zero_when_empty(fn: Counter, declared: tuple[str, ...]) -> Counter:
    def counter(node: Node) -> Counted:
        if all(t.numel for t in node.tensors()):
            return fn(node)
        if not node.outputs:  # asked for the output shape (the capture): the kernel knows it
            raise InvalidArgumentError(f"{node.op} on a zero-size tensor: no output shape "
                                       "without its kernel")
        label = _label_without_elements(fn, node, declared)
        return replace(label, cost=OpCost(out_shape=node.out_shape))

    return counter


def _label_without_elements(fn: Counter, node: Node, declared: tuple[str, ...]) -> Counted:
    """The op's label (and conv kind) as on the same shapes with every zero size made 1;
    the op's name, or its first declared label, where those shapes are not valid."""
    probe = replace(node, args=_no_zero_sizes(node.args),
                    kwargs=dict(zip(node.kwargs, _no_zero_sizes(tuple(node.kwargs.values())),
                                    strict=True)))
    try:
        return fn(probe)
    except (ConvcostError, ArithmeticError, LookupError, TypeError, ValueError):
        name = node.op.split(".")[-1].rstrip("_")
        return Counted(name if name in declared else declared[0], OpCost())


def _no_zero_sizes(items: tuple[Any, ...]) -> tuple[Any, ...]:
    out: list[Any] = []
    for a in items:
        if isinstance(a, TensorInfo) and not a.numel:
            out.append(replace(a, shape=tuple(d or 1 for d in a.shape)))
        elif isinstance(a, (list, tuple)):
            out.append(type(a)(_no_zero_sizes(tuple(a))))
        else:
            out.append(a)
    return tuple(out)


# --- convolution --------------------------------------------------------------------------------


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
    # the kernels take grouped-query attention's key/value heads as they are (enable_gqa);
    # heads that differ can only be that
    cost = f.attention(q.shape, k.shape, v.shape,
                       mask.shape if isinstance(mask, TensorInfo) else None,
                       fused=True, enable_gqa=True, itemsize=node.itemsize)
    return Counted("attention", cost)


@register("aten._native_multi_head_attention", family=Family.ATTENTION,
          labels=("multi_head_attention",))
def _multi_head_attention(node: Node) -> Counted:
    """``nn.MultiheadAttention``'s fused kernel (CPU/GPU, eval, ``batch_first``): the Q, K, V
    projections, attention and the output projection."""
    q, k, v, heads = node.args[0], node.args[1], node.args[2], node.args[4]
    qkv_bias, mask = node.arg(6, "qkv_bias"), node.arg(9, "mask")
    need_weights = bool(node.arg(10, "need_weights", True))
    cost = f.multi_head_attention(
        q.shape, k.shape, v.shape, heads,
        _mha_mask(mask, node.arg(12, "mask_type"), q.shape, k.shape, heads),
        bias=isinstance(qkv_bias, TensorInfo), need_weights=need_weights,
        average_attn_weights=bool(node.arg(11, "average_attn_weights", True)),
        itemsize=node.itemsize)
    return Counted("multi_head_attention", cost)


def _mha_mask(mask: Any, mask_type: Any, q: tuple[int, ...], k: tuple[int, ...],
              heads: int) -> tuple[int, ...] | None:
    """The fused kernels' mask as a shape that broadcasts to (B, heads, L, S): a key padding
    mask (``mask_type`` 1) is (B, S); a 3-d attention mask is (B·heads, L, S)."""
    if not isinstance(mask, TensorInfo):
        return None
    m = mask.shape
    if mask_type == 1 and len(m) == 2:
        return (m[0], 1, 1, m[1])
    if len(m) == 3 and len(q) == 3 and m[0] == q[0] * heads:
        return (q[0], heads, m[1], m[2])
    return m


@register("aten._transformer_encoder_layer_fwd", family=Family.ATTENTION,
          labels=("transformer_encoder_layer",))
def _transformer_encoder_layer(node: Node) -> Counted:
    """``nn.TransformerEncoderLayer``'s fused kernel: self-attention, two residual adds and
    layer norms, the feed-forward block."""
    x, heads, ffn_in = node.args[0], node.args[2], node.args[14]
    mask = node.arg(18, "mask")
    cost = f.transformer_encoder_layer(
        x.shape, heads, ffn_in.shape[0], _mha_mask(mask, node.arg(19, "mask_type"), x.shape,
                                                   x.shape, heads),
        activation_kind="gelu" if node.args[7] else "relu", itemsize=node.itemsize)
    return Counted("transformer_encoder_layer", cost)


# --- recurrent layers ---------------------------------------------------------------------------

# mode numbers of the fused kernels (cuDNN, MIOpen and oneDNN/ideep agree)
_RNN_MODES = {0: "rnn_relu", 1: "rnn_tanh", 2: "lstm", 3: "gru"}
_RNN_LABELS = {"rnn_relu": "rnn", "rnn_tanh": "rnn", "lstm": "lstm", "gru": "gru"}


@register("aten.mkldnn_rnn_layer", "aten._cudnn_rnn", "aten.miopen_rnn",
          family=Family.LINEAR, labels=("rnn", "lstm", "gru"))
def _rnn(node: Node) -> Counted:
    """A fused recurrent kernel: one layer in one direction (``mkldnn_rnn_layer``, nn.LSTM on
    the CPU), or every layer and direction at once (``_cudnn_rnn``, ``miopen_rnn``)."""
    x = node.args[0]
    if node.op.startswith("aten.mkldnn_rnn_layer"):
        # (input, w_ih, w_hh, b_ih, b_hh, hx, cx, reverse, batch_sizes, mode, hidden_size,
        #  num_layers, has_biases, ...)
        mode, hx = _RNN_MODES[node.args[9]], node.args[5]
        cost = f.recurrent(mode, x.shape, node.args[10], batch=math.prod(hx.shape[:-1]),
                           bias=bool(node.args[12]), itemsize=node.itemsize)
        return Counted(_RNN_LABELS[mode], cost)
    cudnn = node.op.startswith("aten._cudnn_rnn")
    weights, hx = node.args[1], node.args[4] if cudnn else node.args[3]
    mode = _RNN_MODES[node.args[6] if cudnn else node.args[5]]
    hidden = node.args[7] if cudnn else node.args[6]
    proj = node.args[8] if cudnn else 0
    layers = node.args[9] if cudnn else node.args[7]
    directions = 2 if (node.args[13] if cudnn else node.args[11]) else 1
    per_layer = len(weights) // (layers * directions)  # w_ih, w_hh (b_ih, b_hh) (w_hr)
    bias = per_layer - (1 if proj else 0) == 4
    batch = hx.shape[1] if len(hx.shape) == 3 else 1
    total = f.Cost()
    in_shape = x.shape
    out = in_shape
    for _ in range(layers):
        layer = f.recurrent(mode, in_shape, hidden, batch=batch, proj_size=proj, bias=bias,
                            itemsize=node.itemsize)
        total = total + layer.scaled(directions)
        out = (*layer.out_shape[:-1], layer.out_shape[-1] * directions)
        in_shape = out
    return Counted(_RNN_LABELS[mode], OpCost(total.params, total.madds, total.flops,
                                             total.mem_read_bytes, total.mem_write_bytes, out))


@register("aten._thnn_fused_lstm_cell", "aten._thnn_fused_gru_cell", family=Family.ELEMENTWISE,
          labels=("lstm_cell", "gru_cell"))
def _rnn_cell(node: Node) -> Counted:
    """The fused elementwise part of ``nn.LSTMCell`` / ``nn.GRUCell`` on the GPU: the gate
    products reach it from ``linear`` rows of their own."""
    gates, bias = node.args[0], node.arg(3, "input_bias")
    mode = "lstm" if "lstm" in node.op else "gru"
    cost = f.rnn_cell(mode, math.prod(gates.shape[:-1]), gates.shape[-1] // f.RNN_GATES[mode],
                      isinstance(bias, TensorInfo), itemsize=node.itemsize)
    return Counted(f"{mode}_cell", cost)


# --- normalisation ------------------------------------------------------------------------------


@register("aten.native_batch_norm", "aten._native_batch_norm_legit_no_training",
          "aten._native_batch_norm_legit", "aten.batch_norm", family=Family.NORM,
          labels=("batch_norm",))
def _batch_norm(node: Node) -> Counted:
    x, weight, bias = node.args[0], node.arg(1, "weight"), node.arg(2, "bias")
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
    affine, has_bias = _affine(weight, bias)
    cost = f.batch_norm(x.shape, affine=affine, track_running_stats=tracked, bias=has_bias,
                        itemsize=node.itemsize)
    return Counted("batch_norm", cost)


def _affine(weight: Any, bias: Any) -> tuple[bool, bool]:
    """(has an affine, has a bias) from a norm's optional weight and bias."""
    has_bias = isinstance(bias, TensorInfo)
    return isinstance(weight, TensorInfo) or has_bias, has_bias


@register("aten.native_layer_norm", family=Family.NORM, labels=("layer_norm",))
def _layer_norm(node: Node) -> Counted:
    x, normalized = node.args[0], node.args[1]
    affine, bias = _affine(node.arg(2, "weight"), node.arg(3, "bias"))
    cost = f.layer_norm(x.shape, tuple(normalized), affine, bias=bias, itemsize=node.itemsize)
    return Counted("layer_norm", cost)


@register("aten.native_group_norm", family=Family.NORM, labels=("group_norm",))
def _group_norm(node: Node) -> Counted:
    x, groups = node.args[0], node.args[6]
    affine, bias = _affine(node.arg(1, "weight"), node.arg(2, "bias"))
    return Counted("group_norm", f.group_norm(x.shape, groups, affine, bias=bias,
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
    kind = "gelu_tanh" if node.arg(1, "approximate") == "tanh" else "gelu"
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
         "aten.logical_not", "aten.bitwise_not", "aten.log1p", "aten.expm1", "aten.tan",
         "aten.atan", "aten.erfinv", "aten.logit", "aten.nan_to_num", "aten.celu",
         "aten.threshold", "aten.hardshrink")


def _names(keys: tuple[str, ...]) -> list[str]:
    """The labels of counters that name an op after its key: ``aten.mul`` -> ``mul``."""
    return [k.split(".")[-1].rstrip("_") for k in keys]


@register(*_MATH, family=Family.ELEMENTWISE, labels=_names(_MATH))
def _unary_math(node: Node) -> Counted:
    # abs of a complex tensor reads 8 bytes an element and writes 4
    x = node.args[0]
    cost = f.unary(x.shape, 1, itemsize=_itemsize(x, node.itemsize), out_itemsize=node.itemsize)
    return Counted(node.op.split(".")[-1].rstrip("_"), cost)


@register("aten.log_sigmoid_forward", family=Family.ELEMENTWISE, labels=("log_sigmoid",))
def _log_sigmoid(node: Node) -> Counted:
    """``F.logsigmoid``: one function per element (the unary math rule); its second output
    is an empty buffer on the CPU's inference path."""
    x = node.args[0]
    return Counted("log_sigmoid", f.unary(x.shape, 1, itemsize=x.itemsize))


@register("aten.glu", family=Family.ELEMENTWISE, labels=("glu",))
def _glu(node: Node) -> Counted:
    """``F.glu(x, dim)`` = ``a · sigmoid(b)`` of x's two halves: a sigmoid and a multiply per
    output element (the unary rule for the sigmoid); x read, the half-size output written."""
    x = node.args[0]
    n_out = math.prod(node.out_shape)
    return Counted("glu", OpCost(0, 0, 2 * n_out, x.numel * x.itemsize, n_out * node.itemsize,
                                 node.out_shape))


# --- binary elementwise -------------------------------------------------------------------------

_BINARY = ("aten.add", "aten.sub", "aten.mul", "aten.div", "aten.rsub", "aten.maximum",
           "aten.minimum", "aten.pow", "aten.eq", "aten.ne", "aten.lt", "aten.le", "aten.gt",
           "aten.ge", "aten.remainder", "aten.fmod", "aten.logical_and", "aten.logical_or",
           "aten.bitwise_and", "aten.bitwise_or", "aten.atan2", "aten.floor_divide",
           "aten.hypot")


@register(*_BINARY, family=Family.ELEMENTWISE, labels=(*_names(_BINARY), "gate_mul"))
def _binary(node: Node) -> Counted:
    a, b = node.args[0], node.arg(1, "other")
    label = node.op.split(".")[-1].rstrip("_")
    isz = node.itemsize
    if label == "mul" and isinstance(b, TensorInfo) and _is_gate(_shape(a), b.shape):
        return Counted("gate_mul", f.gate(a.shape, b.shape, itemsize=isz))
    # each operand at its own element size (a Python scalar at the other operand's), the
    # result at its own: `x > 0` reads float32 and writes bool
    a_isz = _itemsize(a, _itemsize(b, isz))
    cost = f.binary(_shape(a), _shape(b), itemsize=a_isz, b_itemsize=_itemsize(b, a_isz),
                    out_itemsize=isz)
    alpha = node.kwargs.get("alpha", 1)
    if label in ("add", "sub") and alpha not in (1, 1.0):  # x + alpha·y: one more multiply
        cost = OpCost(0, 0, 2 * cost.flops, cost.mem_read_bytes, cost.mem_write_bytes,
                      cost.out_shape)
    return Counted(label, cost)


def _is_gate(x: tuple[int, ...], g: tuple[int, ...]) -> bool:
    """An SE-style gate: (N, C, 1, 1) onto (N, C, H, W) with H·W > 1."""
    return (len(x) == len(g) >= 3 and g[:2] == x[:2] and all(d == 1 for d in g[2:])
            and math.prod(x[2:]) > 1)


_TERNARY = ("aten.addcmul", "aten.addcdiv", "aten.lerp")


@register(*_TERNARY, family=Family.ELEMENTWISE, labels=_names(_TERNARY))
def _ternary(node: Node) -> Counted:
    shapes = [_shape(a) for a in node.args[:3]]
    out = f.broadcast_shapes(*shapes)
    n = math.prod(out)
    isz = node.itemsize
    cost = OpCost(0, 0, 2 * n, sum(math.prod(s) for s in shapes) * isz, n * isz, out)
    return Counted(node.op.split(".")[-1].rstrip("_"), cost)


def _itemsize(t: Any, default: int) -> int:
    return t.itemsize if isinstance(t, TensorInfo) else default


@register("aten.where", family=Family.ELEMENTWISE, labels=("where",))
def _where(node: Node) -> Counted:
    cond, a, b = node.args[0], node.args[1], node.args[2]
    isz = _itemsize(a, _itemsize(b, node.itemsize))
    return Counted("where", f.select(cond.shape, _shape(a), _shape(b),
                                     cond_itemsize=cond.itemsize, itemsize=isz))


@register("aten.masked_fill", family=Family.ELEMENTWISE, labels=("masked_fill",))
def _masked_fill(node: Node) -> Counted:
    """``x.masked_fill(mask, value)`` = ``where(mask, value, x)``."""
    x, mask, value = node.args[0], node.args[1], node.args[2]
    return Counted("masked_fill", f.select(mask.shape, _shape(value), x.shape,
                                           cond_itemsize=mask.itemsize, itemsize=x.itemsize))


# --- reductions and pooling ---------------------------------------------------------------------


_REDUCE = ("aten.mean", "aten.sum", "aten.amax", "aten.amin", "aten.prod")


def _dims(value: Any) -> list[int] | None:
    """A reduction's ``dim`` argument as a list, None for every dim."""
    if value is None or value == [] or isinstance(value, bool):
        return None
    return [value] if isinstance(value, int) else list(value)


@register(*_REDUCE, family=Family.REDUCTION, labels=_names(_REDUCE))
def _reduce(node: Node) -> Counted:
    x = node.args[0]
    keepdim = bool(node.arg(2, "keepdim", False))
    label = node.op.split(".")[-1]
    cost = f.reduction(x.shape, _dims(node.arg(1, "dim")), mean=label == "mean",
                       keepdim=keepdim, itemsize=x.itemsize, out_itemsize=node.itemsize)
    return Counted(label, cost)


_INDEX = f.INDEX_ITEMSIZE


@register("aten.max", "aten.min", "aten.argmax", "aten.argmin", "aten.all", "aten.any",
          family=Family.REDUCTION, labels=("max", "min", "argmax", "argmin", "all", "any"))
def _reduce_to(node: Node) -> Counted:
    """Reductions whose output is not the input's dtype: ``max``/``min`` along a dim (values
    and int64 indices), ``argmax``/``argmin`` (indices), ``all``/``any`` (bools)."""
    x, label = node.args[0], node.op.split(".")[-1]
    dim = node.arg(1, "dim")
    if label in ("max", "min") and isinstance(dim, TensorInfo):  # max(a, b): elementwise
        return Counted(label, f.binary(x.shape, dim.shape, itemsize=x.itemsize))
    dims = _dims(dim)
    # bytes per output element: values and indices along a dim, the indices, the bools
    out = {"argmax": _INDEX, "argmin": _INDEX, "all": 1, "any": 1}.get(
        label, x.itemsize + (_INDEX if dims is not None else 0))
    cost = f.reduction(x.shape, dims, keepdim=bool(node.arg(2, "keepdim", False)),
                       itemsize=x.itemsize, out_itemsize=out)
    return Counted(label, cost)


@register("aten.var", "aten.std", "aten.var_mean", "aten.std_mean", family=Family.REDUCTION,
          labels=("var", "std", "var_mean", "std_mean"))
def _variance(node: Node) -> Counted:
    x, label = node.args[0], node.op.split(".")[-1]
    cost = f.variance(x.shape, _dims(node.arg(1, "dim")), std=label.startswith("std"),
                      with_mean=label.endswith("_mean"),
                      keepdim=bool(node.arg(3, "keepdim", False)),
                      itemsize=x.itemsize)
    return Counted(label, cost)


@register("aten.linalg_vector_norm", "aten.norm", family=Family.REDUCTION,
          labels=("vector_norm",))
def _vector_norm(node: Node) -> Counted:
    x, order = node.args[0], node.arg(1, "ord", node.kwargs.get("p", 2))
    cost = f.vector_norm(x.shape, 2 if order is None else order, _dims(node.arg(2, "dim")),
                         keepdim=bool(node.arg(3, "keepdim", False)), itemsize=x.itemsize)
    return Counted("vector_norm", cost)


@register("aten.kthvalue", "aten.median", "aten.nanmedian", family=Family.REDUCTION,
          labels=("kthvalue", "median", "nanmedian"))
def _select_kth(node: Node) -> Counted:
    """``kthvalue(x, k, dim=-1, keepdim)``, ``median(x[, dim, keepdim])``: a selection."""
    x, label = node.args[0], node.op.split(".")[-1]
    if label == "kthvalue":
        dim, keepdim = node.arg(2, "dim", -1), node.arg(3, "keepdim", False)
    else:  # median(x) of the whole tensor, or median(x, dim, keepdim)
        dim, keepdim = node.arg(1, "dim"), node.arg(2, "keepdim", False)
    return Counted(label, f.select_kth(x.shape, dim, keepdim=bool(keepdim),
                                       itemsize=x.itemsize))


@register("aten.mode", family=Family.REDUCTION, labels=("mode",))
def _mode(node: Node) -> Counted:
    """``torch.mode(x, dim=-1, keepdim)``: each line sorted (``L·⌈log₂ L⌉`` compares, the sort
    rule), then one pass to count runs (``L``); the values and int64 indices written."""
    x = node.args[0]
    dim, keepdim = node.arg(1, "dim", -1), bool(node.arg(2, "keepdim", False))
    sorted_ = f.sort(x.shape, dim, itemsize=x.itemsize)
    picked = f.select_kth(x.shape, dim, keepdim=keepdim, itemsize=x.itemsize)
    return Counted("mode", OpCost(0, 0, sorted_.flops + picked.flops, picked.mem_read_bytes,
                                  picked.mem_write_bytes, picked.out_shape))


@register("aten.bucketize", "aten.searchsorted", family=Family.REDUCTION,
          labels=("bucketize", "searchsorted"))
def _bucketize(node: Node) -> Counted:
    """``torch.bucketize(x, boundaries)`` / ``torch.searchsorted(sorted, x)``: a binary search
    per value, ``⌈log₂(B + 1)⌉`` compares over ``B`` boundaries; the values and the boundaries
    read, one index per value written (int64, or int32 with ``out_int32``)."""
    label = node.op.split(".")[-1]
    values, bounds = ((node.args[0], node.args[1]) if label == "bucketize"
                      else (node.args[1], node.args[0]))
    n = values.numel if isinstance(values, TensorInfo) else 1
    b = bounds.shape[-1] if bounds.shape else 1
    steps = max(1, math.ceil(math.log2(b + 1)))
    read = (n * values.itemsize if isinstance(values, TensorInfo) else 0)
    return Counted(label, OpCost(0, 0, n * steps, read + bounds.numel * bounds.itemsize,
                                 math.prod(node.out_shape) * node.itemsize, node.out_shape))


@register("aten.logsumexp", family=Family.REDUCTION, labels=("logsumexp",))
def _logsumexp(node: Node) -> Counted:
    x = node.args[0]
    return Counted("logsumexp", f.logsumexp(x.shape, _dims(node.arg(1, "dim")),
                                            keepdim=bool(node.arg(2, "keepdim", False)),
                                            itemsize=x.itemsize))


_SCANS = ("aten.cumsum", "aten.cumprod", "aten.cummax", "aten.cummin")


@register(*_SCANS, family=Family.REDUCTION, labels=_names(_SCANS))
def _scan(node: Node) -> Counted:
    x, label = node.args[0], node.op.split(".")[-1].rstrip("_")
    indexed = label in ("cummax", "cummin")
    cost = f.scan(x.shape, node.arg(1, "dim"), itemsize=x.itemsize,
                  out_itemsize=x.itemsize + _INDEX if indexed else None)
    return Counted(label, cost)


@register("aten.sort", "aten.topk", family=Family.REDUCTION, labels=("sort", "topk"))
def _select_sorted(node: Node) -> Counted:
    x = node.args[0]
    if node.op.startswith("aten.topk"):
        cost = f.topk(x.shape, node.args[1], node.arg(2, "dim", -1), itemsize=x.itemsize)
        return Counted("topk", cost)
    return Counted("sort", f.sort(x.shape, node.arg(1, "dim", -1), itemsize=x.itemsize))


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


@register("aten.cat", "aten.concat", "aten.stack", family=Family.MOVEMENT, labels=("cat",),
          empty_parts=True)
def _cat(node: Node) -> Counted:
    """``torch.cat`` skips 1-d empty inputs (an empty KV cache, ``torch.tensor([])``) and any
    other empty part adds nothing: both are dropped before the formula."""
    parts = [t.shape for t in node.args[0]]
    dim = node.arg(1, "dim", 0)
    if node.op == "aten.stack":
        ax = dim % (len(parts[0]) + 1)
        parts = [(*s[:ax], 1, *s[ax:]) for s in parts]
        dim = ax
    kept = [s for s in parts if math.prod(s)]
    if len(kept) < len(parts) and not kept:
        if not node.outputs:  # asked for the output shape (the capture): the kernel knows it
            raise InvalidArgumentError(f"{node.op} of empty tensors only")
        return Counted("cat", OpCost(out_shape=node.out_shape))
    return Counted("cat", f.concat(kept, dim, itemsize=node.itemsize))


@register("aten.clone", "aten._to_copy", "aten.contiguous", "aten.lift_fresh_copy",
          family=Family.MOVEMENT, labels=("copy",))
def _copy(node: Node) -> Counted:
    # a conversion (x.half(), x.float()) reads at the input's size, writes at the output's
    x = node.args[0]
    return Counted("copy", f.copy(x.shape, itemsize=_itemsize(x, node.itemsize),
                                  out_itemsize=node.itemsize))


@register("aten.copy_", family=Family.MOVEMENT, labels=("copy",))
def _copy_into(node: Node) -> Counted:
    src = node.args[1]
    dst = node.args[0]
    dst_isz = _itemsize(dst, node.itemsize)
    cost = f.copy(dst.shape, itemsize=dst_isz)
    return Counted("copy", OpCost(0, 0, 0, src.numel * _itemsize(src, dst_isz),
                                  cost.mem_write_bytes, dst.shape))


@register("aten.zeros", "aten.ones", "aten.full", "aten.fill", "aten.zero", "aten.zeros_like",
          "aten.ones_like", "aten.full_like", "aten.arange", "aten.scalar_tensor", "aten.eye",
          "aten.new_zeros", "aten.new_ones", "aten.new_full", "aten.linspace",
          family=Family.FILL, labels=("fill",))
def _fill(node: Node) -> Counted:
    out = node.out_shape
    return Counted("fill", OpCost(0, 0, 0, 0, math.prod(out) * node.itemsize, out))


@register("aten.pixel_shuffle", "aten.pixel_unshuffle", "aten.channel_shuffle",
          "aten.native_channel_shuffle", family=Family.MOVEMENT,
          labels=("pixel_shuffle", "pixel_unshuffle", "channel_shuffle"))
def _shuffle(node: Node) -> Counted:
    """Sub-pixel convolution's ``pixel_shuffle`` / ``pixel_unshuffle`` and
    ``nn.ChannelShuffle``: the tensor rearranged, read and written once."""
    x, label = node.args[0], node.op.split(".")[-1].replace("native_", "")
    if label == "channel_shuffle":  # (self, groups)
        return Counted(label, f.channel_shuffle(x.shape, node.args[1], itemsize=x.itemsize))
    return Counted(label, replace(f.copy(x.shape, itemsize=x.itemsize), out_shape=node.out_shape))


@register("aten.grid_sampler_2d", "aten.grid_sampler_3d", family=Family.RESAMPLE,
          labels=("grid_sample",))
def _grid_sample(node: Node) -> Counted:
    """``F.grid_sample``: per output element the interpolation of ``F.interpolate``'s rule
    (bilinear 7, trilinear 15, nearest 0, bicubic 31 flops), the input and the grid read."""
    x, grid = node.args[0], node.args[1]
    per = f.grid_sample_flops(node.arg(2, "interpolation_mode", 0), len(x.shape) - 2)
    n_out = math.prod(node.out_shape)
    return Counted("grid_sample", OpCost(0, 0, per * n_out,
                                         x.numel * x.itemsize + grid.numel * grid.itemsize,
                                         n_out * node.itemsize, node.out_shape))


@register("aten.affine_grid_generator", family=Family.RESAMPLE, labels=("affine_grid",))
def _affine_grid(node: Node) -> Counted:
    """``F.affine_grid``: each output location's coordinates, ``θ`` (d × (d+1)) times the
    homogeneous base point: ``2·d·(d+1)`` flops a location; θ read, the grid written."""
    theta = node.args[0]
    out = node.out_shape
    d = out[-1] if out else 2
    locations = math.prod(out[:-1]) if out else 0
    return Counted("affine_grid", OpCost(0, 0, 2 * d * (d + 1) * locations,
                                         theta.numel * theta.itemsize,
                                         math.prod(out) * node.itemsize, out))


@register("aten._cdist_forward", family=Family.REDUCTION, labels=("cdist",))
def _cdist(node: Node) -> Counted:
    """``torch.cdist(x1, x2, p)`` of (B, P, M) and (B, R, M): per pair and coordinate a
    subtract, a power (or square) and an accumulate, then a root per pair (p ≠ 1, ∞):
    ``3·B·P·R·M + B·P·R``; both inputs read, the distances written."""
    x1, x2 = node.args[0], node.args[1]
    p = node.arg(2, "p", 2.0)
    pairs = math.prod(node.out_shape)
    m = x1.shape[-1] if x1.shape else 1
    roots = 0 if p in (1, 1.0, math.inf) else pairs
    return Counted("cdist", OpCost(0, 0, 3 * pairs * m + roots,
                                   x1.numel * x1.itemsize + x2.numel * x2.itemsize,
                                   pairs * node.itemsize, node.out_shape))


_WINDOWS = ("aten.hann_window", "aten.hamming_window", "aten.blackman_window",
            "aten.bartlett_window", "aten.kaiser_window")


@register(*_WINDOWS, family=Family.FILL, labels=("window",))
def _window(node: Node) -> Counted:
    return Counted("window", f.window(math.prod(node.out_shape), itemsize=node.itemsize))


@register("aten._fft_r2c", "aten._fft_c2r", "aten._fft_c2c", family=Family.SPECTRAL,
          labels=("fft",))
def _fft(node: Node) -> Counted:
    """``_fft_r2c(x, dim, normalization, onesided)``, ``_fft_c2r(x, dim, normalization,
    last_dim_size)``, ``_fft_c2c(x, dim, normalization, forward)``: what ``torch.fft.*`` and
    ``torch.stft`` run."""
    x = node.args[0]
    out = node.outputs[0] if node.outputs else x
    real = not node.op.startswith("aten._fft_c2c")
    return Counted("fft", f.fft(x.shape, out.shape, list(node.args[1]), real=real,
                                itemsize=x.itemsize, out_itemsize=out.itemsize))


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


@register("aten.repeat", family=Family.MOVEMENT, labels=("repeat",))
def _repeat(node: Node) -> Counted:
    x = node.args[0]
    return Counted("repeat", f.repeat(x.shape, node.args[1], itemsize=x.itemsize))


_COPIES = ("aten.roll", "aten.flip", "aten.triu", "aten.tril")


@register(*_COPIES, family=Family.MOVEMENT, labels=_names(_COPIES))
def _moved_copy(node: Node) -> Counted:
    """Ops that copy a tensor as it is, rearranged (roll, flip) or masked by position (triu,
    tril): read and written once, no arithmetic."""
    x = node.args[0]
    return Counted(node.op.split(".")[-1].rstrip("_"), f.copy(x.shape, itemsize=x.itemsize))


@register("aten.im2col", "aten.col2im", family=Family.MOVEMENT, labels=("im2col", "col2im"))
def _patches(node: Node) -> Counted:
    x = node.args[0]
    if node.op.startswith("aten.im2col"):  # (self, kernel_size, dilation, padding, stride)
        return Counted("im2col", f.im2col(x.shape, *node.args[1:5], itemsize=x.itemsize))
    # (self, output_size, kernel_size, dilation, padding, stride)
    return Counted("col2im", f.col2im(x.shape, *node.args[1:6], itemsize=x.itemsize))


# --- indexing -----------------------------------------------------------------------------------


def _index_tensors(indices: Any) -> list[TensorInfo]:
    return [t for t in indices if isinstance(t, TensorInfo)]


@register("aten.embedding", "aten.index", "aten.index_select", "aten.gather",
          family=Family.MOVEMENT, labels=("embedding", "index", "index_select", "gather"))
def _gather(node: Node) -> Counted:
    """Lookups: ``embedding(weight, indices)``, ``x[idx]`` (``index(x, [None, idx, ...])``,
    boolean masks too), ``index_select(x, dim, idx)``, ``gather(x, dim, idx)``."""
    label = node.op.split(".")[-1]
    if label == "embedding":
        weight, idx = node.args[0], node.args[1]
        return Counted(label, f.embedding(idx.shape, weight.shape[-1],
                                          index_itemsize=idx.itemsize, itemsize=weight.itemsize))
    x = node.args[0]
    if label == "index":  # the shape of advanced indexing (boolean masks: data) as recorded
        indices, out = _index_tensors(node.args[1]), node.out_shape
        if not node.outputs:
            raise InvalidArgumentError("aten.index is counted from its recorded output")
    else:  # (self, dim, index)
        indices, dim = [node.args[2]], node.args[1] % max(len(x.shape), 1)
        out = indices[0].shape if label == "gather" else (
            *x.shape[:dim], indices[0].numel, *x.shape[dim + 1:])
    cost = f.gather(out, sum(t.numel for t in indices),
                    index_itemsize=indices[0].itemsize if indices else _INDEX,
                    itemsize=x.itemsize)
    return Counted(label, cost)


_SCATTERS = ("aten.scatter", "aten.scatter_add", "aten.scatter_reduce", "aten.index_put",
             "aten.index_add", "aten.index_copy", "aten.index_fill", "aten.masked_scatter")


@register(*_SCATTERS, family=Family.MOVEMENT, labels=_names(_SCATTERS))
def _scatter(node: Node) -> Counted:
    """Writes at indices: ``scatter(x, dim, idx, src | value[, reduce])``,
    ``index_put(x, indices, values, accumulate)`` (``x[idx] = v``), ``index_add`` /
    ``index_copy`` / ``index_fill(x, dim, idx, ...)``, ``masked_scatter(x, mask, src)``."""
    x, label = node.args[0], node.op.split(".")[-1].rstrip("_")
    inplace = node.op.split(".")[-1].endswith("_")
    if label == "index_put":  # (self, indices, values, accumulate)
        indices, values = _index_tensors(node.args[1]), node.args[2]
        written = f.indexed_elems(x.shape, [None if t is None else (t.shape, t.itemsize == 1)
                                            for t in node.args[1]])
        accumulate = bool(node.arg(3, "accumulate", False))
    elif label == "masked_scatter":  # (self, mask, source): as many as the mask selects
        indices, values = [node.args[1]], None
        written = math.prod(f.broadcast_shapes(x.shape, node.args[1].shape))
        accumulate = False
    else:  # (self, dim, index, src | source | value, ...)
        indices, values = [node.args[2]], node.args[3] if len(node.args) > 3 else None
        dim = node.args[1] % max(len(x.shape), 1)
        written = indices[0].numel * (1 if label.startswith("scatter") else  # one per index
                                      math.prod(x.shape) // (x.shape[dim] if x.shape else 1))
        accumulate = label in ("scatter_add", "scatter_reduce", "index_add") or (
            label == "scatter" and node.kwargs.get("reduce") is not None)
    # the source elements read: those used of a tensor (a broadcast one once), none of a scalar
    src = (None if values is None else min(values.numel, written)
           if isinstance(values, TensorInfo) else 0)
    cost = f.scatter(x.shape, written, sum(t.numel for t in indices), src_elems=src,
                     accumulate=accumulate, inplace=inplace, itemsize=x.itemsize,
                     index_itemsize=indices[0].itemsize if indices else _INDEX)
    return Counted(label, cost)


@register("aten._pack_padded_sequence", family=Family.MOVEMENT, labels=("pack_sequence",))
def _pack_sequence(node: Node) -> Counted:
    """``pack_padded_sequence(x, lengths)``: a lookup of the valid (time, sample) rows into
    ``data``; the batch sizes it also returns are bookkeeping, not counted."""
    x, lengths = node.args[0], node.args[1]
    if not node.outputs:
        raise InvalidArgumentError("aten._pack_padded_sequence is counted from its output")
    return Counted("pack_sequence", f.gather(node.out_shape, lengths.numel,
                                             index_itemsize=lengths.itemsize,
                                             itemsize=x.itemsize))


@register("aten.nonzero", family=Family.MOVEMENT, labels=("nonzero",))
def _nonzero(node: Node) -> Counted:
    x = node.args[0]
    found = node.out_shape[0] if node.outputs else None  # data: known from the real output
    if not isinstance(found, int):
        found = x.numel  # an upper bound: every element
    return Counted("nonzero", f.nonzero(x.shape, found, in_itemsize=x.itemsize))


@register("aten._embedding_bag_forward_only", "aten._embedding_bag", "aten.embedding_bag",
          family=Family.REDUCTION, labels=("embedding_bag",))
def _embedding_bag(node: Node) -> Counted:
    """``nn.EmbeddingBag``: (weight, indices, offsets, scale_grad_by_freq, mode, sparse,
    per_sample_weights, include_last_offset, ...)."""
    weight, idx, offsets = node.args[0], node.args[1], node.args[2]
    include_last = bool(node.arg(7, "include_last_offset", False))
    cost = f.embedding_bag(idx.numel, offsets.numel - (1 if include_last else 0),
                           weight.shape[-1], f.EMBEDDING_BAG_MODES[node.arg(4, "mode", 0)],
                           per_sample_weights=isinstance(node.arg(6, "per_sample_weights"),
                                                         TensorInfo),
                           offsets=offsets.numel, index_itemsize=idx.itemsize,
                           itemsize=weight.itemsize)
    return Counted("embedding_bag", cost)


_TABLE.register_free(
    "view: no data moved",
    "aten.view", "aten._unsafe_view", "aten.reshape", "aten._reshape_alias", "aten.t",
    "aten.transpose", "aten.permute", "aten.expand", "aten.squeeze", "aten.unsqueeze",
    "aten.split", "aten.split_with_sizes", "aten.unbind", "aten.slice", "aten.select",
    "aten.alias", "aten.detach", "aten.as_strided", "aten.narrow", "aten.chunk",
    "aten.unflatten", "aten.flatten", "aten.view_as", "aten.expand_as", "aten.numpy_T",
    "aten.movedim", "aten.unfold", "aten.diagonal", "aten.view_as_real", "aten.view_as_complex",
    "aten._conj", "aten.conj", "aten.resolve_conj", "aten.resolve_neg", "aten.lift_fresh",
    "aten.unsafe_split", "aten.unsafe_split_with_sizes", "aten.unsafe_chunk",
)
_TABLE.register_free(
    "allocation or metadata only: no arithmetic, nothing read",
    "aten.empty", "aten.empty_like", "aten.empty_strided", "aten.new_empty",
    "aten.new_empty_strided", "aten.sym_size", "aten.sym_stride", "aten.sym_numel",
    "aten.is_same_size", "aten._local_scalar_dense", "aten.dropout", "aten.feature_dropout",
    "aten.alpha_dropout", "aten.set_",
)

register_backward(register)  # the backward pass's ops (and dropout's): their own module
REGISTRY = _TABLE.build()
"""The default registry: every counter above, built once (extend it per call with
:meth:`~convcost.engine.registry.Registry.extended`)."""

ACTIVATION_LABELS = REGISTRY.labels(Family.ACTIVATION)
"""Labels of activation functions."""

ELEMENTWISE_LABELS = REGISTRY.labels(Family.ACTIVATION, Family.ELEMENTWISE, Family.NORM)
"""Labels of every one-pass elementwise op: activations, unary math, binary and ternary
arithmetic (``gate_mul``: an SE-style channel gate) and normalisation (one pass at inference)."""

__all__ = ["ACTIVATION_LABELS", "CONV_TRANSPOSE_LABELS", "ELEMENTWISE_LABELS", "REGISTRY"]
