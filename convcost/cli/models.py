"""``convcost ratio``, ``layers``, ``compare`` and ``zoo``: the analytic figures."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from convcost.cli._app import (
    BatchOpt,
    BudgetOpt,
    DeviceOpt,
    DtypeOpt,
    Format,
    FormatOpt,
    HeapOpt,
    InputOpt,
    ModelArg,
    ModelsArg,
    OptimizerOpt,
    OutOpt,
    SizesOpt,
    ThreadsOpt,
    TrainOpt,
    app,
    check_image_path,
    emit,
    model_and_sizes,
    parse_inputs,
    progress,
    save_atomic,
    training_optimizer,
    use_heap,
    warn_in_csv,
)


@app.command()
def ratio(
    cin: Annotated[int, typer.Option("--cin", help="Input channels M.")],
    cout: Annotated[int, typer.Option("--cout", help="Output channels N.")],
    kernel: Annotated[int, typer.Option("--kernel", "-k", help="Kernel size Dk.")] = 3,
    size: Annotated[int, typer.Option("--size", help="Input feature map size F (F×F).")] = 14,
    stride: Annotated[int, typer.Option(help="Stride.")] = 1,
    groups: Annotated[int, typer.Option(help="Also show a grouped conv with g groups.")] = 1,
    width_mult: Annotated[float, typer.Option("--width-mult", "--alpha",
                                              help="Width multiplier α.")] = 1.0,
    resolution_mult: Annotated[float, typer.Option("--resolution-mult", "--rho",
                                                   help="Resolution multiplier ρ.")] = 1.0,
    batch: BatchOpt = 1,
    bias: Annotated[bool, typer.Option("--bias/--no-bias", help="Convs with bias.")] = False,
    dtype: DtypeOpt = "float32",
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """One layer: standard vs depthwise-separable conv, exact ratio and 1/N + 1/Dk²."""
    from convcost.formulas import itemsize_of, separable_comparison
    from convcost.report.ratio import ratio_table

    cmp = separable_comparison(
        cin, cout, kernel, size, stride, groups, width_mult, resolution_mult,
        batch=batch, bias=bias, itemsize=itemsize_of(dtype),
    )
    payload = {"dtype": dtype, **cmp.as_dict()}
    emit(ratio_table(cmp, dtype), payload, fmt, out)


class By(str, Enum):
    layer = "layer"
    op = "op"
    module = "module"


@app.command()
def layers(
    model: ModelArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = "float32",
    depth: Annotated[int, typer.Option(min=0, help="Module roll-up depth for --by module.")]
    = 2,
    by: Annotated[By, typer.Option(help="One row per layer (op), per op type or per module.")]
    = By.layer,
    device: DeviceOpt = "meta",
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Every layer's params, multiply-adds, FLOPs and memory access, from the formulas."""
    from convcost.api import analyze
    from convcost.report.layers import layers_table, unsupported_note

    resolved, sizes = model_and_sizes(model, input, batch, device)
    result = analyze(resolved, sizes, dtype=dtype, device=device)
    emit(layers_table(result, by.value, depth), result.to_dict(), fmt, out)
    warn_in_csv(fmt, [unsupported_note(result)])


SORT_KEYS = ("params", "madds", "flops", "mem_bytes", "top1", "latency_ms")


@app.command()
def compare(
    models: ModelsArg,
    input: SizesOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = "float32",
    sort: Annotated[str | None, typer.Option(
        help="Sort by params, madds, flops, mem_bytes, latency_ms (ascending) or top1.")] = None,
    device: DeviceOpt = "meta",
    bench: Annotated[bool, typer.Option(
        "--bench", help="Also measure each model's latency for real (random weights) on "
        "--device (cpu when it is meta).")] = False,
    threads: ThreadsOpt = None,
    budget: BudgetOpt = 1.0,
    heap: HeapOpt = "warm",
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Also save a grouped bar chart of the compared figures (.png/.svg).")]
    = None,
    train: TrainOpt = False,
    optimizer: OptimizerOpt = None,
) -> None:
    """Models side by side: params, mult-adds, FLOPs, memory, where the cost sits, top-1,
    with --bench the measured latency and with --train a training step's peak memory."""
    from convcost.errors import InvalidArgumentError
    from convcost.report.compare import compare_table, sort_items
    from convcost.report.layers import unsupported_note

    if sort not in (None, *SORT_KEYS):
        raise InvalidArgumentError(f"--sort must be one of {', '.join(SORT_KEYS)}, got {sort!r}")
    if sort == "latency_ms" and not bench:
        raise InvalidArgumentError("--sort latency_ms needs --bench")
    if plot is not None:
        check_image_path(plot, "--plot")  # before any work
    opt = training_optimizer(train, optimizer)
    from convcost.studies.compare import compare as compare_models

    if bench:
        use_heap(heap)
    timing = ({"threads": threads, "budget_s": budget,
               "device": "cpu" if device == "meta" else device} if bench else None)
    sizes = parse_inputs(input)
    with progress(fmt) as step:
        items = compare_models(models, sizes, batch=batch, dtype=dtype, device=device,
                               bench=timing, train=opt, progress=step)
    emit(compare_table(items, sort), {"models": [c.record() for c in items]}, fmt, out)
    warn_in_csv(fmt, [unsupported_note(c.analysis) for c in items])
    if plot is not None:
        from convcost.report.plots import compare_bars

        ordered = sort_items(items, sort)
        save_atomic(compare_bars([c.analysis for c in ordered],
                                 latency_ms=[c.latency_ms or 0.0 for c in ordered]
                                 if bench else None), plot)


@app.command()
def zoo(
    family: Annotated[str | None, typer.Option(help="Only models whose family or name "
                                                    "contains this text.")] = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Every zoo model: options, params and mult-adds (computed), published top-1, source."""
    from convcost.report.zoo import zoo_table
    from convcost.studies.zoo import zoo_rows

    rows = zoo_rows(family)
    emit(zoo_table(rows), {"models": [r.record() for r in rows]}, fmt, out)
