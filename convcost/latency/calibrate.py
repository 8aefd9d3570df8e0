"""Calibrate the latency model on this machine with micro-benchmarks, checked and cached.

**The networks** (:data:`MICRO_BENCHMARKS`, batch 1, float32, random weights). Each has a
*role*:

- an op class of :mod:`~convcost.latency.roofline` (``dense``, ``grouped``, ``pointwise``,
  ``depthwise``, ``gemm``, ``max_pool``, ``avg_pool``, ``transcendental``, ``norm``,
  ``reduce``, ``memory``): one layer of a shape ImageNet CNNs use, several shapes per class
  (small and large maps, few and many channels). A class's rate is the least-squares solution
  (on the relative error, :func:`~convcost.latency.fit.fit_terms`) of
  ``t − module call − overhead − (bytes at the memory ops' rate) = work · s_per_work`` over
  its shapes (or of ``… = bytes · s_per_byte`` for the byte-only classes); each network's
  work and bytes are convcost's own count for it. One shape calibrates a rate no model meets
  (the convolution libraries pick a different algorithm for every shape); a spread of shapes
  gives the rates a model meets on average;
- ``overhead:<class>``: the class's op on a 4×4 map, 50 times in one forward pass (called
  functionally: no module call per op); its time per op is the class's fixed cost;
- ``module``: 50 ``nn.Identity`` in an ``nn.Sequential``: the fixed cost of a module call;
- ``free``: 50 ``view`` calls: the fixed cost of a view/metadata op;
- ``stream``: ``Linear(4096, 4096)`` on one vector: 64 MiB of weights read once, beyond any
  last-level cache, for the streaming bandwidth;
- ``context``: small models (MobileNet V2's inverted residual blocks, one network per stage
  of its widths and map sizes, 112×112 to 7×7), whose time beyond the sum of their ops' own
  estimates, over all their ops, is what an op costs inside a model beyond what it costs
  alone (each op reads the previous op's fresh output; the allocator and the caches see a
  model's pattern, not one op over and over): a part per op and a part per byte the op
  moves, by least squares over the stages (one network alone gave 1 to 62 µs an op depending
  on its width and map size).

**Statistics.** Every round builds each network afresh (new weights, input, allocations)
and times it for ``budget_s`` (:func:`~convcost.latency.measure.measure_model`); a round's
time is the median of its runs after the MAD outlier screen
(:mod:`~convcost.latency.stats`), and a network's time is the lowest of its rounds' medians
(``rounds``, 3 by default, interleaved over all networks), with the spread of the rounds
(``max / min − 1``) recorded as its noise. The lowest, not the median, of the rounds: within
a round the median and the MAD screen take care of stalls and jitter; what is left between
rounds is another process busy for a while, which only ever adds time, so the least
disturbed round is the one to keep (a slowed round moves the median of 3 rounds when it
happens twice, the lowest only when it happens in every round).

**Sanity checks** (:func:`sanity_problems`), before the calibration is kept: no fixed cost
above :data:`OVERHEAD_BOUND_S` (1 ms: the tiny networks take microseconds) nor above the
whole time of the smallest network of its class; no network faster than the machine can be
(:func:`machine_limits`: multiply-adds per second from the cores, clock and vector width,
bytes per second from the cores and clock, both generous). A network behind a failed check is
measured again (``retries`` times); a calibration still failing is refused with
:class:`CalibrationError` naming the constant, its value and the bound.

Results are cached as JSON in ``$XDG_CACHE_HOME/convcost`` (or ``~/.cache/convcost``), one
file per machine key (CPU or GPU model, threads, torch version, device); never in the package.
On CUDA the same networks run on the GPU, timed by CUDA events, and the cache is the L2.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import platform
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from convcost.errors import ConvcostError, InvalidArgumentError
from convcost.latency.fit import fit_terms
from convcost.latency.heap import heap_state
from convcost.latency.measure import check_device, measure_model, pinned_threads
from convcost.latency.roofline import (
    ALIGNMENTS,
    CONV_CLASSES,
    OP_CLASSES,
    SHARED_BYTES,
    WORK,
    Calibration,
    OpCost,
    alignment_factor_of,
    alignment_of,
)
from convcost.latency.stats import median, robust_median

LOOP = 50
"""Ops (or module calls, or view ops) per forward pass of the fixed-cost networks."""
OVERHEAD_BOUND_S = 1e-3
"""No fixed cost of one op or module call is longer (the tiny networks take microseconds)."""
MIN_FACTOR, MAX_FACTOR = 0.5, 10.0
"""Bounds of an alignment factor (an unaligned conv runs at most twice the aligned rate's
speed and at least a tenth of it: beyond, the measurement is noise)."""
FIXED_POINT_STEPS = 8
"""Rounds of (fixed costs net of the tiny networks' work, then rates net of the fixed costs):
each round shrinks the error by the tiny networks' share of work (about 1 %)."""


class CalibrationError(ConvcostError):
    """A calibration that failed its sanity checks every time it was measured."""


@dataclass(frozen=True)
class MicroBenchmark:
    """One calibration network: its role (module doc), a module factory, its input shape
    (batch first), and for an unaligned conv its aligned twin."""

    name: str
    role: str
    build: Callable[[], nn.Module]
    input_size: tuple[int, ...]
    pair: str | None = None  # an unaligned conv: its aligned twin's name (channel blocks)


# --- the networks ---------------------------------------------------------------------------


class _Add(nn.Module):
    """``x + y`` with ``y`` a buffer of the input's shape: reads two distinct operands and
    writes one output."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.y: torch.Tensor
        self.register_buffer("y", torch.randn(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.y


class _Scale(nn.Module):
    """``x * s`` with ``s`` one value per channel (a squeeze-excitation gate)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.s: torch.Tensor
        self.register_buffer("s", torch.rand(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.s


class _Cat(nn.Module):
    """``cat([x, y], 1)`` with ``y`` a buffer like the input (a DenseNet/ShuffleNet join)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.y: torch.Tensor
        self.register_buffer("y", torch.randn(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.y], 1)


class _Mean(nn.Module):
    """Global average pooling as ``x.mean((2, 3))``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3))


class _Loop(nn.Module):
    """``inner``'s forward :data:`LOOP` times on the input: one module call, ``LOOP`` ops."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        step = self.inner.forward  # no module call per op
        y = x
        for _ in range(LOOP):
            y = step(x)
        return y


class _MemoryMix(nn.Module):
    """:data:`LOOP` plain memory ops in turn: ReLU, add, cat, multiply (their average fixed
    cost)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for i in range(LOOP):
            k = i % 4
            y = (torch.relu(x) if k == 0 else x + x if k == 1
                 else torch.cat([x, x], 1) if k == 2 else x * x)
        return y


class _View(nn.Module):
    """One view op (metadata only)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(-1)


class _InvertedResidual(nn.Module):
    """MobileNet V2's block without a stride: 1×1 expansion, 3×3 depthwise, 1×1 projection,
    each with a batch norm (ReLU6 after the first two), and the residual add."""

    def __init__(self, channels: int, expand: int) -> None:
        super().__init__()
        mid = channels * expand
        self.expand = nn.Conv2d(channels, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.act1 = nn.ReLU6()
        self.dw = nn.Conv2d(mid, mid, 3, padding=1, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.act2 = nn.ReLU6()
        self.project = nn.Conv2d(mid, channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act1(self.bn1(self.expand(x)))
        y = self.act2(self.bn2(self.dw(y)))
        return x + self.bn3(self.project(y))


def _mini_model(channels: int = 32, expand: int = 4, blocks: int = 4) -> nn.Module:
    return nn.Sequential(*(_InvertedResidual(channels, expand) for _ in range(blocks)))


def _stage(channels: int, size: int, blocks: int = 2) -> MicroBenchmark:
    """A stage of MobileNet V2 (expansion 6) as a context network."""
    return MicroBenchmark(f"mini-model: {blocks} inverted residuals {channels}x6 @{size}",
                          "context", lambda: _mini_model(channels, 6, blocks),
                          (1, channels, size, size))


def _conv(cin: int, cout: int, k: int, size: int, stride: int = 1, groups: int = 1
          ) -> MicroBenchmark:
    kind = ("depthwise" if groups == cin == cout and groups > 1 else "grouped" if groups > 1
            else "pointwise" if k == 1 else "dense")
    name = f"{kind} {cin}->{cout} {k}x{k}/{stride}{f' g{groups}' if kind == 'grouped' else ''}" \
           f" @{size}"

    def build() -> nn.Module:
        return nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)

    return MicroBenchmark(name, kind, build, (1, cin, size, size))


def _twins(kind: str, k: int, widths: Iterable[tuple[int, int, int]]
           ) -> list[MicroBenchmark]:
    """Per ``(unaligned, aligned, size)``: a ``kind`` conv (``k``×``k``) of each width at
    ``size``², the unaligned one naming its aligned twin (``pair``). Channels ``c→c``; a
    depthwise conv of ``c`` channels; grouped: 256 channels in groups of the width."""
    def one(c: int, size: int) -> MicroBenchmark:
        if kind == "depthwise":
            return _dw(c, k, size)
        if kind == "grouped":
            return _conv(256, 256, k, size, groups=256 // c)
        return _conv(c, c, k, size)

    out: list[MicroBenchmark] = []
    for unaligned, aligned, size in widths:
        twin, odd = one(aligned, size), one(unaligned, size)
        out += [replace(twin, name=f"{twin.name} (twin)"),
                replace(odd, name=f"{odd.name} (unaligned)", pair=f"{twin.name} (twin)")]
    return out


def _dw(c: int, k: int, size: int, stride: int = 1) -> MicroBenchmark:
    return _conv(c, c, k, size, stride, groups=c)


def _tiny(role: str, build: Callable[[], nn.Module], shape: tuple[int, ...] = (1, 8, 4, 4)
          ) -> MicroBenchmark:
    return MicroBenchmark(f"{role} x{LOOP}", role, lambda: _Loop(build()), shape)


MICRO_BENCHMARKS: tuple[MicroBenchmark, ...] = (
    # dense k×k convs: stems, then 3×3 convs from large maps / few channels to small / many
    _conv(3, 32, 3, 224, 2), _conv(3, 64, 7, 224, 2), _conv(16, 16, 3, 112),
    _conv(64, 64, 3, 56), _conv(128, 128, 3, 28), _conv(256, 256, 3, 14), _conv(512, 512, 3, 7),
    # grouped: ResNeXt's 3×3 in 32 groups, ShuffleNet V1's grouped 1×1
    _conv(128, 128, 3, 56, groups=32), _conv(256, 256, 3, 28, groups=32),
    _conv(512, 512, 3, 14, groups=32), _conv(240, 240, 1, 28, groups=3),
    _conv(384, 384, 1, 14, groups=8),
    # pointwise 1×1: expansions and projections of inverted residuals, ShuffleNet's and
    # MobileNet V1's, at every map size
    _conv(16, 96, 1, 112), _conv(32, 64, 1, 112), _conv(24, 144, 1, 56), _conv(144, 24, 1, 56),
    _conv(64, 128, 1, 56), _conv(58, 58, 1, 28), _conv(40, 240, 1, 28), _conv(240, 40, 1, 28),
    _conv(256, 256, 1, 28), _conv(116, 116, 1, 14), _conv(96, 576, 1, 14),
    _conv(576, 96, 1, 14), _conv(512, 512, 1, 14), _conv(1024, 1024, 1, 7),
    _conv(160, 960, 1, 7), _conv(320, 1280, 1, 7),
    # depthwise
    _dw(32, 3, 112), _dw(96, 3, 112, 2), _dw(144, 3, 56, 2), _dw(144, 3, 56), _dw(256, 3, 56),
    _dw(58, 3, 28), _dw(240, 5, 28), _dw(512, 3, 14), _dw(672, 5, 14), _dw(960, 3, 7),
    # channels that do not fill the vector's blocks, each beside an aligned twin of nearly
    # the same width (the factor is their ratio: the aligned rate itself varies with width)
    *_twins("pointwise", 1, ((24, 32, 56), (20, 16, 56), (58, 64, 28), (116, 128, 14),
                             (232, 240, 14), (728, 736, 14))),
    *_twins("depthwise", 3, ((24, 32, 56), (20, 16, 56), (58, 64, 28), (116, 128, 28),
                             (232, 240, 14), (728, 736, 14))),
    *_twins("dense", 3, ((24, 32, 28), (20, 16, 28))),
    *_twins("grouped", 3, ((8, 16, 28),)),
    # products with a weight operand: classifiers at batch 1, a token matrix
    MicroBenchmark("linear 1280->1000", "gemm", lambda: nn.Linear(1280, 1000), (1, 1280)),
    MicroBenchmark("linear 2048->1000", "gemm", lambda: nn.Linear(2048, 1000), (1, 2048)),
    MicroBenchmark("linear 512->512 x196", "gemm", lambda: nn.Linear(512, 512), (1, 196, 512)),
    # pooling with a window
    MicroBenchmark("max-pool 3x3/2 @112", "max_pool", lambda: nn.MaxPool2d(3, 2, 1),
                   (1, 64, 112, 112)),
    MicroBenchmark("max-pool 3x3/1 @28", "max_pool", lambda: nn.MaxPool2d(3, 1, 1),
                   (1, 192, 28, 28)),
    MicroBenchmark("max-pool 2x2/2 @56", "max_pool", lambda: nn.MaxPool2d(2), (1, 128, 56, 56)),
    MicroBenchmark("max-pool 3x3/2 @28", "max_pool",
                   lambda: nn.MaxPool2d(3, 2, ceil_mode=True), (1, 256, 27, 27)),
    MicroBenchmark("avg-pool 2x2/2 @56", "avg_pool", lambda: nn.AvgPool2d(2), (1, 128, 56, 56)),
    MicroBenchmark("avg-pool 3x3/1 @14", "avg_pool", lambda: nn.AvgPool2d(3, 1, 1),
                   (1, 512, 14, 14)),
    MicroBenchmark("avg-pool 2x2/2 @28", "avg_pool", lambda: nn.AvgPool2d(2), (1, 256, 28, 28)),
    # reductions: global average pooling as mean and as an adaptive pool, an SE squeeze
    MicroBenchmark("mean @7", "reduce", _Mean, (1, 1280, 7, 7)),
    MicroBenchmark("adaptive-avg-pool @7", "reduce", lambda: nn.AdaptiveAvgPool2d(1),
                   (1, 2048, 7, 7)),
    MicroBenchmark("mean @14", "reduce", _Mean, (1, 480, 14, 14)),
    MicroBenchmark("mean @56", "reduce", _Mean, (1, 96, 56, 56)),
    # activations with an exp
    MicroBenchmark("silu @56", "transcendental", nn.SiLU, (1, 96, 56, 56)),
    MicroBenchmark("silu @28", "transcendental", nn.SiLU, (1, 240, 28, 28)),
    MicroBenchmark("sigmoid @14", "transcendental", nn.Sigmoid, (1, 480, 14, 14)),
    MicroBenchmark("silu @7", "transcendental", nn.SiLU, (1, 1280, 7, 7)),
    # normalisation
    MicroBenchmark("batch-norm @112", "norm", lambda: nn.BatchNorm2d(64), (1, 64, 112, 112)),
    MicroBenchmark("batch-norm @56", "norm", lambda: nn.BatchNorm2d(128), (1, 128, 56, 56)),
    MicroBenchmark("batch-norm @28", "norm", lambda: nn.BatchNorm2d(256), (1, 256, 28, 28)),
    MicroBenchmark("batch-norm @14", "norm", lambda: nn.BatchNorm2d(512), (1, 512, 14, 14)),
    MicroBenchmark("batch-norm @7", "norm", lambda: nn.BatchNorm2d(1024), (1, 1024, 7, 7)),
    # plain memory ops
    MicroBenchmark("relu @112", "memory", nn.ReLU, (1, 64, 112, 112)),
    MicroBenchmark("x + y @56", "memory", lambda: _Add((1, 128, 56, 56)), (1, 128, 56, 56)),
    MicroBenchmark("relu6 @56", "memory", nn.ReLU6, (1, 144, 56, 56)),
    MicroBenchmark("cat @28", "memory", lambda: _Cat((1, 128, 28, 28)), (1, 128, 28, 28)),
    MicroBenchmark("x * gate @14", "memory", lambda: _Scale(480), (1, 480, 14, 14)),
    MicroBenchmark("hardswish @28", "memory", nn.Hardswish, (1, 240, 28, 28)),
    MicroBenchmark("x + y @14", "memory", lambda: _Add((1, 256, 14, 14)), (1, 256, 14, 14)),
    # a small model: each op reads the previous op's fresh output, as in any model
    MicroBenchmark("mini-model: 4 inverted residuals 32x4 @28", "context", _mini_model,
                   (1, 32, 28, 28)),
    _stage(16, 112, 1), _stage(24, 56), _stage(32, 28), _stage(64, 14), _stage(96, 14),
    _stage(160, 7),
    # streaming: 64 MiB of weights read once
    MicroBenchmark("linear 4096->4096", "stream", lambda: nn.Linear(4096, 4096, bias=False),
                   (1, 4096)),
    # fixed costs: LOOP ops of each class on a 4×4 map, one module call
    _tiny("overhead:dense", lambda: nn.Conv2d(8, 8, 3, padding=1, bias=False)),
    # 4 channels a group, as ResNeXt's first stage: the grouped kernels' own path
    _tiny("overhead:grouped", lambda: nn.Conv2d(32, 32, 3, padding=1, groups=8, bias=False),
          (1, 32, 4, 4)),
    _tiny("overhead:pointwise", lambda: nn.Conv2d(8, 8, 1, bias=False)),
    _tiny("overhead:depthwise", lambda: nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)),
    _tiny("overhead:gemm", lambda: nn.Linear(8, 8), (1, 8)),
    _tiny("overhead:max_pool", lambda: nn.MaxPool2d(3, 1, 1)),
    _tiny("overhead:avg_pool", lambda: nn.AvgPool2d(3, 1, 1)),
    _tiny("overhead:reduce", _Mean),
    _tiny("overhead:transcendental", nn.SiLU),
    _tiny("overhead:norm", lambda: nn.BatchNorm2d(8)),
    MicroBenchmark(f"overhead:memory x{LOOP}", "overhead:memory", _MemoryMix, (1, 8, 4, 4)),
    MicroBenchmark(f"module call x{LOOP + 1}", "module",
                   lambda: nn.Sequential(*(nn.Identity() for _ in range(LOOP))), (1, 8, 4, 4)),
    MicroBenchmark(f"view x{LOOP}", "free", lambda: _Loop(_View()), (1, 8, 4, 4)),
)
ROLES = (*OP_CLASSES, *(f"overhead:{k}" for k in OP_CLASSES), "module", "free", "stream",
         "context")


@dataclass(frozen=True)
class Counts:
    """What convcost counts for one micro-benchmark: its ops (all of its role's class, or
    none), their work and bytes (summed), its view/metadata ops and module calls."""

    ops: int
    work: int
    nbytes: int
    free_ops: int
    module_calls: int
    channels: tuple[int, ...] = ()  # its convs' channels that fill blocks (conv_channels)


def counts_of(bench: MicroBenchmark) -> Counts:
    """:class:`Counts` of one network, from an analysis on the meta device (the class's work
    measure: multiply-adds, window ops or elements; bytes: ``mem_bytes``)."""
    from convcost.api import analyze
    from convcost.latency.roofline import conv_channels, op_class, work

    with torch.device("meta"):
        module = bench.build()
    a = analyze(module, bench.input_size)
    want = bench.role.split(":", 1)[-1]
    kinds = {op_class(r) for r in a.rows}
    if a.rows and kinds != {want} and bench.role not in ("stream", "context"):
        raise AssertionError(f"{bench.name} is costed as {sorted(kinds)}, not {want}")
    return Counts(ops=len(a.rows), work=sum(work(r) for r in a.rows),
                  nbytes=sum(r.cost.mem_bytes for r in a.rows),
                  free_ops=sum(a.evaluation.free.values()), module_calls=len(a.module_calls),
                  channels=tuple(c for r in a.rows for c in conv_channels(r)))


def all_counts() -> dict[str, Counts]:
    """:func:`counts_of` every network, by name (analysed once per process: the networks
    are constants; each call returns a dict of its own)."""
    return dict(_all_counts())


@functools.cache
def _all_counts() -> tuple[tuple[str, Counts], ...]:
    return tuple((b.name, counts_of(b)) for b in MICRO_BENCHMARKS)


# --- this machine -----------------------------------------------------------------------------


def cache_size_bytes(device: str = "cpu") -> int:
    """The last-level cache: the largest CPU cache from sysfs (8 MiB when it cannot be
    read), or the CUDA device's L2."""
    dev = torch.device(device)
    if dev.type == "cuda":
        size = getattr(torch.cuda.get_device_properties(dev), "L2_cache_size", 0)
        return int(size) or 40 * 1024**2
    sizes = []
    for path in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        try:
            text = path.read_text(encoding="utf-8").strip().upper()
        except OSError:
            continue
        mult = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(text[-1:], 1)
        digits = text.rstrip("KMG")
        if digits.isdigit():
            sizes.append(int(digits) * mult)
    return max(sizes, default=8 * 1024**2)


def channel_block(device: str = "cpu", cpuinfo: str | None = None) -> int:
    """The convolutions' channel block (:mod:`~convcost.latency.roofline`): the fp32 lanes of
    one vector, 16 with AVX-512, 8 with AVX2 (``/proc/cpuinfo``'s flags); 1 on CUDA and on
    CPUs whose vector width is not known (every conv then counts as aligned)."""
    if torch.device(device).type == "cuda":
        return 1
    flags = _flags(_cpuinfo() if cpuinfo is None else cpuinfo)
    return 16 if "avx512f" in flags else 8 if "avx2" in flags else 1


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/convcost``, else ``~/.cache/convcost``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "convcost"


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return ""


def _flags(cpuinfo: str) -> set[str]:
    """The first processor's feature flags in ``/proc/cpuinfo``'s text."""
    return set(next((ln.split(":", 1)[1].split() for ln in cpuinfo.splitlines()
                     if ln.startswith("flags")), []))


def machine_name(device: str = "cpu") -> str:
    """The processor's model name (``/proc/cpuinfo``), or the CUDA device's name."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return str(torch.cuda.get_device_name(dev))
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


@dataclass(frozen=True)
class Limits:
    """What no measurement on this machine can beat, generously: multiply-adds and bytes per
    second, and the longest fixed cost of one op."""

    madds_per_s: float
    bytes_per_s: float
    overhead_s: float
    source: str


BOOST = 1.6
"""Headroom over the clock ``/proc/cpuinfo`` reports (turbo, or a VM's nominal figure)."""


def cpu_limits(threads: int, cpuinfo: str | None = None, cpus: int | None = None) -> Limits:
    """Limits of the CPU: ``cores · GHz · BOOST · lanes`` multiply-adds per second, with
    ``lanes`` the fp32 fused multiply-adds one core can issue per cycle (two units of 16 with
    AVX-512, of 8 with AVX2 and FMA, 8 otherwise), and ``cores · GHz · BOOST · 192`` bytes per
    second (two 64-byte loads and one store per cycle); ``cores = min(threads, CPUs)``. The
    clock is the highest ``cpu MHz`` in ``/proc/cpuinfo`` (5 GHz when absent)."""
    text = _cpuinfo() if cpuinfo is None else cpuinfo
    mhz = [float(m) for m in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M)]
    ghz = max(mhz) / 1000.0 if mhz else 5.0
    flags = _flags(text)
    lanes = 32 if "avx512f" in flags else 16 if {"avx2", "fma"} <= flags else 8
    cores = max(1, min(threads, cpus or os.cpu_count() or 1))
    cycles = cores * ghz * 1e9 * BOOST
    return Limits(madds_per_s=cycles * lanes, bytes_per_s=cycles * 192,
                  overhead_s=OVERHEAD_BOUND_S,
                  source=f"{cores} cores × {ghz:.2f} GHz × {BOOST} boost × {lanes} FMA lanes")


def machine_limits(device: str, threads: int) -> Limits:
    """:func:`cpu_limits`, or on CUDA ``SMs · 2 GHz · 4096`` multiply-adds per second (above
    any tensor-core rate) and 20 TB/s."""
    dev = torch.device(device)
    if dev.type == "cuda":
        sms = int(torch.cuda.get_device_properties(dev).multi_processor_count)
        return Limits(madds_per_s=sms * 2e9 * 4096, bytes_per_s=20e12,
                      overhead_s=OVERHEAD_BOUND_S, source=f"{sms} SMs × 2 GHz × 4096")
    return cpu_limits(threads)


def machine_key(device: str, threads: int, heap: str | None = None) -> str:
    """What a calibration is valid for: processor, threads, torch version, device, and on
    the CPU the heap it is timed with (``heap``, default this process'
    :func:`~convcost.latency.heap.heap_state`: a heap that faults pages in again on every
    run makes every large op slower)."""
    key = f"{machine_name(device)}|threads={threads}|torch={torch.__version__}|{device}"
    if torch.device(device).type == "cuda":
        return key
    return f"{key}|heap={heap or heap_state()}"


def cache_path(device: str, threads: int, heap: str | None = None) -> Path:
    """The cache file of :func:`machine_key`'s calibration."""
    digest = hashlib.sha256(machine_key(device, threads, heap).encode()).hexdigest()[:16]
    return cache_dir() / f"calibration-{digest}.json"


# --- measuring ----------------------------------------------------------------------------------

Sampler = Callable[[MicroBenchmark, int], Sequence[float]]
"""``sampler(bench, round) -> run times in seconds``: one round of one network."""
Progress = Callable[[str, int, int], None]
"""``progress(label, done, total)``: called before each micro-benchmark run."""


@dataclass(frozen=True)
class NetworkTime:
    """One network's time: the lowest of its rounds' robust medians, and those medians."""

    seconds: float
    rounds: tuple[float, ...]

    @property
    def spread(self) -> float:
        """``max / min − 1`` over the rounds' medians (0 for one round)."""
        return max(self.rounds) / min(self.rounds) - 1.0 if min(self.rounds) > 0 else 0.0


def real_sampler(device: str = "cpu", threads: int | None = None, budget_s: float = 0.1
                 ) -> Sampler:
    """Times a network for real: built afresh (seeded with the round), timed for
    ``budget_s`` seconds by :func:`~convcost.latency.measure.measure_model`."""
    dev = check_device(device)

    def sample(bench: MicroBenchmark, r: int) -> Sequence[float]:
        torch.manual_seed(r)
        m = measure_model(bench.build(), bench.input_size, device=str(dev), threads=threads,
                          warmup=3, min_runs=5, max_runs=2000, budget_s=budget_s)
        return [t / 1000.0 for t in m.times_ms]

    return sample


def run_micro_benchmarks(
    device: str = "cpu", threads: int | None = None, budget_s: float = 0.1, rounds: int = 3,
    *, only: Iterable[str] | None = None, sampler: Sampler | None = None,
    progress: Progress | None = None,
) -> dict[str, NetworkTime]:
    """Time each network of :data:`MICRO_BENCHMARKS` (by name; ``only`` those named) in
    ``rounds`` interleaved rounds: per round the median of the runs after the MAD screen,
    per network the lowest of those (see the module doc). ``sampler`` replaces the real
    timing (tests inject run times)."""
    if rounds < 1:
        raise InvalidArgumentError(f"rounds must be >= 1, got {rounds}")
    wanted = None if only is None else set(only)
    benches = [b for b in MICRO_BENCHMARKS if wanted is None or b.name in wanted]
    sample = sampler or real_sampler(device, threads, budget_s)
    medians: dict[str, list[float]] = {b.name: [] for b in benches}
    # the caller's random state (CPU and, when timing there, CUDA) is restored afterwards
    dev = torch.device(device)
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        for r in range(rounds):
            for k, bench in enumerate(benches):
                if progress is not None:
                    progress(f"calibrating: {bench.name} (round {r + 1}/{rounds})",
                             r * len(benches) + k, rounds * len(benches))
                times = list(sample(bench, r))
                medians[bench.name].append(robust_median(times))
    return {name: NetworkTime(min(ms), tuple(ms)) for name, ms in medians.items()}


# --- from times to constants ----------------------------------------------------------------


def _by_role() -> dict[str, list[MicroBenchmark]]:
    out: dict[str, list[MicroBenchmark]] = {r: [] for r in ROLES}
    for b in MICRO_BENCHMARKS:
        out[b.role].append(b)
    return out


def fixed_costs(seconds: Mapping[str, float], counts: Mapping[str, Counts]
                ) -> dict[str, float]:
    """The fixed costs by role (``module``, ``free``, ``overhead:<class>``), seconds each: a
    module call is the Sequential's time over its module calls; a view op is its network's
    time less its module call, over its view ops; a class's op is its network's time less
    the module call and the view ops it runs, over its ops."""
    roles = _by_role()
    module_b, = roles["module"]
    module_s = seconds[module_b.name] / max(1, counts[module_b.name].module_calls)
    free_b, = roles["free"]
    c = counts[free_b.name]
    free_s = max(0.0, seconds[free_b.name] - c.module_calls * module_s) / max(1, c.free_ops)
    out = {"module": module_s, "free": free_s}
    for k in OP_CLASSES:
        b, = roles[f"overhead:{k}"]
        c = counts[b.name]
        net = seconds[b.name] - c.module_calls * module_s - c.free_ops * free_s
        out[f"overhead:{k}"] = max(0.0, net) / max(1, c.ops)
    return out


def calibration_from_timings(
    seconds: Mapping[str, float], *, device: str, threads: int, cache_bytes: int | None = None,
    limits: Limits | None = None, counts: Mapping[str, Counts] | None = None,
    block: int | None = None,
) -> Calibration:
    """Turn the micro-benchmark times (seconds, by name) into the model's constants: the
    fixed costs (:func:`fixed_costs`), then the per-byte rate of the memory ops and of the
    norms, then the per-work rate of every other class with its bytes at the memory ops'
    rate (:data:`~convcost.latency.roofline.SHARED_BYTES`), each a one-parameter least
    squares (:func:`~convcost.latency.fit.fit_terms`) over the class's networks, each
    network's time net of its module call, view ops and its op's fixed cost, bounded below
    by the machine's ``limits`` (no rate beyond the machine's); the fixed costs are then
    taken net of the tiny networks' own work at those rates and the rates fitted again
    (:data:`FIXED_POINT_STEPS` times), so that the constants reproduce every network's time
    through the predictor itself; last, the streaming bandwidth from the
    ``stream`` network net of the ``gemm`` class's other terms. A conv class's factor per
    channel alignment (``half``, ``ragged`` for blocks of ``block`` channels, default this
    machine's :func:`channel_block`) comes from its unaligned networks against their aligned
    twins (:func:`_alignment_factors`), and every network of the class enters its rates' fit
    with its terms times its alignment's factor (1 when aligned). ``counts``: by name
    (default: :func:`all_counts`)."""
    missing = [b.name for b in MICRO_BENCHMARKS if b.name not in seconds]
    if missing:
        raise InvalidArgumentError(f"micro-benchmark timings missing: {', '.join(missing)}")
    lim = limits or machine_limits(device, threads)
    cnt = counts if counts is not None else all_counts()
    fixed = fixed_costs(seconds, cnt)

    def offset(b: MicroBenchmark, overhead: float) -> float:
        c = cnt[b.name]
        return c.module_calls * fixed["module"] + c.free_ops * fixed["free"] + c.ops * overhead

    roles = _by_role()
    blk = channel_block(device) if block is None else block

    def aligned(b: MicroBenchmark) -> str:
        return alignment_of(cnt[b.name].channels, blk)

    ops = {k: OpCost(fixed[f"overhead:{k}"], 0.0, 0.0) for k in OP_CLASSES}
    factors: dict[str, float] = {}

    def factor(k: str, b: MicroBenchmark) -> float:
        return alignment_factor_of(k, aligned(b), factors)

    # the classes whose own bytes are fitted first: the others borrow the memory ops' rate
    order = sorted(OP_CLASSES, key=lambda k: k in SHARED_BYTES)
    for _ in range(FIXED_POINT_STEPS):
        for k in order:
            # the tiny network's ops do a little work too: its fixed cost is net of it
            tiny, = roles[f"overhead:{k}"]
            c = cnt[tiny.name]
            per_op = factor(k, tiny) * (c.work * ops[k].s_per_work
                                        + c.nbytes * ops[k].s_per_byte) / max(1, c.ops)
            overhead = max(0.0, fixed[f"overhead:{k}"] - per_op)
            # every network of the class, an unaligned conv's terms by its alignment's factor
            nets = roles[k]
            targets = [seconds[b.name] for b in nets]
            slower = [factor(k, b) for b in nets]
            byte_col = [float(cnt[b.name].nbytes) * f for b, f in zip(nets, slower, strict=True)]
            work_col = [float(cnt[b.name].work) * f for b, f in zip(nets, slower, strict=True)]
            if k in SHARED_BYTES:  # bytes at the memory ops' rate, the work term fitted
                s_byte = ops["memory"].s_per_byte
                offsets = [offset(b, overhead) + s_byte * nb for b, nb in zip(nets, byte_col,
                                                                              strict=True)]
                (s_work,) = fit_terms([work_col], targets, offsets,
                                      lower=[1.0 / lim.madds_per_s])
            elif WORK[k]:  # work only
                (s_work,), s_byte = fit_terms([work_col], targets,
                                              [offset(b, overhead) for b in nets],
                                              lower=[1.0 / lim.madds_per_s]), 0.0
            else:  # bytes only
                s_work, (s_byte,) = 0.0, fit_terms([byte_col], targets,
                                                  [offset(b, overhead) for b in nets],
                                                  lower=[1.0 / lim.bytes_per_s])
            ops[k] = OpCost(overhead, s_work, s_byte)
        factors = _alignment_factors(seconds, cnt, ops, roles, offset, aligned)
    stream_b, = roles["stream"]
    c = cnt[stream_b.name]
    g = ops["gemm"]
    t = seconds[stream_b.name]
    rest = max(t - offset(stream_b, g.overhead_s) - c.work * g.s_per_work, 0.1 * t)
    cal = Calibration(
        ops=ops,
        stream_bytes_per_s=min(c.nbytes / rest, lim.bytes_per_s),
        cache_bytes=cache_size_bytes(device) if cache_bytes is None else cache_bytes,
        module_overhead_s=fixed["module"],
        free_op_overhead_s=fixed["free"],
        device=device,
        threads=threads,
        machine=machine_name(device),
        torch_version=torch.__version__,
        created=time.strftime("%Y-%m-%dT%H:%M:%S"),
        timings_ms={k: v * 1000.0 for k, v in seconds.items()},
        channel_block=blk,
        alignment=factors,
    )
    # last, the cost of an op inside a model beyond its cost alone: the small models' time
    # against their ops' own estimates (with module calls and view ops), a part per op and a
    # part per byte the op moves, least squares over the small models
    nets = roles["context"]
    per_op, per_byte = fit_terms([[float(cnt[b.name].ops) for b in nets],
                                  [float(cnt[b.name].nbytes) for b in nets]],
                                 [seconds[b.name] for b in nets],
                                 [_predicted_alone(b, cal) for b in nets])
    return replace(cal, context_s=per_op, context_s_per_byte=per_byte)


def _alignment_factors(
    seconds: Mapping[str, float], cnt: Mapping[str, Counts], ops: Mapping[str, OpCost],
    roles: Mapping[str, list[MicroBenchmark]],
    offset: Callable[[MicroBenchmark, float], float], aligned: Callable[[MicroBenchmark], str],
) -> dict[str, float]:
    """Per conv class and alignment (``half``, ``ragged``): the median, over the class's
    unaligned networks that have an aligned twin, of how much slower than the aligned rates
    they run relatively to their twin (each network's time net of the fixed costs over the
    rates' arithmetic and memory terms, the unaligned one's over its twin's), within
    :data:`MIN_FACTOR`..:data:`MAX_FACTOR`."""
    by_name = {b.name: b for bs in roles.values() for b in bs}

    def slowness(b: MicroBenchmark, cost: OpCost) -> float:
        c = cnt[b.name]
        return ((seconds[b.name] - offset(b, cost.overhead_s))
                / (c.work * cost.s_per_work + c.nbytes * cost.s_per_byte))

    factors: dict[str, float] = {}
    for k in CONV_CLASSES:
        cost = ops[k]
        if cost.s_per_work <= 0:
            continue
        for how in ALIGNMENTS[1:]:
            ratios = [slowness(b, cost) / slowness(by_name[b.pair], cost)
                      for b in roles[k] if b.pair and aligned(b) == how
                      and aligned(by_name[b.pair]) == "aligned"]
            if ratios:
                factors[f"{k}:{how}"] = min(max(median(ratios), MIN_FACTOR), MAX_FACTOR)
    return factors


def _predicted_alone(bench: MicroBenchmark, cal: Calibration) -> float:
    """Seconds the model predicts for a network with ``cal`` but no context cost."""
    from convcost.api import analyze
    from convcost.latency.roofline import predict_latency

    with torch.device("meta"):
        module = bench.build()
    return predict_latency(analyze(module, bench.input_size),
                           replace(cal, context_s=0.0, context_s_per_byte=0.0)).seconds


def seconds_per_madd(seconds: Mapping[str, float] | Calibration,
                     counts: Mapping[str, Counts] | None = None) -> float:
    """The multiply-adds baseline's one constant, measured on the calibration suite: the
    total time of the networks that do multiply-adds (convs and products) over their total
    multiply-adds. ``seconds``: the networks' times by name, or a calibration (its
    ``timings_ms``)."""
    if isinstance(seconds, Calibration):
        if not seconds.timings_ms:
            raise InvalidArgumentError("the calibration holds no micro-benchmark timings")
        seconds = {k: v / 1000.0 for k, v in seconds.timings_ms.items()}
    cnt = counts if counts is not None else all_counts()
    nets = [b for b in MICRO_BENCHMARKS if WORK.get(b.role) == "multiply-adds"]
    return math.fsum(seconds[b.name] for b in nets) / sum(cnt[b.name].work for b in nets)


@dataclass(frozen=True)
class Problem:
    """A failed sanity check: what, its value, the bound, and the networks to re-measure."""

    what: str
    value: float
    bound: float
    networks: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.what} = {self.value:.4g}, beyond the bound {self.bound:.4g}"


