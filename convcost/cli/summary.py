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
    model_and_sizes,
    warn_in_csv,
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
    depth: Annotated[int, typer.Option(min=0, help="Module tree depth to show (torchinfo: 3).")]
    = 3,
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
    from convcost.errors import InvalidArgumentError
    from convcost.report.summary import render, summary_table, unsupported_listing
    from convcost.studies.summary import summary as summarize

    if col is not None and style is Style.torchsummary:
        raise InvalidArgumentError("--col picks torchinfo's columns; torchsummary's layout has "
                                   "fixed ones (drop --col or use --style torchinfo)")
    columns = None if col is None else [c.strip() for c in col.split(",") if c.strip()]
    resolved, sizes = model_and_sizes(model, input, batch, device)
    s = summarize(resolved, sizes, depth=depth, style=style.value, columns=columns,
                  dtype=dtype, device=device)
    if fmt is Format.table:
        write_text(render(s), out)
    else:
        emit(summary_table(s), s.to_dict(), fmt, out)
    listing = unsupported_listing(s)
    warn_in_csv(fmt, [None if listing is None
                      else f"{s.model}: not counted (unsupported ops): {listing}"])
