"""Model specs (the CLI's MODEL argument) and input specs (``--input``), resolved to objects.

* a zoo name, with options: ``mobilenet_v1``, ``mobilenet_v1:width_mult=0.5``;
* user code: ``path/to/file.py:ClassOrFactory`` or ``package.module:factory``.

Input specs: ``224`` -> (3, 224, 224); ``CxHxW``; ``HxW`` -> (3, H, W); several comma-free
specs for several inputs.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

from convcost.errors import ModelSpecError

_USER_CODE = re.compile(r"^(?P<target>.+?):(?P<attr>[A-Za-z_][A-Za-z0-9_.]*)$")


def is_user_code(spec: str) -> bool:
    """``file.py:Name`` or ``module:name``: zoo options always hold '=' after the ':'."""
    return bool(_USER_CODE.match(spec))


def load_user_model(spec: str) -> tuple[Any, str]:
    """Build a model from ``file.py:Name`` / ``pkg.mod:name``; returns (model, display name)."""
    from torch import nn

    m = _USER_CODE.match(spec)
    if not m:
        raise ModelSpecError(f"model spec {spec!r} must look like path/to/file.py:ClassOrFactory "
                             "or package.module:factory")
    target, attr = m["target"], m["attr"]
    if target.endswith(".py") or "/" in target:
        path = Path(target)
        if not path.is_file():
            raise ModelSpecError(f"model file {target} does not exist")
        name = f"_convcost_user_{abs(hash(path.resolve()))}"
        loader_spec = importlib.util.spec_from_file_location(name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ModelSpecError(f"cannot import {target} as a Python file")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module
        try:
            loader_spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise ModelSpecError(f"importing {target} failed: {type(exc).__name__}: {exc}") from exc
    else:
        try:
            module = importlib.import_module(target)
        except Exception as exc:
            raise ModelSpecError(f"cannot import module {target!r}: {type(exc).__name__}: "
                                 f"{exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(module) if not n.startswith("_")]
            raise ModelSpecError(f"{target} has no attribute {attr!r}; it defines: "
                                 f"{', '.join(names[:12]) or 'nothing public'}")
        obj = getattr(obj, part)
    if isinstance(obj, nn.Module):
        return obj, spec
    if not callable(obj):
        raise ModelSpecError(f"{spec} is neither an nn.Module nor a class or factory")
    try:
        model = obj()
    except Exception as exc:
        raise ModelSpecError(f"calling {spec}() failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(model, nn.Module):
        raise ModelSpecError(f"{spec}() returned {type(model).__name__}, not an nn.Module")
    return model, spec


def parse_input(spec: str, default_channels: int = 3) -> tuple[int, ...]:
    """``'224'`` -> (3, 224, 224); ``'3x160x160'``; ``'128x256'`` -> (3, 128, 256); ``'1x16000'``
    keeps an explicit rank when it has 1 or 3+ dims (C, L) / (C, D, H, W).
    """
    text = spec.strip().lower().replace("×", "x").replace(",", "x")
    try:
        dims = tuple(int(p) for p in text.split("x"))
    except ValueError:
        raise ModelSpecError(
            f"input spec {spec!r} must be like 224, 3x224x224 or 128x256"
        ) from None
    if any(d <= 0 for d in dims):
        raise ModelSpecError(f"input spec {spec!r} must have positive sizes")
    if len(dims) == 1:
        return (default_channels, dims[0], dims[0])
    if len(dims) == 2:
        return (default_channels, *dims)
    return dims


__all__ = ["is_user_code", "load_user_model", "parse_input"]
