"""Model specs (the CLI's MODEL argument) and input specs (``--input``), resolved to objects.

* a zoo name, with options: ``mobilenet_v1``, ``mobilenet_v1:width_mult=0.5``;
* user code: ``path/to/file.py:ClassOrFactory`` or ``package.module:factory``.

Input specs (``--input``, one per positional input): ``224`` -> an image (3, 224, 224);
``AxBx...`` -> that shape, any rank; a ``:dtype`` suffix (``128:int64``) makes any spec a
literal shape with that dtype. The batch (``--batch``) is put in front.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import math
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, redirect_stderr, suppress
from pathlib import Path
from typing import Any

from convcost.errors import ConvcostError, InvalidArgumentError, ModelSpecError

_USER_CODE = re.compile(r"^(?P<target>.+?):(?P<attr>[A-Za-z_][A-Za-z0-9_.]*)$")


def is_user_code(spec: str) -> bool:
    """``file.py:Name`` or ``module:name``: zoo options always hold '=' after the ':'."""
    return bool(_USER_CODE.match(spec))


@contextmanager
def _user_code(what: str, folder: Path) -> Iterator[None]:
    """Run a user's import or factory: ``folder`` importable while it runs (a model file may
    import a module beside it; ``pkg.mod`` resolves from the current folder), and an exit or
    failure becomes one :class:`ModelSpecError` naming ``what``, with the last line the code
    wrote to stderr (argparse's complaint, say)."""
    added = str(folder) not in sys.path
    if added:
        sys.path.insert(0, str(folder))
    err = io.StringIO()
    try:
        with redirect_stderr(err):
            yield
    except KeyboardInterrupt:
        raise
    except SystemExit as exc:
        said = [ln for ln in err.getvalue().splitlines() if ln.strip()]
        raise ModelSpecError(f"{what} called sys.exit({exc.code!r})"
                             + (f": {said[-1].strip()}" if said else "")
                             + "; model code must not parse arguments or exit") from None
    except ModelSpecError:
        raise
    except BaseException as exc:  # the user's code failed: say where, in one line
        raise ModelSpecError(f"{what} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        if added and str(folder) in sys.path:
            sys.path.remove(str(folder))
    sys.stderr.write(err.getvalue())  # what the code said on stderr, passed on


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
            with _user_code(f"importing {target}", path.resolve().parent):
                loader_spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
    else:
        try:
            with _user_code(f"importing module {target!r}", Path.cwd()):
                module = importlib.import_module(target)
        except ModelSpecError as exc:
            cause = exc.__cause__
            if isinstance(cause, ModuleNotFoundError) and cause.name == target:
                raise ModelSpecError(_not_found(target, attr)) from None
            raise
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
    source = getattr(module, "__file__", None)
    folder = Path(source).resolve().parent if source else Path.cwd()
    with _user_code(f"calling {spec}()", folder):
        model = obj()
    if not isinstance(model, nn.Module):
        raise ModelSpecError(f"{spec}() returned {type(model).__name__}, not an nn.Module")
    return model, spec


def _not_found(target: str, attr: str) -> str:
    """``name:word`` where ``name`` is no module: most likely a zoo option without a value."""
    return (f"no module named {target!r}: for a zoo model's option write "
            f"{target}:{attr}=VALUE; for your own code, path/to/file.py:{attr} or "
            f"package.module:{attr}")


class InputShape(tuple[int, ...]):
    """One input's shape (a plain tuple of ints wherever a shape is expected) that may also
    say its dtype: ``128:int64`` is ``InputShape((128,), dtype="int64")``. ``dtype`` None means
    the analysed floating dtype (``--dtype``)."""

    dtype: str | None

    def __new__(cls, dims: Iterable[int], dtype: str | None = None) -> InputShape:
        self = super().__new__(cls, tuple(dims))
        self.dtype = dtype
        return self

    def __repr__(self) -> str:
        return f"{tuple(self)!r}:{self.dtype}" if self.dtype else repr(tuple(self))


def batched(shape: Iterable[int], batch: int) -> InputShape:
    """``shape`` (one sample, an :class:`InputShape` or a plain tuple) with the batch in front,
    its dtype kept; refused when the whole input could not exist."""
    dims = (batch, *shape)
    if math.prod(dims) > _MAX_NUMEL:
        raise InvalidArgumentError(f"input {'x'.join(map(str, dims))} is too large (more than "
                                   "2^62 elements)")
    return InputShape(dims, getattr(shape, "dtype", None))


_MAX_NUMEL = 2**62  # beyond this no tensor size fits torch's int64 arithmetic
_DTYPES = ("float32", "float16", "bfloat16", "float64", "int64", "int32", "int16", "int8",
           "uint8", "bool")


def check_budget(value: float, what: str = "--budget") -> float:
    """A time budget: a finite number of seconds > 0 (``nan``, ``inf`` and 0 are refused with
    :class:`~convcost.errors.InvalidArgumentError` naming ``what``)."""
    if not (value > 0 and math.isfinite(value)):
        raise InvalidArgumentError(f"{what} must be a finite number of seconds > 0, got {value}")
    return value


def parse_input(spec: str, default_channels: int = 3) -> InputShape:
    """One ``--input``: the shape of one sample (no batch) and, with a suffix, its dtype.

    * ``224`` (one bare integer) -> an image ``(3, 224, 224)``;
    * ``AxBx...`` -> that shape, of any rank: ``1x16000`` for a Conv1d, ``3x224x224``;
    * a ``:dtype`` suffix makes any spec a literal shape and sets its dtype: ``128:int64``
      (token ids) -> ``(128,)``, ``16:float32`` -> ``(16,)``, ``3x224x224:float16``.

    >>> parse_input("224"), parse_input("1x16000"), parse_input("128:int64")
    ((3, 224, 224), (1, 16000), (128,):int64)
    """
    text = spec.strip().lower().replace("×", "x").replace(",", "x")
    body, colon, dtype = text.partition(":")
    dtype = dtype.strip()
    if colon:
        from convcost.formulas._core import canonical_dtype

        with suppress(ConvcostError):  # an integer dtype is no alias: kept as written
            dtype = canonical_dtype(dtype)
        if dtype not in _DTYPES:
            raise ModelSpecError(f"input spec {spec!r}: unknown dtype {dtype!r}; use one of "
                                 f"{', '.join(_DTYPES)}")
    try:
        dims = tuple(int(p) for p in body.split("x"))
    except ValueError:
        raise ModelSpecError(
            f"input spec {spec!r} must be like 224, 3x224x224, 1x16000 or 128:int64"
        ) from None
    if any(d <= 0 for d in dims):
        raise ModelSpecError(f"input spec {spec!r} must have positive sizes")
    if math.prod(dims) > _MAX_NUMEL:
        raise ModelSpecError(f"input spec {spec!r} is too large (more than 2^62 elements)")
    if len(dims) == 1 and not colon:
        return InputShape((default_channels, dims[0], dims[0]))
    return InputShape(dims, dtype or None)


__all__ = ["InputShape", "batched", "check_budget", "is_user_code", "load_user_model",
           "parse_input"]
