"""Progress on long work: a bar on stderr only on a terminal, never for JSON or a pipe; the
use cases report each step through a callback."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from convcost import studies
from convcost.cli import _app
from convcost.cli._app import REFRESH_S, Format, progress
from convcost.studies.bench import PROGRESS_STEPS


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
    """The bar is drawn on the terminal from step(), at most once every REFRESH_S seconds
    (10 times a second): a step sooner than that after the last drawing updates the bar
    without drawing it."""
    tty = _Tty()
    monkeypatch.setattr("sys.stderr", tty)
    for var in ("TERM", "TTY_INTERACTIVE", "TTY_COMPATIBLE", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(var, raising=False)  # rich reads these to decide what it draws
    monkeypatch.setenv("TERM", "xterm-256color")
    now = [1_000.0]
    monkeypatch.setattr(_app, "time", SimpleNamespace(monotonic=lambda: now[0]))
    with progress(Format.table) as step:
        assert step is not None
        step("analysing mobilenet_v1", 0, 4)  # the first step: drawn
        assert "analysing mobilenet_v1" in tty.getvalue() and "  0%" in tty.getvalue()
        now[0] += REFRESH_S / 2  # sooner than REFRESH_S after that drawing: not drawn
        step("analysing resnet18", 1, 4)
        assert "analysing resnet18" not in tty.getvalue()
        now[0] += REFRESH_S  # 1.5 REFRESH_S after the last drawing: drawn, 3 of 4 done
        step("analysing squeezenet1_1", 3, 4)
        assert "analysing squeezenet1_1" in tty.getvalue() and " 75%" in tty.getvalue()
        assert "analysing resnet18" not in tty.getvalue()


def test_use_cases_report_each_model() -> None:
    seen: list[tuple[str, int, int]] = []
    studies.compare(["mobilenet_v1", "shufflenet_v2"], [(3, 32, 32)],
                    progress=lambda *a: seen.append(a))
    assert seen == [("analysing mobilenet_v1", 0, 2), ("analysing shufflenet_v2", 1, 2)]
    seen.clear()
    points = studies.zoo_points(["squeezenet1_1"], progress=lambda *a: seen.append(a))
    # torchvision publishes one result for squeezenet1_1, at 224: one point, one step
    assert len(points) == 1
    assert seen == [("analysing squeezenet1_1 @224", 0, 1)]


def test_check_reports_each_model_and_peer() -> None:
    seen: list[tuple[str, int, int]] = []
    studies.check(["mobilenet_v1", "squeezenet1_1"], [(3, 32, 32)], peers=["real", "fvcore"],
                  progress=lambda *a: seen.append(a))
    # per model: convcost's analysis, the recorded runs, then each peer: 4 steps, 8 in all
    assert [(label, done) for label, done, _ in seen] == [
        ("mobilenet_v1: convcost", 0), ("mobilenet_v1: recorded runs", 1),
        ("mobilenet_v1: real", 2), ("mobilenet_v1: fvcore", 3),
        ("squeezenet1_1: convcost", 4), ("squeezenet1_1: recorded runs", 5),
        ("squeezenet1_1: real", 6), ("squeezenet1_1: fvcore", 7)]
    assert {total for *_, total in seen} == {8}


def test_calibration_reports_each_micro_benchmark(tmp_path: object,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from convcost.latency import calibrate as cal_mod

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    seen: list[tuple[str, int, int]] = []
    cal_mod.calibrate("cpu", 1, rounds=2, sampler=lambda bench, r: [0.010] * 5,
                      progress=lambda *a: seen.append(a))
    n = len(cal_mod.MICRO_BENCHMARKS)
    assert [done for _, done, _ in seen] == list(range(2 * n))
    assert {total for *_, total in seen} == {2 * n}
    assert seen[0][0] == f"calibrating: {cal_mod.MICRO_BENCHMARKS[0].name} (round 1/2)"
    seen.clear()
    cal_mod.calibrate("cpu", 1, progress=lambda *a: seen.append(a))  # the cache answers
    assert seen == []


def test_bench_progress_runs_to_the_end_then_names_each_profiled_model() -> None:
    """The timing is reported as the share of the whole measurement done (it used to be runs
    out of --runs, which a budget ends early: the bar stopped at 6 %)."""
    seen: list[tuple[str, int, int]] = []
    studies.bench(["mobilenet_v3_small", "squeezenet1_1"], [(3, 32, 32)], threads=1,
                  budget_s=0.001, runs=200, warmup=0, rounds=2, layers=True,
                  progress=lambda *a: seen.append(a))
    timing = [s for s in seen if s[0].startswith("timing ")]
    assert PROGRESS_STEPS == 1000  # the share done, in thousandths
    assert timing[-1][1:] == (PROGRESS_STEPS, PROGRESS_STEPS)
    assert {total for *_, total in timing} == {PROGRESS_STEPS}
    assert [d for _, d, _ in timing] == sorted(d for _, d, _ in timing)
    assert [s for s in seen if not s[0].startswith("timing ")] == [
        ("profiling mobilenet_v3_small 1×3×32×32", 0, 2),
        ("profiling squeezenet1_1 1×3×32×32", 1, 2)]


def test_memory_fit_reports_each_batch_it_tries() -> None:
    seen: list[str] = []
    rep = studies.memory("squeezenet1_1", [(3, 32, 32)], fit="64MiB",
                         progress=seen.append)
    assert rep.fit is not None
    # one inference at batch 1 (the report's, which the search starts from), then each batch
    # the search tried (its record keeps them all, batch 1 first): none simulated twice
    assert seen == [f"inference at batch {b}" for b in rep.fit.tried]
    assert next(iter(rep.fit.tried)) == 1 and len(seen) == len(set(seen))


def test_the_bar_runs_no_thread_beside_timed_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich's bars redraw from a thread of their own by default, 10 times a second, beside
    whatever is being timed; convcost's draws only from step(), between runs."""
    import threading

    monkeypatch.setattr("sys.stderr", _Tty())
    before = threading.active_count()
    with progress(Format.table) as step:
        assert step is not None
        step("timing mobilenet_v1", 1, 10)
        assert threading.active_count() == before
