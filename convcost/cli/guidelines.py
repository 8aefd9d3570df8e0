"""``convcost guidelines``: ShuffleNetV2's four guidelines, audited on a model or reproduced."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from convcost.cli._app import (
    BatchOpt,
    Format,
    FormatOpt,
    InputOpt,
    OutOpt,
    app,
    emit,
    resolve_with_input,
)


def _audit(model: str, inputs: list[str] | None, batch: int, dtype: str, top: int,
           fold_bn: bool, block_depth: int | None, small: float, bench: bool,
           threads: int | None) -> tuple[list[Any], Any]:
    from convcost.api import analyze
    from convcost.engine.guidelines import audit, row_times
    from convcost.errors import InvalidArgumentError
    from convcost.formulas import itemsize_of
    from convcost.report.guidelines import audit_tables

    module, name, sizes = resolve_with_input(model, inputs, batch, "cpu" if bench else "meta")
    a = analyze(module, sizes, dtype=dtype, name=name)
    times = None
    if bench:
        if len(sizes) != 1:
            raise InvalidArgumentError("--bench times a model with one input; give one --input")
        if a.dtype != "float32":
            raise InvalidArgumentError("--bench measures float32 only; drop --dtype")
        from convcost.latency.profile_layers import profile_layers

        measured = profile_layers(module, sizes[0], threads=threads)
        times = row_times(a.rows, {t.name: t.self_ms / 1000.0 for t in measured})
    result = audit(a.rows, itemsize=itemsize_of(a.dtype), modules=a.evaluation.modules,
                   small_fraction=small,
                   block_depth=block_depth, fold_bn=fold_bn, times_s=times)
    payload = {"model": a.model, "input": list(a.input), "dtype": a.dtype,
               "bench": None if times is None else {"threads": _threads(threads),
                                                   "device": "cpu",
                                                   "seconds": sum(times.values())},
               **result.to_dict()}
    return audit_tables(result, top, a.model), payload


def _threads(threads: int | None) -> int:
    """The thread count a timed run used: the one asked for, else torch's setting."""
    import torch

    return threads if threads is not None else torch.get_num_threads()


def _reproduce(batch: int, threads: int | None, budget: float, rounds: int, widths: str,
               tables: list[str] | None) -> tuple[list[Any], Any]:
    from convcost.errors import InvalidArgumentError
    from convcost.latency.shufflenet_experiments import TABLES, reproduce
    from convcost.report.guidelines import reproduction_tables

    if budget <= 0:
        raise InvalidArgumentError(f"--budget must be > 0 seconds, got {budget}")
    chosen = [t.upper() for t in tables] if tables else list(TABLES)

    def progress(done: int, total: int, label: str) -> None:
        print(f"[{done + 1}/{total}] {label}", file=sys.stderr, flush=True)

    rep = reproduce(widths=widths, batch=batch, tables=chosen, threads=threads,
                    budget_s=budget, rounds=rounds,
                    progress=progress if sys.stderr.isatty() else None)
    return reproduction_tables(rep), rep.to_dict()


@app.command()
def guidelines(
    model: Annotated[str | None, typer.Argument(
        help="Zoo name or path/to/file.py:Class (not needed with --reproduce).")] = None,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: Annotated[str, typer.Option(help="float32, float16, bfloat16 or float64.")]
    = "float32",
    top: Annotated[int, typer.Option("--top", help="Worst offenders shown per guideline.")]
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
        help="Torch threads for --reproduce (default 1) and --bench (default: torch's).")]
    = None,
    budget: Annotated[float, typer.Option(
        help="With --reproduce: seconds of timed runs per network and round.")] = 0.15,
    rounds: Annotated[int, typer.Option(
        help="With --reproduce: interleaved rounds; each network keeps its best.")] = 3,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """ShuffleNetV2's guidelines G1-G4 on a model, or (--reproduce) its Tables 1-4 timed here."""
    from convcost.errors import InvalidArgumentError

    if top < 1:
        raise InvalidArgumentError(f"--top must be >= 1, got {top}")
    if reproduce:
        if model is not None:
            raise InvalidArgumentError("--reproduce takes no MODEL; run it without one")
        tables, payload = _reproduce(batch, 1 if threads is None else threads, budget,
                                     rounds, widths, table)
    else:
        if model is None:
            raise InvalidArgumentError("give a MODEL to audit (e.g. convcost guidelines "
                                       "resnet50), or --reproduce")
        tables, payload = _audit(model, input, batch, dtype, top, fold_bn, block_depth, small,
                                 bench, threads)
    emit(tables, payload, fmt, out)
