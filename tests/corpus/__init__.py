"""A corpus of third-party models (pytorchcv, efficientnet-pytorch, transformers) to run
``convcost.analyze`` against, each with an independent count to compare it with.

Shared by ``tests/test_corpus.py`` (the ``fast`` subset) and ``benchmarks/bench_corpus.py``
(everything). The packages come from the ``corpus`` extra (``pip install -e '.[corpus]'``),
which ``make test`` installs.

- :mod:`corpus.models`: the entries (name, family, builder, inputs, devices, ``fast``).
- :mod:`corpus.reference`: the independent count (PyTorch's FlopCounterMode, unique params).
- :mod:`corpus.run`: one entry built, analysed by convcost and by the reference.
"""

from __future__ import annotations

from corpus.models import (
    CORPUS,
    PYTORCHCV_NOT_IMAGENET,
    PYTORCHCV_VARIANT_SUFFIXES,
    SKIPPED,
    Entry,
    Inputs,
    by_name,
)
from corpus.reference import Reference, reference
from corpus.run import Outcome, measure

__all__ = [
    "CORPUS",
    "PYTORCHCV_NOT_IMAGENET",
    "PYTORCHCV_VARIANT_SUFFIXES",
    "SKIPPED",
    "Entry",
    "Inputs",
    "Outcome",
    "Reference",
    "by_name",
    "measure",
    "reference",
]
