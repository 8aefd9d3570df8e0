"""convcost on third-party models: the fast subset of the corpus (``tests/corpus``).

For each model, four checks, each its own test: convcost **runs** (no exception), its
**params** equal the unique parameter count, its **madds** equal FlopCounterMode's flops / 2
(``tests/corpus/reference.py`` says exactly what that counts), and no op is **unsupported**.

A check that fails today is a strict xfail naming the hole (``HOLES``): fixing the hole turns
it into an XPASS, which fails the suite until its entry here is removed. The whole corpus
(181 models) runs in ``make bench``: docs/benchmarks/corpus.md, and the holes it found in
docs/benchmarks/corpus_holes.md.
"""

from __future__ import annotations

import pytest
from corpus import (
    CORPUS,
    PYTORCHCV_NOT_IMAGENET,
    PYTORCHCV_VARIANT_SUFFIXES,
    Outcome,
    by_name,
    measure,
)

CHECKS = ("runs", "params", "madds", "supported")


def _crash(name: str, reason: str, then: str = "") -> dict[tuple[str, str], str]:
    """All four checks of a model that crashes: each fails with the crash."""
    return {(name, check): reason + (f"; once it runs: {then}" if then and check == "supported"
                                     else "") for check in CHECKS}


HOLES: dict[tuple[str, str], str] = {
}

FAST = [e for e in CORPUS if e.fast]


def _cases() -> list[object]:
    cases: list[object] = []
    for entry in FAST:
        for check in CHECKS:
            reason = HOLES.get((entry.name, check))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(pytest.param(entry.name, check, id=f"{entry.name}-{check}",
                                      marks=marks))
    return cases


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    return {}  # each model is built and measured once, by its first check


@pytest.mark.parametrize(("name", "check"), _cases())
def test_corpus_model(name: str, check: str, outcomes: dict[str, Outcome]) -> None:
    if name not in outcomes:
        outcomes[name] = measure(by_name(name))
    o = outcomes[name]
    assert o.build_error is None, f"the corpus could not build {name}: {o.build_error}"
    ref = o.reference
    assert ref is not None and ref.madds is not None, f"no reference count: {ref}"
    if check == "runs":
        assert o.error is None
        return
    assert o.analysis is not None, o.error
    if check == "params":
        assert o.params == ref.params  # sum(p.numel()) over {id(p): p}
    elif check == "madds":
        assert o.madds == ref.madds, (
            f"by aten op: FlopCounterMode / 2 {ref.by_op}, convcost {o.madds_by_aten}")
    else:
        assert o.unsupported == {}


def test_every_hole_names_a_fast_check() -> None:
    fast = {e.name for e in FAST}
    assert {(n, c) for n, c in HOLES if n not in fast or c not in CHECKS} == set()


def test_the_fast_subset_spans_the_sources() -> None:
    families = {e.family for e in FAST}
    assert 15 <= len(FAST) <= 25
    for family in ("transformers/bert", "transformers/gpt2", "transformers/llama",
                   "transformers/vit", "transformers/mobilevit",
                   "efficientnet-pytorch/efficientnet"):
        assert family in families
    assert sum(e.source == "pytorchcv" for e in FAST) >= 10


def test_the_corpus_has_every_pytorchcv_imagenet_family() -> None:
    from pytorchcv.model_provider import _models

    modules = {f.__module__.rpartition(".")[2] for f in _models.values()}
    imagenet = {m for m in modules if m not in PYTORCHCV_NOT_IMAGENET
                and not m.endswith(PYTORCHCV_VARIANT_SUFFIXES)}
    ours = {e.family.partition("/")[2] for e in CORPUS if e.source == "pytorchcv"}
    assert ours == imagenet
    assert all(e.name in _models for e in CORPUS if e.source == "pytorchcv")
    assert sum(e.source == "pytorchcv" for e in CORPUS) > 100
    assert len({e.name for e in CORPUS}) == len(CORPUS)
