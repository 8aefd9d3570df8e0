"""Running the peers: fvcore, thop, ptflops (pytorch and aten backends), torchinfo and
PyTorch's FlopCounterMode, each on a model copy the caller owns, with the model's own inputs
(several positional inputs, keyword inputs, integer token ids), the way a user calls each tool:

* fvcore traces positional tensors: keyword or non-tensor inputs go through a thin wrapper
  module that passes them on (its scope is stripped from the layer names);
* thop calls ``model(*inputs)``: keyword inputs go through the same wrapper;
* ptflops calls ``model(x)`` for one tensor, else ``model(**inputs)`` (its ``input_constructor``
  returning a dict, positional inputs bound to their parameter names);
* torchinfo and FlopCounterMode call ``model(*args, **kwargs)``.

Every peer is imported here, lazily, inside its runner; a missing one raises
:class:`PeerMissing` (the check reports it as skipped with the install hint), and so does a
stale ``thop`` (the old package installs the same module name as ``ultralytics-thop``; it is
recognised from the imported module itself). Whatever a peer prints or warns is swallowed:
the library never prints. Layer names are the model's canonical ones (the first of
``named_modules()``).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import logging
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import metadata
from typing import Any

import torch
from torch import nn

Number = int | Fraction

EXTRA = "pip install 'convcost[oracles]'"


class PeerMissing(Exception):
    """The peer's package is not installed (or a stale package shadows it)."""


class PeerFailed(Exception):
    """The peer ran but gave no answer (it raised, or returned None)."""


@dataclass
class PeerRun:
    """What a peer reported. ``count`` is its headline number (MACs or flops)."""

    version: str
    count: Number
    layers: dict[str, Number] | None = None  # canonical module scope -> its own count there
    extra: dict[str, Number] = field(default_factory=dict)  # params, sizes, ...
    batch: int = 1  # the peer's own batch divisor (ptflops' batch counter)


