"""Calibrate the roofline on this machine with a short micro-benchmark, cached per machine.

One-layer networks (batch 1, float32, random weights), each timed with
:func:`~convcost.latency.measure.measure_model`; each network's time is the median, over a
few interleaved rounds that each build it afresh (new weights, new input, new allocations),
of each round's median time. Each network calibrates one constant of one op class
(:mod:`~convcost.latency.roofline`):

============== ======================================================= =========================
role           networks (input C×H×W)                                   calibrates
============== ======================================================= =========================
dense          3×3 convs 64→64 @56², 128→128 @28²; stems 3→64 7×7/2    multiply-adds/s of k×k
               and 3→32 3×3/2 @224²                                     convs
pointwise      1×1 convs 32→64 @112², 64→128 @56², 58→58 @28²,          multiply-adds/s of 1×1
               256→256 @28², 512→512 @14², 96→576 @14²                  convs, linear, matmul
depthwise      3×3 depthwise 32 @112², 144/2 @56², 256 @56², 58 @28²,   multiply-adds/s of
               512 @14²; 5×5 depthwise 672 @14²                         depthwise convs
pool           MaxPool2d(3, 2, 1) @64×112²                              window ops (``flops``)/s
bandwidth      ``x + y`` @128×56² (two tensors)                         bytes/s in cache
transcendental SiLU @96×56²                                             output elements/s of
                                                                        exp/erf/tanh activations
stream         Linear(4096, 4096) on 1×4096                             bytes/s beyond the cache
tiny_op        ReLU @8×4²                                               fixed cost of an op
tiny_norm      BatchNorm2d(8) @8×4²                                     ... of a normalisation
tiny_conv      1×1 conv 8→8 @4²                                         ... of a conv/linear
tiny_depthwise 3×3 depthwise 8 @4²                                      ... of a depthwise conv
============== ======================================================= =========================

A class's rate is its networks' total work over their total time net of the class's fixed
cost, ``Σ work / Σ (t − overhead)``: the convolution libraries pick a different algorithm
for every shape (on this machine's CPU a 1×1 conv runs anywhere from 5 to 70 G multiply-adds
per second, and the same depthwise conv about 1 ms or about 4 ms depending on where its
tensors landed in memory), so one shape would calibrate a rate no model meets; a handful of
the shapes ImageNet CNNs use gives the rate a model meets on average. The fixed costs are
real too: a depthwise conv on a 4×4 map takes about 0.1 ms here, a 1×1 conv 15 µs, a
BatchNorm module 20 µs and a ReLU 4 µs. Each network's work is convcost's own count for it.

The ``bandwidth`` tensors are sized like a feature map of an ImageNet CNN (1.6 MB each): at
batch 1 most activations come from cache (``x + x`` would read one tensor twice and come out
about twice as fast). A transcendental activation runs at a few elements per nanosecond, far
below the bandwidth roof, so it has a compute roof of its own. ``stream`` reads 64 MiB of
weights once, beyond any last-level cache: the traffic of a large fully connected layer.

Results are cached as JSON in ``$XDG_CACHE_HOME/convcost`` (or ``~/.cache/convcost``), one
file per machine key (CPU or GPU model, threads, torch version, device); never in the package.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from convcost.errors import ConvcostError, InvalidArgumentError
from convcost.latency.measure import check_device, measure_model, pinned_threads
from convcost.latency.roofline import OVERHEADS, Calibration

#: role -> (the Calibration field it sets, the work measure, the role of its fixed cost)
ROLES: dict[str, tuple[str, str, str]] = {
    "dense": ("peak_dense_madds_per_s", "madds", "tiny_conv"),
    "pointwise": ("peak_pointwise_madds_per_s", "madds", "tiny_conv"),
    "depthwise": ("peak_depthwise_madds_per_s", "madds", "tiny_depthwise"),
    "pool": ("pool_flops_per_s", "flops", "tiny_op"),
    "bandwidth": ("bandwidth_bytes_per_s", "mem_bytes", "tiny_op"),
    "transcendental": ("transcendental_per_s", "out_elements", "tiny_op"),
    "stream": ("stream_bytes_per_s", "mem_bytes", "tiny_conv"),
    "tiny_op": ("op_overhead_s", "", ""),
    "tiny_norm": ("norm_overhead_s", "", ""),
    "tiny_conv": ("conv_overhead_s", "", ""),
    "tiny_depthwise": ("depthwise_overhead_s", "", ""),
}


@dataclass(frozen=True)
class MicroBenchmark:
    """One calibration network: its role (see :data:`ROLES`), a module factory and its input
    shape (batch first)."""

    name: str
    role: str
    build: Callable[[], nn.Module]
    input_size: tuple[int, ...]


class _Add(nn.Module):
    """``x + y`` with ``y`` a buffer of the input's shape: reads two distinct operands and
    writes one output."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.y: torch.Tensor
        self.register_buffer("y", torch.randn(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.y


def _conv(cin: int, cout: int, k: int, size: int, stride: int = 1,
          depthwise: bool = False) -> MicroBenchmark:
    kind = "depthwise" if depthwise else "pointwise" if k == 1 else "dense"
    name = f"{kind} {cin}->{cout} {k}x{k}/{stride} @{size}"

    def build() -> nn.Module:
        return nn.Conv2d(cin, cout, k, stride, k // 2, groups=cin if depthwise else 1,
                         bias=False)

    return MicroBenchmark(name, kind, build, (1, cin, size, size))


_BANDWIDTH_SHAPE = (1, 128, 56, 56)

MICRO_BENCHMARKS: tuple[MicroBenchmark, ...] = (
    _conv(64, 64, 3, 56), _conv(128, 128, 3, 28), _conv(3, 64, 7, 224, 2), _conv(3, 32, 3, 224, 2),
    _conv(32, 64, 1, 112), _conv(64, 128, 1, 56), _conv(58, 58, 1, 28), _conv(256, 256, 1, 28),
    _conv(512, 512, 1, 14), _conv(96, 576, 1, 14),
    _conv(32, 32, 3, 112, depthwise=True), _conv(144, 144, 3, 56, 2, depthwise=True),
    _conv(256, 256, 3, 56, depthwise=True), _conv(58, 58, 3, 28, depthwise=True),
    _conv(512, 512, 3, 14, depthwise=True), _conv(672, 672, 5, 14, depthwise=True),
    MicroBenchmark("max-pool 3x3/2 @112", "pool", lambda: nn.MaxPool2d(3, 2, padding=1),
                   (1, 64, 112, 112)),
    MicroBenchmark("x + y @56", "bandwidth", lambda: _Add(_BANDWIDTH_SHAPE), _BANDWIDTH_SHAPE),
    MicroBenchmark("silu @56", "transcendental", nn.SiLU, (1, 96, 56, 56)),
    MicroBenchmark("linear 4096->4096", "stream", lambda: nn.Linear(4096, 4096, bias=False),
                   (1, 4096)),
    MicroBenchmark("relu @4", "tiny_op", nn.ReLU, (1, 8, 4, 4)),
    MicroBenchmark("batch_norm @4", "tiny_norm", lambda: nn.BatchNorm2d(8), (1, 8, 4, 4)),
    MicroBenchmark("pointwise 8->8 @4", "tiny_conv", lambda: nn.Conv2d(8, 8, 1, bias=False),
                   (1, 8, 4, 4)),
    MicroBenchmark("depthwise 8 3x3 @4", "tiny_depthwise",
                   lambda: nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), (1, 8, 4, 4)),
)


def work_of(bench: MicroBenchmark) -> int:
    """The work convcost counts for one micro-benchmark (its role's measure: multiply-adds,
    flops, bytes or output elements), from an analysis on the meta device; 0 for the
    fixed-cost ones."""
    from convcost.api import analyze

    measure = ROLES[bench.role][1]
    if not measure:
        return 0
    with torch.device("meta"):
        module = bench.build()
    row, = analyze(module, bench.input_size).rows
    if measure == "out_elements":
        return math.prod(row.out_shape)
    return int(getattr(row.cost, measure))


def cache_size_bytes() -> int:
    """The largest CPU cache (normally the L3) from sysfs; 8 MiB when it cannot be read."""
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


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/convcost``, else ``~/.cache/convcost``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "convcost"


def machine_name(device: str = "cpu") -> str:
    """The processor's model name (``/proc/cpuinfo``), or the CUDA device's name."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return str(torch.cuda.get_device_name(dev))
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_key(device: str, threads: int) -> str:
    """What a calibration is valid for: processor, threads, torch version, device."""
    return f"{machine_name(device)}|threads={threads}|torch={torch.__version__}|{device}"


def cache_path(device: str, threads: int) -> Path:
    digest = hashlib.sha256(machine_key(device, threads).encode()).hexdigest()[:16]
    return cache_dir() / f"calibration-{digest}.json"


def run_micro_benchmarks(
    device: str = "cpu", threads: int | None = None, budget_s: float = 0.15, rounds: int = 3
) -> dict[str, float]:
    """Seconds of each :data:`MICRO_BENCHMARKS` network (by name): the median, over
    ``rounds`` interleaved rounds of ``budget_s`` each, of each round's median time. Every
    round builds each network afresh (see the module docstring)."""
    dev = check_device(device)
    times: dict[str, list[float]] = {b.name: [] for b in MICRO_BENCHMARKS}
    # the caller's random state (CPU and, when timing there, CUDA) is restored afterwards
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        for r in range(max(1, rounds)):
            torch.manual_seed(r)
            for bench in MICRO_BENCHMARKS:
                module = bench.build().to(dev)
                m = measure_model(module, bench.input_size, device=str(dev), threads=threads,
                                  warmup=3, min_runs=5, max_runs=2000, budget_s=budget_s)
                times[bench.name].append(m.median_ms / 1000.0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def calibration_from_timings(
    seconds: dict[str, float], *, device: str, threads: int, cache_bytes: int | None = None
) -> Calibration:
    """Turn the micro-benchmark times (seconds, by name) into roofline constants: each fixed
    cost is its network's time; each rate is ``Σ work / Σ max(t − overhead, t / 10)`` over its
    role's networks (see the module docstring)."""
    missing = [b.name for b in MICRO_BENCHMARKS if b.name not in seconds]
    if missing:
        raise InvalidArgumentError(f"micro-benchmark timings missing: {', '.join(missing)}")
    values: dict[str, float] = {}
    for bench in MICRO_BENCHMARKS:  # fixed costs first: the rates are net of them
        field, measure, _ = ROLES[bench.role]
        if not measure:
            values[field] = seconds[bench.name]
    work: dict[str, float] = {}
    net: dict[str, float] = {}
    for bench in MICRO_BENCHMARKS:
        field, measure, overhead_role = ROLES[bench.role]
        if measure:
            t = seconds[bench.name]
            fixed = values[ROLES[overhead_role][0]]
            work[field] = work.get(field, 0.0) + work_of(bench)
            net[field] = net.get(field, 0.0) + max(t - fixed, 0.1 * t)
    values.update({field: work[field] / net[field] for field in work})
    return Calibration(
        **values,
        cache_bytes=cache_size_bytes() if cache_bytes is None else cache_bytes,
        device=device,
        threads=threads,
        machine=machine_name(device),
        torch_version=torch.__version__,
        created=time.strftime("%Y-%m-%dT%H:%M:%S"),
        timings_ms={k: v * 1000.0 for k, v in seconds.items()},
    )


def read_cached(device: str = "cpu", threads: int | None = None) -> Calibration | None:
    """The cached calibration for this machine, or None (absent, unreadable or corrupt)."""
    path = cache_path(device, threads or torch.get_num_threads())
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
    budget_s: float = 0.25,
    runner: Callable[[str, int], dict[str, float]] | None = None,
) -> Calibration:
    """Calibration for this machine: from the cache, or measured now and cached.

    ``force`` measures again even when a valid cache exists. A corrupt cache file is
    measured again and overwritten. ``runner(device, threads)`` replaces the
    micro-benchmark (tests inject fixed timings).
    """
    dev = str(check_device(device))
    with pinned_threads(threads) as used:
        if not force:
            cached = read_cached(dev, used)
            if cached is not None:
                return cached
        seconds = (runner(dev, used) if runner is not None
                   else run_micro_benchmarks(dev, used, budget_s))
    cal = calibration_from_timings(seconds, device=dev, threads=used)
    write_cached(cal)
    return cal


def write_cached(cal: Calibration) -> Path:
    """Store ``cal`` as this machine's calibration (its device and threads key the file)."""
    path = cache_path(cal.device, cal.threads)
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
    "MICRO_BENCHMARKS",
    "OVERHEADS",
    "ROLES",
    "Calibration",
    "MicroBenchmark",
    "cache_dir",
    "cache_path",
    "cache_size_bytes",
    "calibrate",
    "calibration_from_timings",
    "machine_key",
    "read_cached",
    "run_micro_benchmarks",
    "work_of",
    "write_cached",
]
