"""The one atomic writer: every file and folder convcost writes goes through here.

A file is written to a temporary name beside its target and renamed onto it when complete; a
folder is filled under a temporary name beside it and renamed into place, the previous one
kept aside until the new one is in. Nothing half-written is ever left under the target name.
Standard library only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(out: Path) -> Iterator[Path]:
    """A temporary path beside ``out`` to write to; renamed onto ``out`` (mode 0644) when the
    block succeeds, removed when it fails: never a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}.", suffix=out.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_folder(out: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write ``files`` (name -> bytes) as the folder ``out``, replacing an existing one as a
    whole: the new folder is complete before it takes the name, and the old one is put back
    if anything fails. Returns the written paths."""
    parent = out.parent
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.tmp-"))
    old: Path | None = None
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.old-"))
            os.replace(out, old / out.name)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists():  # put the previous folder back
            os.replace(old / out.name, out)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return [out / name for name in files]


__all__ = ["atomic_path", "write_folder"]
