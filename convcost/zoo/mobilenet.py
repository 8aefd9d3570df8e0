"""MobileNet V1 (Howard et al. 2017), V2 (Sandler et al. 2018) and V3 (Howard et al. 2019).

V1 follows the paper's Table 1 (no torchvision twin); V2 and V3 follow torchvision's layouts,
which are the papers' tables with torchvision's ``make_divisible(c·α, 8)`` channel rounding.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from convcost.formulas.multipliers import make_divisible
from convcost.zoo._layers import (
    ActFactory,
    ConvBNAct,
    NormFactory,
    SqueezeExcitation,
    batchnorm,
    check_positive,
    hardswish,
    relu,
    relu6,
)

# ---------------------------------------------------------------------------------------------
# MobileNet V1
# ---------------------------------------------------------------------------------------------

#: (output channels, depthwise stride) of the 13 depthwise-separable layers, paper Table 1.
#: The 13th has stride 1: the paper's Table 1 misprints 2 (the feature map stays 7×7).
MOBILENET_V1_LAYERS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
    (1024, 2), (1024, 1),
)


class MobileNetV1(nn.Module):
    """MobileNet V1: a 3×3 stem, 13 depthwise-separable layers, global pool, FC.

    ``width_mult`` α gives every layer ``int(C·α)`` channels. ``separable=False`` is the
    paper's "Conv MobileNet" baseline (Table 4): each depthwise + pointwise pair becomes one
    standard 3×3 conv (with the depthwise stride) from the input to the output channels.
    Every conv is followed by BN and ReLU; the FC has a bias and no nonlinearity.
    """

    def __init__(self, width_mult: float = 1.0, separable: bool = True,
                 num_classes: int = 1000) -> None:
        super().__init__()
        check_positive("width_mult", width_mult)
        check_positive("num_classes", num_classes)

        def ch(c: int) -> int:
            return max(1, int(c * width_mult))

        cin = ch(32)
        layers: list[nn.Module] = [ConvBNAct(3, cin, 3, stride=2)]
        for c, stride in MOBILENET_V1_LAYERS:
            cout = ch(c)
            if separable:
                layers.append(nn.Sequential(OrderedDict(
                    dw=ConvBNAct(cin, cin, 3, stride=stride, groups=cin),
                    pw=ConvBNAct(cin, cout, 1),
                )))
            else:
                layers.append(ConvBNAct(cin, cout, 3, stride=stride))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v1(width_mult: float = 1.0, separable: bool = True,
                 num_classes: int = 1000) -> MobileNetV1:
    return MobileNetV1(width_mult=width_mult, separable=separable, num_classes=num_classes)


# ---------------------------------------------------------------------------------------------
# MobileNet V2
# ---------------------------------------------------------------------------------------------

#: (expansion t, output channels c, repeats n, first stride s), paper Table 2.
MOBILENET_V2_SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1×1 expand (omitted when t = 1), 3×3 depthwise, 1×1 linear project."""

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 expand_ratio: int) -> None:
        super().__init__()
        hidden = round(in_channels * expand_ratio)
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNAct(in_channels, hidden, 1, act=relu6))
        layers += [
            ConvBNAct(hidden, hidden, 3, stride=stride, groups=hidden, act=relu6),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNet V2, torchvision layout; every width is ``make_divisible(c·α, 8)``.

    The last conv is ``make_divisible(1280·max(1, α), 8)`` wide: it is not shrunk for α < 1.
    """

    def __init__(self, width_mult: float = 1.0, num_classes: int = 1000,
                 dropout: float = 0.2) -> None:
        super().__init__()
        check_positive("width_mult", width_mult)
        check_positive("num_classes", num_classes)
        cin = make_divisible(32 * width_mult, 8)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult), 8)
        layers: list[nn.Module] = [ConvBNAct(3, cin, 3, stride=2, act=relu6)]
        for t, c, n, s in MOBILENET_V2_SETTING:
            cout = make_divisible(c * width_mult, 8)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        layers.append(ConvBNAct(cin, self.last_channel, 1, act=relu6))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.last_channel,
                                                                       num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v2(width_mult: float = 1.0, num_classes: int = 1000) -> MobileNetV2:
    return MobileNetV2(width_mult=width_mult, num_classes=num_classes)


# ---------------------------------------------------------------------------------------------
# MobileNet V3
# ---------------------------------------------------------------------------------------------

#: Rows (in, kernel, expanded, out, SE, nonlinearity, stride) of torchvision's configuration
#: (= the later paper version's Tables 1 and 2). "RE" = ReLU, "HS" = hard-swish.
V3Row = tuple[int, int, int, int, bool, str, int]

MOBILENET_V3_LARGE: tuple[V3Row, ...] = (
    (16, 3, 16, 16, False, "RE", 1),
    (16, 3, 64, 24, False, "RE", 2),
    (24, 3, 72, 24, False, "RE", 1),
    (24, 5, 72, 40, True, "RE", 2),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2),
    (80, 3, 200, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 480, 112, True, "HS", 1),
    (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2),
    (160, 5, 960, 160, True, "HS", 1),
    (160, 5, 960, 160, True, "HS", 1),
)

MOBILENET_V3_SMALL: tuple[V3Row, ...] = (
    (16, 3, 16, 16, True, "RE", 2),
    (16, 3, 72, 24, False, "RE", 2),
    (24, 3, 88, 24, False, "RE", 1),
    (24, 5, 96, 40, True, "HS", 2),
    (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 120, 48, True, "HS", 1),
    (48, 5, 144, 48, True, "HS", 1),
    (48, 5, 288, 96, True, "HS", 2),
    (96, 5, 576, 96, True, "HS", 1),
    (96, 5, 576, 96, True, "HS", 1),
)


class V3Block(nn.Module):
    """MobileNetV3 bottleneck: [1×1 expand] → k×k depthwise → [SE] → 1×1 linear project.

    The expand conv is omitted when the expanded width equals the input width. The SE squeeze
    width is ``make_divisible(exp // 4, 8)`` with a hard-sigmoid gate.
    """

    def __init__(self, in_channels: int, kernel: int, expanded: int, out_channels: int,
                 use_se: bool, act: ActFactory, stride: int, norm: NormFactory) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(ConvBNAct(in_channels, expanded, 1, act=act, norm=norm))
        layers.append(ConvBNAct(expanded, expanded, kernel, stride=stride, groups=expanded,
                                act=act, norm=norm))
        if use_se:
            layers.append(SqueezeExcitation(expanded, make_divisible(expanded // 4, 8),
                                            act=nn.ReLU, gate=nn.Hardsigmoid))
        layers.append(ConvBNAct(expanded, out_channels, 1, act=None, norm=norm))
        self.block = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        if self.use_res_connect:
            out = out + x
        return out


class MobileNetV3(nn.Module):
    """MobileNet V3 (Large or Small), torchvision layout, BN eps 0.001.

    Head: 1×1 conv to 6× the last block's width (+BN, hard-swish), global pool, Linear to
    ``last_channel`` (1280 Large / 1024 Small, hard-swish, no BN), dropout, Linear.
    """

    def __init__(self, rows: tuple[V3Row, ...], last_channel: int, width_mult: float = 1.0,
                 num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        check_positive("width_mult", width_mult)
        check_positive("num_classes", num_classes)
        norm = batchnorm(eps=0.001, momentum=0.01)

        def adjust(c: int) -> int:
            return make_divisible(c * width_mult, 8)

        first = adjust(rows[0][0])
        layers: list[nn.Module] = [ConvBNAct(3, first, 3, stride=2, act=hardswish, norm=norm)]
        for cin, k, exp, cout, se, nl, stride in rows:
            act = hardswish if nl == "HS" else relu
            layers.append(V3Block(adjust(cin), k, adjust(exp), adjust(cout), se, act, stride,
                                  norm))
        last_in = adjust(rows[-1][3])
        last_conv = 6 * last_in
        layers.append(ConvBNAct(last_in, last_conv, 1, act=hardswish, norm=norm))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        hidden = adjust(last_channel)
        self.classifier = nn.Sequential(
            nn.Linear(last_conv, hidden),
            nn.Hardswish(inplace=True),
            nn.Dropout(dropout, inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v3_large(width_mult: float = 1.0, num_classes: int = 1000) -> MobileNetV3:
    return MobileNetV3(MOBILENET_V3_LARGE, 1280, width_mult=width_mult, num_classes=num_classes)


def mobilenet_v3_small(width_mult: float = 1.0, num_classes: int = 1000) -> MobileNetV3:
    return MobileNetV3(MOBILENET_V3_SMALL, 1024, width_mult=width_mult, num_classes=num_classes)


__all__ = [
    "InvertedResidual",
    "MobileNetV1",
    "MobileNetV2",
    "MobileNetV3",
    "V3Block",
    "mobilenet_v1",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
]
