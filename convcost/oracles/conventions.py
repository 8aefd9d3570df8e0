"""What each peer counts, as data: one adapter per peer, a table from convcost's op labels to
the quantities the peer charges for such a row, and the named rules that explain every way the
peer's number departs from convcost's multiply-adds.

Pure Python (no torch): a prediction is computed from the analytic engine's rows
(:class:`convcost.engine.Row`) alone.

A table key is an op label (``conv2d``) or an op label at a module class (``relu@ReLU``); the
more specific key wins; every label must be one a counter declares (:mod:`convcost.engine.labels`),
or the adapter fails at import. A row whose op is in no key contributes nothing (``unmapped``):
if the peer does count it, the difference shows up as unexplained, never silently.

Each :class:`Term` is ``coef × quantity(row)``. A term with ``rule=None`` is convcost's own
multiply-add count (coefficient 1); every other term names the :class:`Rule` that makes the
peer count it, so a peer's figure decomposes into ``madds + Σ rule contributions``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from convcost.engine import Row
from convcost.engine.labels import CONV_TRANSPOSE_LABELS, Family, declared, labels
from convcost.formulas import numel


def _in_numel(r: Row) -> int:
    return numel(r.in_shapes[0]) if r.in_shapes else 0


def _out_numel(r: Row) -> int:
    return numel(r.out_shape) if r.out_shape else 0


def _bias_adds(r: Row) -> int:
    # conv / linear / addmm: flops beyond 2·madds are the bias (or added-tensor) adds, 1 per
    # output element (docs/conventions.md, Convolution and Linear tables)
    return r.cost.flops - 2 * r.cost.madds


def _in_numel_if_affine(r: Row) -> int:
    # a norm row owns its affine parameters (2C for BatchNorm); none -> no affine
    return _in_numel(r) if r.cost.params > 0 else 0


def _batch(r: Row) -> int:
    return r.out_shape[0] if r.out_shape else 1


def _batch_x_params(r: Row) -> int:
    return _batch(r) * r.cost.params


def _linear_rows_missed(r: Row) -> int:
    # torchinfo charges batch × (weight + bias) = madds + bias adds only when the input is 2-d;
    # this is the (negative) remainder for (B, L, in) inputs
    return _batch_x_params(r) - r.cost.madds - _bias_adds(r)


def _transpose_output_side_excess(r: Row) -> int:
    # weight numel = madds / (N·∏in spatial) (input-side count); output side = that × N·∏out
    if not r.in_shapes or r.cost.madds == 0:
        return 0
    n_in = r.in_shapes[0][0] * math.prod(r.in_shapes[0][2:])
    n_out = r.out_shape[0] * math.prod(r.out_shape[2:])
    return r.cost.madds * n_out // n_in - r.cost.madds


def _pool_outputs_plus_windows(r: Row) -> int:
    # thop's average pools: every pooled input (= convcost's pool flops, one per window element)
    # plus one divide per output
    return r.cost.flops + _out_numel(r)


QUANTITIES: dict[str, Callable[[Row], int]] = {
    "madds": lambda r: r.cost.madds,
    "flops": lambda r: r.cost.flops,
    "bias_adds": _bias_adds,
    "in_numel": _in_numel,
    "out_numel": _out_numel,
    "in_numel_if_affine": _in_numel_if_affine,
    "batch_x_params": _batch_x_params,
    "linear_rows_missed": _linear_rows_missed,
    "transpose_output_side_excess": _transpose_output_side_excess,
    "pool_windows_plus_outputs": _pool_outputs_plus_windows,
}


# --- data types ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """A documented way a peer's count departs from convcost's multiply-adds."""

    id: str
    peer: str
    description: str
    version: str  # the peer version the rule was verified on (read in its source and run)


@dataclass(frozen=True, slots=True)
class Term:
    coef: int
    quantity: str  # key of QUANTITIES
    rule: str | None = None  # None: convcost's own multiply-adds
    per_sample: bool = False  # divided by the batch (ptflops' module hooks)


@dataclass(frozen=True)
class Adapter:
    """What one peer counts, per convcost row."""

    peer: str
    tool: str  # how the user calls it
    package: str  # distribution name, for the version and the install hint
    verified: str  # version the table was verified on
    metric: str  # the peer's number: madds-like ("MACs") or flops
    table: Mapping[str, tuple[Term, ...]]
    rules: tuple[Rule, ...]
    truncate: bool = False  # the peer returns int() of a fractional figure
    rest_zero: bool = False  # dispatch-level peers: an unlisted op without madds counts 0
    fallback: tuple[Term, ...] | None = None  # the terms of any row the table does not list
    per_sample_rule: str | None = None  # the rule a per-sample split of madds is charged to

    @property
    def hint(self) -> str:
        return f"pip install {self.package}"

    def __post_init__(self) -> None:
        declared(*(key.partition("@")[0] for key in self.table))

    def terms_for(self, row: Row) -> tuple[Term, ...] | None:
        """The terms for ``row``: ``op@Module`` first, then ``op``; None = unmapped."""
        found = self.table.get(f"{row.op}@{row.module}")
        if found is None:
            found = self.table.get(row.op)
        if found is None and self.rest_zero and row.cost.madds == 0:
            return ()
        return self.fallback if found is None else found


M = Term(1, "madds")  # convcost's multiply-adds, no rule needed
_TCONVS = tuple(sorted(CONV_TRANSPOSE_LABELS))
_CONVS = tuple(sorted(labels(Family.CONV) - CONV_TRANSPOSE_LABELS))
_DENSE = (*_CONVS, *_TCONVS, *sorted(labels(Family.LINEAR)))  # linear, matmul, addmm
_ADAPTIVE_AVG_MODULES = ("AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d")
_ADAPTIVE_AVG_OPS = ("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d")


def _adaptive_avg_keys() -> list[str]:
    # nn.AdaptiveAvgPool2d(1) runs as aten.mean (convcost label "mean"); the peers see the module
    # (or, for fvcore, aten::adaptive_avg_pool2d in the trace)
    return [*_ADAPTIVE_AVG_OPS, *(f"mean@{m}" for m in _ADAPTIVE_AVG_MODULES)]


# --- fvcore -------------------------------------------------------------------------------------

FVCORE_V = "0.1.5.post20221221"
_FV_RULES = (
    Rule("fvcore-bn-per-element", "fvcore",
         "aten::batch_norm in eval (batchnorm_flop_jit): 1 per input element, 2 with affine",
         FVCORE_V),
    Rule("fvcore-norm-per-element", "fvcore",
         "group_norm / layer_norm (norm_flop_counter): 4 per element, 5 with affine", FVCORE_V),
    Rule("fvcore-adaptive-avg-pool-inputs", "fvcore",
         "aten::adaptive_avg_pool2d: 1 per input element (elementwise_flop_counter(1, 0))",
         FVCORE_V),
    Rule("fvcore-sdpa-unsupported", "fvcore",
         "scaled_dot_product_attention is not in its handles: 0, listed as unsupported",
         FVCORE_V),
)
FVCORE = Adapter(
    peer="fvcore", tool="fvcore.nn.FlopCountAnalysis(model, x).total()", package="fvcore",
    verified=FVCORE_V, metric="madds-like (1 per multiply-add)",
    table={
        **{k: (M,) for k in _DENSE},
        "batch_norm": (Term(1, "in_numel", "fvcore-bn-per-element"),
                       Term(1, "in_numel_if_affine", "fvcore-bn-per-element")),
        **{k: (Term(4, "in_numel", "fvcore-norm-per-element"),
               Term(1, "in_numel_if_affine", "fvcore-norm-per-element"))
           for k in ("layer_norm", "group_norm")},
        **{k: (Term(1, "in_numel", "fvcore-adaptive-avg-pool-inputs"),)
           for k in _adaptive_avg_keys()},
        "attention": (M, Term(-1, "madds", "fvcore-sdpa-unsupported")),
        # 0: relu is in _IGNORED_OPS; the other activations, pools, add, mul, mean are
        # unsupported (0, listed by unsupported_ops()); cat, copies, views ignored
        **{k: () for k in ("relu", "relu6", "hardswish", "hardsigmoid", "sigmoid", "silu",
                           "gelu", "tanh", "softmax", "max_pool1d", "max_pool2d", "max_pool3d",
                           "avg_pool1d", "avg_pool2d", "avg_pool3d", "add", "sub", "mul",
                           "gate_mul", "div", "mean", "cat", "copy", "pad", "fill",
                           "unused_params")},
    },
    rules=_FV_RULES,
)

# --- thop ---------------------------------------------------------------------------------------

THOP_V = "2.2.3"
_THOP_RULES = (
    Rule("thop-norm-2-per-element", "thop",
         "count_normalization: calculate_norm = 2 per input element (BatchNorm, LayerNorm, "
         "GroupNorm, InstanceNorm modules)", THOP_V),
    Rule("thop-norm-affine-doubles", "thop",
         "count_normalization: × 2 again with affine / elementwise_affine -> 4 per element",
         THOP_V),
    Rule("thop-avg-pool-windows-and-divides", "thop",
         "count_avgpool / count_adap_avgpool: 1 add per pooled input (exact windows) + 1 divide "
         "per output, where convcost counts the window elements only; windows clipped by "
         "count_include_pad=False or ceil_mode are not modelled", THOP_V),
    Rule("thop-prelu-per-element", "thop", "count_prelu: 1 per input element in eval", THOP_V),
)
_NORM_MODULES = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d")
THOP = Adapter(
    peer="thop", tool="thop.profile(model, (x,))", package="ultralytics-thop", verified=THOP_V,
    metric="madds-like (\"MACs\")",
    table={
        **{k: (M,) for k in (*_CONVS, *_TCONVS, "linear", "matmul", "attention")},
        **{f"batch_norm@{m}": (Term(2, "in_numel", "thop-norm-2-per-element"),
                               Term(2, "in_numel_if_affine", "thop-norm-affine-doubles"))
           for m in _NORM_MODULES},
        "layer_norm@LayerNorm": (Term(2, "in_numel", "thop-norm-2-per-element"),
                                 Term(2, "in_numel_if_affine", "thop-norm-affine-doubles")),
        "group_norm@GroupNorm": (Term(2, "in_numel", "thop-norm-2-per-element"),
                                 Term(2, "in_numel_if_affine", "thop-norm-affine-doubles")),
        **{k: (Term(1, "pool_windows_plus_outputs", "thop-avg-pool-windows-and-divides"),)
           for k in (*_adaptive_avg_keys(), "avg_pool1d@AvgPool1d", "avg_pool2d@AvgPool2d",
                     "avg_pool3d@AvgPool3d")},
        "prelu@PReLU": (Term(1, "in_numel", "thop-prelu-per-element"),),
        # 0: ReLU, ReLU6, LeakyReLU, max pools are zero_ops; SiLU, Sigmoid, Hardswish,
        # Hardsigmoid, GELU have no rule; x + y, x * g, torch.cat are not module calls
        **{k: () for k in ("relu", "relu6", "hardswish", "hardsigmoid", "sigmoid", "silu",
                           "gelu", "tanh", "max_pool1d", "max_pool2d", "max_pool3d", "add",
                           "sub", "mul", "gate_mul", "div", "mean", "cat", "copy", "pad",
                           "fill", "unused_params")},
    },
    rules=_THOP_RULES,
)

# --- ptflops, pytorch backend -------------------------------------------------------------------

PTFLOPS_V = "0.7.5"
_PT_RULES = (
    Rule("ptflops-bias-adds", "ptflops-pytorch",
         "conv_flops_counter_hook / linear_flops_counter_hook: + 1 per output element for the "
         "bias", PTFLOPS_V),
    Rule("ptflops-bn-per-element", "ptflops-pytorch",
         "bn_flops_counter_hook: 1 per input element, × 2 with affine (a LayerNorm has no "
         "`affine` attribute: 1)", PTFLOPS_V),
    Rule("ptflops-activation-module-hook", "ptflops-pytorch",
         "relu_flops_counter_hook: 1 per output element of nn.ReLU, ReLU6, PReLU, ELU, "
         "LeakyReLU, GELU", PTFLOPS_V),
    Rule("ptflops-pool-module-hook", "ptflops-pytorch",
         "pool_flops_counter_hook: 1 per input element of every nn.*Pool* module", PTFLOPS_V),
    Rule("ptflops-functional-double-count", "ptflops-pytorch",
         "patch_functional also counts F.relu, F.gelu, F.silu, F.softmax and every F.*pool* "
         "(1 per input element, whole batch), so modules that call them (nn.ReLU, nn.MaxPool2d, "
         "nn.AdaptiveAvgPool2d, ...) are counted a second time; nn.ReLU6 calls F.hardtanh, "
         "which is not patched", PTFLOPS_V),
    Rule("ptflops-per-sample-module-hooks", "ptflops-pytorch",
         "compute_average_flops_cost divides the module-hook sum by the batch ('per image'); "
         "the patched functional counts stay whole-batch; the total is int()", PTFLOPS_V),
)
# (convcost op label, module class) of every pool module ptflops hooks; each calls F.*pool*
_PT_POOLS = tuple(
    [(f"{kind}_pool{d}d", f"{kind.title()}Pool{d}d") for kind in ("max", "avg") for d in (1, 2, 3)]
    + [(f"adaptive_{kind}_pool{d}d", f"Adaptive{kind.title()}Pool{d}d")
       for kind in ("max", "avg") for d in (1, 2, 3)]
    + [("mean", m) for m in _ADAPTIVE_AVG_MODULES])


def _pool_module_terms(patched: bool) -> tuple[Term, ...]:
    hook = Term(1, "in_numel", "ptflops-pool-module-hook", per_sample=True)
    if not patched:
        return (hook,)
    return (hook, Term(1, "in_numel", "ptflops-functional-double-count"))


PTFLOPS_PYTORCH = Adapter(
    peer="ptflops-pytorch",
    tool="ptflops.get_model_complexity_info(model, res, backend='pytorch')",
    package="ptflops", verified=PTFLOPS_V, metric="madds-like (\"MACs\")",
    table={
        **{f"{op}@{op[:-2].replace('conv_transpose', 'ConvTranspose').replace('conv', 'Conv')}"
           f"{op[-2:]}": (Term(1, "madds", per_sample=True),
                          Term(1, "bias_adds", "ptflops-bias-adds", per_sample=True))
           for op in (*_CONVS, *_TCONVS)},
        "linear@Linear": (Term(1, "madds", per_sample=True),
                          Term(1, "bias_adds", "ptflops-bias-adds", per_sample=True)),
        **{f"batch_norm@{m}": (
            Term(1, "in_numel", "ptflops-bn-per-element", per_sample=True),
            Term(1, "in_numel_if_affine", "ptflops-bn-per-element", per_sample=True))
           for m in _NORM_MODULES},
        "layer_norm@LayerNorm": (Term(1, "in_numel", "ptflops-bn-per-element", per_sample=True),),
        "group_norm@GroupNorm": (
            Term(1, "in_numel", "ptflops-bn-per-element", per_sample=True),
            Term(1, "in_numel_if_affine", "ptflops-bn-per-element", per_sample=True)),
        "relu@ReLU": (Term(1, "out_numel", "ptflops-activation-module-hook", per_sample=True),
                      Term(1, "in_numel", "ptflops-functional-double-count")),
        "relu6@ReLU6": (Term(1, "out_numel", "ptflops-activation-module-hook",
                             per_sample=True),),
        "leaky_relu@LeakyReLU": (Term(1, "out_numel", "ptflops-activation-module-hook",
                                      per_sample=True),),
        "gelu@GELU": (Term(1, "out_numel", "ptflops-activation-module-hook", per_sample=True),
                      Term(1, "in_numel", "ptflops-functional-double-count")),
        "silu@SiLU": (Term(1, "in_numel", "ptflops-functional-double-count"),),
        "softmax@Softmax": (Term(1, "in_numel", "ptflops-functional-double-count"),),
        **{f"{op}@{mod}": _pool_module_terms(True) for op, mod in _PT_POOLS},
        # 0: Sigmoid, Hardswish, Hardsigmoid modules and F.hardswish / torch.sigmoid are not
        # hooked; `x + y` and `x * g` (operators) are not patched, only torch.add / Tensor.add
        **{k: () for k in ("hardswish", "hardsigmoid", "sigmoid", "tanh", "add", "sub", "mul",
                           "gate_mul", "div", "mean", "cat", "copy", "pad", "fill",
                           "unused_params")},
    },
    rules=_PT_RULES,
    truncate=True,
    per_sample_rule="ptflops-per-sample-module-hooks",
)

# --- ptflops, aten backend ----------------------------------------------------------------------

_PA_RULES = (
    Rule("ptflops-aten-bias-adds", "ptflops-aten",
         "conv_flop(bias=b is not None) and addmm_flop: + 1 per output element for the bias",
         PTFLOPS_V),
    Rule("ptflops-aten-sdpa-unseen", "ptflops-aten",
         "ATEN_OPS_MAPPING holds only mm, matmul, addmm, bmm, convolution: attention kernels "
         "count 0", PTFLOPS_V),
)
PTFLOPS_ATEN = Adapter(
    peer="ptflops-aten",
    tool="ptflops.get_model_complexity_info(model, res, backend='aten')",
    package="ptflops", verified=PTFLOPS_V, metric="madds-like (\"MACs\")",
    table={
        **{k: (M, Term(1, "bias_adds", "ptflops-aten-bias-adds"))
           for k in (*_CONVS, *_TCONVS, "linear", "addmm")},
        "matmul": (M,),
        "attention": (M, Term(-1, "madds", "ptflops-aten-sdpa-unseen")),
    },
    rules=_PA_RULES,
    rest_zero=True,
)

# --- torchinfo ----------------------------------------------------------------------------------

TORCHINFO_V = "1.8.0"
_TI_RULES = (
    Rule("torchinfo-bias-adds", "torchinfo",
         "LayerInfo.calculate_macs: conv (weight + bias numel) × N × ∏out, others "
         "batch × (weight + bias): the bias adds, 1 per output element", TORCHINFO_V),
    Rule("torchinfo-params-times-batch", "torchinfo",
         "LayerInfo.calculate_macs: every leaf module with parameters that is not a Conv: "
         "output_size[0] × its parameters (BatchNorm: N × 2C)", TORCHINFO_V),
    Rule("torchinfo-linear-leading-dims", "torchinfo",
         "nn.Linear on (B, L, in): B × params, the L rows are not counted", TORCHINFO_V),
    Rule("torchinfo-transpose-output-side", "torchinfo",
         "ConvTranspose: weight numel × N × ∏out (output side), ≈ stride^d too large",
         TORCHINFO_V),
    Rule("torchinfo-output-bytes-x2", "torchinfo",
         "total_output_bytes = 2 × the output bytes of every leaf layer with parameters "
         "(\"x2 for gradients\"), each call counted", TORCHINFO_V),
)
TORCHINFO = Adapter(
    peer="torchinfo", tool="torchinfo.summary(model, input_size).total_mult_adds",
    package="torchinfo", verified=TORCHINFO_V, metric="madds-like (\"Mult-Adds\")",
    table={
        **{f"{op}@Conv{op[-2:]}": (M, Term(1, "bias_adds", "torchinfo-bias-adds"))
           for op in _CONVS},
        **{f"{op}@ConvTranspose{op[-2:]}": (
            M, Term(1, "bias_adds", "torchinfo-bias-adds"),
            Term(1, "transpose_output_side_excess", "torchinfo-transpose-output-side"))
           for op in _TCONVS},
        "linear@Linear": (M, Term(1, "bias_adds", "torchinfo-bias-adds"),
                          Term(1, "linear_rows_missed", "torchinfo-linear-leading-dims")),
        **{f"{op}@{mod}": (Term(1, "batch_x_params", "torchinfo-params-times-batch"),)
           for op, mod in (*(("batch_norm", m) for m in _NORM_MODULES),
                           ("layer_norm", "LayerNorm"), ("group_norm", "GroupNorm"),
                           ("prelu", "PReLU"))},
        # 0: modules without parameters, and everything functional
        **{k: () for k in ("relu", "relu6", "hardswish", "hardsigmoid", "sigmoid", "silu",
                           "gelu", "tanh", "softmax", "max_pool1d", "max_pool2d", "max_pool3d",
                           "avg_pool1d", "avg_pool2d", "avg_pool3d", *_ADAPTIVE_AVG_OPS, "add",
                           "sub", "mul", "gate_mul", "div", "mean", "cat", "copy", "pad",
                           "fill", "matmul", "unused_params")},
    },
    rules=_TI_RULES,
)

# --- torch.utils.flop_counter.FlopCounterMode ---------------------------------------------------

TORCH_V = "2.13.0"
_FC_RULES = (
    Rule("flopcounter-2-per-madd", "torch-flopcounter",
         "flop_registry counts 2 flops per multiply-add (mm_flop = m·n·2·k, conv × 2); "
         "bias, norms, activations, pooling, elementwise are not registered", TORCH_V),
    Rule("flopcounter-cpu-sdpa-zero", "torch-flopcounter",
         "_scaled_dot_product_flash_attention_for_cpu is not in flop_registry: CPU attention "
         "counts 0 (the CUDA flash / efficient / cuDNN kernels are registered)", TORCH_V),
)
_TWO = (M, Term(1, "madds", "flopcounter-2-per-madd"))
FLOPCOUNTER = Adapter(
    peer="torch-flopcounter",
    tool="torch.utils.flop_counter.FlopCounterMode(display=False).get_total_flops()",
    package="torch", verified=TORCH_V, metric="flops (2 per multiply-add)",
    table={
        **{k: _TWO for k in _DENSE},
        "attention": (M, Term(-1, "madds", "flopcounter-cpu-sdpa-zero")),
    },
    rules=_FC_RULES,
    rest_zero=True,
)

# --- convcost's own real run --------------------------------------------------------------------

_REAL_RULES = ()
REAL = Adapter(
    peer="real", tool="convcost's own op-level counter on a real CPU run (oracles/real.py)",
    package="torch", verified=TORCH_V, metric="madds",
    table={},
    rules=_REAL_RULES,
    fallback=(M,),  # every row's multiply-adds, nothing else
)

ADAPTERS: dict[str, Adapter] = {a.peer: a for a in (
    REAL, FVCORE, THOP, PTFLOPS_PYTORCH, PTFLOPS_ATEN, TORCHINFO, FLOPCOUNTER)}

# rules that are not about one op's count
GENERAL_RULES = (
    Rule("params-unique", "thop, ptflops-pytorch, ptflops-aten, torchinfo",
         "parameter totals: thop and ptflops sum model.parameters() (unique tensors; ptflops "
         "only requires_grad ones), torchinfo sums leaf layers' parameters; all equal "
         "convcost's params on models without frozen or tied weights", "see each peer"),
)

RULES: dict[str, Rule] = {r.id: r for a in ADAPTERS.values() for r in a.rules}
RULES.update({r.id: r for r in GENERAL_RULES})


# --- prediction ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """What a peer should report for some rows: the value and its decomposition."""

    value: Fraction
    madds: int  # convcost's own multiply-adds of those rows
    by_rule: dict[str, Fraction]  # rule id -> its contribution (value = madds part + Σ)
    unmapped: dict[str, int]  # op label -> rows the adapter has no entry for

    def __add__(self, other: Prediction) -> Prediction:
        rules = dict(self.by_rule)
        for k, v in other.by_rule.items():
            rules[k] = rules.get(k, Fraction(0)) + v
        unmapped = dict(self.unmapped)
        for k, n in other.unmapped.items():
            unmapped[k] = unmapped.get(k, 0) + n
        return Prediction(self.value + other.value, self.madds + other.madds, rules, unmapped)


EMPTY = Prediction(Fraction(0), 0, {}, {})


def predict(adapter: Adapter, rows: Iterable[Row], batch: int = 1) -> Prediction:
    """Sum the adapter's terms over ``rows`` (exact: fractions only for per-sample terms)."""
    value = Fraction(0)
    madds = 0
    by_rule: dict[str, Fraction] = {}
    unmapped: dict[str, int] = {}
    for row in rows:
        madds += row.cost.madds
        terms = adapter.terms_for(row)
        if terms is None:
            unmapped[row.op] = unmapped.get(row.op, 0) + 1
            continue
        for t in terms:
            v = Fraction(t.coef * QUANTITIES[t.quantity](row))
            if t.per_sample:
                v /= batch
            value += v
            if t.rule is not None and v:
                by_rule[t.rule] = by_rule.get(t.rule, Fraction(0)) + v
            elif t.rule is None and t.per_sample and batch > 1 and adapter.per_sample_rule:
                # the per-sample split of convcost's own madds is the peer's batch rule
                rule = adapter.per_sample_rule
                by_rule[rule] = by_rule.get(rule, Fraction(0)) + v - t.coef * row.cost.madds
    return Prediction(value, madds, by_rule, unmapped)


__all__ = ["ADAPTERS", "EMPTY", "GENERAL_RULES", "QUANTITIES", "RULES", "Adapter", "Prediction",
           "Rule", "Term", "predict"]
