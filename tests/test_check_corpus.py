"""``convcost check`` on the third-party corpus: the fast subset (the whole corpus, 181
models, runs in ``benchmarks/bench_check_corpus.py``: docs/benchmarks/check_corpus.md).

Each model is built on the CPU (``tests/check_corpus.py``) and checked against every peer:
0 unexplained differences, no peer crash, no crash of the check. The subset covers what the
corpus taught the adapters: functional activations (MobileNetV3's hard sigmoid), a shared
module (DIA-ResNet), custom autograd functions (iSQRT-COV), instance norm (IBN-Net), a Conv2d
subclass that takes a tuple (OctConv: thop raises, as predicted), token ids with and without
a KV cache (BERT; GPT-2 prefill and LLaMA decode, where fvcore raises on the cache it must
trace out, as predicted), a vision transformer.
"""

from __future__ import annotations

import pytest
from check_corpus import check_entry, run_check

FAST = ("resnet18", "mobilenetv3_small_w1", "diaresnet10", "isqrtcovresnet18", "ibn_resnet50",
        "octresnet10_ad2", "vit-base", "bert-base", "gpt2 prefill", "llama-small decode")

# peers that raise on a model, as their adapters predict (status "raised", not "failed")
RAISES = {("octresnet10_ad2", "thop"), ("gpt2 prefill", "fvcore"),
          ("llama-small decode", "fvcore")}


@pytest.mark.parametrize("name", FAST)
def test_corpus_model_is_explained_by_every_peer(name: str) -> None:
    for pkg in ("fvcore", "thop", "ptflops", "torchinfo"):
        pytest.importorskip(pkg)
    if not name.startswith(("resnet", "mobilenet", "dia", "isqrt", "ibn", "oct")):
        pytest.importorskip("transformers")
    else:
        pytest.importorskip("pytorchcv")
    checked = run_check(check_entry(name))
    assert checked.error is None, checked.error
    cc = checked.result
    statuses = {p.peer: p.status for p in cc.peers}
    assert {p for p, s in statuses.items() if s == "raised"} == {
        p for n, p in RAISES if n == name}, statuses
    assert cc.failed == 0, {p.peer: p.message for p in cc.peers if p.status == "failed"}
    bad = {p.peer: [c.to_dict() for c in (*p.totals, *p.layers) if not c.explained][:3]
           for p in cc.peers if p.unexplained}
    assert cc.unexplained == 0, bad
    real = cc.peer("real")
    assert real.headline is not None and real.headline.reported == cc.madds
