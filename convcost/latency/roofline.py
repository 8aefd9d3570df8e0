"""Predict latency from convcost's per-op costs with a calibrated roofline.

Each costed op (a :class:`~convcost.engine.Row`) takes

    time = max(work / peak, mem_bytes / bandwidth) + overhead

where ``work`` and ``peak`` depend on the op's class, each a rate measured by one network of
:mod:`~convcost.latency.calibrate` (none is fitted to the zoo):

- ``dense``: k×k conv (standard or grouped), work = multiply-adds;
- ``pointwise``: 1×1 conv, linear, matmul (a GEMM), work = multiply-adds;
- ``depthwise``: depthwise conv, work = multiply-adds;
- ``pool``: max/avg pooling windows, work = convcost's ``flops`` (one per comparison or add);
- ``transcendental``: activations with an exp, erf or tanh (SiLU, sigmoid, GELU, softmax,
  ...), work = output elements;
- ``memory``: every other op (norm, ReLU, add, cat, copy, mean, ...), no compute roof.

The bandwidth is the cache bandwidth when the op's bytes fit in the last-level cache and the
streaming (DRAM) bandwidth when they do not. The overhead is a tiny depthwise conv's time for
depthwise convs, a tiny 1×1 conv's for the other convs and GEMMs, a tiny BatchNorm's for
normalisation ops and a tiny ReLU's for the rest. A model's prediction is the sum over its
ops: eager PyTorch runs them one after another without fusion, which is what convcost's
``mem_bytes`` assumes too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields

from convcost.engine import Row
from convcost.engine.labels import Family, declared, labels

# --- the calibrated constants (measured by convcost.latency.calibrate; no torch here) -------

CACHE_VERSION = 4
RATES = ("peak_dense_madds_per_s", "peak_pointwise_madds_per_s", "peak_depthwise_madds_per_s",
         "pool_flops_per_s", "bandwidth_bytes_per_s", "transcendental_per_s",
         "stream_bytes_per_s", "cache_bytes")
OVERHEADS = ("op_overhead_s", "norm_overhead_s", "conv_overhead_s", "depthwise_overhead_s")


@dataclass(frozen=True)
class Calibration:
    """Roofline constants of one machine (seconds, bytes, multiply-adds)."""

    peak_dense_madds_per_s: float
    peak_pointwise_madds_per_s: float
    peak_depthwise_madds_per_s: float
    pool_flops_per_s: float
    bandwidth_bytes_per_s: float
    transcendental_per_s: float
    stream_bytes_per_s: float
    cache_bytes: int
    op_overhead_s: float
    norm_overhead_s: float
    conv_overhead_s: float
    depthwise_overhead_s: float
    device: str
    threads: int
    machine: str
    torch_version: str
    created: str = ""
    timings_ms: dict[str, float] | None = None  # median ms of each micro-benchmark, by name

    def to_dict(self) -> dict[str, object]:
        return {"version": CACHE_VERSION, **asdict(self)}

    def describe(self) -> list[tuple[str, float, str]]:
        """(constant, value, unit) rows for people: G/s, GB/s, MiB, µs."""
        return [
            ("dense k×k conv peak", self.peak_dense_madds_per_s / 1e9, "G multiply-adds/s"),
            ("pointwise conv / linear peak", self.peak_pointwise_madds_per_s / 1e9,
             "G multiply-adds/s"),
            ("depthwise conv peak", self.peak_depthwise_madds_per_s / 1e9,
             "G multiply-adds/s"),
            ("pooling", self.pool_flops_per_s / 1e9, "G flops/s"),
            ("exp/erf/tanh activations", self.transcendental_per_s / 1e9, "G elements/s"),
            ("cache bandwidth", self.bandwidth_bytes_per_s / 1e9, "GB/s"),
            ("streaming bandwidth", self.stream_bytes_per_s / 1e9, "GB/s"),
            ("last-level cache", self.cache_bytes / 2**20, "MiB"),
            ("overhead: elementwise op", self.op_overhead_s * 1e6, "µs"),
            ("overhead: normalisation", self.norm_overhead_s * 1e6, "µs"),
            ("overhead: conv / linear", self.conv_overhead_s * 1e6, "µs"),
            ("overhead: depthwise conv", self.depthwise_overhead_s * 1e6, "µs"),
        ]

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
        for name in OVERHEADS:
            value = getattr(cal, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        return cal



OP_CLASSES = ("dense", "pointwise", "depthwise", "pool", "transcendental", "memory")
POOL_OPS = labels(Family.POOL)  # max/avg pools with a window (adaptive pools: memory)
TRANSCENDENTAL_OPS = labels(Family.SOFTMAX) | frozenset(declared(
    "sigmoid", "silu", "elu", "tanh", "gelu", "mish", "softplus"))  # with an exp, erf or tanh
NORM_OPS = labels(Family.NORM)  # instance norm runs as these


def op_class(row: Row) -> str:
    """``dense``, ``pointwise``, ``depthwise``, ``pool``, ``transcendental`` or ``memory``
    (see the module doc)."""
    if row.conv_kind == "depthwise":
        return "depthwise"
    if row.conv_kind == "pointwise":
        return "pointwise"
    if row.conv_kind is not None:
        return "dense"
    if row.cost.madds > 0:
        return "pointwise"
    if row.op in POOL_OPS:
        return "pool"
    if row.op in TRANSCENDENTAL_OPS:
        return "transcendental"
    return "memory"


@dataclass(frozen=True)
class OpEstimate:
    """The roofline's answer for one op (seconds)."""

    row: Row
    op_class: str
    compute_s: float
    memory_s: float
    overhead_s: float

    @property
    def seconds(self) -> float:
        return max(self.compute_s, self.memory_s) + self.overhead_s

    @property
    def bound(self) -> str:
        """``compute`` or ``memory``: which roof the op sits under."""
        return "compute" if self.compute_s >= self.memory_s else "memory"


