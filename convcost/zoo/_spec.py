"""Zoo entries, model specs (``name:opt=value,...``) and typed options."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from torch import nn

from convcost.errors import ModelSpecError

_TRUE = frozenset({"true", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "off"})
# the largest option values a spec may give: a multiplier beyond 1,000 (or a count beyond 2³¹)
# only overflows the sizes it scales, it describes no network
_LIMIT: dict[type, float] = {int: 2**31 - 1, float: 1e3}


@dataclass(frozen=True)
class Option:
    """One builder option: its name, Python type (int, float, bool or str), default, help."""

    name: str
    type: type
    default: object
    help: str
    choices: tuple[object, ...] | None = None

    def describe(self) -> str:
        """``groups (int, one of 1, 2, 3, 4, 8; default 3)``."""
        parts = [self.type.__name__]
        if self.choices is not None:
            parts.append("one of " + ", ".join(str(c) for c in self.choices))
        return f"{self.name} ({'; '.join(parts)}; default {self.default})"


@dataclass(frozen=True)
class ZooEntry:
    """A zoo model: how to build it, its options, and where its layout comes from."""

    name: str
    family: str
    builder: Callable[..., nn.Module]
    options: tuple[Option, ...]
    aliases: tuple[str, ...]
    default_input: tuple[int, int, int]
    torchvision_name: str | None
    paper: str
    notes: str

    def option(self, name: str) -> Option:
        for opt in self.options:
            if opt.name == name:
                return opt
        raise ModelSpecError(self._unknown_option_message(name))

    def defaults(self) -> dict[str, object]:
        return {opt.name: opt.default for opt in self.options}

    def describe_options(self) -> str:
        return ", ".join(opt.describe() for opt in self.options) or "none"

    def _unknown_option_message(self, name: str) -> str:
        msg = (f"unknown option {name!r} for {self.name}; valid options: "
               f"{self.describe_options()}")
        close = difflib.get_close_matches(name, [o.name for o in self.options], n=2, cutoff=0.6)
        if close:
            msg += f"; did you mean: {', '.join(close)}?"
        return msg


def normalize_name(name: str) -> str:
    return name.strip().lower().replace("-", "_")


class Catalog:
    """The zoo's entries, looked up by canonical name or alias."""

    def __init__(self, entries: Iterable[ZooEntry]) -> None:
        self.entries: tuple[ZooEntry, ...] = tuple(entries)
        self._by_name: dict[str, ZooEntry] = {}
        for entry in self.entries:
            for key in (entry.name, *entry.aliases):
                if key in self._by_name:
                    raise RuntimeError(f"zoo name {key!r} is registered twice")
                self._by_name[key] = entry

    def get(self, name: str) -> ZooEntry:
        key = normalize_name(name)
        if key in self._by_name:
            return self._by_name[key]
        # close canonical names first; failing that, anything close (aliases included)
        names = [e.name for e in self.entries]
        close = (difflib.get_close_matches(key, names, n=3, cutoff=0.75)
                 or difflib.get_close_matches(key, list(self._by_name), n=4, cutoff=0.6))
        suggestions: list[str] = []
        for match in close:  # report canonical names, once each
            canonical = self._by_name[match].name
            if canonical not in suggestions:
                suggestions.append(canonical)
        if suggestions:
            raise ModelSpecError(f"unknown model {name!r}; did you mean: "
                                 f"{', '.join(suggestions[:3])}?")
        raise ModelSpecError(f"unknown model {name!r}; known models: "
                             f"{', '.join(e.name for e in self.entries)}")


def coerce_option(entry: ZooEntry, name: str, value: object) -> object:
    """``value`` (a string from a spec, or a Python value) as the option's type, checked."""
    opt = entry.option(name)

    def bad(expected: str) -> ModelSpecError:
        return ModelSpecError(f"option {name}={value!r} for {entry.name}: expected {expected}; "
                              f"valid options: {entry.describe_options()}")

    result: object
    if opt.type is bool:
        if isinstance(value, bool):
            result = value
        elif isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            result = value.strip().lower() in _TRUE
        else:
            raise bad("a bool (true/false, 1/0, yes/no)")
    elif opt.type is int:
        if isinstance(value, bool):
            raise bad("an integer")
        if isinstance(value, int):
            result = value
        elif isinstance(value, str):
            try:
                result = int(value.strip())
            except ValueError:
                raise bad("an integer") from None
        else:
            raise bad("an integer")
    elif opt.type is float:
        if isinstance(value, bool):
            raise bad("a number")
        if isinstance(value, int | float):
            result = float(value)
        elif isinstance(value, str):
            try:
                result = float(value.strip())
            except ValueError:
                raise bad("a number") from None
        else:
            raise bad("a number")
        if not math.isfinite(result):
            raise bad("a finite number")
    else:
        result = value if isinstance(value, str) else str(value)
    if isinstance(result, int | float) and not isinstance(result, bool):
        if result <= 0:
            raise bad("a positive number")
        if result > _LIMIT[opt.type]:
            raise bad(f"a number up to {_LIMIT[opt.type]:g}")
    if opt.choices is not None and result not in opt.choices:
        raise bad("one of " + ", ".join(str(c) for c in opt.choices))
    return result


def parse_options(entry: ZooEntry, text: str) -> dict[str, object]:
    """``"groups=8,scale=0.5"`` -> ``{"groups": 8, "scale": 0.5}`` (typed, checked)."""
    options: dict[str, object] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, eq, raw = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ModelSpecError(f"option {item!r} for {entry.name} must look like name=value; "
                                 f"valid options: {entry.describe_options()}")
        if key in options:
            raise ModelSpecError(f"option {key!r} is given twice for {entry.name}")
        options[key] = coerce_option(entry, key, raw)
    return options


def format_options(entry: ZooEntry, options: Mapping[str, object]) -> str:
    """Canonical option string: the non-default options, in the entry's order."""
    parts = []
    for opt in entry.options:
        if opt.name in options:
            value = coerce_option(entry, opt.name, options[opt.name])
            if value != opt.default:
                text = str(value).lower() if isinstance(value, bool) else str(value)
                parts.append(f"{opt.name}={text}")
    unknown = set(options) - {o.name for o in entry.options}
    for name in sorted(unknown):
        entry.option(name)  # raises with the valid options
    return ",".join(parts)


__all__ = [
    "Catalog",
    "Option",
    "ZooEntry",
    "coerce_option",
    "format_options",
    "normalize_name",
    "parse_options",
]
