"""The ``convcost`` command line: parse, call the library, render, exit code.

No arithmetic and no state here. Bad input (:class:`~convcost.errors.ConvcostError` or a
usage error) prints one line on stderr and exits 2; any other failure exits 1 with one line,
and ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from convcost import __version__
from convcost.errors import ConvcostError

try:  # typer >= 0.2x vendors click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer uses the click package
    from click.exceptions import ClickException  # type: ignore[no-redef]


def _fail(message: str, code: int) -> int:
    first = " ".join(str(message).split())  # one line, whatever the message held
    print(f"convcost: error: {first}", file=sys.stderr)
    return code


class _Group(TyperGroup):
    """Turns every error into one stderr line and an exit code (2 bad input, 1 internal)."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv
        try:
            rv = super().main(argv, prog_name or "convcost", complete_var,
                              standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
        except ConvcostError as exc:
            if debug:
                raise
            code = _fail(str(exc), 2)
        except ClickException as exc:
            code = _fail(exc.format_message(), 2 if exc.exit_code == 2 else exc.exit_code)
        except KeyboardInterrupt:
            code = _fail("interrupted", 130)
        except Exception as exc:
            if debug:
                raise
            code = _fail(f"internal error: {type(exc).__name__}: {exc} "
                         "(rerun with --debug for the traceback)", 1)
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=_Group,
    help="What a convolutional network really costs: params, multiply-adds, memory access.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    md = "md"


FormatOpt = Annotated[
    Format, typer.Option("--format", "-f", help="table (terminal), json, csv or md.")
]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")
]


def _version(value: bool) -> None:
    if value:
        print(f"convcost {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """convcost: parameters, multiply-adds and memory-access cost, layer by layer."""


def write_text(text: str, out: Path | None) -> None:
    """Print ``text``, or write it to ``out`` atomically (never a half-written file)."""
    if out is None:
        sys.stdout.write(text)
        return
    out = Path(out)
    if out.exists() and out.is_dir():
        raise ConvcostError(f"--out {out} is a directory; give a file path")
    if not out.parent.exists():
        raise ConvcostError(f"--out: folder {out.parent} does not exist; create it first")
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def emit(table: Any, payload: Any, fmt: Format, out: Path | None) -> None:
    """Render ``table`` (a report Table) or ``payload`` (JSON-able) in ``fmt``."""
    from convcost.report import tables

    if fmt is Format.json:
        write_text(json.dumps(payload, indent=2) + "\n", out)
    elif fmt is Format.csv:
        write_text(tables.to_csv(table), out)
    elif fmt is Format.md:
        write_text(tables.to_markdown(table), out)
    elif out is not None:
        from rich.console import Console

        buf = Console(record=True, width=140, file=open(os.devnull, "w"))  # noqa: SIM115
        tables.print_rich(table, buf)
        write_text(buf.export_text(), out)
    else:
        from rich.console import Console

        # piped: no terminal width to respect, so never truncate a column
        console = Console() if sys.stdout.isatty() else Console(width=240)
        tables.print_rich(table, console)


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


InputOpt = Annotated[
    list[str] | None,
    typer.Option("--input", "-i", help="Input size: 224, 3x224x224 or HxW (repeat for "
                 "several inputs). Default: the zoo model's own."),
]
BatchOpt = Annotated[int, typer.Option("--batch", "-b", help="Batch size N.")]
DtypeOpt = Annotated[str, typer.Option(help="float32, float16, bfloat16 or float64.")]
DeviceOpt = Annotated[str, typer.Option(
    help="meta (default: nothing computed) or cpu (runs the model for real).")]


def resolve_model(spec: str, device: str) -> tuple[Any, str, tuple[int, ...] | None]:
    """(model, display name, default input without batch) for a MODEL spec."""
    from convcost.specs import is_user_code, load_user_model

    if is_user_code(spec):
        model, name = load_user_model(spec)
        return model, name, None
    from convcost.zoo import build, parse_spec

    entry, options = parse_spec(spec)
    model = build(entry, device="meta" if device == "meta" else "cpu", **options)
    return model, spec, entry.default_input


def analyze_spec(spec: str, inputs: list[str] | None, batch: int, dtype: str,
                 device: str) -> Any:
    """Resolve MODEL and --input, then run :func:`convcost.analyze`."""
    from convcost.api import analyze
    from convcost.errors import InvalidArgumentError
    from convcost.specs import parse_input

    if batch <= 0:
        raise InvalidArgumentError(f"--batch must be a positive integer, got {batch}")
    model, name, default = resolve_model(spec, device)
    if inputs:
        sizes = [(batch, *parse_input(s)) for s in inputs]
    elif default is not None:
        sizes = [(batch, *default)]
    else:
        raise InvalidArgumentError(f"{spec} is user code: give its input size with --input "
                                   "(e.g. --input 224 or --input 3x224x224)")
    return analyze(model, sizes, dtype=dtype, device=device, name=name)


@app.command()
def layers(
    model: Annotated[str, typer.Argument(help="Zoo name (mobilenet_v1:width_mult=0.5) or "
                                         "path/to/file.py:Class or package.module:factory.")],
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


@app.command()
def compare(
    models: Annotated[list[str], typer.Argument(help="Two or more model specs.")],
    input: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = "float32",
    sort: Annotated[str | None, typer.Option(
        help="Sort by params, madds, flops, mem_bytes (ascending) or top1.")] = None,
    device: DeviceOpt = "meta",
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Models side by side: params, mult-adds, FLOPs, memory, where the cost sits, top-1."""
    from convcost.errors import InvalidArgumentError
    from convcost.report.compare import Compared, compare_table

    if sort not in (None, "params", "madds", "flops", "mem_bytes", "top1"):
        raise InvalidArgumentError(f"--sort must be params, madds, flops, mem_bytes or top1, "
                                   f"got {sort!r}")
    items = []
    for spec in models:
        for size in (input or [None]):  # type: ignore[list-item]
            a = analyze_spec(spec, None if size is None else [size], batch, dtype, device)
            top1, source = _published_top1(spec, a.input[-1])
            items.append(Compared(a, top1, source))
    table = compare_table(items, sort)
    payload = {"models": [c.record() for c in items]}
    emit(table, payload, fmt, out)


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


def main() -> None:
    """Console-script entry point."""
    typer.main.get_command(app).main(prog_name="convcost")


if __name__ == "__main__":  # pragma: no cover
    main()
