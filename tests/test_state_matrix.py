"""The model and the caller's objects, untouched by every entry point.

28 kinds of model (buffers a forward updates, hooks of every kind, frozen parameters,
parametrizations, old and new weight_norm, spectral_norm, shared and tied modules, a forward
that mutates itself or its input or draws random numbers, one that raises, TorchScript, lazy
modules, RNNs, Embedding, attention, a model whose ``train()``/``eval()`` do more than set a
flag, ...) × every entry point that runs a model (``analyze`` on meta and on cpu, ``summary``,
``check``, ``bench``, ``bench --layers``, the ``report``/``compare`` analysis). After each:
state_dict keys and values, every parameter's identity, device, dtype, ``requires_grad`` and
``.grad``, every hook dict, the ``training`` flags, plain tensor attributes, the global RNG
and the caller's input tensors are exactly as before — also when the entry point raised.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

import convcost
from convcost import studies
from convcost.latency.measure import measure_model
from convcost.latency.profile_layers import profile_layers
from convcost.oracles import crosscheck

IMAGE = (1, 3, 8, 8)


def _cbr() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())


class Counter(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1  # a forward that updates its own buffer
        return self.conv(x)


class SelfMutating(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.last = torch.zeros(())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        self.last = y.mean()  # assigns a plain tensor attribute
        return y


class InPlaceInput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x.mul_(2)  # writes into the caller's tensor
        return self.conv(x)


class Noisy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x + torch.randn_like(x))  # draws from the global RNG


class Raising(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.conv(x)
        raise RuntimeError("forward fails halfway")


class OwnModes(nn.Module):
    """``eval()`` freezes the weights and ``train()`` unfreezes them: convcost must set the
    flags itself, never call these."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def train(self, mode: bool = True) -> OwnModes:
        for p in self.parameters():
            p.requires_grad_(mode)
        return super().train(mode)


class RootParam(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(4, 1, 1))
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * self.scale


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 8)
        self.b.weight = self.a.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


class Symmetric(nn.Module):
    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w.triu() + w.triu(1).transpose(-1, -2)


class Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.mha = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mha(x, x, x)[0]


class Recurrent(nn.Module):
    def __init__(self, cell: type[nn.Module]) -> None:
        super().__init__()
        self.rnn = cell(8, 8, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(x)[0]


def _with_hooks() -> nn.Module:
    m = _cbr()
    m.register_forward_pre_hook(lambda mod, args: None)
    m.register_forward_hook(lambda mod, args, out: None)
    m[0].register_forward_hook(lambda mod, args, out: None, with_kwargs=False)
    m[1].register_full_backward_hook(lambda mod, gin, gout: None)
    m[2].register_full_backward_pre_hook(lambda mod, gout: None)
    m.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: None)
    return m


def _frozen() -> nn.Module:
    m = _cbr()
    m[0].weight.requires_grad_(False)
    return m


def _with_grads() -> nn.Module:
    m = _cbr()
    m(torch.randn(IMAGE)).sum().backward()  # .grad filled: must stay as it is
    return m


def _parametrized() -> nn.Module:
    m = nn.Linear(8, 8)
    parametrize.register_parametrization(m, "weight", Symmetric())
    return m


def _lazy() -> nn.Module:
    return nn.Sequential(nn.LazyConv2d(4, 3))


def _scripted() -> nn.Module:
    return torch.jit.script(_cbr())


def _shared() -> nn.Module:
    lin = nn.Linear(8, 8)
    return nn.Sequential(lin, nn.ReLU(), lin)


class Nested(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([_cbr(), nn.ModuleDict({"a": nn.Conv2d(4, 4, 1)})])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks[1]["a"](self.blocks[0](x))


def _non_persistent() -> nn.Module:
    m = _cbr()
    m.register_buffer("table", torch.arange(4.0), persistent=False)
    return m


def _float64() -> nn.Module:
    return _cbr().double()


def _embedding() -> nn.Module:
    return nn.Sequential(nn.Embedding(50, 8), nn.Linear(8, 4))


KINDS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...], torch.dtype]] = {
    "conv-bn-relu": (_cbr, IMAGE, torch.float32),
    "bn in train mode": (lambda: _cbr().train(), IMAGE, torch.float32),
    "buffer counter": (Counter, IMAGE, torch.float32),
    "hooks of every kind": (_with_hooks, IMAGE, torch.float32),
    "frozen params": (_frozen, IMAGE, torch.float32),
    "grads present": (_with_grads, IMAGE, torch.float32),
    "parametrize": (_parametrized, (2, 8), torch.float32),
    "weight_norm (old)": (lambda: nn.utils.weight_norm(nn.Linear(8, 8)), (2, 8), torch.float32),
    "weight_norm (new)": (lambda: nn.utils.parametrizations.weight_norm(nn.Linear(8, 8)),
                          (2, 8), torch.float32),
    "spectral_norm (old)": (lambda: nn.utils.spectral_norm(nn.Linear(8, 8)), (2, 8),
                            torch.float32),
    "shared module": (_shared, (2, 8), torch.float32),
    "tied weights": (Tied, (2, 8), torch.float32),
    "self-mutating forward": (SelfMutating, IMAGE, torch.float32),
    "in-place on its input": (InPlaceInput, IMAGE, torch.float32),
    "random numbers": (Noisy, IMAGE, torch.float32),
    "dropout": (lambda: nn.Sequential(nn.Dropout(0.5), nn.Linear(8, 8)).train(), (2, 8),
                torch.float32),
    "raising forward": (Raising, IMAGE, torch.float32),
    "own train/eval": (OwnModes, IMAGE, torch.float32),
    "param on the root": (RootParam, IMAGE, torch.float32),
    "nested containers": (Nested, IMAGE, torch.float32),
    "non-persistent buffer": (_non_persistent, IMAGE, torch.float32),
    "float64": (_float64, IMAGE, torch.float32),
    "lstm": (lambda: Recurrent(nn.LSTM), (1, 5, 8), torch.float32),
    "gru": (lambda: Recurrent(nn.GRU), (1, 5, 8), torch.float32),
    "embedding": (_embedding, (1, 6), torch.int64),
    "multihead attention": (Attention, (1, 5, 8), torch.float32),
    "torchscript": (_scripted, IMAGE, torch.float32),
    "lazy": (_lazy, IMAGE, torch.float32),
}


