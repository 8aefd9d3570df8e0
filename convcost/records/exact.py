"""Exact counts (ints and Fractions) as JSON carries them."""

from __future__ import annotations

from fractions import Fraction


def plain(x: int | Fraction | str | None) -> int | float | str | None:
    """An exact count as JSON has it: an int when whole, else a float.

    >>> plain(Fraction(6, 2)), plain(Fraction(1, 4)), plain(7), plain("3x224")
    (3, 0.25, 7, '3x224')
    """
    if isinstance(x, Fraction):
        return int(x) if x.denominator == 1 else float(x)
    return x


__all__ = ["plain"]
