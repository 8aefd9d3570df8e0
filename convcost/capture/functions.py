"""The two functions the recorder sees before torch decomposes them: ``F.linear`` and
``F.scaled_dot_product_attention``.

A ``TorchDispatchMode`` sees ops after composite ones are decomposed, which loses two things:

- ``F.linear`` on a ``(B, L, in)`` input runs as ``view → addmm → view``, so its row would say
  ``(B·L, in) → (B·L, out)``. :class:`Functions` notes the caller's shapes, and the recorder
  puts them back on the one product node (the cost is the same: a matmul broadcasts its
  leading dims).
- ``F.scaled_dot_product_attention`` picks its kernel by device: on the CPU the fused
  ``aten._scaled_dot_product_flash_attention_for_cpu``, on the meta device always the math
  decomposition (mul, bmm, softmax, bmm), which reads and writes the L×S score matrix. During
  a capture on meta, :class:`Functions` calls the fused op the CPU would call, under the CPU's
  own conditions (:func:`cpu_runs_fused`), so both devices record the same ``attention`` node.

Imports only torch: the recorder passes itself in as a :class:`Nodes`.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode


class Nodes(Protocol):
    """What :class:`Functions` needs of the recorder."""

    def node_count(self) -> int: ...

    def linear_shapes(self, start: int, in_shape: tuple[int, ...],
                      out_shape: tuple[int, ...]) -> None: ...


_LINEAR = F.linear
_SDPA = F.scaled_dot_product_attention
_SDPA_PARAMS = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale",
                "enable_gqa")
_SDPA_DEFAULTS: dict[str, Any] = {"attn_mask": None, "dropout_p": 0.0, "is_causal": False,
                                  "scale": None, "enable_gqa": False}
_FUSED_DTYPES = (torch.float32, torch.float64, torch.bfloat16, torch.float16)


def _fused_cpu_op() -> Any:
    try:
        return torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default
    except AttributeError:  # torch < 2.2 has no fused CPU kernel: SDPA decomposes there too
        return None


def _bind_sdpa(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """F.scaled_dot_product_attention's arguments by name, or None where torch itself should
    answer (too many or unknown arguments: its own error)."""
    if len(args) > len(_SDPA_PARAMS):
        return None
    bound = dict(zip(_SDPA_PARAMS, args, strict=False))
    for k, v in kwargs.items():
        if k in bound or k not in _SDPA_PARAMS:
            return None
        bound[k] = v
    if not all(isinstance(bound.get(k), torch.Tensor) for k in ("query", "key", "value")):
        return None
    return {**_SDPA_DEFAULTS, **bound}


def cpu_runs_fused(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                   attn_mask: torch.Tensor | None = None, dropout_p: float = 0.0,
                   is_causal: bool = False, enable_gqa: bool = False) -> bool:
    """Whether the CPU's ``F.scaled_dot_product_attention`` runs the fused flash kernel for
    these inputs (torch's ``use_flash_attention_cpp``, from their shapes, strides and dtypes;
    the meta device has all three), rather than the math decomposition."""
    q, k, v, mask = query, key, value, attn_mask
    if not torch.backends.cuda.flash_sdp_enabled():  # the one switch for both devices
        return False
    if q.is_nested or k.is_nested or v.is_nested or dropout_p > 0.0:
        return False
    if is_causal and mask is not None:  # torch's own error, from the real function
        return False
    if not q.dim() == k.dim() == v.dim() == 4:
        return False
    (b, hq, lq, e), (bk, hk, s, ek), (bv, hv, _, ev) = q.shape, k.shape, v.shape
    if not b == bk == bv:
        return False
    if enable_gqa:
        if hk != hv or hk == 0 or hq % hk:
            return False
    elif not hq == hk == hv:
        return False
    if mask is not None:
        if mask.requires_grad or mask.dim() not in (2, 4) or mask.stride(-1) != 1:
            return False
        if mask.dtype != torch.bool and mask.dtype != q.dtype:
            return False
        if mask.shape[-2] not in (lq, 1) or mask.shape[-1] not in (s, 1):
            return False
        if mask.dim() == 4 and (mask.shape[0] not in (1, b) or mask.shape[1] not in (1, hq)):
            return False
    if not e == ek == ev or lq == 0 or s == 0:
        return False
    if q.stride(-1) != 1 or k.stride(-1) != 1 or v.stride(-1) != 1:
        return False
    return q.dtype == k.dtype == v.dtype and q.dtype in _FUSED_DTYPES


class Functions(TorchFunctionMode):
    """Sees ``F.linear`` and, when ``fuse_attention``, ``F.scaled_dot_product_attention``
    before they decompose (module docstring). Every other function passes straight through."""

    def __init__(self, nodes: Nodes, *, fuse_attention: bool) -> None:
        super().__init__()
        self.nodes = nodes
        self.fused: Any = _fused_cpu_op() if fuse_attention else None

    def __torch_function__(self, func: Any, types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func is _LINEAR:
            return self._linear(args, kwargs)
        if func is _SDPA and self.fused is not None:
            bound = _bind_sdpa(args, kwargs)
            if bound is not None and cpu_runs_fused(
                    bound["query"], bound["key"], bound["value"], bound["attn_mask"],
                    bound["dropout_p"], bound["is_causal"], bound["enable_gqa"]):
                return self._fused_attention(**bound)
        return func(*args, **kwargs)

    def _linear(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        x = args[0] if args else kwargs.get("input")
        start = self.nodes.node_count()
        out = _LINEAR(*args, **kwargs)
        if isinstance(x, torch.Tensor) and x.dim() > 2 and isinstance(out, torch.Tensor):
            self.nodes.linear_shapes(start, tuple(x.shape), tuple(out.shape))
        return out

    def _fused_attention(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                         attn_mask: torch.Tensor | None, dropout_p: float, is_causal: bool,
                         scale: float | None, enable_gqa: bool) -> torch.Tensor:
        """What torch's CPU path does once it chose the flash kernel: a boolean mask becomes
        an additive one (0 where True, -inf where False), then the fused op; its output, not
        the log-sum-exp. The key/value heads go in unrepeated (the kernel handles GQA)."""
        del enable_gqa  # checked by cpu_runs_fused; the fused op takes the heads as they are
        if attn_mask is not None and attn_mask.dtype == torch.bool:
            neg_inf = torch.scalar_tensor(-math.inf, dtype=query.dtype, device=attn_mask.device)
            attn_mask = torch.where(attn_mask, 0.0, neg_inf)
        kwargs: dict[str, Any] = {}
        if attn_mask is not None:
            kwargs["attn_mask"] = attn_mask
        if scale is not None:
            kwargs["scale"] = scale
        return self.fused(query, key, value, dropout_p, is_causal, **kwargs)[0]


__all__ = ["Functions", "Nodes", "cpu_runs_fused"]
