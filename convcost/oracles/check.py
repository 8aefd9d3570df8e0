"""``convcost.crosscheck``: run the model for real and through every peer, predict from the
analytic rows what each peer should report, and explain every difference by a named rule.

A difference that no rule explains is *unexplained*; ``CrossCheck.unexplained`` counts them
(the CLI exits 1 when it is not 0). A peer that is not installed is *skipped*, one that raises
is *failed*; neither is unexplained.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import torch
from torch import nn

from convcost.errors import InvalidArgumentError
from convcost.oracles.conventions import (
    ADAPTERS,
    EMPTY,
    Adapter,
    Prediction,
    predict,
)
from convcost.oracles.peers import RUNNERS, PeerMissing, PeerRun, version_of
from convcost.oracles.real import RealRun, run_real
from convcost.records.analysis import Analysis
from convcost.records.exact import plain
from convcost.resolve import Resolved, resolve

Number = int | Fraction

PEERS: tuple[str, ...] = ("real", *RUNNERS)


@dataclass(frozen=True)
class Comparison:
    """One number a peer reported next to the number convcost predicts it reports."""

    metric: str  # madds-like count, flops, params, output_bytes, out_shape, ...
    reported: Number | str
    predicted: Number | str
    scope: str | None = None  # module scope; None = the whole model
    module: str = ""
    rules: dict[str, Number] = field(default_factory=dict)  # rule id -> contribution
    baseline: Number | None = None  # convcost's own madds behind the prediction

    @property
    def delta(self) -> Number | None:
        if isinstance(self.reported, str) or isinstance(self.predicted, str):
            return None
        return self.reported - self.predicted

    @property
    def explained(self) -> bool:
        if self.delta is None:
            return self.reported == self.predicted
        return self.delta == 0

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"metric": self.metric}
        if self.scope is not None:
            d["name"] = self.scope
            d["module"] = self.module
        d.update(reported=plain(self.reported), predicted=plain(self.predicted),
                 delta=plain(self.delta), explained=self.explained,
                 rules={k: plain(v) for k, v in self.rules.items()})
        if self.baseline is not None:
            d["convcost_madds"] = self.baseline
        return d


@dataclass
class PeerResult:
    """One peer on one model."""

    peer: str
    tool: str
    status: str  # ok | skipped | failed
    version: str = ""
    verified: str = ""  # version the adapter's rules were verified on
    hint: str = ""
    message: str = ""
    totals: list[Comparison] = field(default_factory=list)  # the headline count first
    layers: list[Comparison] = field(default_factory=list)
    unmapped: dict[str, int] = field(default_factory=dict)

    @property
    def unexplained(self) -> int:
        return sum(not c.explained for c in (*self.totals, *self.layers))

    @property
    def headline(self) -> Comparison | None:
        return self.totals[0] if self.totals else None

    def to_dict(self, layers: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {"peer": self.peer, "tool": self.tool, "status": self.status,
                             "version": self.version, "verified_on": self.verified}
        if self.status == "skipped":
            d["hint"] = self.hint
        if self.message:
            d["message"] = self.message
        head = self.headline
        if head is not None:
            d.update(metric=head.metric, reported=plain(head.reported),
                     predicted=plain(head.predicted), delta=plain(head.delta),
                     rules={k: plain(v) for k, v in head.rules.items()})
        d["unexplained"] = self.unexplained
        d["checks"] = [c.to_dict() for c in self.totals]
        d["layers_compared"] = len(self.layers)
        d["layers_unexplained"] = sum(not c.explained for c in self.layers)
        if layers:
            d["layers"] = [c.to_dict() for c in self.layers]
        if self.unmapped:
            d["unmapped_ops"] = dict(self.unmapped)
        if self.version and self.verified and not self.version.startswith(self.verified):
            d["note"] = (f"rules verified on {self.verified}; installed {self.version}")
        return d


@dataclass
class CrossCheck:
    """Every peer's figures for one model at one input, and what convcost predicted."""

    model: str
    input: tuple[int, ...]
    madds: int  # convcost's analytic multiply-adds
    params: int
    peers: list[PeerResult]

    @property
    def unexplained(self) -> int:
        return sum(p.unexplained for p in self.peers)

    @property
    def failed(self) -> int:
        """Peers that raised (a peer that is not installed is skipped, not failed)."""
        return sum(p.status == "failed" for p in self.peers)

    def peer(self, name: str) -> PeerResult:
        for p in self.peers:
            if p.peer == name:
                return p
        raise KeyError(name)

    def to_dict(self, layers: bool = False) -> dict[str, Any]:
        return {"model": self.model, "input": list(self.input), "madds": self.madds,
                "params": self.params, "unexplained": self.unexplained, "failed": self.failed,
                "peers": [p.to_dict(layers) for p in self.peers]}


