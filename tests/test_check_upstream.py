"""``convcost check`` on cases rebuilt from the peers' own test suites.

Each case is a small module with its input, rebuilt (not copied) after a test of fvcore
(``tests/test_flop_count.py``, ``tests/test_jit_model_analysis.py``), torch-scan
(``tests/test_crawler.py``, ``tests/test_modules.py``), ptflops (``tests/common_test.py``),
thop (``tests/test_conv2d.py``, ``test_matmul.py``, ``test_relu.py``) and PyTorch
(``test/test_flop_counter.py``). Every case must check with 0 unexplained differences and no
peer crash, against every peer. Where the upstream test asserts a figure, ``expect`` holds it
with its derivation and the test checks that the installed peer still reports it; where the
installed peer reports something else, ``differs`` says why (docs/conventions.md,
"What each peer misses").

The benchmark (``benchmarks/bench_check_corpus.py``) runs the same cases (``run_case``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from _helpers import Fn
from torch import nn

from convcost import crosscheck


def T(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@dataclass(frozen=True)
class Case:
    name: str
    source: str  # the upstream test it is rebuilt after
    build: Callable[[], nn.Module]
    inputs: Callable[[], tuple[tuple[Any, ...], dict[str, Any]]]
    expect: dict[str, int] = field(default_factory=dict)  # peer -> what its own test asserts
    differs: dict[str, str] = field(default_factory=dict)  # peer -> why it reports otherwise


def _x(*shape: int) -> Callable[[], tuple[tuple[Any, ...], dict[str, Any]]]:
    return lambda: ((T(*shape),), {})


CASES: dict[str, Case] = {}


def case(name: str, source: str, build: Callable[[], nn.Module],
         inputs: Callable[[], tuple[tuple[Any, ...], dict[str, Any]]], **kw: Any) -> None:
    assert name not in CASES
    CASES[name] = Case(name, source, build, inputs, **kw)


# --- fvcore: tests/test_flop_count.py ----------------------------------------------------------

FV = "fvcore tests/test_flop_count.py"


class ThreeNet(nn.Module):
    """conv 1×1 → adaptive avg pool to 1×1 → flatten → linear (fvcore's ThreeNet)."""

    def __init__(self, input_dim: int = 10, conv_dim: int = 10, linear_dim: int = 10) -> None:
        super().__init__()
        self.conv = nn.Conv2d(input_dim, conv_dim, 1, 1)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.linear = nn.Linear(conv_dim, linear_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.flatten(self.pool(self.conv(x)), 1))


# (5, 10, 10, 10): conv 5·10·100 outputs × 10 = 50,000; pool 1 per input 5,000;
# linear 5·10·10 = 500
case("fvcore-threenet", f"{FV}::test_customized_ops (ThreeNet)", ThreeNet, _x(5, 10, 10, 10),
     expect={"fvcore": 55_500})
# LinearNet: Linear(10, 20) on (100, 10): 100·10·20 = 20,000 (fvcore counts no bias)
case("fvcore-linear", f"{FV}::test_linear", lambda: nn.Linear(10, 20), _x(100, 10),
     expect={"fvcore": 20_000})
case("fvcore-linear-3d", f"{FV}::test_linear (leading dims)", lambda: nn.Linear(10, 20),
     _x(4, 25, 10), expect={"fvcore": 20_000})
# _test_conv variants: dims, stride, padding, groups, transposed
case("fvcore-conv1d", f"{FV}::test_conv (1-d)", lambda: nn.Conv1d(10, 10, 3), _x(1, 10, 10),
     expect={"fvcore": 10 * 8 * 10 * 3})  # 10 out × 8 positions × (10·3) taps = 2,400
case("fvcore-conv2d-s2-p1-g2", f"{FV}::test_conv (2-d, stride 2, padding 1, 2 groups)",
     lambda: nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), _x(2, 4, 9, 9),
     expect={"fvcore": 2 * 6 * 25 * 2 * 9})  # out 5×5; (4/2)·9 taps per output = 5,400
case("fvcore-conv3d", f"{FV}::test_conv (3-d)", lambda: nn.Conv3d(3, 4, 3, padding=1),
     _x(1, 3, 4, 4, 4), expect={"fvcore": 4 * 64 * 3 * 27})  # 20,736