def _tensor_attrs(model: nn.Module) -> list[tuple[str, str, int]]:
    return [(name, k, id(v)) for name, m in model.named_modules()
            for k, v in vars(m).items() if isinstance(v, torch.Tensor)]


def _state(model: nn.Module) -> dict[str, Any]:
    mods = list(model.named_modules())
    return {
        "state": {k: v if isinstance(v, nn.parameter.UninitializedTensorMixin)
                  else v.detach().clone() for k, v in model.state_dict(keep_vars=True).items()},
        "params": [(n, id(p), p.device, getattr(p, "dtype", None), p.requires_grad,
                    None if p.grad is None else p.grad.clone())
                   for n, p in model.named_parameters(remove_duplicate=False)],
        "buffers": [(n, id(b), b.device) for n, b in model.named_buffers(remove_duplicate=False)],
        "training": [(n, m.training) for n, m in mods],
        "hooks": [(n, len(m._forward_hooks), len(m._forward_pre_hooks),
                   len(m._backward_hooks), len(m._backward_pre_hooks),
                   len(m._state_dict_pre_hooks)) for n, m in mods],
        "attrs": _tensor_attrs(model),
        "rng": torch.get_rng_state(),
    }


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["state"].keys() == b["state"].keys()
    for k, va in a["state"].items():
        vb = b["state"][k]
        if isinstance(va, nn.parameter.UninitializedTensorMixin):  # lazy: still uninitialised
            assert isinstance(vb, nn.parameter.UninitializedTensorMixin), k
        else:
            assert torch.equal(va, vb), k
    assert len(a["params"]) == len(b["params"])
    for pa, pb in zip(a["params"], b["params"], strict=True):
        assert pa[:5] == pb[:5], pa[0]
        assert (pa[5] is None) == (pb[5] is None) and (pa[5] is None or torch.equal(pa[5],
                                                                                   pb[5]))
    for key in ("buffers", "training", "hooks", "attrs"):
        assert a[key] == b[key], key
    assert torch.equal(a["rng"], b["rng"]), "the global RNG moved"


def _input(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    if dtype.is_floating_point:
        return torch.randn(shape, generator=gen, dtype=dtype)
    return torch.randint(0, 50, shape, generator=gen, dtype=dtype)


ENTRY_POINTS: dict[str, Callable[[nn.Module, torch.Tensor], object]] = {
    "analyze meta": lambda m, x: convcost.analyze(m, inputs=x),
    "analyze cpu": lambda m, x: convcost.analyze(m, inputs=x, device="cpu"),
    "summary": lambda m, x: studies.summary(m, tuple(x.shape)),
    "check": lambda m, x: crosscheck(m, tuple(x.shape)),
    "bench": lambda m, x: measure_model(m, tuple(x.shape), warmup=1, min_runs=5, max_runs=5,
                                        budget_s=0.0),
    "bench --layers": lambda m, x: profile_layers(m, tuple(x.shape)),
    "report": lambda m, x: studies.compare([m], [tuple(x.shape[1:])]),
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_nothing_the_user_had_changes(kind: str, entry: str) -> None:
    build, shape, dtype = KINDS[kind]
    torch.manual_seed(0)
    model = build()
    x = _input(shape, dtype)
    x_before = x.clone()
    before = _state(model)
    with contextlib.suppress(Exception):  # refusing is fine; changing the model is not
        ENTRY_POINTS[entry](model, x)
    _same(before, _state(model))
    assert torch.equal(x, x_before), "the caller's input changed"


def test_the_matrix_is_large_enough() -> None:
    assert len(KINDS) >= 25 and len(ENTRY_POINTS) >= 7