def sanity_problems(seconds: Mapping[str, float], limits: Limits,
                    counts: Mapping[str, Counts] | None = None) -> list[Problem]:
    """Every failed check (module doc) of the micro-benchmark times ``seconds``."""
    cnt = counts if counts is not None else all_counts()
    roles = _by_role()
    fixed = fixed_costs(seconds, cnt)
    problems = []
    module_b, = roles["module"]
    for role, value in fixed.items():
        b, = roles[role]
        names = (b.name,) if role == "module" else (b.name, module_b.name)
        if value > limits.overhead_s:
            problems.append(Problem(f"fixed cost of {role} (s)", value, limits.overhead_s,
                                    names))
        if role.startswith("overhead:"):
            nets = roles[role.split(":", 1)[1]]
            smallest = min(nets, key=lambda n: seconds[n.name])
            if value > seconds[smallest.name]:
                problems.append(Problem(f"fixed cost of {role} (s), above {smallest.name}",
                                        value, seconds[smallest.name],
                                        (*names, smallest.name)))
    for b in MICRO_BENCHMARKS:
        if b.role not in OP_CLASSES and b.role != "stream":
            continue
        c = cnt[b.name]
        t = seconds[b.name]
        if WORK.get(b.role) == "multiply-adds" and c.work / t > limits.madds_per_s:
            problems.append(Problem(f"multiply-adds/s of {b.name}", c.work / t,
                                    limits.madds_per_s, (b.name,)))
        if c.nbytes / t > limits.bytes_per_s:
            problems.append(Problem(f"bytes/s of {b.name}", c.nbytes / t, limits.bytes_per_s,
                                    (b.name,)))
    return problems


