"""What each peer counts, as data: one adapter per peer, and the named rules that explain
every way the peer's number departs from convcost's multiply-adds.

Pure Python (no torch). A peer's predicted figure is convcost's own multiply-adds (from its
rows, :class:`convcost.engine.Row`) plus one contribution per named :class:`Rule`, computed
from the rows and from what was observed of the model while it ran
(:class:`convcost.oracles.context.Context`), by the formulas of
:mod:`convcost.oracles.quantities`. An adapter has up to three tables, after what the peer
keys on:

* ``table`` and ``aten``: convcost's rows, by op label (``conv2d``) or op label at a module
  class (``relu@ReLU``), and by aten op (``aten.baddbmm``) for the peers that see aten ops
  (``torch-flopcounter``, ``ptflops-aten``, ``real``). Each entry is a tuple of :class:`Term`
  (``coef × quantity(row)``); a row no key lists takes its multiply-adds and ``row_default``.
* ``calls``: the torch functions the model's code called (``F.relu``, ``torch.einsum``,
  ``Tensor.matmul``; ``Tensor.matmul@operator`` for ``x @ y``), for the peers that hook or trace
  functions (fvcore's jit trace, ptflops' patched functionals, thop's function counter).
* ``modules``: module classes, for the peers that hook modules (thop through the MRO, ptflops by
  exact type, torchinfo on leaf modules).

Each call and module entry is a :class:`Hook`: the peer's own count of the products it covers
(which replaces convcost's multiply-adds of those ops; a difference is charged to the hook's
rule) and further counts, each with its rule. Every multiply-add of the run belongs to exactly
one owner per peer: the function call that ran it, if the peer hooks that function; else the
innermost hooked module around it; else nobody, and then the peer does not count it
(``unseen_rule``). So ``prediction = convcost madds + Σ rule contributions`` exactly, and a
difference no rule explains shows up as unexplained, never silently.

A row label in ``table`` must be one a counter declares (:mod:`convcost.engine.labels`), or the
adapter fails at import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from convcost.engine import Row
from convcost.engine.labels import declared
from convcost.oracles.context import ModuleInfo
from convcost.oracles.quantities import CALL, FAILS, MODULE, ROW

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
    quantity: str  # key of quantities.ROW
    rule: str | None = None  # None: convcost's own multiply-adds


@dataclass(frozen=True, slots=True)
class Extra:
    """A count a hook adds beyond products: ``coef × quantity``, charged to ``rule``."""

    quantity: str  # key of quantities.CALL (call hooks) or quantities.MODULE (module hooks)
    rule: str
    coef: int = 1


@dataclass(frozen=True, slots=True)
class Hook:
    """What a peer counts for one function call or one module call."""

    products: str = "zero"  # quantity: the peer's count of the products the hook covers
    rule: str | None = None  # explains products − convcost's multiply-adds of what it covers
    extra: tuple[Extra, ...] = ()
    per_sample: bool = False  # divided by the batch (ptflops' module hooks)
    at_root: bool = False  # the peer reports it at the root module (thop's function counter)


@dataclass(frozen=True)
class Adapter:
    """What one peer counts."""

    peer: str
    tool: str  # how the user calls it
    package: str  # distribution name, for the version and the install hint
    verified: str  # version the tables were verified on
    metric: str  # the peer's number: madds-like ("MACs") or flops
    rules: tuple[Rule, ...]
    table: Mapping[str, tuple[Term, ...]] = field(default_factory=dict)  # by convcost label
    aten: Mapping[str, tuple[Term, ...]] = field(default_factory=dict)  # by aten op
    row_default: tuple[Term, ...] = ()  # a row no key lists (after M, below)
    calls: Mapping[str, Hook] = field(default_factory=dict)
    call_default: Hook | None = None  # any other call (fvcore traces through everything)
    modules: Mapping[str, Hook] = field(default_factory=dict)
    module_match: str = "mro"  # "mro" (isinstance, most derived first), "exact", "leaf"
    zero_modules: frozenset[str] = frozenset()  # registered as costing nothing (thop zero_ops)
    module_hides_calls: bool = False  # a hooked module's calls are not counted on their own
    unseen_rule: str | None = None  # products no hook covers: the peer counts 0
    function_mode: bool = False  # runs under a TorchFunctionMode: never sees a fast path
    hooks_modules: str = "all"  # per-module hooks it adds: all, rules, root-children, none
    inputs_split: bool = False  # traced inputs become separate tensors (fvcore's jit trace)
    truncate: bool = False  # the peer returns int() of a fractional figure
    per_sample_rule: str | None = None  # the rule a per-sample split of madds is charged to
    per_path_rule: str | None = None  # module hooks count once per path to a shared module
    fails_if: tuple[tuple[str, str], ...] = ()  # (condition in quantities.FAILS, rule)
    patches_attributes: bool = False  # hooks functions by replacing module attributes

    def __post_init__(self) -> None:
        declared(*(key.partition("@")[0] for key in self.table))
        for table, hooks in ((CALL, [*self.calls.values(), *filter(None, [self.call_default])]),
                             (MODULE, list(self.modules.values()))):
            for hook in hooks:
                for q in (hook.products, *(e.quantity for e in hook.extra)):
                    if q not in table:
                        raise KeyError(f"{self.peer}: unknown quantity {q!r}")
        for terms in (*self.table.values(), *self.aten.values(), self.row_default):
            for t in terms:
                if t.quantity not in ROW:
                    raise KeyError(f"{self.peer}: unknown quantity {t.quantity!r}")
        ids = {r.id for r in self.rules}
        named = {t.rule for ts in (*self.table.values(), *self.aten.values(), self.row_default)
                 for t in ts}
        for hook in (*self.calls.values(), *self.modules.values(),
                     *filter(None, [self.call_default])):
            named |= {hook.rule, *(e.rule for e in hook.extra)}
        named |= {self.unseen_rule, self.per_sample_rule, self.per_path_rule,
                  *(rule for _, rule in self.fails_if)}
        for cond, _ in self.fails_if:
            if cond not in FAILS:
                raise KeyError(f"{self.peer}: unknown failure condition {cond!r}")
        stray = sorted(r for r in named if r is not None and r not in ids)
        if stray:
            raise KeyError(f"{self.peer}: rules used but not declared: {stray}")

    def row_terms(self, row: Row, info: ModuleInfo | None) -> tuple[Term, ...]:
        """The terms for ``row``: its aten op, ``op@Module`` (by MRO), then ``op``."""
        found = self.aten.get(row.aten)
        if found is None and info is not None:
            for cls in info.nn_classes:
                found = self.table.get(f"{row.op}@{cls}")
                if found is not None:
                    break
        if found is None:
            found = self.table.get(f"{row.op}@{row.module}")
        if found is None:
            found = self.table.get(row.op)
        return (M, *self.row_default) if found is None else found

    def module_hook(self, info: ModuleInfo | None) -> Hook | None:
        """The hook the peer attaches to this module, if any (its own lookup rule)."""
        if info is None or not self.modules:
            return None
        if self.module_match == "exact":
            return self.modules.get(info.cls) if info.torch_nn else None
        if self.module_match == "leaf":
            if not info.leaf:
                return None
            for cls in info.nn_classes:
                if cls in self.modules:
                    return self.modules[cls]
            if "Conv" in info.cls and "name~Conv" in self.modules:
                return self.modules["name~Conv"]
            return self.modules.get("*")
        for cls in info.nn_classes:
            if cls in self.modules:
                return self.modules[cls]
            if cls in self.zero_modules:
                return None
        return None


M = Term(1, "madds")  # convcost's multiply-adds, no rule needed


def uncounted(rule: str) -> tuple[Term, ...]:
    """A row whose products the peer does not count: convcost's madds, then minus them."""
    return (M, Term(-1, "madds", rule))