@dataclass(frozen=True)
class LatencyPrediction:
    """Per-op roofline estimates of one model and their sum."""

    ops: tuple[OpEstimate, ...]

    @property
    def seconds(self) -> float:
        return sum(op.seconds for op in self.ops)

    @property
    def ms(self) -> float:
        return self.seconds * 1000.0

    def by_class(self) -> dict[str, float]:
        """Seconds per op class (``dense``, ``depthwise``, ``memory``)."""
        out = dict.fromkeys(OP_CLASSES, 0.0)
        for op in self.ops:
            out[op.op_class] += op.seconds
        return out

    def by_scope(self) -> dict[str, float]:
        """Seconds of the ops run directly in each module scope (the rows' ``name``; not
        inclusive of child modules, unlike ``Analysis.by_module``), in first-seen order."""
        out: dict[str, float] = {}
        for op in self.ops:
            out[op.row.name] = out.get(op.row.name, 0.0) + op.seconds
        return out


def estimate_op(row: Row, cal: Calibration) -> OpEstimate:
    """The roofline estimate of one op."""
    kind = op_class(row)
    nbytes = row.cost.mem_bytes
    bandwidth = (cal.bandwidth_bytes_per_s if nbytes <= cal.cache_bytes
                 else cal.stream_bytes_per_s)
    memory_s = nbytes / bandwidth
    if kind == "memory":
        overhead = cal.norm_overhead_s if row.op in NORM_OPS else cal.op_overhead_s
        return OpEstimate(row, kind, 0.0, memory_s, overhead)
    if kind == "transcendental":
        return OpEstimate(row, kind, math.prod(row.out_shape) / cal.transcendental_per_s,
                          memory_s, cal.op_overhead_s)
    if kind == "pool":
        return OpEstimate(row, kind, row.cost.flops / cal.pool_flops_per_s, memory_s,
                          cal.op_overhead_s)
    peak = {"dense": cal.peak_dense_madds_per_s, "pointwise": cal.peak_pointwise_madds_per_s,
            "depthwise": cal.peak_depthwise_madds_per_s}[kind]
    overhead = cal.depthwise_overhead_s if kind == "depthwise" else cal.conv_overhead_s
    return OpEstimate(row, kind, row.cost.madds / peak, memory_s, overhead)


def predict_rows(rows: Iterable[Row], cal: Calibration) -> LatencyPrediction:
    """Roofline estimate of every op in ``rows``."""
    return LatencyPrediction(tuple(estimate_op(r, cal) for r in rows))


def predict_latency(analysis: object, cal: Calibration) -> LatencyPrediction:
    """Roofline estimate of an :class:`~convcost.records.analysis.Analysis` (its ``rows``)."""
    rows = getattr(analysis, "rows", None)
    if rows is None:
        from convcost.errors import InvalidArgumentError

        raise InvalidArgumentError("predict_latency needs a convcost.analyze(...) result")
    return predict_rows(rows, cal)


__all__ = [
    "NORM_OPS",
    "OP_CLASSES",
    "POOL_OPS",
    "TRANSCENDENTAL_OPS",
    "LatencyPrediction",
    "OpEstimate",
    "estimate_op",
    "op_class",
    "predict_latency",
    "predict_rows",
]