def version_of(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _exact(x: Any) -> Number:
    """A peer's number as an exact int (or Fraction when it is really fractional)."""
    if isinstance(x, torch.Tensor):
        x = x.item()
    if isinstance(x, bool):
        raise PeerFailed(f"expected a number, got {x!r}")
    if isinstance(x, int):
        return x
    if hasattr(x, "item"):  # numpy scalars
        x = x.item()
    if isinstance(x, float):
        f = Fraction(x)
        return int(f) if f.denominator == 1 else f
    if isinstance(x, int):
        return x
    raise PeerFailed(f"expected a number, got {x!r}")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow everything a peer prints, warns or logs while it runs."""
    sink = io.StringIO()
    root = logging.getLogger()
    level = root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), \
                contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(level)


def self_counts(cumulative: Mapping[str, Number]) -> dict[str, Number]:
    """Per-scope own counts from cumulative ones (a module = its own ops + its descendants).

    Each scope is subtracted from its nearest listed ancestor, so gaps in the listing are fine.
    """
    own: dict[str, Number] = dict(cumulative)
    for name, value in cumulative.items():
        if not name:
            continue
        parent = name
        while parent:
            parent = parent.rpartition(".")[0]
            if parent in cumulative:
                own[parent] = own[parent] - value
                break
    return own


# --- inputs -------------------------------------------------------------------------------------


class Bound(nn.Module):
    """``model`` with its keyword and non-tensor inputs bound: ``forward(*tensors)`` puts each
    tensor back where it was. For the peers that take positional tensors only."""

    def __init__(self, model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        super().__init__()
        self.m = model
        self.tensors: list[torch.Tensor] = []
        self._slots = self._walk((args, kwargs))

    def _walk(self, value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            self.tensors.append(value)
            return _Slot(len(self.tensors) - 1)
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            return tuple(self._walk(v) for v in value)
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        if isinstance(value, dict):
            return {k: self._walk(v) for k, v in value.items()}
        return value

    def _fill(self, value: Any, tensors: tuple[torch.Tensor, ...]) -> Any:
        if isinstance(value, _Slot):
            return tensors[value.index]
        if isinstance(value, tuple):
            return tuple(self._fill(v, tensors) for v in value)
        if isinstance(value, list):
            return [self._fill(v, tensors) for v in value]
        if isinstance(value, dict):
            return {k: self._fill(v, tensors) for k, v in value.items()}
        return value

    def forward(self, *tensors: torch.Tensor) -> Any:
        args, kwargs = self._fill(self._slots, tensors)
        return self.m(*args, **kwargs)


@dataclass(frozen=True)
class _Slot:
    index: int


def _plain(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    return not kwargs and all(isinstance(a, torch.Tensor) for a in args)


def _unwrap(layers: dict[str, Number]) -> dict[str, Number]:
    """Layer names of a :class:`Bound` run as the model's own: "m.x" -> "x", "m" + "" -> ""."""
    out: dict[str, Number] = {}
    for name, v in layers.items():
        key = "" if name in ("", "m") else name.removeprefix("m.")
        out[key] = out.get(key, 0) + v
    return out


class Spread(nn.Module):
    """``model`` called as ``model(*positional, **keywords)`` from keyword inputs only
    (``input0``, ``input1``... for the positional ones), for ptflops, which calls
    ``model(**inputs)``, when ``forward(*args)`` has no names to bind them to."""

    def __init__(self, model: nn.Module, count: int) -> None:
        super().__init__()
        self.m = model
        self.count = count

    def forward(self, **named: Any) -> Any:
        args = [named.pop(f"input{i}") for i in range(self.count)]
        return self.m(*args, **named)


def keyword_inputs(model: nn.Module, args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> tuple[nn.Module, dict[str, Any]]:
    """Positional inputs bound to ``forward``'s parameter names, with the keyword ones (and
    the model to call with them: itself, or a :class:`Spread` of it)."""
    try:
        bound = inspect.signature(model.forward).bind(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        raise PeerFailed(f"ptflops calls model(**inputs): the inputs do not bind to "
                         f"forward's parameters by name ({exc})") from None
    out = {}
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            if value:
                return Spread(model, len(args)), {
                    **{f"input{i}": a for i, a in enumerate(args)}, **kwargs}
        elif kind is inspect.Parameter.VAR_KEYWORD:
            out.update(value)
        else:
            out[name] = value
    return model, out


def ptflops_batch(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    """ptflops' batch counter: len() of the root's first positional input; the inputs go as
    keywords (and the counter stays 1) unless there is exactly one tensor input."""
    if _plain(args, kwargs) and len(args) == 1 and args[0].dim() > 0:
        return len(args[0])
    return 1


# --- the runners --------------------------------------------------------------------------------

def _need(module: str, package: str) -> Any:
    import importlib

    try:
        with quiet():  # some peers warn on import (torch.jit.script deprecation)
            return importlib.import_module(module)
    except ImportError as exc:
        raise PeerMissing(f"{package} is not installed: {EXTRA}") from exc


def _thop() -> Any:
    thop = _need("thop", "ultralytics-thop")
    version = str(getattr(thop, "__version__", ""))
    major = version.split(".")[0]
    if not major.isdigit() or int(major) < 2:
        where = getattr(thop, "__file__", "?")
        raise PeerMissing(
            f"the imported thop ({where}, version {version or 'unknown'}) is the old 'thop' "
            "package, which installs the same module as ultralytics-thop and shadows it: "
            "pip uninstall thop, then pip install --force-reinstall ultralytics-thop")
    return thop


def missing(peer: str) -> str | None:
    """Why ``peer`` cannot run here (not installed, shadowed), or None."""
    try:
        if peer == "fvcore":
            _need("fvcore.nn", "fvcore")
        elif peer == "thop":
            _thop()
        elif peer.startswith("ptflops"):
            _need("ptflops", "ptflops")
        elif peer == "torchinfo":
            _need("torchinfo", "torchinfo")
    except PeerMissing as exc:
        return str(exc)
    return None


def run_fvcore(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> PeerRun:
    fvcore_flop = _need("fvcore.nn", "fvcore")
    target: nn.Module = model
    inputs: tuple[Any, ...] = args
    if not _plain(args, kwargs):
        target = Bound(model, args, kwargs)
        inputs = tuple(target.tensors)
    with quiet():
        analysis = fvcore_flop.FlopCountAnalysis(target, inputs)
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        analysis.tracer_warnings("none")
        total = analysis.total()
        cumulative = {k: _exact(v) for k, v in analysis.by_module().items()}
    layers = self_counts(cumulative)
    if target is not model:
        layers = _unwrap(layers)
    return PeerRun(version_of("fvcore"), _exact(total), layers)


def run_thop(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> PeerRun:
    thop = _thop()
    target: nn.Module = Bound(model, args, kwargs) if kwargs else model
    inputs = tuple(target.tensors) if isinstance(target, Bound) else args
    with quiet():
        total, params, tree = thop.profile(target, inputs, verbose=False, ret_layer_info=True)
    cumulative: dict[str, Number] = {"": _exact(total)}
    canonical = {id(m): n for n, m in target.named_modules()}

    def walk(prefix: str, module: nn.Module, sub: Mapping[str, Any]) -> None:
        for name, (ops, _params, children) in sub.items():
            full = f"{prefix}.{name}" if prefix else name
            child = module.get_submodule(name)
            if canonical.get(id(child)) != full:
                continue  # a shared module under a second name: thop counted it once
            cumulative[full] = _exact(ops)
            walk(full, child, children)

    walk("", target, tree)
    layers = self_counts(cumulative)
    if isinstance(target, Bound):
        layers = _unwrap(layers)
    return PeerRun(str(getattr(thop, "__version__", version_of("ultralytics-thop"))),
                   _exact(total), layers, {"params": _exact(params)})


def _ptflops(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any],
             backend: str) -> PeerRun:
    ptflops = _need("ptflops", "ptflops")
    if _plain(args, kwargs) and len(args) == 1:
        x = args[0]
        res: tuple[int, ...] = tuple(x.shape[1:]) or (1,)  # it asserts a non-empty tuple

        def construct(_res: Any) -> Any:
            return x
    else:
        model, named = keyword_inputs(model, args, kwargs)
        res = (1,)  # unused with an input_constructor, but it asserts a non-empty tuple

        def construct(_res: Any) -> Any:
            return named
    with quiet():
        macs, params = ptflops.get_model_complexity_info(
            model, res, print_per_layer_stat=False, as_strings=False,
            input_constructor=construct, backend=backend)
    if macs is None:
        raise PeerFailed(f"ptflops ({backend} backend) could not finish the forward pass")
    return PeerRun(version_of("ptflops"), _exact(macs), None, {"params": _exact(params)},
                   batch=ptflops_batch(args, kwargs))


def run_ptflops_pytorch(model: nn.Module, args: tuple[Any, ...],
                        kwargs: dict[str, Any]) -> PeerRun:
    return _ptflops(model, args, kwargs, "pytorch")


def run_ptflops_aten(model: nn.Module, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> PeerRun:
    return _ptflops(model, args, kwargs, "aten")


# summary()'s and its forward_pass()'s own parameter names: a keyword input cannot pass as one
_TORCHINFO_OWN = frozenset({"model", "input_size", "input_data", "batch_dim",
                            "cache_forward_pass", "col_names", "col_width", "depth", "device",
                            "dtypes", "mode", "row_settings", "verbose", "x"})


def run_torchinfo(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> PeerRun:
    torchinfo = _need("torchinfo", "torchinfo")
    names = {id(m): n for n, m in model.named_modules()}
    with quiet():
        if args or not set(kwargs) & _TORCHINFO_OWN:
            stats = torchinfo.summary(model, input_data=list(args), verbose=0, device="cpu",
                                      mode="eval", **kwargs)
        else:  # a keyword input named like summary()'s own: as a dict, model(**input_data)
            stats = torchinfo.summary(model, input_data=dict(kwargs), verbose=0,
                                      device="cpu", mode="eval")
    layers: dict[str, Number] = {}
    for info in stats.summary_list:
        if info.is_leaf_layer:
            name = names.get(id(info.module), info.var_name)
            layers[name] = layers.get(name, 0) + int(info.macs)
    extra: dict[str, Number] = {"params": int(stats.total_params),
                                "output_bytes": int(stats.total_output_bytes),
                                "param_bytes": int(stats.total_param_bytes)}
    return PeerRun(version_of("torchinfo"), int(stats.total_mult_adds), layers, extra)


def tracker_names(model: nn.Module) -> dict[int, str]:
    """The names torch's ModuleTracker gives the modules (``_get_mod_name``): the root's class,
    then parent name + child name, depth first; a module met again under another parent takes
    that name, its children keep the first one."""
    known: dict[int, str] = {id(model): type(model).__name__}
    seen: set[int] = set()

    def visit(mod: nn.Module) -> None:
        if id(mod) in seen:
            return
        seen.add(id(mod))
        for name, sub in mod.named_children():
            known[id(sub)] = f"{known[id(mod)]}.{name}"
            visit(sub)

    visit(model)
    return known


def run_flopcounter(model: nn.Module, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> PeerRun:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with quiet(), counter:
        model(*args, **kwargs)
    by_tracker = {n: i for i, n in tracker_names(model).items()}
    canonical = {id(m): n for n, m in model.named_modules()}
    cumulative: dict[str, Number] = {}
    for name, ops in counter.get_flop_counts().items():
        if name == "Global":
            continue
        ident = by_tracker.get(name)
        scope = canonical.get(ident, name) if ident is not None else name
        cumulative[scope] = cumulative.get(scope, 0) + sum(int(v) for v in ops.values())
    return PeerRun(version_of("torch"), int(counter.get_total_flops()), self_counts(cumulative))


Runner = Callable[[nn.Module, tuple[Any, ...], dict[str, Any]], PeerRun]

RUNNERS: dict[str, Runner] = {
    "fvcore": run_fvcore,
    "thop": run_thop,
    "ptflops-pytorch": run_ptflops_pytorch,
    "ptflops-aten": run_ptflops_aten,
    "torchinfo": run_torchinfo,
    "torch-flopcounter": run_flopcounter,
}

__all__ = [
    "EXTRA",
    "RUNNERS",
    "Bound",
    "PeerFailed",
    "PeerMissing",
    "PeerRun",
    "Spread",
    "keyword_inputs",
    "missing",
    "ptflops_batch",
    "quiet",
    "self_counts",
    "tracker_names",
    "version_of",
]