def _hooks(names: Iterable[str], hook: Hook) -> dict[str, Hook]:
    return dict.fromkeys(names, hook)


_D = ("1d", "2d", "3d")
_POOL_MODULES = tuple(f"{a}{k}Pool{d}" for a in ("", "Adaptive") for k in ("Max", "Avg")
                      for d in _D)
_POOL_FUNCTIONS = tuple(f"F.{a}{k}_pool{d}" for a in ("", "adaptive_") for k in ("max", "avg")
                        for d in _D)
_MATMULS = ("torch.matmul", "Tensor.matmul", "Tensor.matmul@operator", "torch.mm",
            "Tensor.mm")
_RECURRENT = ("torch.lstm", "torch.gru", "torch.rnn_tanh", "torch.rnn_relu")
_FUSED_CALLS = ("torch._native_multi_head_attention", "torch._transformer_encoder_layer_fwd")

# --- fvcore -------------------------------------------------------------------------------------

FVCORE_V = "0.1.5.post20221221"
_FV = "fvcore"
_FV_RULES = (
    Rule("fvcore-bn-per-element", _FV,
         "aten::batch_norm (batchnorm_flop_jit): eval 1 per input element, 2 with affine; "
         "training (batch statistics) 4, 5 with affine", FVCORE_V),
    Rule("fvcore-norm-per-element", _FV,
         "aten::instance_norm, group_norm, layer_norm (norm_flop_counter): 4 per element, 5 "
         "with affine", FVCORE_V),
    Rule("fvcore-adaptive-avg-pool-inputs", _FV,
         "aten::adaptive_avg_pool2d (F.adaptive_avg_pool2d, nn.AdaptiveAvgPool2d, "
         "F.interpolate(mode='area') on 4-d input): 1 per input element; the 1-d and 3-d ops "
         "have no handle", FVCORE_V),
    Rule("fvcore-upsample", _FV,
         "F.interpolate / nn.Upsample: aten::upsample_nearest2d 1 per output element, "
         "upsample_bilinear2d 4; nearest on 3-d or 5-d input, linear, trilinear, bicubic and "
         "nearest-exact run ops with no handle: 0", FVCORE_V),
    Rule("fvcore-grid-sample", _FV, "aten::grid_sampler: 4 per output element (\"assume "
         "bilinear\")", FVCORE_V),
    Rule("fvcore-conv-padding-mode", _FV,
         "a convolution with padding='same' or 'valid' traces as aten::_convolution_mode, "
         "which has no handle: its products count 0", FVCORE_V),
    Rule("fvcore-matmul-first-operand", _FV,
         "aten::matmul / mm (matmul_flop_jit): prod(a.shape) · b.shape[-1], so the batch "
         "dims of a broadcast second operand are not counted", FVCORE_V),
    Rule("fvcore-matmul-vector-operand", _FV,
         "matmul_flop_jit asserts a[-1] == b[-2]: a 1-d second operand (matrix × vector) "
         "makes FlopCountAnalysis raise IndexError", FVCORE_V),
    Rule("fvcore-einsum-optimal-path", _FV,
         "aten::einsum (einsum_flop_jit): except two bmm-like equations, the 'Optimized FLOP "
         "count' line of np.einsum_path(optimize='optimal'), which prints 4 significant "
         "digits, halved and floored (a float): the optimal contraction order, not torch's, "
         "and one multiply per element for a contraction that sums nothing", FVCORE_V),
    Rule("fvcore-sdpa-unsupported", _FV,
         "aten::scaled_dot_product_attention has no handle: 0, listed as unsupported",
         FVCORE_V),
    Rule("fvcore-fused-kernels", _FV,
         "nn.MultiheadAttention's fast path (aten::_native_multi_head_attention: eval, no "
         "grad, batch_first, self-attention) has no handle: 0; nn.TransformerEncoderLayer "
         "runs op by op under fvcore (its scope hooks turn the layer's fast path off) but its "
         "self-attention still takes MHA's; at the root the traced inputs are distinct "
         "values, so `query is key` fails and MHA runs op by op", FVCORE_V),
    Rule("fvcore-recurrent-unsupported", _FV,
         "aten::lstm, gru, rnn_tanh, rnn_relu have no handle: nn.LSTM/GRU/RNN count 0",
         FVCORE_V),
    Rule("fvcore-autograd-function-opaque", _FV,
         "a custom torch.autograd.Function traces as one prim::PythonOp, which has no handle: "
         "the products inside its forward count 0", FVCORE_V),
    Rule("fvcore-dead-code", _FV,
         "the jit trace keeps only ops whose results reach the model's outputs: products "
         "whose result is dropped (an early-exit classifier left unused) count 0", FVCORE_V),
    Rule("fvcore-module-in-autograd-function", _FV,
         "a module called inside a custom autograd Function's forward (RevNet's reversible "
         "blocks) breaks the traced scopes: FlopCountAnalysis raises RuntimeError "
         "(unordered_map::at)", FVCORE_V),
    Rule("fvcore-trace-outputs", _FV,
         "torch.jit's tracer accepts tensors, tuples, lists and dicts as outputs: a model "
         "returning another object (a transformers Cache with use_cache=True) or None makes "
         "FlopCountAnalysis raise RuntimeError", FVCORE_V),
    Rule("fvcore-no-handle", _FV,
         "any other op with products and no handle counts 0: aten::baddbmm, mv, dot, addmv, "
         "bilinear, tensordot...; a Python-level function is traced through, so only its "
         "convolution, mm, addmm and bmm count", FVCORE_V),
)
_NORM_CALLS = {
    "F.batch_norm": Hook(extra=(Extra("fv_batch_norm", "fvcore-bn-per-element"),)),
    "F.instance_norm": Hook(extra=(Extra("fv_instance_norm", "fvcore-norm-per-element"),)),
    "F.layer_norm": Hook(extra=(Extra("fv_layer_norm", "fvcore-norm-per-element"),)),
    "F.group_norm": Hook(extra=(Extra("fv_group_norm", "fvcore-norm-per-element"),)),
}
FVCORE = Adapter(
    peer="fvcore", tool="fvcore.nn.FlopCountAnalysis(model, inputs).total()",
    package="fvcore", verified=FVCORE_V, metric="madds-like (1 per multiply-add)",
    rules=_FV_RULES,
    calls={
        **_hooks((f"F.conv{d}" for d in _D), Hook("fv_conv", "fvcore-conv-padding-mode")),
        **_hooks((f"F.conv_transpose{d}" for d in _D), Hook("fv_inner", "fvcore-no-handle")),
        **_hooks(("F.linear", "torch.bmm", "Tensor.bmm", "torch.addmm", "Tensor.addmm",
                  # the recurrent cells trace as their linear ops
                  "torch.lstm_cell", "torch.gru_cell", "torch.rnn_tanh_cell",
                  "torch.rnn_relu_cell"), Hook("fv_inner", "fvcore-no-handle")),
        **_hooks(_MATMULS, Hook("fv_matmul", "fvcore-matmul-first-operand")),
        "torch.einsum": Hook("fv_einsum", "fvcore-einsum-optimal-path"),
        "F.scaled_dot_product_attention": Hook("zero", "fvcore-sdpa-unsupported"),
        **_hooks(_RECURRENT, Hook("zero", "fvcore-recurrent-unsupported")),
        **_hooks(_FUSED_CALLS, Hook("zero", "fvcore-fused-kernels")),
        **_NORM_CALLS,
        "F.adaptive_avg_pool2d": Hook(extra=(Extra("fv_adaptive_avg_pool2d",
                                                   "fvcore-adaptive-avg-pool-inputs"),)),
        **_hooks(("F.interpolate", "F.upsample", "F.upsample_bilinear", "F.upsample_nearest"),
                 Hook(extra=(Extra("fv_interpolate", "fvcore-upsample"),))),
        "F.grid_sample": Hook(extra=(Extra("fv_grid_sample", "fvcore-grid-sample"),)),
        "autograd.Function": Hook("zero", "fvcore-autograd-function-opaque"),
        "dead": Hook("zero", "fvcore-dead-code"),
    },
    call_default=Hook("fv_default", "fvcore-no-handle"),
    hooks_modules="all", inputs_split=True,
    fails_if=(("module_in_autograd_function", "fvcore-module-in-autograd-function"),
              ("output_not_traceable", "fvcore-trace-outputs")),
)

