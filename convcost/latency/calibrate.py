"""Calibrate the roofline on this machine with a short micro-benchmark, cached per machine.

Eight one-layer networks (batch 1, float32, random weights), each timed with
:func:`~convcost.latency.measure.measure_model`; a constant is taken from the smallest median
over a few interleaved rounds (other processes only ever add time):

=========== =========================================== =====================================
name        network                                     calibrates
=========== =========================================== =====================================
dense       Conv2d(256, 256, 3, padding=1) on 256×28×28  multiply-adds/s of k×k convs
pointwise   Conv2d(256, 256, 1) on 256×28×28             multiply-adds/s of 1×1 convs, linear
depthwise   Conv2d(256, 256, 3, padding=1, groups=256)   multiply-adds/s of depthwise convs
            on 256×56×56
pool        MaxPool2d(3, 2, padding=1) on 64×112×112     window ops (convcost ``flops``)/s
bandwidth   ``x + x`` on 64×112×112                      bytes/s of cache-resident traffic
stream      Linear(4096, 4096) on 1×4096                 bytes/s of traffic beyond the cache
tiny_op     ReLU on 8×4×4                                fixed cost of one op
tiny_conv   Conv2d(8, 8, 1) on 8×4×4                      fixed cost of one conv/linear op
=========== =========================================== =====================================

Why these classes: eager PyTorch on CPU runs k×k convs through oneDNN, 1×1 convs through a
GEMM, depthwise convs with one multiply-add per loaded weight (little reuse) and pooling
through a scalar window loop, and each runs at a very different rate per unit of work.
The peaks are net of the fixed cost: ``peak = work / (t - overhead)``, so that the roofline
``max(work / peak, bytes / bandwidth) + overhead`` reproduces each calibration layer's time.
The ``bandwidth`` tensor is sized like an early feature map of an ImageNet CNN (3.2 MB): at
batch 1 most activations come from cache. ``stream`` reads 64 MiB of weights once, beyond
any last-level cache, the traffic of a large fully connected layer.

Results are cached as JSON in ``$XDG_CACHE_HOME/convcost`` (or ``~/.cache/convcost``), one
file per machine key (CPU or GPU model, threads, torch version, device); never in the package.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from torch import nn

from convcost.errors import ConvcostError, InvalidArgumentError
from convcost.latency.measure import check_device, measure_model, pinned_threads

CACHE_VERSION = 2
RATES = ("peak_dense_madds_per_s", "peak_pointwise_madds_per_s", "peak_depthwise_madds_per_s",
         "pool_flops_per_s", "bandwidth_bytes_per_s", "stream_bytes_per_s", "cache_bytes")


@dataclass(frozen=True)
class MicroBenchmark:
    """One calibration network: a module factory and its input shape (batch first)."""

    name: str
    build: Callable[[], nn.Module]
    input_size: tuple[int, ...]


class _Add(nn.Module):
    """``x + x``: reads two operands and writes one output of the input's shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + x


def _dense() -> nn.Module:
    return nn.Conv2d(256, 256, 3, padding=1, bias=False)


def _pointwise() -> nn.Module:
    return nn.Conv2d(256, 256, 1, bias=False)


def _depthwise() -> nn.Module:
    return nn.Conv2d(256, 256, 3, padding=1, groups=256, bias=False)


def _pool() -> nn.Module:
    return nn.MaxPool2d(3, 2, padding=1)


def _stream() -> nn.Module:
    return nn.Linear(4096, 4096, bias=False)


def _tiny_conv() -> nn.Module:
    return nn.Conv2d(8, 8, 1, bias=False)


MICRO_BENCHMARKS: tuple[MicroBenchmark, ...] = (
    MicroBenchmark("dense", _dense, (1, 256, 28, 28)),
    MicroBenchmark("pointwise", _pointwise, (1, 256, 28, 28)),
    MicroBenchmark("depthwise", _depthwise, (1, 256, 56, 56)),
    MicroBenchmark("pool", _pool, (1, 64, 112, 112)),
    MicroBenchmark("bandwidth", _Add, (1, 64, 112, 112)),
    MicroBenchmark("stream", _stream, (1, 4096)),
    MicroBenchmark("tiny_op", nn.ReLU, (1, 8, 4, 4)),
    MicroBenchmark("tiny_conv", _tiny_conv, (1, 8, 4, 4)),
)

# Work of each network, as convcost.analyze counts it (checked in tests/test_latency.py):
DENSE_MADDS = 28 * 28 * 256 * 256 * 9  # 462,422,016
POINTWISE_MADDS = 28 * 28 * 256 * 256  # 51,380,224
DEPTHWISE_MADDS = 56 * 56 * 256 * 9  # 7,225,344
POOL_FLOPS = 64 * 56 * 56 * (3 * 3 - 1)  # 8 comparisons per output: 1,605,632
BANDWIDTH_BYTES = 3 * 64 * 112 * 112 * 4  # two operands read, one written: 9,633,792
STREAM_BYTES = (4096 * 4096 + 4096 + 4096) * 4  # weight + input + output: 67,141,632


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


