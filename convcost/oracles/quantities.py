"""The numbers the peers' own formulas give, from what was observed (pure Python).

Each function reproduces one formula of one peer's source, named after it, from a
:class:`~convcost.oracles.context.Call` (a torch function the model called) or a
:class:`~convcost.oracles.context.ModuleCall` with its
:class:`~convcost.oracles.context.ModuleInfo`; the adapters
(:mod:`convcost.oracles.conventions`) say which applies where and name the rule. Row
quantities read convcost's own rows. Where a peer would raise on an input, its function raises
:class:`WouldFail` naming the rule, so the check can predict the failure too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from convcost.engine import Row
from convcost.formulas import numel
from convcost.oracles.context import (
    Call,
    Context,
    Dict,
    ModuleCall,
    ModuleInfo,
    Other,
    Tensor,
    Tree,
    tensors,
)

Number = int | Fraction


class WouldFail(Exception):
    """The peer raises on this input (its own assertion or error); ``rule`` says why."""

    def __init__(self, rule: str, detail: str = "") -> None:
        super().__init__(detail or rule)
        self.rule = rule


def _t(x: Any) -> Tensor | None:
    return x if isinstance(x, Tensor) else None


def _first(tree: Tree) -> Tensor | None:
    return next(tensors(tree), None)


def _out(x: Call | ModuleCall) -> Tensor | None:
    return _first(x.out)


def _in(c: Call, index: int = 0, name: str = "input") -> Tensor | None:
    return _t(c.arg(index, name))


def _n(t: Tensor | None) -> int:
    return t.numel if t is not None else 0


def _bias_of(info: ModuleInfo | None) -> bool:
    return info is not None and info.has_param("bias")


# --- rows (convcost's own) ----------------------------------------------------------------------

def _row_bias_adds(r: Row) -> int:
    # conv / linear / addmm: flops beyond 2·madds are the bias (or added-tensor) adds, 1 per
    # output element (docs/conventions.md, Convolution and Linear tables)
    return r.cost.flops - 2 * r.cost.madds


ROW: dict[str, Callable[[Row, Context], Number]] = {
    "madds": lambda r, ctx: r.cost.madds,
    "bias_adds": lambda r, ctx: _row_bias_adds(r),
}


# --- fvcore (nn/jit_handles.py, nn/flop_count.py: _DEFAULT_SUPPORTED_OPS) ----------------------

# aten ops (as the CPU dispatches them) whose jit-traced op fvcore counts, and how: its
# handles give the same multiply-adds for these (conv_flop_jit, addmm/linear/bmm/matmul)
_FV_DISPATCH_COUNTED = frozenset({"aten.convolution", "aten._convolution", "aten.mm",
                                  "aten.addmm", "aten.bmm", "aten.matmul"})


def fv_inner(c: Call, ctx: Context) -> int:
    """A Python-level function fvcore traces through: the products of the ops it runs that
    fvcore's handles count (convolution, mm, addmm, bmm); baddbmm, mv, dot, fused attention
    and recurrent kernels have no handle."""
    return sum(o.madds for o in c.ops if o.op in _FV_DISPATCH_COUNTED)


def fv_default(c: Call, ctx: Context) -> int:
    """Any call fvcore has no handle for: a Python function is traced through (its inner
    ops count as above); a builtin is one traced op without a handle: 0."""
    return fv_inner(c, ctx) if c.python else 0


def fv_conv(c: Call, ctx: Context) -> int:
    # string padding ('same', 'valid') runs aten::_convolution_mode, which has no handle
    padding = c.arg(4, "padding", 0)
    return 0 if isinstance(padding, str) else fv_inner(c, ctx)


def fv_matmul(c: Call, ctx: Context) -> int:
    """matmul_flop_jit: prod(a.shape) · b.shape[-1], asserting a[-1] == b[-2]."""
    a, b = ([*c.in_tensors, None, None])[:2]
    if a is None or b is None:
        return 0
    if len(b.shape) < 2 or not a.shape or a.shape[-1] != b.shape[-2]:
        raise WouldFail("fvcore-matmul-vector-operand",
                        f"fvcore's matmul handle asserts a[-1] == b[-2] (a {a.shape}, "
                        f"b {b.shape})")
    return a.numel * b.shape[-1]


def fv_einsum(c: Call, ctx: Context) -> int | Fraction:
    """einsum_flop_jit: two equations by formula; any other through
    ``np.einsum_path(optimize="optimal")``'s printed "Optimized FLOP count" (written with
    four significant digits, ``{:.3e}``), halved and floored."""
    equation = c.arg(0, "equation")
    ops = [t for t in c.in_tensors]
    if not isinstance(equation, str) or not ops:
        return 0
    eq = equation.replace(" ", "")
    letters = list(dict.fromkeys(ch for ch in eq if ch.isalpha()))
    eq = eq.translate({ord(x): 97 + i for i, x in enumerate(letters)})
    shapes = [t.shape for t in ops]
    if eq == "abc,abd->acd":
        n, ch, t = shapes[0]
        return n * ch * t * shapes[-1][-1]
    if eq == "abc,adc->adb":
        n, t, g = shapes[0]
        return n * t * g * shapes[-1][1]
    import numpy as np
    from numpy.lib.stride_tricks import as_strided

    arrays = [as_strided(np.empty(1), shape=s, strides=(0,) * len(s)) for s in shapes]
    text = np.einsum_path(eq, *arrays, optimize="optimal")[1]
    for line in text.split("\n"):
        if "optimized flop" in line.lower():
            value = Fraction(float(line.split(":")[-1])) / 2
            return math.floor(value)
    return 0


def _fv_norm(x: Tensor | None, affine: bool) -> int:
    # norm_flop_counter: prod(input) · (5 with affine, 4 without)
    return _n(x) * (5 if affine else 4)


def fv_batch_norm(c: Call, ctx: Context) -> int:
    # batchnorm_flop_jit: training -> norm 5/4; eval -> 1 per element, 2 with affine
    x, weight, training = _in(c), _t(c.arg(3, "weight")), bool(c.arg(5, "training", False))
    if training:
        return _fv_norm(x, weight is not None)
    return _n(x) * (2 if weight is not None else 1)


def fv_instance_norm(c: Call, ctx: Context) -> int:
    # aten::instance_norm: norm_flop_counter(1): the weight is input 1
    return _fv_norm(_in(c), _t(c.arg(3, "weight")) is not None)


def fv_layer_norm(c: Call, ctx: Context) -> int:
    # F.layer_norm and F.group_norm: the weight is argument 2 of both
    return _fv_norm(_in(c), _t(c.arg(2, "weight")) is not None)


def _interp_mode(c: Call) -> str:
    if c.fn == "F.upsample_bilinear":
        return "bilinear"
    if c.fn == "F.upsample_nearest":
        return "nearest"
    mode = c.arg(3, "mode", "nearest")
    return mode if isinstance(mode, str) else "nearest"


def fv_interpolate(c: Call, ctx: Context) -> int:
    """F.interpolate runs one aten op by mode and rank; fvcore has handles for two:
    upsample_nearest2d (1 per output) and upsample_bilinear2d (4 per output); mode 'area' is
    adaptive_avg_pool2d on 4-d input (1 per input); every other op (nearest1d/3d, linear,
    bicubic, trilinear, nearest-exact) has none."""
    x, out = _in(c), _out(c)
    if x is None or out is None:
        return 0
    mode, spatial = _interp_mode(c), len(x.shape) - 2
    if mode == "nearest" and spatial == 2:
        return out.numel
    if mode == "bilinear" and spatial == 2:
        return 4 * out.numel
    if mode == "area" and spatial == 2:
        return x.numel
    return 0


def fv_adaptive_avg_pool2d(c: Call, ctx: Context) -> int:
    return _n(_in(c))  # elementwise_flop_counter(1, 0)


def fv_grid_sample(c: Call, ctx: Context) -> int:
    return 4 * _n(_out(c))  # elementwise_flop_counter(0, 4): "assume bilinear"


# --- thop (profile.py, vision/basic_hooks.py, vision/calc_func.py, rnn_hooks.py) -------------

def _module_in(mc: ModuleCall) -> Tensor | None:
    return _first(mc.args)


def _thop_x0(mc: ModuleCall) -> Tensor | None:
    """``x[0]``, which thop's hooks read as a tensor (``.shape``, ``.numel()``)."""
    if not mc.args:
        return None
    x = mc.args[0]
    if not isinstance(x, Tensor):
        raise WouldFail("thop-hook-tensor-input",
                        f"a thop hook reads x[0].shape; {mc.scope or 'the root'} gets a "
                        f"{type(x).__name__}")
    return x


