"""The typer app, its error handling, the shared options and renderers of the command line.

No arithmetic and no state here. Bad input (:class:`~convcost.errors.ConvcostError` or a
usage error) prints one line on stderr and exits 2; any other failure exits 1 with one line,
and ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from convcost import __version__
from convcost.errors import ConvcostError
from convcost.files import atomic_path, check_writable

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
        # --debug is understood anywhere on the line (before a "--")
        end = argv.index("--") if "--" in argv else len(argv)
        debug = "--debug" in argv[:end]
        argv = [a for a in argv[:end] if a != "--debug"] + argv[end:]
        if not argv:  # a bare `convcost` shows the help
            with self.make_context("convcost", [], resilient_parsing=True) as ctx:
                print(self.get_help(ctx))
            if standalone_mode:
                sys.exit(0)
            return 0
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
    """``--out`` is checked before any work (:func:`convcost.files.check_writable`)."""
    return None if out is None else check_writable(out)


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

        # a terminal: fit its width (tables.fit: every column, the table turned, the
        # lowest-priority columns left out and named, or one block per row); a file or a pipe
        # has no width to respect: the tables' natural width, every column, no cell cut
        terminal = out is None and sys.stdout.isatty()
        with open(os.devnull, "w") as sink:
            console = (Console() if terminal
                       else Console(record=True, width=_NATURAL_WIDTH, file=sink))
            for i, t in enumerate(several):
                if i:
                    console.print()
                tables.print_rich(t, console)
            if terminal:
                return
            text = console.export_text()
        # trailing blanks stripped
        write_text("".join(line.rstrip() + "\n" for line in text.splitlines()), out)


def warn_in_csv(fmt: Format, notes: Iterable[str | None]) -> None:
    """CSV has no place for a table's notes: those that change what the numbers mean (ops
    the totals leave out) go to stderr as one warning line each, stdout stays a CSV."""
    if fmt is not Format.csv:
        return
    for note in notes:
        if note:
            print(f"convcost: warning: {' '.join(note.split())} (not in the CSV: --format "
                  "json lists them)", file=sys.stderr)


def check_image_path(path: Path, what: str = "--out") -> Path:
    """A PNG or SVG path in an existing folder, else a one-line error (before any work)."""
    if path.suffix.lower() not in (".png", ".svg"):
        raise ConvcostError(f"{what} {path}: give a .png or .svg file name")
    return check_writable(path, what)


def save_atomic(fig: Any, path: Path) -> None:
    """Save a figure atomically (a temporary file beside it, renamed into place)."""
    from convcost.report.plots import save_figure

    with atomic_path(path) as tmp:
        save_figure(fig, tmp)


_INPUT_RULE = ("One sample's shape; the batch (--batch) is always put in front. 224 (a bare "
               "integer) = an image 3x224x224; AxBx... = that shape, any rank (1x16000 for a "
               "Conv1d); a :dtype suffix makes any spec literal with that dtype (128:int64 for "
               "token ids, 16:float32 for 16 features). Default: the zoo model's own.")
InputOpt = Annotated[
    list[str] | None,
    typer.Option("--input", "-i", help=_INPUT_RULE + " Repeat once per positional input."),
]
SizesOpt = Annotated[
    list[str] | None,
    typer.Option("--input", "-i", help=_INPUT_RULE + " Repeat to compare at several sizes."),
]
_SPEC_HELP = ("a zoo name with options (mobilenet_v1:width_mult=0.5) or user code "
              "(path/to/file.py:Class, package.module:factory)")
ModelArg = Annotated[str, typer.Argument(help=f"The model: {_SPEC_HELP}.")]
ModelsArg = Annotated[list[str], typer.Argument(help=f"One or more models, each {_SPEC_HELP}.")]
BatchOpt = Annotated[int, typer.Option("--batch", "-b", min=1,
                                        help="Batch size N (one; bench sweeps with --batches).")]
DtypeOpt = Annotated[str, typer.Option(help="float32, float16, bfloat16 or float64.")]

_DEVICE_RULE = ("Where the model runs: meta (shapes only, nothing computed), cpu or cuda[:N] "
                "(the model runs for real).")


def checked_device(device: str) -> str:
    """``--device``: where the model runs, one meaning in every command: ``meta`` (shapes
    only, nothing computed), ``cpu``, or ``cuda[:N]`` when this torch has CUDA; checked
    before any work."""
    name = device.strip().lower()
    if name in ("meta", "cpu"):
        return name
    if re.fullmatch(r"cuda(:\d+)?", name):
        import torch

        if not torch.cuda.is_available():
            raise ConvcostError(f"--device {device}: CUDA is not available here; use --device "
                                "meta or cpu")
        return name
    raise ConvcostError(f"--device must be meta, cpu or cuda, got {device!r}")


def checked_timing_device(device: str) -> str:
    """``--device`` of the commands that time the model: as :func:`checked_device`, but a
    meta run has no time to measure."""
    name = checked_device(device)
    if name == "meta":
        raise ConvcostError("--device meta computes nothing, so there is no time to measure: "
                            "use --device cpu or cuda")
    return name


def positive_seconds(value: float) -> float:
    """``--budget``: :func:`convcost.specs.check_budget` (a finite number of seconds > 0),
    checked while the options are parsed, before any work."""
    from convcost.specs import check_budget

    return check_budget(value)


DeviceOpt = Annotated[str, typer.Option(
    "--device", help=_DEVICE_RULE + " Default here: meta.", callback=checked_device)]
TimedDeviceOpt = Annotated[str, typer.Option(
    "--device", help="Where the model runs and is timed: cpu or cuda[:N] (meta computes "
    "nothing, so it has no time). Default here: cpu.", callback=checked_timing_device)]
BudgetOpt = Annotated[float, typer.Option(
    "--budget", help="Seconds of timed runs per model (a finite number > 0).",
    callback=positive_seconds)]
ThreadsOpt = Annotated[int | None, typer.Option(
    "--threads", min=1, help="Torch intra-op threads while timing (default: torch's current "
    "setting).")]


def checked_heap(heap: str) -> str:
    """``--heap``: ``warm`` or ``system`` (:mod:`convcost.latency.heap`)."""
    from convcost.latency.heap import HEAPS

    name = heap.strip().lower()
    if name not in HEAPS:
        raise ConvcostError(f"--heap must be warm or system, got {heap!r}")
    return name


HeapOpt = Annotated[str, typer.Option(
    "--heap", help="While timing: warm (default: freed memory stays mapped, so a steady-state "
    "run faults no page, as with jemalloc or tcmalloc) or system (the C library as it is: "
    "glibc may hand memory back and fault it in again on every run).", callback=checked_heap)]


def use_heap(heap: str) -> None:
    """Apply ``--heap`` to this process before anything is timed (``warm``: glibc keeps
    freed memory mapped; elsewhere the heap is left as it is, and the records say so)."""
    if heap == "warm":
        from convcost.latency.heap import keep_memory_mapped

        keep_memory_mapped()


TrainOpt = Annotated[bool, typer.Option(
    "--train", help="Also a training step: forward in training mode, the sum of the outputs' "
    "backward(), optimizer.step(), in steady state (the optimizer's state already made).")]
OptimizerOpt = Annotated[str | None, typer.Option(
    "--optimizer", help="sgd, momentum, adam or adamw (implies --train; default adam).")]
def training_optimizer(train: bool, optimizer: str | None) -> str | None:
    """The optimizer of the training step asked for, or None for inference alone:
    ``--optimizer`` implies ``--train``, ``--train`` alone means the default optimizer.
    Checked before any model is built."""
    from convcost.engine.memory import DEFAULT_OPTIMIZER, check_optimizer

    if optimizer is not None:
        return check_optimizer(optimizer)
    return DEFAULT_OPTIMIZER if train else None


AllocatorOpt = Annotated[str, typer.Option(
    "--allocator", help="cpu (64-byte blocks and the CPU convolution's workspace), cuda "
    "(512-byte rounding of the caching allocator) or exact (bytes as requested).")]


def parse_batches(text: str | None) -> list[int] | None:
    """``--batches 1,8,32``: several batch sizes (positive integers, comma-separated)."""
    if text is None:
        return None
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        values = []
    if not values or any(v < 1 for v in values):
        raise ConvcostError(f"--batches takes positive integers separated by commas (1,8,32), "
                            f"got {text!r}")
    return values


def parse_inputs(inputs: list[str] | None) -> list[tuple[int, ...]] | None:
    """``--input`` texts as one sample's shape each (no batch); None when none were given."""
    from convcost.specs import parse_input

    return [parse_input(s) for s in inputs] if inputs else None


