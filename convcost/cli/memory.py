"""``convcost memory``: peak memory at inference and for a training step, by category."""

from __future__ import annotations

from typing import Annotated

import typer

from convcost.cli._app import (
    AllocatorOpt,
    BatchOpt,
    DeviceOpt,
    DtypeOpt,
    Format,
    FormatOpt,
    InputOpt,
    ModelsArg,
    OptimizerOpt,
    OutOpt,
    TrainOpt,
    app,
    emit,
    parse_inputs,
    progress,
    training_optimizer,
)


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
    from convcost.engine.memory import DEFAULT_OPTIMIZER
    from convcost.report.memory import memory_table
    from convcost.studies.memory import memory as memory_of

    # studies.memory checks the batch, the allocator and the budget before building a model
    opt = training_optimizer(train, optimizer)
    sizes = parse_inputs(input)
    reports = []
    with progress(fmt) as step:
        for k, spec in enumerate(models):
            tick = None if step is None else (
                lambda label, k=k, spec=spec: step(f"{spec}: {label}", k, len(models)))
            reports.append(memory_of(spec, sizes, batch=batch, dtype=dtype, device=device,
                                     train=opt is not None,
                                     optimizer=opt or DEFAULT_OPTIMIZER, alloc=allocator,
                                     fit=fit, progress=tick))
    emit(memory_table(reports), {"models": [r.record() for r in reports]}, fmt, out)