@dataclass(frozen=True)
class Calibration:
    """Roofline constants of one machine (seconds, bytes, multiply-adds)."""

    peak_dense_madds_per_s: float
    peak_pointwise_madds_per_s: float
    peak_depthwise_madds_per_s: float
    pool_flops_per_s: float
    bandwidth_bytes_per_s: float
    stream_bytes_per_s: float
    cache_bytes: int
    op_overhead_s: float
    conv_overhead_s: float
    device: str
    threads: int
    machine: str
    torch_version: str
    created: str = ""
    timings_ms: dict[str, float] | None = None  # median ms of each micro-benchmark

    def to_dict(self) -> dict[str, object]:
        return {"version": CACHE_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Calibration:
        if data.get("version") != CACHE_VERSION:
            raise ValueError(f"cache version {data.get('version')!r} != {CACHE_VERSION}")
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in names}
        cal = cls(**kw)  # type: ignore[arg-type]
        for name in RATES:
            value = getattr(cal, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for name in ("op_overhead_s", "conv_overhead_s"):
            value = getattr(cal, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        return cal


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


def _net_rate(amount: float, seconds: float, overhead_s: float) -> float:
    """Work per second once the fixed cost is taken off (never below 10 % of the time)."""
    return amount / max(seconds - overhead_s, 0.1 * seconds)


def run_micro_benchmarks(
    device: str = "cpu", threads: int | None = None, budget_s: float = 0.25, rounds: int = 3
) -> dict[str, float]:
    """Seconds of each :data:`MICRO_BENCHMARKS` network: the smallest median over ``rounds``
    interleaved rounds of ``budget_s`` each."""
    dev = check_device(device)
    best: dict[str, float] = {}
    rng = torch.random.get_rng_state()
    try:
        torch.manual_seed(0)
        modules = [(b, b.build().to(dev)) for b in MICRO_BENCHMARKS]
    finally:
        torch.random.set_rng_state(rng)
    for _ in range(max(1, rounds)):
        for bench, module in modules:
            m = measure_model(module, bench.input_size, device=str(dev), threads=threads,
                              warmup=5, min_runs=10, max_runs=2000, budget_s=budget_s)
            seconds = m.median_ms / 1000.0
            best[bench.name] = min(best.get(bench.name, seconds), seconds)
    return best


def calibration_from_timings(
    seconds: dict[str, float], *, device: str, threads: int, cache_bytes: int | None = None
) -> Calibration:
    """Turn the micro-benchmark times (seconds) into roofline constants (see the table in
    the module docstring and the work constants above)."""
    missing = [b.name for b in MICRO_BENCHMARKS if b.name not in seconds]
    if missing:
        raise InvalidArgumentError(f"micro-benchmark timings missing: {', '.join(missing)}")
    op = seconds["tiny_op"]
    conv = seconds["tiny_conv"]
    return Calibration(
        peak_dense_madds_per_s=_net_rate(DENSE_MADDS, seconds["dense"], conv),
        peak_pointwise_madds_per_s=_net_rate(POINTWISE_MADDS, seconds["pointwise"], conv),
        peak_depthwise_madds_per_s=_net_rate(DEPTHWISE_MADDS, seconds["depthwise"], conv),
        pool_flops_per_s=_net_rate(POOL_FLOPS, seconds["pool"], op),
        bandwidth_bytes_per_s=_net_rate(BANDWIDTH_BYTES, seconds["bandwidth"], op),
        stream_bytes_per_s=_net_rate(STREAM_BYTES, seconds["stream"], conv),
        cache_bytes=cache_size_bytes() if cache_bytes is None else cache_bytes,
        op_overhead_s=op,
        conv_overhead_s=conv,
        device=device,
        threads=threads,
        machine=machine_name(device),
        torch_version=torch.__version__,
        created=time.strftime("%Y-%m-%dT%H:%M:%S"),
        timings_ms={k: v * 1000.0 for k, v in seconds.items()},
    )


def read_cached(device: str = "cpu", threads: int | None = None) -> Calibration | None:
    """The cached calibration for this machine, or None (absent, unreadable or corrupt)."""
    with pinned_threads(threads) as used:
        path = cache_path(device, used)
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
    path = cache_path(dev, used)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(cal.to_dict(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ConvcostError(f"cannot write the calibration cache {path}: {exc}; set "
                            "XDG_CACHE_HOME to a writable folder") from exc
    return cal


__all__ = [
    "MICRO_BENCHMARKS",
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
]
