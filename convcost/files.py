"""The one atomic writer: every file and folder convcost writes goes through here.

A file is written to a temporary name beside its target and renamed onto it when complete
(a symlink written through, a stream such as ``/dev/stdout`` written into, never replaced); a
new report folder is filled under a temporary name and renamed into place, an existing one is
updated file by file through its manifest, so nothing convcost did not write is ever touched.
Nothing half-written is ever left under a target name.
Standard library only.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from convcost.errors import ConvcostError, InvalidArgumentError


def _target(out: Path) -> Path:
    """Where writing ``out`` really lands: through a symlink (the link itself is kept); a
    stream (``/dev/stdout`` is a link to one) is written as it is named."""
    if _is_stream(out) or not out.is_symlink():
        return out
    return Path(os.path.realpath(out))


def _is_stream(path: Path) -> bool:
    """An existing node that is not a regular file (``/dev/stdout``, ``/dev/null``, a FIFO):
    written to in place, never replaced."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _failed(out: Path, exc: OSError) -> ConvcostError:
    if exc.errno == errno.ENOSPC:
        return ConvcostError(f"cannot write {out}: no space left on the device")
    return ConvcostError(f"cannot write {out}: {exc.strerror or exc}")


def check_writable(out: Path, what: str = "--out") -> Path:
    """``out`` can be written: not a directory, its folder exists and is writable, its name
    fits the file system. Checked before any work, so a bad path costs nothing."""
    try:
        return _check_writable(out, what)
    except OSError as exc:  # a name too long to even look up, a loop of links, ...
        raise _failed(out, exc) from exc


def _check_writable(out: Path, what: str) -> Path:
    target = _target(out)
    if target.is_dir():
        raise ConvcostError(f"{what} {out} is a directory; give a file path")
    if _is_stream(target):
        return out
    folder = target.parent
    if not folder.is_dir():
        raise ConvcostError(f"{what}: folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConvcostError(f"{what}: folder {folder} is not writable")
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(target.name.encode()) > limit - len(_TMP_PREFIX) - 12:
        raise ConvcostError(f"{what}: file name {target.name[:40]}... is too long for this "
                            f"file system (at most {limit - len(_TMP_PREFIX) - 12} bytes)")
    return out


_TMP_PREFIX = ".convcost-tmp-"


@contextmanager
def atomic_path(out: Path) -> Iterator[Path]:
    """A temporary path to write ``out``'s content to; when the block succeeds it replaces
    ``out`` in one rename (a symlink is written through; an existing file keeps its
    permissions, a new one gets 0644), and when it fails it is removed: never a half-written
    file. A stream (``/dev/stdout``, ``/dev/null``) gets the bytes written into it instead.
    An OSError becomes one :class:`ConvcostError` naming ``out``."""
    target = _target(out)
    stream = _is_stream(target)
    folder = Path(tempfile.gettempdir()) if stream else target.parent
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=_TMP_PREFIX, suffix=target.suffix)
        os.close(fd)
    except OSError as exc:
        raise _failed(out, exc) from exc
    try:
        yield Path(tmp)
        if stream:
            with open(target, "wb") as sink:
                sink.write(Path(tmp).read_bytes())
            Path(tmp).unlink()
            return
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            mode = 0o644  # mkstemp creates 0600
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _failed(out, exc) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


MANIFEST = ".convcost-report"
"""The file in a report folder listing what convcost wrote there (one name per line after
the header): ``--force`` replaces those and never touches anything else."""
_HEADER = ("convcost report folder; files convcost wrote "
           "(convcost report --force replaces only these):")


def _manifest(folder: Path) -> set[str] | None:
    """The names convcost wrote in ``folder``, None when it has no manifest. A manifest from
    before the list was kept names only the two report pages."""
    try:
        lines = (folder / MANIFEST).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    names = {ln for ln in lines[1:] if ln and "/" not in ln and ln not in (".", "..")}
    return names if lines and lines[0] == _HEADER else {"report.md", "report.html"}


def check_report_folder(out: Path, force: bool) -> None:
    """``out`` may receive a report: absent (its folder existing), empty, or, with ``force``,
    a folder convcost wrote a report into (its manifest present). Checked before any work."""
    try:
        exists = out.exists() or out.is_symlink()
        if exists and not out.is_dir():
            raise InvalidArgumentError(f"--out {out} is a file; give a folder for the report")
        if not out.parent.is_dir():
            raise InvalidArgumentError(f"--out: folder {out.parent} does not exist; create it "
                                       "first")
        if not exists or not any(out.iterdir()):
            return
        if not force:
            raise InvalidArgumentError(f"{out} already exists; pass --force to replace the report "
                                "convcost wrote there")
        if _manifest(out) is None:
            raise InvalidArgumentError(f"{out} is not a convcost report folder (no {MANIFEST}); "
                                "give a new or empty folder for --out")
    except OSError as exc:
        raise _failed(out, exc) from exc


def write_report_folder(out: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write ``files`` (name -> bytes) as the report folder ``out``.

    A new (or empty) folder is filled under a temporary name beside it and renamed into place
    in one step. An existing report folder is updated in place, file by file, each file
    replaced atomically; then the files the previous report listed and this one does not are
    removed. The manifest lists the old and the new names while this happens and the new
    ones at the end. Files convcost did not write stay, ``out`` exists at every instant, and
    each file in it is either the previous report's or this one's, whole. Returns the written
    paths.
    """
    manifest = _HEADER + "\n" + "".join(f"{name}\n" for name in sorted(files))
    try:
        previous = _manifest(out) if out.is_dir() else None
        if previous is None:
            tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name[:40]}.tmp-"))
            try:
                for name, data in files.items():
                    (tmp / name).write_bytes(data)
                (tmp / MANIFEST).write_text(manifest, encoding="utf-8")
                os.chmod(tmp, 0o755)  # mkdtemp makes 0700
                os.replace(tmp, out)  # onto a new name, or an empty folder
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        else:
            # the manifest first lists old and new names: a failure anywhere below leaves a
            # manifest that covers every file convcost wrote, so the next --force cleans up
            with atomic_path(out / MANIFEST) as part:
                part.write_text(_HEADER + "\n" + "".join(
                    f"{name}\n" for name in sorted(previous | set(files))), encoding="utf-8")
            for name, data in files.items():
                with atomic_path(out / name) as part:
                    part.write_bytes(data)
            for name in sorted(previous - set(files)):
                stale = out / name
                if stale.is_file() and not stale.is_symlink():
                    stale.unlink()
            with atomic_path(out / MANIFEST) as part:
                part.write_text(manifest, encoding="utf-8")
    except OSError as exc:
        raise _failed(out, exc) from exc
    return [out / name for name in files]


__all__ = ["MANIFEST", "atomic_path", "check_report_folder", "check_writable",
           "write_report_folder"]
