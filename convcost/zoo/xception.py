"""Xception (Chollet 2017, arXiv:1610.02357, Fig. 5), counted as the Keras reference model.

Entry flow: two plain 3×3 convs (32 stride 2, 64; no padding), then three residual blocks of
two separable convs + 3×3/2 max pool with a strided 1×1 conv (+BN) shortcut (128, 256, 728).
Middle flow: 8 residual blocks of three ReLU → separable conv (728) → BN. Exit flow: one
residual block (728, 1024) with pool, then separable 1536 and 2048 (+BN+ReLU), global
average pool and a 1000-way FC.

A separable conv is a 3×3 depthwise conv followed directly by a 1×1 pointwise conv, both
without bias and with no BN or nonlinearity between them (the paper's finding, Fig. 10);
BN follows the pointwise conv. The parameter count (BN γ/β, no running statistics) is
22,855,952 — the paper's and Keras's trainable-parameter figure.
"""

from __future__ import annotations

import torch
from torch import nn

from convcost.zoo._layers import check_positive


class SeparableConv2d(nn.Module):
    """3×3 depthwise (padding 1) then 1×1 pointwise; no bias, nothing in between."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels,
                                   bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class XceptionBlock(nn.Module):
    """Residual block of ``len(widths)`` [ReLU] → separable conv → BN steps.

    ``stride=2``: a 3×3/2 max pool ends the main path and the shortcut is a strided 1×1 conv
    + BN; otherwise the shortcut is the identity. ``first_relu=False`` skips the ReLU before
    the first separable conv (the first entry-flow block, whose input is already rectified).
    """

    def __init__(self, in_channels: int, widths: tuple[int, ...], stride: int = 1,
                 first_relu: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for i, cout in enumerate(widths):
            if i > 0 or first_relu:
                layers.append(nn.ReLU())  # not in place: the block input feeds the shortcut
            layers += [SeparableConv2d(cin, cout), nn.BatchNorm2d(cout)]
            cin = cout
        if stride == 2:
            layers.append(nn.MaxPool2d(3, stride=2, padding=1))
            self.skip: nn.Module | None = nn.Sequential(
                nn.Conv2d(in_channels, cin, 1, stride=2, bias=False),
                nn.BatchNorm2d(cin),
            )
        else:
            self.skip = None
        self.rep = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = self.skip(x) if self.skip is not None else x
        return self.rep(x) + identity


class Xception(nn.Module):
    """Xception for 299×299 inputs (any size ≥ 71 runs)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        check_positive("num_classes", num_classes)
        self.entry = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=2, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            XceptionBlock(64, (128, 128), stride=2, first_relu=False),
            XceptionBlock(128, (256, 256), stride=2),
            XceptionBlock(256, (728, 728), stride=2),
        )
        self.middle = nn.Sequential(*(XceptionBlock(728, (728, 728, 728)) for _ in range(8)))
        self.exit = nn.Sequential(
            XceptionBlock(728, (728, 1024), stride=2),
            SeparableConv2d(1024, 1536),
            nn.BatchNorm2d(1536),
            nn.ReLU(inplace=True),
            SeparableConv2d(1536, 2048),
            nn.BatchNorm2d(2048),
            nn.ReLU(inplace=True),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.exit(self.middle(self.entry(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def xception(num_classes: int = 1000) -> Xception:
    return Xception(num_classes=num_classes)


__all__ = ["SeparableConv2d", "Xception", "XceptionBlock", "xception"]
