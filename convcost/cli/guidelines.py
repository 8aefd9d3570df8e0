"""``convcost guidelines``: ShuffleNetV2's four guidelines, audited on a model or reproduced."""

from __future__ import annotations

from typing import Annotated

import typer

from convcost.cli._app import (
    BatchOpt,
    DtypeOpt,
    Format,
    FormatOpt,
    HeapOpt,
    InputOpt,
    OutOpt,
    app,
    emit,
    model_and_sizes,
    positive_seconds,
    progress,
    use_heap,
)


@app.command()
def guidelines(
    model: Annotated[str | None, typer.Argument(
        help="Zoo name or path/to/file.py:Class (not needed with --reproduce).")] = None,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = "float32",
    top: Annotated[int, typer.Option("--top", min=1, help="Worst offenders per guideline.")]
    = 10,
    fold_bn: Annotated[bool, typer.Option(
        "--fold-bn", help="G4: BatchNorm folded into the convs (left out).")] = False,
    block_depth: Annotated[int | None, typer.Option(
        "--block-depth", help="G3: blocks are the modules at this depth (default: the "
        "classes that join branches).")] = None,
    small: Annotated[float, typer.Option(
        "--small", help="G3: a conv is small below this fraction of its block's "
        "multiply-adds.")] = 0.1,
    bench: Annotated[bool, typer.Option(
        "--bench", help="G4: also measure each layer's time here (torch.profiler, CPU) and "
        "give the elementwise share of time.")] = False,
    reproduce: Annotated[bool, typer.Option(
        "--reproduce", help="Time the paper's Table 1-4 networks here and compare.")] = False,
    table: Annotated[list[str] | None, typer.Option(
        "--table", help="With --reproduce: only these tables (G1..G4; repeat).")] = None,
    widths: Annotated[str, typer.Option(
        help="With --reproduce: the paper's widths for its 'cpu' (ARM) or 'gpu' column.")]
    = "cpu",
    threads: Annotated[int | None, typer.Option(
        min=1, help="Torch threads for --reproduce (default 1) and --bench (default: torch's).")]
    = None,
    budget: Annotated[float, typer.Option(
        help="With --reproduce: seconds of timed runs per network and round.",
        callback=positive_seconds)] = 0.15,
    rounds: Annotated[int, typer.Option(
        min=1, help="With --reproduce: interleaved rounds; each network keeps its best.")] = 3,
    heap: HeapOpt = "warm",
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """ShuffleNetV2's guidelines G1-G4 on a model, or (--reproduce) its Tables 1-4 timed here."""
    from convcost.errors import InvalidArgumentError

    if reproduce or bench:
        use_heap(heap)
    if reproduce:
        if model is not None:
            raise InvalidArgumentError("--reproduce takes no MODEL; run it without one")
        from convcost.report.guidelines import reproduction_payload, reproduction_tables
        from convcost.studies.guidelines import reproduce as run

        with progress(fmt) as step:
            rep = run(widths=widths, batch=batch, tables=table,
                      threads=1 if threads is None else threads, budget_s=budget,
                      rounds=rounds, progress=None if step is None else (
                          lambda done, total, label: step(label, done, total)))
        tables, payload = reproduction_tables(rep), reproduction_payload(rep)
    else:
        if model is None:
            raise InvalidArgumentError("give a MODEL to audit (e.g. convcost guidelines "
                                       "resnet50), or --reproduce")
        from convcost.report.guidelines import audit_payload, audit_tables
        from convcost.studies.guidelines import audit

        resolved, sizes = model_and_sizes(model, input, batch, "cpu" if bench else "meta")
        with progress(fmt if bench else Format.json) as step:  # a bar only while timing
            if step is not None:
                step(f"{resolved.name}: timing every layer (torch.profiler)", 0, 1)
            result = audit(resolved, sizes, dtype=dtype, fold_bn=fold_bn,
                           block_depth=block_depth, small_fraction=small, bench=bench,
                           threads=threads)
        tables, payload = audit_tables(result.audit, top, result.model), audit_payload(result)
    emit(tables, payload, fmt, out)
