"""Scoring a latency predictor against measurements: rank correlation, share within a band,
and the one fit both predictors get (pure Python, no numpy/scipy needed).

Both predictors, convcost's roofline and the multiply-adds baseline, are mapped to
milliseconds by the same two-parameter fit, ``latency = a * x + b``, which minimises the
squared *relative* error ``sum(((a * x_i + b) - y_i) / y_i) ** 2`` (weighted least squares
with weights ``1 / y_i**2``), because the target is relative (±25 %). When the best ``b``
is negative (a prediction could then go below zero for a small model) the fit is redone
through the origin (``b = 0``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from convcost.errors import InvalidArgumentError


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks; ties share the mean of the ranks they span.

    >>> ranks([10.0, 30.0, 20.0, 30.0])  # 30s take ranks 3 and 4 -> 3.5 each
    [1.0, 3.5, 2.0, 3.5]
    """
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        mean_rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            out[order[k]] = mean_rank
        i = j + 1
    return out


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson correlation of two equally long sequences (nan when one is constant)."""
    if len(x) != len(y) or len(x) < 2:
        raise InvalidArgumentError("correlation needs two sequences of the same length >= 2")
    mx = math.fsum(x) / len(x)
    my = math.fsum(y) / len(y)
    sxy = math.fsum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = math.fsum((a - mx) ** 2 for a in x)
    syy = math.fsum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return math.nan
    return sxy / math.sqrt(sxx * syy)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation: Pearson correlation of the (tie-averaged) ranks."""
    return pearson(ranks(x), ranks(y))


def share_within(predicted: Sequence[float], measured: Sequence[float],
                 tolerance: float = 0.25) -> float:
    """Share of predictions with ``|predicted / measured - 1| <= tolerance``."""
    if len(predicted) != len(measured) or not measured:
        raise InvalidArgumentError("share_within needs two non-empty sequences of one length")
    hits = sum(abs(p / m - 1.0) <= tolerance + 1e-12
               for p, m in zip(predicted, measured, strict=True))
    return hits / len(measured)


@dataclass(frozen=True)
class AffineFit:
    """``y ≈ slope * x + intercept``."""

    slope: float
    intercept: float

    def __call__(self, x: float) -> float:
        return self.slope * x + self.intercept


def fit_relative(x: Sequence[float], y: Sequence[float], *,
                 intercept: bool = True) -> AffineFit:
    """Minimise ``sum(((a x_i + b) / y_i - 1)**2)`` over ``a`` (and ``b`` unless told not).

    With ``u_i = x_i / y_i`` and ``v_i = 1 / y_i`` the residual is ``a u_i + b v_i - 1``,
    an ordinary least-squares problem in ``(a, b)`` whose normal equations are
    ``a Σu² + b Σuv = Σu`` and ``a Σuv + b Σv² = Σv``. A negative ``b`` is dropped and the
    fit redone through the origin: ``a = Σu / Σu²``.
    """
    if len(x) != len(y) or not x:
        raise InvalidArgumentError("fit needs two non-empty sequences of the same length")
    if any(v <= 0 for v in y):
        raise InvalidArgumentError("fit needs positive measured values")
    u = [a / b for a, b in zip(x, y, strict=True)]
    v = [1.0 / b for b in y]
    suu = math.fsum(a * a for a in u)
    su = math.fsum(u)
    if intercept and len(x) >= 2:
        suv = math.fsum(a * b for a, b in zip(u, v, strict=True))
        svv = math.fsum(b * b for b in v)
        sv = math.fsum(v)
        det = suu * svv - suv * suv
        if det > 0:
            a = (su * svv - sv * suv) / det
            b = (suu * sv - suv * su) / det
            if b >= 0:
                return AffineFit(a, b)
    if suu == 0:
        raise InvalidArgumentError("fit needs at least one non-zero predictor value")
    return AffineFit(su / suu, 0.0)


__all__ = ["AffineFit", "fit_relative", "pearson", "ranks", "share_within", "spearman"]
