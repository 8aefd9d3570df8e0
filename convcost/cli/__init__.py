"""The ``convcost`` command line: parse, call the library, render, exit code.

No arithmetic and no state here. Bad input (:class:`~convcost.errors.ConvcostError` or a
usage error) prints one line on stderr and exits 2; any other failure exits 1 with one line,
and ``--debug`` shows the traceback instead.

``_app`` holds the typer app, the shared options and the renderers; each command family lives
in its own module, imported here so that it registers its commands.
"""

from __future__ import annotations

import importlib

from convcost.cli._app import Format, app, emit, main, write_text

# one module per command family; each registers its commands on ``app`` when imported
COMMAND_MODULES = ("models", "summary", "check", "guidelines", "visual", "latency", "memory")
for _name in COMMAND_MODULES:
    importlib.import_module(f"convcost.cli.{_name}")

__all__ = ["Format", "app", "emit", "main", "write_text"]
