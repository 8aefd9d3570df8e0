"""EfficientNet-B0 (Tan & Le 2019) and EfficientNetV2-S/M/L (Tan & Le 2021), torchvision layout;
MNASNet (Tan et al. 2019), torchvision layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from convcost.formulas.multipliers import make_divisible
from convcost.zoo._layers import (
    ConvBNAct,
    NormFactory,
    SqueezeExcitation,
    StochasticDepth,
    batchnorm,
    check_positive,
    silu,
)


@dataclass(frozen=True)
class Stage:
    """One stage: block kind ("mb" = MBConv+SE, "fused" = Fused-MBConv), expansion, kernel,
    first stride, input and output channels, number of blocks."""

    kind: str
    expand: int
    kernel: int
    stride: int
    in_channels: int
    out_channels: int
    repeats: int


class MBConv(nn.Module):
    """MBConv: [1×1 expand] → k×k depthwise → SE (squeeze = max(1, in/4), SiLU, sigmoid)
    → 1×1 linear project; residual (with stochastic depth) when stride 1 and in = out."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int,
                 expand: int, sd_prob: float, norm: NormFactory) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and in_channels == out_channels
        expanded = make_divisible(in_channels * expand, 8)
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(ConvBNAct(in_channels, expanded, 1, act=silu, norm=norm))
        layers += [
            ConvBNAct(expanded, expanded, kernel, stride=stride, groups=expanded, act=silu,
                      norm=norm),
            SqueezeExcitation(expanded, max(1, in_channels // 4), act=silu, gate=nn.Sigmoid),
            ConvBNAct(expanded, out_channels, 1, act=None, norm=norm),
        ]
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(sd_prob)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        if self.use_res_connect:
            out = self.stochastic_depth(out)
            out = out + x
        return out


class FusedMBConv(nn.Module):
    """Fused-MBConv: k×k conv that expands (with the stride) → 1×1 project; no SE.

    With expansion 1 it is a single k×k conv (+BN+SiLU).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int,
                 expand: int, sd_prob: float, norm: NormFactory) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and in_channels == out_channels
        expanded = make_divisible(in_channels * expand, 8)
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers += [
                ConvBNAct(in_channels, expanded, kernel, stride=stride, act=silu, norm=norm),
                ConvBNAct(expanded, out_channels, 1, act=None, norm=norm),
            ]
        else:
            layers.append(ConvBNAct(in_channels, out_channels, kernel, stride=stride, act=silu,
                                    norm=norm))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(sd_prob)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        if self.use_res_connect:
            out = self.stochastic_depth(out)
            out = out + x
        return out


class EfficientNet(nn.Module):
    """EfficientNet (V1 or V2): 3×3 stem (stride 2), stages, 1×1 head conv, pool, dropout, FC.

    Stochastic-depth probability rises linearly from 0 to ``stochastic_depth_prob`` over the
    blocks, as in torchvision (identity at inference).
    """

    def __init__(self, stages: tuple[Stage, ...], last_channel: int, dropout: float,
                 num_classes: int = 1000, stochastic_depth_prob: float = 0.2,
                 norm: NormFactory | None = None) -> None:
        super().__init__()
        check_positive("num_classes", num_classes)
        norm = norm or batchnorm()
        stem = stages[0].in_channels
        layers: list[nn.Module] = [ConvBNAct(3, stem, 3, stride=2, act=silu, norm=norm)]
        total = sum(s.repeats for s in stages)
        block_id = 0
        for st in stages:
            block = MBConv if st.kind == "mb" else FusedMBConv
            blocks: list[nn.Module] = []
            for i in range(st.repeats):
                sd_prob = stochastic_depth_prob * block_id / total
                cin = st.in_channels if i == 0 else st.out_channels
                blocks.append(block(cin, st.out_channels, st.kernel, st.stride if i == 0 else 1,
                                    st.expand, sd_prob, norm))
                block_id += 1
            layers.append(nn.Sequential(*blocks))
        layers.append(ConvBNAct(stages[-1].out_channels, last_channel, 1, act=silu, norm=norm))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout, inplace=True),
            nn.Linear(last_channel, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


#: EfficientNet-B0 (paper Table 1; torchvision ``efficientnet_b0``).
EFFICIENTNET_B0: tuple[Stage, ...] = (
    Stage("mb", 1, 3, 1, 32, 16, 1),
    Stage("mb", 6, 3, 2, 16, 24, 2),
    Stage("mb", 6, 5, 2, 24, 40, 2),
    Stage("mb", 6, 3, 2, 40, 80, 3),
    Stage("mb", 6, 5, 1, 80, 112, 3),
    Stage("mb", 6, 5, 2, 112, 192, 4),
    Stage("mb", 6, 3, 1, 192, 320, 1),
)

#: EfficientNetV2-S (paper Table 4; torchvision ``efficientnet_v2_s``).
EFFICIENTNET_V2_S: tuple[Stage, ...] = (
    Stage("fused", 1, 3, 1, 24, 24, 2),
    Stage("fused", 4, 3, 2, 24, 48, 4),
    Stage("fused", 4, 3, 2, 48, 64, 4),
    Stage("mb", 4, 3, 2, 64, 128, 6),
    Stage("mb", 6, 3, 1, 128, 160, 9),
    Stage("mb", 6, 3, 2, 160, 256, 15),
)

EFFICIENTNET_V2_M: tuple[Stage, ...] = (
    Stage("fused", 1, 3, 1, 24, 24, 3),
    Stage("fused", 4, 3, 2, 24, 48, 5),
    Stage("fused", 4, 3, 2, 48, 80, 5),
    Stage("mb", 4, 3, 2, 80, 160, 7),
    Stage("mb", 6, 3, 1, 160, 176, 14),
    Stage("mb", 6, 3, 2, 176, 304, 18),
    Stage("mb", 6, 3, 1, 304, 512, 5),
)

EFFICIENTNET_V2_L: tuple[Stage, ...] = (
    Stage("fused", 1, 3, 1, 32, 32, 4),
    Stage("fused", 4, 3, 2, 32, 64, 7),
    Stage("fused", 4, 3, 2, 64, 96, 7),
    Stage("mb", 4, 3, 2, 96, 192, 10),
    Stage("mb", 6, 3, 1, 192, 224, 19),
    Stage("mb", 6, 3, 2, 224, 384, 25),
    Stage("mb", 6, 3, 1, 384, 640, 7),
)


def efficientnet_b0(num_classes: int = 1000) -> EfficientNet:
    return EfficientNet(EFFICIENTNET_B0, 1280, dropout=0.2, num_classes=num_classes)


def _efficientnet_v2(stages: tuple[Stage, ...], dropout: float,
                     num_classes: int = 1000) -> EfficientNet:
    return EfficientNet(stages, 1280, dropout=dropout, num_classes=num_classes,
                        norm=batchnorm(eps=1e-3))


efficientnet_v2_s = partial(_efficientnet_v2, EFFICIENTNET_V2_S, 0.2)
efficientnet_v2_m = partial(_efficientnet_v2, EFFICIENTNET_V2_M, 0.3)
efficientnet_v2_l = partial(_efficientnet_v2, EFFICIENTNET_V2_L, 0.4)


# ---------------------------------------------------------------------------------------------
# MNASNet
# ---------------------------------------------------------------------------------------------

_MNASNET_BN_MOMENTUM = 1 - 0.9997
#: Stage widths before the depth multiplier: stem, separable conv, then the six MB stacks.
MNASNET_DEPTHS = (32, 16, 24, 40, 80, 96, 192, 320)
#: (kernel, first stride, expansion, repeats) of the six inverted-residual stacks.
MNASNET_STACKS = ((3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4),
                  (3, 1, 6, 1))


class MNASNetBlock(nn.Module):
    """MNASNet inverted residual: 1×1 expand, k×k depthwise, 1×1 project (no SE)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int,
                 expand: int) -> None:
        super().__init__()
        mid = in_channels * expand
        self.apply_residual = in_channels == out_channels and stride == 1
        mom = _MNASNET_BN_MOMENTUM
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, mid, 1, bias=False),
            nn.BatchNorm2d(mid, momentum=mom),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False),
            nn.BatchNorm2d(mid, momentum=mom),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels, momentum=mom),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.apply_residual:
            return self.layers(x) + x
        return self.layers(x)


