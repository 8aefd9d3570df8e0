"""``convcost.analyze``: any PyTorch model and an input spec to its per-op costs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn
from torch.utils import _pytree as pytree

from convcost.capture import gc_paused, record
from convcost.engine import REGISTRY, UserCounter, evaluate
from convcost.errors import InvalidArgumentError
from convcost.records.analysis import Analysis
from convcost.resolve import Resolved, resolve

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
           "float64": torch.float64}


def torch_dtype(dtype: torch.dtype | str) -> torch.dtype:
    """A torch floating dtype from its name (float32, fp16, bf16, ...) or itself."""
    if isinstance(dtype, torch.dtype):
        return dtype
    from convcost.formulas._core import canonical_dtype

    try:
        name = canonical_dtype(dtype)
    except InvalidArgumentError:
        name = str(dtype)
    if name not in _DTYPES:
        raise InvalidArgumentError(f"dtype {dtype!r} is not a floating type; use one of "
                                   f"{', '.join(_DTYPES)}")
    return _DTYPES[name]


def _is_size(value: Any) -> bool:
    return isinstance(value, (tuple, list, torch.Size)) and len(value) > 0 and all(
        isinstance(d, int) and not isinstance(d, bool) for d in value)


INPUT_SEED = 0
"""Seed of the private generator that draws random inputs (every run of a model: analysis,
check, timing)."""


def make_inputs(input_size: Any, inputs: Any, device: str,
                dtype: torch.dtype) -> tuple[Any, ...]:
    """The positional inputs of a run: ``inputs`` (example tensors, moved to ``device``,
    floating ones cast to ``dtype``, never the caller's own tensor), or made from
    ``input_size`` (one shape or a list of them; an :class:`~convcost.specs.InputShape` may
    carry an integer dtype): random floats from a private generator seeded with
    :data:`INPUT_SEED` (the
    caller's RNG untouched), zeros for integer inputs (valid ids for any embedding), empty
    tensors on ``meta``."""
    if inputs is not None:
        args = inputs if isinstance(inputs, tuple) else (inputs,)

        def convert(t: Any) -> Any:
            if not isinstance(t, torch.Tensor):
                return t
            want = dtype if t.is_floating_point() else t.dtype
            if device == "meta":
                return torch.empty(t.shape, dtype=want, device="meta")
            moved = t.to(device=device, dtype=want)
            # the caller's own tensor: a forward that writes into its input must not reach it
            return moved.clone() if moved is t else moved

        return tuple(pytree.tree_map(convert, a) for a in args)
    if input_size is None:
        raise InvalidArgumentError("give input_size=(N, C, H, W) or example inputs=")
    sizes = [input_size] if _is_size(input_size) else list(input_size)
    if not sizes or not all(_is_size(s) for s in sizes):
        raise InvalidArgumentError(
            f"input_size must be a shape like (1, 3, 224, 224) or a list of shapes, "
            f"got {input_size!r}")
    for s in sizes:
        if any(d <= 0 for d in s):
            raise InvalidArgumentError(f"input sizes must be positive, got {tuple(s)}")
    gen = torch.Generator().manual_seed(INPUT_SEED)  # the user's global RNG stays untouched

    def make(s: Sequence[int]) -> torch.Tensor:
        # a shape may carry its own dtype (convcost.specs.InputShape: "128:int64")
        own = getattr(s, "dtype", None)
        want = dtype if own is None else getattr(torch, own)
        if device == "meta":
            return torch.empty(tuple(s), dtype=want, device="meta")
        if want.is_floating_point:
            return torch.randn(tuple(s), generator=gen, dtype=want).to(device)
        return torch.zeros(tuple(s), dtype=want, device=device)  # valid ids for any embedding

    return tuple(make(s) for s in sizes)


def analyze(
    model: nn.Module | str | Resolved,
    input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    inputs: Any = None,
    kwargs: dict[str, Any] | None = None,
    dtype: torch.dtype | str = torch.float32,
    device: str = "meta",
    name: str | None = None,
    counters: Mapping[str, UserCounter | str] | None = None,
    backward: bool = False,
    loss: Callable[[Any], torch.Tensor] | None = None,
    memory: bool = False,
) -> Analysis:
    """Per-op cost of ``model`` on one forward pass (with ``backward=True``: one training
    step's forward and backward pass).

    ``model``: an ``nn.Module``, or a model spec: a zoo name with options
    (``"mobilenet_v1:width_mult=0.5"``), ``"path/to/file.py:Class"`` or ``"pkg.mod:factory"``.
    ``input_size``: one shape ``(N, C, H, W)`` or a list of shapes (one per positional input);
    defaults to the zoo model's input at batch 1 (user code has no default). ``inputs``:
    example tensors instead (a tensor or a tuple of positional inputs, which may be dicts/lists
    of tensors); ``kwargs``: keyword inputs (tensors, also inside lists and dicts, are put on
    ``device``); when they hold a tensor and neither ``input_size`` nor ``inputs`` is given,
    they are the whole input (transformers' ``input_ids=``: no positional input).
    ``device="meta"`` (default) computes nothing and
    copies no weights; use ``device="cpu"`` for a model whose control flow needs real values.
    ``counters``: your own counters for this call only, by op (``{"mylib.scale": fn}``,
    ``{"aten.relu": fn}`` to replace a built-in one, or a str to make an op free): ``fn``
    receives the op's :class:`convcost.engine.Node` and returns a
    :class:`convcost.engine.OpCost` (see :meth:`convcost.engine.Registry.extended`).

    ``backward=True``: the forward pass in training mode (every module's ``training`` set, as
    ``model.train()`` would), then ``loss(output).backward()``; ``loss`` defaults to the sum of
    every floating output. The backward ops are rows too, with ``phase="backward"`` and the
    module of the forward op they differentiate (:meth:`Analysis.by_phase` splits the totals).
    Each parameter is a stand-in that requires grad as it does: the model's ``.grad`` and
    ``requires_grad`` stay as they were. ``memory=True``: also record every storage's
    allocation and release (:attr:`Analysis.lifetimes`, for :func:`convcost.engine.memory
    .simulate`; ``convcost.studies.memory`` does that for you).

    The model is left exactly as it was: parameters, buffers, hooks, ``training`` flags.
    """
    if device not in ("meta", "cpu", "cuda") and not device.startswith("cuda:"):
        raise InvalidArgumentError(f"device must be 'meta', 'cpu' or 'cuda', got {device!r}")
    dtype_ = torch_dtype(dtype)
    registry = REGISTRY.extended(counters) if counters else REGISTRY
    resolved = resolve(model, device, name)
    if inputs is None and input_size is None and any(
            isinstance(t, torch.Tensor) for t in pytree.tree_leaves(kwargs or {})):
        inputs = ()  # keyword inputs only
    if inputs is None and input_size is None and not isinstance(model, nn.Module):
        input_size = resolved.input_sizes()[0]  # the model's own input at batch 1
    model, name = resolved.module, resolved.name
    args = make_inputs(input_size, inputs, device, dtype_)
    kw = {k: make_inputs(None, (v,), device, dtype_)[0] for k, v in (kwargs or {}).items()}
    # a memory capture runs with the garbage collector as a real run has it: a reference
    # cycle that holds tensors (made once, by torch's lazy set-up) is freed when it would be
    with gc_paused() if not memory else nullcontext():
        rec = record(model, args, kw, device=device, dtype=dtype_, registry=registry,
                     backward=backward, loss=loss, memory=memory)
        evaluation = evaluate(rec.nodes, rec.params, rec.modules, registry,
                              counted=rec.counted)
    in_shapes = tuple(tuple(t.shape) for t in pytree.tree_leaves((args, kw))
                      if isinstance(t, torch.Tensor))
    return Analysis(
        model=name or type(model).__name__,
        inputs=in_shapes,
        dtype=str(dtype_).removeprefix("torch."),
        device=device,
        evaluation=evaluation,
        outputs=tuple(rec.outputs),
        module_calls=tuple(rec.calls),
        fake_tensors=rec.fake,
        lifetimes=rec.lifetimes,
    )


__all__ = ["INPUT_SEED", "analyze", "make_inputs"]