# --- thop ---------------------------------------------------------------------------------------

THOP_V = "2.2.3"
_TH = "thop"
_THOP_RULES = (
    Rule("thop-norm-2-per-element", _TH,
         "count_normalization (every _NormBase: BatchNorm, InstanceNorm; LayerNorm, GroupNorm, "
         "RMSNorm): calculate_norm = 2 per input element", THOP_V),
    Rule("thop-norm-affine-doubles", _TH,
         "count_normalization: × 2 again with `affine` / `elementwise_affine` (4 per element)",
         THOP_V),
    Rule("thop-avg-pool-windows-and-divides", _TH,
         "count_avgpool / count_adap_avgpool: 1 add per pooled input (windows clipped to the "
         "input, or to the padded input with count_include_pad) + 1 divide per output, where "
         "convcost counts each window at full kernel size", THOP_V),
    Rule("thop-prelu-per-element", _TH, "count_prelu: 1 per input element in eval", THOP_V),
    Rule("thop-softmax-module", _TH,
         "count_softmax (nn.Softmax, LogSoftmax, Softmin, Softmax2d modules): 3n − 1 per row "
         "of n (n exp, n − 1 adds, n divides), + 1 per row for LogSoftmax, + 1 per element for "
         "Softmin; F.softmax is not counted", THOP_V),
    Rule("thop-upsample-per-output", _TH,
         "count_upsample (nn.Upsample modules): per output element nearest 0, linear 5, "
         "bilinear 11, bicubic 259, trilinear 31; F.interpolate is not counted", THOP_V),
    Rule("thop-conv-module-shapes", _TH,
         "count_convNd / count_convtNd: from the module's own input and output: prod(output) "
         "· C_in/groups · prod(k) (transposed: prod(input) · C_out/groups · prod(k)); any "
         "subclass of nn.Conv*d through the MRO", THOP_V),
    Rule("thop-linear-module-shapes", _TH,
         "count_linear: in_features × output numel (any nn.Linear subclass)", THOP_V),
    Rule("thop-bilinear-module", _TH, "count_bilinear: (in1 + 1) · in2 per output element",
         THOP_V),
    Rule("thop-recurrent-cell-formula", _TH,
         "count_rnn / count_gru / count_lstm and the cells: thop's per-cell formula (gate "
         "products + biases + elementwise work) × the cell evaluations, not the products alone",
         THOP_V),
    Rule("thop-mha-module", _TH,
         "count_multihead_attention (also F.multi_head_attention_forward outside the module): "
         "projections + both attention products + softmax (3n − 1 per row)", THOP_V),
    Rule("thop-function-counter", _TH,
         "_FunctionCounter (a TorchFunctionMode) counts torch.matmul, Tensor.matmul / @, "
         "bmm, F.linear and F.scaled_dot_product_attention run outside every module that has "
         "a rule, as y.numel() · a.shape[-1]; per layer it reports them at the root", THOP_V),
    Rule("thop-einsum-two-operands", _TH,
         "_count_einsum: two operands only (a product of every label both hold or the output "
         "keeps, size-1 dims dropped); three or more operands: 0", THOP_V),
    Rule("thop-hook-tensor-input", _TH,
         "its module hooks read x[0].shape and y.shape: a hooked module (a subclass of "
         "nn.Conv2d, say) that takes or returns a tuple makes profile() raise AttributeError",
         THOP_V),
    Rule("thop-unhooked-products", _TH,
         "products neither in a module with a rule nor in a counted function count 0: "
         "F.conv2d outside nn.Conv*d, torch.addmm (GPT-2's Conv1D), mm, baddbmm, mv...",
         THOP_V),
)
_THOP_NORM = Hook(extra=(Extra("thop_norm", "thop-norm-2-per-element"),
                         Extra("thop_norm_affine", "thop-norm-affine-doubles")))
