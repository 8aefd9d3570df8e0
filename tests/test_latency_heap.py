"""The heap while timing (:mod:`convcost.latency.heap`): page faults counted per timed run,
reported, and gone in steady state once freed memory is kept mapped."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from convcost.latency import measure as measure_mod
from convcost.latency.measure import measure_interleaved
from convcost.report.latency import FAULTY_RUN, heap_notes


def test_faults_are_counted_per_timed_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each call of ``a`` faults 7 pages, of ``b`` none; warm-up calls fault too but are not
    counted: the record says 7 and 0 per timed run."""
    count = [0]
    monkeypatch.setattr(measure_mod, "page_faults", lambda: count[0])

    def a() -> None:
        count[0] += 7

    ticks = iter(float(i) * 1e-3 for i in range(10_000))
    out = measure_interleaved({"a": a, "b": lambda: None}, warmup=2, min_runs=4, max_runs=4,
                              budget_s=0.0, rounds=2, clock=ticks.__next__)
    assert out["a"].page_faults == 7.0 and out["b"].page_faults == 0.0
    assert out["a"].to_dict()["page_faults"] == 7.0


def test_the_record_names_the_heap_it_was_timed_with(monkeypatch: pytest.MonkeyPatch) -> None:
    """``heap`` is :func:`~convcost.latency.heap.heap_state` at the time of the measurement:
    made "warm" here (the test process' own heap is left alone), the record says so."""
    monkeypatch.setattr(measure_mod, "heap_state", lambda: "warm")
    ticks = iter(float(i) * 1e-3 for i in range(10_000))
    out = measure_interleaved({"a": lambda: None}, warmup=0, min_runs=2, max_runs=2,
                              budget_s=0.0, rounds=1, clock=ticks.__next__)
    assert out["a"].heap == "warm" and out["a"].to_dict()["heap"] == "warm"


def test_notes_name_the_heap_and_the_models_that_fault() -> None:
    calm = {"model": "calm", "page_faults": 0.0, "heap": "system"}
    busy = {"model": "busy", "page_faults": float(FAULTY_RUN * 20), "heap": "system"}
    assert heap_notes([calm]) == ["heap: system (the C library's own); page faults per timed "
                                  "run: 0"]
    notes = heap_notes([calm, busy])
    assert notes[0].endswith("page faults per timed run: 0–1,000")
    assert notes[1].startswith("page faults per run: busy 1,000 (")
    assert "--heap warm keeps it mapped" in notes[1]
    assert heap_notes([{"model": "old record"}]) == []  # records from before: no note


def test_a_model_is_named_from_faulty_run_faults_per_run() -> None:
    """FAULTY_RUN (50) is the edge: 49 faults per run name no model, 50 do."""
    assert FAULTY_RUN == 50
    below = {"model": "below", "page_faults": float(FAULTY_RUN - 1), "heap": "system"}
    at = {"model": "at", "page_faults": float(FAULTY_RUN), "heap": "system"}
    assert heap_notes([below]) == ["heap: system (the C library's own); page faults per timed "
                                   "run: 49"]
    notes = heap_notes([below, at])
    assert len(notes) == 2 and notes[1].startswith("page faults per run: at 50 (")
    assert "below" not in notes[1]


def test_notes_of_a_warm_heap_blame_the_blocks_it_cannot_keep() -> None:
    """With the warm heap, faults that remain come from blocks above glibc's 32 MiB mmap
    ceiling (heap.MMAP_THRESHOLD_MAX); --heap warm is not offered, it is already on."""
    calm = {"model": "calm", "page_faults": 0.0, "heap": "warm"}
    big = {"model": "big", "page_faults": 8_192.0, "heap": "warm"}
    assert heap_notes([calm]) == ["heap: warm (freed memory kept mapped); page faults per "
                                  "timed run: 0"]
    assert heap_notes([calm, big]) == [
        "heap: warm (freed memory kept mapped); page faults per timed run: 0–8,192",
        "page faults per run: big 8,192 (memory handed back to the system and faulted in "
        "again on every run: blocks above 32 MiB, which glibc always maps afresh)"]


_STEADY_STATE = """
import json, sys, torch
from torch import nn
from convcost.latency.heap import keep_memory_mapped
from convcost.latency.measure import measure_model
torch.set_num_threads(1)
applied = keep_memory_mapped() if sys.argv[1] == "warm" else False
# a depthwise 3x3 conv on a 32x112x112 map: its output and oneDNN's blocked copies of input
# and output (3 x 32*112*112*4 B = 4,816,896 B, 4.6 MiB) are allocated afresh on every call
conv = nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False)
m = measure_model(conv, (1, 32, 112, 112), threads=1, warmup=3, min_runs=20, max_runs=20,
                  budget_s=0.0)
print(json.dumps({"applied": applied, "faults": m.page_faults, "heap": m.heap}))
"""


def _steady_state(heap: str) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-c", _STEADY_STATE, heap], capture_output=True,
                          text=True, timeout=120, check=True)
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_warm_heap_faults_no_page_in_steady_state() -> None:
    """In processes of their own (the setting lasts for the process): after the warm-up, a
    conv whose buffers glibc hands back faults them in again on every call with the system
    heap (the control) and (almost) never with the warm heap.

    The buffers: 3 × 32·112·112·4 B = 4,816,896 B (4.6 MiB) = 1,176 pages of 4 KiB (the
    output and oneDNN's blocked copies of input and output). Measured with the system heap:
    752 and 1,144 faults per call in two runs (1,144 in commit 6844bef, 1.9 ms instead of
    0.17 ms; how many of the pages glibc keeps mapped depends on the heap's history); with
    the warm heap: 0. The control's bound, 100, is far below either."""
    assert 3 * 32 * 112 * 112 * 4 == 4_816_896 == 1_176 * 4096
    system = _steady_state("system")
    assert system["applied"] is False and system["heap"] == "system"
    assert isinstance(system["faults"], float) and system["faults"] > 100, system
    warm = _steady_state("warm")
    assert warm["applied"] is True and warm["heap"] == "warm"
    assert isinstance(warm["faults"], float) and warm["faults"] < 5, warm
