"""Scoring a latency predictor against measurements: rank correlation, share within a band,
mean absolute percentage error, the fits (pure Python, no numpy/scipy needed).

:func:`fit_terms` is the calibration's own least squares (the per-class rates from the
micro-benchmarks, :mod:`~convcost.latency.calibrate`); :func:`fit_relative` is the
two-parameter map ``ms = a·x + b`` the zoo benchmark gives both predictors.

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


def mape(predicted: Sequence[float], measured: Sequence[float]) -> float:
    """Mean absolute percentage error, as a fraction: ``mean(|p / m - 1|)``."""
    if len(predicted) != len(measured) or not measured:
        raise InvalidArgumentError("mape needs two non-empty sequences of one length")
    return math.fsum(abs(p / m - 1.0) for p, m in zip(predicted, measured, strict=True)) / len(
        measured)


def _solve(a: list[list[float]], b: list[float]) -> list[float] | None:
    """Solve ``a x = b`` (small, square) by Gaussian elimination with partial pivoting;
    None when ``a`` is singular (a pivot below 1e-12 of the largest entry)."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    scale = max((abs(v) for row in a for v in row), default=0.0)
    if scale == 0:
        return None
    for col in range(n):
        piv = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[piv][col]) <= 1e-12 * scale:
            return None
        m[col], m[piv] = m[piv], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def fit_terms(features: Sequence[Sequence[float]], targets: Sequence[float],
              offsets: Sequence[float] | None = None,
              lower: Sequence[float] | None = None) -> tuple[float, ...]:
    """Coefficients ``x`` (one per feature column) minimising the squared relative error
    ``Σ_i ((offset_i + Σ_j x_j f_j[i]) / t_i - 1)²`` subject to ``x_j >= lower_j``.

    With ``u_ji = f_j[i] / t_i`` and ``r_i = 1 - offset_i / t_i`` this is least squares of
    ``Σ_j x_j u_ji ≈ r_i`` with lower bounds; for the few columns used here every active set
    is tried (each coefficient free or held at its bound; the free ones from the normal
    equations ``U_F U_Fᵀ x_F = U_F (r - U_B x_B)``), and the feasible solution with the
    least error wins. Singular systems (collinear columns) are skipped; holding every
    coefficient at its bound is always feasible.
    """
    k = len(features)
    n = len(targets)
    if k == 0 or n == 0 or any(len(f) != n for f in features):
        raise InvalidArgumentError("fit_terms needs feature columns as long as the targets")
    if any(t <= 0 for t in targets):
        raise InvalidArgumentError("fit_terms needs positive targets")
    off = list(offsets) if offsets is not None else [0.0] * n
    lo = list(lower) if lower is not None else [0.0] * k
    raw = [[f[i] / targets[i] for i in range(n)] for f in features]
    # columns scaled to unit norm (work and bytes differ by orders of magnitude); solved for
    # x_j · norm_j, mapped back at the end
    norms = [math.sqrt(math.fsum(v * v for v in col)) or 1.0 for col in raw]
    u = [[v / s for v in col] for col, s in zip(raw, norms, strict=True)]
    lo = [b * s for b, s in zip(lo, norms, strict=True)]
    r = [1.0 - off[i] / targets[i] for i in range(n)]

    def error(x: Sequence[float]) -> float:
        return math.fsum((math.fsum(x[j] * u[j][i] for j in range(k)) - r[i]) ** 2
                         for i in range(n))

    best: tuple[float, tuple[float, ...]] | None = None
    for mask in range(2**k):
        free = [j for j in range(k) if mask >> j & 1]
        x = list(lo)
        if free:
            rest = [r[i] - math.fsum(lo[j] * u[j][i] for j in range(k) if j not in free)
                    for i in range(n)]
            a = [[math.fsum(u[p][i] * u[q][i] for i in range(n)) for q in free] for p in free]
            b = [math.fsum(u[p][i] * rest[i] for i in range(n)) for p in free]
            sol = _solve(a, b)
            if sol is None or any(v < lo[j] for v, j in zip(sol, free, strict=True)):
                continue
            for v, j in zip(sol, free, strict=True):
                x[j] = v
        e = error(x)
        if best is None or e < best[0]:
            best = (e, tuple(x))
    assert best is not None  # the all-bounds set is always feasible
    return tuple(v / s for v, s in zip(best[1], norms, strict=True))


__all__ = ["AffineFit", "fit_relative", "fit_terms", "mape", "pearson", "ranks",
           "share_within", "spearman"]
