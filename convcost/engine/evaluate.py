"""Nodes to cost rows, and the roll-ups by op and by module (pure Python).

Parameters are attributed to the first op that reads them (tied or shared weights count
once; a module called twice owns its weights on its first call). Parameters that no op read
get one ``unused_params`` row per owning module, so rows always add up to the model's
unique parameter count.

An op that only copies a parameter for another op (:data:`FORWARDING`: ``F.instance_norm``
repeats its weight and bias once per sample, then runs ``batch_norm`` on the copies) passes it
on: the parameter belongs to the next op of the same module call that reads a tensor of the
copy's shape (the ``batch_norm``, as for a BatchNorm), and to the copy itself when none does.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from convcost.engine.counters import REGISTRY
from convcost.engine.registry import UNUSED_PARAMS, Counted, Registry
from convcost.formulas import Cost
from convcost.graph import FORWARD, Node, Shape, TensorInfo

FORWARDING = frozenset({"repeat"})
"""Labels of ops whose parameter operands are passed on to the op that reads their output."""


@dataclass(frozen=True, slots=True)
class Row:
    """One costed op, in execution order."""

    index: int
    name: str  # module scope ("" = the root module)
    module: str  # class of that module
    op: str  # label: conv2d, batch_norm, relu, add, cat, copy, ...
    aten: str  # the recorded op key
    call: int
    in_shapes: tuple[Shape, ...]
    out_shape: Shape
    conv_kind: str | None
    cost: Cost
    kernel: tuple[int, ...] | None = None  # convs only
    groups: int | None = None  # convs only
    phase: str = FORWARD  # or BACKWARD: an op of loss.backward() (analyze(..., backward=True))

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {
            "name": self.name,
            "module": self.module,
            "op": self.op,
            "in_shapes": [list(s) for s in self.in_shapes],
            "out_shape": list(self.out_shape),
            **self.cost.as_dict(),
        }
        if self.conv_kind is not None:
            d["conv_kind"] = self.conv_kind
            d["kernel"] = list(self.kernel or ())
            d["groups"] = self.groups
        if self.call > 1:
            d["call"] = self.call
        if self.phase != FORWARD:
            d["phase"] = self.phase
        return d


@dataclass(frozen=True)
class Evaluation:
    """The engine's answer for one recorded graph."""

    rows: tuple[Row, ...]
    unsupported: dict[str, int]  # op -> count, never silently zero
    unsupported_scopes: dict[str, list[str]]  # op -> module scopes where it ran
    free: dict[str, int]  # view / metadata ops seen (cost nothing by rule)
    params_total: int  # unique parameters of the model
    modules: dict[str, str] = field(default_factory=dict)  # scope -> class, in call order

    @property
    def totals(self) -> Cost:
        return sum((r.cost for r in self.rows), Cost())


def evaluate(
    nodes: Iterable[Node],
    params: Mapping[str, int],
    modules: Mapping[str, str] | None = None,
    registry: Registry = REGISTRY,
    counted: Mapping[int, Counted] | None = None,
) -> Evaluation:
    """Cost every node; ``params`` maps each unique parameter name to its numel.

    ``registry``: the default one, or one extended with a user's counters (the capture must
    have used the same). ``counted`` holds answers the capture already got from it (by node
    index), so no op is counted twice.
    """
    done = counted or {}
    rows: list[Row] = []
    unsupported: Tally[str] = Tally()
    where: dict[str, list[str]] = {}
    free: Tally[str] = Tally()
    seen: set[str] = set()
    # (scope, call) -> [(shape of a forwarded copy, its parameters' numel, the copy's row)]
    passed: dict[tuple[str, int], list[tuple[Shape, int, int]]] = {}
    for node in nodes:
        counter = registry.lookup(node.op)
        if counter is None:
            unsupported[node.op] += 1
            scopes = where.setdefault(node.op, [])
            if node.scope not in scopes:
                scopes.append(node.scope)
            continue
        if isinstance(counter, str):
            free[node.op] += 1
            continue
        answer = done.get(node.index) or counter(node)
        owned = 0
        for t in node.tensors():
            if t.param is not None and t.param not in seen:
                seen.add(t.param)
                owned += t.param_numel
        call = (node.scope, node.call)
        if call in passed:
            owned += _take_forwarded(passed, call, node.tensors())
        if owned and answer.label in FORWARDING:
            passed.setdefault(call, []).append((node.out_shape, owned, len(rows)))
            owned = 0
        c = answer.cost
        rows.append(
            Row(
                index=len(rows),
                name=node.scope,
                module=node.module,
                op=answer.label,
                aten=node.op,
                call=node.call,
                in_shapes=tuple(t.shape for t in node.tensors() if t.param is None),
                out_shape=c.out_shape or node.out_shape,
                conv_kind=answer.conv_kind,
                cost=Cost(owned, c.madds, c.flops, c.mem_read_bytes, c.mem_write_bytes),
                kernel=answer.kernel,
                groups=answer.groups,
                phase=node.phase,
            )
        )
    for pending in passed.values():  # no op read the copies: the copying op owns them
        for _, numel, i in pending:
            rows[i] = replace(rows[i], cost=rows[i].cost + Cost(params=numel))
    mods = dict(modules or {})
    unused: dict[str, int] = {}
    for name, numel in params.items():
        if name not in seen:
            owner = name.rpartition(".")[0]
            unused[owner] = unused.get(owner, 0) + numel
    for owner, numel in unused.items():
        rows.append(Row(len(rows), owner, mods.get(owner, ""), UNUSED_PARAMS, "", 1, (), (),
                        None, Cost(params=numel)))
    return Evaluation(
        rows=tuple(rows),
        unsupported=dict(unsupported),
        unsupported_scopes=where,
        free=dict(free),
        params_total=sum(params.values()),
        modules=mods,
    )


