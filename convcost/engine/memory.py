"""Peak memory by liveness: replay every allocation and release of a recorded run (pure Python).

The recorder (``convcost.analyze(..., memory=True)``) notes, for every storage the run touched,
when it came to exist and when its last reference went away, as :class:`Lifetimes`: the
storages alive before the first op (parameters, buffers, inputs), then every allocation (the op
that made it) and release (after which op) in the order they happened, and the role of each
storage (a parameter's gradient, a tensor autograd saved for backward, ...). Deaths are not
guessed from last uses: CPython frees a tensor the moment its last reference goes (a variable
rebound, autograd releasing what it saved once a node's gradient is computed), and the
recorder is told at that moment, so the order is the one the real run has on any device.

:func:`simulate` replays those events through an allocator model (:class:`Allocator`: how a
request is rounded) and returns the peak, when it happens and what is live then by
:class:`Category`. A training step adds the optimizer (:data:`OPTIMIZERS`): its state is
resident from the start (a steady-state step: the state was made by an earlier step), and its
step's temporaries are replayed after the backward pass. What a kernel allocates inside itself
(a workspace it frees before returning) is not seen: see ``docs/benchmarks/memory.md`` for
how much that is on the CPU.

No torch here: the events are plain ints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from convcost.errors import InvalidArgumentError
from convcost.graph import FORWARD, Node


class Category(StrEnum):
    """What a live byte is for."""

    PARAMETERS = "parameters"  # the model's weights and its buffers (BatchNorm statistics)
    GRADIENTS = "gradients"  # the parameters' .grad
    OPTIMIZER_STATE = "optimizer_state"  # momentum buffers, Adam's moments and step counters
    SAVED_FOR_BACKWARD = "saved_for_backward"  # activations autograd keeps for the backward
    OTHER_ACTIVATIONS = "other_activations"  # every other intermediate, activation gradients
    INPUTS = "inputs"  # the model's inputs


CATEGORIES: tuple[Category, ...] = tuple(Category)


# --- the allocator ------------------------------------------------------------------------------


CPU_CHANNEL_BLOCK = 16
"""oneDNN's channel block on an AVX-512 CPU (8 on an AVX2 one): its blocked layouts pad the
channels to a multiple of it."""


def cpu_workspace(node: Node, block: int = CPU_CHANNEL_BLOCK) -> int:
    """Bytes a CPU kernel holds while it runs, beyond its outputs. PyTorch's CPU convolution
    (oneDNN) with a kernel larger than 1×1 reorders, every call, its input, its weight and
    its output into blocked layouts whose channels are padded to a multiple of ``block``, then
    converts the output back: it holds ``x' + w' + y'`` bytes, then ``y' + y`` (primes: the
    padded copies, ``y`` the output it returns), so beyond ``y`` the larger of
    ``x' + w' + y' − y`` and ``y'``. With 3 input channels or fewer (an image) the input is
    not reordered; a grouped (not depthwise) convolution's channels are not padded. 1×1
    convolutions, transposed ones and every other op: 0. Measured with torch.profiler on
    torch 2.13 (``docs/benchmarks/memory.md``); the backward pass's kernels are not
    modelled."""
    if node.op not in ("aten.convolution", "aten._convolution") or node.phase != FORWARD:
        return 0
    x, w = node.args[0], node.args[1]
    if (len(node.args) > 6 and node.args[6]) or not node.outputs:  # transposed
        return 0
    kernel = w.shape[2:]
    if all(k == 1 for k in kernel):
        return 0
    groups = node.args[8] if len(node.args) > 8 and isinstance(node.args[8], int) else 1
    out = node.outputs[0]

    n, c_in, c_out = x.shape[0], x.shape[1], out.shape[1]
    grouped = 1 < groups < c_in  # not depthwise: oneDNN keeps the groups' own channels

    def pad(c: int) -> int:
        return c if grouped else -(-c // block) * block

    isz, taps = out.itemsize, math.prod(kernel)
    out_bytes = out.numel * isz
    out_pad = n * pad(c_out) * math.prod(out.shape[2:]) * isz
    per_group = c_in // groups
    w_pad = pad(c_out) * (pad(per_group) if groups == 1 else per_group) * taps * isz
    x_pad = 0 if c_in <= 3 else n * pad(c_in) * math.prod(x.shape[2:]) * isz
    return max(x_pad + w_pad + out_pad - out_bytes, out_pad)


_WORKSPACES = {"cpu": cpu_workspace}


@dataclass(frozen=True, slots=True)
class Allocator:
    """How an allocator turns a request of ``n`` bytes into bytes held: a request of 0 bytes
    holds nothing; any other is rounded up to a multiple of ``granularity`` and to at least
    ``minimum`` bytes. ``kernels``: whose kernels' workspaces are added while each op runs
    (``cpu``: :func:`cpu_workspace`, with oneDNN's channel ``block``; empty: none)."""

    name: str
    granularity: int = 1
    minimum: int = 0
    kernels: str = ""
    block: int = CPU_CHANNEL_BLOCK

    def workspace(self, node: Node) -> int:
        fn = _WORKSPACES.get(self.kernels)
        return fn(node, self.block) if fn is not None else 0

    def held(self, nbytes: int) -> int:
        if nbytes <= 0:
            return 0
        g = self.granularity
        return max(self.minimum, -(-nbytes // g) * g)


ALLOCATORS: dict[str, Allocator] = {
    "cpu": Allocator("cpu", 64, 64, "cpu"),
    "cuda": Allocator("cuda", 512, 512),
    "exact": Allocator("exact", 1, 0),
}
"""The allocator models :func:`simulate` takes, by name:

* ``cpu``: PyTorch's CPU allocator (c10::alloc_cpu): every storage of n > 0 bytes is its own
  posix_memalign(64) block, so it holds n rounded up to 64 bytes; empty storages allocate
  nothing; the CPU convolution's workspace is held while it runs;
* ``cuda``: PyTorch's CUDA caching allocator: requests are rounded up to multiples of 512
  bytes (kMinBlockSize); the segments it caches beyond that (2 MiB for small blocks, the
  largest requests rounded to 2 MiB) are not modelled;
* ``exact``: the bytes requested, as torch.profiler's memory events count them.
"""


def allocator(name: str | Allocator) -> Allocator:
    """An :class:`Allocator` from its name (``cpu``, ``cuda``, ``exact``) or itself."""
    if isinstance(name, Allocator):
        return name
    try:
        return ALLOCATORS[name]
    except KeyError:
        raise InvalidArgumentError(f"allocator must be one of {', '.join(ALLOCATORS)}, got "
                                   f"{name!r}") from None


# --- what the recorder notes ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """One allocation (``nbytes`` > 0) or release (``nbytes`` < 0) of storage ``key``, during
    op ``at`` (an allocation: the op that made it) or after it (a release; -1: before the
    first op)."""

    at: int
    key: int
    nbytes: int


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter as the optimizer sees it: its storage, its size, and its gradient's storage
    (None when the backward pass gave it no gradient: frozen or unused)."""

    name: str
    key: int
    nbytes: int
    grad: int | None = None


@dataclass(frozen=True)
class Lifetimes:
    """Every storage one recorded run held, in the order it held them.

    ``resident``: storages alive before the first op (key -> bytes); ``events``: allocations
    and releases in order; ``roles``: each storage's :class:`Category` (any other storage is
    an other activation); ``params``: the model's parameters in ``model.parameters()`` order;
    ``nodes``: the ops the run recorded (an event's ``at`` indexes them).
    """

    resident: Mapping[int, int]
    events: tuple[Event, ...]
    roles: Mapping[int, Category]
    params: tuple[Param, ...] = ()
    nodes: tuple[Node, ...] = ()  # every op of the run, by index (what an event's ``at`` is)
    backward: bool = False  # the run included loss.backward()

    @property
    def ops(self) -> int:
        return len(self.nodes)

    def category(self, key: int) -> Category:
        return self.roles.get(key, Category.OTHER_ACTIVATIONS)


# --- the optimizer ----------------------------------------------------------------------------

DEFAULT_OPTIMIZER = "adam"
"""The optimizer of a training step when none is named."""
OPTIMIZERS: dict[str, str] = {
    "sgd": "torch.optim.SGD(momentum=0): no state; the update is in place",
    "momentum": "torch.optim.SGD(momentum>0): one momentum buffer per parameter with a "
                "gradient; the update is in place",
    "adam": "torch.optim.Adam: exp_avg and exp_avg_sq per parameter with a gradient and a "
            "float32 step counter; each parameter's update makes two temporaries of its size "
            "(sqrt(exp_avg_sq), then that over the bias correction: the denominator, kept until "
            "the next parameter's is made)",
    "adamw": "torch.optim.AdamW: as Adam (the decoupled weight decay is in place)",
}
"""The optimizers :func:`optimizer_events` models: PyTorch's default (for-loop) implementation,
the one the CPU runs, with its default arguments."""

STEP_COUNTER_BYTES = 4
"""Adam's per-parameter ``step``: a float32 scalar tensor on the CPU."""


def check_optimizer(name: str) -> str:
    if name not in OPTIMIZERS:
        raise InvalidArgumentError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got "
                                   f"{name!r}")
    return name


def optimizer_state(name: str, params: Sequence[Param]) -> list[tuple[str, int]]:
    """The optimizer's state in a steady-state step, as (what, bytes): per parameter with a
    gradient, a momentum buffer (``momentum``), or Adam's two moments and step counter."""
    check_optimizer(name)
    out: list[tuple[str, int]] = []
    for p in params:
        if p.grad is None:
            continue
        if name == "momentum":
            out.append((f"{p.name}.momentum_buffer", p.nbytes))
        elif name in ("adam", "adamw"):
            out += [(f"{p.name}.exp_avg", p.nbytes), (f"{p.name}.exp_avg_sq", p.nbytes),
                    (f"{p.name}.step", STEP_COUNTER_BYTES)]
    return out


def optimizer_step(name: str, params: Sequence[Param]) -> list[tuple[int, int, int]]:
    """The temporaries of one ``optimizer.step()``, as (parameter index, temporary id, bytes)
    events in order: bytes > 0 made, < 0 released. SGD, with or without momentum, updates in
    place and makes none. Adam's for-loop, per parameter ``i`` with a gradient:
    ``denom = (exp_avg_sq.sqrt() / c).add_(eps)`` makes the square root, then the quotient;
    the square root goes when the quotient is made, the previous parameter's ``denom`` when
    this one is bound to the name; the last goes when ``step()`` returns."""
    check_optimizer(name)
    if name not in ("adam", "adamw"):
        return []
    events: list[tuple[int, int, int]] = []
    previous: tuple[int, int] | None = None
    for i, p in enumerate(params):
        if p.grad is None:
            continue
        sqrt, denom = 2 * i, 2 * i + 1
        events += [(i, sqrt, p.nbytes), (i, denom, p.nbytes), (i, sqrt, -p.nbytes)]
        if previous is not None:
            events.append((i, previous[0], -previous[1]))
        previous = (denom, p.nbytes)
    if previous is not None:
        events.append((len(params) - 1, previous[0], -previous[1]))
    return events


# --- the replay -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Bytes held at one moment, by category, and where the run was: during or after op
    ``at`` of the recording (``at`` >= the recording's op count: the optimizer step, at
    parameter ``at - ops``)."""

    at: int
    by_category: Mapping[Category, int]

    @property
    def total(self) -> int:
        return sum(self.by_category.values())


@dataclass(frozen=True)
class Simulation:
    """The replay of one run: the peak (the first moment the most bytes were held), what was
    held at the start and at the end, and the highest point within each op (the timeline a
    plot draws)."""

    peak: Snapshot
    start: Snapshot
    end: Snapshot
    timeline: tuple[Snapshot, ...]
    allocator: Allocator
    optimizer: str | None = None
    ops: int = 0  # ops of the recording; timeline positions at or past it are optimizer steps
    params: tuple[str, ...] = field(default=())  # parameter names, for optimizer positions

    @property
    def peak_bytes(self) -> int:
        return self.peak.total

    def where(self, at: int) -> str | None:
        """The parameter an optimizer-step position updates; None for an op of the run."""
        i = at - self.ops
        return self.params[i] if 0 <= i < len(self.params) else None


def simulate(lifetimes: Lifetimes, alloc: str | Allocator = "cpu",
             optimizer: str | None = None) -> Simulation:
    """Replay ``lifetimes`` through the allocator model ``alloc``; with ``optimizer`` (a
    training run only), its state is resident from the start and its step replayed after the
    backward pass (:func:`optimizer_state`, :func:`optimizer_step`).

    Every held byte belongs to exactly one category, so the categories of every snapshot add
    up to its total.
    """
    model = allocator(alloc)
    if optimizer is not None:
        check_optimizer(optimizer)
        if not lifetimes.backward:
            raise InvalidArgumentError("an optimizer step needs a run with a backward pass "
                                       "(analyze(..., backward=True))")
    live: dict[Category, int] = dict.fromkeys(CATEGORIES, 0)
    held: dict[int, tuple[Category, int]] = {}

    def add(key: int, nbytes: int, cat: Category) -> None:
        size = model.held(nbytes)
        if key in held:  # a storage that grew (resize_): the difference
            old_cat, old = held[key]
            live[old_cat] -= old
        held[key] = (cat, size)
        live[cat] += size

    def drop(key: int) -> None:
        found = held.pop(key, None)
        if found is not None:
            live[found[0]] -= found[1]

    for key, nbytes in lifetimes.resident.items():
        add(key, nbytes, lifetimes.category(key))
    state_key = -1
    if optimizer is not None:
        for _, nbytes in optimizer_state(optimizer, lifetimes.params):
            add(state_key, nbytes, Category.OPTIMIZER_STATE)
            state_key -= 1
    start = Snapshot(-1, dict(live))
    best = start
    best_total = start.total
    timeline: list[Snapshot] = []
    high: Snapshot | None = None

    def moment(at: int, extra: int = 0) -> None:
        """Note the bytes held now, with ``extra`` bytes of the running kernel's workspace
        (other activations) on top."""
        nonlocal best, best_total, high
        now = dict(live)
        if extra:
            now[Category.OTHER_ACTIVATIONS] += extra
        total = sum(now.values())
        if high is None or high.at != at:
            if high is not None:
                timeline.append(high)
            high = Snapshot(at, now)
        elif total > high.total:
            high = Snapshot(at, now)
        if total > best_total:
            best_total = total
            best = Snapshot(at, now)

    nodes = lifetimes.nodes
    for e in lifetimes.events:
        extra = 0
        if e.nbytes >= 0:
            add(e.key, e.nbytes, lifetimes.category(e.key))
            if 0 <= e.at < len(nodes):  # made by op e.at: its kernel's workspace is held too
                extra = model.held(model.workspace(nodes[e.at]))
        else:
            drop(e.key)
        moment(e.at, extra)
    if optimizer is not None:
        temp_base = state_key - 1  # keys below every state key
        for i, temp, nbytes in optimizer_step(optimizer, lifetimes.params):
            key = temp_base - temp
            if nbytes > 0:
                add(key, nbytes, Category.OTHER_ACTIVATIONS)
            else:
                drop(key)
            moment(lifetimes.ops + i)
    if high is not None:
        timeline.append(high)
    return Simulation(
        peak=best, start=start, end=Snapshot(timeline[-1].at if timeline else -1, dict(live)),
        timeline=tuple(timeline), allocator=model, optimizer=optimizer, ops=lifetimes.ops,
        params=tuple(p.name for p in lifetimes.params))


def by_category(snapshot: Snapshot) -> dict[str, int]:
    """A snapshot's bytes by category name, every category present, in :data:`CATEGORIES`
    order (the contract's ``by_category``)."""
    return {c.value: int(snapshot.by_category.get(c, 0)) for c in CATEGORIES}


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3,
          "gb": 1000**3, "t": 1000**4, "tb": 1000**4, "kib": 1024, "mib": 1024**2,
          "gib": 1024**3, "tib": 1024**4}
_MAX_BUDGET = 2**60


def parse_size(text: int | str) -> int:
    """A memory budget in bytes from ``8GiB``, ``8 GB``, ``512MiB``, ``1.5e9`` or an int.
    ``KB``/``MB``/``GB``/``TB`` (and ``k``, ``M``, ``G``, ``T``) are powers of 1000, ``KiB``,
    ``MiB``, ``GiB``, ``TiB`` powers of 1024.

    >>> parse_size("8GiB"), parse_size("1.5 GB"), parse_size(4096)
    (8589934592, 1500000000, 4096)
    """
    if isinstance(text, bool):
        raise InvalidArgumentError(f"a memory size must be bytes or text like 8GiB, got {text}")
    if isinstance(text, int):
        value = float(text)
    else:
        raw = str(text).strip()
        i = len(raw)
        while i and raw[i - 1].isalpha():
            i -= 1
        number, unit = raw[:i].strip(), raw[i:].lower()
        try:
            value = float(number) * _UNITS[unit]
        except (KeyError, ValueError):
            raise InvalidArgumentError(
                f"cannot read the memory size {text!r}: give bytes or a number with a unit "
                "(8GiB, 512MiB, 16GB)") from None
    if not (0 < value <= _MAX_BUDGET):  # also refuses nan
        raise InvalidArgumentError(f"a memory size must be more than 0 and at most 1 EiB, got "
                                   f"{text!r}")
    return int(value)


__all__ = ["ALLOCATORS", "CATEGORIES", "CPU_CHANNEL_BLOCK", "DEFAULT_OPTIMIZER", "OPTIMIZERS",
           "STEP_COUNTER_BYTES", "Allocator", "Category", "Event", "Lifetimes", "Param",
           "Simulation", "Snapshot", "allocator", "by_category", "check_optimizer",
           "cpu_workspace", "optimizer_state", "optimizer_step", "parse_size", "simulate"]
