"""One option vocabulary across the commands: the same name means the same thing everywhere.

- ``--device``: where the model runs (meta, cpu or cuda[:N]), one help sentence; commands that
  time the model refuse meta (it computes nothing).
- ``-b/--batch``: one batch size, a positive integer, in every command that takes a batch
  (``bench --batches 1,8,32`` sweeps several).
- Models are arguments in every command; no visible ``--model`` option.
- ``-f/--format`` on every command that prints or writes figures.
"""

from __future__ import annotations

from typing import Any

import pytest
import typer

from convcost.cli import app

COMMANDS = typer.main.get_command(app).commands  # type: ignore[attr-defined]


def _option(cmd: Any, name: str) -> Any:
    """The option ``name`` of a (typer's click) command, or None."""
    for p in cmd.params:
        if p.param_type_name == "option" and name in p.opts:
            return p
    return None


def test_every_command_is_covered() -> None:
    assert set(COMMANDS) == {"ratio", "layers", "compare", "zoo", "summary", "check",
                             "guidelines", "memory", "report", "plot", "bench", "calibrate"}


NO_DEVICE = {"check", "guidelines", "plot", "ratio", "zoo"}
"""Commands without ``--device``: check runs the model for real and through every peer (each
where it runs), ratio is arithmetic on one layer, zoo, plot and guidelines choose for
themselves."""
TIMED = {"bench", "calibrate"}
"""Commands that time the model: ``--device cpu`` by default (meta computes nothing)."""


def test_which_commands_take_a_device() -> None:
    assert {n for n, c in COMMANDS.items() if _option(c, "--device") is None} == NO_DEVICE


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - NO_DEVICE))
def test_device_means_where_the_model_runs(name: str) -> None:
    opt = _option(COMMANDS[name], "--device")
    assert opt is not None, f"{name} has no --device"
    assert opt.help is not None and "Where the model runs" in opt.help
    # the commands that time the model run it on the CPU, every other one on meta
    assert opt.default == ("cpu" if name in TIMED else "meta") and not opt.multiple
    assert f"Default here: {opt.default}." in opt.help


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_batch_is_one_positive_integer(name: str) -> None:
    opt = _option(COMMANDS[name], "--batch")
    if opt is None:
        assert name in ("zoo", "calibrate"), f"{name} takes no --batch"
        return
    assert "-b" in opt.opts and not opt.multiple and opt.default == 1
    assert opt.min == 1  # an integer range starting at 1


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_models_are_arguments_and_format_is_everywhere(name: str) -> None:
    cmd = COMMANDS[name]
    model = _option(cmd, "--model")
    assert model is None or model.hidden, f"{name} has a visible --model"
    fmt = _option(cmd, "--format")
    assert fmt is not None and "-f" in fmt.opts, f"{name} has no -f/--format"


ARGUMENTS = {
    "bench": ["models"], "check": ["models"], "compare": ["models"], "layers": ["model"],
    "memory": ["models"], "report": ["models"], "summary": ["model"],
    "guidelines": ["model"],  # optional: not needed with --reproduce
    "plot": ["kind", "models"],  # the kind first; models optional (ratio takes none)
    "calibrate": [], "ratio": [], "zoo": [],  # no model: the machine, arithmetic, the zoo
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_models_are_positional_arguments(name: str) -> None:
    """Every command that costs a model takes it as a positional ``model`` (one) or
    ``models`` (several); only calibrate, ratio and zoo take none."""
    args = [p.name for p in COMMANDS[name].params if p.param_type_name == "argument"]
    assert args == ARGUMENTS[name]
    many = {p.name: p.nargs for p in COMMANDS[name].params if p.param_type_name == "argument"}
    assert many.get("models", -1) == -1 and many.get("model", 1) == 1


def test_timing_commands_refuse_meta() -> None:
    from typer.testing import CliRunner

    runner = CliRunner()
    for args in (["bench", "mobilenet_v1"], ["calibrate"]):
        r = runner.invoke(app, [*args, "--device", "meta"])
        assert r.exit_code == 2 and "no time to measure" in r.output
        assert r.output.count("\n") == 1