case("fvcore-conv-transpose2d", f"{FV}::test_conv (transposed)",
     lambda: nn.ConvTranspose2d(4, 3, 3, stride=2), _x(1, 4, 5, 5),
     expect={"fvcore": 1 * 4 * 3 * 9 * 25})  # input side: prod(w) · ∏in = 2,700
case("fvcore-matmul", f"{FV}::test_matmul", lambda: Fn(lambda s, x, y: torch.matmul(x, y)),
     lambda: ((T(20, 10), T(10, 30, seed=1)), {}), expect={"fvcore": 20 * 10 * 30})
case("fvcore-matmul-broadcast", f"{FV}::test_matmul_broadcast",
     lambda: Fn(lambda s, x, y: torch.matmul(x, y)),
     lambda: ((T(2, 20, 10), T(10, 30, seed=1)), {}), expect={"fvcore": 2 * 20 * 10 * 30})
case("fvcore-matmul-broadcast-second", f"{FV}::test_matmul_broadcast (second operand batched)",
     lambda: Fn(lambda s, x, y: torch.matmul(x, y)),
     lambda: ((T(20, 10), T(2, 10, 30, seed=1)), {}),
     # matmul_flop_jit: prod(a) · b[-1] = 200·30 = 6,000; the product is 2·20·10·30 = 12,000
     expect={"fvcore": 6_000},
     differs={"fvcore": "fvcore-matmul-first-operand: the second operand's batch is not "
                        "counted (6,000 of 12,000)"})
case("fvcore-bmm", f"{FV}::test_bmm", lambda: Fn(lambda s, x, y: torch.bmm(x, y)),
     lambda: ((T(2, 5, 4), T(2, 4, 3, seed=1)), {}), expect={"fvcore": 2 * 5 * 4 * 3})
case("fvcore-torch-mm", f"{FV}::test_torch_mm", lambda: Fn(lambda s, x, y: torch.mm(x, y)),
     lambda: ((T(6, 5), T(5, 7, seed=1)), {}), expect={"fvcore": 210})
case("fvcore-einsum-nct", f"{FV}::test_einsum (nct,ncp->ntp)",
     lambda: Fn(lambda s, x, y: torch.einsum("nct,ncp->ntp", x, y)),
     lambda: ((T(2, 5, 3), T(2, 5, 4, seed=1)), {}), expect={"fvcore": 2 * 5 * 3 * 4})
case("fvcore-einsum-ntg", f"{FV}::test_einsum (ntg,ncg->nct)",
     lambda: Fn(lambda s, x, y: torch.einsum("ntg,ncg->nct", x, y)),
     lambda: ((T(2, 3, 4), T(2, 5, 4, seed=1)), {}), expect={"fvcore": 2 * 3 * 4 * 5})
# three operands, fvcore's numpy path: optimal order (a·b)·c = 8·64·2 + 8·2·64 = 2,048
case("fvcore-einsum-three-operands", f"{FV}::test_einsum (general path)",
     lambda: Fn(lambda s, a, b, c: torch.einsum("ij,jk,kl->il", a, b, c)),
     lambda: ((T(8, 64), T(64, 2, seed=1), T(2, 64, seed=2)), {}))
# an order that matters: torch contracts left to right, (a·b) first: 64·8·64 + 64·64·8 =
# 65,536; numpy's optimal path contracts (b·c) first: 8·64·8 + 64·8·8 = 8,192 multiply-adds,
# printed as 2·8,192 + 1 = 16,385 -> "1.638e+04" = 16,380, halved: fvcore reports 8,190
case("fvcore-einsum-order", f"{FV}::test_einsum (general path, order)",
     lambda: Fn(lambda s, a, b, c: torch.einsum("ij,jk,kl->il", a, b, c)),
     lambda: ((T(64, 8), T(8, 64, seed=1), T(64, 8, seed=2)), {}),
     expect={"fvcore": 8_190},
     differs={"fvcore": "fvcore-einsum-optimal-path: numpy's order, not torch's (torch runs "
                        "65,536 multiply-adds), and 4 significant digits (8,190, not 8,192)"})