_THOP_FN = Hook("thop_matmul", "thop-function-counter", at_root=True)
THOP = Adapter(
    peer="thop", tool="thop.profile(model, inputs)", package="ultralytics-thop",
    verified=THOP_V, metric="madds-like (\"MACs\")", rules=_THOP_RULES,
    modules={
        **_hooks((f"Conv{d}" for d in _D), Hook("thop_conv", "thop-conv-module-shapes")),
        **_hooks((f"ConvTranspose{d}" for d in _D),
                 Hook("thop_convt", "thop-conv-module-shapes")),
        **_hooks(("_NormBase", "LayerNorm", "GroupNorm", "RMSNorm"), _THOP_NORM),
        "PReLU": Hook(extra=(Extra("thop_prelu", "thop-prelu-per-element"),)),
        **_hooks(("Softmax", "LogSoftmax", "Softmin", "Softmax2d"),
                 Hook(extra=(Extra("thop_softmax", "thop-softmax-module"),))),
        **_hooks((f"AvgPool{d}" for d in _D),
                 Hook(extra=(Extra("thop_avgpool", "thop-avg-pool-windows-and-divides"),))),
        **_hooks((f"AdaptiveAvgPool{d}" for d in _D),
                 Hook(extra=(Extra("thop_adaptive_avgpool",
                                   "thop-avg-pool-windows-and-divides"),))),
        "Linear": Hook("thop_linear", "thop-linear-module-shapes"),
        "Bilinear": Hook("thop_bilinear", "thop-bilinear-module"),
        **_hooks(("Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"),
                 Hook(extra=(Extra("thop_upsample", "thop-upsample-per-output"),))),
        **_hooks(("RNN", "GRU", "LSTM"), Hook("thop_rnn", "thop-recurrent-cell-formula")),
        **_hooks(("RNNCell", "GRUCell", "LSTMCell"),
                 Hook("thop_rnn_cell", "thop-recurrent-cell-formula")),
        "MultiheadAttention": Hook("thop_mha", "thop-mha-module"),
        "Embedding": Hook(),  # count_embedding: a rule that adds nothing (it still hides calls)
    },
    zero_modules=frozenset({
        "_ConstantPadNd", "_ReflectionPadNd", "_ReplicationPadNd", "_CircularPadNd",
        "_DropoutNd", "ReLU", "ReLU6", "LeakyReLU", "MaxPool1d", "MaxPool2d", "MaxPool3d",
        "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "FractionalMaxPool2d",
        "FractionalMaxPool3d", "_MaxUnpoolNd", "Sequential", "ModuleList", "ModuleDict",
        "ParameterList", "ParameterDict", "Identity", "Flatten", "Unflatten", "Unfold",
        "PixelShuffle", "PixelUnshuffle", "ChannelShuffle"}),
    module_hides_calls=True,
    calls={
        **_hooks(("torch.matmul", "Tensor.matmul", "Tensor.matmul@operator",
                  "Tensor.__matmul__", "torch.bmm", "Tensor.bmm", "F.linear"), _THOP_FN),
        "torch.einsum": Hook("thop_einsum", "thop-einsum-two-operands", at_root=True),
        "F.multi_head_attention_forward": Hook("thop_mha_forward", "thop-mha-module",
                                               at_root=True),
        "F.scaled_dot_product_attention": Hook("thop_sdpa", "thop-function-counter",
                                               at_root=True),
    },
    unseen_rule="thop-unhooked-products",
    function_mode=True,
)

