"""ShuffleNet V1 (Zhang et al. 2017, Table 1) and V2 (Ma et al. 2018, torchvision layout)."""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from convcost.errors import ModelSpecError
from convcost.formulas.multipliers import make_divisible
from convcost.zoo._layers import ChannelShuffle, ConvBNAct, check_positive

# ---------------------------------------------------------------------------------------------
# ShuffleNet V1
# ---------------------------------------------------------------------------------------------

#: Output channels of stages 2, 3, 4 of "ShuffleNet 1×" per group count, paper Table 1.
SHUFFLENET_V1_CHANNELS: dict[int, tuple[int, int, int]] = {
    1: (144, 288, 576),
    2: (200, 400, 800),
    3: (240, 480, 960),
    4: (272, 544, 1088),
    8: (384, 768, 1536),
}
SHUFFLENET_V1_REPEATS = (4, 8, 4)  # one stride-2 unit, then 3 / 7 / 3 stride-1 units
SHUFFLENET_V1_STEM = 24


class ShuffleV1Unit(nn.Module):
    """ShuffleNet unit (paper Fig. 2 b/c).

    1×1 group conv to ``out/4`` (+BN+ReLU) → channel shuffle → 3×3 depthwise (+BN, no ReLU)
    → 1×1 group conv (+BN) → add the identity, ReLU. A stride-2 unit takes a 3×3 average pool
    (stride 2) as shortcut and concatenates, so its main path outputs ``out - in`` channels.
    ``group_first=False`` leaves the first 1×1 conv ungrouped (first unit of Stage 2).
    """

    def __init__(self, in_channels: int, out_channels: int, groups: int, stride: int,
                 group_first: bool = True) -> None:
        super().__init__()
        self.stride = stride
        mid = out_channels // 4
        main_out = out_channels - in_channels if stride == 2 else out_channels
        self.gconv1 = nn.Conv2d(in_channels, mid, 1, groups=groups if group_first else 1,
                                bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.relu1 = nn.ReLU(inplace=True)
        self.shuffle: nn.Module = ChannelShuffle(groups) if groups > 1 else nn.Identity()
        self.dwconv = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.gconv2 = nn.Conv2d(mid, main_out, 1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(main_out)
        self.shortcut: nn.Module | None = (
            nn.AvgPool2d(3, stride=2, padding=1) if stride == 2 else None
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.gconv1(x)))
        out = self.shuffle(out)
        out = self.bn2(self.dwconv(out))
        out = self.bn3(self.gconv2(out))
        if self.shortcut is None:
            return self.relu(out + x)
        return self.relu(torch.cat((self.shortcut(x), out), 1))


def shufflenet_v1_channels(groups: int, scale: float) -> tuple[int, tuple[int, int, int]]:
    """(stem width, stage widths) of "ShuffleNet s×" with g groups.

    The paper scales every width by s. To keep every group conv and the shuffle well formed
    at any s, stage widths are rounded to a multiple of 4g (the bottleneck, out/4, must split
    into g groups) and the stem (24 at 1×) to a multiple of g; both roundings use
    :func:`make_divisible`, and leave the 1× widths of Table 1 unchanged.
    """
    if groups not in SHUFFLENET_V1_CHANNELS:
        raise ModelSpecError(f"groups must be one of 1, 2, 3, 4, 8, got {groups!r}")
    check_positive("scale", scale)
    stem = make_divisible(SHUFFLENET_V1_STEM * scale, groups)
    stages = tuple(make_divisible(c * scale, 4 * groups) for c in SHUFFLENET_V1_CHANNELS[groups])
    return stem, (stages[0], stages[1], stages[2])


class ShuffleNetV1(nn.Module):
    """ShuffleNet V1: 3×3 conv (24, stride 2) + 3×3 max pool, stages 2-4, global pool, FC."""

    def __init__(self, groups: int = 3, scale: float = 1.0, num_classes: int = 1000) -> None:
        super().__init__()
        check_positive("num_classes", num_classes)
        stem, widths = shufflenet_v1_channels(groups, scale)
        self.conv1 = ConvBNAct(3, stem, 3, stride=2)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = stem
        stages: list[nn.Sequential] = []
        for i, (cout, repeats) in enumerate(zip(widths, SHUFFLENET_V1_REPEATS, strict=True)):
            units = [ShuffleV1Unit(cin, cout, groups, 2, group_first=i > 0)]
            units += [ShuffleV1Unit(cout, cout, groups, 1) for _ in range(repeats - 1)]
            stages.append(nn.Sequential(*units))
            cin = cout
        self.stage2, self.stage3, self.stage4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def shufflenet_v1(groups: int = 3, scale: float = 1.0, num_classes: int = 1000) -> ShuffleNetV1:
    return ShuffleNetV1(groups=groups, scale=scale, num_classes=num_classes)


# ---------------------------------------------------------------------------------------------
# ShuffleNet V2
# ---------------------------------------------------------------------------------------------

#: torchvision's ``stages_out_channels`` (= paper Table 5): conv1, stage2-4, conv5.
SHUFFLENET_V2_CHANNELS: dict[str, tuple[int, int, int, int, int]] = {
    "x0_5": (24, 48, 96, 192, 1024),
    "x1_0": (24, 116, 232, 464, 1024),
    "x1_5": (24, 176, 352, 704, 1024),
    "x2_0": (24, 244, 488, 976, 2048),
}
SHUFFLENET_V2_REPEATS = (4, 8, 4)


def _depthwise(channels: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, 3, stride, 1, groups=channels, bias=False)


class ShuffleV2Unit(nn.Module):
    """ShuffleNet V2 unit (paper Fig. 3 c/d, torchvision ``InvertedResidual``).

    Stride 1: split the channels in half (``torch.chunk``), transform one half with 1×1 →
    3×3 depthwise → 1×1, concat, shuffle with 2 groups. Stride 2: no split; both branches see
    the whole input and each outputs half of the output channels.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        branch = out_channels // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                _depthwise(in_channels, stride),
                nn.BatchNorm2d(in_channels),
                nn.Conv2d(in_channels, branch, 1, bias=False),
                nn.BatchNorm2d(branch),
                nn.ReLU(inplace=True),
            )
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(in_channels if stride > 1 else branch, branch, 1, bias=False),
            nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True),
            _depthwise(branch, stride),
            nn.BatchNorm2d(branch),
            nn.Conv2d(branch, branch, 1, bias=False),
            nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True),
        )
        self.shuffle = ChannelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            x1, x2 = torch.chunk(x, 2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), 1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), 1)
        return self.shuffle(out)


class ShuffleNetV2(nn.Module):
    """ShuffleNet V2, torchvision layout (convs without bias, max pool padding 1, FC bias)."""

    def __init__(self, channels: tuple[int, int, int, int, int],
                 num_classes: int = 1000) -> None:
        super().__init__()
        check_positive("num_classes", num_classes)
        stem = channels[0]
        self.conv1 = ConvBNAct(3, stem, 3, stride=2)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = stem
        stages: list[nn.Sequential] = []
        for cout, repeats in zip(channels[1:4], SHUFFLENET_V2_REPEATS, strict=True):
            units = [ShuffleV2Unit(cin, cout, 2)]
            units += [ShuffleV2Unit(cout, cout, 1) for _ in range(repeats - 1)]
            stages.append(nn.Sequential(*units))
            cin = cout
        self.stage2, self.stage3, self.stage4 = stages
        self.conv5 = nn.Sequential(
            nn.Conv2d(cin, channels[4], 1, bias=False),
            nn.BatchNorm2d(channels[4]),
            nn.ReLU(inplace=True),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels[4], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        x = self.conv5(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _shufflenet_v2(width: str, num_classes: int = 1000) -> ShuffleNetV2:
    return ShuffleNetV2(SHUFFLENET_V2_CHANNELS[width], num_classes=num_classes)


shufflenet_v2_x0_5 = partial(_shufflenet_v2, "x0_5")
shufflenet_v2_x1_0 = partial(_shufflenet_v2, "x1_0")
shufflenet_v2_x1_5 = partial(_shufflenet_v2, "x1_5")
shufflenet_v2_x2_0 = partial(_shufflenet_v2, "x2_0")


__all__ = [
    "ShuffleNetV1",
    "ShuffleNetV2",
    "ShuffleV1Unit",
    "ShuffleV2Unit",
    "shufflenet_v1",
    "shufflenet_v1_channels",
    "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0",
    "shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0",
]
