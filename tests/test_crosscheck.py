"""convcost.crosscheck: the real run, the peers' conventions, the explanations, the zoo."""

from __future__ import annotations

import dataclasses
import re
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import torch
from torch import nn

from convcost.engine import Row
from convcost.errors import InvalidArgumentError
from convcost.formulas import Cost
from convcost.oracles import ADAPTERS, PEERS, RULES, crosscheck
from convcost.oracles import check as check_mod
from convcost.oracles.conventions import predict
from convcost.oracles.peers import self_counts
from convcost.oracles.real import run_real
from convcost.zoo import list_entries

DOCS = Path(__file__).resolve().parents[1] / "docs" / "conventions.md"


class Small(nn.Module):
    """conv 3→8 3×3 p1 (bias) · BN(8) · ReLU · global avg pool · Linear(8, 4)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.act(self.bn(self.conv(x)))), 1))


# Small at (2, 3, 8, 8):
#   conv madds 2·8·8·8 · 3·3·3 = 27,648; bias adds 2·8·64 = 1,024 outputs
#   BN / ReLU / pool input: 2·8·64 = 1,024 elements; pool outputs 2·8 = 16; BN params 16
#   fc madds 2·8·4 = 64; bias adds 2·4 = 8; fc params 36
#   convcost madds 27,648 + 64 = 27,712
SMALL_INPUT = (2, 3, 8, 8)
SMALL_EXPECTED = {
    "real": 27_712,
    # + BN 2/element (2,048) + adaptive pool 1 per input (1,024)
    "fvcore": 27_712 + 2_048 + 1_024,
    # + BN 4/element (4,096) + pool inputs + divides (1,024 + 16)
    "thop": 27_712 + 4_096 + 1_040,
    # module hooks ÷ batch 2: conv (27,648 + 1,024)/2 = 14,336, BN 2,048/2 = 1,024,
    # ReLU 1,024/2 = 512, pool 1,024/2 = 512, fc (64 + 8)/2 = 36 -> 16,420;
    # patched F.relu + F.adaptive_avg_pool2d, whole batch: 1,024 + 1,024 = 2,048
    "ptflops-pytorch": 16_420 + 2_048,
    # + conv bias 1,024 + fc bias 8
    "ptflops-aten": 27_712 + 1_024 + 8,
    # conv (216 + 8)·2·64 = 28,672; BN 2·16 = 32; fc 2·36 = 72
    "torchinfo": 28_672 + 32 + 72,
    # 2 per multiply-add
    "torch-flopcounter": 2 * 27_712,
}


def need_peers(*packages: str) -> None:
    """Skip (not pass silently) when a peer is not installed; `make test` installs them all."""
    for name in packages:
        pytest.importorskip(name)


def test_small_every_peer_reports_the_hand_derived_number() -> None:
    need_peers("fvcore", "thop", "ptflops", "torchinfo")
    cc = crosscheck(Small(), SMALL_INPUT)
    assert [p.peer for p in cc.peers] == list(PEERS)
    assert cc.madds == 27_712
    for p in cc.peers:
        assert p.status == "ok", (p.peer, p.message)
        head = p.headline
        assert head is not None
        assert head.reported == SMALL_EXPECTED[p.peer], p.peer
        assert head.predicted == SMALL_EXPECTED[p.peer], p.peer
        assert p.unexplained == 0, (p.peer, [c.to_dict() for c in p.layers if not c.explained])
    assert cc.unexplained == 0


def test_small_rules_decompose_the_difference() -> None:
    need_peers("fvcore", "thop")
    cc = crosscheck(Small(), SMALL_INPUT, peers=["fvcore", "thop"])
    fv, th = cc.peer("fvcore"), cc.peer("thop")
    assert fv.status == th.status == "ok", (fv.message, th.message)
    assert fv.headline is not None
    # madds + Σ contributions = prediction
    assert fv.headline.rules == {"fvcore-bn-per-element": 2_048,
                                 "fvcore-adaptive-avg-pool-inputs": 1_024}
    assert th.headline is not None
    assert th.headline.rules == {"thop-norm-2-per-element": 2_048,
                                 "thop-norm-affine-doubles": 2_048,
                                 "thop-avg-pool-windows-and-divides": 1_040}
    assert th.totals[1].metric == "params" and th.totals[1].reported == 224 + 16 + 36


class Mixed(nn.Module):
    """Transposed conv, grouped conv, a functional matmul: ops the real counter must see."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(4, 6, 4, stride=2, padding=1, bias=False)
        self.grouped = nn.Conv2d(6, 6, 3, padding=1, groups=3, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.grouped(self.up(x))  # (2, 6, 16, 16)
        z = y.flatten(2)  # (2, 6, 256)
        return z @ z.transpose(1, 2)  # (2, 6, 6)


def test_real_counter_matches_hand_numbers_and_engine() -> None:
    run = run_real(Mixed().eval(), (torch.randn(2, 4, 8, 8),))
    # up: input side 2·4·64 · (6·16) = 49,152 (docs/conventions.md table)
    # grouped: 2·6·256 outputs · (6/3)·9 = 55,296
    # matmul: 2·6·6 outputs · 256 = 18,432 (root scope)
    assert run.madds == {"up": 49_152, "grouped": 55_296, "": 18_432}
    assert run.params == 4 * 6 * 16 + 6 * 2 * 9
    assert ("up", 1, (2, 6, 16, 16)) in run.outputs
    cc = crosscheck(Mixed(), (2, 4, 8, 8), peers=["real"])
    real = cc.peer("real")
    assert real.unexplained == 0
    # the analytic engine's per-scope madds equal the hand-derived real ones above
    assert {c.scope: c.predicted for c in real.layers if c.metric == "madds"} == run.madds
    assert any(c.metric == "out_shape" for c in real.layers)


def test_a_wrong_prediction_is_unexplained(monkeypatch: pytest.MonkeyPatch) -> None:
    # fvcore with the BatchNorm rule deleted: the BN layer's 2,048 are no longer predicted
    table = dict(ADAPTERS["fvcore"].table)
    table["batch_norm"] = ()
    monkeypatch.setitem(ADAPTERS, "fvcore", dataclasses.replace(ADAPTERS["fvcore"],
                                                                table=table))
    pytest.importorskip("fvcore")
    cc = crosscheck(Small(), SMALL_INPUT, peers=["fvcore"])
    fv = cc.peer("fvcore")
    assert fv.headline is not None and fv.headline.delta == 2_048
    bad = [c for c in fv.layers if not c.explained]
    assert [(c.scope, c.delta) for c in bad] == [("bn", 2_048)]
    assert fv.unexplained == 2 and cc.unexplained == 2  # the total and the layer


def test_missing_peer_is_skipped_with_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fvcore.nn", None)  # import fvcore.nn -> ImportError
    monkeypatch.setitem(sys.modules, "thop", None)
    cc = crosscheck(Small(), SMALL_INPUT, peers=["fvcore", "thop", "real"])
    fv, th = cc.peer("fvcore"), cc.peer("thop")
    assert (fv.status, fv.hint) == ("skipped", "pip install fvcore")
    assert (th.status, th.hint) == ("skipped", "pip install ultralytics-thop")
    assert cc.unexplained == 0 and fv.to_dict()["hint"] == "pip install fvcore"


def test_failing_peer_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(model: nn.Module, x: torch.Tensor) -> None:
        raise RuntimeError("tracing failed\nsecond line")

    monkeypatch.setitem(check_mod.RUNNERS, "thop", boom)
    cc = crosscheck(Small(), SMALL_INPUT, peers=["thop"])
    th = cc.peer("thop")
    assert th.status == "failed" and th.message == "RuntimeError: tracing failed second line"
    assert cc.unexplained == 0


def _state(model: nn.Module) -> tuple[list[str], list[object], list[torch.Tensor]]:
    return (
        list(model.state_dict().keys()),
        [(n, m.training, dict(m._forward_hooks), dict(m._forward_pre_hooks),
          sorted(m.__dict__), sorted(m._buffers)) for n, m in model.named_modules()],
        [p.clone() for p in model.parameters()],
    )


def test_the_model_is_never_touched() -> None:
    torch.manual_seed(0)
    model = Small().train()
    before = _state(model)
    rng = torch.get_rng_state()
    threads = torch.get_num_threads()
    crosscheck(model, SMALL_INPUT)
    after = _state(model)
    assert before[0] == after[0] and before[1] == after[1]
    assert all(torch.equal(a, b) for a, b in zip(before[2], after[2], strict=True))
    assert torch.equal(rng, torch.get_rng_state())
    assert torch.get_num_threads() == threads


def test_bad_arguments() -> None:
    with pytest.raises(InvalidArgumentError, match="unknown peer 'nope'"):
        crosscheck(Small(), SMALL_INPUT, peers=["nope"])
    with pytest.raises(InvalidArgumentError, match="input size"):
        crosscheck(Small())
    with pytest.raises(InvalidArgumentError, match="meta"):
        crosscheck(Small().to("meta"), SMALL_INPUT)


def test_self_counts_from_cumulative() -> None:
    # root 10 = own 1 + a (6 = own 2 + a.b 4) + c 3; "a.x" is missing: its parent is still a
    assert self_counts({"": 10, "a": 6, "a.b": 4, "c": 3}) == {"": 1, "a": 2, "a.b": 4, "c": 3}
    assert self_counts({"": 5, "a.b.c": 5}) == {"": 0, "a.b.c": 5}


def test_per_sample_terms_and_truncation() -> None:
    # ptflops divides module hooks by the batch; 3 conv rows' madds 10 at batch 4 -> 7.5 -> 7
    row = Row(0, "c", "Conv2d", "conv2d", "aten.convolution", 1, ((4, 1, 1, 1),),
              (4, 1, 1, 1), "pointwise", Cost(madds=10, flops=20))
    adapter = ADAPTERS["ptflops-pytorch"]
    # each row: madds 10 / 4 + bias adds (20 - 2·10 = 0) / 4 = 2.5; three rows 7.5
    pred = predict(adapter, [row, row, row], batch=4)
    assert pred.value == Fraction(15, 2)
    # the per-sample split is charged to ptflops' batch rule: 3 × (10/4 − 10) = −45/2
    assert pred.by_rule == {"ptflops-per-sample-module-hooks": Fraction(-45, 2)}
    # ptflops reports int() of its fractional figure: the comparison predicts 7
    assert check_mod._compare("madds", 7, pred, adapter).predicted == 7


def test_docs_list_every_rule_and_peer() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for rule_id, rule in RULES.items():
        assert f"`{rule_id}`" in text, rule_id
        assert rule.version in text or rule.version == "see each peer", rule_id
    for peer in PEERS:
        assert re.search(rf"`{re.escape(peer)}`", text), peer


ZOO = [e.name for e in list_entries()]


@pytest.mark.slow
@pytest.mark.parametrize("name", ZOO)
def test_zoo_at_224_has_no_unexplained_delta(name: str) -> None:
    cc = crosscheck(name, (1, 3, 224, 224))
    # `make test` installs every peer (the oracles extra): a skipped peer would hide deltas
    not_run = {p.peer: p.message for p in cc.peers if p.status != "ok"}
    assert not not_run, not_run
    bad = {p.peer: [c.to_dict() for c in (*p.totals, *p.layers) if not c.explained][:3]
           for p in cc.peers if p.unexplained}
    assert cc.unexplained == 0, bad
    real = cc.peer("real")
    assert real.headline is not None and real.headline.reported == cc.madds


def test_convcost_crosscheck_stays_the_function_after_its_package_is_imported() -> None:
    # the package is convcost.oracles, so importing it cannot shadow convcost.crosscheck
    import inspect

    import convcost
    import convcost.oracles

    assert convcost.crosscheck is convcost.oracles.crosscheck
    assert inspect.isfunction(convcost.crosscheck)  # the function, not a module