class MNASNet(nn.Module):
    """MNASNet-B1 (no SE; torchvision's variant) with depth multiplier ``alpha``.

    Widths are ``make_divisible(c·alpha, 8)`` (torchvision's ``_round_to_multiple_of``).
    """

    def __init__(self, alpha: float = 1.0, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        check_positive("alpha", alpha)
        check_positive("num_classes", num_classes)
        d = [make_divisible(c * alpha, 8) for c in MNASNET_DEPTHS]
        mom = _MNASNET_BN_MOMENTUM
        layers: list[nn.Module] = [
            nn.Conv2d(3, d[0], 3, padding=1, stride=2, bias=False),
            nn.BatchNorm2d(d[0], momentum=mom),
            nn.ReLU(inplace=True),
            nn.Conv2d(d[0], d[0], 3, padding=1, groups=d[0], bias=False),
            nn.BatchNorm2d(d[0], momentum=mom),
            nn.ReLU(inplace=True),
            nn.Conv2d(d[0], d[1], 1, bias=False),
            nn.BatchNorm2d(d[1], momentum=mom),
        ]
        for i, (k, s, e, n) in enumerate(MNASNET_STACKS):
            cin, cout = d[i + 1], d[i + 2]
            blocks = [MNASNetBlock(cin, cout, k, s, e)]
            blocks += [MNASNetBlock(cout, cout, k, 1, e) for _ in range(n - 1)]
            layers.append(nn.Sequential(*blocks))
        layers += [
            nn.Conv2d(d[7], 1280, 1, bias=False),
            nn.BatchNorm2d(1280, momentum=mom),
            nn.ReLU(inplace=True),
        ]
        self.layers = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout, inplace=True),
                                        nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.layers(x))
        return self.classifier(torch.flatten(x, 1))


def _mnasnet(alpha: float, num_classes: int = 1000) -> MNASNet:
    return MNASNet(alpha=alpha, num_classes=num_classes)


mnasnet0_5 = partial(_mnasnet, 0.5)
mnasnet0_75 = partial(_mnasnet, 0.75)
mnasnet1_0 = partial(_mnasnet, 1.0)
mnasnet1_3 = partial(_mnasnet, 1.3)


__all__ = [
    "EfficientNet",
    "FusedMBConv",
    "MBConv",
    "MNASNet",
    "MNASNetBlock",
    "Stage",
    "efficientnet_b0",
    "efficientnet_v2_l",
    "efficientnet_v2_m",
    "efficientnet_v2_s",
    "mnasnet0_5",
    "mnasnet0_75",
    "mnasnet1_0",
    "mnasnet1_3",
]