def measure_checked(
    device: str, threads: int, *, budget_s: float = 0.1, rounds: int = 3, retries: int = 2,
    sampler: Sampler | None = None, limits: Limits | None = None,
    counts: Mapping[str, Counts] | None = None, progress: Progress | None = None,
) -> tuple[dict[str, NetworkTime], int]:
    """(times by name, measurements made): every network measured, then the networks
    behind each failed sanity check measured again, up to ``retries`` times; raises
    :class:`CalibrationError` when checks still fail."""
    lim = limits or machine_limits(device, threads)
    cnt = counts if counts is not None else all_counts()
    times = run_micro_benchmarks(device, threads, budget_s, rounds, sampler=sampler,
                                 progress=progress)
    attempts = 1
    while True:
        problems = sanity_problems({k: v.seconds for k, v in times.items()}, lim, cnt)
        if not problems:
            return times, attempts
        if attempts > retries:
            raise CalibrationError(
                f"calibration refused after {attempts} measurements: "
                f"{'; '.join(map(str, problems))} ({lim.source}); the machine may be busy: "
                "run `convcost calibrate --force` when it is idle")
        again = {n for p in problems for n in p.networks}
        times.update(run_micro_benchmarks(device, threads, budget_s, rounds, only=again,
                                          sampler=sampler, progress=progress))
        attempts += 1


