"""``convcost compare --bench``: measured latency joins the table, the JSON and the notes.

Nothing here depends on how fast anything runs: the table and notes are built from injected
latencies, and the CLI run only checks the shape of what it measured.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import convcost
from convcost.cli import app
from convcost.records.compare import Compared
from convcost.report.compare import compare_table, sort_items

runner = CliRunner()


def _lat(median_ms: float, iqr_ms: float = 0.5) -> dict[str, object]:
    return {"median_ms": median_ms, "iqr_ms": iqr_ms, "threads": 1, "device": "cpu"}


def test_table_notes_and_sort_with_injected_latency(
        pair: tuple[convcost.Analysis, convcost.Analysis]) -> None:
    mob, shuf = pair
    # mult-adds: 144,907,992 / 568,740,352 = 0.255 (3.9× fewer); latency 10 / 16 = 0.625
    items = [Compared(mob, latency=_lat(16.0)), Compared(shuf, latency=_lat(10.0))]
    table = compare_table(items)
    assert "latency (IQR)" in table.columns
    col = list(table.columns).index("latency (IQR)")
    assert [r[col] for r in table.rows] == ["16.00 ms (±0.25)", "10.00 ms (±0.25)"]
    assert "1.6× faster" in table.rows[1][-1]  # 16 / 10 = 1.6
    assert table.raw_rows[1][-2:] == [10.0, 0.5]
    # 0.625 / 0.255 = 2.45, outside 0.8–1.25: the note says FLOPs are not speed
    note = next(n for n in table.notes if n.startswith("measured:"))
    assert "1.6× faster" in note and "3.9× fewer mult-adds" in note
    assert "FLOPs are not speed" in note
    assert [c.analysis.model for c in sort_items(items, "latency_ms")] == [
        "shufflenet_v2", "mobilenet_v1"]
    # without latency the column is absent
    assert "latency (IQR)" not in compare_table([Compared(mob), Compared(shuf)]).columns


def test_record_carries_the_measurement(pair: tuple[convcost.Analysis, convcost.Analysis]
                                        ) -> None:
    rec = Compared(pair[0], latency=_lat(16.0)).record()
    assert rec["latency"]["median_ms"] == 16.0
    assert "latency" not in Compared(pair[0]).record()


def test_cli_compare_bench_json() -> None:
    r = runner.invoke(app, ["compare", "mobilenet_v3_small", "shufflenet_v2_x0_5",
                            "--input", "64", "--bench", "--budget", "0.05", "--threads", "1",
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    models = json.loads(r.stdout)["models"]
    assert [m["model"] for m in models] == ["mobilenet_v3_small", "shufflenet_v2_x0_5"]
    for m in models:
        lat = m["latency"]
        assert lat["threads"] == 1 and lat["device"] == "cpu" and lat["batch"] == 1
        assert lat["median_ms"] > 0 and lat["iqr_ms"] >= 0 and lat["runs"] >= 5
        assert "times_ms" not in lat


@pytest.mark.parametrize(("args", "message"), [
    (["--sort", "latency_ms"], "--sort latency_ms needs --bench"),
    (["--bench", "--budget", "0"], "--budget must be a finite number of seconds > 0"),
    (["--bench", "--threads", "0"], "'--threads'"),
])
def test_cli_compare_bench_bad_input(args: list[str], message: str) -> None:
    r = runner.invoke(app, ["compare", "mobilenet_v1", *args])
    assert r.exit_code == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