# --- ptflops, pytorch backend -------------------------------------------------------------------

PTFLOPS_V = "0.7.5"
_PT = "ptflops-pytorch"
_PT_RULES = (
    Rule("ptflops-bias-adds", _PT,
         "conv_flops_counter_hook / linear_flops_counter_hook: + 1 per output element for the "
         "bias", PTFLOPS_V),
    Rule("ptflops-conv-module-shapes", _PT,
         "conv_flops_counter_hook: prod(k) · in_channels · out_channels/groups per output "
         "position (input position when transposed), from the module's attributes",
         PTFLOPS_V),
    Rule("ptflops-linear-module-shapes", _PT,
         "linear_flops_counter_hook: input[-1] · output[-1] · prod(input[:-1])", PTFLOPS_V),
    Rule("ptflops-bn-per-element", _PT,
         "bn_flops_counter_hook (BatchNorm, InstanceNorm, GroupNorm, LayerNorm modules): 1 per "
         "input element, × 2 with `affine` (a LayerNorm has no `affine` attribute: 1)",
         PTFLOPS_V),
    Rule("ptflops-activation-module-hook", _PT,
         "relu_flops_counter_hook: 1 per output element of nn.ReLU, ReLU6, PReLU, ELU, "
         "LeakyReLU, GELU", PTFLOPS_V),
    Rule("ptflops-pool-module-hook", _PT,
         "pool_flops_counter_hook: 1 per input element of every nn.*Pool* module", PTFLOPS_V),
    Rule("ptflops-upsample-module-hook", _PT,
         "upsample_flops_counter_hook reads output[0], the first sample: its element count",
         PTFLOPS_V),
    Rule("ptflops-recurrent-formula", _PT,
         "rnn_flops_counter_hook: per layer w_ih + w_hh numel + gate work (RNN H, GRU 7H, LSTM "
         "10H) + both biases, × input.shape[0] × input.shape[1] (whatever batch_first says), × 2 "
         "bidirectional; the reverse direction's weights are not read", PTFLOPS_V),
    Rule("ptflops-mha-module-hook", _PT,
         "multihead_attention_counter_hook: Q scaling, the three projections (k·kdim², v·vdim²), "
         "in-projection bias, per head QKᵀ + softmax (1 per score) + AV, output projection with "
         "bias", PTFLOPS_V),
    Rule("ptflops-mha-three-positional-inputs", _PT,
         "multihead_attention_counter_hook unpacks `q, k, v = input`: a MultiheadAttention "
         "called with other than three positional tensors makes the run fail", PTFLOPS_V),
    Rule("ptflops-patched-functionals", _PT,
         "patch_functional counts F.relu, prelu, elu, relu6, gelu, silu, softmax and every "
         "F.*pool* (1 per input element) and F.interpolate / upsample (prod(size) · N·C, or "
         "input numel · scale_factor^dims, fractional for fractional factors), whole batch, "
         "wherever they are called from by their module attribute (a reference taken before "
         "the patch, like transformers' `self.act = nn.functional.gelu`, is not counted): "
         "nn.ReLU, nn.GELU and the pool modules (which call them) are counted twice; nn.ReLU6 "
         "calls F.hardtanh (unpatched), F.relu6 in a custom module is counted; "
         "F.hardswish, hardsigmoid, sigmoid are not patched; F.interpolate(mode='area') calls "
         "the patched adaptive pool; F.local_response_norm's avg pool, Tensor.mul and add, "
         "and F.multi_head_attention_forward's softmax and bmm are counted too", PTFLOPS_V),
    Rule("ptflops-tensor-ops", _PT,
         "patch_tensor_ops counts torch.matmul, Tensor.matmul, mm, bmm (prod(a) · b[-1]), "
         "addmm, baddbmm (+ the added tensor's numel), torch.mul / add and Tensor.mul / add "
         "(1 per broadcast element), whole batch; the operators @, +, * and in-place methods "
         "are not patched", PTFLOPS_V),
    Rule("ptflops-unhooked-products", _PT,
         "products outside the exact nn classes it hooks and its patched functions count 0: "
         "F.conv2d in a custom module, a subclass of nn.Conv2d (type(m) is looked up, not the "
         "MRO; a parametrization swaps the class too), einsum, @, baddbmm called as a method",
         PTFLOPS_V),
    Rule("ptflops-shared-module-per-path", _PT,
         "accumulate_flops walks the children: a hooked module reached under k names (a "
         "module shared by several parents) is summed k times", PTFLOPS_V),
    Rule("ptflops-per-sample-module-hooks", _PT,
         "compute_average_flops_cost divides the module-hook sum by the batch counter (len of "
         "the root's first positional input; 1 when the inputs are passed as keywords); the "
         "patched function counts stay whole-batch; the total is int()", PTFLOPS_V),
)
_PT_ACT = Hook(extra=(Extra("pt_out_numel", "ptflops-activation-module-hook"),),
               per_sample=True)
