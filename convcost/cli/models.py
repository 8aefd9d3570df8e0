"""``convcost ratio``, ``layers``, ``compare`` and ``zoo``: the analytic figures."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from convcost.cli._app import (
    BatchOpt,
    DeviceOpt,
    DtypeOpt,
    Format,
    FormatOpt,
    InputOpt,
    ModelArg,
    ModelsArg,
    OutOpt,
    analyze_spec,
    app,
    emit,
    resolve_with_input,
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
    batch: Annotated[int, typer.Option(help="Batch size N.")] = 1,
    bias: Annotated[bool, typer.Option("--bias/--no-bias", help="Convs with bias.")] = False,
    dtype: Annotated[str, typer.Option(help="Element type for memory access.")] = "float32",
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
    depth: Annotated[int, typer.Option(help="Module roll-up depth for --by module.")] = 2,
    by: Annotated[By, typer.Option(help="One row per layer (op), per op type or per module.")]
    = By.layer,
    device: DeviceOpt = "meta",
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Every layer's params, multiply-adds, FLOPs and memory access, from the formulas."""
    from convcost.report.layers import layers_table

    result = analyze_spec(model, input, batch, dtype, device)
    emit(layers_table(result, by.value, depth), result.to_dict(), fmt, out)


def _published_top1(spec: str, resolution: int) -> tuple[float | None, str | None]:
    """Published top-1 for a zoo spec at this resolution, when the zoo's table has it."""
    from convcost.specs import is_user_code

    if is_user_code(spec):
        return None, None
    from convcost.zoo import parse_spec
    from convcost.zoo.published import lookup_top1

    entry, options = parse_spec(spec)
    found = lookup_top1(entry.name, options, resolution)
    return (found.top1, found.source) if found else (None, None)


def compared_items(models: list[str], inputs: list[str] | None, batch: int, dtype: str,
                   device: str, bench: dict[str, Any] | None = None) -> list[Any]:
    """One :class:`~convcost.report.compare.Compared` per model and input, with its published
    top-1 when the zoo has it (``compare`` and ``report``); ``bench`` (keyword arguments of
    :func:`convcost.latency.measure.measure_model`) also times each one for real."""
    from convcost.api import analyze, torch_dtype
    from convcost.report.compare import Compared

    items = []
    for spec in models:
        for size in (inputs or [None]):  # type: ignore[list-item]
            # timing needs real weights: build on the CPU once, analyse that same module
            model, name, sizes = resolve_with_input(spec, None if size is None else [size],
                                                    batch, device if bench is None else "cpu")
            a = analyze(model, sizes, dtype=dtype, device=device, name=name)
            top1, source = _published_top1(spec, a.input[-1])
            latency = None
            if bench is not None:
                from convcost.latency.measure import measure_model

                m = measure_model(model, a.input, dtype=torch_dtype(dtype), **bench)
                latency = m.to_dict(times=False)
            items.append(Compared(a, top1, source, latency))
    return items


SORT_KEYS = ("params", "madds", "flops", "mem_bytes", "top1", "latency_ms")


@app.command()
def compare(
    models: ModelsArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = "float32",
    sort: Annotated[str | None, typer.Option(
        help="Sort by params, madds, flops, mem_bytes, latency_ms (ascending) or top1.")] = None,
    device: DeviceOpt = "meta",
    bench: Annotated[bool, typer.Option(
        "--bench", help="Also measure each model's latency for real (CPU, random weights).")]
    = False,
    threads: Annotated[int | None, typer.Option(
        help="With --bench: torch threads (default: torch's current setting).")] = None,
    budget: Annotated[float, typer.Option(
        help="With --bench: seconds of timed runs per model.")] = 1.0,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Also save a grouped bar chart of the compared figures (.png/.svg).")]
    = None,
) -> None:
    """Models side by side: params, mult-adds, FLOPs, memory, where the cost sits, top-1,
    and with --bench the measured latency."""
    from convcost.errors import InvalidArgumentError
    from convcost.report.compare import compare_table, sort_items

    if sort not in (None, *SORT_KEYS):
        raise InvalidArgumentError(f"--sort must be one of {', '.join(SORT_KEYS)}, got {sort!r}")
    if sort == "latency_ms" and not bench:
        raise InvalidArgumentError("--sort latency_ms needs --bench")
    if budget <= 0:
        raise InvalidArgumentError(f"--budget must be > 0 seconds, got {budget}")
    if threads is not None and threads < 1:
        raise InvalidArgumentError(f"--threads must be >= 1, got {threads}")
    if plot is not None:
        from convcost.cli.visual import check_image_path

        check_image_path(plot)  # before any work
    timing = {"threads": threads, "budget_s": budget} if bench else None
    items = compared_items(models, input, batch, dtype, device, timing)
    table = compare_table(items, sort)
    payload = {"models": [c.record() for c in items]}
    emit(table, payload, fmt, out)
    if plot is not None:
        from convcost.cli.visual import save_atomic
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
    from convcost.api import analyze
    from convcost.report.zoo import ZooRow, zoo_table
    from convcost.zoo import build, list_entries
    from convcost.zoo.published import lookup_top1

    rows = []
    for entry in list_entries():
        if family and family.lower() not in f"{entry.family} {entry.name}".lower():
            continue
        shape = (1, *entry.default_input)
        a = analyze(build(entry), shape, name=entry.name)
        pub = lookup_top1(entry.name, {}, entry.default_input[-1])
        rows.append(ZooRow(
            name=entry.name, family=entry.family, aliases=entry.aliases,
            options=tuple(o.describe() for o in entry.options if o.name != "num_classes"),
            default_input=shape,
            params=a.totals.params, madds=a.totals.madds, top1=pub.top1 if pub else None,
            published_params=pub.params if pub else None,
            published_madds=pub.madds if pub else None, source=pub.source if pub else "",
            paper=entry.paper, notes=entry.notes,
        ))
    emit(zoo_table(rows), {"models": [r.record() for r in rows]}, fmt, out)


