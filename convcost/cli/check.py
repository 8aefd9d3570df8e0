"""``convcost check``: the analytic figures against the real model and the peers.

Exit codes: 0 when every difference is explained by a named rule, 1 when anything is
unexplained or a peer crashed (so CI can gate on it), 2 for bad input (as every command),
including ``--peer X`` for a peer that is not installed (the message names the extra).
"""

from __future__ import annotations

from typing import Annotated

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
    parse_inputs,
    progress,
)

UNEXPLAINED_EXIT = 1


@app.command()
def check(
    models: ModelsArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    peer: Annotated[list[str] | None, typer.Option(
        "--peer", "-p", help="Only this peer (repeat): real, fvcore, thop, ptflops-pytorch, "
        "ptflops-aten, torchinfo, torch-flopcounter. A peer that is not installed is an "
        "error (exit 2); without --peer it is skipped.")] = None,
    layers: Annotated[bool, typer.Option("--layers", help="Compare layer by layer too "
                                         "(shown; always counted).")] = False,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> int:
    """Run the model for real and through fvcore, thop, ptflops, torchinfo and FlopCounterMode
    on the same inputs as every other command (several --input, any rank, :int64 token ids);
    every difference from convcost's prediction must be explained by a named rule (exit 1 if
    not)."""
    from convcost.report.check import check_payload, check_table
    from convcost.studies.check import check as check_models

    with progress(fmt) as step:
        results = check_models(models, parse_inputs(input), batch=batch, peers=peer or None,
                               progress=step)
    payload = check_payload(results, layers)
    emit(check_table(results, layers), payload, fmt, out)
    # a peer that crashed proves nothing: CI must not pass on it
    return UNEXPLAINED_EXIT if payload["unexplained"] or payload["failed"] else 0