_PT_FN = Hook(extra=(Extra("pt_numel", "ptflops-patched-functionals"),))
PTFLOPS_PYTORCH = Adapter(
    peer="ptflops-pytorch",
    tool="ptflops.get_model_complexity_info(model, res, backend='pytorch')",
    package="ptflops", verified=PTFLOPS_V, metric="madds-like (\"MACs\")", rules=_PT_RULES,
    modules={
        **_hooks((f"{c}{d}" for c in ("Conv", "ConvTranspose") for d in _D),
                 Hook("pt_conv_products", "ptflops-conv-module-shapes",
                      (Extra("pt_conv_bias", "ptflops-bias-adds"),), per_sample=True)),
        **_hooks(("ReLU", "PReLU", "ELU", "LeakyReLU", "ReLU6", "GELU"), _PT_ACT),
        **_hooks(_POOL_MODULES, Hook(extra=(Extra("pt_in_numel", "ptflops-pool-module-hook"),),
                                     per_sample=True)),
        **_hooks((*(f"{n}{d}" for n in ("BatchNorm", "InstanceNorm") for d in _D),
                  "GroupNorm", "LayerNorm"),
                 Hook(extra=(Extra("pt_bn", "ptflops-bn-per-element"),), per_sample=True)),
        "Linear": Hook("pt_linear_products", "ptflops-linear-module-shapes",
                       (Extra("pt_linear_bias", "ptflops-bias-adds"),), per_sample=True),
        "Upsample": Hook(extra=(Extra("pt_upsample", "ptflops-upsample-module-hook"),),
                         per_sample=True),
        **_hooks(("RNN", "GRU", "LSTM"), Hook("pt_rnn", "ptflops-recurrent-formula",
                                              per_sample=True)),
        **_hooks(("RNNCell", "GRUCell", "LSTMCell"),
                 Hook("pt_rnn_cell", "ptflops-recurrent-formula", per_sample=True)),
        "MultiheadAttention": Hook("pt_mha", "ptflops-mha-module-hook", per_sample=True),
    },
    module_match="exact",
    calls={
        **_hooks(("F.relu", "F.prelu", "F.elu", "F.relu6", "F.gelu", "F.silu", "F.softmax",
                  *_POOL_FUNCTIONS), _PT_FN),
        **_hooks(("F.interpolate", "F.upsample"),
                 Hook(extra=(Extra("pt_interpolate", "ptflops-patched-functionals"),))),
        "F.local_response_norm": Hook(extra=(Extra("pt_lrn", "ptflops-patched-functionals"),)),
        "F.multi_head_attention_forward": Hook("pt_mha_forward",
                                               "ptflops-patched-functionals"),
        **_hooks(("torch.matmul", "Tensor.matmul", "torch.mm", "Tensor.mm", "torch.bmm",
                  "Tensor.bmm"), Hook("pt_matmul", "ptflops-tensor-ops")),
        **_hooks(("torch.addmm", "torch.baddbmm", "Tensor.addmm"),
                 Hook("pt_addmm", "ptflops-tensor-ops")),
        **_hooks(("torch.mul", "Tensor.mul", "torch.add", "Tensor.add"),
                 Hook(extra=(Extra("pt_elementwise", "ptflops-tensor-ops"),))),
    },
    unseen_rule="ptflops-unhooked-products",
    patches_attributes=True,
    hooks_modules="rules",
    truncate=True,
    per_sample_rule="ptflops-per-sample-module-hooks",
    per_path_rule="ptflops-shared-module-per-path",
)

