"""What ``convcost memory`` answers: peak memory at inference and for a training step, when it
happens and what is live then, the FLOPs of both passes, and the largest batch that fits.

Plain data (ints and strings); :func:`convcost.studies.memory.memory` makes them, ``report/``
renders them. Bytes are bytes here; units appear only in ``report/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OPTIMIZER_PHASE = "optimizer"
"""The phase of a moment during ``optimizer.step()`` (the others are the ops' phases:
``forward``, ``backward``)."""


@dataclass(frozen=True)
class Peak:
    """The most bytes held at once during one run, where the run was then, and what was held
    by category (``parameters``, ``gradients``, ``optimizer_state``, ``saved_for_backward``,
    ``other_activations``, ``inputs``: they add up to ``bytes``)."""

    bytes: int
    phase: str  # forward, backward, or optimizer
    op: str  # the aten op running then ("aten.convolution_backward"), or "optimizer.step"
    scope: str  # its module ("" = the root), or the parameter the optimizer was updating
    index: int  # the op's index in the run (the optimizer step: ops + the parameter's index)
    by_category: dict[str, int] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """``layer4.1.conv2: aten.convolution_backward (backward)``."""
        return f"{self.scope or '(root)'}: {self.op} ({self.phase})"

    def record(self) -> dict[str, Any]:
        return {"peak_bytes": self.bytes, "peak_op": self.where,
                "peak": {"phase": self.phase, "op": self.op, "scope": self.scope,
                         "index": self.index},
                "by_category": dict(self.by_category)}


@dataclass(frozen=True)
class Moment:
    """The highest point within one op of the run (or one parameter's optimizer update):
    bytes held by category, in the order of ``MemoryReport.categories``."""

    index: int
    phase: str
    held: tuple[int, ...]

    @property
    def bytes(self) -> int:
        return sum(self.held)


@dataclass(frozen=True)
class Fit:
    """The largest batch whose peak fits ``budget_bytes`` (0: not even a batch of 1), for the
    run that was asked (training or inference), and its peak."""

    budget_bytes: int
    max_batch: int
    peak_bytes: int | None  # the peak at max_batch; None when max_batch is 0
    training: bool
    tried: dict[int, int] = field(default_factory=dict)  # batch -> peak bytes, as searched

    def record(self) -> dict[str, Any]:
        return {"budget_bytes": self.budget_bytes, "max_batch": self.max_batch,
                "peak_bytes": self.peak_bytes, "training": self.training}


@dataclass(frozen=True)
class MemoryReport:
    """One model's memory at one input: inference (eval, no gradients), and with ``train``
    a steady-state training step (forward, ``loss.backward()``, ``optimizer.step()``)."""

    model: str
    inputs: tuple[tuple[int, ...], ...]  # every input's shape, batch first
    dtype: str
    allocator: str  # the allocator model: cpu, cuda or exact
    params: int  # unique parameters (elements)
    inference: Peak
    forward_flops: int  # of the run reported: the training forward with train, else inference
    training: Peak | None = None
    optimizer: str | None = None
    backward_flops: int | None = None  # with train
    fit: Fit | None = None
    categories: tuple[str, ...] = ()
    timeline: tuple[Moment, ...] = ()  # of the training step with train, else of inference
    unsupported: dict[str, int] = field(default_factory=dict)  # ops whose FLOPs are unknown

    @property
    def input(self) -> tuple[int, ...]:
        return self.inputs[0] if self.inputs else ()

    @property
    def peak(self) -> Peak:
        """The peak reported: the training step's with ``train``, else inference's."""
        return self.training if self.training is not None else self.inference

    def record(self) -> dict[str, Any]:
        """The contract's JSON object of ``convcost memory --format json`` (one per model)."""
        peak = self.peak
        out: dict[str, Any] = {
            "model": self.model,
            "input": list(self.input),
            "inputs": [list(s) for s in self.inputs],
            "dtype": self.dtype,
            "allocator": self.allocator,
            "params": self.params,
            "inference_peak_bytes": self.inference.bytes,
        }
        if self.training is not None:
            out["training_peak_bytes"] = self.training.bytes
            out["optimizer"] = self.optimizer
        out.update({
            "peak_op": peak.where,
            "by_category": dict(peak.by_category),
            "forward_flops": self.forward_flops,
            "backward_flops": self.backward_flops,
            "inference": self.inference.record(),
        })
        if self.training is not None:
            out["training"] = self.training.record()
        if self.fit is not None:
            out["fit"] = self.fit.record()
        out["unsupported"] = dict(self.unsupported)
        return out


__all__ = ["OPTIMIZER_PHASE", "Fit", "MemoryReport", "Moment", "Peak"]
