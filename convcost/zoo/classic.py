"""Baselines in torchvision's layouts: VGG (Simonyan & Zisserman 2014), ResNet (He et al. 2016,
torchvision v1.5) and GoogLeNet (Szegedy et al. 2014, torchvision's BN variant)."""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from convcost.zoo._layers import check_positive

# ---------------------------------------------------------------------------------------------
# VGG
# ---------------------------------------------------------------------------------------------

#: Conv widths per configuration; 0 marks a 2×2 max pool (torchvision's "M").
VGG_CONFIGS: dict[str, tuple[int, ...]] = {
    "A": (64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0),
    "B": (64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0),
    "D": (64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0),
    "E": (64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0,
          512, 512, 512, 512, 0),
}


class VGG(nn.Module):
    """VGG: 3×3 convs (bias, padding 1) [+BN] + ReLU, 2×2 max pools, adaptive 7×7 average pool,
    FC 25088 → 4096 → 4096 → classes with ReLU and dropout 0.5."""

    def __init__(self, config: str = "D", batch_norm: bool = False,
                 num_classes: int = 1000) -> None:
        super().__init__()
        check_positive("num_classes", num_classes)
        layers: list[nn.Module] = []
        cin = 3
        for v in VGG_CONFIGS[config]:
            if v == 0:
                layers.append(nn.MaxPool2d(2, stride=2))
                continue
            layers.append(nn.Conv2d(cin, v, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU(inplace=True))
            cin = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def vgg16(num_classes: int = 1000) -> VGG:
    return VGG("D", batch_norm=False, num_classes=num_classes)


def vgg16_bn(num_classes: int = 1000) -> VGG:
    return VGG("D", batch_norm=True, num_classes=num_classes)


def vgg19(num_classes: int = 1000) -> VGG:
    return VGG("E", batch_norm=False, num_classes=num_classes)


# ---------------------------------------------------------------------------------------------
# ResNet
# ---------------------------------------------------------------------------------------------


def _conv3x3(cin: int, cout: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, 1, groups=groups, bias=False)


def _conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convs (+BN), identity or 1×1-conv shortcut, ReLU after the sum."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1,
                 base_width: int = 64) -> None:
        super().__init__()
        self.conv1 = _conv3x3(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.relu2 = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = self.downsample(x) if self.downsample is not None else x
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu2(out)


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3 (carries the stride: ResNet v1.5), 1×1 expand ×4; ReLU after the sum."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1,
                 base_width: int = 64) -> None:
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = _conv1x1(cin, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(width, width, stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv3 = _conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.downsample = downsample
        self.relu3 = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = self.downsample(x) if self.downsample is not None else x
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu3(out)


class ResNet(nn.Module):
    """ResNet, torchvision layout: 7×7/2 stem + 3×3/2 max pool, four stages, pool, FC."""

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: tuple[int, ...],
                 num_classes: int = 1000, groups: int = 1, width_per_group: int = 64) -> None:
        super().__init__()
        check_positive("num_classes", num_classes)
        self.inplanes = 64
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block: type[BasicBlock] | type[Bottleneck], planes: int, blocks: int,
                    stride: int = 1) -> nn.Sequential:
        downsample: nn.Module | None = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                _conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        units: list[nn.Module] = [block(self.inplanes, planes, stride, downsample, self.groups,
                                        self.base_width)]
        self.inplanes = planes * block.expansion
        units += [block(self.inplanes, planes, groups=self.groups, base_width=self.base_width)
                  for _ in range(1, blocks)]
        return nn.Sequential(*units)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _resnet(block: type[BasicBlock] | type[Bottleneck], layers: tuple[int, ...],
            num_classes: int = 1000) -> ResNet:
    return ResNet(block, layers, num_classes=num_classes)


resnet18 = partial(_resnet, BasicBlock, (2, 2, 2, 2))
resnet34 = partial(_resnet, BasicBlock, (3, 4, 6, 3))
resnet50 = partial(_resnet, Bottleneck, (3, 4, 6, 3))
resnet101 = partial(_resnet, Bottleneck, (3, 4, 23, 3))
resnet152 = partial(_resnet, Bottleneck, (3, 8, 36, 3))


# ---------------------------------------------------------------------------------------------
# GoogLeNet
# ---------------------------------------------------------------------------------------------


class BasicConv2d(nn.Module):
    """Conv (no bias) + BN (eps 0.001) + ReLU."""

    def __init__(self, cin: int, cout: int, kernel_size: int, stride: int = 1,
                 padding: int = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Inception module: 1×1 | 1×1→3×3 | 1×1→"5×5" | 3×3 max pool→1×1, concatenated.

    As in torchvision, the "5×5" branch uses a 3×3 kernel (a long-standing torchvision quirk
    that its published weights and parameter count depend on).
    """

    def __init__(self, cin: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                 ch5x5: int, pool_proj: int) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(cin, ch1x1, 1)
        self.branch2 = nn.Sequential(BasicConv2d(cin, ch3x3red, 1),
                                     BasicConv2d(ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(cin, ch5x5red, 1),
                                     BasicConv2d(ch5x5red, ch5x5, 3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(cin, pool_proj, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)), 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier (training only): 4×4 average pool, 1×1 conv 128, FC 1024, FC."""

    def __init__(self, cin: int, num_classes: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d((4, 4))
        self.conv = BasicConv2d(cin, 128, 1)
        self.fc1 = nn.Linear(2048, 1024)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(0.7)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.conv(self.avgpool(x)), 1)
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


class GoogLeNet(nn.Module):
    """GoogLeNet (Inception v1), torchvision's batch-norm variant.

    ``aux_logits=False`` (default, as torchvision's published model) drops the two auxiliary
    classifiers. With them, training-mode forward returns ``(logits, aux2, aux1)``; eval mode
    always returns the logits.
    """

    def __init__(self, num_classes: int = 1000, aux_logits: bool = False) -> None:
        super().__init__()
        check_positive("num_classes", num_classes)
        self.conv1 = BasicConv2d(3, 64, 7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, 1)
        self.conv3 = BasicConv2d(64, 192, 3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.aux1: InceptionAux | None = InceptionAux(512, num_classes) if aux_logits else None
        self.aux2: InceptionAux | None = InceptionAux(528, num_classes) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        if aux1 is not None and aux2 is not None:
            return x, aux2, aux1
        return x


def googlenet(num_classes: int = 1000, aux_logits: bool = False) -> GoogLeNet:
    return GoogLeNet(num_classes=num_classes, aux_logits=aux_logits)


__all__ = [
    "VGG",
    "BasicBlock",
    "Bottleneck",
    "GoogLeNet",
    "Inception",
    "InceptionAux",
    "ResNet",
    "googlenet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "vgg16",
    "vgg16_bn",
    "vgg19",
]
