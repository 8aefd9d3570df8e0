"""The capture engine on a fixture zoo of small modules, each pinning one case.

Every model analysed here also goes through ``check_invariants``: rows add up to every
container and to the total, params equal ``sum(p.numel())`` of unique parameters.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import convcost
from convcost.errors import CaptureError, ConvcostError, InvalidArgumentError
from convcost.formulas import COST_FIELDS
from convcost.records.analysis import Analysis


def check_invariants(a: Analysis, model: nn.Module) -> None:
    """conftest checks the roll-ups on every analysis; here also the real module's params and
    the DataFrame export."""
    assert a.totals.params == sum({id(p): p.numel() for p in model.parameters()}.values())
    assert a.to_frame()[list(COST_FIELDS)].sum().to_dict() == a.totals.as_dict()


def run(model: nn.Module, *shape: int, **kw: object) -> Analysis:
    a = convcost.analyze(model, shape, **kw)  # type: ignore[arg-type]
    check_invariants(a, model)
    return a


def ops(a: Analysis) -> list[str]:
    return [r.op for r in a.rows]


# --- fixtures -----------------------------------------------------------------------------------


class Functional(nn.Module):
    """F.conv2d with a parameter, matmul via @, and an elementwise op."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(8, 3, 3, 3))
        self.proj = nn.Parameter(torch.zeros(8, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(x, self.w, padding=1)  # 1×8×16×16
        y = torch.relu(y).mean((2, 3))  # 1×8
        return (y @ self.proj) * 2.0  # 1×4


def test_functional_ops_are_seen() -> None:
    a = run(Functional(), 1, 3, 16, 16)
    assert ops(a) == ["conv2d", "relu", "mean", "linear", "mul"]
    conv, _, _, mm, mul = a.rows
    assert conv.cost.madds == 16 * 16 * 8 * 3 * 9  # 55,296
    assert conv.cost.params == 8 * 3 * 9  # the parameter w, owned on first use
    assert conv.conv_kind == "standard"
    assert mm.cost.madds == 8 * 4 and mm.cost.params == 32  # y @ proj, proj a parameter
    assert mul.cost.flops == 4  # one multiply per element of 1×4
    assert a.unsupported == {}


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        y += x  # in-place add
        return x + y


def test_elementwise_adds_in_place_and_not() -> None:
    a = run(Residual(), 2, 4, 5, 5)
    assert ops(a) == ["conv2d", "add", "add"]
    for row in a.rows[1:]:
        assert row.cost.flops == 2 * 4 * 5 * 5  # one add per element, batch 2
        assert row.cost.mem_bytes == 3 * 2 * 4 * 5 * 5 * 4  # read x, y; write out


class Shuffle(nn.Module):
    """ShuffleNetV2 unit core: chunk (views), cat (copy), channel shuffle (copy)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        y = torch.cat([b, a], dim=1)
        n, c, h, w = y.shape
        return y.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


def test_concat_and_channel_shuffle_copy_memory() -> None:
    a = run(Shuffle(), 1, 116, 28, 28)
    assert ops(a) == ["cat", "copy"]
    elems = 116 * 28 * 28
    for row in a.rows:  # each reads and writes the whole tensor once
        assert row.cost.mem_read_bytes == row.cost.mem_write_bytes == elems * 4
        assert row.cost.flops == 0
    assert a.evaluation.free["aten.split"] == 1  # chunk is a view: seen, free by rule
    assert a.evaluation.free["aten.transpose"] == 1


class SharedTwice(nn.Module):
    """One module called twice: costed per call, parameters once."""

    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(self.block(x))


def test_module_called_twice() -> None:
    a = run(SharedTwice(), 1, 8, 10, 10)
    first, second = a.rows
    assert first.cost.madds == second.cost.madds == 10 * 10 * 8 * 8 * 9
    assert (first.call, second.call) == (1, 2)
    assert first.cost.params == 8 * 8 * 9 + 8 and second.cost.params == 0
    assert a.totals.params == 8 * 8 * 9 + 8


class Tied(nn.Module):
    """An embedding-style tied weight: the same Parameter in two Linear layers."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Linear(16, 32, bias=False)
        self.dec = nn.Linear(32, 16, bias=False)
        self.dec.weight = nn.Parameter(self.enc.weight.t().contiguous())
        self.head = nn.Linear(16, 32, bias=False)
        self.head.weight = self.enc.weight  # tied

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dec(self.enc(x)))


def test_tied_weights_count_once() -> None:
    a = run(Tied(), 4, 16)
    assert ops(a) == ["linear", "linear", "linear"]
    assert [r.cost.params for r in a.rows] == [512, 512, 0]  # head reuses enc.weight
    assert [r.cost.madds for r in a.rows] == [4 * 16 * 32, 4 * 32 * 16, 4 * 16 * 32]


class DictInput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, batch: dict[str, torch.Tensor], scale: torch.Tensor) -> torch.Tensor:
        return self.conv(batch["image"]) * scale


