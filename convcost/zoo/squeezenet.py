"""SqueezeNet v1.0 (Iandola et al. 2016, Table 1) and v1.1, torchvision layout."""

from __future__ import annotations

import torch
from torch import nn

from convcost.zoo._layers import check_positive


class Fire(nn.Module):
    """Fire module: 1×1 squeeze (+ReLU), then parallel 1×1 and 3×3 expands (+ReLU), concat.

    Every conv has a bias; there is no batch norm.
    """

    def __init__(self, in_channels: int, squeeze: int, expand1x1: int, expand3x3: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(in_channels, squeeze, 1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, 1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat(
            (self.expand1x1_activation(self.expand1x1(x)),
             self.expand3x3_activation(self.expand3x3(x))),
            1,
        )


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(3, stride=2, ceil_mode=True)


class SqueezeNet(nn.Module):
    """SqueezeNet; ``version`` "1_0" (7×7/96 stem) or "1_1" (3×3/64 stem, earlier pools).

    Classifier as in torchvision: dropout 0.5, 1×1 conv to the classes, ReLU, global average
    pool (no FC layer).
    """

    def __init__(self, version: str = "1_0", num_classes: int = 1000) -> None:
        super().__init__()
        check_positive("num_classes", num_classes)
        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, 7, stride=2),
                nn.ReLU(inplace=True),
                _pool(),
                Fire(96, 16, 64, 64),
                Fire(128, 16, 64, 64),
                Fire(128, 32, 128, 128),
                _pool(),
                Fire(256, 32, 128, 128),
                Fire(256, 48, 192, 192),
                Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256),
                _pool(),
                Fire(512, 64, 256, 256),
            )
        elif version == "1_1":
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, 3, stride=2),
                nn.ReLU(inplace=True),
                _pool(),
                Fire(64, 16, 64, 64),
                Fire(128, 16, 64, 64),
                _pool(),
                Fire(128, 32, 128, 128),
                Fire(256, 32, 128, 128),
                _pool(),
                Fire(256, 48, 192, 192),
                Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256),
                Fire(512, 64, 256, 256),
            )
        else:
            raise ValueError(f"unknown SqueezeNet version {version!r}")
        self.classifier = nn.Sequential(
            nn.Dropout(0.5),
            nn.Conv2d(512, num_classes, 1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


def squeezenet1_0(num_classes: int = 1000) -> SqueezeNet:
    return SqueezeNet("1_0", num_classes=num_classes)


def squeezenet1_1(num_classes: int = 1000) -> SqueezeNet:
    return SqueezeNet("1_1", num_classes=num_classes)


__all__ = ["Fire", "SqueezeNet", "squeezenet1_0", "squeezenet1_1"]
