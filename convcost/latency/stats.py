"""Robust statistics of run times, and whether two measured medians differ (pure Python).

Timings on a shared machine are skewed: other processes only ever *add* time, in bursts.
So a measurement here is summarised by statistics that a burst cannot move far:

- **median** and **quartiles** by linear interpolation between order statistics (numpy's
  default ``method="linear"``): for sorted ``t[0] <= ... <= t[n-1]`` the ``p``-quantile is
  read at ``h = (n - 1) p`` as ``t[floor(h)] + (h - floor(h)) (t[floor(h) + 1] - t[floor(h)])``;
- **MAD**, the median absolute deviation from the median; ``MAD_SCALE · MAD`` estimates the
  standard deviation of normal data (``MAD_SCALE = 1 / Φ⁻¹(3/4) = 1.4826``);
- **outliers**: runs whose modified z-score ``|t - median| / (MAD_SCALE · MAD)`` exceeds
  :data:`OUTLIER_Z` = 3.5 (Iglewicz and Hoaglin's rule) are set aside before the median, the
  quartiles and the interval are taken; none is when the MAD is 0 (no scale to judge by);
- **noise**: the robust coefficient of variation ``MAD_SCALE · MAD / median`` of the kept runs;
- **interval**: a distribution-free confidence interval for the median, the order statistics
  ``t[j-1]`` and ``t[n-j]`` (1-based ranks ``j`` and ``n + 1 - j``) with the largest ``j`` whose
  coverage ``1 - 2 P(B <= j - 1)``, ``B ~ Binomial(n, 1/2)``, is at least the confidence
  asked for (for fewer than 6 runs not even ``[min, max]`` reaches 95 %: it is used, and
  its coverage is what it is). With interleaved rounds the interval is widened to hold every
  round's median too, so a drift of the machine between rounds widens it.

Two measurements differ **significantly** only when their intervals do not overlap
(:func:`difference`); the ratio of the medians then comes with the bounds
``low_a / high_b`` and ``high_a / low_b``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from convcost.errors import InvalidArgumentError

MAD_SCALE = 1.4826
"""``1 / Φ⁻¹(3/4)``: ``MAD_SCALE · MAD`` estimates σ of normally distributed data."""
OUTLIER_Z = 3.5
"""Modified z-score beyond which a run is an outlier (Iglewicz and Hoaglin, 1993)."""
CONFIDENCE = 0.95
"""Coverage asked of the interval for a median."""


def quantile(values: Sequence[float], p: float) -> float:
    """The ``p``-quantile of ``values`` by linear interpolation (numpy's default method).

    >>> quantile([4.0, 1.0, 3.0, 2.0], 0.25)  # sorted 1,2,3,4; h = 3*0.25 = 0.75
    1.75
    """
    if not values:
        raise InvalidArgumentError("quantile of no values; time at least one run")
    if not 0.0 <= p <= 1.0:
        raise InvalidArgumentError(f"quantile p={p} is outside [0, 1]")
    ordered = sorted(values)
    h = (len(ordered) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


def median(values: Sequence[float]) -> float:
    """The median (``quantile(values, 0.5)``)."""
    return quantile(values, 0.5)


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation from the median (unscaled).

    >>> mad([1.0, 2.0, 3.0, 4.0, 100.0])  # median 3; deviations 2,1,0,1,97 -> median 1
    1.0
    """
    m = median(values)
    return median([abs(v - m) for v in values])


def split_outliers(values: Sequence[float], z: float = OUTLIER_Z
                   ) -> tuple[list[float], list[float]]:
    """(kept, outliers): a value is an outlier when ``|v - median| > z · MAD_SCALE · MAD``;
    nothing is when the MAD is 0. Order is kept within each list."""
    if not values:
        raise InvalidArgumentError("no values to screen for outliers")
    m = median(values)
    scale = MAD_SCALE * mad(values)
    if scale <= 0:
        return list(values), []
    kept = [v for v in values if abs(v - m) <= z * scale]
    return kept, [v for v in values if abs(v - m) > z * scale]


def robust_median(values: Sequence[float]) -> float:
    """The median of ``values`` after the outlier screen (:func:`split_outliers`).

    >>> robust_median([1.0, 2.0, 3.0, 4.0, 100.0])  # 100 is set aside: median of 1..4
    2.5
    """
    return median(split_outliers(values)[0])


def median_interval_ranks(n: int, confidence: float = CONFIDENCE) -> tuple[int, float]:
    """(``j``, coverage): the interval for the median of ``n`` values is the ``j``-th smallest
    to the ``j``-th largest (1-based), with the largest ``j`` whose exact coverage
    ``1 - 2 P(B <= j - 1)``, ``B ~ Binomial(n, 1/2)``, is at least ``confidence``; ``j = 1``
    (``[min, max]``) when none is.

    >>> median_interval_ranks(10)  # P(B <= 1) = 11/1024: 1 - 22/1024 = 0.9785; j = 3 fails
    (2, 0.978515625)
    """
    if n < 1:
        raise InvalidArgumentError("an interval for the median needs at least one value")
    if not 0.0 < confidence < 1.0:
        raise InvalidArgumentError(f"confidence must be in (0, 1), got {confidence}")
    total = 2**n
    tail = 1  # P(B <= j - 1) * 2**n for j = 1: C(n, 0)
    j = 1
    while 2 * (j + 1) <= n + 1:  # the next j keeps the interval non-empty
        nxt = tail + math.comb(n, j)  # P(B <= j) * 2**n
        if 1 - 2 * nxt / total < confidence:
            break
        tail = nxt
        j += 1
    return j, 1 - 2 * tail / total


@dataclass(frozen=True)
class RobustStats:
    """Robust summary of one set of run times (one unit throughout, e.g. ms)."""

    median: float
    q1: float
    q3: float
    mad: float  # of the kept values, unscaled
    low: float  # interval for the median
    high: float
    kept: int
    outliers: int
    coverage: float  # of [low, high] before any widening by rounds
    round_medians: tuple[float, ...] = ()  # each non-empty round's robust median

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def noise(self) -> float:
        """Robust coefficient of variation: ``MAD_SCALE · MAD / median`` (0 when the median
        is 0)."""
        return MAD_SCALE * self.mad / self.median if self.median > 0 else 0.0


def robust_stats(values: Sequence[float], rounds: Sequence[Sequence[float]] = (),
                 confidence: float = CONFIDENCE) -> RobustStats:
    """Summarise ``values`` (all runs); ``rounds`` (the same runs, grouped by interleaved
    round) widens the interval to hold each round's median (see the module doc)."""
    kept, out = split_outliers(values)
    ordered = sorted(kept)
    j, coverage = median_interval_ranks(len(ordered), confidence)
    low, high = ordered[j - 1], ordered[len(ordered) - j]
    round_medians = tuple(robust_median(r) for r in rounds if r)
    if len(round_medians) > 1:
        low, high = min(low, *round_medians), max(high, *round_medians)
    return RobustStats(median=median(ordered), q1=quantile(ordered, 0.25),
                       q3=quantile(ordered, 0.75), mad=mad(ordered), low=low, high=high,
                       kept=len(ordered), outliers=len(out), coverage=coverage,
                       round_medians=round_medians)


@dataclass(frozen=True)
class Difference:
    """``a`` against ``b``: the ratio of their medians with its bounds, and whether their
    intervals are apart (only then is one faster than the other, as far as this run can
    tell)."""

    ratio: float  # median_a / median_b
    low: float  # low_a / high_b
    high: float  # high_a / low_b

    @property
    def significant(self) -> bool:
        """The intervals do not overlap: ``high_a < low_b`` or ``low_a > high_b``."""
        return self.high < 1.0 or self.low > 1.0

    def to_dict(self) -> dict[str, object]:
        return {"ratio": self.ratio, "ratio_low": self.low, "ratio_high": self.high,
                "significant": self.significant}


def difference(a: tuple[float, float, float], b: tuple[float, float, float]) -> Difference:
    """Compare ``a = (median, low, high)`` with ``b`` (all positive, one unit).

    >>> difference((10.0, 9.0, 11.0), (20.0, 18.0, 22.0)).significant  # 11 < 18
    True
    >>> difference((10.0, 9.0, 19.0), (20.0, 18.0, 22.0)).significant  # 19 >= 18: overlap
    False
    """
    (ma, la, ha), (mb, lb, hb) = a, b
    if min(ma, la, ha, mb, lb, hb) <= 0 or not la <= ma <= ha or not lb <= mb <= hb:
        raise InvalidArgumentError(f"difference needs positive low <= median <= high, got "
                                   f"{a} and {b}")
    return Difference(ratio=ma / mb, low=la / hb, high=ha / lb)


__all__ = [
    "CONFIDENCE",
    "MAD_SCALE",
    "OUTLIER_Z",
    "Difference",
    "RobustStats",
    "difference",
    "mad",
    "median",
    "median_interval_ranks",
    "quantile",
    "robust_median",
    "robust_stats",
    "split_outliers",
]
