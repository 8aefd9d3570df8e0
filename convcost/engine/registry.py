"""One registry from op key to counter, keyed by op (not by module class).

Keys are aten overload packets (``"aten.convolution"``). An in-place variant (``aten.add_``)
falls back to its out-of-place counter. Ops that truly cost nothing (views, metadata) are
registered explicitly as free; anything else is *unsupported* and reported, never counted as
zero. Registering a key twice is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from convcost.formulas import OpCost
from convcost.graph import Node


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


class DuplicateRegistrationError(RuntimeError):
    """Two counters for the same op key."""


class Registry:
    def __init__(self) -> None:
        self._counters: dict[str, Counter] = {}
        self._free: dict[str, str] = {}

    def register(self, *keys: str) -> Callable[[Counter], Counter]:
        def deco(fn: Counter) -> Counter:
            for key in keys:
                self._check_new(key)
                self._counters[key] = fn
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

    def lookup(self, op: str) -> Counter | str | None:
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


REGISTRY = Registry()

__all__ = ["REGISTRY", "Counted", "Counter", "DuplicateRegistrationError", "Registry"]
