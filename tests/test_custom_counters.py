"""A user's own counters for one call: ``convcost.analyze(..., counters={...})``.

The op under test is a ``torch.library`` custom op: it reaches the recorder as its own
overload packet ``convcost_test.scale``, which no built-in counter knows.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

import convcost
from convcost.engine import (
    REGISTRY,
    Cost,
    Counted,
    CounterError,
    DuplicateRegistrationError,
    Family,
    Node,
    OpCost,
    RegistryBuilder,
    TensorInfo,
    evaluate,
)
from convcost.errors import ConvcostError, InvalidArgumentError


@torch.library.custom_op("convcost_test::scale", mutates_args=())
def scale(x: torch.Tensor, k: float) -> torch.Tensor:
    return x * k


@scale.register_fake
def _(x: torch.Tensor, k: float) -> torch.Tensor:
    return torch.empty_like(x)


class Scaled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.convcost_test.scale(torch.relu(self.conv(x)), 2.0)


class ConvReLU(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.act = nn.ReLU(inplace=True)  # aten.relu_: falls back to the aten.relu counter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.act(self.conv(x)) - 1.0)


SIZE = (2, 3, 8, 8)  # every activation after the conv: 2*8*8*8 = 1,024 elements


def scale_cost(node: Node) -> OpCost:
    """One multiply per element; the input read once, the output written once."""
    x = node.args[0]
    return OpCost(flops=x.numel, mem_read_bytes=x.numel * x.itemsize,
                  mem_write_bytes=x.numel * x.itemsize, out_shape=x.shape)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_a_custom_op_is_costed_for_one_call_only(device: str) -> None:
    before = convcost.analyze(Scaled(), SIZE, device=device)
    assert before.unsupported == {"convcost_test.scale": 1}

    after = convcost.analyze(Scaled(), SIZE, device=device,
                             counters={"convcost_test.scale": scale_cost})
    assert after.unsupported == {}
    # scale on 1,024 float32 elements: 1,024 flops, 1,024*4 = 4,096 bytes read and written
    assert after.totals == before.totals + Cost(flops=1024, mem_read_bytes=4096,
                                                mem_write_bytes=4096)
    row = after.rows[-1]
    assert (row.op, row.aten, row.name, row.out_shape) == (
        "convcost_test.scale", "convcost_test.scale", "", (2, 8, 8, 8))

    again = convcost.analyze(Scaled(), SIZE, device=device)  # the default registry untouched
    assert again.unsupported == {"convcost_test.scale": 1}
    assert again.totals == before.totals
    assert REGISTRY.lookup("convcost_test.scale") is None


def test_the_library_spelling_of_the_key_and_a_free_op() -> None:
    base = convcost.analyze(Scaled(), SIZE)
    colons = convcost.analyze(Scaled(), SIZE, counters={"convcost_test::scale": scale_cost})
    assert colons.unsupported == {} and colons.rows[-1].op == "convcost_test.scale"
    free = convcost.analyze(Scaled(), SIZE, counters={"convcost_test.scale": "fused away"})
    assert free.unsupported == {} and free.evaluation.free["convcost_test.scale"] == 1
    assert free.totals == base.totals


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_overriding_a_builtin_counter_changes_only_that_call(device: str) -> None:
    def relu_3_flops(node: Node) -> Cost:  # a plain Cost: the row takes the recorded shape
        x = node.args[0]
        return Cost(flops=3 * x.numel, mem_read_bytes=x.numel * x.itemsize,
                    mem_write_bytes=x.numel * x.itemsize)

    before = convcost.analyze(ConvReLU(), SIZE, device=device)
    mine = convcost.analyze(ConvReLU(), SIZE, device=device, counters={"aten.relu": relu_3_flops})
    # two relus (relu_ in place, then relu) of 1,024 elements: 1 flop each built in, 3 here,
    # so 2 * 1,024 * (3 - 1) = 4,096 more flops; bytes and everything else unchanged
    assert mine.totals == before.totals + Cost(flops=4096)
    relus = [r for r in mine.rows if r.op == "relu"]  # the label stays the built-in one
    assert [(r.aten, r.out_shape, r.cost.flops) for r in relus] == [
        ("aten.relu_", (2, 8, 8, 8), 3072), ("aten.relu", (2, 8, 8, 8), 3072)]
    assert mine.outputs == before.outputs == ((2, 8, 8, 8),)
    assert convcost.analyze(ConvReLU(), SIZE, device=device).totals == before.totals


def test_a_counted_answer_chooses_a_label_of_the_vocabulary() -> None:
    def as_mul(node: Node) -> Counted:
        return Counted("mul", scale_cost(node))

    a = convcost.analyze(Scaled(), SIZE, counters={"convcost_test.scale": as_mul})
    assert a.rows[-1].op == "mul"
    extended = REGISTRY.extended({"convcost_test.scale": as_mul, "aten.my_op": scale_cost})
    assert extended.family("mul") is Family.ELEMENTWISE
    assert extended.family("convcost_test.scale") is Family.CUSTOM
    assert extended.family("my_op") is Family.CUSTOM  # "aten." is dropped from the label


@pytest.mark.parametrize(("answer", "message"), [
    (42, "returned int; return a convcost.formulas.Cost"),
    (None, "returned NoneType"),
    (Cost(flops=-1), "flops must be ints >= 0"),
    (Cost(madds=1.5), "madds must be ints >= 0"),  # type: ignore[arg-type]
    (Counted("no_such_label", OpCost()), "label 'no_such_label', which it does not declare"),
    (Counted("convcost_test.scale", 7), "returned Counted; return"),  # type: ignore[arg-type]
])
def test_an_invalid_answer_is_a_clear_error(answer: Any, message: str) -> None:
    with pytest.raises(ConvcostError, match=message):
        convcost.analyze(Scaled(), SIZE, counters={"convcost_test.scale": lambda node: answer})


@pytest.mark.parametrize(("counters", "message"), [
    ({"relu": scale_cost}, "'relu' is not an op: use its overload packet"),
    ({"aten.relu.default": scale_cost}, "is not an op"),
    ({"aten.relu": 3}, "must be a function of the op's Node or a str"),
])
def test_invalid_counters_argument(counters: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        convcost.analyze(Scaled(), SIZE, counters=counters)


def test_registries_are_built_once_and_never_mutated() -> None:
    builder = RegistryBuilder()
    builder.register_free("view", "aten.view")
    with pytest.raises(DuplicateRegistrationError):
        builder.register_free("again", "aten.view")
    with pytest.raises(DuplicateRegistrationError):
        builder.register("aten.view", family=Family.MOVEMENT, labels=("copy",))(
            lambda node: Counted("copy", OpCost()))
    built = builder.build()
    assert built.free_ops == {"aten.view": "view"} and built.counted_ops == []

    relu = REGISTRY.lookup("aten.relu")
    extended = REGISTRY.extended({"aten.relu": scale_cost, "aten.view": scale_cost})
    assert extended.lookup("aten.relu") is not relu
    assert "aten.view" in extended.counted_ops and "aten.view" not in extended.free_ops
    assert REGISTRY.lookup("aten.relu") is relu and "aten.view" in REGISTRY.free_ops
    assert REGISTRY.lookup("aten.add_") is REGISTRY.lookup("aten.add")  # in place falls back
    assert REGISTRY.lookup("aten.no_such_op") is None


def test_a_builtin_counter_may_return_only_the_labels_it_declares() -> None:
    builder = RegistryBuilder()

    @builder.register("aten.relu", family=Family.ACTIVATION, labels=("relu",))
    def drifted(node: Node) -> Counted:
        return Counted("relu6", OpCost(flops=2))

    node = Node(0, "aten.relu", "", "", 1, (TensorInfo((2,)),), outputs=(TensorInfo((2,)),))
    with pytest.raises(CounterError, match=r"aten\.relu returned the label 'relu6'"):
        evaluate([node], {}, registry=builder.build())
