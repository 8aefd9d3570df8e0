"""Use cases: what a person asks convcost, answered as typed records.

Each use case resolves its models once (:func:`convcost.resolve.resolve`), calls the layers
below (the analysis, the zoo, the oracles, the latency model) and returns records from
:mod:`convcost.records` (or the oracles' and latency layer's own); it never renders. The CLI is
parse → use case → render (``report/``) → exit code, and Python users call the same functions.
"""

from convcost.studies.bench import bench
from convcost.studies.check import check
from convcost.studies.compare import compare, published_top1
from convcost.studies.guidelines import audit, reproduce
from convcost.studies.memory import memory
from convcost.studies.points import (
    canonical_spec,
    point_for,
    sweep_points,
    sweepable_models,
    with_latency,
    zoo_points,
)
from convcost.studies.summary import summary
from convcost.studies.zoo import zoo_rows

__all__ = ["audit", "bench", "canonical_spec", "check", "compare", "memory", "point_for",
           "published_top1",
           "reproduce", "summary", "sweep_points", "sweepable_models", "with_latency",
           "zoo_points", "zoo_rows"]
