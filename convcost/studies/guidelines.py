"""ShuffleNetV2's four guidelines: a model audited (``audit``), or the paper's Tables 1–4
rebuilt and timed here (``reproduce``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from torch import nn

from convcost.errors import InvalidArgumentError
from convcost.records.guidelines import ModelAudit
from convcost.resolve import Resolved, resolve
from convcost.specs import check_budget

if TYPE_CHECKING:
    from convcost.latency.shufflenet_experiments import Reproduction


def audit(
    model: nn.Module | str | Resolved,
    input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    dtype: str = "float32",
    fold_bn: bool = False,
    block_depth: int | None = None,
    small_fraction: float = 0.1,
    bench: bool = False,
    threads: int | None = None,
) -> ModelAudit:
    """Audit ``model`` against G1–G4 (definitions: docs/guidelines.md). ``bench`` also times
    every layer on the CPU (torch.profiler) for G4's share of measured time."""
    import torch

    from convcost.api import analyze
    from convcost.engine.guidelines import audit as audit_rows
    from convcost.engine.guidelines import row_times
    from convcost.formulas import itemsize_of

    resolved = resolve(model, "cpu" if bench else "meta")
    a = analyze(resolved, input_size, dtype=dtype)
    times = None
    if bench:
        if len(a.inputs) != 1:
            raise InvalidArgumentError("--bench times a model with one input; give one --input")
        if a.dtype != "float32":
            raise InvalidArgumentError("--bench measures float32 only; drop --dtype")
        from convcost.latency.profile_layers import profile_layers

        measured = profile_layers(resolved.module, a.input, threads=threads)
        times = row_times(a.rows, {t.name: t.self_ms / 1000.0 for t in measured})
    result = audit_rows(a.rows, itemsize=itemsize_of(a.dtype), modules=a.evaluation.modules,
                        small_fraction=small_fraction, block_depth=block_depth,
                        fold_bn=fold_bn, times_s=times)
    timing = None if times is None else {
        "threads": threads if threads is not None else torch.get_num_threads(),
        "device": "cpu", "seconds": sum(times.values())}
    return ModelAudit(a.model, a.input, a.dtype, result, timing)


def reproduce(
    *,
    widths: str = "cpu",
    batch: int = 1,
    tables: Sequence[str] | None = None,
    threads: int | None = 1,
    budget_s: float = 0.15,
    rounds: int = 3,
    progress: Callable[[int, int, str], None] | None = None,
) -> Reproduction:
    """The paper's Tables 1–4 (or some of them: ``tables`` among G1..G4) rebuilt at equal
    multiply-adds and timed here."""
    from convcost.latency.shufflenet_experiments import TABLES
    from convcost.latency.shufflenet_experiments import reproduce as run

    check_budget(budget_s)
    chosen = [t.upper() for t in tables] if tables else list(TABLES)
    return run(widths=widths, batch=batch, tables=chosen, threads=threads, budget_s=budget_s,
               rounds=rounds, progress=progress)


__all__ = ["audit", "reproduce"]
