"""Design formulas: one layer built different ways, exact costs beside the closed forms.

* Depthwise-separable vs standard (MobileNet, arXiv:1704.04861 eq. 5):
  ``(Dk²·M·F² + M·N·F²) / (Dk²·M·N·F²) = 1/N + 1/Dk²``. The exact multiply-add ratio equals
  the closed form whenever both designs produce the same F×F output (the spatial size cancels;
  the "1/N + 1/F²" some course notes print is a typo). Parameters with bias, flops with bias
  adds and memory access (the separable pair writes and re-reads an intermediate M×F×F map)
  do not follow the closed form, and the comparison shows by how much.
* Grouped vs standard: ``1/g`` for params and multiply-adds.
* Spatially separable ``1×n`` then ``n×1`` vs ``n×n`` (Inception v3): ``(M + N) / (M·n)``,
  i.e. ``2/n`` when M = N.
* Width multiplier α and resolution multiplier ρ: channel counts ``round(α·C)``, size
  ``round(ρ·F)``; the closed form says ``α²ρ²``, the separable layer's exact factor lies
  between ``α·ρ²`` (depthwise part) and ``α²·ρ²`` (pointwise part).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from convcost.errors import InvalidArgumentError
from convcost.formulas._core import Cost, OpCost, Shape, check_positive
from convcost.formulas.conv import conv
from convcost.formulas.multipliers import (
    MultiplierEffect,
    multiplier_effect,
    scale_channels,
    scale_size,
)


@dataclass(frozen=True)
class LayerDesign:
    """One way to build the layer: its parts (name, cost) in order and their sum."""

    name: str
    parts: tuple[tuple[str, OpCost], ...]

    @property
    def cost(self) -> Cost:
        return sum((c.base() for _, c in self.parts), Cost())

    @property
    def out_shape(self) -> Shape:
        return self.parts[-1][1].out_shape

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "out_shape": list(self.out_shape),
            **self.cost.as_dict(),
            "parts": [
                {"name": n, "out_shape": list(c.out_shape), **c.as_dict()} for n, c in self.parts
            ],
        }


def _ratio(a: int, b: int) -> Fraction:
    return Fraction(a, b) if b else Fraction(0)


@dataclass(frozen=True)
class SeparableComparison:
    """A standard conv vs its depthwise-separable (and optionally grouped) replacement."""

    in_shape: Shape
    in_channels: int  # M, after the width multiplier
    out_channels: int  # N, after the width multiplier
    kernel: tuple[int, int]
    stride: int
    groups: int
    width_mult: float
    resolution_mult: float
    standard: LayerDesign
    separable: LayerDesign
    grouped: LayerDesign | None
    spatial: LayerDesign | None
    multipliers: MultiplierEffect | None

    @property
    def exact_ratio(self) -> Fraction:
        """Separable / standard multiply-adds, exactly."""
        return _ratio(self.separable.cost.madds, self.standard.cost.madds)

    @property
    def closed_form(self) -> Fraction:
        """``1/N + 1/Dk²`` (Dk² = kh·kw for a non-square kernel)."""
        return Fraction(1, self.out_channels) + Fraction(1, self.kernel[0] * self.kernel[1])

    def ratios(self, design: LayerDesign) -> dict[str, Fraction]:
        """Every cost field of ``design`` relative to the standard conv."""
        base, other = self.standard.cost.as_dict(), design.cost.as_dict()
        return {k: _ratio(other[k], base[k]) for k in base}

    def as_dict(self) -> dict[str, object]:
        def fr(x: Fraction) -> dict[str, object]:
            return {"value": float(x), "fraction": f"{x.numerator}/{x.denominator}"}

        out: dict[str, object] = {
            "input": list(self.in_shape),
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel": list(self.kernel),
            "stride": self.stride,
            "groups": self.groups,
            "width_mult": self.width_mult,
            "resolution_mult": self.resolution_mult,
            "standard": self.standard.as_dict(),
            "depthwise_separable": self.separable.as_dict(),
            "exact_ratio": fr(self.exact_ratio),
            "closed_form": fr(self.closed_form),
            "closed_form_expr": f"1/{self.out_channels} + 1/{self.kernel[0] * self.kernel[1]}",
            "ratios": {k: float(v) for k, v in self.ratios(self.separable).items()},
        }
        if self.grouped is not None:
            out["grouped"] = self.grouped.as_dict()
            out["grouped_ratio"] = fr(_ratio(self.grouped.cost.madds, self.standard.cost.madds))
            out["grouped_closed_form"] = fr(Fraction(1, self.groups))
        if self.spatial is not None:
            out["spatially_separable"] = self.spatial.as_dict()
            out["spatial_ratio"] = fr(_ratio(self.spatial.cost.madds, self.standard.cost.madds))
            out["spatial_closed_form"] = fr(
                Fraction(self.in_channels + self.out_channels, self.in_channels * self.kernel[0])
            )
        if self.multipliers is not None:
            out["multipliers"] = self.multipliers.as_dict()
        return out


def _kernel2(kernel: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(kernel, int):
        check_positive(kernel, "kernel")
        return kernel, kernel
    k = tuple(int(v) for v in kernel)
    if len(k) != 2 or min(k) <= 0:
        raise InvalidArgumentError(f"kernel must be a positive int or (kh, kw), got {kernel!r}")
    return k[0], k[1]


def _designs(
    n: int, m: int, out_c: int, size: int, kernel: tuple[int, int], stride: int, groups: int,
    bias: bool, itemsize: int,
) -> tuple[LayerDesign, LayerDesign, LayerDesign | None, LayerDesign | None]:
    kh, kw = kernel
    pad = (kh // 2, kw // 2)
    x = (n, m, size, size)

    def c(shape: Shape, out: int, k: Sequence[int], s: Sequence[int], p: Sequence[int],
          g: int = 1) -> OpCost:
        return conv(shape, out, k, s, p, groups=g, bias=bias, itemsize=itemsize)

    std = c(x, out_c, kernel, (stride, stride), pad)
    dw = c(x, m, kernel, (stride, stride), pad, m)
    pw = c(dw.out_shape, out_c, (1, 1), (1, 1), (0, 0))
    k_txt = f"{kh}×{kw}"
    standard = LayerDesign(f"standard {k_txt}", ((f"conv {k_txt} {m}→{out_c}", std),))
    separable = LayerDesign(
        "depthwise-separable",
        ((f"dw {k_txt} {m}→{m}", dw), (f"pw 1×1 {m}→{out_c}", pw)),
    )
    grouped = None
    if groups > 1:
        gc = c(x, out_c, kernel, (stride, stride), pad, groups)
        grouped = LayerDesign(
            f"grouped {k_txt} g={groups}", ((f"conv {k_txt} {m}→{out_c} g={groups}", gc),)
        )
    spatial = None
    if kh == kw and kh > 1:
        first = c(x, out_c, (1, kw), (1, stride), (0, pad[1]))
        second = c(first.out_shape, out_c, (kh, 1), (stride, 1), (pad[0], 0))
        spatial = LayerDesign(
            f"spatial 1×{kw} + {kh}×1",
            ((f"1×{kw} {m}→{out_c}", first), (f"{kh}×1 {out_c}→{out_c}", second)),
        )
    return standard, separable, grouped, spatial


def separable_comparison(
    in_channels: int,
    out_channels: int,
    kernel: int | Sequence[int],
    size: int,
    stride: int = 1,
    groups: int = 1,
    width_mult: float = 1.0,
    resolution_mult: float = 1.0,
    *,
    batch: int = 1,
    bias: bool = False,
    itemsize: int = 4,
) -> SeparableComparison:
    """Compare a ``kernel`` conv ``in_channels → out_channels`` on a ``size×size`` input with
    its depthwise-separable replacement (and a ``groups``-grouped conv when groups > 1, and the
    spatially separable pair for square kernels), after width multiplier α and resolution
    multiplier ρ. Padding is ``k//2`` ("same" at stride 1).

    >>> c = separable_comparison(512, 512, 3, 14)
    >>> c.exact_ratio == c.closed_form == Fraction(1, 512) + Fraction(1, 9)
    True
    """
    for name, v in (("in_channels", in_channels), ("out_channels", out_channels),
                    ("size", size), ("stride", stride), ("groups", groups), ("batch", batch)):
        check_positive(v, name)
    kernel2 = _kernel2(kernel)
    m = scale_channels(in_channels, width_mult)
    out_c = scale_channels(out_channels, width_mult)
    if groups > 1 and (m % groups or out_c % groups):
        raise InvalidArgumentError(
            f"groups={groups} must divide the channels {m} and {out_c} (after width "
            f"multiplier {width_mult}); pick a divisor of both"
        )
    f = scale_size(size, resolution_mult)
    standard, separable, grouped, spatial = _designs(
        batch, m, out_c, f, kernel2, stride, groups, bias, itemsize
    )
    effect = None
    if width_mult != 1.0 or resolution_mult != 1.0:
        _, base_sep, _, _ = _designs(
            batch, in_channels, out_channels, size, kernel2, stride, 1, bias, itemsize
        )
        effect = multiplier_effect(base_sep.cost, separable.cost, width_mult, resolution_mult)
    return SeparableComparison(
        in_shape=(batch, m, f, f),
        in_channels=m,
        out_channels=out_c,
        kernel=kernel2,
        stride=stride,
        groups=groups,
        width_mult=width_mult,
        resolution_mult=resolution_mult,
        standard=standard,
        separable=separable,
        grouped=grouped,
        spatial=spatial,
        multipliers=effect,
    )


__all__ = ["LayerDesign", "SeparableComparison", "separable_comparison"]
