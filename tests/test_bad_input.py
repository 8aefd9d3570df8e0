"""Everything that is the user's input gets one line on stderr and exit code 2 — never a
traceback, never "internal error" — and nothing is written or run before it is checked.

The corpus: every command × the ways a model spec, an input spec, a number, a path or an
option can be wrong."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli import app

runner = CliRunner()

USER_CODE = textwrap.dedent("""
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)

        def forward(self, x):
            return self.conv(x)

    class Lazy(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.LazyConv2d(8, 3)

        def forward(self, x):
            return self.conv(x)

    def scripted():
        return torch.jit.script(Net())

    def broken():
        raise RuntimeError("factory exploded")

    def leaves():
        raise SystemExit(3)

    NOT_A_MODEL = 42
""")

# model specs that are wrong, and what the one line says ({f}: a file of user code)
BAD_MODELS = [
    ("nosuchmodel", "unknown model 'nosuchmodel'"),
    ("mobilenet_v7", "did you mean"),
    ("mobilenet_v1:width=0.5", "unknown option 'width'"),
    ("mobilenet_v1:width_mult", "for a zoo model's option write mobilenet_v1:width_mult=VALUE"),
    ("mobilenet_v1:width_mult=abc", "expected a number"),
    ("mobilenet_v1:width_mult=0", "a positive number"),
    ("mobilenet_v1:width_mult=1e300", "a number up to 1000"),
    ("mobilenet_v1:width_mult=nan", "a finite number"),
    ("shufflenet_v1:groups=5", "one of 1, 2, 3, 4, 8"),
    ("shufflenet_v1:groups=8,groups=8", "given twice"),
    ("missing_dir/none.py:Net", "does not exist"),
    ("{f}:Nope", "has no attribute 'Nope'"),
    ("{f}:broken", "factory exploded"),
    ("{f}:leaves", "sys.exit(3)"),
    ("{f}:NOT_A_MODEL", "neither an nn.Module"),
    ("{f}:Lazy", "lazy parameters"),
    ("{f}:scripted", "TorchScript"),
    ("{exits}:Net", "sys.exit(2)"),
    ("builtins:exit", "sys.exit(None)"),
    ("no_such_pkg.models:net", "No module named 'no_such_pkg'"),
]
MODEL_COMMANDS = [
    ["layers"], ["compare"], ["summary"], ["check"], ["guidelines"], ["bench", "--runs", "5"],
    ["report", "--out", "{out}"],
]

# one command each: the bad option and what the line says
BAD_OPTIONS = [
    (["layers", "mobilenet_v1", "-i", "abc"], "input spec"),
    (["layers", "mobilenet_v1", "-i", "0"], "positive sizes"),
    (["layers", "mobilenet_v1", "-i", "3x-1x4"], "input spec"),
    (["layers", "mobilenet_v1", "-i", "128:int4"], "unknown dtype 'int4'"),
    (["layers", "mobilenet_v1", "-i", "1" + "0" * 29], "too large"),
    (["layers", "mobilenet_v1", "-b", "0"], "--batch"),
    (["layers", "mobilenet_v1", "-b", "-3"], "--batch"),
    (["layers", "mobilenet_v1", "-b", "x"], "'--batch'"),
    (["layers", "mobilenet_v1", "-b", "1" + "0" * 20], "too large"),
    (["layers", "mobilenet_v1", "--dtype", "int4"], "dtype"),
    (["layers", "mobilenet_v1", "--depth", "-1"], "'--depth'"),
    (["layers", "mobilenet_v1", "--by", "channel"], "'--by'"),
    (["layers", "mobilenet_v1", "--device", "cuda"], "CUDA is not available"),
    (["layers", "mobilenet_v1", "--device", "tpu"], "--device must be meta, cpu or cuda"),
    (["layers", "mobilenet_v1", "-f", "xml"], "'--format'"),
    (["layers", "mobilenet_v1", "-o", "{tmp}"], "is a directory"),
    (["layers", "mobilenet_v1", "-o", "{tmp}/missing/x.txt"], "does not exist"),
    (["layers", "mobilenet_v1", "-o", "{tmp}/" + "n" * 300], "too long"),
    (["layers", "mobilenet_v1", "--nope"], "No such option"),
    (["layers"], "Missing argument"),
    (["compare", "mobilenet_v1", "--sort", "speed"], "--sort"),
    (["compare", "mobilenet_v1", "--sort", "latency_ms"], "needs --bench"),
    (["compare", "mobilenet_v1", "--bench", "--budget", "nan"], "--budget"),
    (["compare", "mobilenet_v1", "--bench", "--budget", "inf"], "--budget"),
    (["compare", "mobilenet_v1", "--bench", "--budget", "0"], "--budget"),
    (["compare", "mobilenet_v1", "--bench", "--threads", "0"], "'--threads'"),
    (["compare", "mobilenet_v1", "--plot", "{tmp}/bars.pdf"], ".png or .svg"),
    (["compare", "mobilenet_v1", "--plot", "{tmp}/missing/bars.png"], "does not exist"),
    (["compare"], "Missing argument"),
    (["zoo", "--family", "unknown"], "no zoo model matches"),
    (["zoo", "-f", "yaml"], "'--format'"),
    (["ratio", "--cin", "8"], "Missing option '--cout'"),
    (["ratio", "--cin", "0", "--cout", "8"], "positive"),
    (["ratio", "--cin", "8", "--cout", "8", "--kernel", "0"], "positive"),
    (["ratio", "--cin", "8", "--cout", "8", "--alpha", "inf"], "finite number > 0"),
    (["ratio", "--cin", "8", "--cout", "8", "--alpha", "nan"], "finite number > 0"),
    (["ratio", "--cin", "8", "--cout", "8", "--alpha", "-1"], "finite number > 0"),
    (["ratio", "--cin", "8", "--cout", "8", "--rho", "0"], "finite number > 0"),
    (["ratio", "--cin", "8", "--cout", "8", "--groups", "3"], "divisor"),
    (["ratio", "--cin", "8", "--cout", "8", "--dtype", "int4"], "dtype"),
    (["ratio", "--cin", "8", "--cout", "8", "--size", "0"], "positive"),
    (["summary", "mobilenet_v1", "--depth", "-2"], "'--depth'"),
    (["summary", "mobilenet_v1", "--style", "keras"], "'--style'"),
    (["summary", "mobilenet_v1", "--col", "flops"], "unknown column"),
    (["summary", "mobilenet_v1", "--style", "torchsummary", "--col", "num_params"], "--col"),
    (["check", "mobilenet_v1", "--peer", "nosuchpeer"], "unknown peer"),
    (["check", "mobilenet_v1", "-i", "224", "-i", "160"], "got more inputs than it takes"),
    (["guidelines"], "give a MODEL"),
    (["guidelines", "resnet18", "--reproduce"], "takes no MODEL"),
    (["guidelines", "resnet18", "--top", "0"], "'--top'"),
    (["guidelines", "--reproduce", "--budget", "nan"], "--budget"),
    (["guidelines", "--reproduce", "--rounds", "0"], "'--rounds'"),
    (["guidelines", "--reproduce", "--threads", "0"], "'--threads'"),
    (["guidelines", "resnet18", "--bench", "--dtype", "float16"], "float32 only"),
    (["report", "mobilenet_v1"], "Missing option '--out'"),
    (["report", "mobilenet_v1", "--out", "{tmp}/missing/rep"], "does not exist"),
    (["report", "mobilenet_v1", "--out", "{file}"], "is a file"),
    (["report", "mobilenet_v1", "--out", "{foreign}", "--force"], "not a convcost report"),
    (["report", "mobilenet_v1", "--out", "{foreign}"], "already exists"),
    (["plot", "pie", "--out", "{tmp}/p.png"], "'pie' is not one of"),
    (["plot", "ratio", "--out", "{tmp}/p.jpg"], ".png or .svg"),
    (["plot", "accuracy", "--out", "{tmp}/p.png", "--x", "latency_ms"], "needs --latency"),
    (["plot", "accuracy", "--out", "{tmp}/p.png", "--latency", "{file}"], "cannot read JSON"),
    (["plot", "accuracy", "nosuchmodel", "--out", "{tmp}/p.png"], "unknown model"),
    (["plot", "sweep", "resnet18", "--out", "{tmp}/p.png"], "no width_mult option"),
    (["plot", "sweep", "a", "b", "--out", "{tmp}/p.png"], "takes one MODEL, got 2"),
    (["plot", "accuracy", "--out", "{tmp}/p.png", "-m", "mobilenet_v1"],
     "plot takes its models as arguments"),
    (["plot", "memory", "--out", "{tmp}/p.png"], "plot memory takes one MODEL"),
    (["plot", "ratio", "mobilenet_v1", "--out", "{tmp}/p.png"], "plot ratio takes no MODEL"),
    (["plot", "ratio"], "give the image file"),
    (["plot", "ratio", "--out", "{tmp}/p.png", "--format", "svg"], "is a .png file but"),
    (["plot", "ratio", "--out", "{tmp}/p", "--format", "jpg"], "png or svg for a figure"),
    (["report", "mobilenet_v1", "--out", "{tmp}/r", "--format", "table"],
     "report --format takes md, html, json, csv"),
    (["bench", "mobilenet_v1", "--runs", "2"], "'--runs'"),
    (["bench", "mobilenet_v1", "--warmup", "-1"], "'--warmup'"),
    (["bench", "mobilenet_v1", "--threads", "0"], "'--threads'"),
    (["bench", "mobilenet_v1", "--device", "cuda"], "CUDA is not available"),
    (["bench", "mobilenet_v1", "-b", "0"], "--batch"),
    (["bench", "mobilenet_v1", "--device", "meta"], "no time to measure"),
    (["bench", "mobilenet_v1", "--heap", "jemalloc"], "--heap must be warm or system"),
    (["calibrate", "--device", "meta"], "no time to measure"),
    (["bench", "mobilenet_v1", "--batches", "1,x"], "--batches takes positive integers"),
    (["bench", "mobilenet_v1", "--batches", "0"], "--batches takes positive integers"),
    (["bench", "mobilenet_v1", "--batches", "1,8", "-b", "4"], "not both"),
    (["bench", "mobilenet_v1", "--budget", "nan"], "--budget"),
    (["calibrate", "--device", "cuda"], "CUDA is not available"),
    (["calibrate", "--threads", "0"], "'--threads'"),
    (["nosuchcommand"], "No such command"),
]


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, str]:
    code = tmp_path / "user_net.py"
    code.write_text(USER_CODE)
    exits = tmp_path / "exits.py"
    exits.write_text("import argparse\nargparse.ArgumentParser().parse_args(['--nope'])\n")
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("years of work")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not json")
    return {"f": str(code), "exits": str(exits), "tmp": str(tmp_path),
            "out": str(tmp_path / "report"), "foreign": str(foreign), "file": str(a_file)}


def _one_line_exit_2(args: list[str]) -> str:
    r = runner.invoke(app, args)
    assert r.exit_code == 2, (args, r.exit_code, r.stdout[-300:], r.stderr[-600:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, (args, r.stderr)
    assert lines[0].startswith("convcost: error: ") and "internal error" not in lines[0]
    assert "Traceback" not in r.stderr
    return lines[0]


@pytest.mark.parametrize("command", MODEL_COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize(("spec", "message"), BAD_MODELS, ids=[m for m, _ in BAD_MODELS])
def test_every_command_rejects_a_bad_model(paths: dict[str, str], command: list[str],
                                           spec: str, message: str) -> None:
    cmd = [c.format(**paths) for c in command]
    line = _one_line_exit_2([cmd[0], spec.format(**paths), *cmd[1:], "-i", "32"])
    assert message in line
    assert not Path(paths["out"]).exists()  # report: nothing written


@pytest.mark.parametrize(("args", "message"), BAD_OPTIONS,
                         ids=[" ".join(a)[:60] for a, _ in BAD_OPTIONS])
def test_every_bad_option_is_one_line(paths: dict[str, str], args: list[str],
                                      message: str) -> None:
    line = _one_line_exit_2([a.format(**paths) for a in args])
    assert message in line
    assert (Path(paths["foreign"]) / "thesis.tex").read_text() == "years of work"


def test_the_corpus_is_large() -> None:
    assert len(BAD_MODELS) * len(MODEL_COMMANDS) + len(BAD_OPTIONS) >= 120


def test_debug_anywhere_and_a_bare_command() -> None:
    r = runner.invoke(app, ["layers", "nosuchmodel", "--debug"])
    assert r.exit_code != 0 and "ModelSpecError" in repr(r.exception)  # the traceback path
    r = runner.invoke(app, [])
    assert r.exit_code == 0 and "Usage: convcost" in r.stdout and r.stderr == ""
