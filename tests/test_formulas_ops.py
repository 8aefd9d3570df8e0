"""Linear/matmul/einsum, norms, pooling, elementwise, data movement, attention."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from convcost.errors import InvalidArgumentError
from convcost.formulas import (
    ACTIVATION_FLOPS,
    RNN_GATES,
    activation,
    adaptive_bins,
    adaptive_pool,
    attention,
    batch_norm,
    binary,
    broadcast_shapes,
    channel_shuffle,
    chunk,
    col2im,
    concat,
    einsum,
    embedding_bag,
    gate,
    gather,
    global_pool,
    group_norm,
    im2col,
    indexed_elems,
    itemsize_of,
    layer_norm,
    linear,
    matmul,
    multi_head_attention,
    nonzero,
    pad,
    pool,
    recurrent,
    reduction,
    repeat,
    rnn_cell,
    scan,
    scatter,
    select,
    sort,
    split,
    topk,
    transformer_encoder_layer,
    upsample,
    variance,
    vector_norm,
)


def meta(*shape: int) -> torch.Tensor:
    return torch.empty(shape, device="meta")


# --- linear / matmul / einsum ------------------------------------------------------------------


def test_mobilenet_classifier() -> None:
    fc = linear((1, 1024), 1000)
    assert fc.params == 1024 * 1000 + 1000 == 1_025_000
    assert fc.madds == 1024 * 1000
    assert fc.flops == 2 * 1024 * 1000 + 1000  # + one bias add per output


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=0, max_size=3), st.integers(1, 9),
       st.integers(1, 9), st.booleans())
def test_linear_matches_torch(lead: list[int], fin: int, fout: int, bias: bool) -> None:
    with torch.device("meta"):
        m = nn.Linear(fin, fout, bias=bias)
    out = m(meta(*lead, fin))
    c = linear((*lead, fin), fout, bias)
    assert c.params == sum(p.numel() for p in m.parameters())
    assert c.out_shape == tuple(out.shape)
    assert c.madds == math.prod(lead) * fin * fout


@pytest.mark.parametrize(
    ("a", "b"),
    [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((5, 2, 3), (3, 4)), ((5, 1, 2, 3), (4, 3, 6)),
     ((8, 128, 64), (8, 64, 128))],
)
def test_matmul_matches_torch(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    out = torch.matmul(meta(*a), meta(*b))
    c = matmul(a, b)
    assert c.out_shape == tuple(out.shape)
    k = a[-1]
    assert c.madds == max(1, math.prod(out.shape)) * k


def test_matmul_mismatch_is_explained() -> None:
    with pytest.raises(InvalidArgumentError, match="do not match"):
        matmul((2, 3), (4, 5))


def test_einsum() -> None:
    # batched matmul: 8·128·128 outputs · 64
    assert einsum("bij,bjk->bik", (8, 128, 64), (8, 64, 128)).madds == 8 * 128 * 128 * 64
    # attention scores written as einsum: b h i d, b h j d -> b h i j
    e = einsum("bhid,bhjd->bhij", (2, 4, 10, 16), (2, 4, 12, 16))
    assert e.out_shape == (2, 4, 10, 12)
    assert e.madds == 2 * 4 * 10 * 12 * 16
    # implicit output (indices appearing once, sorted): "ij,jk" -> "ik"
    assert einsum("ij,jk", (3, 4), (4, 5)).out_shape == (3, 5)
    # three operands, left to right: (ij,jk)->ik costs 3·4·5, then (ik,kl)->il costs 3·5·6
    assert einsum("ij,jk,kl->il", (3, 4), (4, 5), (5, 6)).madds == 3 * 4 * 5 + 3 * 5 * 6
    # a single-operand sum folds 3·4 elements into 3: 9 adds
    assert einsum("ij->i", (3, 4)).flops == 12 - 3


# --- norms --------------------------------------------------------------------------------------


def test_batch_norm_inference() -> None:
    bn = batch_norm((1, 32, 112, 112))
    assert bn.params == 64  # weight + bias; running stats are buffers
    assert bn.flops == 2 * 32 * 112 * 112  # one multiply, one add per element
    assert bn.mem_read_bytes == (32 * 112 * 112 + 64 + 64) * 4  # input + affine + 2 stats


@pytest.mark.parametrize("affine", [True, False])
def test_norm_params_match_torch(affine: bool) -> None:
    with torch.device("meta"):
        mods = [
            (nn.BatchNorm2d(16, affine=affine), batch_norm((2, 16, 5, 5), affine)),
            (nn.GroupNorm(4, 16, affine=affine), group_norm((2, 16, 5, 5), 4, affine)),
            (nn.LayerNorm((5, 5), elementwise_affine=affine),
             layer_norm((2, 16, 5, 5), (5, 5), affine)),
        ]
    for module, cost in mods:
        assert cost.params == sum(p.numel() for p in module.parameters()), module
        assert cost.out_shape == (2, 16, 5, 5)


def test_layer_norm_flops_rule() -> None:
    # 197 rows of 768: 5 per element for statistics and normalisation, 2 per row
    # (eps + rsqrt), 2 per element for the affine
    n = 197 * 768
    assert layer_norm((1, 197, 768), 768).flops == 5 * n + 2 * 197 + 2 * n
    with pytest.raises(InvalidArgumentError, match="trailing dims"):
        layer_norm((1, 197, 768), 512)
    with pytest.raises(InvalidArgumentError, match="divide"):
        group_norm((1, 30, 4, 4), 4)


# --- pooling ------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2),
       st.booleans(), st.integers(6, 20), st.sampled_from(["max", "avg"]))
def test_pool_shape_matches_torch(k: int, s: int, d: int, p: int, ceil: bool, size: int,
                                  kind: str) -> None:
    p = min(p, k // 2)
    d = 1 if kind == "avg" else d
    try:
        if kind == "avg":
            out = F.avg_pool2d(meta(1, 3, size, size), k, s, p, ceil_mode=ceil)
        else:
            out = F.max_pool2d(meta(1, 3, size, size), k, s, p, d, ceil_mode=ceil)
    except RuntimeError:  # torch rejects the window: so must the formula
        with pytest.raises(InvalidArgumentError, match="larger than the padded input"):
            pool((1, 3, size, size), k, s, p, d, ceil, kind)  # type: ignore[arg-type]
        return
    c = pool((1, 3, size, size), k, s, p, d, ceil, kind)  # type: ignore[arg-type]
    assert c.out_shape == tuple(out.shape)


def test_pool_flops_rules() -> None:
    # ResNet stem max pool 3×3/2: 8 comparisons per output, 64·56·56 outputs
    mp = pool((1, 64, 112, 112), 3, 2, 1)
    assert mp.out_shape == (1, 64, 56, 56)
    assert mp.flops == 64 * 56 * 56 * 8
    # ShuffleNet V1 shortcut avg pool 3×3/2: 8 adds + 1 divide = 9 per output
    ap = pool((1, 24, 56, 56), 3, 2, 1, kind="avg")
    assert ap.flops == 24 * 28 * 28 * 9


@pytest.mark.parametrize(("size", "out"), [(7, 1), (7, 7), (10, 3), (13, 6), (5, 7), (14, 4)])
def test_adaptive_bins_match_torch(size: int, out: int) -> None:
    # an input of ones summed by adaptive avg pool * window length == window length
    x = torch.arange(size, dtype=torch.float64).reshape(1, 1, size)
    bins = adaptive_bins(size, out)
    got = F.adaptive_avg_pool1d(x, out).flatten()
    starts = [(i * size) // out for i in range(out)]
    want = [sum(range(s, s + b)) / b for s, b in zip(starts, bins, strict=True)]
    assert got.tolist() == pytest.approx(want)
    assert adaptive_pool((1, 1, size, size), out).out_shape == (1, 1, out, out)


def test_global_pool() -> None:
    # 1024 channels of 7×7: 48 adds + 1 divide = 49 flops per channel
    gp = global_pool((1, 1024, 7, 7))
    assert gp.out_shape == (1, 1024, 1, 1)
    assert gp.flops == 1024 * 49
    assert global_pool((1, 1024, 7, 7), "max").flops == 1024 * 48
    assert adaptive_pool((1, 8, 9, 9), (None, 3)).out_shape == (1, 8, 9, 3)


# --- elementwise --------------------------------------------------------------------------------


def test_activation_table_drives_flops() -> None:
    shape = (1, 16, 10, 10)
    for kind, (per_element, rule) in ACTIVATION_FLOPS.items():
        assert activation(shape, kind).flops == per_element * 1600, rule
    assert activation(shape, "dropout").mem_bytes == 0
    assert activation(shape, "hardswish").mem_bytes == 2 * 1600 * 4
    with pytest.raises(InvalidArgumentError, match="unknown activation"):
        activation(shape, "swishy")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=0, max_size=4),
       st.lists(st.sampled_from([1, 1, 0]), min_size=0, max_size=4))
def test_binary_broadcast_matches_torch(shape: list[int], ones: list[int]) -> None:
    other = [1 if (i < len(ones) and ones[i] == 1) else d for i, d in enumerate(shape)]
    other = other[len(other) // 2:]  # fewer dims: broadcasting from the left
    out = meta(*shape) + meta(*other)
    c = binary(tuple(shape), tuple(other))
    assert c.out_shape == tuple(out.shape)
    assert c.flops == math.prod(out.shape)
    assert broadcast_shapes(shape, other) == tuple(out.shape)


def test_se_gate() -> None:
    g = gate((1, 96, 14, 14), (1, 96, 1, 1))
    assert g.flops == 96 * 14 * 14
    assert g.mem_read_bytes == (96 * 14 * 14 + 96) * 4
    with pytest.raises(InvalidArgumentError, match="without growing"):
        gate((1, 96, 1, 1), (1, 96, 14, 14))
    with pytest.raises(InvalidArgumentError, match="broadcast"):
        binary((2, 3), (4, 3))


def test_reduction() -> None:
    r = reduction((2, 64, 7, 7), (2, 3), mean=True, keepdim=True)
    assert r.out_shape == (2, 64, 1, 1)
    assert r.flops == 2 * 64 * 48 + 2 * 64  # 48 adds + 1 divide per (n, c)
    assert reduction((2, 5)).out_shape == ()
    # max along a dim writes values (4 bytes) and int64 indices (8) per output
    assert reduction((2, 5), [1], out_itemsize=12).mem_write_bytes == 2 * 12


@pytest.mark.parametrize("dims", [None, [1], [0, 2], [-1]])
@pytest.mark.parametrize("keepdim", [False, True])
def test_reductions_match_torch_shapes(dims: list[int] | None, keepdim: bool) -> None:
    x = meta(2, 3, 4)
    want = tuple(torch.var(x, dims, keepdim=keepdim).shape)
    assert reduction((2, 3, 4), dims, keepdim=keepdim).out_shape == want
    assert variance((2, 3, 4), dims, keepdim=keepdim).out_shape == want
    norm = torch.linalg.vector_norm(x, 2, dims, keepdim=keepdim)
    assert vector_norm((2, 3, 4), 2, dims, keepdim=keepdim).out_shape == tuple(norm.shape)


def test_variance_and_norm_rules() -> None:
    n_in, n_out = 24, 8  # (2, 3, 4) over dim 1
    assert variance((2, 3, 4), [1]).flops == 4 * n_in
    assert variance((2, 3, 4), [1], std=True).flops == 4 * n_in + n_out
    assert variance((2, 3, 4), [1], with_mean=True).mem_write_bytes == 2 * n_out * 4
    # term per element, the fold, a root per output (ord 2 and any other p)
    assert vector_norm((2, 3, 4), 2, [1]).flops == n_in + (n_in - n_out) + n_out
    assert vector_norm((2, 3, 4), 1, [1]).flops == n_in + (n_in - n_out)
    assert vector_norm((2, 3, 4), float("inf"), [1]).flops == n_in + (n_in - n_out)
    assert vector_norm((2, 3, 4), 3, [1]).flops == 2 * n_in + (n_in - n_out) + n_out


def test_scan_sort_topk() -> None:
    assert scan((2, 3, 4), 2).flops == 6 * 3  # 6 lines of 4: 3 adds each
    assert scan((2, 3, 4), 2, out_itemsize=12).mem_write_bytes == 24 * 12  # cummax
    assert sort((2, 3, 4), 2).flops == 6 * 4 * 2  # 4·⌈log₂ 4⌉ per line
    assert sort((2, 3, 4), 2).mem_write_bytes == 24 * (4 + 8)
    assert topk((2, 3, 4), 3, 2).out_shape == tuple(torch.topk(meta(2, 3, 4), 3, 2)[0].shape)
    assert topk((2, 3, 4), 3, 2).flops == 6 * 4 * 2  # 4·⌈log₂ 3⌉
    assert topk((2, 3, 4), 1, 2).flops == 6 * 4  # at least one compare per value
    with pytest.raises(InvalidArgumentError, match="exceeds"):
        topk((2, 3, 4), 5, 2)


def test_select_reads_the_mask_at_its_itemsize() -> None:
    s = select((1, 1, 8, 8), (), (2, 4, 8, 8))
    assert s.out_shape == (2, 4, 8, 8) and s.flops == 0
    assert s.mem_read_bytes == 64 * 1 + (1 + 512) * 4


# --- data movement ------------------------------------------------------------------------------


def test_concat_split_chunk_match_torch() -> None:
    a, b = meta(1, 58, 28, 28), meta(1, 58, 28, 28)
    c = concat([(1, 58, 28, 28), (1, 58, 28, 28)], dim=1)
    assert c.out_shape == tuple(torch.cat([a, b], 1).shape)
    assert c.mem_read_bytes == c.mem_write_bytes == 2 * 58 * 28 * 28 * 4
    for pieces, sizes in ((chunk((1, 117, 4, 4), 2), torch.chunk(meta(1, 117, 4, 4), 2, 1)),
                          (split((1, 10, 4), 3, 1), torch.split(meta(1, 10, 4), 3, 1)),
                          (split((1, 10, 4), [2, 8], 1), torch.split(meta(1, 10, 4), [2, 8], 1))):
        assert [p.out_shape for p in pieces] == [tuple(t.shape) for t in sizes]
        assert all(p.mem_bytes == 0 for p in pieces)  # views
    assert sum(p.mem_bytes for p in chunk((1, 8, 2, 2), 2, materialize=True)) == 2 * 32 * 4
    with pytest.raises(InvalidArgumentError, match="every dim except"):
        concat([(1, 3, 4), (1, 3, 5)], dim=1)


def test_channel_shuffle_reads_and_writes_once() -> None:
    s = channel_shuffle((1, 116, 28, 28), 2)
    assert s.flops == 0
    assert s.mem_bytes == 2 * 116 * 28 * 28 * 4
    with pytest.raises(InvalidArgumentError, match="divide"):
        channel_shuffle((1, 116, 28, 28), 3)


@pytest.mark.parametrize(
    ("mode", "kwargs", "flops_per_output"),
    [("nearest", {"scale_factor": 2}, 0), ("bilinear", {"scale_factor": 2}, 7),
     ("bicubic", {"size": (20, 30)}, 31), ("nearest", {"scale_factor": 1.5}, 0)],
)
def test_upsample_matches_torch(mode: str, kwargs: dict, flops_per_output: int) -> None:
    out = F.interpolate(meta(1, 4, 10, 12), mode=mode, **kwargs)
    c = upsample((1, 4, 10, 12), mode=mode, **kwargs)
    assert c.out_shape == tuple(out.shape)
    assert c.flops == math.prod(out.shape) * flops_per_output


def test_repeat_and_patches_match_torch() -> None:
    for shape, reps in (((3,), (2,)), ((2, 3), (1, 2, 2)), ((1, 3, 4, 4), (1, 2, 1, 1))):
        r = repeat(shape, reps)
        assert r.out_shape == tuple(meta(*shape).repeat(*reps).shape)
        assert r.mem_write_bytes == math.prod(r.out_shape) * 4
    x = meta(2, 3, 9, 7)
    for k, d, p, st_ in ((2, 1, 0, 2), (3, 2, 1, 1), ((2, 3), 1, (1, 0), (2, 1))):
        cols = F.unfold(x, k, d, p, st_)
        assert im2col((2, 3, 9, 7), k, d, p, st_).out_shape == tuple(cols.shape)
        back = col2im(tuple(cols.shape), (9, 7), k, d, p, st_)
        assert back.out_shape == (2, 3, 9, 7)
        ones = torch.ones(cols.shape)
        # F.fold of ones counts the patch elements landing on each output: their sum less the
        # outputs that receive any is the number of adds
        counts = F.fold(ones, (9, 7), k, d, p, st_)
        assert back.flops == int(counts.sum()) - int((counts > 0).sum())
    with pytest.raises(InvalidArgumentError, match="patches"):
        col2im((2, 12, 5), (9, 7), 2, stride=2)


def test_indexing_rules() -> None:
    x = meta(2, 3, 4, 4)
    idx = torch.tensor([0, 2], device="meta")
    for indices, expected in (([None, ((2,), False)], x[:, idx]),
                              ([((2,), False), ((2,), False)], x[idx, idx]),
                              ([((2, 1), False), None, ((3,), False)],
                               x[idx[:, None], :, torch.tensor([0, 1, 2], device="meta")])):
        assert indexed_elems((2, 3, 4, 4), indices) == expected.numel()
    assert indexed_elems((2, 3, 4, 4), [None, None, ((4, 4), True)]) == 2 * 3 * 16  # a bound
    g = gather((1, 128, 768), 128)
    assert g.mem_read_bytes == 128 * 8 + 128 * 768 * 4 and g.flops == 0
    assert scatter((4, 4), 4, 4, inplace=True).mem_bytes == (4 + 4) * 4 + 4 * 8
    assert scatter((4, 4), 4, 4, src_elems=1).mem_read_bytes == (16 + 1) * 4 + 4 * 8
    assert scatter((4, 4), 4, 4, accumulate=True).flops == 4
    assert embedding_bag(6, 2, 4, "mean", per_sample_weights=True).flops == 16 + 8 + 24
    assert nonzero((4, 4), 10).out_shape == (10, 2)
    with pytest.raises(InvalidArgumentError, match="mode"):
        embedding_bag(6, 2, 4, "median")


def test_pad_matches_torch() -> None:
    out = F.pad(meta(1, 3, 8, 8), (1, 2, 3, 4))
    assert pad((1, 3, 8, 8), (1, 2, 3, 4)).out_shape == tuple(out.shape)


# --- attention ----------------------------------------------------------------------------------


def test_attention() -> None:
    q = (1, 12, 197, 64)
    a = attention(q, q, q)
    scores = 12 * 197 * 197
    assert a.madds == 2 * scores * 64  # QKᵀ and PV
    assert a.flops == 2 * a.madds + scores * 6  # scale + softmax's 5
    assert a.out_shape == tuple(F.scaled_dot_product_attention(meta(*q), meta(*q),
                                                               meta(*q)).shape)
    fused = attention(q, q, q, fused=True)
    assert a.mem_bytes - fused.mem_bytes == 4 * scores * 4  # scores written+read twice
    masked = attention(q, q, q, (197, 197))
    assert masked.flops == a.flops + scores


def test_grouped_query_attention() -> None:
    q, kv = (2, 8, 5, 16), (2, 2, 7, 16)  # 8 query heads share 2 key/value heads
    a = attention(q, kv, kv, fused=True, enable_gqa=True)
    out = F.scaled_dot_product_attention(meta(*q), meta(*kv), meta(*kv), enable_gqa=True)
    assert a.out_shape == tuple(out.shape)
    assert a.madds == 2 * 2 * 8 * 5 * 7 * 16
    assert a.mem_read_bytes == (2 * 8 * 5 * 16 + 2 * 2 * 2 * 7 * 16) * 4  # K, V at their size
    with pytest.raises(InvalidArgumentError, match="broadcast"):
        attention(q, kv, kv)  # without enable_gqa the heads must broadcast
    with pytest.raises(InvalidArgumentError, match="divisor"):
        attention((2, 8, 5, 16), (2, 3, 7, 16), (2, 3, 7, 16), enable_gqa=True)


def test_fused_attention_blocks_are_sums_of_their_steps() -> None:
    x = (2, 3, 8)
    mha = multi_head_attention(x, x, x, 2)
    steps = 3 * linear(x, 8).madds + attention((2, 2, 3, 4), (2, 2, 3, 4),
                                               (2, 2, 3, 4)).madds + linear(x, 8).madds
    assert mha.madds == steps == 1824 and mha.out_shape == x
    assert mha.params == 4 * (8 * 8 + 8)
    layer = transformer_encoder_layer(x, 2, 16)
    assert layer.madds == 1824 + linear(x, 16).madds + linear((2, 3, 16), 8).madds
    assert layer.flops == (mha.flops + 2 * binary(x, x).flops + 2 * layer_norm(x, 8).flops
                           + linear(x, 16).flops + activation((2, 3, 16), "relu").flops
                           + linear((2, 3, 16), 8).flops)


@pytest.mark.parametrize("mode", list(RNN_GATES))
def test_recurrent_layer_is_its_products_and_its_cell(mode: str) -> None:
    gates = RNN_GATES[mode]
    layer = recurrent(mode, (3, 2, 5), 7, batch=2)
    assert layer.out_shape == (3, 2, 7)
    assert layer.madds == 6 * gates * 7 * (5 + 7)
    # the cell's elementwise work is the rest of the layer's flops
    assert layer.flops == 2 * layer.madds + rnn_cell(mode, 6, 7).flops
    proj = recurrent("lstm", (3, 2, 5), 7, batch=2, proj_size=3)
    assert proj.out_shape == (3, 2, 3)
    assert proj.madds == 6 * (4 * 7 * (5 + 3) + 7 * 3)  # hidden state of 3, projection 7→3
    with pytest.raises(InvalidArgumentError, match="proj_size"):
        recurrent("lstm", (3, 2, 5), 7, batch=2, proj_size=7)
    with pytest.raises(InvalidArgumentError, match="mode"):
        recurrent("transformer", (3, 2, 5), 7, batch=2)


def test_norm_without_a_bias() -> None:
    n = 2 * 16 * 25
    assert layer_norm((2, 16, 5, 5), (5, 5), bias=False).params == 25
    assert layer_norm((2, 16, 5, 5), (5, 5), bias=False).flops == 5 * n + 2 * 32 + n
    assert group_norm((2, 16, 5, 5), 4, bias=False).mem_read_bytes == (n + 16) * 4
    assert batch_norm((2, 16, 5, 5), bias=False).params == 16


def test_itemsize_of() -> None:
    assert [itemsize_of(d) for d in ("float32", "torch.float16", "bf16", "int8")] == [4, 2, 2, 1]
    with pytest.raises(InvalidArgumentError, match="unknown dtype"):
        itemsize_of("float13")
