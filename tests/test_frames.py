"""The tabular accessors of an Analysis are discoverable: each roll-up has a DataFrame twin
beside it (``by_op`` / ``by_op_frame`` ...), and ``dir(convcost)`` lists ``analyze``."""

from __future__ import annotations

import pytest

import convcost
from convcost.formulas import COST_FIELDS
from convcost.zoo import build


@pytest.fixture(scope="module")
def a() -> convcost.Analysis:
    return convcost.analyze(build("mobilenet_v1"), (1, 3, 224, 224), name="mobilenet_v1")


def test_every_roll_up_has_a_frame_beside_it(a: convcost.Analysis) -> None:
    names = dir(a)
    for rollup in ("by_op", "by_module", "by_conv_kind"):
        assert f"{rollup}_frame" in names
    ops = a.by_op_frame()
    assert list(ops.columns) == ["op", *COST_FIELDS]
    assert dict(zip(ops["op"], ops["madds"], strict=True)) == {
        op: c.madds for op, c in a.by_op().items()}
    mods = a.by_module_frame(2)
    assert list(mods["name"]) == [m.name for m in a.by_module(2)]
    assert mods["madds"].iloc[0] == a.totals.madds  # the root first
    kinds = a.by_conv_kind_frame().set_index("conv_kind")
    # MobileNet V1: 13 pointwise convs hold 539,492,352 mult-adds; 13 depthwise 17,385,984
    assert kinds.loc["pointwise", "madds"] == 539_492_352
    assert kinds.loc["depthwise", "madds"] == 17_385_984
    layers = a.layers_frame()
    assert len(layers) == len(a.rows) and layers["madds"].sum() == a.totals.madds
    assert layers.equals(a.to_frame("layer"))
    with pytest.raises(ValueError, match="conv_kind"):
        a.to_frame("kernel")


def test_dir_of_the_package_lists_the_lazy_api() -> None:
    names = dir(convcost)
    assert {"analyze", "Analysis", "plots", "breakdown", "summary", "crosscheck"} <= set(names)
