"""Progress on long work: a bar on stderr only on a terminal, never for JSON or a pipe; the
use cases report each step through a callback."""

from __future__ import annotations

import io

import pytest

from convcost import studies
from convcost.cli._app import Format, progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_quiet_in_a_pipe_and_for_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())  # a pipe: not a terminal
    with progress(Format.table) as step:
        assert step is None
    monkeypatch.setattr("sys.stderr", _Tty())
    with progress(Format.json) as step:
        assert step is None


def test_a_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", _Tty())
    with progress(Format.table) as step:
        assert step is not None
        step("analysing mobilenet_v1", 0, 2)
        step("analysing resnet18", 1, 2)


def test_use_cases_report_each_model() -> None:
    seen: list[tuple[str, int, int]] = []
    studies.compare(["mobilenet_v1", "shufflenet_v2"], [(3, 32, 32)],
                    progress=lambda *a: seen.append(a))
    assert seen == [("analysing mobilenet_v1", 0, 2), ("analysing shufflenet_v2", 1, 2)]
    seen.clear()
    points = studies.zoo_points(["squeezenet1_1"], progress=lambda *a: seen.append(a))
    assert [s[1:] for s in seen] == [(k, len(points)) for k in range(len(points))]
