"""``convcost check``: the analytic figures against the real model and the peers.

Exit codes: 0 when every difference is explained by a named rule, 1 when anything is
unexplained (so CI can gate on it), 2 for bad input (as every command).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Any

import typer

from convcost.cli._app import (
    BatchOpt,
    Format,
    FormatOpt,
    InputOpt,
    ModelsArg,
    OutOpt,
    app,
    emit,
)
from convcost.report.units import shape_text

UNEXPLAINED_EXIT = 1


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


def _table(checks: list[Any], layers: bool) -> Any:
    from convcost.oracles.check import plain
    from convcost.report.tables import Table

    title = ("convcost check: " + ", ".join(f"{c.model} {shape_text(c.input, 'x')}"
                                            for c in checks))
    cols = ["model", "peer", "metric", "reported", "predicted", "delta", "rule", "status"]
    if layers:
        cols = ["model", "peer", "name", "module", "metric", "reported", "predicted", "delta",
                "rule", "status"]
    table = Table(title, cols, right_align=frozenset(
        i for i, c in enumerate(cols) if c in ("reported", "predicted", "delta")))
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
    table.notes.append(f"unexplained: {total}" + (f"; peers that failed: {failed}" if failed
                                                  else "")
                       + (" (exit code 1)" if total or failed else ""))
    table.notes.append("predicted = what convcost computes, from its own rows and the peer's "
                       "counting rules, that the peer reports; rules: docs/conventions.md "
                       "(each rule's contribution: --format json or csv)")
    return table


@app.command()
def check(
    models: ModelsArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    peer: Annotated[list[str] | None, typer.Option(
        "--peer", "-p", help="Only this peer (repeat): real, fvcore, thop, ptflops-pytorch, "
        "ptflops-aten, torchinfo, torch-flopcounter.")] = None,
    layers: Annotated[bool, typer.Option("--layers", help="Compare layer by layer too "
                                         "(shown; always counted).")] = False,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> int:
    """Run the model for real and through fvcore, thop, ptflops, torchinfo and FlopCounterMode;
    every difference from convcost's prediction must be explained by a named rule (exit 1 if
    not)."""
    from convcost.cli._app import resolve_with_input
    from convcost.errors import InvalidArgumentError
    from convcost.oracles import crosscheck

    if input is not None and len(input) > 1:
        raise InvalidArgumentError("convcost check takes one --input (the peers run one input)")
    results = []
    for spec in models:
        model, name, sizes = resolve_with_input(spec, input, batch, "cpu")
        results.append(crosscheck(model, sizes[0], peers=peer or None, name=name))
    payload = {"models": [c.to_dict(layers) for c in results],
               "unexplained": sum(c.unexplained for c in results),
               "failed": sum(c.failed for c in results)}
    emit(_table(results, layers), payload, fmt, out)
    # a peer that crashed proves nothing: CI must not pass on it
    return UNEXPLAINED_EXIT if payload["unexplained"] or payload["failed"] else 0
