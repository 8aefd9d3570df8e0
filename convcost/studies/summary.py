"""``summary``: the torchinfo / torchsummary table of a model."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from torch import nn

from convcost.records.summary import Summary, build_summary
from convcost.resolve import Resolved, resolve


def summary(
    model: nn.Module | str | Resolved,
    input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    depth: int = 3,
    style: str = "torchinfo",
    columns: Iterable[str] | None = None,
    dtype: Any = "float32",
    device: str = "meta",
    name: str | None = None,
) -> Summary:
    """A torchinfo / torchsummary style summary of ``model`` at ``input_size`` (batch first).

    ``model``: an ``nn.Module`` or a model spec (``"resnet18"``, ``"net.py:Net"``);
    ``input_size`` defaults to a zoo model's input at batch 1. ``columns``: torchinfo's column
    names (``input_size``, ``output_size``, ``num_params``, ``params_percent``,
    ``kernel_size``, ``mult_adds``, ``trainable``). The model is read, never changed.
    ``str(result)`` is the table.
    """
    from convcost.api import analyze
    from convcost.capture.modules import module_infos

    resolved = resolve(model, device, name)
    analysis = analyze(resolved, input_size, dtype=dtype, device=device)
    return build_summary(analysis, module_infos(resolved.module), depth=depth, style=style,
                         columns=columns)


__all__ = ["summary"]