def read_cached(device: str = "cpu", threads: int | None = None, heap: str | None = None
                ) -> Calibration | None:
    """The cached calibration for this machine (``heap``: as :func:`machine_key`), or None
    (absent, unreadable or corrupt)."""
    path = cache_path(device, threads or torch.get_num_threads(), heap)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            return None
        return Calibration.from_dict(data)
    except (OSError, ValueError, TypeError):
        return None


def calibrate(
    device: str = "cpu",
    threads: int | None = None,
    *,
    force: bool = False,
    budget_s: float = 0.1,
    rounds: int = 3,
    retries: int = 2,
    sampler: Sampler | None = None,
    progress: Progress | None = None,
) -> Calibration:
    """Calibration for this machine: from the cache, or measured now, checked and cached.

    ``force`` measures again even when a valid cache exists. A corrupt cache file is
    measured again and overwritten. ``sampler`` replaces the real timing (tests inject run
    times); a calibration that fails its sanity checks ``retries + 1`` times raises
    :class:`CalibrationError`. ``progress(label, done, total)`` is told of each
    micro-benchmark run (not called when the cache answers).
    """
    dev = str(check_device(device))
    with pinned_threads(threads) as used:
        if not force:
            cached = read_cached(dev, used)
            if cached is not None:
                return cached
        cnt = all_counts()
        times, attempts = measure_checked(dev, used, budget_s=budget_s, rounds=rounds,
                                          retries=retries, sampler=sampler, counts=cnt,
                                          progress=progress)
    cal = calibration_from_timings({k: v.seconds for k, v in times.items()}, device=dev,
                                   threads=used, counts=cnt)
    cal = replace(cal, noise={k: v.spread for k, v in times.items()}, attempts=attempts,
                  heap=heap_state())
    write_cached(cal)
    return cal


def write_cached(cal: Calibration) -> Path:
    """Store ``cal`` as this machine's calibration (its device and threads key the file)."""
    path = cache_path(cal.device, cal.threads, cal.heap)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(cal.to_dict(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ConvcostError(f"cannot write the calibration cache {path}: {exc}; set "
                            "XDG_CACHE_HOME to a writable folder") from exc
    return path


__all__ = [
    "LOOP",
    "MICRO_BENCHMARKS",
    "OVERHEAD_BOUND_S",
    "ROLES",
    "Calibration",
    "CalibrationError",
    "Counts",
    "Limits",
    "MicroBenchmark",
    "NetworkTime",
    "Problem",
    "Progress",
    "Sampler",
    "all_counts",
    "cache_dir",
    "cache_path",
    "cache_size_bytes",
    "calibrate",
    "calibration_from_timings",
    "channel_block",
    "counts_of",
    "cpu_limits",
    "fixed_costs",
    "machine_key",
    "machine_limits",
    "machine_name",
    "measure_checked",
    "read_cached",
    "real_sampler",
    "run_micro_benchmarks",
    "sanity_problems",
    "seconds_per_madd",
    "write_cached",
]
