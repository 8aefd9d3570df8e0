"""``convcost.crosscheck``: run the model for real and through every peer, predict from the
analytic rows what each peer should report, and explain every difference by a named rule.

A difference that no rule explains is *unexplained*; ``CrossCheck.unexplained`` counts them
(the CLI exits 1 when it is not 0). A peer that is not installed is *skipped*; one that raises
is *failed*, unless its adapter predicts that it raises on this model (then its status is
*raised*, with the rule). Neither skipped nor raised is unexplained.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import torch
from torch import nn
from torch.utils import _pytree as pytree

from convcost.api import make_inputs
from convcost.errors import ConvcostError, InvalidArgumentError
from convcost.oracles import torchinfo_totals
from convcost.oracles.context import Context
from convcost.oracles.conventions import ADAPTERS, Adapter
from convcost.oracles.observe import observe
from convcost.oracles.peers import (
    RUNNERS,
    PeerMissing,
    PeerRun,
    ptflops_batch,
    quiet,
    tracker_names,
    version_of,
)
from convcost.oracles.predict import Prediction, fused_calls, in_scope, predict
from convcost.oracles.quantities import WouldFail
from convcost.oracles.real import RealRun, run_real
from convcost.records.analysis import Analysis
from convcost.records.exact import plain
from convcost.resolve import Resolved, resolve

Number = int | Fraction

PEERS: tuple[str, ...] = ("real", *RUNNERS)


@dataclass(frozen=True)
class Comparison:
    """One number a peer reported next to the number convcost predicts it reports."""

    metric: str  # madds-like count, flops, params, output_bytes, out_shape, runs, ...
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
    status: str  # ok | skipped | failed | raised (as its adapter predicts)
    version: str = ""
    verified: str = ""  # version the adapter's rules were verified on
    hint: str = ""
    message: str = ""
    totals: list[Comparison] = field(default_factory=list)  # the headline count first
    layers: list[Comparison] = field(default_factory=list)
    layers_skipped: int = 0  # per-layer figures compared in the total only (shared modules)

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
        if self.layers_skipped:
            d["layers_skipped"] = self.layers_skipped
        if layers:
            d["layers"] = [c.to_dict() for c in self.layers]
        if self.version and self.verified and not self.version.startswith(self.verified):
            d["note"] = (f"rules verified on {self.verified}; installed {self.version}")
        return d


@dataclass
class CrossCheck:
    """Every peer's figures for one model at one input, and what convcost predicted."""

    model: str
    input: tuple[int, ...]  # the first input tensor's shape
    madds: int  # convcost's analytic multiply-adds
    params: int
    peers: list[PeerResult]
    inputs: tuple[dict[str, Any], ...] = ()  # every input tensor: name, shape, dtype
    device: str = "cpu"  # where convcost's analysis ran

    @property
    def unexplained(self) -> int:
        return sum(p.unexplained for p in self.peers)

    @property
    def failed(self) -> int:
        """Peers that raised unexpectedly (not installed: skipped; predicted: raised)."""
        return sum(p.status == "failed" for p in self.peers)

    def peer(self, name: str) -> PeerResult:
        for p in self.peers:
            if p.peer == name:
                return p
        raise KeyError(name)

    def to_dict(self, layers: bool = False) -> dict[str, Any]:
        return {"model": self.model, "input": list(self.input),
                "inputs": [dict(i) for i in self.inputs], "analysed_on": self.device,
                "madds": self.madds, "params": self.params, "unexplained": self.unexplained,
                "failed": self.failed, "peers": [p.to_dict(layers) for p in self.peers]}


# --- comparison ---------------------------------------------------------------------------------


def _value(pred: Prediction, adapter: Adapter) -> Number:
    if adapter.truncate or pred.value.denominator == 1:
        return int(pred.value)  # ptflops truncates its fractional per-sample figure
    return pred.value


def _rules(pred: Prediction) -> dict[str, Number]:
    return {k: (int(v) if v.denominator == 1 else v) for k, v in pred.by_rule.items() if v}


def _compare(metric: str, reported: Number, pred: Prediction, adapter: Adapter,
             scope: str | None = None, module: str = "") -> Comparison:
    return Comparison(metric, reported, _value(pred, adapter), scope, module, _rules(pred),
                      pred.madds if scope is None else None)