def test_dict_and_keyword_inputs() -> None:
    model = DictInput()
    a = convcost.analyze(model, inputs=({"image": torch.zeros(2, 3, 9, 9)},),
                         kwargs={"scale": torch.ones(1)})
    check_invariants(a, model)
    assert ops(a) == ["conv2d", "mul"]
    assert a.rows[0].out_shape == (2, 4, 7, 7)
    assert a.inputs == ((2, 3, 9, 9), (1,))


class Nested(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6()),
            nn.Sequential(nn.Conv2d(8, 8, 3, 1, 1, groups=8, bias=False), nn.BatchNorm2d(8),
                          nn.Hardswish(), nn.Conv2d(8, 16, 1, bias=False)),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def test_nested_containers_roll_up() -> None:
    a = run(Nested(), 1, 3, 32, 32)
    assert ops(a) == ["conv2d", "batch_norm", "relu6", "conv2d", "batch_norm", "hardswish",
                      "conv2d", "mean", "linear"]
    assert [r.conv_kind for r in a.rows if r.op == "conv2d"] == ["standard", "depthwise",
                                                                 "pointwise"]
    level2 = {m.name: m for m in a.by_module(2)}
    # features.1 = depthwise 16·16·8·9 + pointwise 16·16·8·16 multiply-adds
    assert level2["features.1"].cost.madds == 16 * 16 * 8 * 9 + 16 * 16 * 8 * 16
    assert level2["features.1"].ops == 4
    assert level2["features"].cost.madds == (16 * 16 * 8 * 27 + 16 * 16 * 8 * 9
                                             + 16 * 16 * 8 * 16)
    assert a.by_conv_kind()["depthwise"].madds == 16 * 16 * 8 * 9


