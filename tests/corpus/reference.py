"""The independent count convcost is compared with: PyTorch's own FlopCounterMode, halved,
and the unique parameter count.

**What FlopCounterMode counts** (``torch.utils.flop_counter``, torch 2.13; 2 flops per
multiply-add, so ``flops // 2`` is in convcost's ``madds`` unit):

- convolutions: ``aten.convolution``, ``aten._convolution``, ``aten.cudnn_convolution``,
  ``aten.convolution_overrideable``, ``aten._slow_conv2d_forward`` (transposed ones too);
- dense products: ``aten.mm``, ``aten.addmm`` (the added bias not counted), ``aten.bmm``,
  ``aten.baddbmm`` (the added term not counted), ``aten._scaled_mm``. ``nn.Linear``,
  ``torch.matmul`` and ``torch.einsum`` reach these;
- fused attention: ``aten._scaled_dot_product_{flash,efficient,cudnn}_attention``,
  ``aten._flash_attention_forward``, ``aten._efficient_attention_forward``, flex_attention
  (two products each: Q·Kᵀ and P·V; a causal mask is not discounted);
- and the backward ops of these. Nothing else: no elementwise op, norm, pooling or softmax.

Two things the reference does beyond calling it, each with PyTorch's own formula:

- On the CPU, ``F.scaled_dot_product_attention`` runs
  ``aten._scaled_dot_product_flash_attention_for_cpu``, which FlopCounterMode does not know
  (so it counts no attention there); the reference maps that op to
  ``torch.utils.flop_counter.sdpa_flop_count``, the formula of the other SDPA kernels. On
  the meta device SDPA decomposes into ``aten.bmm`` and is counted as such.
- A meta model whose forward makes a data-dependent decision (``Tensor.item()``:
  transformers' packed-sequence check when there is no cache and no attention mask) cannot
  run on plain meta tensors; the reference then reruns it under ``FakeTensorMode`` (meta
  tensors that transformers recognises as traced, so it skips that check) and says so in
  ``how``.

The model runs in eval mode under ``torch.no_grad()`` (RevNet's custom autograd function
fails under FlopCounterMode otherwise).

**Parameters**: ``sum(p.numel())`` over the model's parameters, each tensor once
(``{id(p): p}``): tied weights (GPT-2's ``lm_head``/``wte``) count once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils import _pytree as pytree
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

from corpus.models import Inputs


@dataclass(frozen=True)
class Reference:
    """The independent count for one model and input."""

    params: int  # unique parameters
    madds: int | None = None  # FlopCounterMode flops // 2; None when it failed
    by_op: dict[str, int] = field(default_factory=dict)  # aten op -> flops // 2
    how: str = ""  # where FlopCounterMode ran: "meta", "fake (meta)", "cpu"
    seconds: float = 0.0  # the FlopCounterMode run alone
    error: str | None = None


def unique_params(model: nn.Module) -> int:
    unique = {id(p): p for _, p in model.named_parameters(remove_duplicate=False)}
    return sum(p.numel() for p in unique.values())


def _cpu_sdpa(query_shape: Any, key_shape: Any, value_shape: Any, *args: Any,
              out_shape: Any = None, **kwargs: Any) -> int:
    return int(sdpa_flop_count(query_shape, key_shape, value_shape))


def _count(model: nn.Module, inputs: Inputs) -> dict[str, int]:
    mapping = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_sdpa}
    with torch.no_grad(), FlopCounterMode(display=False, custom_mapping=mapping) as counter:
        model(*inputs.args, **inputs.kwargs)
    return {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}


def _count_fake(model: nn.Module, inputs: Inputs) -> dict[str, int]:
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode(allow_non_fake_inputs=True) as mode:
        def fake(t: Any) -> Any:
            return mode.from_tensor(t) if isinstance(t, torch.Tensor) else t

        args, kwargs = pytree.tree_map(fake, (inputs.args, inputs.kwargs))
        return _count(model, Inputs(args=args, kwargs=kwargs))


def reference(model: nn.Module, make_inputs: Callable[[], Inputs]) -> Reference:
    """FlopCounterMode's count of ``model(*inputs.args, **inputs.kwargs)``, halved, and the
    unique parameter count. ``make_inputs()`` returns fresh inputs: once for the run, once
    more for a FakeTensorMode rerun."""
    params = unique_params(model)
    device = next(model.parameters()).device.type
    inputs = make_inputs()
    start = time.perf_counter()
    try:
        flops, how = _count(model, inputs), device
    except Exception as exc:
        if device != "meta":
            return Reference(params, error=f"{type(exc).__name__}: {exc}",
                             seconds=time.perf_counter() - start)
        retry = make_inputs()
        start = time.perf_counter()
        try:
            flops, how = _count_fake(model, retry), "fake (meta)"
        except Exception as exc2:
            return Reference(params, error=f"{type(exc).__name__}: {exc}; under "
                             f"FakeTensorMode: {type(exc2).__name__}: {exc2}",
                             seconds=time.perf_counter() - start)
    seconds = time.perf_counter() - start
    total = sum(flops.values())
    return Reference(params, madds=total // 2, by_op={k: v // 2 for k, v in flops.items()},
                     how=how, seconds=seconds)


__all__ = ["Reference", "reference", "unique_params"]