# --- ptflops, aten backend ----------------------------------------------------------------------

_PA = "ptflops-aten"
_PA_RULES = (
    Rule("ptflops-aten-bias-adds", _PA,
         "conv_flop(bias=b is not None) and addmm_flop (always: batch · out for the added "
         "tensor): + 1 per output element", PTFLOPS_V),
    Rule("ptflops-aten-unmapped-op", _PA,
         "ATEN_OPS_MAPPING holds only mm, matmul, addmm, bmm, convolution, _convolution: "
         "baddbmm, mv, dot, fused attention and recurrent kernels count 0", PTFLOPS_V),
)
_PA_BIAS = (M, Term(1, "bias_adds", "ptflops-aten-bias-adds"))
PTFLOPS_ATEN = Adapter(
    peer="ptflops-aten",
    tool="ptflops.get_model_complexity_info(model, res, backend='aten')",
    package="ptflops", verified=PTFLOPS_V, metric="madds-like (\"MACs\")", rules=_PA_RULES,
    aten={"aten.mm": (M,), "aten.bmm": (M,), "aten.addmm": _PA_BIAS,
          "aten.convolution": _PA_BIAS, "aten._convolution": _PA_BIAS},
    # the fused kernels (rows the capture records as such, or the ones this peer's run took)
    table=dict.fromkeys(("attention", "multi_head_attention", "transformer_encoder_layer"),
                        uncounted("ptflops-aten-unmapped-op")),
    row_default=(Term(-1, "madds", "ptflops-aten-unmapped-op"),),
    hooks_modules="root-children",
)

# --- torchinfo ----------------------------------------------------------------------------------

TORCHINFO_V = "1.8.0"
_TI = "torchinfo"
_TI_RULES = (
    Rule("torchinfo-bias-adds", _TI,
         "LayerInfo.calculate_macs: a parameter named 'bias' counts like a weight: 1 per output "
         "element", TORCHINFO_V),
    Rule("torchinfo-params-times-batch", _TI,
         "calculate_macs: a leaf module whose class name has no 'Conv': output_size[0] × each "
         "parameter named 'weight' or 'bias' (BatchNorm: N × 2C), whatever it computes",
         TORCHINFO_V),
    Rule("torchinfo-linear-leading-dims", _TI,
         "nn.Linear: output_size[0] × params, so on (B, L, in) the L rows are not counted",
         TORCHINFO_V),
    Rule("torchinfo-transpose-output-side", _TI,
         "ConvTranspose: weight numel × N × ∏out (output side), ≈ stride^d too large",
         TORCHINFO_V),
    Rule("torchinfo-conv-from-params", _TI,
         "nn.Conv*d: weight numel × N × ∏ output dims after the channel (the multiply-adds)",
         TORCHINFO_V),
    Rule("torchinfo-conv-in-class-name", _TI,
         "any leaf class whose name contains 'Conv' is counted as a convolution: (weight + "
         "bias) × output_size[0] × ∏ output_size[2:] (GPT-2's Conv1D, a linear layer: B × "
         "out_features × params)", TORCHINFO_V),
    Rule("torchinfo-inner-weights", _TI,
         "parameters whose name contains 'weight' or 'bias' without being one "
         "(weight_ih_l0, ...): prod(output_size[:2]) × numel", TORCHINFO_V),
    Rule("torchinfo-leaf-modules-only", _TI,
         "only leaf modules count: products in a container's own forward, functional ops, "
         "a module with children (nn.MultiheadAttention, a parametrized conv) count 0",
         TORCHINFO_V),
    Rule("torchinfo-unsupported-output", _TI,
         "LayerInfo.calculate_size raises TypeError for a layer output that is not a tensor, "
         "sequence, dict or array: summary() fails", TORCHINFO_V),
    Rule("torchinfo-output-bytes-x2", _TI,
         "total_output_bytes = 2 × the output bytes of every leaf layer call with parameters "
         "(\"x2 for gradients\"), the size of a tuple output being its first tensor's, of a "
         "dict its last value's", TORCHINFO_V),
    Rule("torchinfo-params-per-module", _TI,
         "total_params: each listed leaf's own parameters + each container's leftover: a weight "
         "tied between two modules counts once per module", TORCHINFO_V),
    Rule("torchinfo-param-bytes-leaf-only", _TI,
         "total_param_bytes sums leaf layers only: parameters a module with children owns "
         "itself (a class token, a position embedding, a parametrization's original) are "
         "left out", TORCHINFO_V),
)
_TI_BIAS = (Extra("ti_bias", "torchinfo-bias-adds"),)
TORCHINFO = Adapter(
    peer="torchinfo", tool="torchinfo.summary(model, input_data=...).total_mult_adds",
    package="torchinfo", verified=TORCHINFO_V, metric="madds-like (\"Mult-Adds\")",
    rules=_TI_RULES,
    modules={
        **_hooks((f"Conv{d}" for d in _D), Hook("ti_products", "torchinfo-conv-from-params",
                                                _TI_BIAS)),
        **_hooks((f"ConvTranspose{d}" for d in _D),
                 Hook("ti_products", "torchinfo-transpose-output-side", _TI_BIAS)),
        "Linear": Hook("ti_products", "torchinfo-linear-leading-dims", _TI_BIAS),
        **_hooks(("RNNBase", "RNNCellBase"), Hook("ti_products", "torchinfo-inner-weights",
                                                  _TI_BIAS)),
        "name~Conv": Hook("ti_products", "torchinfo-conv-in-class-name", _TI_BIAS),
        "*": Hook("ti_products", "torchinfo-params-times-batch",
                  (Extra("ti_bias", "torchinfo-params-times-batch"),)),
    },
    module_match="leaf",
    unseen_rule="torchinfo-leaf-modules-only",
)

