"""The registry from op key to counter (keyed by op, not by module class), and the op vocabulary.

Keys are overload packets: ``"aten.convolution"``, or a library's own op (``"mylib.scale"``).
An in-place variant (``aten.add_``) falls back to its out-of-place counter. Ops that truly cost
nothing (views, metadata) are registered explicitly as free, with the reason; anything else is
*unsupported* and reported, never counted as zero.

**Labels and families.** Each registration declares every label its counter may return (the
``op`` column users see: ``conv2d``, ``relu``, ``add``...) and the :class:`Family` of those
labels. The registration checks each answer's label against that declaration (one set lookup),
so no consumer can test for a label that no counter produces. :mod:`convcost.engine.labels`
holds the resulting vocabulary for the consumers (peer adapters, reports, roofline).

**Immutable.** A :class:`Registry` is built once, through a :class:`RegistryBuilder` (a key
registered twice is an error); the default one is :data:`convcost.engine.counters.REGISTRY`.
:meth:`Registry.extended` returns a new registry with a user's own counters laid over it, for
one analysis (``convcost.analyze(..., counters={...})``), and leaves the original untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from types import MappingProxyType

from convcost.errors import ConvcostError, InvalidArgumentError
from convcost.formulas import Cost, OpCost
from convcost.graph import Node


class Family(StrEnum):
    """What kind of op a label names; every label belongs to exactly one family."""

    CONV = "conv"  # conv1d..3d, conv_transpose1d..3d
    LINEAR = "linear"  # dense products: linear (a weight operand), matmul, addmm
    ATTENTION = "attention"  # fused scaled-dot-product attention
    NORM = "norm"  # batch_norm, layer_norm, group_norm
    ACTIVATION = "activation"  # relu, relu6, gelu, silu, sigmoid, ... (one pass, per element)
    SOFTMAX = "softmax"  # softmax, log_softmax (a reduction and an elementwise pass per row)
    ELEMENTWISE = "elementwise"  # unary math, binary and ternary arithmetic, gate_mul
    REDUCTION = "reduction"  # mean, sum, amax, amin, prod
    POOL = "pool"  # max/avg pooling with a given window
    ADAPTIVE_POOL = "adaptive_pool"  # pooling to a given output size
    MOVEMENT = "movement"  # cat (and stack), copy, pad: data moved, no arithmetic
    RESAMPLE = "resample"  # interpolate (nearest, bilinear, ...)
    FILL = "fill"  # zeros, ones, full, arange, windows: written, nothing read
    SPECTRAL = "spectral"  # FFTs (torch.fft, stft)
    PARAMS = "params"  # unused_params: the engine's row for parameters no op read
    CUSTOM = "custom"  # a user's own op, under its own name (Registry.extended)


UNUSED_PARAMS = "unused_params"
"""The label of the rows :func:`convcost.engine.evaluate` adds for parameters no op read."""


@dataclass(frozen=True, slots=True)
class Counted:
    """A counter's answer: a label for the op (``conv2d``, ``relu``...) and its cost; a conv
    also says its kind, kernel and groups."""

    label: str
    cost: OpCost
    conv_kind: str | None = None
    kernel: tuple[int, ...] | None = None
    groups: int | None = None


Counter = Callable[[Node], Counted]
"""A built-in counter: an op node to its labelled cost."""

UserCounter = Callable[[Node], Counted | Cost]
"""A user's counter (see :meth:`Registry.extended`): a :class:`Counted`, an
:class:`~convcost.formulas.OpCost` or a plain :class:`~convcost.formulas.Cost`."""


class DuplicateRegistrationError(RuntimeError):
    """Two counters for the same op key."""


class CounterError(ConvcostError):
    """A counter answered with something the registry cannot use: not a cost, or a label its
    registration did not declare."""


@dataclass(frozen=True, slots=True, eq=False)
class Registration:
    """A counter, the labels it may return (label -> family), and whether it is convcost's own.

    Calling it counts the node and checks the answer's label against the declaration. Only a
    built-in counter's ``out_shape`` is trusted to build an op's output during the capture.
    """

    counter: Counter
    labels: Mapping[str, Family]
    builtin: bool = True

    def __call__(self, node: Node) -> Counted:
        answer = self.counter(node)
        if answer.label not in self.labels:
            raise CounterError(
                f"the counter of {node.op} returned the label {answer.label!r}, which it does "
                f"not declare; declared: {', '.join(sorted(self.labels)[:12])}"
                f"{', ...' if len(self.labels) > 12 else ''}")
        return answer


class Registry:
    """Op key -> counter or free reason, and the vocabulary of labels; immutable."""

    __slots__ = ("_counters", "_families", "_free")

    def __init__(self, counters: Mapping[str, Registration] | None = None,
                 free: Mapping[str, str] | None = None) -> None:
        self._counters = dict(counters or {})
        self._free = dict(free or {})
        both = sorted(self._counters.keys() & self._free.keys())
        if both:
            raise DuplicateRegistrationError(f"op {both[0]!r} is both counted and free")
        families = {UNUSED_PARAMS: Family.PARAMS}
        for reg in self._counters.values():
            for label, fam in reg.labels.items():
                if families.setdefault(label, fam) != fam:
                    raise DuplicateRegistrationError(
                        f"label {label!r} is declared in two families: {families[label]}, {fam}")
        self._families = families

    def lookup(self, op: str) -> Registration | str | None:
        """The counter, the reason an op is free (a str), or None when unsupported."""
        for key in (op, op.rstrip("_")):
            if key in self._counters:
                return self._counters[key]
            if key in self._free:
                return self._free[key]
        return None

    @property
    def free_ops(self) -> dict[str, str]:
        return dict(self._free)

    @property
    def counted_ops(self) -> list[str]:
        return sorted(self._counters)

    # --- the vocabulary ---------------------------------------------------------------------

    def labels(self, *families: Family) -> frozenset[str]:
        """Every declared label, or those of the given families."""
        return frozenset(label for label, fam in self._families.items()
                         if not families or fam in families)

    def family(self, label: str) -> Family:
        """The family of a declared label (KeyError for any other string)."""
        try:
            return self._families[label]
        except KeyError:
            raise KeyError(f"{label!r} is not a label any counter declares") from None

    def families(self) -> dict[Family, frozenset[str]]:
        """Family -> its labels, for every family with at least one label."""
        out: dict[Family, set[str]] = {}
        for label, fam in self._families.items():
            out.setdefault(fam, set()).add(label)
        return {fam: frozenset(out[fam]) for fam in Family if fam in out}

    # --- per-call overlay -------------------------------------------------------------------

    def extended(self, counters: Mapping[str, UserCounter | str]) -> Registry:
        """A new registry: this one with ``counters`` laid over it (this one is unchanged).

        A key is an overload packet as the capture sees it: ``"aten.relu"`` (a built-in op,
        whose counter this replaces) or ``"mylib.scale"`` for ``torch.library`` op
        ``mylib::scale`` (``"mylib::scale"`` is accepted too). A value is a function of the
        op's :class:`~convcost.graph.Node`, or a str to make the op free with that reason.

        The function returns a :class:`~convcost.formulas.Cost` (parameters, multiply-adds,
        flops, bytes read and written, all ints >= 0), an :class:`~convcost.formulas.OpCost`
        (the same and the output shape), or a :class:`Counted` to choose the label as well. The
        label is the op's name (``aten.`` removed: ``relu``, ``mylib.scale``) unless a
        :class:`Counted` names another label of the vocabulary (``linear``, ``conv2d``...), in
        whose family the row then is; an op name no counter declares is in :attr:`Family.CUSTOM`.
        Anything else raises :class:`CounterError` when the op is counted. Parameters are
        attributed by the engine (first op to read them), never by the counter.
        """
        mine = dict(self._counters)
        free = dict(self._free)
        for key, value in counters.items():
            op = _op_key(key)
            mine.pop(op, None)
            free.pop(op, None)
            if isinstance(value, str):
                free[op] = value
                continue
            if not callable(value):
                raise InvalidArgumentError(
                    f"counters[{key!r}] must be a function of the op's Node or a str (the "
                    f"reason the op is free), got {type(value).__name__}")
            label = op.removeprefix("aten.").rstrip("_")
            declared = {**self._families, label: self._families.get(label, Family.CUSTOM)}
            mine[op] = Registration(_user_counter(value, label), MappingProxyType(declared),
                                    builtin=False)
        return Registry(mine, free)


def _op_key(key: object) -> str:
    op = key.replace("::", ".") if isinstance(key, str) else ""
    namespace, _, name = op.partition(".")
    if not namespace or not name or "." in name:
        raise InvalidArgumentError(
            f"counters key {key!r} is not an op: use its overload packet, 'namespace.name' "
            "('aten.relu', or 'mylib.scale' for torch.library op mylib::scale)")
    return op


def _user_counter(fn: UserCounter, label: str) -> Counter:
    """``fn`` with its answer made a :class:`Counted` (the op's ``label`` unless it names one),
    or a :class:`CounterError` that says what was wrong."""

    def counter(node: Node) -> Counted:
        answer: object = fn(node)
        cost = answer.cost if isinstance(answer, Counted) else answer
        if not isinstance(cost, Cost):
            raise CounterError(
                f"the counter given for {node.op} returned {type(answer).__name__}; return a "
                "convcost.formulas.Cost or OpCost, or a convcost.engine.Counted")
        values = [getattr(cost, f.name) for f in fields(Cost)]
        bad = [f.name for f, v in zip(fields(Cost), values, strict=True)
               if type(v) is not int or v < 0]
        if bad:
            raise CounterError(
                f"the counter given for {node.op} returned {cost}: {', '.join(bad)} must be "
                "ints >= 0 (counts and bytes for the whole batch)")
        if not isinstance(cost, OpCost):  # a plain Cost: the recorded output shape is used
            cost = OpCost(*values)
        if isinstance(answer, Counted):
            return replace(answer, cost=cost)
        return Counted(label, cost)

    return counter


class RegistryBuilder:
    """Collects the registrations of one registry (a key registered twice is an error), then
    :meth:`build` makes the immutable :class:`Registry`."""

    def __init__(self) -> None:
        self._counters: dict[str, Registration] = {}
        self._free: dict[str, str] = {}

    def register(self, *keys: str, family: Family,
                 labels: Iterable[str]) -> Callable[[Counter], Counter]:
        """Decorator: ``fn`` counts ``keys`` and returns only ``labels``, all of ``family``."""
        declared = MappingProxyType(dict.fromkeys(labels, family))
        if not declared:
            raise ValueError(f"{keys}: a counter must declare the labels it returns")

        def deco(fn: Counter) -> Counter:
            reg = Registration(fn, declared)
            for key in keys:
                self._check_new(key)
                self._counters[key] = reg
            return fn

        return deco

    def register_free(self, reason: str, *keys: str) -> None:
        """Ops that move no data and do no arithmetic (views, shape queries, allocation)."""
        for key in keys:
            self._check_new(key)
            self._free[key] = reason

    def _check_new(self, key: str) -> None:
        if key in self._counters or key in self._free:
            raise DuplicateRegistrationError(f"op {key!r} is registered twice")

    def build(self) -> Registry:
        return Registry(self._counters, self._free)


__all__ = ["UNUSED_PARAMS", "Counted", "Counter", "CounterError", "DuplicateRegistrationError",
           "Family", "Registration", "Registry", "RegistryBuilder", "UserCounter"]
