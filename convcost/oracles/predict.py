"""A peer's predicted figure: convcost's rows plus each rule's contribution, by the peer's
adapter (:mod:`convcost.oracles.conventions`), on what was observed of the model
(:class:`convcost.oracles.context.Context`). Pure Python.

Fast paths: a peer that runs the model with no ``TorchFunctionMode`` sees the fused kernels the
CPU runs (``nn.MultiheadAttention``'s ``_native_multi_head_attention``,
``nn.TransformerEncoderLayer``'s ``_transformer_encoder_layer_fwd``; the latter only where
the peer hooks no module of the layer, since a per-module hook turns it off). For such a peer
the rows and calls inside a fused scope are replaced by the kernels it ran
(:func:`fused_scopes`), their multiply-adds kept (convcost's, whatever op ran them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction

from convcost.engine import Row
from convcost.formulas import Cost
from convcost.oracles.context import AtenOp, Call, Context, ModuleCall
from convcost.oracles.conventions import Adapter, Hook
from convcost.oracles.quantities import CALL, FAILS, MODULE, ROW, WouldFail


@dataclass
class Prediction:
    """What a peer should report: the value, its decomposition, and where it falls."""

    value: Fraction
    madds: int  # convcost's own multiply-adds behind the prediction
    by_rule: dict[str, Fraction]  # rule id -> contribution (value = madds + Σ)
    by_scope: dict[str, Fraction] = field(default_factory=dict)
    scope_rules: dict[str, dict[str, Fraction]] = field(default_factory=dict)
    fails: WouldFail | None = None  # the peer raises on this model, by this rule
    scope_madds: dict[str, int] = field(default_factory=dict)  # convcost's madds per scope
    fused: dict[str, list[AtenOp]] = field(default_factory=dict)  # fused_scopes of the peer

    def add(self, scope: str, value: Fraction | int, rule: str | None) -> None:
        if not value:
            return
        v = Fraction(value)
        self.value += v
        self.by_scope[scope] = self.by_scope.get(scope, Fraction(0)) + v
        if rule is not None:
            self.by_rule[rule] = self.by_rule.get(rule, Fraction(0)) + v
            per = self.scope_rules.setdefault(scope, {})
            per[rule] = per.get(rule, Fraction(0)) + v

    def at(self, scope: str) -> Prediction:
        """The part of the prediction that falls at one module scope."""
        rules = {k: v for k, v in self.scope_rules.get(scope, {}).items() if v}
        return Prediction(self.by_scope.get(scope, Fraction(0)), 0, rules)


def in_scope(scope: str, root: str) -> bool:
    """Whether ``scope`` is ``root`` or below it (everything is below the root ``""``)."""
    return root == "" or scope == root or scope.startswith(root + ".")


def _subtree_hooked(adapter: Adapter, ctx: Context, scope: str) -> bool:
    """Whether the peer puts a per-module hook on ``scope`` or a module below it (a hook there
    turns nn.TransformerEncoderLayer's fast path off)."""
    if adapter.hooks_modules == "all":
        return True
    if adapter.hooks_modules == "none":
        return False
    inside = [i for s, i in ctx.modules.items() if in_scope(s, scope)]
    if adapter.hooks_modules == "root-children":
        return any(i.scope != "" and "." not in i.scope for i in inside) or scope == ""
    return scope == "" or any(adapter.module_hook(i) is not None for i in inside)


def fused_scopes(adapter: Adapter, ctx: Context) -> dict[str, list[AtenOp]]:
    """The fused kernels this peer's run executes, by scope (the real run's, adjusted for how
    the peer runs the model)."""
    if adapter.function_mode:
        return {}
    out: dict[str, list[AtenOp]] = {}
    for scope, kernels in ctx.fused.items():
        for k in kernels:
            if k.op == "aten._transformer_encoder_layer_fwd" and _subtree_hooked(
                    adapter, ctx, scope):
                # the layer runs op by op, and its self-attention takes MHA's own fast path
                sub = f"{scope}.self_attn" if scope else "self_attn"
                info = ctx.modules.get(sub)
                if info is not None and info.isa("MultiheadAttention"):
                    madds = sum(c.madds for c in ctx.calls if in_scope(c.scope, sub))
                    out.setdefault(sub, []).append(
                        AtenOp("aten._native_multi_head_attention", (), None, madds))
                continue
            if (k.op == "aten._native_multi_head_attention" and adapter.inputs_split
                    and scope == ""):
                continue  # traced inputs are distinct values: `query is key` fails
            out.setdefault(scope, []).append(k)
    return out


def _fused_rows(rows: list[Row], fused: dict[str, list[AtenOp]]) -> list[Row]:
    """Rows as this peer's run executed them: every fused scope's rows become its kernels."""
    if not fused:
        return rows
    # each fused scope's rows, gathered at the place of its first row
    order: list[Row | str] = []
    groups: dict[str, list[Row]] = {}
    for row in rows:
        owner = next((s for s in fused if in_scope(row.name, s)), None)
        if owner is None:
            order.append(row)
        elif owner in groups:
            groups[owner].append(row)
        else:
            groups[owner] = [row]
            order.append(owner)
    result: list[Row] = []
    for item in order:
        if not isinstance(item, str):
            result.append(item)
            continue
        group = groups[item]
        total = sum((r.cost for r in group), Cost())
        kernels = fused[item]
        measured = sum(k.madds for k in kernels) or 1
        left = total.madds
        for i, k in enumerate(kernels):
            share = left if i == len(kernels) - 1 else total.madds * k.madds // measured
            left -= share
            label = ("multi_head_attention" if "multi_head" in k.op
                     else "transformer_encoder_layer")
            cost = replace(total, madds=share) if i == 0 else Cost(madds=share)
            result.append(replace(group[0], name=item, op=label, aten=k.op, cost=cost,
                                  conv_kind=None, kernel=None, groups=None))
    return result


def fused_calls(ctx: Context, fused: dict[str, list[AtenOp]]) -> tuple[list[Call],
                                                                        list[ModuleCall]]:
    if not fused:
        return ctx.calls, ctx.module_calls
    calls = [c for c in ctx.calls if not any(in_scope(c.scope, s) for s in fused)]
    mcalls = [m for m in ctx.module_calls
              if not any(m.scope != s and in_scope(m.scope, s) for s in fused)]
    by_id = {m.id: m for m in ctx.module_calls}
    for scope, kernels in fused.items():
        owners = [m for m in ctx.module_calls if m.scope == scope]
        for i, k in enumerate(kernels):
            mc = owners[min(i, len(owners) - 1)] if owners else None
            within: list[int] = []
            node = mc
            while node is not None:
                within.insert(0, node.id)
                node = by_id.get(node.parent) if node.parent is not None else None
            name = "torch._native_multi_head_attention" if "multi_head" in k.op else \
                "torch._transformer_encoder_layer_fwd"
            calls.append(Call(name, scope, (), {}, None, (k,), within=tuple(within)))
    return calls, mcalls


def predict(adapter: Adapter, rows: Iterable[Row], ctx: Context | None = None,
            batch: int = 1) -> Prediction:
    """What ``adapter``'s peer reports for ``rows`` (convcost's) on the model ``ctx`` describes
    (exact: fractions only for per-sample terms). ``batch``: the peer's own batch divisor."""
    ctx = ctx if ctx is not None else Context()
    fused = fused_scopes(adapter, ctx)
    pred = Prediction(Fraction(0), 0, {}, fused=fused)
    for cond, rule in adapter.fails_if:
        if FAILS[cond](ctx):
            pred.fails = WouldFail(rule)
            return pred
    try:
        _predict_rows(adapter, _fused_rows(list(rows), fused), ctx, pred)
        if adapter.calls or adapter.modules or adapter.call_default is not None:
            calls, mcalls = fused_calls(ctx, fused)
            _predict_hooks(adapter, calls, mcalls, ctx, batch, pred)
    except WouldFail as exc:
        pred.fails = exc
    return pred


def _predict_rows(adapter: Adapter, rows: list[Row], ctx: Context, pred: Prediction) -> None:
    for row in rows:
        pred.madds += row.cost.madds
        if row.cost.madds:
            pred.scope_madds[row.name] = pred.scope_madds.get(row.name, 0) + row.cost.madds
        info = ctx.module(row.name)
        for t in adapter.row_terms(row, info):
            pred.add(row.name, Fraction(t.coef * ROW[t.quantity](row, ctx)), t.rule)


def _predict_hooks(adapter: Adapter, calls: list[Call], mcalls: list[ModuleCall],
                   ctx: Context, batch: int, pred: Prediction) -> None:
    hooked: dict[int, tuple[ModuleCall, Hook]] = {}
    for mc in mcalls:
        hook = adapter.module_hook(ctx.modules.get(mc.scope))
        if hook is not None:
            hooked[mc.id] = (mc, hook)
    owned: dict[int, int] = {}
    for c in calls:
        key = f"{c.fn}@operator" if c.operator else c.fn
        if adapter.patches_attributes and not c.by_attribute and not c.operator:
            key = f"{c.fn}@reference"  # a patched attribute does not reach a stored reference
        hook = adapter.calls.get("autograd.Function") if c.in_function else None
        if hook is None and not c.live:
            hook = adapter.calls.get("dead")
        hook = hook or adapter.calls.get(key)
        module = next((i for i in reversed(c.within) if i in hooked), None)
        if hook is not None and not (adapter.module_hides_calls and module is not None):
            _charge(pred, hook, c.madds, CALL, (c, ctx), "" if hook.at_root else c.scope,
                    c.scope, Fraction(1), None)
        elif module is not None:
            owned[module] = owned.get(module, 0) + c.madds
            if c.madds:
                pred.add(c.scope, -c.madds, None)  # the module's hook counts them instead
        elif adapter.call_default is not None:
            _charge(pred, adapter.call_default, c.madds, CALL, (c, ctx), c.scope, c.scope,
                    Fraction(1), None)
        elif c.madds:
            pred.add(c.scope, -c.madds, adapter.unseen_rule)
    for mc, hook in hooked.values():
        info = ctx.modules[mc.scope]
        scale = Fraction(1, batch) if hook.per_sample else Fraction(1)
        mine = owned.get(mc.id, 0)
        pred.add(mc.scope, mine, None)  # given back: the hook's own count replaces them
        before = pred.value
        _charge(pred, hook, mine, MODULE, (mc, info, ctx), mc.scope, mc.scope, scale,
                adapter.per_sample_rule)
        paths = ctx.paths(mc.scope) if adapter.per_path_rule else 1
        if paths > 1:
            pred.add(mc.scope, (pred.value - before + mine) * (paths - 1),
                     adapter.per_path_rule)


def _charge(pred: Prediction, hook: Hook, madds: int, table: Mapping[str, object],
            args: tuple[object, ...], scope: str, own_scope: str, scale: Fraction,
            per_sample_rule: str | None) -> None:
    """A hook's count: its products replace ``madds`` (convcost's, at ``own_scope``), the
    difference to its rule; its extras to theirs; everything × ``scale``."""
    products = Fraction(table[hook.products](*args))  # type: ignore[operator]
    pred.add(own_scope, -madds, None)
    pred.add(scope, madds, None)
    pred.add(scope, (products - madds) * scale, hook.rule)
    if scale != 1:
        pred.add(scope, madds * (scale - 1), per_sample_rule)
    for e in hook.extra:
        pred.add(scope, e.coef * Fraction(table[e.quantity](*args)) * scale,  # type: ignore[operator]
                 e.rule)


__all__ = ["Prediction", "fused_calls", "fused_scopes", "in_scope", "predict"]
