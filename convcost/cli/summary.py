"""``convcost summary``: the torchinfo / torchsummary layer table and totals block."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from convcost.cli._app import (
    BatchOpt,
    DeviceOpt,
    DtypeOpt,
    Format,
    FormatOpt,
    InputOpt,
    ModelArg,
    OutOpt,
    app,
    emit,
    resolve_with_input,
    write_text,
)


class Style(str, Enum):
    torchinfo = "torchinfo"
    torchsummary = "torchsummary"


@app.command()
def summary(
    model: ModelArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = "float32",
    depth: Annotated[int, typer.Option(help="Module tree depth to show (torchinfo: 3).")] = 3,
    style: Annotated[Style, typer.Option(help="torchinfo or torchsummary layout.")]
    = Style.torchinfo,
    col: Annotated[str | None, typer.Option(
        "--col", help="Comma-separated torchinfo columns: input_size, output_size, num_params, "
        "params_percent, kernel_size, mult_adds, trainable (default output_size,num_params).")]
    = None,
    device: DeviceOpt = "meta",
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Layer table (output shape, params, depth tree) and totals, like torchinfo/torchsummary."""
    from convcost.api import analyze
    from convcost.errors import InvalidArgumentError
    from convcost.report.summary import build_summary, summary_table

    if col is not None and style is Style.torchsummary:
        raise InvalidArgumentError("--col picks torchinfo's columns; torchsummary's layout has "
                                   "fixed ones (drop --col or use --style torchinfo)")
    columns = None if col is None else [c.strip() for c in col.split(",") if c.strip()]
    # the summary reads the model itself (requires_grad, kernel sizes), so the model is
    # resolved here once and that same object analysed (analyze_spec would build another)
    built, name, sizes = resolve_with_input(model, input, batch, device)
    result = analyze(built, sizes, dtype=dtype, device=device, name=name)
    s = build_summary(result, built, depth=depth, style=style.value, columns=columns)
    if fmt is Format.table:
        write_text(str(s), out)
    else:
        emit(summary_table(s), s.to_dict(), fmt, out)
