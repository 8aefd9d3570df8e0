"""Convolution formulas: worked examples with derivations, errors, and properties vs torch."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from convcost.errors import ConvcostError, InvalidArgumentError
from convcost.formulas import conv, conv_kind, conv_transpose, is_spatially_separable_pair
from convcost.formulas.conv import depthwise_multiplier

# ---------------------------------------------------------------------------------------------
# shared/reference/summary_examples.md: one nn.Conv2d, bias=False, stride 1, "same" padding,
# 64×64 input. params = C_out · C_in/g · 3·3 (or 1·1).
SUMMARY_EXAMPLES = [
    # (C_in, C_out, k, groups, params, derivation)
    (3, 4, 3, 1, 108, "4·3·3·3"),
    (3, 3, 3, 3, 27, "3·1·3·3 (depthwise)"),
    (3, 4, 1, 1, 12, "4·3·1·1 (pointwise)"),
    (4, 8, 3, 1, 288, "8·4·3·3"),
    (4, 8, 3, 2, 144, "8·2·3·3 (2 groups)"),
    (4, 4, 3, 4, 36, "4·1·3·3 (depthwise)"),
    (4, 8, 1, 1, 32, "8·4·1·1 (pointwise)"),
]


@pytest.mark.parametrize(("cin", "cout", "k", "g", "params", "why"), SUMMARY_EXAMPLES)
def test_summary_example_params(cin: int, cout: int, k: int, g: int, params: int,
                                why: str) -> None:
    c = conv((1, cin, 64, 64), cout, k, padding="same", groups=g, bias=False)
    assert c.params == params, why
    assert c.out_shape == (1, cout, 64, 64)
    # madds: every output element takes C_in/g · k² multiply-adds
    assert c.madds == 64 * 64 * cout * (cin // g) * k * k


def test_summary_separable_pair_is_68_params() -> None:
    # depthwise 4·3·3 = 36 plus pointwise 4·8 = 32 -> 68 (vs 288 for the standard conv)
    dw = conv((1, 4, 64, 64), 4, 3, padding=1, groups=4, bias=False)
    pw = conv(dw.out_shape, 8, 1, bias=False)
    assert dw.params + pw.params == 68


def test_vgg_like_layer_full_record() -> None:
    c = conv((1, 512, 14, 14), 512, 3, padding=1, bias=True)
    assert c.params == 512 * 512 * 9 + 512 == 2_359_808
    assert c.madds == 14 * 14 * 512 * 512 * 9 == 462_422_016
    # flops = 2·madds + one bias add per output element (512·14·14 = 100,352)
    assert c.flops == 2 * 462_422_016 + 100_352
    # reads: input 512·14·14 = 100,352 elements + 2,359,808 weights, float32
    assert c.mem_read_bytes == (100_352 + 2_359_808) * 4
    assert c.mem_write_bytes == 100_352 * 4
    assert c.mem_bytes == c.mem_read_bytes + c.mem_write_bytes


def test_mobilenet_v1_first_layer() -> None:
    # 3×3×3×32 stride 2 on 224²×3 -> 112²×32 (arXiv:1704.04861 Table 1)
    c = conv((1, 3, 224, 224), 32, 3, stride=2, padding=1, bias=False)
    assert c.out_shape == (1, 32, 112, 112)
    assert c.madds == 112 * 112 * 32 * 3 * 9 == 10_838_016


def test_shufflenet_v2_mac_equals_memory_bytes() -> None:
    # ShuffleNetV2: a 1×1 conv's MAC = h·w·(c1+c2) + c1·c2 elements = mem_bytes / itemsize
    h = w = 28
    c1, c2 = 116, 232
    c = conv((1, c1, h, w), c2, 1, bias=False, itemsize=2)
    assert c.mem_bytes // 2 == h * w * (c1 + c2) + c1 * c2


def test_strided_dilated_asymmetric() -> None:
    # H: floor((32 + 2·2 - 2·(5-1) - 1)/2) + 1 = 14 ; W: floor((20 + 0 - 1·(3-1) - 1)/1) + 1 = 18
    c = conv((2, 6, 32, 20), 12, (5, 3), stride=(2, 1), padding=(2, 0), dilation=(2, 1),
             groups=3, bias=False)
    assert c.out_shape == (2, 12, 14, 18)
    assert c.params == 12 * 2 * 15
    assert c.madds == 2 * 12 * 14 * 18 * 2 * 15


def test_same_padding_even_kernel_and_valid() -> None:
    # PyTorch pads 'same' with total d·(k-1) = 3, 1 on the left and 2 on the right
    assert conv((1, 1, 10, 10), 1, 4, padding="same").out_shape == (1, 1, 10, 10)
    assert conv((1, 1, 10, 10), 1, 4, padding="valid").out_shape == (1, 1, 7, 7)


def test_conv1d_and_conv3d() -> None:
    c1 = conv((4, 8, 100), 16, 5, stride=2)
    assert c1.out_shape == (4, 16, 48)  # floor((100 - 4 - 1)/2) + 1
    assert c1.madds == 4 * 16 * 48 * 8 * 5
    c3 = conv((1, 3, 16, 112, 112), 64, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3))
    assert c3.out_shape == (1, 64, 16, 56, 56)
    assert c3.params == 64 * 3 * 3 * 7 * 7 + 64


def test_transposed_conv_counts_from_input_side() -> None:
    # 2× upsampling 16→8 channels, k=4, s=2, p=1: out = (8-1)·2 - 2 + 3 + 1 = 16
    t = conv_transpose((1, 16, 8, 8), 8, 4, stride=2, padding=1, bias=True)
    assert t.out_shape == (1, 8, 16, 16)
    assert t.params == 16 * 8 * 16 + 8
    # every input element meets every tap of its group's kernels: 16·8·8 · 8·4·4
    assert t.madds == 16 * 64 * 8 * 16 == 131_072
    # counted from the output side as a direct conv it would be 8·16·16 · 16·4·4 = 524,288
    assert t.madds * 4 == 8 * 16 * 16 * 16 * 16
    assert t.flops == 2 * t.madds + 8 * 16 * 16


@pytest.mark.parametrize(
    ("cin", "cout", "k", "g", "kind"),
    [
        (32, 32, 3, 32, "depthwise"),
        (32, 64, 3, 32, "depthwise"),  # channel multiplier 2
        (32, 64, 1, 1, "pointwise"),
        (240, 240, 1, 3, "grouped"),  # ShuffleNet grouped 1×1
        (64, 64, 3, 4, "grouped"),
        (3, 32, 3, 1, "standard"),
        (1, 1, 3, 1, "standard"),  # one channel, groups=1: not depthwise
        (64, 64, (1, 7), 1, "standard"),
    ],
)
def test_conv_kind(cin: int, cout: int, k: int, g: int, kind: str) -> None:
    assert conv_kind(cin, cout, k, g) == kind


def test_depthwise_multiplier_and_spatial_pairs() -> None:
    assert depthwise_multiplier(32, 64, 32) == 2
    assert depthwise_multiplier(32, 64, 1) is None
    assert is_spatially_separable_pair((1, 7), (7, 1))
    assert is_spatially_separable_pair((3, 1), (1, 3))
    assert not is_spatially_separable_pair((1, 7), (1, 7))
    assert not is_spatially_separable_pair((1, 1), (1, 1))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"in_shape": (1, 0, 8, 8), "out_channels": 4, "kernel_size": 3}, "positive"),
        ({"in_shape": (1, 6, 8, 8), "out_channels": 4, "kernel_size": 3, "groups": 4},
         "must divide"),
        ({"in_shape": (1, 4, 2, 2), "out_channels": 4, "kernel_size": 5}, "larger than"),
        ({"in_shape": (1, 4, 8, 8), "out_channels": 4, "kernel_size": 3,
          "padding_mode": "mirror"}, "padding_mode"),
        ({"in_shape": (1, 4, 8, 8), "out_channels": 4, "kernel_size": 3, "stride": 2,
          "padding": "same"}, "stride 1"),
        ({"in_shape": (1, 4, 8, 8), "out_channels": -1, "kernel_size": 3}, "out_channels"),
        ({"in_shape": (1, 4, 8, 8), "out_channels": 4, "kernel_size": (3, 3, 3)}, "entries"),
        ({"in_shape": (4, 8), "out_channels": 4, "kernel_size": 3}, "(N, C, H, W)"),
        ({"in_shape": (1, 4, 8, 8), "out_channels": 4, "kernel_size": 3, "padding": "full"},
         "'same' or 'valid'"),
        ({"in_shape": (1, 4, 8, 8), "out_channels": 4, "kernel_size": 3, "padding": -1},
         ">= 0"),
    ],
)
def test_invalid_arguments_raise_one_family(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message) as info:
        conv(**kwargs)
    assert isinstance(info.value, ConvcostError)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------------------------
# properties against the real torch modules (meta device: no memory, no compute)

conv_cases = st.fixed_dictionaries(
    {
        "dims": st.integers(1, 3),
        "batch": st.integers(1, 3),
        "groups": st.sampled_from([1, 1, 2, 3, 4]),
        "cin_per_group": st.integers(1, 4),
        "cout_per_group": st.integers(1, 4),
        "kernel": st.integers(1, 5),
        "stride": st.integers(1, 3),
        "padding": st.integers(0, 2),
        "dilation": st.integers(1, 2),
        "size": st.integers(5, 12),
        "bias": st.booleans(),
    }
)

CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
CONVT = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}


def _real(module: nn.Module, shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    params = sum(p.numel() for p in module.parameters())
    out = module(torch.empty(shape, device="meta"))
    return params, tuple(out.shape)


@settings(max_examples=150, deadline=None)
@given(conv_cases)
def test_conv_matches_torch(case: dict) -> None:
    d, g = case["dims"], case["groups"]
    cin, cout = case["cin_per_group"] * g, case["cout_per_group"] * g
    span = case["dilation"] * (case["kernel"] - 1) + 1
    size = max(case["size"], span)  # keep the kernel inside the padded input
    shape = (case["batch"], cin, *([size] * d))
    with torch.device("meta"):
        module = CONV[d](cin, cout, case["kernel"], case["stride"], case["padding"],
                         case["dilation"], g, case["bias"])
    params, out_shape = _real(module, shape)
    c = conv(shape, cout, case["kernel"], case["stride"], case["padding"], case["dilation"],
             g, case["bias"])
    assert c.params == params
    assert c.out_shape == out_shape
    # madds: each output element · (C_in/g · k^d)
    assert c.madds == math.prod(out_shape) * (cin // g) * case["kernel"] ** d


@settings(max_examples=100, deadline=None)
@given(conv_cases, st.integers(0, 1))
def test_conv_transpose_matches_torch(case: dict, out_pad: int) -> None:
    d, g = case["dims"], case["groups"]
    cin, cout = case["cin_per_group"] * g, case["cout_per_group"] * g
    out_pad = min(out_pad, max(case["stride"], case["dilation"]) - 1)
    shape = (case["batch"], cin, *([case["size"]] * d))
    with torch.device("meta"):
        module = CONVT[d](cin, cout, case["kernel"], case["stride"], case["padding"],
                          out_pad, g, case["bias"], case["dilation"])
    params, out_shape = _real(module, shape)
    c = conv_transpose(shape, cout, case["kernel"], case["stride"], case["padding"], out_pad,
                       g, case["bias"], case["dilation"])
    assert c.params == params
    assert c.out_shape == out_shape


@settings(max_examples=80, deadline=None)
@given(conv_cases, st.integers(2, 8))
def test_cost_is_linear_in_batch(case: dict, times: int) -> None:
    g = case["groups"]
    args = (case["cout_per_group"] * g, case["kernel"], case["stride"], case["padding"], 1, g,
            case["bias"])
    size = max(case["size"], case["kernel"])
    one = conv((1, case["cin_per_group"] * g, size, size), *args)
    many = conv((times, case["cin_per_group"] * g, size, size), *args)
    assert many.madds == times * one.madds
    assert many.flops == times * one.flops
    assert many.params == one.params
    # activations scale with the batch, weights are read once
    assert many.mem_read_bytes - many.params * 4 == times * (one.mem_read_bytes - one.params * 4)
    assert many.mem_write_bytes == times * one.mem_write_bytes


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 64), st.integers(1, 3), st.integers(1, 5), st.integers(3, 30),
       st.integers(1, 2))
def test_depthwise_is_dense_divided_by_groups(c: int, mult: int, k: int, size: int,
                                              stride: int) -> None:
    size = max(size, k)
    shape = (1, c, size, size)
    dense = conv(shape, c * mult, k, stride, k // 2, bias=False)
    dw = conv(shape, c * mult, k, stride, k // 2, groups=c, bias=False)
    assert dw.out_shape == dense.out_shape
    assert dw.madds * c == dense.madds
    assert dw.params * c == dense.params
