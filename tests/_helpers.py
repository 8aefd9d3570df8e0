"""Small pieces several test modules share (imported as ``_helpers``: pytest and the
benchmarks put ``tests/`` on ``sys.path``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils import _pytree as pytree


class Fn(nn.Module):
    """A module whose forward is one function, ``fn(self, *args, **kwargs)``, with children
    (the peers' suites and the known gaps call ops directly)."""

    def __init__(self, fn: Callable[..., Any], **children: nn.Module) -> None:
        super().__init__()
        self.fn = fn
        for name, child in children.items():
            self.add_module(name, child)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(self, *args, **kwargs)


def sum_of_outputs(out: Any) -> torch.Tensor:
    """The loss the references differentiate in a training step: the sum of every real
    floating-point output that needs a gradient (convcost's default loss, which also sums
    complex outputs)."""
    parts = [t for t in pytree.tree_leaves(out) if isinstance(t, torch.Tensor)
             and t.is_floating_point() and t.requires_grad]
    total = parts[0].sum()
    for t in parts[1:]:
        total = total + t.sum()
    return total


__all__ = ["Fn", "sum_of_outputs"]
