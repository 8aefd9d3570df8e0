"""ShuffleNetV2's memory access cost results (Ma et al. 2018, arXiv:1807.11164, §2).

Here "MAC" means *memory access cost* in elements (not multiply-accumulates): for a 1×1 conv
on an h×w map with c1 input and c2 output channels, ``MAC = h·w·(c1 + c2) + c1·c2`` (input,
output, weights), which equals ``convcost``'s ``mem_bytes / itemsize`` for that conv without
bias and batch 1. Its multiply-adds are ``B = h·w·c1·c2``.

* Guideline 1: by the AM-GM inequality ``MAC >= 2·sqrt(h·w·B) + B/(h·w)``, with equality at
  ``c1 = c2``: equal channel widths minimise memory access at fixed multiply-adds.
* Guideline 2: a 1×1 group conv with g groups has ``B = h·w·c1·c2/g`` and
  ``MAC = h·w·(c1 + c2) + c1·c2/g = h·w·c1 + B·g/c1 + B/(h·w)``, which grows with g at fixed
  B and c1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from convcost.errors import InvalidArgumentError
from convcost.formulas._core import check_positive


def pointwise_mac(h: int, w: int, c1: int, c2: int, groups: int = 1) -> int:
    """Memory access (elements) of a 1×1 conv with ``groups``: ``hw(c1+c2) + c1·c2/g``.

    >>> pointwise_mac(56, 56, 128, 128)   # 56·56·256 + 128·128
    819200
    """
    for name, v in (("h", h), ("w", w), ("c1", c1), ("c2", c2), ("groups", groups)):
        check_positive(v, name)
    if c1 % groups or c2 % groups:
        raise InvalidArgumentError(f"groups={groups} must divide c1={c1} and c2={c2}")
    return h * w * (c1 + c2) + c1 * c2 // groups


def pointwise_madds(h: int, w: int, c1: int, c2: int, groups: int = 1) -> int:
    """Multiply-adds ``B = h·w·c1·c2/g`` of a 1×1 conv (what the paper calls FLOPs)."""
    pointwise_mac(h, w, c1, c2, groups)  # validates
    return h * w * c1 * c2 // groups


def pointwise_mac_lower_bound(h: int, w: int, madds: int) -> float:
    """Guideline 1's bound ``2·sqrt(h·w·B) + B/(h·w)`` on a 1×1 conv's memory access."""
    check_positive(h, "h")
    check_positive(w, "w")
    check_positive(madds, "madds")
    hw = h * w
    return 2 * math.sqrt(hw * madds) + madds / hw


def grouped_pointwise_mac(h: int, w: int, c1: int, madds: int, groups: int) -> float:
    """Guideline 2's ``h·w·c1 + B·g/c1 + B/(h·w)`` at fixed multiply-adds B and input width c1."""
    for name, v in (("h", h), ("w", w), ("c1", c1), ("madds", madds), ("groups", groups)):
        check_positive(v, name)
    hw = h * w
    return hw * c1 + madds * groups / c1 + madds / hw


@dataclass(frozen=True)
class ChannelPair:
    """Channel widths (c1, c2) for a ratio c1:c2 at (about) a given multiply-add budget."""

    c1: int
    c2: int
    madds: int
    mac: int


def channels_for_ratio(h: int, w: int, madds: int, ratio: tuple[int, int]) -> ChannelPair:
    """The integer widths with ``c1:c2 = ratio`` whose multiply-adds are closest to ``madds``.

    Used to build the paper's Table 1 micro-benchmarks (c1:c2 = 1:1, 1:2, 1:6, 1:12 at fixed B).

    >>> p = channels_for_ratio(56, 56, 56 * 56 * 128 * 128, (1, 1)); (p.c1, p.c2)
    (128, 128)
    """
    a, b = ratio
    check_positive(a, "ratio numerator")
    check_positive(b, "ratio denominator")
    hw = h * w
    # c1 = a·t, c2 = b·t  =>  B = hw·a·b·t²
    t = max(1, round(math.sqrt(madds / (hw * a * b))))
    c1, c2 = a * t, b * t
    return ChannelPair(c1, c2, hw * c1 * c2, pointwise_mac(h, w, c1, c2))


__all__ = [
    "ChannelPair",
    "channels_for_ratio",
    "grouped_pointwise_mac",
    "pointwise_mac",
    "pointwise_mac_lower_bound",
    "pointwise_madds",
]
