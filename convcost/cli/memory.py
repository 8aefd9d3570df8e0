"""``convcost memory``: peak memory at inference and for a training step, by category."""

from __future__ import annotations

from typing import Annotated

import typer

from convcost.cli._app import (
    BatchOpt,
    DeviceOpt,
    DtypeOpt,
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

TrainOpt = Annotated[bool, typer.Option(
    "--train", help="Also a training step: forward in training mode, the sum of the outputs' "
    "backward(), optimizer.step(), in steady state (the optimizer's state already made).")]
OptimizerOpt = Annotated[str | None, typer.Option(
    "--optimizer", help="sgd, momentum, adam or adamw (implies --train; default adam).")]
AllocatorOpt = Annotated[str, typer.Option(
    "--allocator", help="cpu (64-byte blocks and the CPU convolution's workspace), cuda "
    "(512-byte rounding of the caching allocator) or exact (bytes as requested).")]


@app.command()
def memory(
    models: ModelsArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = "float32",
    train: TrainOpt = False,
    optimizer: OptimizerOpt = None,
    fit: Annotated[str | None, typer.Option(
        "--fit", help="A memory budget (8GiB, 16GB, 512MiB or bytes): the largest batch whose "
        "peak fits it (a training step with --train, else inference).")] = None,
    allocator: AllocatorOpt = "cpu",
    device: DeviceOpt = "meta",
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Peak memory at inference and (--train) for a training step: when it happens, what is
    live then (parameters, gradients, optimizer state, activations saved for backward, other
    activations, inputs), the FLOPs of both passes; --fit: the largest batch that fits."""
    from convcost.engine.memory import allocator as allocator_model
    from convcost.engine.memory import check_optimizer, parse_size
    from convcost.report.memory import memory_table
    from convcost.resolve import check_batch
    from convcost.studies.memory import DEFAULT_OPTIMIZER
    from convcost.studies.memory import memory as memory_of

    # every option checked before any model is built
    check_batch(batch)
    if optimizer is not None:
        check_optimizer(optimizer)
    allocator_model(allocator)
    if fit is not None:
        parse_size(fit)
    train = train or optimizer is not None
    sizes = parse_inputs(input)
    reports = []
    with progress(fmt) as step:
        for k, spec in enumerate(models):
            tick = None if step is None else (
                lambda label, k=k, spec=spec: step(f"{spec}: {label}", k, len(models)))
            reports.append(memory_of(spec, sizes, batch=batch, dtype=dtype, device=device,
                                     train=train, optimizer=optimizer or DEFAULT_OPTIMIZER,
                                     alloc=allocator, fit=fit, progress=tick))
    emit(memory_table(reports), {"models": [r.record() for r in reports]}, fmt, out)
