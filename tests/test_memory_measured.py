"""convcost's peak memory against the CPU's own: the same inference and training step run for
real under torch.profiler (``profile_memory=True``), whose memory events are every allocation
and release the CPU allocator made during the profile.

:func:`measured_peak` is the measurement ``benchmarks/bench_memory.py`` uses on the zoo and
the corpus (``docs/benchmarks/memory.md``); here it checks small models on every path
(inference, SGD, momentum, Adam) to within 10 %.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
import torch
from _helpers import sum_of_outputs
from torch import nn
from torch.utils import _pytree as pytree

import convcost
from convcost.studies.memory import memory

OPTIMIZERS: dict[str, Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]] = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.01),
    "momentum": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
    "adam": lambda p: torch.optim.Adam(p, lr=1e-3),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-3),
}


def _held(tensors: Iterable[Any]) -> int:
    """Bytes of the distinct storages of ``tensors``."""
    seen: dict[int, int] = {}
    for t in tensors:
        if isinstance(t, torch.Tensor):
            s = t.untyped_storage()
            seen[s.data_ptr()] = s.nbytes()
    return sum(seen.values())


def _profiled_peak(step: Callable[[], Any]) -> int:
    """The most bytes ``step`` held at once beyond what was allocated before it: the running
    sum of the profiler's memory events (each allocation +n, each release −n, in time order).
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = sorted((e for e in prof.profiler.kineto_results.events()
                     if e.name() == "[memory]"), key=lambda e: e.start_ns())
    running = peak = 0
    for e in events:
        running += e.nbytes()
        peak = max(peak, running)
    return peak


def measured_peak(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None,
                  *, train: bool = False, optimizer: str = "sgd") -> int:
    """The CPU's peak for one inference (eval, ``no_grad``) or one steady-state training step
    (train mode, ``out = model(...)``, ``loss = sum of out``, ``loss.backward()``,
    ``step()``, ``zero_grad()``) of
    ``model``: what was alive before the step (parameters, buffers, inputs and, in training,
    the optimizer's state an earlier step made) plus the profiled peak of the step itself.
    One thread; a warm-up run first (oneDNN's one-time set-up is not the model's). The model
    is left in eval mode with no gradients."""
    kwargs = kwargs or {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    inputs = pytree.tree_leaves((args, kwargs))
    try:
        if not train:
            model.eval()
            with torch.no_grad():
                model(*args, **kwargs)
                base = _held([*model.parameters(), *model.buffers(), *inputs])
                return base + _profiled_peak(lambda: model(*args, **kwargs))
        model.train()
        opt = OPTIMIZERS[optimizer](model.parameters())

        def step() -> None:  # a training loop's: the output and the loss alive until the end
            out = model(*args, **kwargs)
            loss = sum_of_outputs(out)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        step()  # makes the optimizer's state: the measured step is a steady-state one
        state = [v for s in opt.state.values() for v in s.values()]
        base = _held([*model.parameters(), *model.buffers(), *inputs, *state])
        return base + _profiled_peak(step)
    finally:
        torch.set_num_threads(threads)
        model.eval()
        model.zero_grad(set_to_none=True)


class SmallNet(nn.Module):
    """Conv, BatchNorm, ReLU, a residual add, pooling, dropout and a head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        self.block = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, bias=False),
                                   nn.BatchNorm2d(16), nn.ReLU(),
                                   nn.Conv2d(16, 16, 1, bias=False), nn.BatchNorm2d(16))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = torch.relu(x + self.block(x))
        return self.fc(self.drop(self.pool(x).flatten(1)))


def test_a_tiny_mlp_exactly() -> None:
    # the derivations of tests/test_memory.py, against the CPU: every byte
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    x = torch.randn(3, 4)
    assert measured_peak(model, (x,)) == 472
    assert measured_peak(model, (x,), train=True, optimizer="sgd") == 672
    assert memory(model, [(4,)], batch=3, alloc="exact").inference.bytes == 472
    assert memory(model, [(4,)], batch=3, alloc="exact", train=True,
                  optimizer="sgd").peak.bytes == 672


@pytest.mark.parametrize("case", ["inference", "sgd", "momentum", "adam"])
def test_small_cnn_within_ten_percent_of_the_cpu(case: str) -> None:
    torch.manual_seed(0)
    model = SmallNet()
    x = torch.randn(4, 3, 32, 32)
    train = case != "inference"
    optimizer = case if train else "sgd"
    measured = measured_peak(model, (x,), train=train, optimizer=optimizer)
    predicted = memory(model, [(3, 32, 32)], batch=4, train=train, optimizer=optimizer,
                       alloc="cpu").peak.bytes
    assert abs(predicted / measured - 1) < 0.10, (predicted, measured)


def test_the_resnet18_inference_peak_needs_the_cpu_convolution_workspace() -> None:
    # at 2×3×64×64 the parameters are most of the peak (46.8 MB) and layer4's 3×3 conv holds
    # its reordered weight (512·512·9·4 = 9.4 MB) while it runs: without that workspace the
    # model is 15 % low (docs/benchmarks/memory.md)
    from convcost.resolve import resolve

    model = resolve("resnet18", "cpu").module
    x = torch.randn(2, 3, 64, 64)
    measured = measured_peak(model, (x,))
    with_workspace = memory(model, [(3, 64, 64)], batch=2, alloc="cpu").peak.bytes
    without = memory(model, [(3, 64, 64)], batch=2, alloc="exact").peak.bytes
    assert abs(with_workspace / measured - 1) < 0.02
    assert without / measured - 1 < -0.10
    assert convcost.analyze(model, (2, 3, 64, 64)).totals.params == 11_689_512
