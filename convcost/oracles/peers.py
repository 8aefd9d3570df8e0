"""Running the peers: fvcore, thop, ptflops (pytorch and aten backends), torchinfo and
PyTorch's FlopCounterMode, each on a model copy the caller owns.

Every peer is imported here, lazily, inside its runner; a missing one raises
:class:`PeerMissing` (the check reports it as skipped with the install hint). Whatever a peer
prints or warns is swallowed: the library never prints.
"""

from __future__ import annotations

import contextlib
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


class PeerMissing(Exception):
    """The peer's package is not installed."""


class PeerFailed(Exception):
    """The peer ran but gave no answer (it raised, or returned None)."""


@dataclass
class PeerRun:
    """What a peer reported. ``count`` is its headline number (MACs or flops)."""

    version: str
    count: Number
    layers: dict[str, Number] | None = None  # module scope -> the peer's own count there
    extra: dict[str, Number] = field(default_factory=dict)  # params, sizes, ...


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


# --- the runners --------------------------------------------------------------------------------


def _need(module: str, package: str) -> Any:
    import importlib

    try:
        with quiet():  # some peers warn on import (torch.jit.script deprecation)
            return importlib.import_module(module)
    except ImportError as exc:
        raise PeerMissing(f"pip install {package}") from exc


def run_fvcore(model: nn.Module, x: torch.Tensor) -> PeerRun:
    fvcore_flop = _need("fvcore.nn", "fvcore")
    with quiet():
        analysis = fvcore_flop.FlopCountAnalysis(model, (x,))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        analysis.tracer_warnings("none")
        total = analysis.total()
        cumulative = {k: _exact(v) for k, v in analysis.by_module().items()}
    return PeerRun(version_of("fvcore"), _exact(total), self_counts(cumulative))


def run_thop(model: nn.Module, x: torch.Tensor) -> PeerRun:
    thop = _need("thop", "ultralytics-thop")
    with quiet():
        total, params, tree = thop.profile(model, (x,), verbose=False, ret_layer_info=True)
    cumulative: dict[str, Number] = {"": _exact(total)}

    def walk(prefix: str, sub: Mapping[str, Any]) -> None:
        for name, (ops, _params, children) in sub.items():
            full = f"{prefix}.{name}" if prefix else name
            cumulative[full] = _exact(ops)
            walk(full, children)

    walk("", tree)
    return PeerRun(version_of("ultralytics-thop"), _exact(total), self_counts(cumulative),
                   {"params": _exact(params)})


def _ptflops(model: nn.Module, x: torch.Tensor, backend: str) -> PeerRun:
    ptflops = _need("ptflops", "ptflops")
    with quiet():
        macs, params = ptflops.get_model_complexity_info(
            model, tuple(x.shape[1:]), print_per_layer_stat=False, as_strings=False,
            input_constructor=lambda _res: x, backend=backend)
    if macs is None:
        raise PeerFailed(f"ptflops ({backend} backend) could not finish the forward pass")
    return PeerRun(version_of("ptflops"), _exact(macs), None, {"params": _exact(params)})


def run_ptflops_pytorch(model: nn.Module, x: torch.Tensor) -> PeerRun:
    return _ptflops(model, x, "pytorch")


def run_ptflops_aten(model: nn.Module, x: torch.Tensor) -> PeerRun:
    return _ptflops(model, x, "aten")


def run_torchinfo(model: nn.Module, x: torch.Tensor) -> PeerRun:
    torchinfo = _need("torchinfo", "torchinfo")
    names = {id(m): n for n, m in model.named_modules()}
    with quiet():
        stats = torchinfo.summary(model, input_data=[x], verbose=0, device="cpu", mode="eval")
    layers: dict[str, Number] = {}
    for info in stats.summary_list:
        if info.is_leaf_layer:
            name = names.get(id(info.module), info.var_name)
            layers[name] = layers.get(name, 0) + int(info.macs)
    extra: dict[str, Number] = {"params": int(stats.total_params),
                                "output_bytes": int(stats.total_output_bytes),
                                "param_bytes": int(stats.total_param_bytes)}
    return PeerRun(version_of("torchinfo"), int(stats.total_mult_adds), layers, extra)


def run_flopcounter(model: nn.Module, x: torch.Tensor) -> PeerRun:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with quiet(), counter:
        model(x)
    cumulative: dict[str, Number] = {}
    for name, ops in counter.get_flop_counts().items():
        if name == "Global":
            continue
        scope = name.partition(".")[2] if "." in name else ""  # "ResNet.layer1.0" -> layer1.0
        cumulative[scope] = cumulative.get(scope, 0) + sum(int(v) for v in ops.values())
    return PeerRun(version_of("torch"), int(counter.get_total_flops()), self_counts(cumulative))


RUNNERS: dict[str, Callable[[nn.Module, torch.Tensor], PeerRun]] = {
    "fvcore": run_fvcore,
    "thop": run_thop,
    "ptflops-pytorch": run_ptflops_pytorch,
    "ptflops-aten": run_ptflops_aten,
    "torchinfo": run_torchinfo,
    "torch-flopcounter": run_flopcounter,
}

__all__ = ["RUNNERS", "PeerFailed", "PeerMissing", "PeerRun", "quiet", "self_counts",
           "version_of"]
