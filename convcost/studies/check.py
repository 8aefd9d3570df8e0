"""``check``: each model's figures against the real run and every peer, every difference
explained by a named rule (:func:`convcost.oracles.crosscheck`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from torch import nn

from convcost.errors import InvalidArgumentError
from convcost.oracles.check import CrossCheck, crosscheck
from convcost.resolve import Resolved, check_batch, resolve


def check(
    models: Sequence[nn.Module | str | Resolved],
    inputs: Sequence[tuple[int, ...]] | None = None,
    *,
    batch: int = 1,
    peers: Iterable[str] | None = None,
) -> list[CrossCheck]:
    """One :class:`~convcost.oracles.check.CrossCheck` per model, at ``inputs`` (one sample's
    shape, without the batch; default: the model's own). The peers run one input."""
    check_batch(batch)
    if inputs is not None and len(inputs) > 1:
        raise InvalidArgumentError("convcost check takes one --input (the peers run one input)")
    wanted = None if peers is None else list(peers)
    results = []
    for spec in models:
        model = resolve(spec, "cpu")
        size = model.input_sizes(inputs, batch)[0]
        results.append(crosscheck(model, size, peers=wanted))
    return results


__all__ = ["check"]
