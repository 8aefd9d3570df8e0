"""``check``: each model's figures against the real run and every peer, every difference
explained by a named rule (:func:`convcost.oracles.crosscheck`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from torch import nn

from convcost.errors import InvalidArgumentError
from convcost.oracles.check import CrossCheck, check_peer_names, crosscheck
from convcost.oracles.peers import missing
from convcost.resolve import Resolved, check_batch, resolve


def check(
    models: Sequence[nn.Module | str | Resolved],
    inputs: Sequence[str | tuple[int, ...]] | None = None,
    *,
    batch: int = 1,
    peers: Iterable[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[CrossCheck]:
    """One :class:`~convcost.oracles.check.CrossCheck` per model, at ``inputs`` (one sample's
    shape per positional input, without the batch, as ``--input`` takes them: any rank, a
    ``:dtype`` suffix for integer token ids; default: the model's own).

    A peer named in ``peers`` that cannot run here (not installed, or shadowed by a stale
    package) is bad input: :class:`~convcost.errors.InvalidArgumentError` naming the extra to
    install. Without ``peers``, such a peer is reported as skipped. ``progress(label, done,
    total)`` is told of each model's steps (its analysis, the recorded runs, each peer), in
    steps over all the models."""
    check_batch(batch)
    wanted = None if peers is None else list(peers)
    if wanted is not None:
        check_peer_names(wanted)
        for p in wanted:
            why = missing(p)
            if why is not None:
                raise InvalidArgumentError(f"--peer {p}: {why}")
    results = []
    for i, spec in enumerate(models):
        model = resolve(spec, "cpu")
        sizes = model.input_sizes(inputs, batch)
        tick = None
        if progress is not None:
            def tick(label: str, done: int, total: int, i: int = i) -> None:
                progress(label, i * total + done, len(models) * total)
        results.append(crosscheck(model, sizes, peers=wanted, progress=tick))
    return results


__all__ = ["check"]
