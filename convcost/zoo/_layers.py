"""Building blocks shared by the zoo's networks.

Every conv, norm and activation is its own ``nn.Module`` so that per-layer reports can name
it; data movement that costs memory traffic (channel shuffle, concat) is written so that the
capture engine sees the copy. Everything builds and runs on the ``meta`` device: no
``.item()``, no Python branches on tensor values, no ``.data`` writes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from convcost.errors import ModelSpecError

ActFactory = Callable[[], nn.Module]
NormFactory = Callable[[int], nn.Module]

relu: ActFactory = partial(nn.ReLU, inplace=True)
relu6: ActFactory = partial(nn.ReLU6, inplace=True)
hardswish: ActFactory = partial(nn.Hardswish, inplace=True)
silu: ActFactory = partial(nn.SiLU, inplace=True)


def batchnorm(eps: float = 1e-5, momentum: float = 0.1) -> NormFactory:
    """A BatchNorm2d factory with these constants (MobileNetV3 uses eps=0.001)."""
    return partial(nn.BatchNorm2d, eps=eps, momentum=momentum)


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias) + BatchNorm2d + optional activation; "same" padding by default.

    Children are named ``0`` (conv), ``1`` (norm), ``2`` (activation), as in torchvision's
    ``Conv2dNormActivation``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        act: ActFactory | None = relu,
        norm: NormFactory | None = None,
        padding: int | None = None,
    ) -> None:
        if padding is None:
            padding = (kernel_size - 1) // 2
        norm = norm or batchnorm()
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups,
                      bias=False),
            norm(out_channels),
        ]
        if act is not None:
            layers.append(act())
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation: global pool, 1×1 conv (bias) → act → 1×1 conv (bias) → gate.

    The gate multiplies the input (``x * gate``), so the capture engine records the scaling.
    """

    def __init__(
        self,
        channels: int,
        squeeze_channels: int,
        act: ActFactory = nn.ReLU,
        gate: ActFactory = nn.Sigmoid,
    ) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.activation = act()
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.scale_activation = gate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.avgpool(x)
        scale = self.activation(self.fc1(scale))
        scale = self.scale_activation(self.fc2(scale))
        return x * scale


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle: reshape to (g, c/g), transpose, flatten back.

    ``contiguous()`` makes the permutation a real copy, which is what it costs at run time.
    """

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = self.groups
        return x.view(n, g, c // g, h, w).transpose(1, 2).contiguous().view(n, c, h, w)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class StochasticDepth(nn.Module):
    """Row-wise stochastic depth (EfficientNet, MNASNet style); identity in eval mode.

    It has no parameters; it is kept so that module names match torchvision's layout.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        noise = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device)
        noise = noise.bernoulli_(survival)
        if survival > 0.0:
            noise = noise.div_(survival)
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}"


def check_positive(name: str, value: float) -> None:
    """Builders' guard for multipliers and class counts (raises :class:`ModelSpecError`)."""
    if isinstance(value, bool) or not value > 0:
        raise ModelSpecError(f"{name} must be > 0, got {value!r}")


__all__ = [
    "ChannelShuffle",
    "ConvBNAct",
    "SqueezeExcitation",
    "StochasticDepth",
    "batchnorm",
    "check_positive",
    "hardswish",
    "relu",
    "relu6",
    "silu",
]