for _dim, _shape in ((1, (8, 4)), (1, (8, 4, 5)), (2, (2, 4, 5, 5)), (3, (2, 4, 3, 3, 3))):
    case(f"fvcore-batchnorm{_dim}d-{len(_shape)}", f"{FV}::test_batchnorm (eval)",
         (lambda d=_dim: getattr(nn, f"BatchNorm{d}d")(4)), _x(*_shape),
         expect={"fvcore": 2 * torch.Size(_shape).numel()})  # 2 per element with affine
case("fvcore-batchnorm-no-affine", f"{FV}::test_batchnorm (affine=False)",
     lambda: nn.BatchNorm2d(4, affine=False), _x(2, 4, 5, 5), expect={"fvcore": 200})
case("fvcore-group-norm", f"{FV}::test_group_norm", lambda: nn.GroupNorm(2, 4),
     _x(2, 4, 5, 5), expect={"fvcore": 5 * 200})  # 5 per element with affine
case("fvcore-layer-norm", f"{FV}::test_layer_norm", lambda: nn.LayerNorm([5, 5]),
     _x(2, 4, 5, 5), expect={"fvcore": 5 * 200})
case("fvcore-instance-norm", f"{FV}::test_instance_norm", lambda: nn.InstanceNorm2d(4),
     _x(2, 4, 5, 5), expect={"fvcore": 4 * 200})  # no affine: 4 per element
case("fvcore-upsample-nearest", f"{FV}::test_upsample",
     lambda: Fn(lambda s, x: F.interpolate(x, scale_factor=2, mode="nearest")),
     _x(2, 3, 4, 4), expect={"fvcore": 2 * 3 * 8 * 8})
case("fvcore-upsample-bilinear", f"{FV}::test_upsample (bilinear)",
     lambda: Fn(lambda s, x: F.interpolate(x, scale_factor=2, mode="bilinear")),
     _x(2, 3, 4, 4), expect={"fvcore": 4 * 2 * 3 * 8 * 8})
case("fvcore-adaptive-avg-pool", f"{FV}::test_adaptive_avg_pool2d",
     lambda: nn.AdaptiveAvgPool2d((2, 3)), _x(2, 3, 6, 6), expect={"fvcore": 216})


class _Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(x, x.t())

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        return g


case("fvcore-autograd-function", f"{FV}::test_autograd_function",
     lambda: Fn(lambda s, x: _Square.apply(s.fc(x)), fc=nn.Linear(10, 10)), _x(5, 10),
     expect={"fvcore": 500})  # the Linear only: the function is one opaque PythonOp
case("fvcore-skip-ops", f"{FV}::test_skip_ops",
     lambda: Fn(lambda s, x: torch.cat([F.relu(x), x.sigmoid()], 1).flatten(1)),
     _x(2, 3, 4), expect={"fvcore": 0})

# --- fvcore: tests/test_jit_model_analysis.py --------------------------------------------------

JA = "fvcore tests/test_jit_model_analysis.py"


class NestedNet(nn.Module):
    """A conv in a submodule, a linear at the top, a module never called."""

    def __init__(self) -> None:
        super().__init__()
        self.submod = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
        self.fc = nn.Linear(4 * 6 * 6, 10)
        self.unused = nn.Linear(7, 7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.submod(x).flatten(1))


class SharedModuleNet(nn.Module):
    """One submodule under two names, and one linear under two names, each called twice."""

    def __init__(self) -> None:
        super().__init__()
        inner = nn.Sequential(nn.Linear(10, 10), nn.ReLU())
        self.submod1 = inner
        self.submod2 = inner
        self.multiname1 = nn.Linear(10, 10)
        self.multiname2 = self.multiname1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.submod2(self.submod1(x))
        return self.multiname2(self.multiname1(x))


class RepeatedNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(10, 10)
        self.fc2 = nn.Linear(10, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(3):
            x = self.fc1(x)
        for _ in range(2):
            x = self.fc2(x)
        return x


class NonForwardInner(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(10, 10)

    def other(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x) * 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class NonForwardNet(nn.Module):
    """A submodule's non-forward method: its ops belong to the caller's scope."""

    def __init__(self) -> None:
        super().__init__()
        self.submod = NonForwardInner()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.submod.other(self.submod(x))


case("fvcore-nested", f"{JA}::NestedNet (uncalled module)", NestedNet, _x(2, 3, 8, 8))
case("fvcore-shared", f"{JA}::SharedModuleNet", SharedModuleNet, _x(4, 10))
case("fvcore-repeated", f"{JA}::RepeatedNet", RepeatedNet, _x(4, 10),
     expect={"fvcore": 5 * 4 * 10 * 10})  # five calls of a 10×10 linear on 4 rows
case("fvcore-non-forward", f"{JA}::NonForwardNet", NonForwardNet, _x(4, 10))

# --- torch-scan: tests/test_crawler.py, tests/test_modules.py ---------------------------------

TS = "torch-scan tests"
case("torchscan-crawl", f"{TS}/test_crawler.py::test_crawl_module",
     lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(inplace=True), nn.Flatten(1),
                           nn.Linear(8 * 30 * 30, 10)), _x(1, 3, 32, 32))
for _name, _mod, _shape in (
        ("identity", lambda: nn.Identity(), (2, 8)),
        ("flatten", lambda: nn.Flatten(), (2, 3, 4)),
        ("linear", lambda: nn.Linear(8, 4), (2, 8)),
        ("relu", lambda: nn.ReLU(), (2, 8)),
        ("elu", lambda: nn.ELU(), (2, 8)),
        ("leaky-relu", lambda: nn.LeakyReLU(), (2, 8)),
        ("relu6", lambda: nn.ReLU6(), (2, 8)),
        ("tanh", lambda: nn.Tanh(), (2, 8)),
        ("sigmoid", lambda: nn.Sigmoid(), (2, 8)),
        ("conv1d", lambda: nn.Conv1d(3, 8, 3), (2, 3, 16)),
        ("conv2d", lambda: nn.Conv2d(3, 8, 3), (2, 3, 16, 16)),
        ("conv3d", lambda: nn.Conv3d(3, 8, 3), (1, 3, 6, 6, 6)),
        ("conv-transpose2d", lambda: nn.ConvTranspose2d(3, 8, 3, stride=2), (2, 3, 8, 8)),
        ("batchnorm1d", lambda: nn.BatchNorm1d(8), (4, 8)),
        ("batchnorm2d", lambda: nn.BatchNorm2d(3), (2, 3, 8, 8)),
        ("maxpool2d", lambda: nn.MaxPool2d(2), (2, 3, 8, 8)),
        ("avgpool2d", lambda: nn.AvgPool2d(3, stride=2, padding=1), (2, 3, 8, 8)),
        ("adaptive-maxpool2d", lambda: nn.AdaptiveMaxPool2d((3, 3)), (2, 3, 8, 8)),
        ("adaptive-avgpool2d", lambda: nn.AdaptiveAvgPool2d((3, 3)), (2, 3, 8, 8)),
        ("dropout", lambda: nn.Dropout(0.5), (2, 8))):
    case(f"torchscan-{_name}", f"{TS}/test_modules.py::test_module_flops ({_name})", _mod,
         _x(*_shape))

# --- ptflops: tests/common_test.py --------------------------------------------------------------

PT = "ptflops tests/common_test.py"


class SimpleConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 2, 3, bias=True)
        self.bn = nn.BatchNorm2d(2)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.relu(self.bn(self.conv1(x)))).flatten(1))


# at batch 1, 3×10×10: conv 2·8·8 outputs × 27 = 3,456 + bias 128; BN 128·2 = 256; ReLU 128
# (module) + 128 (F.relu); pool 128 (module) + 128 (F.adaptive_avg_pool2d); fc 2·4 + 4 = 12
case("ptflops-conv-net", f"{PT}::test_conv (a simple conv net)", SimpleConvNet,
     _x(1, 3, 10, 10), expect={"ptflops-pytorch": 3_456 + 128 + 256 + 256 + 256 + 12})
case("ptflops-fc", f"{PT}::test_fc", lambda: nn.Linear(3, 2, bias=True), _x(1, 3),
     expect={"ptflops-pytorch": 3 * 2 + 2})