# --- comparison ---------------------------------------------------------------------------------


def _scoped(rows: Iterable[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for r in rows:
        out.setdefault(r.name, []).append(r)
    return out


def _compare(metric: str, reported: Number, pred: Prediction, adapter: Adapter,
             scope: str | None = None, module: str = "") -> Comparison:
    value: Number = pred.value
    if adapter.truncate or pred.value.denominator == 1:
        value = int(pred.value)  # ptflops truncates its fractional per-sample figure
    rules: dict[str, Number] = {k: (int(v) if v.denominator == 1 else v)
                                for k, v in pred.by_rule.items()}
    return Comparison(metric, reported, value, scope, module, rules, pred.madds)


def _layer_comparisons(adapter: Adapter, run_layers: dict[str, Number], rows: Sequence[Any],
                       batch: int, modules: dict[str, str], metric: str) -> list[Comparison]:
    by_scope = _scoped(rows)
    out = []
    for scope in sorted(set(by_scope) | set(run_layers), key=_scope_order(modules)):
        pred = predict(adapter, by_scope.get(scope, ()), batch) if scope in by_scope else EMPTY
        reported = run_layers.get(scope, 0)
        if reported == 0 and pred.value == 0:
            continue
        out.append(_compare(metric, reported, pred, adapter, scope, modules.get(scope, "")))
    return out


def _scope_order(modules: dict[str, str]) -> Any:
    order = {name: i for i, name in enumerate(modules)}
    return lambda s: (order.get(s, len(order)), s)


def _check_real(real: RealRun, analysis: Analysis, modules: dict[str, str]) -> PeerResult:
    adapter = ADAPTERS["real"]
    rows = analysis.rows
    res = PeerResult("real", adapter.tool, "ok", version_of("torch"), adapter.verified)
    res.totals.append(_compare("madds", real.total_madds, predict(adapter, rows), adapter))
    res.totals.append(Comparison("params", real.params, analysis.evaluation.params_total))
    res.layers = _layer_comparisons(adapter, dict(real.madds), rows, 1, modules, "madds")
    # the capture records every module call's outputs: the first tensor of each call
    analytic = {(c.scope, c.call): c.outputs[0] for c in analysis.module_calls if c.outputs}
    for scope, call, shape in real.outputs:
        want = analytic.get((scope, call))
        if want is None:
            continue  # a module that returned no tensor
        res.layers.append(Comparison("out_shape", "x".join(map(str, shape)),
                                     "x".join(map(str, want)), scope, modules.get(scope, "")))
    return res


def _extra_checks(peer: str, run: PeerRun, analysis: Analysis,
                  model: nn.Module) -> list[Comparison]:
    out = []
    if "params" in run.extra:
        out.append(Comparison("params", run.extra["params"], analysis.evaluation.params_total))
    if peer == "torchinfo":
        from convcost.capture.modules import module_infos
        from convcost.records.summary import build_summary

        # torchinfo's sizes, as `convcost summary` computes them
        t = build_summary(analysis, module_infos(model)).totals
        if "output_bytes" in run.extra:
            both = t.forward_backward_bytes
            out.append(Comparison("output_bytes", run.extra["output_bytes"], both,
                                  rules={"torchinfo-output-bytes-x2": both // 2}))
        if "param_bytes" in run.extra:
            out.append(Comparison("param_bytes", run.extra["param_bytes"], t.params_bytes))
    return out


def _check_peer(peer: str, run: PeerRun, analysis: Analysis, model: nn.Module, batch: int,
                modules: dict[str, str]) -> PeerResult:
    adapter = ADAPTERS[peer]
    rows = analysis.rows
    pred = predict(adapter, rows, batch)
    res = PeerResult(peer, adapter.tool, "ok", run.version, adapter.verified,
                     unmapped=dict(pred.unmapped))
    res.totals.append(_compare(adapter.metric, run.count, pred, adapter))
    res.totals.extend(_extra_checks(peer, run, analysis, model))
    if run.layers is not None:
        res.layers = _layer_comparisons(adapter, run.layers, rows, batch, modules,
                                        adapter.metric)
    return res


# --- entry point --------------------------------------------------------------------------------


def _resolve(model: nn.Module | str | Resolved, input_size: Sequence[int] | None,
             name: str | None) -> tuple[nn.Module, tuple[int, ...], str]:
    resolved = resolve(model, "cpu", name)
    if input_size is None:
        if resolved.default_input is None:
            raise InvalidArgumentError("give the input size, e.g. crosscheck(model, "
                                       "(1, 3, 224, 224))")
        input_size = resolved.input_sizes()[0]
    return resolved.module, tuple(input_size), resolved.name


def crosscheck(
    model: nn.Module | str | Resolved,
    input_size: Sequence[int] | None = None,
    *,
    peers: Iterable[str] | None = None,
    name: str | None = None,
    threads: int | None = 1,
) -> CrossCheck:
    """Check ``model`` at ``input_size`` (one input, batch first) against the real run and the
    peers (all of :data:`PEERS` unless ``peers`` names some).

    Every peer runs on its own deep copy of the model, in eval mode, under ``torch.no_grad()``,
    on CPU, with one random input (seed 0); the model passed in is never touched.
    ``threads``: intra-op threads for those runs (restored afterwards; None keeps the current
    setting). One thread is the default: the counts do not depend on it, and on a loaded machine
    torch's spinning OpenMP workers make a two-thread forward pass 30× slower.
    """
    from convcost import api

    wanted = list(PEERS if peers is None else peers)
    unknown = [p for p in wanted if p not in PEERS]
    if unknown:
        raise InvalidArgumentError(f"unknown peer {unknown[0]!r}; choose from "
                                   f"{', '.join(PEERS)}")
    module, shape, label = _resolve(model, input_size, name)
    if len(shape) < 2 or not all(isinstance(d, int) and d > 0 for d in shape):
        raise InvalidArgumentError(f"input size must be a shape like (1, 3, 224, 224), got "
                                   f"{shape!r}")
    if any(p.is_meta for p in module.parameters()) or any(b.is_meta for b in module.buffers()):
        raise InvalidArgumentError("crosscheck runs the model for real: build it on cpu, not on "
                                   "the meta device")
    analysis = api.analyze(module, shape, name=label)
    modules = dict(analysis.evaluation.modules)
    batch = shape[0]
    gen = torch.Generator().manual_seed(0)  # the user's global RNG stays untouched
    x = torch.randn(shape, generator=gen)
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        results = _run_peers(wanted, module, x, analysis, batch, modules)
    finally:
        torch.set_num_threads(before)
    t = analysis.totals
    return CrossCheck(label, shape, t.madds, t.params, results)


def _run_peers(wanted: list[str], module: nn.Module, x: torch.Tensor, analysis: Analysis,
               batch: int, modules: dict[str, str]) -> list[PeerResult]:
    results: list[PeerResult] = []
    for peer in wanted:
        adapter = ADAPTERS[peer]
        work = copy.deepcopy(module).to("cpu").eval()
        try:
            with torch.no_grad():
                if peer == "real":
                    results.append(_check_real(run_real(work, (x,)), analysis, modules))
                    continue
                run = RUNNERS[peer](work, x)
            results.append(_check_peer(peer, run, analysis, work, batch, modules))
        except PeerMissing as exc:
            results.append(PeerResult(peer, adapter.tool, "skipped", hint=str(exc),
                                      verified=adapter.verified,
                                      message=f"{adapter.package} is not installed"))
        except Exception as exc:  # a peer's own failure is data, not a crash
            first = " ".join(str(exc).split())[:300]
            results.append(PeerResult(peer, adapter.tool, "failed",
                                      version_of(adapter.package), adapter.verified,
                                      message=f"{type(exc).__name__}: {first}"))
    return results


__all__ = ["PEERS", "Comparison", "CrossCheck", "PeerResult", "crosscheck", "plain"]