def _layer_comparisons(adapter: Adapter, reported: dict[str, Number], pred: Prediction,
                       modules: dict[str, str], skip: set[str]) -> list[Comparison]:
    out = []
    scopes = {s for s, v in pred.by_scope.items() if v} | set(reported)
    for scope in sorted(scopes, key=_scope_order(modules)):
        if scope in skip:
            continue
        here = pred.at(scope)
        value = reported.get(scope, 0)
        if value == 0 and here.value == 0:
            continue
        out.append(Comparison(adapter.metric, value, _value(here, adapter), scope,
                              modules.get(scope, ""), _rules(here),
                              pred.scope_madds.get(scope)))
    return out


def _scope_order(modules: dict[str, str]) -> Any:
    order = {name: i for i, name in enumerate(modules)}
    return lambda s: (order.get(s, len(order)), s)


def _shared_scopes(ctx: Context) -> set[str]:
    """Scopes whose per-layer figures depend on a peer's naming of shared modules: every
    shared module's subtree and every ancestor of any name it has."""
    out: set[str] = set()
    for alias, canonical in ctx.aliases.items():
        for name in (alias, canonical):
            out |= {s for s in ctx.modules if s == canonical or s.startswith(canonical + ".")}
            parts = name.split(".")
            for i in range(len(parts)):
                prefix = ".".join(parts[:i])
                out.add(ctx.aliases.get(prefix, prefix))
    return out


def _check_real(real: RealRun, analysis: Analysis, ctx: Context,
                modules: dict[str, str]) -> PeerResult:
    adapter = ADAPTERS["real"]
    pred = predict(adapter, analysis.rows, ctx)
    res = PeerResult("real", adapter.tool, "ok", version_of("torch"), adapter.verified)
    res.totals.append(_compare("madds", real.total_madds, pred, adapter))
    res.totals.append(Comparison("params", real.params, analysis.evaluation.params_total))
    res.layers = _layer_comparisons(adapter, dict(real.madds), pred, modules, set())
    # the capture records every module call's outputs: the first tensor of each call
    analytic = {(c.scope, c.call): c.outputs[0] for c in analysis.module_calls if c.outputs}
    for scope, call, shape in real.outputs:
        want = analytic.get((scope, call))
        if want is None or any(scope != f and in_scope(scope, f) for f in pred.fused):
            continue  # a module that returned no tensor, or one a fused kernel skipped
        res.layers.append(Comparison("out_shape", "x".join(map(str, shape)),
                                     "x".join(map(str, want)), scope, modules.get(scope, "")))
    return res


