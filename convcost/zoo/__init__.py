"""The model zoo: reference architectures as plain PyTorch modules, written from the papers'
tables (and torchvision's layouts where torchvision has the model, matching its parameter
counts exactly).

>>> entry, options = parse_spec("shufflenet_v1:groups=8,scale=0.5")
>>> entry.name, options
('shufflenet_v1', {'groups': 8, 'scale': 0.5})
>>> model = build("mobilenet_v1:width_mult=0.5")   # on the meta device: nothing allocated
>>> sum(p.numel() for p in model.parameters())
1331592

Specs are ``name`` or ``name:option=value,option=value``; names may be aliases
(``shufflenet_v2`` -> ``shufflenet_v2_x1_0``). Every model builds under
``torch.device("meta")`` and its forward runs on meta tensors.
"""

from __future__ import annotations

import torch
from torch import nn

from convcost.errors import InvalidArgumentError, ModelSpecError
from convcost.zoo._spec import Catalog, Option, ZooEntry, coerce_option, parse_options
from convcost.zoo.catalog import ENTRIES

_CATALOG = Catalog(ENTRIES)


def list_entries() -> list[ZooEntry]:
    """Every zoo model, in catalog order (grouped by family)."""
    return list(_CATALOG.entries)


def get_entry(name: str) -> ZooEntry:
    """The entry for a canonical name or alias; unknown names raise :class:`ModelSpecError`
    with the closest names."""
    if not isinstance(name, str) or not name.strip():
        raise ModelSpecError(f"a model name must be a non-empty string, got {name!r}")
    return _CATALOG.get(name)


def parse_spec(spec: str) -> tuple[ZooEntry, dict[str, object]]:
    """``"name:opt=value,..."`` -> (entry, the given options, typed and checked).

    Unknown options and bad values raise :class:`ModelSpecError` listing the valid options
    and their types. Bools accept true/false, 1/0, yes/no.
    """
    if not isinstance(spec, str):
        raise ModelSpecError(f"a model spec must be a string, got {type(spec).__name__}")
    name, _, text = spec.partition(":")
    entry = get_entry(name)
    return entry, parse_options(entry, text)


def build(spec: str | ZooEntry, *, device: str | torch.device = "meta",
          **options: object) -> nn.Module:
    """Build a zoo model under ``torch.device(device)`` (default ``meta``), in eval mode.

    ``options`` (Python values or strings) override those in the spec.
    """
    given: dict[str, object]
    if isinstance(spec, ZooEntry):
        entry, given = spec, {}
    else:
        entry, given = parse_spec(spec)
    for key, value in options.items():
        given[key] = coerce_option(entry, key, value)
    kwargs = entry.defaults() | given
    try:
        target = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InvalidArgumentError(f"device must be like 'meta', 'cpu' or 'cuda', got "
                                   f"{device!r}") from exc
    with target:
        model = entry.builder(**kwargs)
    return model.eval()


__all__ = [
    "ModelSpecError",
    "Option",
    "ZooEntry",
    "build",
    "get_entry",
    "list_entries",
    "parse_spec",
]
