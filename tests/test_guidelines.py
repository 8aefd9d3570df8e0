"""ShuffleNetV2's guideline audit (engine/guidelines.py) and ``convcost guidelines``.

Hand-made models with hand-derived numbers; zoo sanity; the CLI's JSON and its errors. The
reproduced Tables 1-4 are tested in tests/test_guidelines_reproduce.py.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import convcost
from convcost.cli import app
from convcost.engine.guidelines import (
    GuidelinesAudit,
    audit,
    find_blocks,
    row_times,
)
from convcost.formulas.memory_access import (
    grouped_pointwise_mac,
    pointwise_mac,
    pointwise_mac_lower_bound,
)
from convcost.report.guidelines import (
    audit_payload,
    audit_tables,
    g1_sentence,
    g2_sentence,
    g3_sentence,
    g4_sentence,
    ratio_text,
    verdict_sentences,
)

runner = CliRunner()


def _audit(model: nn.Module, size: tuple[int, ...], **kw: Any) -> GuidelinesAudit:
    a = convcost.analyze(model, size)
    return audit(a.rows, modules=a.evaluation.modules, **kw)


# --- G1 -----------------------------------------------------------------------------------------


def test_g1_pointwise_64_to_256_on_56x56() -> None:
    a = convcost.analyze(nn.Conv2d(64, 256, 1, bias=False), (1, 64, 56, 56))
    (r,) = audit(a.rows).g1
    # MAC = 56·56·(64+256) + 64·256 = 1,003,520 + 16,384 = 1,019,904 elements
    assert r.mac == 1_019_904 == pointwise_mac(56, 56, 64, 256)
    # B = 3136·64·256 = 51,380,224; bound = 2·sqrt(3136·B) + B/3136 = 2·3136·128 + 16,384
    assert r.madds == 51_380_224
    assert r.bound == pytest.approx(819_200)
    assert r.bound == pytest.approx(pointwise_mac_lower_bound(56, 56, 51_380_224))
    # excess = 1,019,904 / 819,200 - 1 = 0.245
    assert r.excess == pytest.approx(0.245)
    assert (r.c1, r.c2) == (64, 256) and ratio_text(r.c1, r.c2) == "1:4"


def test_g1_equal_widths_sit_on_the_bound() -> None:
    a = convcost.analyze(nn.Conv2d(128, 128, 1, bias=False), (1, 128, 56, 56))
    result = audit(a.rows)
    (r,) = result.g1
    # 56·56·256 + 128·128 = 819,200 = 2·3136·128 + 16,384: the AM-GM equality case
    assert r.mac == 819_200
    assert r.excess == pytest.approx(0.0, abs=1e-12)
    v = result.verdicts.g1
    assert (v.convs, v.within_tolerance, v.tolerance, v.worst) == (1, 1, 0.05, r)
    assert v.total_excess == pytest.approx(0.0, abs=1e-12)
    assert g1_sentence(v).startswith("G1: 1 of 1 1×1 convs within 5 %")


def test_g1_batch_reads_weights_once() -> None:
    a = convcost.analyze(nn.Conv2d(64, 256, 1, bias=False), (2, 64, 56, 56))
    (r,) = audit(a.rows).g1
    # 2·3136·320 + 16,384 = 2,023,424; bound 2·(2·3136)·128 + 16,384 = 1,622,016
    assert r.mac == 2_023_424
    assert r.bound == pytest.approx(1_622_016)


def test_ratio_text() -> None:
    assert ratio_text(64, 256) == "1:4"
    assert ratio_text(256, 64) == "4:1"
    assert ratio_text(58, 58) == "1:1"
    assert ratio_text(24, 58) == "1:2.4"


# --- G2 -----------------------------------------------------------------------------------------


def test_g2_penalty_of_shufflenet_v1_gconv_by_the_formula() -> None:
    conv = nn.Conv2d(96, 384, 1, groups=8, bias=False)
    a = convcost.analyze(conv, (1, 96, 28, 28))
    (r,) = audit(a.rows).g2
    # B = 784·96·384/8 = 3,612,672
    b = 3_612_672
    assert r.madds == b and r.groups == 8 and r.pointwise
    # MAC = 784·(96+384) + 96·384/8 = 376,320 + 4,608 = 380,928
    assert r.mac == 380_928 == grouped_pointwise_mac(28, 28, 96, b, 8)
    # g=1 at equal B and c1: 784·96 + B/96 + B/784 = 75,264 + 37,632 + 4,608 = 117,504
    assert r.mac_g1 == 117_504 == grouped_pointwise_mac(28, 28, 96, b, 1)
    assert r.penalty == pytest.approx(2.2418, abs=1e-4)  # 380,928 / 117,504 − 1 = +224.18 %


def test_g2_reads_groups_and_kernel_from_the_rows() -> None:
    # a functional grouped 5×5 conv, no module to read: 225 channels in 25 groups of 9
    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(225, 9, 5, 5))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.conv2d(x, self.w, padding=2, groups=25)

    a = convcost.analyze(Functional(), (1, 225, 8, 8))
    (r,) = audit(a.rows).g2
    assert (r.groups, r.kernel) == (25, (5, 5))
    # 64 positions × 225 outputs: MAC_g1 = MAC − P·c2 + P·c2/g = MAC − 14,400 + 576
    assert r.mac - r.mac_g1 == 64 * 225 - 64 * 225 // 25 == 13_824
    dw = convcost.analyze(nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False),
                          (1, 32, 8, 8))
    assert (dw.rows[0].groups, dw.rows[0].kernel) == (32, (3, 3))
    assert audit(dw.rows).g2 == ()  # depthwise convs are G4's, not G2's


def test_g1_leaves_strided_pointwise_convs_out() -> None:
    # ResNet's shortcut: 1×1 stride 2 reads 56×56 positions and writes 28×28 ones
    shortcut = nn.Conv2d(256, 512, 1, stride=2, bias=False)
    a = convcost.analyze(shortcut, (1, 256, 56, 56))
    assert a.rows[0].conv_kind == "pointwise" and audit(a.rows).g1 == ()


# --- G3 -----------------------------------------------------------------------------------------


class TwoBranch(nn.Module):
    """A 1×1 branch and a 3×3 → 1×1 branch, concatenated."""

    def __init__(self, c: int = 16) -> None:
        super().__init__()
        self.a = nn.Conv2d(c, c, 1, bias=False)
        self.b = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.c = nn.Conv2d(c, c // 2, 1, bias=False)
        self.d = nn.Conv2d(c + c // 2, c, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.d(torch.cat([self.a(x), self.c(self.b(x))], 1))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.block1 = TwoBranch()
        self.block2 = TwoBranch()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block2(self.block1(self.stem(x)))


def test_g3_counts_on_a_two_branch_block() -> None:
    result = _audit(Net(), (1, 3, 8, 8))
    g3 = result.g3
    assert [r.name for r in g3] == ["block1", "block2"]
    r = g3[0]
    # on 8×8: a 64·16·16 = 16,384; b 64·16·16·9 = 147,456; c 64·16·8 = 8,192;
    # d 64·24·16 = 24,576 → 196,608 in all; 10 % = 19,660.8 → a and c are small
    assert r.madds == 196_608
    assert (r.ops, r.convs, r.small_convs, r.branches, r.joins) == (5, 4, 2, 2, 1)
    assert r.module == "TwoBranch"
    assert "TwoBranch" in result.block_rule


def test_g3_block_depth_and_the_no_join_rule() -> None:
    a = convcost.analyze(Net(), (1, 3, 8, 8))
    blocks, rule = find_blocks(a.rows, a.evaluation.modules, depth=1)
    assert blocks == ["stem", "block1", "block2"] and "depth 1" in rule
    chain = nn.Sequential(nn.Sequential(nn.Conv2d(3, 8, 1), nn.Conv2d(8, 8, 1)),
                          nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU(), nn.Conv2d(8, 8, 1)))
    b = convcost.analyze(chain, (1, 3, 4, 4))
    blocks, rule = find_blocks(b.rows, b.evaluation.modules)
    assert blocks == ["0", "1"] and "no join" in rule
    g3 = audit(b.rows, modules=b.evaluation.modules).g3
    assert [(r.ops, r.convs, r.branches, r.joins) for r in g3] == [(2, 2, 1, 0), (3, 2, 1, 0)]


# --- G4 -----------------------------------------------------------------------------------------


class ConvBnReluAdd(nn.Module):
    def __init__(self, c: int = 16) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 1, bias=False)
        self.bn = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x))) + x


def test_g4_share_on_conv_bn_relu_add() -> None:
    result = _audit(ConvBnReluAdd(), (1, 16, 8, 8))
    # E = 16·8·8 = 1,024 elements, 4 bytes each
    # conv: read 1,024 + 256 weights, write 1,024 → 2,304 el = 9,216 B
    # BN (eval): read 1,024 + 4·16 (affine, running stats), write 1,024 → 2,112 el = 8,448 B
    # relu: 2,048 el = 8,192 B; add: read 2,048, write 1,024 → 12,288 B
    by_op = {r.op: r for r in result.g4}
    assert {k: v.mem_bytes for k, v in by_op.items()} == {
        "conv2d": 9_216, "batch_norm": 8_448, "relu": 8_192, "add": 12_288}
    # elementwise 28,928 of 38,144 bytes
    assert result.elementwise_share == pytest.approx(28_928 / 38_144)
    assert by_op["add"].share == pytest.approx(12_288 / 38_144)
    folded = _audit(ConvBnReluAdd(), (1, 16, 8, 8), fold_bn=True)
    # BN folded: 20,480 of 29,696 bytes
    assert folded.elementwise_share == pytest.approx(20_480 / 29_696)


def test_g4_time_share_from_scope_times() -> None:
    a = convcost.analyze(ConvBnReluAdd(), (1, 16, 8, 8))
    # the root scope runs the add itself: its 2 ms go to the add; the leaves get theirs
    times = row_times(a.rows, {"conv": 0.004, "bn": 0.001, "relu": 0.001, "": 0.002})
    result = audit(a.rows, times_s=times)
    assert result.g4_time_categories == pytest.approx(
        {"conv/linear": 0.5, "depthwise": 0.0, "elementwise": 0.5, "data movement": 0.0,
         "other": 0.0})
    by_op = {r.op: r.time_share for r in result.g4}
    assert by_op["add"] == pytest.approx(0.25)
    assert result.verdicts.g4.time_share == pytest.approx(0.5)
    assert "; 50 % of measured time; " in g4_sentence(result.verdicts.g4)


# --- verdicts: numbers in the engine, sentences in report/ ----------------------------------------


def test_verdicts_of_single_convs_and_their_sentences() -> None:
    pw = audit(convcost.analyze(nn.Conv2d(64, 256, 1, bias=False), (1, 64, 56, 56)).rows)
    v1 = pw.verdicts.g1
    # one conv at +24.5 % (test_g1_pointwise_64_to_256_on_56x56): none within 5 %
    assert (v1.convs, v1.within_tolerance) == (1, 0) and v1.worst == pw.g1[0]
    assert v1.total_excess == pytest.approx(0.245)
    assert g1_sentence(v1) == (
        "G1: 0 of 1 1×1 convs within 5 % of the minimum memory access for their multiply-adds; "
        "worst +25 % in (root) (c1:c2 = 1:4); all together +25 %.")
    gc = audit(convcost.analyze(nn.Conv2d(96, 384, 1, groups=8, bias=False),
                                (1, 96, 28, 28)).rows)
    v2 = gc.verdicts.g2
    # one conv at +224.18 % (test_g2_penalty_of_shufflenet_v1_gconv_by_the_formula): the median
    assert (v2.convs, v2.pointwise, v2.groups) == (1, 1, (8,))
    assert v2.median_penalty == pytest.approx(2.2418, abs=1e-4) and v2.worst == gc.g2[0]
    assert g2_sentence(v2) == (
        "G2: 1 grouped convs (1 pointwise), g = 8; median memory-access penalty +224 % over "
        "groups 1 at equal multiply-adds, worst +224 % in (root) (g = 8).")


def test_g3_verdict_on_two_equal_blocks() -> None:
    result = _audit(Net(), (1, 3, 8, 8))
    v = result.verdicts.g3
    # both blocks are (5 ops, 4 convs, 2 small, 2 branches): the medians; the tie goes to block1
    assert (v.blocks, v.median_ops, v.median_convs, v.median_branches) == (2, 5, 4, 2)
    assert v.most_fragmented == result.g3[0] and v.small_fraction == 0.1
    assert g3_sentence(v) == (
        "G3: 2 blocks; median 5 ops, 4 convs, 2 branch(es) per block; most fragmented block1 "
        "(2 branch(es), 4 convs of which 2 below 10 % of its multiply-adds, 5 ops).")


def test_g4_verdict_shares_and_sentences() -> None:
    v = _audit(ConvBnReluAdd(), (1, 16, 8, 8)).verdicts.g4
    # test_g4_share_on_conv_bn_relu_add's bytes: elementwise 28,928 of 38,144 = 75.8 %;
    # largest add 12,288 (32.2 %), batch_norm 8,448 (22.1 %), relu 8,192 (21.5 %)
    assert v.elementwise_share == pytest.approx(28_928 / 38_144)
    assert (v.depthwise_share, v.time_share, v.fold_bn) == (0.0, None, False)
    assert [r.op for r in v.largest] == ["add", "batch_norm", "relu"]
    assert g4_sentence(v) == ("G4: elementwise ops are 76 % of memory access; largest: add 32 %, "
                              "batch_norm 22 %, relu 21 %.")
    folded = _audit(ConvBnReluAdd(), (1, 16, 8, 8), fold_bn=True).verdicts.g4
    # 20,480 of 29,696 = 69.0 %; add 12,288 (41.4 %), relu 8,192 (27.6 %)
    assert g4_sentence(folded) == ("G4: elementwise ops are 69 % of memory access (BN folded); "
                                   "largest: add 41 %, relu 28 %.")
    dw = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False), nn.ReLU())
    vd = _audit(dw, (1, 32, 8, 8)).verdicts.g4
    # depthwise: read 2,048 + 288 weights, write 2,048 = 4,384 el; relu 2·2,048 = 4,096 el;
    # 4,096 / 8,480 = 48.3 % elementwise, 100 % with the depthwise conv
    assert vd.depthwise_share == pytest.approx(4_384 / 8_480)
    assert vd.paper_share == pytest.approx(1.0)
    assert g4_sentence(vd) == ("G4: elementwise ops are 48 % of memory access, 100 % with "
                               "depthwise convs as the paper counts them; largest: relu 48 %.")


def test_verdicts_of_a_model_without_convs() -> None:
    result = _audit(nn.Sequential(nn.Flatten(), nn.Linear(48, 8), nn.ReLU()), (1, 3, 4, 4))
    v = result.verdicts
    assert (v.g1.convs, v.g1.worst, v.g1.total_excess) == (0, None, None)
    assert (v.g2.convs, v.g2.groups, v.g2.median_penalty, v.g2.worst) == (0, (), None, None)
    assert (v.g3.blocks, v.g3.median_ops, v.g3.most_fragmented) == (0, None, None)
    assert verdict_sentences(v) == {
        "g1": "G1: no 1×1 convs with groups 1; nothing to check.",
        "g2": "G2: no grouped convs (depthwise convs excluded); no group-conv penalty.",
        "g3": "G3: no blocks found; nothing to check.",
        "g4": g4_sentence(v.g4)}


def test_audit_payload_adds_the_text_to_the_engines_numbers() -> None:
    result = _audit(nn.Conv2d(64, 256, 1, bias=False), (1, 64, 56, 56))
    numbers = result.to_dict()
    payload = audit_payload(result)
    # the engine's payload has no text; report/ adds the sentences and the c1:c2 ratios
    assert "verdicts" not in numbers and "ratio" not in numbers["g1"]["convs"][0]
    assert payload["verdicts"] == verdict_sentences(result.verdicts)
    conv = payload["g1"]["convs"][0]
    assert list(conv)[:5] == ["name", "index", "c1", "c2", "ratio"] and conv["ratio"] == "1:4"
    assert payload["g1"]["verdict"]["worst"] == conv
    assert {k: v for k, v in conv.items() if k != "ratio"} == numbers["g1"]["convs"][0]
    json.dumps(payload)  # JSON-able as is


# --- zoo sanity ---------------------------------------------------------------------------------


def _zoo(spec: str) -> GuidelinesAudit:
    from convcost.resolve import resolve

    r = resolve(spec)
    return _audit(r.module, r.input_sizes()[0])


def test_zoo_shufflenet_v2_is_near_the_g1_minimum() -> None:
    r = _zoo("shufflenet_v2")
    # its branch 1×1 convs are c → c by design (G1); only each stage's first unit widens
    # (24 → 58: 1:2.4, +9.8 % alone): all together +1.0 % here, pinned below 3 %
    excess = r.g1_total_excess
    assert excess is not None and excess < 0.03
    assert r.g2 == ()
    # its units: 2 branches (split + cat), blocks are ShuffleV2Unit
    assert {b.branches for b in r.g3} == {2}


def test_zoo_resnet50_bottleneck_ratios_have_a_large_g1_excess() -> None:
    r = _zoo("resnet50")
    conv3 = next(x for x in r.g1 if x.name == "layer1.0.conv3")
    # 64 → 256 on 56×56: the hand-derived +24.5 % above
    assert ratio_text(conv3.c1, conv3.c2) == "1:4" and conv3.excess == pytest.approx(0.245)
    # layer1.0's shortcut (stride 1 in layer1), conv3 and layer1.1.conv1 are all 64 ↔ 256 on
    # 56×56, the same MAC and bound: the tie goes to the first row, the shortcut
    v = r.verdicts.g1
    assert v.convs == 33 and v.worst is not None
    assert v.worst.name == "layer1.0.downsample.0" and v.worst.excess == conv3.excess
    # 29 of its 33 stride-1 1×1 convs are 1:4 or 4:1 (up to +24.5 % each, less in the late
    # stages where the weights outweigh the activations): +12.2 % in all, pinned above 10 %
    excess = r.g1_total_excess
    assert excess is not None and excess > 0.10
    assert len(r.g3) == 16  # 3 + 4 + 6 + 3 bottlenecks, each a block (it runs the add)


def test_zoo_shufflenet_v1_g8_pays_the_g2_penalty() -> None:
    r = _zoo("shufflenet_v1:groups=8")
    g2 = r.g2
    # 16 units × 2 group convs, less stage2.0's first 1×1, which the paper leaves ungrouped
    # (its 24 input channels are too few): 31
    assert len(g2) == 31 and {x.groups for x in g2} == {8} and all(x.pointwise for x in g2)
    assert min(x.penalty for x in g2) > 0.1  # every one pays
    # stage2.1.gconv2 is the 96 → 384, g = 8 conv on 28×28 derived above: +224 %
    worst = r.worst("g2", 1)[0]
    assert worst.name == "stage2.1.gconv2"
    assert worst.penalty == pytest.approx(2.2418, abs=1e-4)


def test_tables_have_the_verdicts() -> None:
    r = _zoo("mobilenet_v2")
    tables = audit_tables(r, top=3)
    # top 3 of each guideline; MobileNet V2 has no grouped conv (depthwise is G4's): G2 empty
    assert [len(t.rows) for t in tables] == [3, 0, 3, 3]
    sentences = verdict_sentences(r.verdicts)
    assert [t.notes[0] for t in tables] == [sentences[g] for g in ("g1", "g2", "g3", "g4")]


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_json_shape() -> None:
    res = runner.invoke(app, ["guidelines", "shufflenet_v1:groups=8", "-f", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["model"] == "shufflenet_v1:groups=8" and data["input"] == [1, 3, 224, 224]
    assert set(data["verdicts"]) == {"g1", "g2", "g3", "g4"}
    assert data["verdicts"]["g2"].startswith("G2: 31 grouped convs (31 pointwise), g = 8;")
    assert {"convs", "total_excess", "tolerance"} <= set(data["g1"])
    assert data["g1"]["convs"][0]["ratio"] == ratio_text(data["g1"]["convs"][0]["c1"],
                                                          data["g1"]["convs"][0]["c2"])
    assert data["g2"]["convs"][0]["groups"] == 8
    # the verdicts' numbers: 31 grouped convs (see test_zoo_shufflenet_v1_g8_pays_the_g2_penalty)
    assert data["g2"]["verdict"]["convs"] == 31 and data["g2"]["verdict"]["groups"] == [8]
    assert data["g2"]["verdict"]["worst"]["name"] == "stage2.1.gconv2"
    assert {"name", "ops", "convs", "small_convs", "branches"} <= set(data["g3"]["blocks"][0])
    assert 0 < data["g4"]["elementwise_share"] < 1


def test_cli_table_and_md() -> None:
    res = runner.invoke(app, ["guidelines", "resnet18", "--top", "2", "-f", "md"])
    assert res.exit_code == 0, res.output
    assert res.stdout.count("**resnet18: G") == 4 and "G1: " in res.stdout


@pytest.mark.parametrize("args", [
    ["guidelines"],
    ["guidelines", "no_such_model"],
    ["guidelines", "resnet18", "--top", "0"],
    ["guidelines", "resnet18", "--reproduce"],
    ["guidelines", "--reproduce", "--table", "G9"],
    ["guidelines", "--reproduce", "--widths", "tpu"],
])
def test_cli_bad_input_exits_2(args: list[str]) -> None:
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output


def test_engine_module_does_not_import_torch() -> None:
    import subprocess

    code = ("import sys, convcost.engine.guidelines, convcost.report.guidelines; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
