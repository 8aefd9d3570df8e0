"""Predict latency from convcost's per-op costs with calibrated per-class cost terms.

Each costed op (a :class:`~convcost.engine.Row`) of class ``k`` takes

    time = overhead_k + work · s_per_work_k + bytes · s_per_byte_k

and a model's forward pass adds, to the sum over its ops, a fixed cost per module call and
per view/metadata op (``view``, ``transpose``, ``split``, ``empty``: free by convcost's cost
rules, not by the clock):

    model time = Σ op times + module calls · module_overhead + view ops · free_op_overhead
                 + Σ (context + op bytes · context_per_byte)

``context`` and ``context_per_byte`` are what an op costs inside a model beyond what it
costs alone: calibration networks that are small models (MobileNet V2's inverted residual
blocks at each stage's width and map size: 1×1 and depthwise convs, batch norms, ReLU6, adds,
in a chain where each op reads the previous op's fresh output) against the sums of their ops'
own estimates, a fixed part per op and a part per byte the op moves (measured here: about
11 µs an op, and more for ops on large maps: 62 µs an op at 112×112, 15 µs at 28×28).

Every constant is measured on this machine by the micro-benchmarks of
:mod:`~convcost.latency.calibrate`; none is fitted to the models it predicts.

The op classes and their work measure:

- ``dense``: k×k conv, one group, work = multiply-adds;
- ``grouped``: a conv with 1 < groups < channels (ResNeXt, ShuffleNet V1), multiply-adds;
- ``pointwise``: 1×1 conv, multiply-adds;
- ``depthwise``: depthwise conv, multiply-adds;
- ``gemm``: linear, matmul (a product with a weight operand), multiply-adds;
- ``max_pool``: max pooling with a window, work = convcost's ``flops`` (one per comparison);
- ``avg_pool``: average pooling with a window, work = ``flops`` (one per add or divide);
  max and average pooling are classes of their own: the CPU kernels differ by several times
  per window op;
- ``reduce``: reductions and adaptive pooling (``mean``, global average pooling, ``sum``),
  bytes only (a reduction reads far more than it writes, slower per byte than a copy);
- ``transcendental``: activations with an exp, erf or tanh (SiLU, sigmoid, GELU, softmax,
  ...), work = output elements (no byte term in the cache: 8 bytes per element, always);
- ``norm``: batch/layer/group norm, bytes only;
- ``memory``: every other op (ReLU, add, cat, copy, mean, hard-swish, ...), bytes only.

Why a sum and not a max of the compute and memory terms (the classic roofline): at batch 1
eager PyTorch runs one kernel per op, and on the CPU a convolution's time is the layout
reorders of its input and output (oneDNN computes in a blocked layout: bytes) plus the
arithmetic (multiply-adds), one after the other, so both terms add. The per-byte cost of a
class holds those reorders; ``overhead`` is the op's dispatch and primitive set-up.

**Channel blocks.** On the CPU, oneDNN computes convolutions in a blocked layout whose
channel block is the vector width (16 fp32 lanes with AVX-512, 8 with AVX2). A convolution
whose channels are not whole blocks runs another, slower path: measured here at 56×56, a
1×1 conv 20→120 took 211 µs and 32→192 (60 % more multiply-adds) 155 µs; a 3×3 depthwise on
24 channels 97 µs, on 32 channels 63 µs. Each conv's *alignment* is ``aligned`` (every
channel count of a group a multiple of the block), ``half`` (multiples of half a block) or
``ragged``; channel counts of at most 4 (an RGB stem's input) do not count, oneDNN's
first-layer path takes them as they are. The class's rates are calibrated on aligned
networks and an unaligned op's arithmetic and memory terms multiplied by a factor per class
and alignment (``alignment``: e.g. ``depthwise:ragged``), each measured on the calibration's
own unaligned networks. Padding does not explain it (728 channels, 1 % short of 736, made a
3×3 depthwise at 19×19 1.5× slower): the whole kernel runs another path. On CUDA
the block is 1: every conv is aligned.

**Cache.** The calibration runs each network alone, with its weights and activations hot in
the last-level cache; in a model, a layer's weights were last touched a whole forward pass
ago. When the model's parameters do not fit in the last-level cache (``cache_bytes``), its
weight bytes are read at the streaming bandwidth (``stream_bytes_per_s``, measured on a
64 MiB fully connected layer) instead of the class's cache rate, and so is any op whose
bytes alone exceed the cache.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields

from convcost.engine import Row
from convcost.engine.labels import Family, declared, labels

# --- the calibrated constants (measured by convcost.latency.calibrate; no torch here) -------

CACHE_VERSION = 6
OP_CLASSES = ("dense", "grouped", "pointwise", "depthwise", "gemm", "max_pool", "avg_pool",
              "transcendental", "norm", "reduce", "memory")
WORK = {"dense": "multiply-adds", "grouped": "multiply-adds", "pointwise": "multiply-adds",
        "depthwise": "multiply-adds", "gemm": "multiply-adds", "max_pool": "window ops",
        "avg_pool": "window ops", "transcendental": "elements", "norm": "", "reduce": "",
        "memory": ""}
"""What each class's work counts (empty: a class timed by its bytes only)."""
SHARED_BYTES = frozenset({"dense", "grouped", "pointwise", "depthwise", "gemm", "max_pool",
                          "avg_pool"})
