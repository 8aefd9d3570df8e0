"""One resolver: a model spec or a module to the module, its name and its default input.

Every entry point resolves models here, once: :func:`convcost.analyze`, every use case in
:mod:`convcost.studies` and every CLI command. A spec is parsed once; the result carries the
parsed zoo entry and options, so later steps (the published top-1, a canonical name) never
parse the text again.

* a zoo name with options: ``mobilenet_v1``, ``shufflenet_v1:groups=8,scale=0.5``;
* user code: ``path/to/file.py:ClassOrFactory`` or ``package.module:factory``
  (:func:`convcost.specs.load_user_model`);
* an ``nn.Module``: used as it is (never copied or changed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from torch import nn

from convcost.errors import InvalidArgumentError, ModelSpecError
from convcost.specs import InputShape, batched, is_user_code, load_user_model, parse_input

if TYPE_CHECKING:
    from convcost.zoo import ZooEntry


@dataclass(frozen=True, eq=False)
class Resolved:
    """A model ready to analyse: the module, a display name, and what the spec said."""

    module: nn.Module
    name: str
    default_input: tuple[int, ...] | None = None  # one sample (C, H, W); None: not known
    spec: str | None = None  # the spec text; None for a module passed in
    entry: ZooEntry | None = None  # the zoo entry of a zoo spec
    options: dict[str, object] = field(default_factory=dict)  # its options, typed

    def input_sizes(self, inputs: Sequence[str | Sequence[int]] | None = None,
                    batch: int = 1) -> list[InputShape]:
        """Each input's shape with the batch in front: from ``--input`` texts or sample shapes
        (one per positional input; a text's ``:dtype`` is kept) or, without them, the model's
        default input."""
        check_batch(batch)
        if inputs:
            return [batched(parse_input(s) if isinstance(s, str) else s, batch) for s in inputs]
        if self.default_input is None:
            raise InvalidArgumentError(
                f"{self.name} has no default input: give its input size with --input (e.g. "
                "--input 224 or --input 3x224x224; Python: input_size=(1, 3, 224, 224))")
        return [batched(self.default_input, batch)]


def check_batch(batch: int) -> int:
    if isinstance(batch, bool) or not isinstance(batch, int) or batch <= 0:
        raise InvalidArgumentError(f"--batch must be a positive integer, got {batch}")
    return batch


def resolve(model: nn.Module | str | Resolved, device: str = "meta",
            name: str | None = None) -> Resolved:
    """``model`` as a :class:`Resolved`. A zoo spec is built on ``meta`` for ``device="meta"``
    (nothing allocated) and on the CPU with random weights for any other device; user code is
    imported and called once."""
    if isinstance(model, Resolved):
        return model
    if isinstance(model, nn.Module):
        return Resolved(_usable(model, name or type(model).__name__), name or type(model).__name__)
    if not isinstance(model, str):
        raise InvalidArgumentError(f"model must be an nn.Module or a model spec (a zoo name "
                                   f"or path/to/file.py:Class), got {type(model).__name__}")
    if not model.strip():
        raise ModelSpecError("a model spec must be a non-empty string")
    if is_user_code(model):
        module, label = load_user_model(model)
        return Resolved(_usable(module, model), name or label, spec=model)
    from convcost.zoo import build, parse_spec

    entry, options = parse_spec(model)
    module = build(entry, device="meta" if device == "meta" else "cpu", **options)
    return Resolved(module, name or model, entry.default_input, model, entry, options)


def _usable(module: nn.Module, what: str) -> nn.Module:
    """A module the capture can run: not TorchScript (it has no Python forward to record),
    no lazy parameter left uninitialised (nothing to count yet)."""
    import torch

    if isinstance(module, torch.jit.ScriptModule):
        raise InvalidArgumentError(
            f"{what} is a TorchScript module: convcost records a Python nn.Module's forward; "
            "pass the module before torch.jit.script/trace")
    lazy = [n for n, p in module.named_parameters()
            if isinstance(p, nn.parameter.UninitializedParameter)]
    if lazy:
        raise InvalidArgumentError(
            f"{what} has lazy parameters not yet initialised ({lazy[0]}, ...): run one "
            "forward pass on a real input first, then analyse it")
    return module


__all__ = ["Resolved", "check_batch", "resolve"]
