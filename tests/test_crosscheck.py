"""convcost.crosscheck: the real run, the peers' conventions, the explanations, the zoo."""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from _helpers import Fn
from torch import nn

from convcost.engine import Row
from convcost.errors import InvalidArgumentError
from convcost.formulas import Cost
from convcost.oracles import ADAPTERS, PEERS, RULES, crosscheck
from convcost.oracles import check as check_mod
from convcost.oracles.peers import self_counts
from convcost.oracles.predict import predict
from convcost.oracles.real import run_real
from convcost.zoo import list_entries

DOCS = Path(__file__).resolve().parents[1] / "docs" / "conventions.md"


def T(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


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
    calls = dict(ADAPTERS["fvcore"].calls)
    del calls["F.batch_norm"]  # the default: traced through, nothing with products
    monkeypatch.setitem(ADAPTERS, "fvcore", dataclasses.replace(ADAPTERS["fvcore"],
                                                                calls=calls))
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
    assert fv.status == th.status == "skipped"
    assert fv.hint == "fvcore is not installed: pip install 'convcost[oracles]'"
    assert th.hint == "ultralytics-thop is not installed: pip install 'convcost[oracles]'"
    assert cc.unexplained == 0 and fv.to_dict()["hint"] == fv.hint


def test_a_stale_thop_is_recognised_from_the_imported_module(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the old `thop` package (0.1.x) installs the same module name as ultralytics-thop and
    # has no __version__ of 2 or more: the check says so instead of applying 2.x's rules
    import types

    stale = types.ModuleType("thop")
    stale.__file__ = "/site-packages/thop/__init__.py"
    stale.profile = lambda *a, **k: (0.0, 0.0)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "thop", stale)
    th = crosscheck(Small(), SMALL_INPUT, peers=["thop"]).peer("thop")
    assert th.status == "skipped"
    assert "old 'thop' package" in th.hint and "pip uninstall thop" in th.hint
    from convcost.errors import InvalidArgumentError as Bad
    from convcost.studies.check import check

    with pytest.raises(Bad, match=r"--peer thop: the imported thop .* old 'thop' package"):
        check([Small()], [(3, 8, 8)], peers=["thop"])


def test_a_named_peer_that_is_not_installed_is_bad_input(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from convcost.studies.check import check

    monkeypatch.setitem(sys.modules, "fvcore.nn", None)
    with pytest.raises(InvalidArgumentError,
                       match=r"--peer fvcore: fvcore is not installed: pip install "
                             r"'convcost\[oracles\]'"):
        check([Small()], [(3, 8, 8)], peers=["fvcore"])


def test_failing_peer_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(model: nn.Module, args: object, kwargs: object) -> None:
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
    with pytest.raises(InvalidArgumentError, match="meta"):
        crosscheck(Small(), inputs=torch.empty(SMALL_INPUT, device="meta"))
    with pytest.raises(InvalidArgumentError, match="positive"):
        crosscheck(Small(), (0, 3, 8, 8))


def test_self_counts_from_cumulative() -> None:
    # root 10 = own 1 + a (6 = own 2 + a.b 4) + c 3; "a.x" is missing: its parent is still a
    assert self_counts({"": 10, "a": 6, "a.b": 4, "c": 3}) == {"": 1, "a": 2, "a.b": 4, "c": 3}
    assert self_counts({"": 5, "a.b.c": 5}) == {"": 0, "a.b.c": 5}


def test_per_sample_terms_and_truncation() -> None:
    # ptflops divides module hooks by the batch: three Conv2d(1, 1, 1, bias=False) calls on
    # (4, 1, 1, 1), each 4 multiply-adds (one per sample), at batch 4 count 1 each; a
    # module hook at 10/4 would be fractional, and ptflops reports int() of its total
    from convcost.oracles.context import AtenOp, Context, ModuleCall, ModuleInfo, Param, Tensor
    from convcost.oracles.context import Call as FnCall

    conv = ModuleInfo("c", "Conv2d", ("Conv2d", "_ConvNd"), True, True,
                      (Param("weight", 1, True, 4),),
                      (Param("weight", 1, True, 4),),
                      {"in_channels": 1, "out_channels": 1, "kernel_size": (1, 1),
                       "groups": 1, "transposed": False})
    x = Tensor((4, 1, 1, 1))
    calls = [ModuleCall("c", i + 1, (x,), x, 4, None, i + 2, 1) for i in range(3)]
    op = AtenOp("aten.convolution", ((4, 1, 1, 1), (1, 1, 1, 1)), (4, 1, 1, 1), 4)
    fns = [FnCall("F.conv2d", "c", (x,), {}, x, (op,), within=(1, i + 2)) for i in range(3)]
    root = ModuleInfo("", "Net", (), False, False, (), (), {}, ("c",))
    ctx = Context({"": root, "c": conv}, {}, [*calls, ModuleCall("", 1, (x,), x, 12)], fns)
    row = Row(0, "c", "Conv2d", "conv2d", "aten.convolution", 1, ((4, 1, 1, 1),),
              (4, 1, 1, 1), "pointwise", Cost(madds=4, flops=8))
    adapter = ADAPTERS["ptflops-pytorch"]
    # each call: products 1·1·1 per position × 4 samples = 4, ÷ batch 4 = 1; three calls: 3
    pred = predict(adapter, [row, row, row], ctx, batch=4)
    assert pred.value == 3
    # the per-sample split is charged to ptflops' batch rule: 3 × (4/4 − 4) = −9
    assert pred.by_rule == {"ptflops-per-sample-module-hooks": -9}
    pred = predict(adapter, [row, row, row], ctx, batch=8)  # 3 × 4/8 = 1.5
    assert pred.value == Fraction(3, 2)
    # ptflops reports int() of its fractional figure: the comparison predicts 1
    assert check_mod._compare("madds", 1, pred, adapter).predicted == 1


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


# --- the known gaps, each a minimal model: every peer explained on it ---------------------------


class ClassToken(nn.Module):
    """A ViT-like stem: parameters on modules with children and on the root itself."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Module()
        self.embed.proj = nn.Conv2d(3, 8, 4, stride=4)
        self.embed.cls = nn.Parameter(torch.zeros(1, 1, 8))
        self.embed.pos = nn.Parameter(torch.zeros(1, 5, 8))
        self.scale = nn.Parameter(torch.ones(8))  # on the root
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.embed.proj(x).flatten(2).transpose(1, 2)  # (B, 4, 8)
        t = torch.cat([self.embed.cls.expand(len(t), -1, -1), t], 1) + self.embed.pos
        return self.head(t * self.scale)  # Linear on (B, 5, 8)


class PaddedConv(nn.Conv2d):
    """efficientnet-pytorch's Conv2dStaticSamePadding: a Conv2d subclass with a child."""

    def __init__(self) -> None:
        super().__init__(3, 8, 3, stride=2, bias=False)
        self.pad = nn.ZeroPad2d((0, 1, 0, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(self.pad(x), self.weight, self.bias, self.stride)


class Frozen(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Conv2d(3, 8, 3)
        self.head = nn.Conv2d(8, 4, 1)
        for p in self.backbone.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


def _parametrized() -> nn.Module:
    import warnings

    from torch.nn.utils import parametrizations, weight_norm

    with warnings.catch_warnings():  # the old weight_norm is deprecated: still in use
        warnings.simplefilter("ignore", FutureWarning)
        old = weight_norm(nn.Conv2d(8, 4, 1))
    return nn.Sequential(parametrizations.weight_norm(nn.Conv2d(3, 8, 3)), nn.ReLU(), old)


def _tokens(s: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    return s.fc(s.emb(ids)).softmax(-1)


GAPS: dict[str, tuple[Callable[[], nn.Module], Callable[[], tuple[Any, dict[str, Any]]]]] = {
    # fvcore / ptflops
    "functional adaptive_avg_pool2d": (
        lambda: Fn(lambda s, x: s.fc(F.adaptive_avg_pool2d(s.conv(x), 1).flatten(1)),
                   conv=nn.Conv2d(3, 8, 3), fc=nn.Linear(8, 4)), lambda: (T(2, 3, 8, 8), {})),
    "nn.Upsample and F.interpolate, every mode": (
        lambda: Fn(lambda s, x: (s.near(x) + s.bil(x) + F.interpolate(x, scale_factor=2,
                                                                       mode="bicubic")
                                 + F.interpolate(x, scale_factor=2, mode="nearest-exact")).sum()
                   + F.interpolate(x.flatten(2), scale_factor=2, mode="linear").sum()
                   + F.interpolate(x[:, :, None], scale_factor=2, mode="trilinear").sum()
                   + F.interpolate(x, size=(5, 5), mode="area").sum(),
                   near=nn.Upsample(scale_factor=2), bil=nn.UpsamplingBilinear2d(scale_factor=2)),
        lambda: (T(2, 3, 4, 4), {})),
    "padding='same' conv": (lambda: nn.Conv2d(3, 8, 3, padding="same"),
                            lambda: (T(2, 3, 8, 8), {})),
    "LSTM and GRU": (
        lambda: Fn(lambda s, x: s.gru(s.lstm(x)[0])[0],
                   lstm=nn.LSTM(8, 16, batch_first=True), gru=nn.GRU(16, 8, 2, batch_first=True)),
        lambda: (T(2, 5, 8), {})),
    "multi-operand einsum": (
        lambda: Fn(lambda s, a, b, c: torch.einsum("bij,bjk,bkl->bil", a, b, c)),
        lambda: ((T(2, 16, 4), T(2, 4, 16, seed=1), T(2, 16, 4, seed=2)), {})),
    "InstanceNorm": (lambda: nn.Sequential(nn.InstanceNorm2d(3, affine=True),
                                           nn.InstanceNorm2d(3)), lambda: (T(2, 3, 6, 6), {})),
    "MultiheadAttention fast path": (
        lambda: Fn(lambda s, x: s.mha(x, x, x)[0].sum() + s.mha(x, x, x, need_weights=False)[0],
                   mha=nn.MultiheadAttention(16, 4, batch_first=True)),
        lambda: (T(2, 6, 16), {})),
    "fused scaled_dot_product_attention": (
        lambda: Fn(lambda s, x: F.scaled_dot_product_attention(s.q(x), s.q(x), x),
                   q=nn.Linear(8, 8)), lambda: (T(2, 4, 6, 8), {})),
    # thop
    "nn.Softmax": (lambda: nn.Sequential(nn.Linear(8, 6), nn.Softmax(dim=-1)),
                   lambda: (T(2, 3, 8), {})),
    "nn.AvgPool2d, clipped windows": (
        lambda: nn.Sequential(nn.AvgPool2d(3, 2, 1, count_include_pad=False, ceil_mode=True),
                              nn.AvgPool2d(2)), lambda: (T(2, 3, 9, 9), {})),
    "functional conv": (lambda: Fn(lambda s, x: F.conv2d(x, s.w.weight, stride=2),
                                   w=nn.Conv2d(3, 8, 3)), lambda: (T(2, 3, 9, 9), {})),
    # ptflops
    "F.relu6, hardswish, hardsigmoid in a custom module": (
        lambda: Fn(lambda s, x: F.hardswish(F.relu6(s.c(x))) * F.hardsigmoid(x.mean(1, True)),
                   c=nn.Conv2d(3, 3, 1)), lambda: (T(2, 3, 6, 6), {})),
    "frozen parameters": (Frozen, lambda: (T(2, 3, 8, 8), {})),
    "parametrizations and weight_norm": (_parametrized, lambda: (T(2, 3, 8, 8), {})),
    # torchinfo
    "class token, position embedding, a root parameter": (ClassToken,
                                                           lambda: (T(2, 3, 8, 8), {})),
    "Linear on (B, L, in)": (lambda: nn.Linear(8, 4), lambda: (T(2, 5, 8), {})),
    "a Conv2d subclass with children": (PaddedConv, lambda: (T(2, 3, 9, 9), {})),
    # every peer
    "several inputs": (lambda: Fn(lambda s, x, y: s.a(x) + s.b(y), a=nn.Linear(8, 4),
                                  b=nn.Linear(6, 4)),
                       lambda: ((T(3, 8), T(3, 6, seed=1)), {})),
    "int token ids": (lambda: Fn(_tokens, emb=nn.Embedding(100, 16), fc=nn.Linear(16, 100)),
                      lambda: (torch.arange(12).reshape(2, 6) % 100, {})),
    "dict output": (lambda: Fn(lambda s, x: {"logits": s.fc(x), "features": x},
                               fc=nn.Linear(8, 4)), lambda: (T(2, 8), {})),
}


@pytest.mark.parametrize("name", list(GAPS))
def test_a_known_gap_is_explained_by_every_peer(name: str) -> None:
    need_peers("fvcore", "thop", "ptflops", "torchinfo")
    build, inputs = GAPS[name]
    args, kwargs = inputs()
    cc = crosscheck(build(), inputs=args, kwargs=kwargs)
    failed = {p.peer: p.message for p in cc.peers if p.status == "failed"}
    assert not failed, failed
    bad = {p.peer: [c.to_dict() for c in (*p.totals, *p.layers) if not c.explained][:3]
           for p in cc.peers if p.unexplained}
    assert cc.unexplained == 0, bad


def test_gap_numbers_by_hand() -> None:
    need_peers("fvcore", "thop", "ptflops", "torchinfo")
    # functional adaptive_avg_pool2d at (2, 3, 8, 8): conv 2·8·36 outputs × 27 = 15,552,
    # fc 2·8·4 = 64; fvcore adds 1 per pooled input: 2·8·36 = 576 (the call, not the module)
    build, inputs = GAPS["functional adaptive_avg_pool2d"]
    args, _ = inputs()
    fv = crosscheck(build(), inputs=args, peers=["fvcore"]).peer("fvcore")
    assert fv.headline is not None and fv.headline.reported == 15_552 + 64 + 576
    assert fv.headline.rules == {"fvcore-adaptive-avg-pool-inputs": 576}
    # nn.Softmax(dim=-1) on (2, 3, 6): thop counts 3n − 1 = 17 per row of 6, 6 rows: 102
    build, inputs = GAPS["nn.Softmax"]
    args, _ = inputs()
    th = crosscheck(build(), inputs=args, peers=["thop"]).peer("thop")
    assert th.headline is not None and th.headline.rules == {"thop-softmax-module": 102}
    # frozen backbone: ptflops counts trainable parameters only: the head's 8·4 + 4 = 36
    pt = crosscheck(Frozen(), (2, 3, 8, 8), peers=["ptflops-pytorch"]).peer("ptflops-pytorch")
    params = next(c for c in pt.totals if c.metric == "params")
    assert params.reported == 36 and params.rules == {"ptflops-trainable-params": -224}
    # torchinfo's param_bytes leave out what modules with children own: cls 8 + pos 40 on
    # `embed` and scale 8 on the root: 56 floats = 224 bytes
    ti = crosscheck(ClassToken(), (2, 3, 8, 8), peers=["torchinfo"]).peer("torchinfo")
    pb = next(c for c in ti.totals if c.metric == "param_bytes")
    assert pb.rules == {"torchinfo-param-bytes-leaf-only": -224}
    # Linear(8, 4) on (2, 5, 8): torchinfo counts output_size[0] × params = 2 · 36 = 72,
    # where the products are 2·5·8·4 = 320 (and the bias adds 40)
    ti = crosscheck(nn.Linear(8, 4), (2, 5, 8), peers=["torchinfo"]).peer("torchinfo")
    assert ti.headline is not None and ti.headline.reported == 72
    assert ti.headline.rules == {"torchinfo-linear-leading-dims": 64 - 320,
                                 "torchinfo-bias-adds": 8}


def test_check_takes_int_token_ids_and_several_inputs_from_specs() -> None:
    from convcost.specs import InputShape

    # InputShape carries the dtype: token ids are int64 zeros, valid for any embedding
    build, _ = GAPS["int token ids"]
    cc = crosscheck(build(), [InputShape((2, 6), "int64")], peers=["real", "thop"])
    assert cc.inputs == ({"name": "arg0", "shape": [2, 6], "dtype": "int64"},)
    assert cc.unexplained == 0 and cc.failed == 0
    # fc 2·6·16·100 = 19,200 multiply-adds
    assert cc.madds == 19_200
    build, _ = GAPS["several inputs"]
    cc = crosscheck(build(), [(3, 8), (3, 6)])
    assert [i["shape"] for i in cc.inputs] == [[3, 8], [3, 6]]
    assert cc.unexplained == 0 and cc.failed == 0


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["bert", "gpt2"])
def test_transformers_small_configs(arch: str) -> None:
    need_peers("fvcore", "thop", "ptflops", "torchinfo")
    tf = pytest.importorskip("transformers")
    torch.manual_seed(0)
    if arch == "bert":
        model = tf.BertModel(tf.BertConfig(hidden_size=32, num_hidden_layers=1,
                                           num_attention_heads=2, intermediate_size=64,
                                           vocab_size=100)).eval()
        kwargs: dict[str, Any] = {"input_ids": torch.zeros(1, 16, dtype=torch.long)}
    else:
        model = tf.GPT2LMHeadModel(tf.GPT2Config(n_embd=32, n_layer=1, n_head=2,
                                                 vocab_size=100, n_positions=64)).eval()
        kwargs = {"input_ids": torch.zeros(1, 16, dtype=torch.long), "use_cache": False}
    cc = crosscheck(model, kwargs=kwargs)
    failed = {p.peer: p.message for p in cc.peers if p.status == "failed"}
    assert not failed, failed
    bad = {p.peer: [c.to_dict() for c in (*p.totals, *p.layers) if not c.explained][:3]
           for p in cc.peers if p.unexplained}
    assert cc.unexplained == 0, bad


class _Reversible(torch.autograd.Function):
    """RevNet's trick: a module called inside a custom autograd Function's forward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, f: nn.Module) -> torch.Tensor:
        return x + f(x)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None]:
        return g, None


class TupleConv(nn.Conv2d):
    """OctConv's shape: a Conv2d subclass that takes and returns a pair."""

    def forward(self, pair: tuple[torch.Tensor, torch.Tensor]) -> Any:  # type: ignore[override]
        hi, lo = pair
        return self._conv_forward(hi, self.weight, self.bias), lo


GAPS.update({
    "an unused branch (traced away)": (
        lambda: Fn(lambda s, x: (s.used(x), s.unused(x))[0], used=nn.Linear(8, 4),
                   unused=nn.Linear(8, 16)), lambda: (T(2, 8), {})),
    "a module inside an autograd Function": (
        lambda: Fn(lambda s, x: _Reversible.apply(x, s.f), f=nn.Linear(8, 8)),
        lambda: (T(2, 8), {})),
    "a Conv2d subclass that takes a tuple": (
        lambda: Fn(lambda s, x: s.c((x, x))[0], c=TupleConv(3, 4, 3)),
        lambda: (T(2, 3, 6, 6), {})),
})


def test_predicted_raises() -> None:
    need_peers("fvcore", "thop")
    build, inputs = GAPS["a module inside an autograd Function"]
    args, _ = inputs()
    fv = crosscheck(build(), inputs=args, peers=["fvcore"]).peer("fvcore")
    assert fv.status == "raised" and fv.unexplained == 0
    assert fv.totals[0].rules == {"fvcore-module-in-autograd-function": 0}
    build, inputs = GAPS["a Conv2d subclass that takes a tuple"]
    args, _ = inputs()
    th = crosscheck(build(), inputs=args, peers=["thop"]).peer("thop")
    assert th.status == "raised" and "thop-hook-tensor-input" in th.message
    # the unused branch: fvcore's trace drops it; the others count it. used 2·8·4 = 64,
    # unused 2·8·16 = 256
    build, inputs = GAPS["an unused branch (traced away)"]
    args, _ = inputs()
    cc = crosscheck(build(), inputs=args, peers=["fvcore", "real"])
    assert cc.peer("real").headline.reported == 64 + 256  # type: ignore[union-attr]
    fvh = cc.peer("fvcore").headline
    assert fvh is not None and fvh.reported == 64 and fvh.rules == {"fvcore-dead-code": -256}