def _extra_checks(peer: str, run: PeerRun, analysis: Analysis, ctx: Context,
                  pred: Prediction) -> list[Comparison]:
    if "params" not in run.extra:
        return []
    params = analysis.evaluation.params_total
    if peer.startswith("ptflops"):
        root = ctx.modules.get("")
        trainable = sum(p.numel for p in root.params if p.trainable) if root is not None else 0
        rules: dict[str, Number] = ({"ptflops-trainable-params": trainable - params}
                                    if trainable != params else {})
        return [Comparison("params", run.extra["params"], trainable, rules=rules)]
    if peer != "torchinfo":
        return [Comparison("params", run.extra["params"], params)]
    items = torchinfo_totals.layers(ctx, fused_calls(ctx, pred.fused)[1])
    listed = torchinfo_totals.total_params(items)
    out = [Comparison("params", run.extra["params"], listed,
                      rules={"torchinfo-params-per-module": listed - params}
                      if listed != params else {})]
    if "output_bytes" in run.extra:
        both = torchinfo_totals.total_output_bytes(ctx, items)
        out.append(Comparison("output_bytes", run.extra["output_bytes"], both,
                              rules={"torchinfo-output-bytes-x2": both // 2}))
    if "param_bytes" in run.extra:
        every = sum(p.numel * p.itemsize for p in ctx.modules[""].params)
        leaf = torchinfo_totals.total_param_bytes(items)
        out.append(Comparison("param_bytes", run.extra["param_bytes"], leaf,
                              rules={"torchinfo-param-bytes-leaf-only": leaf - every}
                              if leaf != every else {}))
    return out


def _check_peer(peer: str, run: PeerRun, analysis: Analysis, ctx: Context,
                modules: dict[str, str]) -> PeerResult:
    adapter = ADAPTERS[peer]
    pred = predict(adapter, analysis.rows, ctx, run.batch)
    res = PeerResult(peer, adapter.tool, "ok", run.version, adapter.verified)
    if pred.fails is not None:
        res.totals.append(Comparison("runs", "ok", "raises", rules={pred.fails.rule: 0}))
        return res
    res.totals.append(_compare(adapter.metric, run.count, pred, adapter))
    res.totals.extend(_extra_checks(peer, run, analysis, ctx, pred))
    if run.layers is not None:
        skip = _shared_scopes(ctx) if peer == "torch-flopcounter" and ctx.aliases else set()
        res.layers = _layer_comparisons(adapter, run.layers, pred, modules, skip)
        res.layers_skipped = len(skip & (set(run.layers) | set(pred.by_scope)))
    return res


def check_peer_names(peers: Iterable[str]) -> None:
    """Refuse a peer name that is not one of :data:`PEERS`."""
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        raise InvalidArgumentError(f"unknown peer {unknown[0]!r}; choose from "
                                   f"{', '.join(PEERS)}")


# --- inputs -------------------------------------------------------------------------------------


def _describe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    out = []
    for name, value in [*((f"arg{i}", a) for i, a in enumerate(args)), *kwargs.items()]:
        for t in pytree.tree_leaves(value):
            if isinstance(t, torch.Tensor):
                out.append({"name": name, "shape": list(t.shape),
                            "dtype": str(t.dtype).removeprefix("torch.")})
    return tuple(out)


def _resolve(model: nn.Module | str | Resolved, input_size: Any, inputs: Any,
             kwargs: dict[str, Any] | None,
             name: str | None) -> tuple[nn.Module, tuple[Any, ...], dict[str, Any], str]:
    resolved = resolve(model, "cpu", name)
    if inputs is not None:
        args = inputs if isinstance(inputs, tuple) else (inputs,)
    elif input_size is not None:
        args = make_inputs(input_size, None, "cpu", torch.float32)
    elif kwargs:
        args = ()
    else:
        if resolved.default_input is None:
            raise InvalidArgumentError("give the input size, e.g. crosscheck(model, "
                                       "(1, 3, 224, 224)), or example inputs=")
        args = make_inputs(resolved.input_sizes()[0], None, "cpu", torch.float32)
    return resolved.module, args, dict(kwargs or {}), resolved.name


def crosscheck(
    model: nn.Module | str | Resolved,
    input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    inputs: Any = None,
    kwargs: dict[str, Any] | None = None,
    peers: Iterable[str] | None = None,
    name: str | None = None,
    threads: int | None = 1,
    progress: Callable[[str, int, int], None] | None = None,
) -> CrossCheck:
    """Check ``model`` against the real run and the peers (all of :data:`PEERS` unless ``peers``
    names some), on the same inputs as :func:`convcost.analyze`: ``input_size`` (one shape,
    batch first, or a list of shapes, one per positional input; a
    :class:`convcost.specs.InputShape` may carry an integer dtype for token ids), or example
    ``inputs=`` (a tensor or a tuple of positional inputs) and keyword ``kwargs=``.

    Every peer runs on its own deep copy of the model and of the inputs, in eval mode, under
    ``torch.no_grad()``, on CPU; the model passed in is never touched. ``threads``: intra-op
    threads for those runs (restored afterwards; None keeps the current setting). One thread
    is the default: the counts do not depend on it, and on a loaded machine torch's spinning
    OpenMP workers make a two-thread forward pass 30× slower. ``progress(label, done,
    total)`` is called before each step: convcost's analysis, the recorded runs, each peer.
    """
    wanted = list(PEERS if peers is None else peers)
    check_peer_names(wanted)
    module, args, kw, label = _resolve(model, input_size, inputs, kwargs, name)
    if any(p.is_meta for p in module.parameters()) or any(b.is_meta for b in module.buffers()):
        raise InvalidArgumentError("crosscheck runs the model for real: build it on cpu, not on "
                                   "the meta device")
    if any(t.is_meta for t in pytree.tree_leaves((args, kw)) if isinstance(t, torch.Tensor)):
        raise InvalidArgumentError("crosscheck runs the model for real: give inputs on cpu, "
                                   "not on the meta device")
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        # a forward that draws random numbers draws them from a fork: the caller's RNG stays
        with torch.random.fork_rng(devices=[]):
            step = progress or (lambda _label, _done, _total: None)
            total = len(wanted) + 2
            step(f"{label}: convcost", 0, total)
            analysis = _analyze(module, args, kw, label)
            modules = dict(analysis.evaluation.modules)
            results = _run_peers(wanted, module, args, kw, analysis, modules,
                                 lambda peer, k: step(f"{label}: {peer}", k + 2, total))
    finally:
        torch.set_num_threads(before)
    t = analysis.totals
    described = _describe(args, kw)
    first = tuple(described[0]["shape"]) if described else ()
    return CrossCheck(label, first, t.madds, t.params, results, described, analysis.device)


def _analyze(module: nn.Module, args: tuple[Any, ...], kw: dict[str, Any],
             label: str) -> Analysis:
    """convcost's own analysis, on the CPU: the kernels the peers run (on meta a few ops
    decompose otherwise: nn.RNN's first input projection is one mm on the CPU, addmm per step
    on meta), the same control flow and inputs that hold real tensors (a KV cache). On meta
    when the CPU run cannot be captured."""
    from convcost import api

    try:
        return api.analyze(module, inputs=copy.deepcopy(args), kwargs=copy.deepcopy(kw),
                           name=label, device="cpu")
    except ConvcostError:
        return api.analyze(module, inputs=copy.deepcopy(args), kwargs=copy.deepcopy(kw),
                           name=label)


def copy_model(module: nn.Module) -> nn.Module:
    """A deep copy of ``module``, in eval mode. Tensors computed from parameters and stored on
    a module (``torch.nn.utils.weight_norm``'s ``weight``, recomputed before every forward)
    cannot be deep-copied: they are copied detached."""
    memo: dict[int, Any] = {}
    for m in module.modules():
        for value in vars(m).values():
            if isinstance(value, torch.Tensor) and not value.is_leaf:
                memo[id(value)] = value.detach().clone()
    return copy.deepcopy(module, memo).to("cpu").eval()


def _fresh(module: nn.Module, args: tuple[Any, ...],
           kw: dict[str, Any]) -> tuple[nn.Module, tuple[Any, ...], dict[str, Any]]:
    return copy_model(module), copy.deepcopy(args), copy.deepcopy(kw)


def _run_peers(wanted: list[str], module: nn.Module, args: tuple[Any, ...],
               kw: dict[str, Any], analysis: Analysis, modules: dict[str, str],
               step: Callable[[str, int], None]) -> list[PeerResult]:
    results: list[PeerResult] = []
    step("recorded runs", -1)
    with torch.no_grad(), quiet():  # the model's own prints and warnings, once per run: none
        work, a, k = _fresh(module, args, kw)
        real = run_real(work, a, k)
        work, a, k = _fresh(module, args, kw)
        ctx = observe(work, a, k)
    ctx.fused = real.fused
    for n, peer in enumerate(wanted):
        step(peer, n)
        adapter = ADAPTERS[peer]
        if peer == "real":
            results.append(_check_real(real, analysis, ctx, modules))
            continue
        work, a, k = _fresh(module, args, kw)
        try:
            with torch.no_grad():
                run = RUNNERS[peer](work, a, k)
            results.append(_check_peer(peer, run, analysis, ctx, modules))
        except PeerMissing as exc:
            results.append(PeerResult(peer, adapter.tool, "skipped", hint=str(exc),
                                      verified=adapter.verified, message=str(exc)))
        except Exception as exc:  # a peer's own failure is data, not a crash
            results.append(_failure(peer, adapter, exc, analysis, ctx, a, k))
    return results


def _failure(peer: str, adapter: Adapter, exc: Exception, analysis: Analysis, ctx: Context,
             args: tuple[Any, ...], kw: dict[str, Any]) -> PeerResult:
    first = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    pred = predict(adapter, analysis.rows, ctx, ptflops_batch(args, kw))
    res = PeerResult(peer, adapter.tool, "failed", version_of(adapter.package),
                     adapter.verified, message=first)
    if pred.fails is not None:
        res.status = "raised"
        res.message = f"{first} (as predicted: {pred.fails.rule})"
        res.totals.append(Comparison("runs", "raises", "raises", rules={pred.fails.rule: 0}))
    return res


__all__ = ["PEERS", "Comparison", "CrossCheck", "PeerResult", "WouldFail", "check_peer_names",
           "crosscheck", "plain", "tracker_names"]
