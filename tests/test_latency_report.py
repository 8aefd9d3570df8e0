"""What ``bench`` and ``compare --bench`` say about measured differences, and the per-layer
table of ``bench --layers --predict``: rendered from injected records, no timing."""

from __future__ import annotations

from typing import Any

import convcost
from convcost.records.compare import Compared
from convcost.report.compare import compare_table
from convcost.report.latency import layers_table, measurement_notes


def _rec(model: str, median: float, **kw: Any) -> dict[str, Any]:
    return {"model": model, "input": [1, 3, 224, 224], "median_ms": median, "noise": 0.02,
            "rounds": 3, "outliers": 1, **kw}


def test_bench_notes_rank_only_significant_differences() -> None:
    faster = {"model": "a", "ratio": 0.8, "ratio_low": 0.75, "ratio_high": 0.85,
              "significant": True}
    overlap = {"model": "a", "ratio": 0.97, "ratio_low": 0.9, "ratio_high": 1.05,
               "significant": False}
    notes = measurement_notes([_rec("a", 10.0), _rec("b", 8.0, vs_first=faster),
                               _rec("c", 9.7, vs_first=overlap)])
    # 1 / 0.8 = 1.25× faster; c is not ranked against a
    assert "b runs 1.25× faster than a (0.75–0.85× its time)" in notes
    assert "c vs a: difference not significant (the intervals overlap; 0.90–1.05× its time)" \
        in notes
    assert not any("c runs" in n for n in notes)
    assert notes[0].startswith("noise (robust spread of the runs, 1.4826·MAD / median): 2.0%")
    assert "3 interleaved rounds; 3 outlying runs set aside" in notes[0]


def test_compare_says_not_significant_instead_of_ranking(
        pair: tuple[convcost.Analysis, convcost.Analysis]) -> None:
    mob, shuf = pair
    base = {"median_ms": 210.0, "iqr_ms": 40.0}
    # the case: 291 ms, an interval overlapping the first model's
    noisy = {"median_ms": 291.0, "iqr_ms": 224.0,
             "vs_first": {"model": "mobilenet_v1", "ratio": 291 / 210, "ratio_low": 0.8,
                          "ratio_high": 2.1, "significant": False}}
    table = compare_table([Compared(mob, latency=base), Compared(shuf, latency=noisy)])
    assert "speed not significantly different" in table.rows[1][-1]
    assert "slower" not in table.rows[1][-1]
    note = next(n for n in table.notes if n.startswith("measured:"))
    assert "not significant" in note and "slower" not in note
    # sorted by latency, shufflenet (now 150 ms) comes first and mobilenet is compared with
    # it: the verdict shufflenet carries about mobilenet applies to that pair too
    quick = {**noisy, "median_ms": 150.0}
    table = compare_table([Compared(mob, latency=base), Compared(shuf, latency=quick)],
                          sort="latency_ms")
    assert [r[0] for r in table.rows] == ["shufflenet_v2", "mobilenet_v1"]
    assert "speed not significantly different" in table.rows[1][-1]
    # a significant difference is ranked as before: 291 / 210 = 1.4× slower
    apart = {**noisy, "vs_first": {**noisy["vs_first"], "ratio_low": 1.2, "significant": True}}
    table = compare_table([Compared(mob, latency=base), Compared(shuf, latency=apart)])
    assert "1.4× slower" in table.rows[1][-1]


def test_layers_table_sorted_by_time_with_error_and_total() -> None:
    layers = [
        {"name": "a", "module": "Conv2d", "ops": ["conv2d"], "measured_ms": 1.0, "madds": 10,
         "mem_bytes": 100, "predicted_ms": 1.2, "error": 0.2},
        {"name": "b", "module": "ReLU", "ops": ["relu"], "measured_ms": 3.0, "madds": 0,
         "mem_bytes": 50, "predicted_ms": 2.4, "error": -0.2},
    ]
    rec = {"model": "m", "input": [1, 3, 8, 8], "layers": layers,
           "layers_total": {"measured_ms": 4.0, "madds": 10, "mem_bytes": 150,
                            "predicted_ms": 3.6, "error": -0.1, "predicted_model_ms": 3.7}}
    t = layers_table(rec)
    assert [r[0] for r in t.rows] == ["b", "a", "total"]  # slowest first, the total last
    assert t.columns[-2:] == ["predicted ms", "error"]
    assert t.rows[0][-1] == "-20%" and t.rows[1][-1] == "+20%"
    assert t.rows[2][3] == "4.000" and t.rows[2][-2:] == ["3.600", "-10%"]
    assert any("whole model predicted: 3.700 ms" in n for n in t.notes)
