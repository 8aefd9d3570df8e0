"""Human-readable numbers: SI prefixes for counts, MB for bytes, ratios.

Counts use powers of 1000 (K, M, G, T). Bytes are shown in MB = 10⁶ bytes, the unit of the
papers and of torchinfo; the torchsummary-style summary uses MiB-based "MB" on purpose and
says so.
"""

from __future__ import annotations

from fractions import Fraction

from convcost.graph import shape_text  # one shape formatter, re-exported here

_PREFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def si(value: float, decimals: int = 2) -> str:
    """``462422016 -> '462.42M'``: fixed decimals so columns align; small integers as is.

    >>> si(462422016), si(2359296), si(999), si(0), si(1_500_000_000), si(0.25)
    ('462.42M', '2.36M', '999', '0', '1.50G', '0.25')
    """
    sign = "-" if value < 0 else ""
    v = abs(value)
    for scale, prefix in _PREFIXES:
        if v >= scale:
            return f"{sign}{v / scale:.{decimals}f}{prefix}"
    if v == int(v):
        return f"{sign}{int(v)}"
    return f"{sign}{v:.{decimals}f}"


def megabytes(nbytes: float, decimals: int = 2) -> str:
    """Bytes as MB (10⁶ bytes). ``megabytes(10240000) -> '10.24 MB'``."""
    return f"{nbytes / 1e6:,.{decimals}f} MB"


def times(ratio: float) -> str:
    """A ratio as '8.84× fewer' / '2.00× more' / 'same'.

    >>> times(0.1131), times(2.0), times(1.0)
    ('8.84× fewer', '2.00× more', 'same')
    """
    if ratio <= 0:
        return "—"
    if abs(ratio - 1) < 5e-4:
        return "same"
    return f"{1 / ratio:.2f}× fewer" if ratio < 1 else f"{ratio:.2f}× more"


def fraction(value: Fraction, decimals: int = 6) -> str:
    """``Fraction(521, 4608) -> '521/4608 = 0.113064'``."""
    return f"{value.numerator}/{value.denominator} = {float(value):.{decimals}f}"


__all__ = ["fraction", "megabytes", "shape_text", "si", "times"]
