"""Design formulas: separable / grouped / spatial ratios, multipliers, ShuffleNetV2's MAC."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcost.errors import InvalidArgumentError
from convcost.formulas import (
    channels_for_ratio,
    conv,
    grouped_pointwise_mac,
    make_divisible,
    pointwise_mac,
    pointwise_mac_lower_bound,
    pointwise_madds,
    scale_channels,
    scale_size,
    separable_comparison,
)


def test_mobilenet_paper_example() -> None:
    # the classic 512→512 3×3 layer on 14×14:
    # standard 14·14·512·512·9 = 462,422,016; depthwise 14·14·512·9 = 903,168;
    # pointwise 14·14·512·512 = 51,380,224
    c = separable_comparison(512, 512, 3, 14)
    assert c.standard.cost.madds == 462_422_016
    dw, pw = (part for _, part in c.separable.parts)
    assert (dw.madds, pw.madds) == (903_168, 51_380_224)
    assert c.exact_ratio == Fraction(903_168 + 51_380_224, 462_422_016)
    assert c.closed_form == Fraction(1, 512) + Fraction(1, 9) == Fraction(521, 4608)
    assert c.exact_ratio == c.closed_form


def test_tutorial_example_ratio() -> None:
    # shared/reference/summary_examples.md: 4→8, 3×3, 64×64: 1/M + 1/K² = 1/8 + 1/9
    c = separable_comparison(4, 8, 3, 64)
    assert c.exact_ratio == Fraction(1, 8) + Fraction(1, 9)
    assert c.standard.cost.params == 288
    assert c.separable.cost.params == 68


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 256), st.integers(1, 256), st.sampled_from([1, 3, 5, 7]),
       st.integers(7, 56), st.integers(1, 2), st.integers(1, 4))
def test_separable_ratio_equals_closed_form(m: int, n: int, k: int, size: int, stride: int,
                                            batch: int) -> None:
    c = separable_comparison(m, n, k, size, stride, batch=batch)
    # the spatial size and the batch cancel: the ratio is exactly 1/N + 1/Dk²
    assert c.exact_ratio == Fraction(1, n) + Fraction(1, k * k)
    assert c.standard.out_shape == c.separable.out_shape


def test_bias_and_memory_do_not_follow_the_closed_form() -> None:
    c = separable_comparison(512, 512, 3, 14, bias=True)
    ratios = c.ratios(c.separable)
    # madds still exact; params with bias: (512·9 + 512 + 512·512 + 512) / (512·512·9 + 512)
    assert ratios["madds"] == c.closed_form
    assert ratios["params"] == Fraction(512 * 9 + 512 + 512 * 512 + 512, 512 * 512 * 9 + 512)
    assert ratios["params"] != c.closed_form
    # memory: the separable pair writes and re-reads the 512×14×14 intermediate
    assert ratios["mem_bytes"] > 2 * c.closed_form


def test_grouped_and_spatial() -> None:
    c = separable_comparison(64, 64, 3, 28, groups=4)
    assert c.grouped is not None and c.spatial is not None
    assert Fraction(c.grouped.cost.madds, c.standard.cost.madds) == Fraction(1, 4)
    # 1×3 then 3×1 with M = N: 2/3 of the 3×3 cost
    assert Fraction(c.spatial.cost.madds, c.standard.cost.madds) == Fraction(2, 3)
    assert c.spatial.out_shape == c.standard.out_shape
    with pytest.raises(InvalidArgumentError, match="must divide"):
        separable_comparison(64, 64, 3, 28, groups=3)


def test_width_and_resolution_multipliers() -> None:
    # α = 0.5, ρ = 0.5 on 512→512, 14×14: channels 256, size 7
    c = separable_comparison(512, 512, 3, 14, width_mult=0.5, resolution_mult=0.5)
    assert (c.in_channels, c.out_channels, c.in_shape[-1]) == (256, 256, 7)
    m = c.multipliers
    assert m is not None
    # exact: (7²·256·9 + 7²·256·256) / (14²·512·9 + 14²·512·512)
    want = Fraction(49 * 256 * 9 + 49 * 256 * 256, 196 * 512 * 9 + 196 * 512 * 512)
    assert m.exact_madds_ratio == want
    assert m.closed_form_madds_ratio == 0.0625  # α²ρ²
    # the depthwise part scales with α·ρ², so the exact factor lies between α²ρ² and αρ²
    assert 0.0625 < float(want) < 0.125
    assert separable_comparison(512, 512, 3, 14).multipliers is None


def test_make_divisible_and_scaling() -> None:
    # torchvision's MobileNetV2 rounding: 32·0.75 = 24; 16·0.35 = 5.6 -> 8 (minimum);
    # 96·0.35 = 33.6 -> 32; 1280 stays
    assert [make_divisible(v, 8) for v in (24, 5.6, 33.6, 1280)] == [24, 8, 32, 1280]
    # 10 % rule: int(20 + 8) // 16 · 16 = 16 is below 0.9 · 20 = 18, so one more 16: 32
    assert make_divisible(20, 16) == 32
    assert scale_channels(1024, 0.25) == 256
    assert scale_size(224, 160 / 224) == 160
    with pytest.raises(InvalidArgumentError):
        scale_size(224, 0)


# --- ShuffleNetV2 memory access (arXiv:1807.11164 §2) -------------------------------------------


def test_pointwise_mac_matches_conv_memory() -> None:
    for c1, c2 in ((128, 128), (90, 180), (52, 312), (37, 444)):
        cost = conv((1, c1, 56, 56), c2, 1, bias=False, itemsize=1)
        assert cost.mem_bytes == pointwise_mac(56, 56, c1, c2)
        assert cost.madds == pointwise_madds(56, 56, c1, c2)
    grouped = conv((1, 240, 28, 28), 240, 1, groups=3, bias=False, itemsize=1)
    assert grouped.mem_bytes == pointwise_mac(28, 28, 240, 240, groups=3)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 64), st.integers(1, 512), st.integers(1, 512))
def test_guideline1_lower_bound_holds_and_is_reached_at_equal_width(hw: int, c1: int,
                                                                    c2: int) -> None:
    b = hw * c1 * c2
    bound = pointwise_mac_lower_bound(hw, 1, b)
    assert pointwise_mac(hw, 1, c1, c2) >= bound - 1e-6 * bound
    if c1 == c2:
        assert math.isclose(pointwise_mac(hw, 1, c1, c2), bound, rel_tol=1e-12)


def test_guideline1_table1_channel_ratios() -> None:
    # paper Table 1 keeps B fixed while c1:c2 goes 1:1, 1:2, 1:6, 1:12: MAC grows monotonically
    b = 56 * 56 * 128 * 128
    pairs = [channels_for_ratio(56, 56, b, r) for r in ((1, 1), (1, 2), (1, 6), (1, 12))]
    assert (pairs[0].c1, pairs[0].c2) == (128, 128)
    macs = [p.mac / p.madds for p in pairs]  # per multiply-add, to cancel rounding of B
    assert macs == sorted(macs)


def test_guideline2_more_groups_more_memory() -> None:
    b = 56 * 56 * 128 * 128  # fixed multiply-adds, fixed c1
    macs = [grouped_pointwise_mac(56, 56, 128, b, g) for g in (1, 2, 4, 8)]
    assert macs == sorted(macs) and macs[0] < macs[-1]
    # g = 1 reduces to the dense formula
    assert macs[0] == pointwise_mac(56, 56, 128, 128)
    # and the closed form equals the exact count when widths are integral: c2 = g·B/(hw·c1)
    assert grouped_pointwise_mac(56, 56, 128, b, 2) == pointwise_mac(56, 56, 128, 256, 2)
