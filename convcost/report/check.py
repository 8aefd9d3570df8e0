"""``convcost check``'s table and JSON: each peer's figures beside convcost's prediction."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from convcost.records.exact import plain
from convcost.report.tables import Table
from convcost.report.units import shape_text

if TYPE_CHECKING:
    from convcost.oracles.check import CrossCheck


def _num(x: Any) -> str:
    if isinstance(x, Fraction):
        return f"{float(x):,.2f}" if x.denominator != 1 else f"{int(x):,}"
    if isinstance(x, int):
        return f"{x:,}"
    return "" if x is None else str(x)


def _delta(x: Any) -> str:
    if x is None:
        return ""
    if x == 0:
        return "0"
    return ("+" if x > 0 else "") + _num(x)


def _rules(rules: dict[str, Any]) -> str:
    return "; ".join(f"{k} {_delta(v)}" for k, v in rules.items())


def check_table(checks: Sequence[CrossCheck], layers: bool = False) -> Table:
    """One row per peer and metric (and per layer with ``layers``); notes give the totals."""
    title = ("convcost check: " + ", ".join(f"{c.model} {shape_text(c.input, 'x')}"
                                            for c in checks))
    cols = ["model", "peer", "metric", "reported", "predicted", "delta", "rule", "status"]
    if layers:
        cols = ["model", "peer", "name", "module", "metric", "reported", "predicted", "delta",
                "rule", "status"]
    # a row is identified by its model, peer, metric (and layer); the verdict and the delta
    # come first, the rules that explain it (wrapped) last
    rank = {"model": 0 if len(checks) > 1 else 5,  # one model: the title names it
            "peer": 0, "name": 0, "metric": 0, "status": 1, "delta": 1,
            "reported": 2, "predicted": 2, "rule": 3, "module": 4}
    table = Table(title, cols, right_align=frozenset(
        i for i, c in enumerate(cols) if c in ("reported", "predicted", "delta")),
        priority=[rank[c] for c in cols], wrap=frozenset({cols.index("rule")}))
    for cc in checks:
        for p in cc.peers:
            if p.status != "ok":
                what = p.hint if p.status == "skipped" else p.message
                cells = [cc.model, p.peer, "", "", "", "", what, p.status]
                if layers:
                    cells = [cc.model, p.peer, "", "", "", "", "", "", what, p.status]
                table.add(cells, cells)
                continue
            items = [*p.totals, *(p.layers if layers else [])]
            for c in items:
                status = "ok" if c.explained else "UNEXPLAINED"
                vals = [_num(c.reported), _num(c.predicted), _delta(c.delta),
                        ", ".join(c.rules), status]
                raw = [c.reported, c.predicted, c.delta, _rules(c.rules), status]
                if layers:
                    head = [cc.model, p.peer, "(total)" if c.scope is None else c.scope or "(root)",
                            c.module, c.metric]
                else:
                    head = [cc.model, p.peer, c.metric]
                table.add([*head, *vals], [*head, *(plain(v) for v in raw)])
    total = sum(c.unexplained for c in checks)
    failed = sum(c.failed for c in checks)
    raised = sum(p.status == "raised" for c in checks for p in c.peers)
    skipped = sum(p.layers_skipped for c in checks for p in c.peers)
    table.notes.append(f"unexplained: {total}" + (f"; peers that failed: {failed}" if failed
                                                  else "")
                       + (" (exit code 1)" if total or failed else ""))
    if raised:
        table.notes.append(f"peers that raise on this model as their rules predict: {raised} "
                           "(status raised; not a failure)")
    if skipped:
        table.notes.append(f"layers of modules shared under several names compared in the "
                           f"total only: {skipped}")
    table.notes.append("predicted = what convcost computes, from its own rows and the peer's "
                       "counting rules, that the peer reports; rules: docs/conventions.md "
                       "(each rule's contribution: --format json or csv)")
    return table


def check_payload(checks: Sequence[CrossCheck], layers: bool = False) -> dict[str, Any]:
    """The JSON of ``convcost check``: per model and peer, reported, predicted, unexplained."""
    return {"models": [c.to_dict(layers) for c in checks],
            "unexplained": sum(c.unexplained for c in checks),
            "failed": sum(c.failed for c in checks)}


__all__ = ["check_payload", "check_table", "plain"]
