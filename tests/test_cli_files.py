"""``--out`` and the user's files: written through links, into streams, never replacing a
device, a directory or a link, keeping permissions; every OS failure one line, exit 2."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli import app

runner = CliRunner()
CSV = ["ratio", "--cin", "8", "--cout", "8", "-f", "csv"]


def _ok(*extra: str) -> None:
    r = runner.invoke(app, [*CSV, *extra])
    assert r.exit_code == 0, r.stderr


def _fails(*extra: str) -> str:
    r = runner.invoke(app, [*CSV, *extra])
    assert r.exit_code == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "internal error" not in lines[0], r.stderr
    return lines[0]


def test_a_symlink_is_written_through_and_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    _ok("--out", str(link))
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().startswith("design,")


def test_an_existing_file_keeps_its_permissions(tmp_path: Path) -> None:
    out = tmp_path / "ratio.csv"
    out.write_text("old")
    out.chmod(0o600)
    _ok("--out", str(out))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    new = tmp_path / "new.csv"
    _ok("--out", str(new))
    assert stat.S_IMODE(new.stat().st_mode) == 0o644


def test_a_directory_is_refused(tmp_path: Path) -> None:
    assert "is a directory" in _fails("--out", str(tmp_path))
    link = tmp_path / "dirlink"
    link.symlink_to(tmp_path)
    assert "is a directory" in _fails("--out", str(link))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing/x.csv", "does not exist"),
        ("a" * 300 + ".csv", "too long"),
    ],
)
def test_bad_paths_fail_before_any_work(tmp_path: Path, name: str, message: str) -> None:
    assert message in _fails("--out", str(tmp_path / name))


def test_a_read_only_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # root may write anywhere, so the folder's answer to access(W_OK) is what is simulated
    import convcost.files

    monkeypatch.setattr(convcost.files.os, "access", lambda path, mode: False)
    assert "not writable" in _fails("--out", str(tmp_path / "x.csv"))


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_devices_are_streams_never_replaced() -> None:
    # run as a real process: the device nodes must be written into, not renamed over
    exe = [sys.executable, "-m", "convcost", *CSV]
    full = subprocess.run([*exe, "--out", "/dev/full"], capture_output=True, text=True,
                          timeout=120)
    assert full.returncode == 2
    assert full.stderr.strip() == ("convcost: error: cannot write /dev/full: no space left on "
                                   "the device")
    null = subprocess.run([*exe, "--out", "/dev/null"], capture_output=True, text=True,
                          timeout=120)
    assert null.returncode == 0 and null.stderr == ""
    out = subprocess.run([*exe, "--out", "/dev/stdout"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("design,")
    for dev in ("/dev/null", "/dev/full"):
        assert stat.S_ISCHR(os.stat(dev).st_mode), f"{dev} was replaced"
