"""Every op family the counters know, seen through the capture, agrees with its formula."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import convcost
from convcost import formulas as f


class Zoo(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
        self.gn = nn.GroupNorm(2, 4)
        self.ln = nn.LayerNorm(16)
        self.attn_q = nn.Linear(16, 16)
        self.conv3d = nn.Conv3d(2, 4, 3, padding=1, bias=False)
        self.conv1d = nn.Conv1d(4, 4, 5, padding="same", groups=4, bias=False)
        self.reflect = nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect", bias=False)
        self.prelu = nn.PReLU()

    def forward(self, x: torch.Tensor, seq: torch.Tensor, vol: torch.Tensor) -> tuple:
        y = self.gn(self.up(x))  # 2×4×16×16
        y = self.reflect(F.silu(y))
        y = F.interpolate(y, scale_factor=2, mode="nearest")  # 2×4×32×32
        y = F.avg_pool2d(F.pad(y, (1, 1, 1, 1)), 2)  # 2×4×17×17
        s = self.ln(seq)  # 2×10×16
        q = self.attn_q(s).view(2, 10, 2, 8).transpose(1, 2)  # 2×2×10×8
        a = F.scaled_dot_product_attention(q, q, q)
        e = torch.einsum("bhid,bhjd->bhij", q, q).softmax(-1)
        v = self.conv3d(vol)
        c = self.conv1d(torch.gelu(seq.transpose(1, 2)[:, :4]) if hasattr(torch, "gelu")
                        else F.gelu(seq.transpose(1, 2)[:, :4]))
        return y, a, e, v, self.prelu(c), torch.stack([y, y]).amax(0)


def test_all_families_counted_by_their_formulas() -> None:
    x = torch.empty(2, 8, 8, 8)
    seq = torch.empty(2, 10, 16)
    vol = torch.empty(1, 2, 4, 6, 6)
    a = convcost.analyze(Zoo(), inputs=(x, seq, vol))
    assert a.unsupported == {}, a.unsupported
    by = {}
    for r in a.rows:
        by.setdefault(r.op, []).append(r)
    t = by["conv_transpose2d"][0]
    # counted from the input side (docs/conventions.md): each of the 2·8·8·8 input elements
    # meets 4 output channels × a 4×4 kernel: 2·8·8·8 · 4·16 = 65,536 multiply-adds
    assert t.cost.madds == 2 * 8 * 8 * 8 * 4 * 16 == 65_536
    # one of the contract's four kinds; the op label carries "transpose"
    assert t.conv_kind == "standard" and t.out_shape == (2, 4, 16, 16)
    # GroupNorm(2, 4) on 2×4×16×16 = 2,048 elements: 5 per element, 2 per (sample, group)
    # (2·2 = 4) and 2 per element for the affine: 5·2048 + 2·4 + 2·2048 = 14,344
    assert by["group_norm"][0].cost.flops == 5 * 2048 + 2 * 4 + 2 * 2048 == 14_344
    # LayerNorm(16) on 2×10×16 = 320 elements in 20 rows: 5 per element, 2 per row, 1 per
    # element for the weight and 1 for the bias: 5·320 + 2·20 + 320 + 320 = 2,280
    assert by["layer_norm"][0].cost.flops == 5 * 320 + 2 * 20 + 320 + 320 == 2_280
    # padding_mode="reflect" materialises a padded copy before its conv, then the explicit F.pad
    assert [r.out_shape for r in by["pad"]] == [(2, 4, 18, 18), (2, 4, 34, 34)]
    assert by["interpolate"][0].out_shape == (2, 4, 32, 32)
    assert by["avg_pool2d"][0].out_shape == (2, 4, 17, 17)
    # SDPA runs fused (one "attention" row) or, as here for a transposed query on meta, as
    # PyTorch's math path (scale, bmm, softmax, bmm); either way its multiply-adds are
    # QKᵀ + PV = 2·(2·2·10·10·8), and the einsum adds one more bmm of 2·2·10·10·8
    sdpa = f.attention((2, 2, 10, 8), (2, 2, 10, 8), (2, 2, 10, 8)).madds
    einsum = f.einsum("bhid,bhjd->bhij", (2, 2, 10, 8), (2, 2, 10, 8)).madds
    contraction = sum(r.cost.madds for r in a.rows if r.op in ("attention", "matmul"))
    assert contraction == sdpa + einsum == 3 * 2 * 2 * 10 * 10 * 8
    assert by["softmax"][-1].cost.flops == 5 * 2 * 2 * 10 * 10
    # Conv3d(2, 4, 3, padding=1) on 1×2×4×6×6: 1·4·4·6·6 = 576 outputs, each 2 input
    # channels × 3·3·3 = 27 taps: 576 · 2 · 27 = 31,104 multiply-adds
    assert by["conv3d"][0].cost.madds == 576 * 2 * 27 == 31_104
    dw1d = by["conv1d"][0]
    assert dw1d.conv_kind == "depthwise" and dw1d.out_shape == (2, 4, 10)
    assert by["silu"][0].cost.flops == 5 * 2 * 4 * 16 * 16
    assert by["gelu"][0].cost.flops == 5 * 2 * 4 * 10
    # PReLU() on the 2×4×10 depthwise conv output: 2 flops an element (compare, multiply),
    # 2·80 = 160; one shared slope, 1 parameter
    (prelu,) = by["prelu"]
    assert (prelu.cost.flops, prelu.cost.params) == (2 * 2 * 4 * 10, 1) == (160, 1)
    assert by["cat"][0].out_shape == (2, 2, 4, 17, 17)  # stack = unsqueeze + cat
    assert by["amax"][0].out_shape == (2, 4, 17, 17)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_real_run_agrees_with_meta_for_every_family(dtype: str) -> None:
    x, seq, vol = torch.randn(2, 8, 8, 8), torch.randn(2, 10, 16), torch.randn(1, 2, 4, 6, 6)
    meta = convcost.analyze(Zoo(), inputs=(x, seq, vol), dtype=dtype)
    cpu = convcost.analyze(Zoo(), inputs=(x, seq, vol), dtype=dtype, device="cpu")
    # the attention kernel may differ between devices (fused or math path); the counts may not
    assert meta.totals.madds == cpu.totals.madds
    assert meta.totals.params == cpu.totals.params
    convs = [r for r in meta.rows if r.conv_kind]
    assert [(r.op, r.cost) for r in convs] == [(r.op, r.cost) for r in cpu.rows if r.conv_kind]


def test_each_operand_is_read_at_its_own_element_size() -> None:
    """A comparison reads its float32 operands (4 B each) and writes 1-byte booleans; a
    conversion reads at the input's size and writes at the output's (the engine used the
    output's size for everything: `x > 0` read 1 B an element)."""
    class Mixed(nn.Module):
        def forward(self, x: torch.Tensor) -> Any:
            return x > 0, x.half(), torch.eq(x, x)

    rows = convcost.analyze(Mixed(), (1, 1000)).rows
    got = [(r.op, r.cost.mem_read_bytes, r.cost.mem_write_bytes) for r in rows]
    assert got == [("gt", 1000 * 4 + 4, 1000),  # the scalar 0 read once, at x's size
                   ("copy", 1000 * 4, 1000 * 2),
                   ("eq", 2 * 1000 * 4, 1000)]


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_selections_and_logsumexp_are_costed(device: str) -> None:
    """Once unsupported (reported, never zero): logsumexp, median, kthvalue, nanmedian. The
    numbers follow docs/conventions.md: x is 4×10; logsumexp over dim 1: 4·40 = 160 flops,
    40 floats read, 4 written; a median of the whole tensor: 40 compares, one float out;
    along dim 1 (4 lines of 10): 40 compares, 4 values + 4 int64 indices = 48 bytes out;
    nanmedian along dim 0 (10 lines of 4): 10 values + indices = 120 bytes."""
    class Selections(nn.Module):
        def forward(self, x: torch.Tensor) -> Any:
            return (torch.logsumexp(x, 1), torch.median(x), x.median(1),
                    torch.kthvalue(x, 3, 1), torch.nanmedian(x, 0))

    a = convcost.analyze(Selections(), (4, 10), device=device)
    assert a.unsupported == {}
    got = [(r.op, r.out_shape, r.cost.flops, r.cost.mem_read_bytes, r.cost.mem_write_bytes)
           for r in a.rows]
    assert got == [("logsumexp", (4,), 160, 160, 16), ("median", (), 40, 160, 4),
                   ("median", (4,), 40, 160, 48), ("kthvalue", (4,), 40, 160, 48),
                   ("nanmedian", (10,), 40, 160, 120)]


def test_spectrograms_are_costed() -> None:
    """An audio front end (torch.stft with a Hann window, then the power): every op costed.
    The FFT follows docs/conventions.md: 101 frames of 400 real samples →
    2.5 · 101·400 · log₂400 = 873,029 flops; it reads 101·400 floats and writes 101·201
    complex64 values (8 bytes each).

    Frames: center=True (stft's default) pads n_fft/2 = 200 samples on each side, so
    16,000 + 400 samples hold 1 + (16,400 − 400) / 160 = 1 + 16,000/160 = 101 frames of 400.
    Bins: a real FFT of 400 samples keeps 400/2 + 1 = 201 (the rest are their conjugates)."""
    class Spectrogram(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            window = torch.hann_window(400, device=x.device)
            spec = torch.stft(x, n_fft=400, hop_length=160, window=window, return_complex=True)
            return spec.abs() ** 2

    for device in ("meta", "cpu"):
        a = convcost.analyze(Spectrogram(), (1, 16000), device=device)
        assert a.unsupported == {}
        (fft,) = [r for r in a.rows if r.op == "fft"]
        (pad,) = [r for r in a.rows if r.op == "pad"]
        assert pad.out_shape == (1, 1, 16_000 + 2 * 200)  # center=True
        frames, bins = 1 + 16_000 // 160, 400 // 2 + 1
        assert fft.in_shapes == ((1, frames, 400),) and fft.out_shape == (1, frames, bins)
        assert fft.cost.flops == round(2.5 * 101 * 400 * math.log2(400)) == 873_029
        assert (fft.cost.mem_read_bytes, fft.cost.mem_write_bytes) == (101 * 400 * 4,
                                                                       101 * 201 * 8)
        (magnitude,) = [r for r in a.rows if r.op == "abs"]
        assert magnitude.cost.mem_read_bytes == 101 * 201 * 8  # complex in, float out
        assert magnitude.cost.mem_write_bytes == 101 * 201 * 4


def test_rearrangements_samplers_and_distances_are_costed() -> None:
    """Ops that were reported unsupported, with docs/conventions.md's rules on x = 1×8×8×8
    (512 floats, 2,048 bytes): pixel_shuffle(2) rearranges it (read and written once, no
    arithmetic); grid_sample on a 4×4 grid (32 coordinates) interpolates 8·4·4 = 128 outputs
    bilinearly, 7 flops each; affine_grid makes 4·4 locations of 2 coordinates, θ (2×3) times
    (x, y, 1): 12 flops a location; cdist of 8 points of 64 coordinates with themselves: 64
    pairs · (3·64 + 1 root); glu halves 8 channels: 256 outputs, a sigmoid and a multiply each."""
    class Misc(nn.Module):
        def forward(self, x: torch.Tensor) -> Any:
            grid = torch.zeros(1, 4, 4, 2, device=x.device)
            theta = torch.zeros(1, 2, 3, device=x.device)
            return (F.pixel_shuffle(x, 2), F.grid_sample(x, grid, align_corners=False),
                    F.affine_grid(theta, [1, 8, 4, 4], align_corners=False),
                    torch.cdist(x.flatten(2), x.flatten(2)), F.glu(x, 1))

    a = convcost.analyze(Misc(), (1, 8, 8, 8))
    assert a.unsupported == {}
    got = {r.op: (r.cost.flops, r.cost.mem_read_bytes, r.cost.mem_write_bytes) for r in a.rows
           if r.op not in ("fill", "copy")}
    assert got == {"pixel_shuffle": (0, 2048, 2048),
                   "grid_sample": (7 * 128, 2048 + 32 * 4, 128 * 4),
                   "affine_grid": (12 * 16, 6 * 4, 32 * 4),
                   "cdist": (64 * (3 * 64 + 1), 2 * 2048, 64 * 4),
                   "glu": (2 * 256, 2048, 256 * 4)}


def test_mode_and_binary_searches_are_costed() -> None:
    """x is 4×10. mode along dim 1: 4 lines sorted (10·⌈log₂10⌉ = 40 each) and counted
    (10 each): 200; values and int64 indices of 4 lines written (4·(4 + 8) = 48 bytes).
    bucketize over 9 boundaries: ⌈log₂10⌉ = 4 compares per value, 40 values: 160; the
    values and the boundaries read (160 + 36 bytes), 40 int64 indices written."""
    class Searches(nn.Module):
        def forward(self, x: torch.Tensor) -> Any:
            bounds = torch.linspace(-1, 1, 9, device=x.device)
            return torch.mode(x, 1), torch.bucketize(x, bounds)

    a = convcost.analyze(Searches(), (4, 10))
    assert a.unsupported == {}
    got = {r.op: (r.cost.flops, r.cost.mem_read_bytes, r.cost.mem_write_bytes) for r in a.rows}
    assert got["mode"] == (200, 160, 48)
    assert got["bucketize"] == (160, 160 + 36, 40 * 8)


def test_a_sum_of_bools_reads_bools() -> None:
    """``(x > 0).sum(-1)`` on x = 4×1000: the comparison writes 4,000 bools (1 byte each),
    which the sum reads (4,000 bytes, not 4,000 · 8 at its int64 output's size), folding each
    line of 1,000 into one (4·999 = 3,996 adds), and writes 4 int64 counts (4·8 = 32 bytes)."""
    class CountPositive(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x > 0).sum(-1)

    a = convcost.analyze(CountPositive(), (4, 1000))
    assert a.unsupported == {}
    (total,) = [r for r in a.rows if r.op == "sum"]
    assert (total.cost.flops, total.cost.mem_read_bytes, total.cost.mem_write_bytes) == (
        3996, 4000, 32)
