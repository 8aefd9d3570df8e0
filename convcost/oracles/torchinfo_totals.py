"""torchinfo's totals other than mult-adds (``total_params``, ``total_param_bytes``,
``total_output_bytes``), from what was observed of the model (pure Python).

``torchinfo.summary`` lists one ``LayerInfo`` per module call (its forward pre-hook), marks a
module's second and later calls *recursive*, inserts the containers that were never called
themselves (``add_missing_container_layers``), and then (``ModelStatistics``):

* ``total_params`` = Σ non-recursive leaf layers' parameters + Σ non-recursive containers'
  ``max(leftover, 0)``, where ``leftover`` = the container's parameters (its
  ``named_parameters()``, descendants included) − Σ over the layers listed after it at a deeper
  depth (leaf: its parameters; container: its leftover). A weight tied between two modules is
  counted once per module.
* ``total_param_bytes`` = Σ non-recursive *leaf* layers' parameter bytes: parameters a module
  with children owns itself are left out.
* ``total_output_bytes`` = Σ over leaf layer calls with parameters of 2 × their output bytes.

A module's depth and parent are those of the last path that reaches it in a depth-first walk
(``apply_hooks`` registers the hooks of a shared module again for each path, the last one
winning). A container that is never called is inserted as one and the same ``LayerInfo``
object wherever its children appear, so once it is inserted twice every place is recursive
and its leftover never counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from convcost.oracles.context import Context, ModuleCall
from convcost.oracles.quantities import ti_output_bytes


@dataclass
class _Layer:
    scope: str
    depth: int
    leaf: bool
    params: int
    param_bytes: int
    recursive: bool
    call: ModuleCall | None = None


def _static(ctx: Context) -> tuple[dict[str, int], dict[str, str | None]]:
    """Depth and parent of every module, by the last path that reaches it."""
    depth: dict[str, int] = {"": 0}
    parent: dict[str, str | None] = {"": None}

    def walk(scope: str, path: str) -> None:
        info = ctx.modules[scope]
        for child in info.children:
            name = child.rpartition(".")[2] if child else child
            sub = f"{path}.{name}" if path else name
            depth[child] = sub.count(".") + 1
            parent[child] = scope
            walk(child, sub)

    if "" in ctx.modules:
        walk("", "")
    return depth, parent


def layers(ctx: Context, calls: list[ModuleCall]) -> list[_Layer]:
    """torchinfo's summary_list for these module calls (pre-order), containers inserted."""
    depth, parent = _static(ctx)
    seen: set[str] = set()
    listed: list[_Layer] = []
    for mc in sorted(calls, key=lambda m: m.id):
        info = ctx.modules[mc.scope]
        listed.append(_Layer(mc.scope, depth.get(mc.scope, 0), info.leaf,
                             sum(p.numel for p in info.params),
                             sum(p.numel * p.itemsize for p in info.params),
                             mc.scope in seen, mc))
        seen.add(mc.scope)
    # add_missing_container_layers: ancestors never called themselves
    out: list[_Layer] = []
    current: dict[int, str] = {}
    ids = set(seen)
    for layer in listed:
        chain: dict[int, str] = {}
        p = parent.get(layer.scope)
        while p is not None and depth.get(p, 0) > 0:
            chain[depth[p]] = p
            p = parent.get(p)
        for d in range(1, layer.depth):
            want = chain.get(d)
            if want is None:
                continue
            if current.get(d) != want and not (out and out[-1].scope == want):
                info = ctx.modules[want]
                out.append(_Layer(want, d, info.leaf, sum(q.numel for q in info.params),
                                  sum(q.numel * q.itemsize for q in info.params),
                                  want in ids))
                ids.add(want)
                current[d] = want
        out.append(layer)
        current[layer.depth] = layer.scope
        for deeper in [k for k in current if k > layer.depth]:
            del current[deeper]
    # an inserted container is one LayerInfo object, listed once per place it is inserted:
    # marked recursive when inserted again, it is recursive at every place
    inserted = Counter(layer.scope for layer in out if layer.call is None)
    for layer in out:
        if layer.call is None and inserted[layer.scope] > 1:
            layer.recursive = True
    return out


def _leftover(items: list[_Layer], i: int, memo: dict[int, int]) -> int:
    if i in memo:
        return memo[i]
    me = items[i]
    total = me.params
    j = i + 1
    while j < len(items) and items[j].depth > me.depth:
        child = items[j]
        if not child.recursive:
            total -= child.params if child.leaf else _leftover(items, j, memo)
        j += 1
    memo[i] = total
    return total


def total_params(items: list[_Layer]) -> int:
    total = 0
    memo: dict[int, int] = {}
    for i, layer in enumerate(items):
        if layer.recursive:
            continue
        total += layer.params if layer.leaf else max(_leftover(items, i, memo), 0)
    return total


def total_param_bytes(items: list[_Layer]) -> int:
    return sum(layer.param_bytes for layer in items if layer.leaf and not layer.recursive)


def total_output_bytes(ctx: Context, items: list[_Layer]) -> int:
    total = 0
    for layer in items:
        if layer.leaf and layer.params > 0 and layer.call is not None:
            total += 2 * ti_output_bytes(layer.call, ctx.modules[layer.scope])
    return total


__all__ = ["layers", "total_output_bytes", "total_param_bytes", "total_params"]
