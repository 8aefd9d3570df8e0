"""The typer app, its error handling, the shared options and renderers of the command line.

No arithmetic and no state here. Bad input (:class:`~convcost.errors.ConvcostError` or a
usage error) prints one line on stderr and exits 2; any other failure exits 1 with one line,
and ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from convcost import __version__
from convcost.errors import ConvcostError
from convcost.files import atomic_path

try:  # typer >= 0.2x vendors click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer uses the click package
    from click.exceptions import ClickException  # type: ignore[no-redef,assignment,unused-ignore]


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
            code = _fail(exc.format_message(), 2)  # usage, bad parameter, unreadable file
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


def checked_out(out: Path | None) -> Path | None:
    """``--out`` is checked before any work: a folder that exists, a name that is not one."""
    if out is not None:
        if out.is_dir():
            raise ConvcostError(f"--out {out} is a directory; give a file path")
        if not out.parent.is_dir():
            raise ConvcostError(f"--out: folder {out.parent} does not exist; create it first")
    return out


OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.",
                              callback=checked_out)
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
    """Print ``text``, or write it to ``out`` atomically (``--out`` was checked up front)."""
    if out is None:
        sys.stdout.write(text)
        return
    with atomic_path(Path(out)) as tmp:
        tmp.write_text(text, encoding="utf-8")


_NATURAL_WIDTH = 4000  # wider than any table: rich then uses its natural width


def emit(table: Any, payload: Any, fmt: Format, out: Path | None) -> None:
    """Render ``table`` (a report Table, or a list of them) or ``payload`` (JSON-able) in
    ``fmt``; several tables follow one another (CSV: each under a ``# title`` line)."""
    from convcost.report import tables

    several = list(table) if isinstance(table, (list, tuple)) else [table]
    if fmt is Format.json:
        write_text(json.dumps(payload, indent=2) + "\n", out)
    elif fmt is Format.csv:
        write_text(tables.to_csv(several[0]) if len(several) == 1 else "\n".join(
            f"# {t.title}\n" + tables.to_csv(t) for t in several), out)
    elif fmt is Format.md:
        write_text("\n".join(tables.to_markdown(t) for t in several), out)
    else:
        from rich.console import Console

        # a file or a pipe has no width to respect: render at the tables' natural width,
        # never truncating or dropping a column
        with open(os.devnull, "w") as sink:
            if out is None and sys.stdout.isatty():
                console = Console()
            elif out is None:
                console = Console(width=_NATURAL_WIDTH)
            else:
                console = Console(record=True, width=_NATURAL_WIDTH, file=sink)
            for i, t in enumerate(several):
                if i:
                    console.print()
                tables.print_rich(t, console)
            if out is not None:
                write_text(console.export_text(), out)


def check_image_path(path: Path) -> Path:
    """A PNG or SVG path in an existing folder, else a one-line error (before any work)."""
    if path.suffix.lower() not in (".png", ".svg"):
        raise ConvcostError(f"{path}: give a .png or .svg file name")
    checked_out(path)
    return path


def save_atomic(fig: Any, path: Path) -> None:
    """Save a figure atomically (a temporary file beside it, renamed into place)."""
    from convcost.report.plots import save_figure

    with atomic_path(path) as tmp:
        save_figure(fig, tmp)


InputOpt = Annotated[
    list[str] | None,
    typer.Option("--input", "-i", help="Input size: 224, 3x224x224 or HxW (repeat for "
                 "several inputs). Default: the zoo model's own."),
]
_SPEC_HELP = ("a zoo name with options (mobilenet_v1:width_mult=0.5) or user code "
              "(path/to/file.py:Class, package.module:factory)")
ModelArg = Annotated[str, typer.Argument(help=f"The model: {_SPEC_HELP}.")]
ModelsArg = Annotated[list[str], typer.Argument(help=f"One or more models, each {_SPEC_HELP}.")]
BatchOpt = Annotated[int, typer.Option("--batch", "-b", help="Batch size N.")]
DtypeOpt = Annotated[str, typer.Option(help="float32, float16, bfloat16 or float64.")]
DeviceOpt = Annotated[str, typer.Option(
    help="meta (default: nothing computed) or cpu (runs the model for real).")]


def parse_inputs(inputs: list[str] | None) -> list[tuple[int, ...]] | None:
    """``--input`` texts as one sample's shape each (no batch); None when none were given."""
    from convcost.specs import parse_input

    return [parse_input(s) for s in inputs] if inputs else None


def model_and_sizes(spec: str, inputs: list[str] | None, batch: int,
                    device: str) -> tuple[Any, list[tuple[int, ...]]]:
    """MODEL resolved once (:func:`convcost.resolve.resolve`) and its input shapes with the
    batch, from ``--input`` or the model's own."""
    from convcost.resolve import resolve

    model = resolve(spec, device)
    return model, model.input_sizes(inputs, batch)


def main() -> None:
    """Console-script entry point."""
    typer.main.get_command(app).main(prog_name="convcost")