def _take_forwarded(passed: dict[tuple[str, int], list[tuple[Shape, int, int]]],
                    call: tuple[str, int], tensors: Iterable[TensorInfo]) -> int:
    """The parameters forwarded in module ``call`` to copies of the shapes of ``tensors``
    (those that are not parameters themselves), taken out of ``passed``."""
    pending = passed[call]
    taken = 0
    for t in tensors:
        if t.param is not None:
            continue
        for j, (shape, numel, _) in enumerate(pending):
            if shape == t.shape:
                taken += numel
                del pending[j]
                break
    if not pending:
        del passed[call]
    return taken


# --- roll-ups -----------------------------------------------------------------------------------


def by_op(rows: Sequence[Row]) -> dict[str, Cost]:
    """Cost per op label, in order of first appearance."""
    out: dict[str, Cost] = {}
    for r in rows:
        out[r.op] = out.get(r.op, Cost()) + r.cost
    return out


def by_phase(rows: Sequence[Row]) -> dict[str, Cost]:
    """Cost per phase (``forward``, and ``backward`` for a training step), forward first."""
    out: dict[str, Cost] = {FORWARD: Cost()}
    for r in rows:
        out[r.phase] = out.get(r.phase, Cost()) + r.cost
    return out


def by_conv_kind(rows: Sequence[Row]) -> dict[str, Cost]:
    """Cost per conv kind (standard, grouped, depthwise, pointwise, transposed)."""
    out: dict[str, Cost] = {}
    for r in rows:
        if r.conv_kind is not None:
            out[r.conv_kind] = out.get(r.conv_kind, Cost()) + r.cost
    return out


@dataclass(frozen=True, slots=True)
class ModuleCost:
    """A module's cost: the sum of every op that ran inside it (its children included)."""

    name: str
    module: str
    depth: int
    cost: Cost
    ops: int


def _ancestors(scope: str, depth: int | None) -> list[str]:
    parts = scope.split(".") if scope else []
    limit = len(parts) if depth is None else min(depth, len(parts))
    return ["", *(".".join(parts[: i + 1]) for i in range(limit))]


def by_module(rows: Sequence[Row], depth: int | None = 1,
              modules: Mapping[str, str] | None = None) -> list[ModuleCost]:
    """Roll rows up into modules down to ``depth`` (0 = the root only, None = every level).

    Each row counts towards every enclosing module up to that depth, so a container equals
    the sum of its children plus the ops it runs itself; the root equals the total.
    """
    mods = modules or {}
    costs: dict[str, Cost] = {"": Cost()}  # the root is always there, even with no rows
    counts: dict[str, int] = {"": 0}
    for r in rows:
        for name in _ancestors(r.name, depth):
            costs[name] = costs.get(name, Cost()) + r.cost
            counts[name] = counts.get(name, 0) + 1
    order = {name: i for i, name in enumerate(mods)}
    names = sorted(costs, key=lambda n: (order.get(n, len(order)), n))
    return [
        ModuleCost(name, mods.get(name, ""), name.count(".") + 1 if name else 0, costs[name],
                   counts[name])
        for name in names
    ]


__all__ = ["FORWARDING", "Evaluation", "ModuleCost", "Row", "by_conv_kind", "by_module", "by_op",
           "by_phase", "evaluate"]