# --- torch.utils.flop_counter.FlopCounterMode ---------------------------------------------------

TORCH_V = "2.13.0"
_FC = "torch-flopcounter"
_FC_RULES = (
    Rule("flopcounter-2-per-madd", _FC,
         "flop_registry counts 2 flops per multiply-add (mm_flop = m·n·2·k, conv × 2); "
         "bias, norms, activations, pooling, elementwise are not registered", TORCH_V),
    Rule("flopcounter-cpu-sdpa-zero", _FC,
         "_scaled_dot_product_flash_attention_for_cpu is not in flop_registry: CPU attention "
         "counts 0 (the CUDA flash / efficient / cuDNN kernels are registered)", TORCH_V),
    Rule("flopcounter-unregistered-op", _FC,
         "any other op with products and no formula counts 0 (mv, dot, addmv, the fused "
         "MultiheadAttention / TransformerEncoderLayer and oneDNN recurrent kernels); ops with "
         "a CompositeImplicit decomposition are decomposed first", TORCH_V),
)
_TWO = (M, Term(1, "madds", "flopcounter-2-per-madd"))
FLOPCOUNTER = Adapter(
    peer="torch-flopcounter",
    tool="torch.utils.flop_counter.FlopCounterMode(display=False).get_total_flops()",
    package="torch", verified=TORCH_V, metric="flops (2 per multiply-add)", rules=_FC_RULES,
    aten={
        **dict.fromkeys(("aten.mm", "aten.addmm", "aten.bmm", "aten.baddbmm", "aten._scaled_mm",
                         "aten.convolution", "aten._convolution", "aten.cudnn_convolution",
                         "aten.convolution_overrideable", "aten._slow_conv2d_forward",
                         "aten._scaled_dot_product_efficient_attention",
                         "aten._scaled_dot_product_flash_attention",
                         "aten._scaled_dot_product_cudnn_attention",
                         "aten._flash_attention_forward", "aten._efficient_attention_forward"),
                        _TWO),
        "aten._scaled_dot_product_flash_attention_for_cpu": uncounted(
            "flopcounter-cpu-sdpa-zero"),
    },
    # the fused kernels no formula is registered for (rows the capture records as such, or
    # the ones this peer's run took)
    table=dict.fromkeys(("multi_head_attention", "transformer_encoder_layer"),
                        uncounted("flopcounter-unregistered-op")),
    row_default=(Term(-1, "madds", "flopcounter-unregistered-op"),),
    hooks_modules="none",
)

# --- convcost's own real run --------------------------------------------------------------------

REAL = Adapter(
    peer="real", tool="convcost's own op-level counter on a real CPU run (oracles/real.py)",
    package="torch", verified=TORCH_V, metric="madds", rules=(), hooks_modules="none",
)

ADAPTERS: dict[str, Adapter] = {a.peer: a for a in (
    REAL, FVCORE, THOP, PTFLOPS_PYTORCH, PTFLOPS_ATEN, TORCHINFO, FLOPCOUNTER)}

# rules that are not about one op's count
GENERAL_RULES = (
    Rule("params-unique", "thop, ptflops-pytorch, ptflops-aten, torchinfo",
         "parameter totals: thop sums model.parameters() (unique tensors), as convcost does",
         "see each peer"),
    Rule("ptflops-trainable-params", "ptflops-pytorch, ptflops-aten",
         "get_model_parameters_number sums parameters with requires_grad only: frozen ones "
         "are left out", PTFLOPS_V),
    Rule("peer-fails", "every peer",
         "the peer raises on this model, as its adapter predicts (the rule named with it)",
         "see each peer"),
    Rule("layers-shared-modules", "torch-flopcounter",
         "ModuleTracker names a module reached under several names after the last parent "
         "that holds it, and its children after the first: per-layer figures of such modules "
         "and their ancestors are compared in the total only", TORCH_V),
)

RULES: dict[str, Rule] = {r.id: r for a in ADAPTERS.values() for r in a.rules}
RULES.update({r.id: r for r in GENERAL_RULES})

__all__ = [
    "ADAPTERS",
    "GENERAL_RULES",
    "RULES",
    "Adapter",
    "Extra",
    "Hook",
    "M",
    "Rule",
    "Term",
    "uncounted",
]
