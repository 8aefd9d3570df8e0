"""Suite-wide checks: every analysis any test produces must satisfy the arithmetic invariants."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import convcost.api
from convcost.formulas import Cost
from convcost.records.analysis import Analysis


def assert_invariants(a: Analysis) -> None:
    """Rows add up to the totals, to every op type, to every container at every depth, and
    parameters to the model's unique parameter count."""
    total = a.totals
    assert total == sum((r.cost for r in a.rows), Cost())
    assert total.params == a.evaluation.params_total
    assert sum(a.by_op().values(), Cost()) == total
    for depth in (0, 1, 2, None):
        mods = a.by_module(depth)
        assert mods[0].name == "" and mods[0].cost == total
        by_name = {m.name: m.cost for m in mods}
        for m in mods:
            if depth is not None and m.depth >= depth:
                continue
            kids = [c for n, c in by_name.items() if n and n.rpartition(".")[0] == m.name]
            own = sum((r.cost for r in a.rows if r.name == m.name), Cost())
            assert sum(kids, Cost()) + own == m.cost, m.name


@pytest.fixture(autouse=True)
def _check_every_analysis(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Analysis]]:
    seen: list[Analysis] = []
    real = convcost.api.analyze

    def checked(*args: Any, **kwargs: Any) -> Analysis:
        result = real(*args, **kwargs)
        assert_invariants(result)
        seen.append(result)
        return result

    monkeypatch.setattr(convcost.api, "analyze", checked)
    yield seen


@pytest.fixture(scope="module")
def pair() -> tuple[Analysis, Analysis]:
    """MobileNet V1 and ShuffleNet V2 1× at 1×3×224×224, the two models the compare tables
    are checked on (568,740,352 and 144,907,992 multiply-adds); once per test module."""
    shape = (1, 3, 224, 224)
    return (convcost.analyze("mobilenet_v1", shape, name="mobilenet_v1"),
            convcost.analyze("shufflenet_v2", shape, name="shufflenet_v2"))


GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """Compare rendered text with ``tests/golden/NAME``; ``CONVCOST_REGEN_GOLDEN=1`` rewrites
    the file instead and fails once, so a regeneration is never silent."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if os.environ.get("CONVCOST_REGEN_GOLDEN") == "1":
            path.write_text(text, encoding="utf-8")
            pytest.fail(f"regenerated {path}; review the diff and rerun without "
                        "CONVCOST_REGEN_GOLDEN")
        assert path.exists(), f"{path} missing: run with CONVCOST_REGEN_GOLDEN=1 to create it"
        assert text == path.read_text(encoding="utf-8"), (
            f"{name} differs from the golden file; if the change is intended, regenerate with "
            "CONVCOST_REGEN_GOLDEN=1")

    return check