def _thop_y(mc: ModuleCall) -> Tensor:
    """``y``, the module's output, which thop's hooks read as a tensor."""
    if not isinstance(mc.out, Tensor):
        raise WouldFail("thop-hook-tensor-input",
                        f"a thop hook reads y.shape; {mc.scope or 'the root'} returns a "
                        f"{type(mc.out).__name__}")
    return mc.out


def thop_conv(mc: ModuleCall, info: ModuleInfo, ctx: Context, transposed: bool = False) -> int:
    # calculate_conv2d_flops: prod(output) · (C_in // groups) · prod(k); transpose=True swaps
    # input and output: prod(input) · (C_out // groups) · prod(k)
    x, y, w = _thop_x0(mc), _thop_y(mc), info.attr("weight_shape")
    if x is None or y is None or w is None:
        return 0
    if transposed:
        x, y = y, x
    kdims = len(w) - 2
    return y.numel * (x.shape[-(kdims + 1)] // int(info.attr("groups", 1))) * numel(w[2:])


def thop_norm(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    # count_normalization: calculate_norm = 2 per input element
    return 2 * _n(_thop_x0(mc))


def thop_norm_affine(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    # ... × 2 when the module has `affine` or `elementwise_affine` set
    affine = bool(info.attr("affine", False)) or bool(info.attr("elementwise_affine", False))
    return 2 * _n(_thop_x0(mc)) if affine else 0


def thop_prelu(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    return 0 if info.attr("training") else _n(_thop_x0(mc))


def calculate_softmax(batch: int, n: int) -> int:
    return batch * (n + max(n - 1, 0) + n)


def thop_softmax(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    x = _thop_x0(mc)
    if x is None:
        return 0
    rank = len(x.shape)
    dim = -3 if info.isa("Softmax2d") else info.attr("dim")
    if dim is None:
        dim = 0 if rank in (0, 1, 3) else 1
    n = x.shape[dim] if rank else 1
    batch = x.numel // n if n else 0
    total = calculate_softmax(batch, n)
    if info.isa("Softmin"):
        total += x.numel
    elif info.isa("LogSoftmax"):
        total += batch
    return total


def _as_tuple(v: Any, n: int) -> tuple[int, ...]:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def thop_avgpool(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    """count_avgpool: per pooled dim, the window sizes clipped to the input (or to the padded
    input with count_include_pad), summed over the outputs; × the other dims; + outputs."""
    x, y = _thop_x0(mc), _thop_y(mc)
    if x is None or y is None:
        return 0
    kernel = info.attr("kernel_size")
    if isinstance(kernel, int):
        kernel = (kernel,) * (3 if info.isa("AvgPool3d") else 2)
    dims = len(kernel)
    stride = _as_tuple(info.attr("stride"), dims)
    padding = _as_tuple(info.attr("padding", 0), dims)
    include = bool(info.attr("count_include_pad", True))
    windows = 1
    for size, output, k, s, p in zip(x.shape[-dims:], y.shape[-dims:], kernel, stride, padding,
                                     strict=True):
        lower, upper = (-p, size + p) if include else (0, size)
        windows *= sum(max(min(i * s - p + k, upper) - max(i * s - p, lower), 0)
                       for i in range(output))
    return numel(x.shape[:-dims]) * windows + y.numel


def thop_adaptive_avgpool(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    x, y = _thop_x0(mc), _thop_y(mc)
    if x is None or y is None:
        return 0
    total = 1
    for i, o in zip(x.shape, y.shape, strict=False):
        total *= o if i == o else sum(-(-(j + 1) * i // o) - j * i // o for j in range(o))
    return total + y.numel


_THOP_UPSAMPLE = {"nearest": 0, "nearest-exact": 0, "linear": 5, "bilinear": 11,
                  "bicubic": 259, "trilinear": 31}


def thop_upsample(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    return _THOP_UPSAMPLE.get(str(info.attr("mode")), 0) * _thop_y(mc).numel


def thop_linear(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    return int(info.attr("in_features", 0)) * _thop_y(mc).numel  # calculate_linear(in, y.numel())


def thop_bilinear(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    return (int(info.attr("in1_features")) + 1) * int(info.attr("in2_features")) * \
        _thop_y(mc).numel


def _thop_rows(x: Any) -> int:
    # _cell_evaluations: PackedSequence: sum of batch sizes (its data's rows); (L, H)
    # unbatched: L; else L·N
    if isinstance(x, Other):
        return x.data.shape[0] if isinstance(x.data, Tensor) else 0
    if not isinstance(x, Tensor):
        return 0
    return x.shape[0] if len(x.shape) == 2 else x.shape[0] * x.shape[1]


def _rnn_cell(i: int, h: int, bias: bool) -> int:
    return h * (i + h) + h + (2 * h if bias else 0)


def _gru_cell(i: int, h: int, bias: bool) -> int:
    state = (h + i) * h + h + (2 * h if bias else 0)
    total = 2 * state + (h + i) * h + h + (2 * h if bias else 0) + h
    return total + 3 * h


def _lstm_cell(i: int, h: int, bias: bool, proj: int = 0) -> int:
    real = proj or h
    state = (i + real) * h + h + (2 * h if bias else 0)
    return 4 * state + 3 * h + h + h * proj


def thop_rnn(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    """count_rnn / count_gru / count_lstm: the cell formula per layer (× 2 bidirectional; the
    later layers take 2·H, or P, inputs) × the cell evaluations."""
    x = _first(mc.args)
    rows = _thop_rows(mc.args[0] if mc.args else None)
    if x is None:
        return 0
    i, h = int(info.attr("input_size")), int(info.attr("hidden_size"))
    layers, bias = int(info.attr("num_layers", 1)), bool(info.attr("bias", True))
    bi = bool(info.attr("bidirectional", False))
    proj = int(info.attr("proj_size", 0) or 0)
    if info.isa("LSTM"):
        stacked = proj or h

        def cell(inp: int) -> int:
            return _lstm_cell(inp, h, bias, proj)
    elif info.isa("GRU"):
        stacked = h

        def cell(inp: int) -> int:
            return _gru_cell(inp, h, bias)
    else:
        stacked = h

        def cell(inp: int) -> int:
            return _rnn_cell(inp, h, bias)
    total = cell(i) * (2 if bi else 1)
    for _ in range(layers - 1):
        total += cell(stacked * 2) * 2 if bi else cell(stacked)
    return total * rows


def thop_rnn_cell(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    x = _thop_x0(mc)
    if x is None:
        return 0
    i, h, bias = int(info.attr("input_size")), int(info.attr("hidden_size")), \
        bool(info.attr("bias", True))
    per = (_lstm_cell(i, h, bias) if info.isa("LSTMCell") else _gru_cell(i, h, bias)
           if info.isa("GRUCell") else _rnn_cell(i, h, bias))
    return per * (x.shape[0] if len(x.shape) == 2 else 1)


def _thop_mha(embed: int, heads: int, kdim: int, vdim: int, batch_first: bool, bias_k: bool,
              add_zero: bool, out: Tensor | None, weights: Tensor | None,
              key: Tensor | None) -> int:
    if out is None:
        return 0
    tgt = out.shape[-2] if batch_first or len(out.shape) == 2 else out.shape[0]
    batch = 1 if len(out.shape) == 2 else out.shape[0 if batch_first else 1]
    appended = int(bias_k) + int(add_zero)
    if weights is not None:
        attended = weights.shape[-1]
    else:
        if key is None:
            return 0
        attended = (key.shape[-2] if batch_first or len(key.shape) == 2
                    else key.shape[0]) + appended
    projections = embed * (2 * tgt * embed + (attended - appended) * (kdim + vdim))
    attention = 2 * tgt * attended * embed
    softmax = calculate_softmax(batch * heads * tgt, attended)
    return batch * (projections + attention) + softmax


def thop_mha(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    """count_multihead_attention, from the module's output and its key argument."""
    outs = mc.out if isinstance(mc.out, (tuple, list)) else (mc.out,)
    out = _t(outs[0]) if outs else None
    weights = _t(outs[1]) if len(outs) > 1 else None
    key = _t(mc.arg(1, "key"))
    return _thop_mha(int(info.attr("embed_dim")), int(info.attr("num_heads")),
                     int(info.attr("kdim")), int(info.attr("vdim")),
                     bool(info.attr("batch_first", False)), info.has_param("bias_k"),
                     bool(info.attr("add_zero_attn", False)), out, weights, key)


def thop_matmul(c: Call, ctx: Context) -> int:
    # _count_matmul: y.numel() · a.shape[-1]
    a, y = _in(c), _out(c)
    return _n(y) * a.shape[-1] if a is not None and a.shape else 0


def thop_sdpa(c: Call, ctx: Context) -> int:
    q, k, v = _in(c, 0, "query"), _in(c, 1, "key"), _in(c, 2, "value")
    y = _out(c)
    if q is None or k is None or v is None or y is None:
        return 0
    return y.numel // v.shape[-1] * k.shape[-2] * (q.shape[-1] + v.shape[-1])


def thop_mha_forward(c: Call, ctx: Context) -> int:
    key, value = _t(c.arg(1, "key")), _t(c.arg(2, "value"))
    outs = c.out if isinstance(c.out, (tuple, list)) else (c.out,)
    out = _t(outs[0]) if outs else None
    weights = _t(outs[1]) if len(outs) > 1 else None
    if key is None or value is None:
        return 0
    return _thop_mha(int(c.arg(3, "embed_dim_to_check")), int(c.arg(4, "num_heads")),
                     key.shape[-1], value.shape[-1], False, c.arg(7, "bias_k") is not None,
                     bool(c.arg(9, "add_zero_attn", False)), out, weights, key)


def thop_einsum(c: Call, ctx: Context) -> int:
    """_count_einsum: two operands only (more: 0); the product of every label both operands
    hold or the output keeps, sizes of 1 dropped."""
    equation = c.arg(0, "equation")
    ops = c.in_tensors
    if not isinstance(equation, str) or len(ops) != 2:
        return 0
    lhs, arrow, out = equation.replace(" ", "").partition("->")
    if not arrow:
        out = "..." + "".join(ch for ch in lhs if lhs.count(ch) == 1)
    sizes: list[dict[Any, int]] = []
    for subscripts, t in zip(lhs.split(","), ops, strict=False):
        head, _, tail = subscripts.partition("...")
        n = len(t.shape) - len(head) - len(tail)
        keys: list[Any] = [*head, *range(n, 0, -1), *tail]
        sizes.append({k: d for k, d in zip(keys, t.shape, strict=False) if d != 1})
    total = 1
    for k in sizes[0].keys() | sizes[1].keys():
        if (k in sizes[0] and k in sizes[1]) or (k in out if isinstance(k, str)
                                                  else "..." in out):
            total *= sizes[0].get(k, sizes[1].get(k, 1))
    return total


# --- ptflops, pytorch backend (pytorch_ops.py) --------------------------------------------------

def pt_conv_products(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    """conv_flops_counter_hook: prod(k)·C_in·(C_out/g) per active position (batch × output
    spatial; input spatial when transposed); the bias is :func:`pt_conv_bias`."""
    x, y = _module_in(mc), _out(mc)
    if x is None or y is None:
        return 0
    k = numel(_as_tuple(info.attr("kernel_size"), 1))
    per = k * int(info.attr("in_channels")) * (int(info.attr("out_channels"))
                                               // int(info.attr("groups", 1)))
    spatial = x.shape[2:] if info.attr("transposed") else y.shape[2:]
    return per * x.shape[0] * numel(spatial)


def pt_conv_bias(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    # conv_flops_counter_hook: + batch × prod(output[1:]) with a bias
    x, y = _module_in(mc), _out(mc)
    if x is None or y is None or not _bias_of(info):
        return 0
    return x.shape[0] * numel(y.shape[1:])


def pt_linear_products(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    x, y = _module_in(mc), _out(mc)
    if x is None or y is None:
        return 0
    return x.shape[-1] * y.shape[-1] * numel(x.shape[:-1])


def pt_linear_bias(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    x, y = _module_in(mc), _out(mc)
    if x is None or y is None or not _bias_of(info):
        return 0
    return y.shape[-1] * numel(x.shape[:-1])


def pt_out_numel(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    return _n(_out(mc))  # relu_flops_counter_hook


def pt_in_numel(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    return _n(_module_in(mc))  # pool_flops_counter_hook


def pt_bn(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    # bn_flops_counter_hook: input numel, × 2 when module.affine (LayerNorm has no `affine`)
    return _n(_module_in(mc)) * (2 if info.attr("affine", False) else 1)


def pt_upsample(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    # upsample_flops_counter_hook: output[0] is the first sample: its element count
    y = _out(mc)
    return y.numel // y.shape[0] if y is not None and y.shape and y.shape[0] else 0


def pt_rnn(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    """rnn_flops_counter_hook: per layer w_ih + w_hh numel + the gate arithmetic (RNN H, GRU
    7H, LSTM 10H) + both biases; × input.shape[0] × input.shape[1] (whatever batch_first
    says), × 2 bidirectional."""
    x = _module_in(mc)
    if x is None or len(x.shape) < 2:
        return 0
    h, layers = int(info.attr("hidden_size")), int(info.attr("num_layers", 1))
    sizes = {p.name: p.numel for p in info.direct}
    extra = 10 * h if info.isa("LSTM") else 7 * h if info.isa("GRU") else h
    total = 0
    for i in range(layers):
        total += sizes.get(f"weight_ih_l{i}", 0) + sizes.get(f"weight_hh_l{i}", 0) + extra
        if info.attr("bias", True):
            total += sizes.get(f"bias_ih_l{i}", 0) + sizes.get(f"bias_hh_l{i}", 0)
    total *= x.shape[0] * x.shape[1]
    return total * (2 if info.attr("bidirectional") else 1)


def pt_rnn_cell(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    x = _module_in(mc)
    if x is None:
        return 0
    h = int(info.attr("hidden_size"))
    sizes = {p.name: p.numel for p in info.direct}
    extra = 10 * h if info.isa("LSTMCell") else 7 * h if info.isa("GRUCell") else h
    total = sizes.get("weight_ih", 0) + sizes.get("weight_hh", 0) + extra
    if info.attr("bias", True):
        total += sizes.get("bias_ih", 0) + sizes.get("bias_hh", 0)
    return total * x.shape[0]


def _pt_keywords(ctx: Context) -> bool:
    """ptflops passes the model's inputs as keywords (all but one lone tensor input)."""
    args, kwargs = ctx.inputs
    return bool(kwargs.items if isinstance(kwargs, Dict) else kwargs) or not (
        isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], Tensor))


def pt_mha(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    """multihead_attention_counter_hook (q, k, v = the three positional inputs)."""
    positional = () if mc.parent is None and _pt_keywords(ctx) else mc.args
    if len(positional) != 3 or not all(isinstance(a, Tensor) for a in positional):
        raise WouldFail("ptflops-mha-three-positional-inputs",
                        "ptflops' MultiheadAttention hook unpacks exactly three positional "
                        "inputs")
    q, k, v = mc.args
    bf = bool(info.attr("batch_first", False))
    batch, li = (q.shape[0], 1) if bf else (q.shape[1], 0)
    qdim, kdim, vdim = q.shape[2], k.shape[2], v.shape[2]
    ql, kl, vl = q.shape[li], k.shape[li], v.shape[li]
    heads = int(info.attr("num_heads"))
    flops = ql * qdim + ql * qdim * qdim + kl * kdim * kdim + vl * vdim * vdim
    if any(p.name == "in_proj_bias" for p in info.direct):
        flops += (ql + kl + vl) * qdim
    flops += heads * (ql * kl * (qdim // heads) + ql * kl + ql * kl * (vdim // heads))
    flops += ql * vdim * (vdim + 1)
    return flops * batch


def pt_numel(c: Call, ctx: Context) -> int:
    return _n(_in(c))  # _numel_functional_flops_hook: input.numel()


def pt_interpolate(c: Call, ctx: Context) -> int | Fraction:
    """_interpolate_functional_flops_hook: size given: prod(size) (or size^dims) × N·C;
    else input numel × scale_factor^dims (a float for fractional factors). Mode 'area' then
    calls the patched F.adaptive_avg_pool*d: + the input's numel."""
    x = _in(c)
    if x is None:
        return 0
    return _pt_interpolate(c, x) + (x.numel if _interp_mode(c) == "area" else 0)


def _pt_interpolate(c: Call, x: Tensor) -> int | Fraction:
    nc = numel(x.shape[:2])
    size = c.arg(1, "size")
    if size is not None:
        if isinstance(size, (tuple, list)):
            return numel([int(s) for s in size]) * nc
        return int(size) ** (len(x.shape) - 2) * nc
    sf = c.arg(2, "scale_factor")
    if sf is None:
        return 0
    if isinstance(sf, (tuple, list)) and len(sf) == len(x.shape) - 2:
        return x.numel * int(numel([int(s) for s in sf]))  # int() of each factor's product
    if isinstance(sf, (tuple, list)):
        sf = sf[0]
    value = Fraction(x.numel) * Fraction(float(sf)) ** (len(x.shape) - 2)
    return value if value.denominator != 1 else int(value)


def pt_matmul(c: Call, ctx: Context) -> int:
    # _matmul_tensor_flops_hook: prod(input.shape) · other.shape[-1]
    a, b = ([*c.in_tensors, None, None])[:2]
    if a is None or b is None or not b.shape:
        return 0
    return a.numel * b.shape[-1]


def pt_addmm(c: Call, ctx: Context) -> int:
    # _addmm_tensor_flops_hook: prod(mat1) · mat2[-1] (+ prod(input) when beta != 0)
    inp, m1, m2 = _t(c.arg(0, "input")), _t(c.arg(1, "mat1", c.kwargs.get("batch1"))), \
        _t(c.arg(2, "mat2", c.kwargs.get("batch2")))
    if m1 is None or m2 is None:
        return 0
    total = m1.numel * m2.shape[-1]
    if c.kwargs.get("beta", 1) != 0:
        total += _n(inp)
    return total


def pt_elementwise(c: Call, ctx: Context) -> int:
    """_elementwise_tensor_flops_hook: the larger of each dim (trailing-aligned from the
    left), numel of the tensor when the other is a number, 1 for two numbers."""
    a, b = c.arg(0, "input"), c.arg(1, "other")
    if not isinstance(a, Tensor):
        return b.numel if isinstance(b, Tensor) else 1
    if not isinstance(b, Tensor):
        return a.numel
    n = max(len(a.shape), len(b.shape))
    shape = [max(a.shape[i] if i < len(a.shape) else 1, b.shape[i] if i < len(b.shape) else 1)
             for i in range(n)]
    return numel(shape)


def pt_lrn(c: Call, ctx: Context) -> int:
    """F.local_response_norm calls the patched F.avg_pool2d (3-d input) or F.avg_pool3d (their
    padded input's numel) and the patched Tensor.mul / Tensor.add (input.mul(input),
    div.mul(alpha).add(k): one per element each); its pow and / are not patched."""
    total = 0
    for o in c.ops:
        if o.op in ("aten.avg_pool2d", "aten.avg_pool3d") and o.ins and o.ins[0]:
            total += numel(o.ins[0])
        elif o.op in ("aten.mul", "aten.add") and o.out:
            total += numel(o.out)
    return total


def pt_mha_forward(c: Call, ctx: Context) -> int:
    # F.multi_head_attention_forward calls the patched softmax and, for its weights,
    # torch.bmm / torch.baddbmm: their hooks' counts, from the ops they ran
    total = 0
    for o in c.ops:
        if o.op == "aten.bmm" and o.ins[0] and o.ins[1]:
            total += numel(o.ins[0]) * o.ins[1][-1]
        elif o.op == "aten.baddbmm" and o.ins[1] and o.ins[2]:
            total += numel(o.ins[1]) * o.ins[2][-1] + numel(o.ins[0] or ())
        elif o.op == "aten._softmax" and o.ins[0]:
            total += numel(o.ins[0])
    return total


# --- torchinfo (layer_info.py: LayerInfo.calculate_size, calculate_macs; model_statistics.py)

def _nested_list_size(x: Tree) -> tuple[list[int], int]:
    if isinstance(x, Other) and x.tensors is not None:
        return _nested_list_size(x.tensors)
    if isinstance(x, Tensor):
        return list(x.shape), x.itemsize
    if isinstance(x, Dict):
        if not x.items:
            return [], 0
        return _nested_list_size([v for _, v in x.items])
    if isinstance(x, (tuple, list)):
        if not x:
            return [], 0
        return _nested_list_size(x[0])
    return [], 0


def torchinfo_size(x: Tree) -> tuple[list[int], int]:
    """LayerInfo.calculate_size(outputs, batch_dim=None): (size, bytes per element); raises
    WouldFail for an output type torchinfo refuses."""
    if x is None:
        return [], 0
    if isinstance(x, (tuple, list)) and x and (
            isinstance(x[0], Tensor) or (isinstance(x[0], Other) and x[0].data is not None)):
        first = x[0] if isinstance(x[0], Tensor) else x[0].data
        assert isinstance(first, Tensor)
        return list(first.shape), first.itemsize
    if isinstance(x, Dict):
        if not x.items:
            raise WouldFail("torchinfo-unsupported-output", "an empty dict output")
        return _nested_list_size(x.items[-1][1])
    if isinstance(x, Tensor):
        return list(x.shape), x.itemsize
    if isinstance(x, (tuple, list)):
        return _nested_list_size(x)
    raise WouldFail("torchinfo-unsupported-output",
                    f"a layer returns {getattr(x, 'cls', type(x).__name__)}, which "
                    "LayerInfo.calculate_size refuses")


def _torchinfo_pieces(mc: ModuleCall, info: ModuleInfo) -> tuple[int, int, int]:
    """(weight pieces, bias pieces, inner 'weight'/'bias' pieces) of calculate_macs."""
    size, _ = torchinfo_size(mc.out)
    conv = "Conv" in info.cls
    weight = bias = inner = 0
    for p in info.params:
        if p.name in ("weight", "bias"):
            value = p.numel * (numel(size[:1] + size[2:]) if conv else
                               (size[0] if size else 0))
            if p.name == "weight":
                weight += value
            else:
                bias += value
        elif "weight" in p.name or "bias" in p.name:
            inner += numel(size[:2]) * p.numel
    return weight, bias, inner


def ti_products(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    weight, _, inner = _torchinfo_pieces(mc, info)
    return weight + inner


def ti_bias(mc: ModuleCall, info: ModuleInfo, ctx: Context) -> int:
    return _torchinfo_pieces(mc, info)[1]


def ti_output_bytes(mc: ModuleCall, info: ModuleInfo) -> int:
    size, itemsize = torchinfo_size(mc.out)
    return itemsize * numel(size)


# --- conditions under which a peer raises -------------------------------------------------------

def module_in_autograd_function(ctx: Context) -> bool:
    """A module is called inside a custom autograd Function's forward (RevNet's reversible
    blocks): fvcore's scope hooks fire inside the traced PythonOp and the trace breaks."""
    return any(mc.in_function for mc in ctx.module_calls)


def _traceable(tree: Tree) -> bool:
    if isinstance(tree, (Tensor, str)):
        return True
    if isinstance(tree, (tuple, list)):
        return all(_traceable(t) for t in tree)
    if isinstance(tree, Dict):
        return all(_traceable(v) for _, v in tree.items)
    return False


def output_not_traceable(ctx: Context) -> bool:
    """The model returns something a jit trace cannot output: an object (a transformers
    Cache), a number or None among its tensors."""
    return not _traceable(ctx.output)


FAILS: dict[str, Callable[[Context], bool]] = {
    "module_in_autograd_function": module_in_autograd_function,
    "output_not_traceable": output_not_traceable,
}

CALL: dict[str, Callable[[Call, Context], Number]] = {
    "zero": lambda c, ctx: 0,
    "fv_inner": fv_inner,
    "fv_default": fv_default,
    "fv_conv": fv_conv,
    "fv_matmul": fv_matmul,
    "fv_einsum": fv_einsum,
    "fv_batch_norm": fv_batch_norm,
    "fv_instance_norm": fv_instance_norm,
    "fv_layer_norm": fv_layer_norm,
    "fv_group_norm": fv_layer_norm,
    "fv_interpolate": fv_interpolate,
    "fv_adaptive_avg_pool2d": fv_adaptive_avg_pool2d,
    "fv_grid_sample": fv_grid_sample,
    "thop_matmul": thop_matmul,
    "thop_sdpa": thop_sdpa,
    "thop_mha_forward": thop_mha_forward,
    "thop_einsum": thop_einsum,
    "pt_numel": pt_numel,
    "pt_interpolate": pt_interpolate,
    "pt_matmul": pt_matmul,
    "pt_addmm": pt_addmm,
    "pt_elementwise": pt_elementwise,
    "pt_lrn": pt_lrn,
    "pt_mha_forward": pt_mha_forward,
}

MODULE: dict[str, Callable[[ModuleCall, ModuleInfo, Context], Number]] = {
    "zero": lambda mc, info, ctx: 0,
    "thop_conv": thop_conv,
    "thop_convt": lambda mc, info, ctx: thop_conv(mc, info, ctx, transposed=True),
    "thop_norm": thop_norm,
    "thop_norm_affine": thop_norm_affine,
    "thop_prelu": thop_prelu,
    "thop_softmax": thop_softmax,
    "thop_avgpool": thop_avgpool,
    "thop_adaptive_avgpool": thop_adaptive_avgpool,
    "thop_upsample": thop_upsample,
    "thop_linear": thop_linear,
    "thop_bilinear": thop_bilinear,
    "thop_rnn": thop_rnn,
    "thop_rnn_cell": thop_rnn_cell,
    "thop_mha": thop_mha,
    "pt_conv_products": pt_conv_products,
    "pt_conv_bias": pt_conv_bias,
    "pt_linear_products": pt_linear_products,
    "pt_linear_bias": pt_linear_bias,
    "pt_out_numel": pt_out_numel,
    "pt_in_numel": pt_in_numel,
    "pt_bn": pt_bn,
    "pt_upsample": pt_upsample,
    "pt_rnn": pt_rnn,
    "pt_rnn_cell": pt_rnn_cell,
    "pt_mha": pt_mha,
    "ti_products": ti_products,
    "ti_bias": ti_bias,
}

__all__ = ["CALL", "FAILS", "MODULE", "ROW", "WouldFail", "torchinfo_size"]