case("ptflops-fc-multidim", f"{PT}::test_fc_multidim", lambda: nn.Linear(3, 2, bias=True),
     _x(1, 10, 3), expect={"ptflops-pytorch": (3 * 2 + 2) * 10})
case("ptflops-input-constructor", f"{PT}::test_input_constructor (a dict of inputs)",
     lambda: Fn(lambda s, x, y: s.fc(x) + s.fc(y), fc=nn.Linear(4, 3)),
     lambda: ((), {"x": T(2, 4), "y": T(2, 4, seed=1)}))
for _name, _call in (("size", lambda x: F.interpolate(x, size=(7, 7))),
                     ("scale-2", lambda x: F.interpolate(x, scale_factor=2)),
                     ("scale-2.5", lambda x: F.interpolate(x, scale_factor=2.5)),
                     ("bilinear-scale-1.5", lambda x: F.interpolate(
                         x, scale_factor=1.5, mode="bilinear", align_corners=False))):
    case(f"ptflops-interpolate-{_name}", f"{PT}::test_func_interpolate_args ({_name})",
         (lambda c=_call: Fn(lambda s, x: c(x))), _x(1, 2, 4, 4))
case("ptflops-upsample-module", f"{PT}::test_upsample (module)",
     lambda: nn.Upsample(scale_factor=2, mode="nearest"), _x(2, 3, 4, 4))


