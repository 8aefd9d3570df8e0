"""What the summary reads from the model's modules: classes, parameter counts, kernels.

Read-only: parameters are counted (unique, as ``named_parameters`` yields them), nothing is
called or changed.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import nn


class ModuleInfo(NamedTuple):
    """One module of the model, as the summary needs it."""

    cls: str
    leaf: bool
    params: int  # recursive, unique within the module (torchinfo's num_params)
    trainable: int
    own_params: int  # recurse=False (torchsummary's weight + bias)
    named: tuple[tuple[str, int], ...]  # recursive (name, numel), for torchinfo's mult-adds
    kernel_size: tuple[int, ...] | int | None
    container: bool  # an nn.Sequential or nn.ModuleList (subclasses too): no torchsummary row
    float_params: int  # recursive numel of floating-point parameters (stored at the dtype)
    other_param_bytes: int  # recursive bytes of the other parameters, at their own size


def module_infos(model: nn.Module) -> dict[str, ModuleInfo]:
    """Every module of ``model`` by scope ("" = the root), in ``named_modules`` order."""
    out: dict[str, ModuleInfo] = {}
    for scope, m in model.named_modules():
        params = [p for _, p in m.named_parameters()]
        named = tuple((n, p.numel()) for n, p in m.named_parameters())
        own = list(m.parameters(recurse=False))
        k = getattr(m, "kernel_size", None)
        kernel = tuple(k) if isinstance(k, (tuple, list)) else (k if isinstance(k, int)
                                                               else None)
        out[scope] = ModuleInfo(
            cls=type(m).__name__,
            leaf=next(iter(m.children()), None) is None,
            params=sum(n for _, n in named),
            trainable=sum(p.numel() for p in params if p.requires_grad),
            own_params=sum(p.numel() for p in own),
            named=named,
            kernel_size=kernel,
            container=isinstance(m, (nn.Sequential, nn.ModuleList)),
            float_params=sum(p.numel() for p in params if p.is_floating_point()),
            other_param_bytes=sum(p.numel() * p.element_size() for p in params
                                  if not p.is_floating_point()),
        )
    return out


__all__ = ["ModuleInfo", "module_infos"]