class SE(nn.Module):
    def __init__(self, c: int = 16) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(c, 4, 1)
        self.fc2 = nn.Conv2d(4, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        s = F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s


def test_squeeze_excitation_gate() -> None:
    a = run(SE(), 1, 16, 14, 14)
    assert ops(a) == ["mean", "conv2d", "relu", "conv2d", "hardsigmoid", "gate_mul"]
    gate = a.rows[-1]
    assert gate.cost.flops == 16 * 14 * 14
    assert gate.cost.mem_read_bytes == (16 * 14 * 14 + 16) * 4


class Raises(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        raise ValueError("boom in the middle")


def _snapshot(model: nn.Module) -> dict[str, object]:
    return {
        "params": {n: (p.device, p.dtype, p.requires_grad, p.clone())
                   for n, p in model.named_parameters()},
        "buffers": {n: b.clone() for n, b in model.named_buffers()},
        "keys": list(model.state_dict()),
        "training": [m.training for m in model.modules()],
        "hooks": [(len(m._forward_hooks), len(m._forward_pre_hooks)) for m in model.modules()],
        "ids": [id(p) for p in model.parameters()],
    }


def _same(before: dict, after: dict) -> None:
    assert before["keys"] == after["keys"]
    assert before["training"] == after["training"]
    assert before["hooks"] == after["hooks"]
    assert before["ids"] == after["ids"]
    for n, (dev, dt, rg, val) in before["params"].items():
        d2, t2, r2, v2 = after["params"][n]
        assert (dev, dt, rg) == (d2, t2, r2) and torch.equal(val, v2), n
    for n, b in before["buffers"].items():
        assert torch.equal(b, after["buffers"][n]), n


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_model_left_exactly_as_found_even_when_forward_raises(device: str) -> None:
    model = Raises()
    model.train()
    model.bn.eval()
    model.conv.weight.requires_grad_(False)
    before = _snapshot(model)
    with pytest.raises(CaptureError, match="boom in the middle") as info:
        convcost.analyze(model, (1, 3, 8, 8), device=device)
    assert "\n" not in str(info.value)
    _same(before, _snapshot(model))
    ok = Nested().train()
    before = _snapshot(ok)
    convcost.analyze(ok, (2, 3, 32, 32), device=device, dtype="float16")
    _same(before, _snapshot(ok))


def test_cpu_run_matches_meta() -> None:
    model = Nested()
    meta = convcost.analyze(model, (2, 3, 32, 32))
    cpu = convcost.analyze(model, (2, 3, 32, 32), device="cpu")
    assert [(r.op, r.cost) for r in meta.rows] == [(r.op, r.cost) for r in cpu.rows]


def test_cost_does_not_depend_on_analysis_size() -> None:
    # meta device: a 4096² input costs nothing to analyse; madds scale with pixels exactly
    model = Nested()
    small = convcost.analyze(model, (1, 3, 256, 256))
    big = convcost.analyze(model, (1, 3, 4096, 4096))
    conv_small = sum(r.cost.madds for r in small.rows if r.op == "conv2d")
    conv_big = sum(r.cost.madds for r in big.rows if r.op == "conv2d")
    assert conv_big == conv_small * 16 * 16


def test_dtype_changes_memory_not_counts() -> None:
    model = Nested()
    f32 = convcost.analyze(model, (1, 3, 32, 32))
    f16 = convcost.analyze(model, (1, 3, 32, 32), dtype="float16")
    assert f16.totals.madds == f32.totals.madds
    assert f16.totals.mem_bytes * 2 == f32.totals.mem_bytes
    assert f16.dtype == "float16"


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((1, 4, 32, 32), r"layer 'features.0.0' Conv2d\(3, 8.*rejected its input 1×4×32×32"),
        ((1, 3, 1, 1), "too small"),
        ((1, 1, 3, 32, 32), r"layer 'features.0.0'.*1×1×3×32×32"),
    ],
)
def test_input_errors_name_the_layer(shape: tuple[int, ...], message: str) -> None:
    class Deep(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1)), nn.Conv2d(8, 8, 3), nn.Conv2d(8, 8, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.features(x)

    with pytest.raises(CaptureError, match=message):
        convcost.analyze(Deep(), shape)


def test_missing_forward_arguments() -> None:
    with pytest.raises(CaptureError, match=r"forward\(\) needs arguments"):
        convcost.analyze(DictInput(), inputs=({"image": torch.zeros(1, 3, 9, 9)},))


def test_meta_failure_points_to_cpu() -> None:
    class NeedsValues(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2 if x.sum().item() > 0 else x

    with pytest.raises(CaptureError, match="device='cpu'"):
        convcost.analyze(NeedsValues(), (1, 4))
    a = convcost.analyze(NeedsValues(), (1, 4), device="cpu")
    assert "sum" in ops(a)


def test_bad_arguments() -> None:
    with pytest.raises(InvalidArgumentError, match=r"nn\.Module"):
        convcost.analyze(42, (1, 3))  # type: ignore[arg-type]
    with pytest.raises(ConvcostError):
        convcost.analyze(nn.ReLU(), (1, 0, 3))
    with pytest.raises(InvalidArgumentError, match="input_size"):
        convcost.analyze(nn.ReLU())


@torch.library.custom_op("convcost_tests::mystery", mutates_args=())
def _mystery(x: torch.Tensor) -> torch.Tensor:
    """An op no counter will ever know (an aten op would get one sooner or later)."""
    return x.clone()


@_mystery.register_fake
def _(x: torch.Tensor) -> torch.Tensor:  # what the meta device runs
    return torch.empty_like(x)


def test_unsupported_ops_are_reported_not_zero() -> None:
    class Odd(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return _mystery(x)

    a = convcost.analyze(Odd(), (1, 8))
    assert a.unsupported == {"convcost_tests.mystery": 1}
    assert a.evaluation.unsupported_scopes == {"convcost_tests.mystery": [""]}
    assert "convcost_tests.mystery" in a.to_markdown()
    assert a.to_dict()["unsupported"] == {"convcost_tests.mystery": 1}


def test_exports() -> None:
    a = run(Nested(), 1, 3, 32, 32)
    d = a.to_dict()
    assert set(d) >= {"model", "input", "dtype", "totals", "layers", "by_op", "unsupported"}
    assert d["input"] == [1, 3, 32, 32]
    layer = d["layers"][0]
    assert set(layer) >= {"name", "module", "op", "in_shapes", "out_shape", "conv_kind",
                          *COST_FIELDS}
    assert layer["name"] == "features.0.0" and layer["module"] == "Conv2d"
    frame = a.to_frame()
    assert len(frame) == len(a.rows) and frame["madds"].dtype.kind == "i"
    assert a.to_csv().count("\n") == len(a.rows) + 1
    assert "features.1.3" in a.to_markdown()
    assert "<table>" in a._repr_html_()
    by_module = a.to_frame(by="module", depth=1)
    assert by_module.loc[0, "madds"] == a.totals.madds


def test_garbage_collector_state_is_restored() -> None:
    import gc

    assert gc.isenabled()
    convcost.analyze(Nested(), (1, 3, 32, 32))
    assert gc.isenabled()
    gc.disable()
    try:
        convcost.analyze(Nested(), (1, 3, 32, 32))
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()
    with pytest.raises(CaptureError):
        convcost.analyze(Raises(), (1, 3, 8, 8))
    assert gc.isenabled()
