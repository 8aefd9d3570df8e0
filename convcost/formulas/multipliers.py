"""Width multiplier α and resolution multiplier ρ (MobileNet, arXiv:1704.04861 §3.3-3.4).

The closed forms say a layer's multiply-adds scale by α² (width) and ρ² (resolution). Real
networks round channel counts and feature-map sizes to integers, and the depthwise part of a
separable layer scales by α, not α², so the exact effect differs; :func:`multiplier_effect`
reports both side by side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from convcost.errors import InvalidArgumentError
from convcost.formulas._core import Cost


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to the nearest multiple of ``divisor`` (torchvision's rule).

    The result is at least ``min_value`` (default ``divisor``); when rounding down lost more
    than 10 % of ``value``, one more ``divisor`` is added (so even ``divisor=1`` rounds up
    below about 5 channels). Used by MobileNet V2/V3, MNASNet and EfficientNet.

    >>> make_divisible(32 * 0.75, 8), make_divisible(1280 * 1.0, 8), make_divisible(4.0, 8)
    (24, 1280, 8)
    """
    if divisor <= 0:
        raise InvalidArgumentError(f"divisor must be a positive integer, got {divisor}")
    if value <= 0:
        raise InvalidArgumentError(f"channel count must be positive, got {value}")
    floor = divisor if min_value is None else min_value
    new_value = max(floor, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


def scale_size(size: int, rho: float) -> int:
    """The feature-map (input) size under resolution multiplier ρ: round(ρ·size), at least 1."""
    check_multiplier(rho, "resolution multiplier")
    return max(1, int(size * rho + 0.5))


def scale_channels(channels: int, alpha: float, divisor: int = 1) -> int:
    """A channel count under width multiplier α: round-half-up (at least 1) for
    ``divisor=1``, else :func:`make_divisible` (torchvision's rule).

    >>> scale_channels(3, 0.45), scale_channels(1024, 0.25), scale_channels(20, 1.0, 16)
    (1, 256, 32)
    """
    check_multiplier(alpha, "width multiplier")
    if divisor == 1:
        return max(1, int(channels * alpha + 0.5))
    return make_divisible(channels * alpha, divisor)


def check_multiplier(value: float, name: str) -> float:
    """A multiplier must be a finite number > 0 (``nan``, ``inf`` and 0 are refused)."""
    if not (value > 0 and math.isfinite(value)):
        raise InvalidArgumentError(f"{name} must be a finite number > 0, got {value}")
    return value


@dataclass(frozen=True)
class MultiplierEffect:
    """A layer's cost before and after α and ρ, with the exact and the closed-form ratios."""

    alpha: float
    rho: float
    base: Cost
    scaled: Cost
    exact_madds_ratio: Fraction
    exact_params_ratio: Fraction
    closed_form_madds_ratio: float  # α²·ρ²
    closed_form_params_ratio: float  # α²

    def as_dict(self) -> dict[str, object]:
        return {
            "alpha": self.alpha,
            "rho": self.rho,
            "base": self.base.as_dict(),
            "scaled": self.scaled.as_dict(),
            "exact_madds_ratio": float(self.exact_madds_ratio),
            "exact_params_ratio": float(self.exact_params_ratio),
            "closed_form_madds_ratio": self.closed_form_madds_ratio,
            "closed_form_params_ratio": self.closed_form_params_ratio,
        }


def multiplier_effect(base: Cost, scaled: Cost, alpha: float, rho: float) -> MultiplierEffect:
    """Compare a layer (or a network) at α = ρ = 1 with the same at ``alpha``, ``rho``."""
    check_multiplier(alpha, "width multiplier")
    check_multiplier(rho, "resolution multiplier")
    if base.madds <= 0 or base.params <= 0:
        raise InvalidArgumentError("the base cost must have positive madds and params")
    return MultiplierEffect(
        alpha=alpha,
        rho=rho,
        base=base,
        scaled=scaled,
        exact_madds_ratio=Fraction(scaled.madds, base.madds),
        exact_params_ratio=Fraction(scaled.params, base.params),
        closed_form_madds_ratio=alpha**2 * rho**2,
        closed_form_params_ratio=alpha**2,
    )


__all__ = [
    "MultiplierEffect",
    "make_divisible",
    "multiplier_effect",
    "scale_channels",
    "scale_size",
]