"""The classes whose bytes cost what the plain memory ops' bytes cost (their per-byte rate is
the ``memory`` class's; only their per-work rate is their own). The transcendental
activations have no byte term in the cache: 8 bytes per element, always, so their work term
holds their bytes already."""


@dataclass(frozen=True)
class OpCost:
    """The calibrated cost terms of one op class (seconds; per unit of work, per byte)."""

    overhead_s: float
    s_per_work: float
    s_per_byte: float

    def seconds(self, work: float, nbytes: float) -> float:
        return self.overhead_s + work * self.s_per_work + nbytes * self.s_per_byte


@dataclass(frozen=True)
class Calibration:
    """Cost terms of one machine: per op class, per module call, per view op, and the
    streaming bandwidth beyond the last-level cache."""

    ops: Mapping[str, OpCost]
    stream_bytes_per_s: float
    cache_bytes: int
    module_overhead_s: float
    free_op_overhead_s: float
    device: str
    threads: int
    machine: str
    torch_version: str
    created: str = ""
    timings_ms: dict[str, float] | None = None  # lowest round median, ms, by micro-benchmark
    noise: dict[str, float] | None = None  # spread of each micro-benchmark over its rounds
    attempts: int = 1  # measurements it took to pass the sanity checks
    context_s: float = 0.0  # each op's cost inside a model beyond its cost alone
    context_s_per_byte: float = 0.0  # and per byte the op moves
    heap: str = "system"  # the heap it was measured with (convcost.latency.heap)
    channel_block: int = 1  # the convolutions' channel block (1: no blocked layout)
    alignment: dict[str, float] = field(default_factory=dict)  # "<class>:<alignment>" factor

    # the rates people (and the report's roofline plot) read
    def rate(self, op_class: str) -> float:
        """Work per second of a class's arithmetic (inf for a class with no work term)."""
        s = self.ops[op_class].s_per_work
        return 1.0 / s if s > 0 else math.inf

    @property
    def peak_dense_madds_per_s(self) -> float:
        return self.rate("dense")

    @property
    def peak_pointwise_madds_per_s(self) -> float:
        return self.rate("pointwise")

    @property
    def peak_depthwise_madds_per_s(self) -> float:
        return self.rate("depthwise")

    @property
    def bandwidth_bytes_per_s(self) -> float:
        """The in-cache bandwidth of the plain memory ops (ReLU, add, cat, ...)."""
        s = self.ops["memory"].s_per_byte
        return 1.0 / s if s > 0 else math.inf

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"version": CACHE_VERSION}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "ops":
                value = {k: {"overhead_s": v.overhead_s, "s_per_work": v.s_per_work,
                             "s_per_byte": v.s_per_byte} for k, v in value.items()}
            out[f.name] = value
        return out

    def describe(self) -> list[tuple[str, float, str]]:
        """(constant, value, unit) rows for people: G/s, GB/s, MiB, µs."""
        out: list[tuple[str, float, str]] = []
        for k in OP_CLASSES:
            c = self.ops[k]
            if WORK[k]:
                out.append((f"{k}: arithmetic", 1e-9 / c.s_per_work if c.s_per_work else
                            math.inf, f"G {WORK[k]}/s"))
            out.append((f"{k}: bytes", 1e-9 / c.s_per_byte if c.s_per_byte else math.inf,
                        "GB/s"))
            out.append((f"{k}: overhead", c.overhead_s * 1e6, "µs"))
        out += [
            ("module call", self.module_overhead_s * 1e6, "µs"),
            ("view / metadata op", self.free_op_overhead_s * 1e6, "µs"),
            ("in a model, per op", self.context_s * 1e6, "µs"),
            ("in a model, per MB an op moves", self.context_s_per_byte * 1e12, "µs"),
            ("streaming bandwidth", self.stream_bytes_per_s / 1e9, "GB/s"),
            ("last-level cache", self.cache_bytes / 2**20, "MiB"),
        ]
        if self.channel_block > 1:
            out.append(("conv channel block", float(self.channel_block), "channels"))
        out += [(f"{k.replace(':', ': ')} channels", v, "× time")
                for k, v in sorted(self.alignment.items())]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Calibration:
        """Read :meth:`to_dict`'s output back; ValueError when it is another version or any
        constant is impossible (a rate <= 0, a negative cost)."""
        if data.get("version") != CACHE_VERSION:
            raise ValueError(f"cache version {data.get('version')!r} != {CACHE_VERSION}")
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in names}
        raw = kw.get("ops")
        if not isinstance(raw, Mapping) or set(raw) != set(OP_CLASSES):
            raise ValueError(f"ops must hold the classes {', '.join(OP_CLASSES)}")
        ops = {}
        for k, terms in raw.items():
            if not isinstance(terms, Mapping):
                raise ValueError(f"ops[{k!r}] must be an object")
            values = [terms.get(n) for n in ("overhead_s", "s_per_work", "s_per_byte")]
            if not all(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0
                       for v in values):
                raise ValueError(f"ops[{k!r}] must hold three finite numbers >= 0")
            ops[k] = OpCost(*(float(v) for v in values))  # type: ignore[arg-type]
        kw["ops"] = ops
        cal = cls(**kw)  # type: ignore[arg-type]
        for name in ("stream_bytes_per_s", "cache_bytes"):
            value = getattr(cal, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        align = cal.alignment
        if not isinstance(align, Mapping) or not all(
                isinstance(v, (int, float)) and math.isfinite(v) and v > 0
                for v in align.values()):
            raise ValueError("alignment must map '<class>:<alignment>' to factors > 0")
        if not isinstance(cal.channel_block, int) or cal.channel_block < 1:
            raise ValueError(f"channel_block must be an integer >= 1, got "
                             f"{cal.channel_block!r}")
        for name in ("module_overhead_s", "free_op_overhead_s", "context_s",
                     "context_s_per_byte"):
            value = getattr(cal, name)
            if not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        return cal


POOL_OPS = labels(Family.POOL)  # max/avg pools with a window (adaptive pools: reduce)
MAX_POOL_OPS = frozenset(declared("max_pool1d", "max_pool2d", "max_pool3d"))
REDUCE_OPS = labels(Family.REDUCTION, Family.ADAPTIVE_POOL)
TRANSCENDENTAL_OPS = labels(Family.SOFTMAX) | frozenset(declared(
    "sigmoid", "silu", "elu", "tanh", "gelu", "mish", "softplus"))  # with an exp, erf or tanh
NORM_OPS = labels(Family.NORM)  # instance norm runs as these
NO_TIME = labels(Family.PARAMS)  # the engine's rows for parameters no op read: no op ran


def op_class(row: Row) -> str:
    """The op's class (see the module doc)."""
    if row.conv_kind == "depthwise":
        return "depthwise"
    if row.conv_kind == "pointwise":
        return "pointwise"
    if row.conv_kind == "grouped":
        return "grouped"
    if row.conv_kind is not None:
        return "dense"
    if row.cost.madds > 0:
        return "gemm"
    if row.op in POOL_OPS:
        return "max_pool" if row.op in MAX_POOL_OPS else "avg_pool"
    if row.op in TRANSCENDENTAL_OPS:
        return "transcendental"
    if row.op in NORM_OPS:
        return "norm"
    if row.op in REDUCE_OPS:
        return "reduce"
    return "memory"


CONV_CLASSES = ("dense", "grouped", "pointwise", "depthwise")
ALIGNMENTS = ("aligned", "half", "ragged")
SMALL_CHANNELS = 4
"""Channel counts up to this one (an image's 3) take oneDNN's first-layer path as they are."""


def conv_channels(row: Row) -> tuple[int, ...]:
    """The channel counts that fill blocks (module doc): a conv's input and output channels
    per group (a depthwise conv's channels), without those of at most
    :data:`SMALL_CHANNELS`; empty for any other op."""
    if row.conv_kind is None or not row.in_shapes or len(row.out_shape) < 2:
        return ()
    cin, cout = row.in_shapes[0][1], row.out_shape[1]
    groups = row.groups or 1
    channels = (cout,) if row.conv_kind == "depthwise" else (cin // groups, cout // groups)
    return tuple(c for c in channels if c > SMALL_CHANNELS)


def alignment_of(channels: Iterable[int], block: int) -> str:
    """``aligned`` when every channel count is a multiple of ``block`` (or ``block`` <= 1),
    ``half`` when of half a block, else ``ragged``."""
    counted = list(channels)
    if block <= 1 or all(c % block == 0 for c in counted):
        return "aligned"
    half = max(1, block // 2)
    return "half" if all(c % half == 0 for c in counted) else "ragged"


def channel_alignment(row: Row, block: int) -> str:
    """How the conv's channels fill blocks of ``block`` (:func:`alignment_of` of
    :func:`conv_channels`); ``aligned`` for any other op."""
    return alignment_of(conv_channels(row), block)


def alignment_factor_of(kind: str, how: str, factors: Mapping[str, float]) -> float:
    """The factor of class ``kind`` at alignment ``how`` in ``factors`` (by
    ``"<class>:<alignment>"``): 1 when aligned or not in ``factors``."""
    return 1.0 if how == "aligned" else factors.get(f"{kind}:{how}", 1.0)


def alignment_factor(row: Row, kind: str, cal: Calibration) -> float:
    """The factor on the op's arithmetic and memory terms for its channel alignment (1 when
    aligned or not calibrated)."""
    if kind not in CONV_CLASSES or not cal.alignment:
        return 1.0
    return alignment_factor_of(kind, channel_alignment(row, cal.channel_block), cal.alignment)


def work(row: Row, op_class_: str | None = None) -> int:
    """The work the op's class counts: multiply-adds, window ops (``flops``), output
    elements, or 0 for the byte-only classes."""
    kind = op_class_ or op_class(row)
    what = WORK[kind]
    if what == "multiply-adds":
        return row.cost.madds
    if what == "window ops":
        return row.cost.flops
    if what == "elements":
        return math.prod(row.out_shape)
    return 0


@dataclass(frozen=True)
class OpEstimate:
    """The estimate for one op (seconds): its arithmetic, memory and fixed terms."""

    row: Row
    op_class: str
    compute_s: float
    memory_s: float
    overhead_s: float

    @property
    def seconds(self) -> float:
        return self.compute_s + self.memory_s + self.overhead_s

    @property
    def bound(self) -> str:
        """``compute`` or ``memory``: the larger of the two terms."""
        return "compute" if self.compute_s >= self.memory_s else "memory"


@dataclass(frozen=True)
class LatencyPrediction:
    """Per-op estimates of one model, its module calls and view ops, and their sum."""

    ops: tuple[OpEstimate, ...]
    module_calls: tuple[str, ...] = ()  # the scope of every module call
    free_ops: int = 0
    module_overhead_s: float = 0.0
    free_op_overhead_s: float = 0.0
    context_s: float = 0.0  # per op
    context_s_per_byte: float = 0.0  # per byte an op moves

    def context(self, op: OpEstimate) -> float:
        """What ``op`` costs inside the model beyond its own estimate."""
        return self.context_s + op.row.cost.mem_bytes * self.context_s_per_byte

    @property
    def seconds(self) -> float:
        return (math.fsum(op.seconds + self.context(op) for op in self.ops)
                + len(self.module_calls) * self.module_overhead_s
                + self.free_ops * self.free_op_overhead_s)

    @property
    def ms(self) -> float:
        return self.seconds * 1000.0

    @property
    def roofline_seconds(self) -> float:
        """The textbook roofline of the same ops, for comparison: ``Σ max(compute,
        memory)``, no fixed costs, no module calls or view ops."""
        return math.fsum(max(op.compute_s, op.memory_s) for op in self.ops)

    def by_class(self) -> dict[str, float]:
        """Seconds per op class, then ``module calls``, ``view ops`` and ``in a model`` (the
        ops' context cost)."""
        out = dict.fromkeys(OP_CLASSES, 0.0)
        for op in self.ops:
            out[op.op_class] += op.seconds
        out["module calls"] = len(self.module_calls) * self.module_overhead_s
        out["view ops"] = self.free_ops * self.free_op_overhead_s
        out["in a model"] = math.fsum(self.context(op) for op in self.ops)
        return out

    def by_scope(self) -> dict[str, float]:
        """Seconds of the ops run directly in each module scope (the rows' ``name``; not
        inclusive of child modules, unlike ``Analysis.by_module``) plus that module's calls,
        in first-seen order. View ops have no scope here: they are in the total only."""
        out: dict[str, float] = {}
        for op in self.ops:
            out[op.row.name] = out.get(op.row.name, 0.0) + op.seconds + self.context(op)
        for scope in self.module_calls:
            out[scope] = out.get(scope, 0.0) + self.module_overhead_s
        return out


def estimate_op(row: Row, cal: Calibration, *, cold_weights: bool = False) -> OpEstimate:
    """The estimate of one op; ``cold_weights``: its parameters come from memory beyond the
    last-level cache (see the module doc)."""
    kind = op_class(row)
    terms = cal.ops[kind]
    nbytes = row.cost.mem_bytes
    stream = 1.0 / cal.stream_bytes_per_s
    if nbytes > cal.cache_bytes:
        memory_s = nbytes * max(terms.s_per_byte, stream)
    else:
        weight_bytes = min(nbytes, weight_bytes_of(row)) if cold_weights else 0
        memory_s = ((nbytes - weight_bytes) * terms.s_per_byte
                    + weight_bytes * max(terms.s_per_byte, stream))
    slower = alignment_factor(row, kind, cal)
    return OpEstimate(row, kind, work(row, kind) * terms.s_per_work * slower, memory_s * slower,
                      terms.overhead_s)


def itemsize_of(row: Row) -> float:
    """Bytes per element of the op's output (what it writes over what it outputs; 4 when
    it outputs nothing)."""
    n = math.prod(row.out_shape) if row.out_shape else 0
    return row.cost.mem_write_bytes / n if n and row.cost.mem_write_bytes else 4.0


def weight_bytes_of(row: Row) -> int:
    """Bytes of the parameters the op reads: what it reads beyond its activation inputs."""
    act = sum(math.prod(s) for s in row.in_shapes) * itemsize_of(row)
    return max(0, round(row.cost.mem_read_bytes - act))


def predict_rows(rows: Iterable[Row], cal: Calibration, *, cold_weights: bool = False
                 ) -> LatencyPrediction:
    """Estimate of every op in ``rows`` (no module calls or view ops)."""
    return LatencyPrediction(tuple(estimate_op(r, cal, cold_weights=cold_weights)
                                   for r in rows if r.op not in NO_TIME))


def predict_latency(analysis: object, cal: Calibration) -> LatencyPrediction:
    """Estimate of an :class:`~convcost.records.analysis.Analysis`: its rows, its module
    calls and its view ops; weights are cold when the model's parameters exceed the cache."""
    rows = getattr(analysis, "rows", None)
    if rows is None:
        from convcost.errors import InvalidArgumentError

        raise InvalidArgumentError("predict_latency needs a convcost.analyze(...) result")
    params_bytes = sum(r.cost.params * itemsize_of(r) for r in rows)
    cold = params_bytes > cal.cache_bytes
    ops = predict_rows(rows, cal, cold_weights=cold).ops
    calls = tuple(c.scope for c in getattr(analysis, "module_calls", ()))
    evaluation = getattr(analysis, "evaluation", None)
    free = sum(getattr(evaluation, "free", {}).values()) if evaluation is not None else 0
    return LatencyPrediction(ops, calls, free, cal.module_overhead_s, cal.free_op_overhead_s,
                             cal.context_s, cal.context_s_per_byte)


__all__ = [
    "ALIGNMENTS",
    "CACHE_VERSION",
    "CONV_CLASSES",
    "MAX_POOL_OPS",
    "NORM_OPS",
    "OP_CLASSES",
    "POOL_OPS",
    "REDUCE_OPS",
    "SHARED_BYTES",
    "TRANSCENDENTAL_OPS",
    "WORK",
    "Calibration",
    "LatencyPrediction",
    "OpCost",
    "OpEstimate",
    "alignment_factor",
    "alignment_factor_of",
    "alignment_of",
    "channel_alignment",
    "conv_channels",
    "estimate_op",
    "itemsize_of",
    "op_class",
    "predict_latency",
    "predict_rows",
    "weight_bytes_of",
    "work",
]