def _tensor_ops(s: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    a = torch.matmul(x, y) + x.matmul(y) + torch.mm(x, y) + x @ y
    b = torch.bmm(x[None], y[None])[0] + torch.addmm(a, x, y) + torch.baddbmm(
        a[None], x[None], y[None])[0]
    return torch.mul(a, b) + a.mul(b) + torch.add(a, b) + a.add(b) + a * b + a + b


case("ptflops-torch-ops", f"{PT}::test_torch_ops (tensor ops)", lambda: Fn(_tensor_ops),
     lambda: ((T(6, 6), T(6, 6, seed=1)), {}))
case("ptflops-functional-relu", f"{PT}::test_functional (F.relu, F.elu, F.gelu, F.softmax)",
     lambda: Fn(lambda s, x: F.softmax(F.gelu(F.elu(F.relu(x))), dim=-1)), _x(2, 8))
for _cls in ("RNN", "GRU", "LSTM"):
    case(f"ptflops-{_cls.lower()}", f"{PT}::test_rnn ({_cls}, 2 layers, bidirectional)",
         (lambda c=_cls: getattr(nn, c)(8, 16, num_layers=2, bidirectional=True,
                                        batch_first=True)), _x(3, 5, 8))
    case(f"ptflops-{_cls.lower()}-seq-first", f"{PT}::test_rnn ({_cls}, sequence first)",
         (lambda c=_cls: getattr(nn, c)(8, 16)), _x(5, 3, 8))
case("ptflops-lstm-cell", f"{PT}::test_rnn_cell (LSTMCell)", lambda: nn.LSTMCell(8, 16),
     _x(3, 8))
case("ptflops-gru-cell", f"{PT}::test_rnn_cell (GRUCell)", lambda: nn.GRUCell(8, 16), _x(3, 8))
case("ptflops-mha-self", f"{PT}::test_mha (self-attention, batch_first: the fast path)",
     lambda: Fn(lambda s, x: s.mha(x, x, x)[0],
                mha=nn.MultiheadAttention(16, 4, batch_first=True)), _x(2, 5, 16))
case("ptflops-mha-qkv", f"{PT}::test_mha (separate q, k, v, sequence first)",
     lambda: nn.MultiheadAttention(16, 4), lambda: ((T(5, 2, 16), T(7, 2, 16, seed=1),
                                                     T(7, 2, 16, seed=2)), {}))
case("ptflops-mha-root", f"{PT}::test_mha (the module itself, q = k = v)",
     lambda: nn.MultiheadAttention(16, 4, batch_first=True),
     lambda: (lambda x: ((x, x, x), {}))(T(2, 5, 16)))

# --- thop: tests/test_conv2d.py, test_matmul.py, test_relu.py -----------------------------------

TH = "thop tests"
# n, c_in, h, w = 1, 3, 16, 16; c_out, k = 12, 5; stride 1, padding 1, dilation 1, groups 1:
# out 14×14; MACs = c_out · 14·14 · c_in · 5·5 = 176,400 (thop counts no bias)
case("thop-conv2d", f"{TH}/test_conv2d.py::test_conv2d",
     lambda: nn.Conv2d(3, 12, 5, stride=1, padding=1), _x(1, 3, 16, 16),
     expect={"thop": 12 * 14 * 14 * 3 * 25})
case("thop-conv2d-no-bias", f"{TH}/test_conv2d.py::test_conv2d_no_bias",
     lambda: nn.Conv2d(3, 12, 5, stride=2, padding=2, groups=3, bias=False), _x(1, 3, 16, 16),
     expect={"thop": 12 * 8 * 8 * 1 * 25})  # out 8×8, 3 groups: 1 input channel each
case("thop-matmul", f"{TH}/test_matmul.py::test_matmul_case2 (Linear)",
     lambda: nn.Linear(100, 200), _x(3, 100), expect={"thop": 3 * 100 * 200})
case("thop-relu", f"{TH}/test_relu.py::test_relu", lambda: nn.ReLU(), _x(2, 3, 4, 4),
     expect={"thop": 0})
case("thop-einsum-functional", f"{TH} (functional counter: einsum, matmul, SDPA)",
     lambda: Fn(lambda s, x: F.scaled_dot_product_attention(x, x, x)
                + torch.einsum("bhld,bhmd->bhlm", x, x)[..., :8] @ x[..., :8, :]),
     _x(2, 2, 8, 8))

# --- PyTorch: test/test_flop_counter.py ---------------------------------------------------------

FC = "pytorch test/test_flop_counter.py"


def _variety(s: nn.Module, x: torch.Tensor) -> torch.Tensor:
    a = torch.mm(x[:4, :5], x[:5, :6])
    b = torch.addmm(x[:4, :6], x[:4, :5], x[:5, :6], beta=0.5, alpha=0.5)
    c = torch.matmul(x[:5, :6], x[:6, :7])
    d = torch.einsum("ab,bc->ac", x[:6, :7], x[:7, :8])
    return a.sum() + b.sum() + c.sum() + d.sum() + s.mod(x[:8, :9]).sum()


# 2·(4·5·6 + 4·5·6 + 5·6·7 + 6·7·8 + 8·9·10) = 2·1,506 = 3,012
case("flopcounter-variety", f"{FC}::test_flop_counter_variety",
     lambda: Fn(_variety, mod=nn.Linear(9, 10)), _x(10, 10),
     expect={"torch-flopcounter": 3_012})
case("flopcounter-bmm-baddbmm", f"{FC}::test_op (bmm, baddbmm)",
     lambda: Fn(lambda s, x, y: torch.bmm(x, y).sum() + torch.baddbmm(
         torch.zeros(3, 4, 6), x, y).sum()), lambda: ((T(3, 4, 5), T(3, 5, 6, seed=1)), {}),
     expect={"torch-flopcounter": 2 * 2 * 3 * 4 * 5 * 6})  # 720 per product, 2 products
case("flopcounter-conv-padding", f"{FC}::test_op (conv2d, padding 1)",
     lambda: Fn(lambda s, x, w: torch.conv2d(x, w, padding=1)),
     lambda: ((T(2, 3, 6, 6), T(6, 3, 4, 4, seed=1)), {}),
     expect={"torch-flopcounter": 2 * 2 * 6 * 25 * 3 * 16})  # out 5×5: 28,800
case("flopcounter-conv-transpose", f"{FC}::test_op (conv_transpose2d)",
     lambda: Fn(lambda s, x, w: F.conv_transpose2d(x, w, stride=2)),
     lambda: ((T(2, 3, 5, 5), T(3, 4, 3, 3, seed=1)), {}),
     expect={"torch-flopcounter": 2 * 2 * 25 * 3 * 4 * 9})  # input side: 10,800
case("flopcounter-conv-same", f"{FC}::test_op (conv1d, padding='same')",
     lambda: nn.Conv1d(4, 6, 5, padding="same"), _x(2, 4, 16),
     expect={"torch-flopcounter": 2 * 2 * 6 * 16 * 4 * 5})
case("flopcounter-noop", f"{FC}::test_noop", lambda: Fn(lambda s, x: x.cos()), _x(4, 5),
     expect={"torch-flopcounter": 0})
case("flopcounter-module", f"{FC}::test_module (nested Linear)",
     lambda: nn.Sequential(nn.Linear(5, 6), nn.Sequential(nn.Linear(6, 7), nn.ReLU())),
     _x(4, 5), expect={"torch-flopcounter": 2 * 4 * (5 * 6 + 6 * 7)})
case("flopcounter-sdpa-cpu", f"{FC}::test_sdpa (on the CPU)",
     lambda: Fn(lambda s, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)),
     lambda: ((T(2, 4, 16, 8), T(2, 4, 16, 8, seed=1), T(2, 4, 16, 8, seed=2)), {}),
     expect={"torch-flopcounter": 0},
     differs={"torch-flopcounter": "flopcounter-cpu-sdpa-zero: the CPU kernel is not "
                                   "registered (the upstream test runs on CUDA)"})