def model_and_sizes(spec: str, inputs: list[str] | None, batch: int,
                    device: str) -> tuple[Any, list[Any]]:
    """MODEL resolved once (:func:`convcost.resolve.resolve`) and its input shapes with the
    batch, from ``--input`` or the model's own."""
    from convcost.resolve import resolve

    model = resolve(spec, device)
    return model, model.input_sizes(inputs, batch)


REFRESH_S = 0.1
"""The progress bar is drawn at most this often (seconds)."""


@contextmanager
def progress(fmt: Format | None = None) -> Iterator[Callable[[str, int, int], None] | None]:
    """A rich progress bar on stderr while the block runs — only on a terminal, and never for
    ``--format json`` — as a callable ``step(label, done, total)``; None when quiet. The bar
    is transient: it leaves nothing behind in the scrollback."""
    if fmt is Format.json or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    # no refresh thread: it would run beside timed runs (on a 2-core machine, a tenth of a
    # core 10 times a second); the bar is drawn from step(), between runs, at most 10 times
    # a second
    bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                   TimeElapsedColumn(), console=Console(stderr=True), transient=True,
                   auto_refresh=False)
    task = bar.add_task("", total=None)
    drawn = [0.0]

    def step(label: str, done: int, total: int) -> None:
        bar.update(task, description=label, completed=done, total=total)
        now = time.monotonic()
        if now - drawn[0] >= REFRESH_S:
            drawn[0] = now
            bar.refresh()

    with bar:
        yield step


def main() -> None:
    """Console-script entry point."""
    typer.main.get_command(app).main(prog_name="convcost")


