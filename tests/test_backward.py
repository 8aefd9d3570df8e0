"""The backward pass as rows (``analyze(..., backward=True)``): costs derived by hand, the same
total as PyTorch's FlopCounterMode on the same training step (the zoo and the corpus's fast
subset), and the user's model left as it was (``.grad``, ``requires_grad``, ``training``)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from _helpers import sum_of_outputs
from torch import nn
from torch.utils import _pytree as pytree
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

import convcost
from convcost.engine.labels import LABELS, Family, family
from convcost.errors import InvalidArgumentError
from convcost.formulas import Cost
from convcost.graph import BACKWARD, FORWARD
from convcost.zoo import catalog


class TwoConvs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(32, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.relu(self.conv1(x)))


def _rows(a: convcost.Analysis, op: str, phase: str) -> list[Any]:
    return [r for r in a.rows if r.op == op and r.phase == phase]


def test_conv_backward_costs_derived_by_hand() -> None:
    a = convcost.analyze(TwoConvs(), (2, 16, 8, 8), backward=True)
    (b1,) = _rows(a, "conv2d_backward", BACKWARD)[-1:]
    (b2,) = _rows(a, "conv2d_backward", BACKWARD)[:1]
    # conv2 (1x1, 32->8, bias): input and weight gradients, each the forward's
    # 2·8·8·8·32 = 32,768 multiply-adds; the bias gradient one add per grad_out element
    # (2·8·8·8 = 1,024)
    assert b2.name == "conv2" and b2.cost.madds == 2 * 32_768
    assert b2.cost.flops == 2 * 2 * 32_768 + 1_024
    # conv1 (3x3, 16->32, no bias; its input needs no gradient): the weight gradient only,
    # 2·32·8·8·16·9 = 589,824
    assert b1.name == "conv1" and b1.cost.madds == 589_824 and b1.out_shape == (32, 16, 3, 3)
    assert b1.conv_kind == "standard" and b1.kernel == (3, 3)
    # bytes of conv2's backward: input gradient reads grad_out (1,024) and the weight (256),
    # writes the input's gradient (2·32·8·8 = 4,096); weight gradient reads grad_out and the
    # input (4,096), writes 256; bias gradient reads grad_out, writes 8: in float32
    assert b2.cost.mem_read_bytes == 4 * (1_024 + 256 + 1_024 + 4_096 + 1_024)
    assert b2.cost.mem_write_bytes == 4 * (4_096 + 256 + 8)
    # ReLU's backward: one select per element of the 2·32·8·8 = 4,096 gradient
    (relu,) = _rows(a, "relu_backward", BACKWARD)
    assert relu.name == "relu" and relu.cost.flops == 4_096


def test_linear_backward_is_two_products() -> None:
    model = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))
    a = convcost.analyze(model, (5, 64), backward=True)
    back = [r for r in a.rows if r.phase == BACKWARD and r.cost.madds]
    # layer 2: input gradient (5,10)·(10,32) and weight gradient (10,5)·(5,32): 5·10·32 = 1,600
    # each; layer 1: the weight gradient (32,5)·(5,64) = 10,240 only (the input needs none)
    assert sorted(r.cost.madds for r in back) == [1_600, 1_600, 10_240]
    assert {r.op for r in back} == {"linear", "matmul"}
    (tanh,) = _rows(a, "tanh_backward", BACKWARD)
    assert tanh.cost.flops == 3 * 5 * 32  # g·(1 − y²): 3 per element


def test_phases_split_the_totals_and_every_label_is_declared() -> None:
    a = convcost.analyze("mobilenet_v2", (2, 3, 64, 64), backward=True)
    phases = a.by_phase()
    assert set(phases) == {FORWARD, BACKWARD}
    assert sum(phases.values(), Cost()) == a.totals
    assert phases[FORWARD].params == a.totals.params and phases[BACKWARD].params == 0
    assert a.unsupported == {}
    assert {r.op for r in a.rows} <= LABELS
    assert family("conv2d_backward") is Family.CONV
    assert family("batch_norm_backward") is Family.NORM
    # the backward pass of a network costs about twice its forward pass
    assert 1.5 < phases[BACKWARD].madds / phases[FORWARD].madds < 2.5
    # every backward op but the loss's seed has a module
    assert [r.op for r in a.rows if r.phase == BACKWARD and not r.name] == ["fill"]


def test_backward_rows_appear_in_the_json_only_with_their_phase() -> None:
    plain = convcost.analyze("resnet18", (1, 3, 32, 32)).to_dict()
    assert all("phase" not in layer for layer in plain["layers"])
    trained = convcost.analyze("resnet18", (2, 3, 32, 32), backward=True).to_dict()
    assert {layer.get("phase", FORWARD) for layer in trained["layers"]} == {FORWARD, BACKWARD}


# --- against FlopCounterMode -------------------------------------------------------------------

def _cpu_sdpa(q: Any, k: Any, v: Any, *args: Any, out_shape: Any = None, **kw: Any) -> int:
    return int(sdpa_flop_count(q, k, v))


def _cpu_sdpa_backward(g: Any, q: Any, k: Any, v: Any, *args: Any, out_shape: Any = None,
                       **kw: Any) -> int:
    return int(sdpa_backward_flop_count(g, q, k, v))


# FlopCounterMode does not know the CPU's fused attention; its own SDPA formulas, mapped on
MAPPING = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_sdpa,
           torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward:
               _cpu_sdpa_backward}


def flop_counter_mode(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any],
                      fake: bool = False) -> int:
    """FlopCounterMode's total for one training step: training mode, the sum of the outputs,
    its backward(). ``fake``: on FakeTensors (a meta forward that needs a value)."""
    saved = [(m, m.training) for m in model.modules()]
    grads = [(p, p.grad) for p in model.parameters()]
    try:
        model.train()
        if fake:
            from torch._subclasses.fake_tensor import FakeTensorMode

            with FakeTensorMode(allow_non_fake_inputs=True) as mode:
                args, kwargs = pytree.tree_map_only(torch.Tensor, mode.from_tensor,
                                                    (args, kwargs))
                with FlopCounterMode(display=False, custom_mapping=MAPPING) as counter:
                    sum_of_outputs(model(*args, **kwargs)).backward()
        else:
            with FlopCounterMode(display=False, custom_mapping=MAPPING) as counter:
                sum_of_outputs(model(*args, **kwargs)).backward()
    finally:
        for m, flag in saved:
            m.training = flag
        for p, g in grads:
            p.grad = g
    return int(counter.get_total_flops())


def predicted_flop_counter_mode(a: convcost.Analysis, math_attention: bool = False) -> int:
    """What FlopCounterMode reports for the training step ``a`` recorded: 2 flops per
    multiply-add of every product, by two named rules.

    - ``grouped-weight-gradient``: FlopCounterMode counts the weight gradient of a grouped
      convolution as a dense one (its formula takes all C_in input channels per output
      channel, not C_in/g): g times its multiply-adds (torch 2.13's ``conv_backward_flop``).
    - ``math-attention`` (``math_attention``): where the reference ran on the meta device,
      PyTorch decomposes SDPA into the math path, whose backward makes 4 products (dV, dP,
      dQ, dK); convcost records the fused kernel the CPU runs, whose backward also recomputes
      Q·Kᵀ: that product (B·H·L·S·E) is not in the reference.
    """
    total = 0
    for r in a.rows:
        madds = r.cost.madds
        if r.aten == "aten.convolution_backward" and r.groups and r.groups > 1:
            grad_out, x = r.in_shapes[0], r.in_shapes[1]
            taps = math.prod(r.kernel or ())
            forward = (math.prod(x) * (grad_out[1] // r.groups) * taps
                       if r.op.startswith("conv_transpose")
                       else math.prod(grad_out) * (x[1] // r.groups) * taps)
            grad_input = 1 if tuple(r.out_shape) == tuple(x) else 0
            grad_weight = madds // forward - grad_input
            madds = forward * (grad_input + r.groups * grad_weight)
        if math_attention and r.op == "attention_backward":
            q, k = r.in_shapes[1], r.in_shapes[2]
            madds -= math.prod(q[:-1]) * k[-2] * q[-1]
        total += 2 * madds
    return total


ZOO = [e.name for e in catalog.ENTRIES]


@pytest.mark.parametrize("name", ZOO)
def test_zoo_training_flops_equal_flop_counter_mode(name: str) -> None:
    from convcost.resolve import resolve

    r = resolve(name, "meta")
    shape = (2, *(r.default_input or ()))  # batch 2: BatchNorm trains on batch statistics
    a = convcost.analyze(r.module, shape, backward=True)
    reference = flop_counter_mode(r.module, (torch.empty(shape, device="meta"),), {})
    assert predicted_flop_counter_mode(a) == reference
    assert a.unsupported == {}


def _corpus_cases() -> list[Any]:
    from corpus import CORPUS

    why = {
        "revnet38": "RevNet's reversible blocks modify a tensor autograd saved (pytorchcv's "
                    "custom autograd Function): its backward fails under any mode",
        "condensenet74_c4_g4": "its training forward index_adds with a CPU index into meta "
                               "tensors: FlopCounterMode cannot run it on meta or fake tensors "
                               "(convcost's capture does, on fake tensors)",
    }
    cases = []
    for e in CORPUS:
        if not e.fast:
            continue
        marks = [pytest.mark.skip(reason=why[e.name])] if e.name in why else []
        cases.append(pytest.param(e.name, marks=marks, id=e.name))
    return cases


def _batch_of_two(inputs: Any) -> Any:
    """An image input of batch 1 made batch 2 (BatchNorm after a global pool cannot train on
    one value per channel)."""
    def grow(t: Any) -> Any:
        if isinstance(t, torch.Tensor) and t.dim() == 4 and t.shape[0] == 1:
            return torch.empty((2, *t.shape[1:]), dtype=t.dtype, device=t.device)
        return t
    return pytree.tree_map(grow, inputs)


@pytest.mark.parametrize("name", _corpus_cases())
def test_corpus_training_flops_equal_flop_counter_mode(name: str) -> None:
    from corpus import by_name

    entry = by_name(name)
    model = entry.build()
    inputs = entry.make_inputs(model)
    args, kwargs = _batch_of_two((inputs.args, inputs.kwargs))
    flags = [m.training for m in model.modules()]
    wants = {n: p.requires_grad for n, p in model.named_parameters()}
    grads = {n: p.grad for n, p in model.named_parameters()}
    a = convcost.analyze(model, inputs=args, kwargs=kwargs, device=entry.analyze_device,
                         backward=True)
    # the checks the zoo gets, on third-party code: the model left as it was, every label
    # declared, the two phases adding up to the totals (parameters all on the forward's rows)
    assert [m.training for m in model.modules()] == flags
    assert {n: p.requires_grad for n, p in model.named_parameters()} == wants
    assert all(p.grad is grads[n] for n, p in model.named_parameters())
    assert {r.op for r in a.rows} <= LABELS, {r.op for r in a.rows} - LABELS
    phases = a.by_phase()
    assert set(phases) == {FORWARD, BACKWARD}
    assert sum(phases.values(), Cost()) == a.totals
    assert phases[FORWARD].params == a.totals.params and phases[BACKWARD].params == 0
    fresh = entry.make_inputs(model)
    ref_args, ref_kwargs = _batch_of_two((fresh.args, fresh.kwargs))
    on_meta = next(model.parameters()).device.type == "meta"
    try:
        reference = flop_counter_mode(model, ref_args, ref_kwargs)
    except RuntimeError:  # a data-dependent check on meta: FakeTensors, as the corpus does
        fresh = entry.make_inputs(model)
        ref_args, ref_kwargs = _batch_of_two((fresh.args, fresh.kwargs))
        reference = flop_counter_mode(model, ref_args, ref_kwargs, fake=True)
    assert predicted_flop_counter_mode(a, math_attention=on_meta) == reference
    assert a.unsupported == {}


# --- the user's model is left as it was --------------------------------------------------------

class Frozen(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.head = nn.Linear(8, 4)
        self.stem.weight.requires_grad_(False)  # a frozen weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.bn(self.stem(x))).mean((2, 3)))


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_the_models_grads_flags_and_values_stay_as_they_were(device: str) -> None:
    model = Frozen()
    model.head.weight.grad = torch.full_like(model.head.weight, 7.0)  # a gradient it had
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    grad = model.head.weight.grad
    model.eval()
    a = convcost.analyze(model, (2, 3, 8, 8), backward=True, device=device, memory=True)
    assert a.by_phase()[BACKWARD].madds > 0
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    assert model.head.weight.grad is grad and bool((grad == 7.0).all())
    assert all(p.grad is None for n, p in model.named_parameters() if n != "head.weight")
    assert all(not m.training for m in model.modules())
    for n, p in model.named_parameters():
        assert torch.equal(p.detach(), before[n]), n
    for n, b in model.named_buffers():
        assert torch.equal(b, buffers[n]), n  # running statistics not updated


def test_a_frozen_weight_gets_no_gradient() -> None:
    a = convcost.analyze(Frozen(), (2, 3, 8, 8), backward=True, memory=True)
    (stem,) = [r for r in a.rows if r.op == "conv2d_backward"]
    # the stem's weight is frozen and its input needs no gradient: only the bias gradient, one
    # add per element of the 2·8·8·8 = 1,024 output gradient, no product
    assert stem.cost.madds == 0 and stem.cost.flops == 1_024
    assert a.lifetimes is not None
    grads = {p.name: p.grad is not None for p in a.lifetimes.params}
    assert grads == {"stem.weight": False, "stem.bias": True, "bn.weight": True,
                     "bn.bias": True, "head.weight": True, "head.bias": True}


class ArgMax(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x).argmax(-1)


def test_no_differentiable_output_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="no differentiable output"):
        convcost.analyze(ArgMax(), (2, 4), backward=True)
    all_frozen = nn.Linear(4, 3).requires_grad_(False)
    with pytest.raises(InvalidArgumentError, match="no differentiable output"):
        convcost.analyze(all_frozen, (2, 4), backward=True)
    assert all(not p.requires_grad for p in all_frozen.parameters())


def test_a_loss_of_ones_own() -> None:
    model = nn.Linear(4, 3)
    a = convcost.analyze(model, (2, 4), backward=True, loss=lambda y: (y ** 2).mean())
    assert any(r.op == "pow" and r.phase == FORWARD for r in a.rows)
    with pytest.raises(InvalidArgumentError, match="scalar"):
        convcost.analyze(model, (2, 4), backward=True, loss=lambda y: y * 2)
    with pytest.raises(convcost.CaptureError, match="loss function failed"):
        convcost.analyze(model, (2, 4), backward=True, loss=lambda y: y.logits)


def test_a_spatial_transformer_trains_with_every_op_costed() -> None:
    """A spatial transformer and a GLU head (their backward ops were unsupported): the rules
    of counters_backward's module doc. The input needs no gradient, so grid_sample's backward
    computes the grid's alone: 3·16·16 = 768 outputs, 7 flops each (bilinear), the 16·16·2
    grid's gradient written; glu's backward: 6 per output element (8 channels of 16·16)."""
    import torch.nn.functional as F

    class STN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.loc = nn.Linear(3 * 16 * 16, 6)
            self.conv = nn.Conv2d(3, 16, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            theta = self.loc(x.flatten(1)).view(-1, 2, 3)
            grid = F.affine_grid(theta, list(x.shape), align_corners=False)
            return F.glu(self.conv(F.grid_sample(x, grid, align_corners=False)), 1)

    a = convcost.analyze(STN(), (1, 3, 16, 16), backward=True)
    assert a.unsupported == {}
    rows = {r.op: r for r in a.rows if r.phase == BACKWARD}
    sampler, glu = rows["grid_sample_backward"], rows["glu_backward"]
    assert sampler.cost.flops == 768 * 7 and sampler.cost.mem_write_bytes == 16 * 16 * 2 * 4
    glu_out = 8 * 16 * 16  # glu halves the conv's 16 channels
    assert glu.cost.flops == 6 * glu_out
    assert glu.cost.mem_write_bytes == 2 * glu_out * 4  # the input's gradient, both halves