case("flopcounter-pytrees", f"{FC}::test_pytrees (dict in, dict out)",
     lambda: Fn(lambda s, x: {"a": torch.mm(x["a"].relu(), x["a"])}),
     lambda: (({"a": T(10, 10)},), {}), expect={"torch-flopcounter": 2 * 1000})
case("flopcounter-hook-registration", f"{FC}::test_hook_registration",
     lambda: nn.Linear(100, 100), _x(3, 100), expect={"torch-flopcounter": 2 * 3 * 100 * 100})
case("flopcounter-transformer-layer", f"{FC} (nn.TransformerEncoderLayer, eval: fast path)",
     lambda: nn.TransformerEncoderLayer(16, 4, 32, batch_first=True, dropout=0.0),
     _x(2, 6, 16))
case("flopcounter-transformer-encoder", f"{FC} (nn.TransformerEncoder, 2 layers)",
     lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, 32, batch_first=True),
                                   2, enable_nested_tensor=False), _x(2, 6, 16))


# --- running them -------------------------------------------------------------------------------

def run_case(c: Case) -> dict[str, Any]:
    """One case through crosscheck, as a row of the benchmark (never raises)."""
    torch.manual_seed(0)
    start = time.perf_counter()
    row: dict[str, Any] = {"name": c.name, "family": c.source, "spec": "", "error": None,
                           "note": "; ".join(f"{p}: {w}" for p, w in c.differs.items()),
                           "peers": {}}
    try:
        args, kwargs = c.inputs()
        cc = crosscheck(c.build(), inputs=args, kwargs=kwargs, name=c.name)
    except Exception as exc:  # a crash of the check itself
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["seconds"] = time.perf_counter() - start
        return row
    row["seconds"] = round(time.perf_counter() - start, 2)
    row["spec"] = ", ".join("×".join(map(str, i["shape"])) + f" {i['dtype']}"
                            for i in cc.inputs)
    for p in cc.peers:
        row["peers"][p.peer] = {
            "status": p.status, "unexplained": p.unexplained, "message": p.message,
            "layers": len(p.layers), "reported": p.headline.reported if p.headline else None,
            "bad": [x.to_dict() for x in (*p.totals, *p.layers) if not x.explained][:5]}
    return row


@pytest.mark.parametrize("name", list(CASES))
def test_upstream_case_is_explained(name: str) -> None:
    for pkg in ("fvcore", "thop", "ptflops", "torchinfo"):
        pytest.importorskip(pkg)
    c = CASES[name]
    row = run_case(c)
    assert row["error"] is None, row["error"]
    failed = {p: v["message"] for p, v in row["peers"].items() if v["status"] == "failed"}
    assert not failed, failed
    bad = {p: v["bad"] for p, v in row["peers"].items() if v["unexplained"]}
    assert not bad, bad
    for peer, value in c.expect.items():
        assert row["peers"][peer]["reported"] == value, (peer, row["peers"][peer])
