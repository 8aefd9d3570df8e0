"""Op coverage (issue 12): each op the third-party corpus ran, in a minimal model, costed by
its rule (``docs/conventions.md``) on the meta device and on the CPU; recurrent layers, fused
attention, zero-size tensors, grouped-query attention and norms without a bias.

Every number is derived next to it. ``x`` is (1, 3, 4, 4) float32 unless a test says
otherwise: 48 elements, 192 bytes; int64 indices are 8 bytes, bool masks 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

import convcost
from convcost.engine import REGISTRY, Counted, Registration
from convcost.graph import Node, TensorInfo
from convcost.records.analysis import Analysis

DEVICES = ("meta", "cpu")
X = (1, 3, 4, 4)


class Fn(nn.Module):
    """``fn(self, *inputs)``, with two buffers: ``idx`` = [0, 2] and ``mask``, a 4×4 upper
    triangle (10 true)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        super().__init__()
        self.fn = fn
        self.register_buffer("idx", torch.tensor([0, 2]))
        self.register_buffer("mask", torch.ones(4, 4, dtype=torch.bool).triu())

    def forward(self, *x: torch.Tensor) -> Any:
        return self.fn(self, *x)


def only(a: Analysis, op: str) -> Any:
    """The one row labelled ``op``."""
    found = [r for r in a.rows if r.op == op]
    assert len(found) == 1, [r.op for r in a.rows]
    return found[0]


def analyze(fn: Callable[..., Any], device: str, shape: Any = X) -> Analysis:
    a = convcost.analyze(Fn(fn), shape, device=device)
    assert a.unsupported == {}
    return a


def fcm_madds(model: nn.Module, *inputs: torch.Tensor) -> int:
    """PyTorch's FlopCounterMode flops / 2 (its multiply-adds) of one forward pass."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.eval()(*inputs)
    return counter.get_total_flops() // 2


# --- lookups and bags ---------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_embedding_reads_the_rows_it_looks_up(device: str) -> None:
    a = convcost.analyze(nn.Embedding(10, 4), inputs=torch.zeros(1, 3, dtype=torch.long),
                         device=device)
    r = only(a, "embedding")
    assert r.cost.params == 10 * 4  # the table, owned by its lookup
    assert r.out_shape == (1, 3, 4) and r.cost.flops == 0
    assert r.cost.mem_read_bytes == 3 * 8 + 3 * 4 * 4  # 3 indices + 3 rows of 4, not the table
    assert r.cost.mem_write_bytes == 3 * 4 * 4


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("mode", "flops"), [("sum", (6 - 2) * 4), ("mean", (6 - 2) * 4 + 2 * 4),
                                             ("max", (6 - 2) * 4)])
def test_embedding_bag_reduces_each_bag(device: str, mode: str, flops: int) -> None:
    # 2 bags of 3 indices: 6 rows of 4 gathered, folded into 2 (adds or compares), a mean
    # divides each of the 2·4 outputs
    a = convcost.analyze(nn.EmbeddingBag(10, 4, mode=mode),
                         inputs=torch.zeros(2, 3, dtype=torch.long), device=device)
    assert a.unsupported == {}
    r = only(a, "embedding_bag")
    assert r.cost.flops == flops
    assert r.cost.mem_read_bytes == 6 * 8 + 2 * 8 + 6 * 4 * 4  # indices, offsets, the rows
    assert r.cost.mem_write_bytes == 2 * 4 * 4
    assert r.cost.params == 40


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("op", "fn"), [
    ("index", lambda s, x: x[:, s.idx]),
    ("index_select", lambda s, x: x.index_select(1, s.idx)),
])
def test_advanced_indexing_gathers(device: str, op: str, fn: Callable[..., Any]) -> None:
    r = only(analyze(fn, device), op)
    assert r.out_shape == (1, 2, 4, 4) and r.cost.flops == 0
    assert r.cost.mem_read_bytes == 2 * 8 + 32 * 4  # 2 indices, the 32 elements copied
    assert r.cost.mem_write_bytes == 32 * 4


@pytest.mark.parametrize("device", DEVICES)
def test_gather_reads_one_index_per_output(device: str) -> None:
    r = only(analyze(lambda s, x: torch.gather(x, 1, s.idx.view(1, 2, 1, 1).expand(1, 2, 4, 4)),
                     device), "gather")
    assert r.cost.mem_read_bytes == 32 * 8 + 32 * 4  # an index per output element
    assert r.cost.mem_write_bytes == 32 * 4


def test_boolean_mask_indexing_and_nonzero_on_the_cpu() -> None:
    # iSQRT-COV's upper-triangle selection: the mask's 10 true positions per (n, c) plane
    r = only(analyze(lambda s, x: x[:, :, s.mask], "cpu"), "index")
    assert r.out_shape == (1, 3, 10)
    assert r.cost.mem_read_bytes == 16 * 1 + 30 * 4  # the 4×4 bool mask, 30 values
    ones = convcost.analyze(Fn(lambda s, x: torch.nonzero(x > 0)), inputs=torch.ones(X),
                            device="cpu")
    r = only(ones, "nonzero")
    assert r.out_shape == (48, 4)  # every element of the all-ones input
    assert r.cost.flops == 48  # one compare per element
    assert r.cost.mem_read_bytes == 48 * 1  # the bool input
    assert r.cost.mem_write_bytes == 48 * 4 * 8  # 4 int64 coordinates each


# --- writes at indices --------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_scatters(device: str) -> None:
    index = lambda s: s.idx.view(1, 2, 1, 1).expand(1, 2, 4, 4)  # noqa: E731 - 32 indices
    # out of place: x copied (48 read, 48 written), 32 source elements read, and with
    # accumulation the 32 destinations read and added to
    r = only(analyze(lambda s, x: x.scatter_add(1, index(s), x[:, :2]), device), "scatter_add")
    assert r.cost.flops == 32
    assert r.cost.mem_read_bytes == (48 + 32 + 32) * 4 + 32 * 8
    assert r.cost.mem_write_bytes == 48 * 4
    r = only(analyze(lambda s, x: x.scatter(1, index(s), 1.0), device), "scatter")
    assert r.cost.flops == 0 and r.cost.mem_read_bytes == 48 * 4 + 32 * 8  # a scalar source
    r = only(analyze(lambda s, x: x.index_add(1, s.idx, x[:, :2]), device), "index_add")
    assert r.cost.flops == 2 * 16  # 2 indices, a 1×4×4 slice each
    assert r.cost.mem_read_bytes == (48 + 32 + 32) * 4 + 2 * 8


@pytest.mark.parametrize("device", DEVICES)
def test_index_put_in_place_writes_what_it_sets(device: str) -> None:
    def fill(s: Fn, x: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        y[:, s.idx] = 0.0  # index_put_: 1·2·4·4 = 32 elements set
        return y

    r = only(analyze(fill, device), "index_put")
    assert r.cost.mem_read_bytes == 2 * 8 + 1 * 4  # the indices and the 0-d value, once
    assert r.cost.mem_write_bytes == 32 * 4  # not the whole 48


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("op", "fn"), [
    ("masked_fill", lambda s, x: x.masked_fill(s.mask, 0.0)),  # Swin's window mask
    ("where", lambda s, x: torch.where(s.mask, x, 0.0)),
])
def test_masked_fill_is_a_select(device: str, op: str, fn: Callable[..., Any]) -> None:
    r = only(analyze(fn, device), op)
    assert r.cost.flops == 0 and r.out_shape == X
    assert r.cost.mem_read_bytes == 16 * 1 + (48 + 1) * 4  # bool mask, x, the scalar
    assert r.cost.mem_write_bytes == 48 * 4


# --- reductions, scans, selections --------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_max_along_a_dim_writes_values_and_indices(device: str) -> None:
    # CBAM's spatial gate: 16 outputs, each folding 3 channels (2 compares)
    r = only(analyze(lambda s, x: torch.max(x, dim=1, keepdim=True)[0], device), "max")
    assert r.out_shape == (1, 1, 4, 4)
    assert r.cost.flops == 48 - 16
    assert r.cost.mem_write_bytes == 16 * (4 + 8)
    r = only(analyze(lambda s, x: torch.max(x), device), "max")  # no dim: one value
    assert r.cost.flops == 47 and r.cost.mem_write_bytes == 4
    r = only(analyze(lambda s, x: x.argmin(1), device), "argmin")
    assert r.cost.flops == 32 and r.cost.mem_write_bytes == 16 * 8


@pytest.mark.parametrize("device", DEVICES)
def test_all_any(device: str) -> None:
    a = analyze(lambda s, x: ((x > 0).all(), (x > 0).any(1)), device)
    r = only(a, "all")
    assert r.cost.flops == 47 and r.cost.mem_read_bytes == 48 and r.cost.mem_write_bytes == 1
    r = only(a, "any")
    assert r.cost.flops == 32 and r.cost.mem_write_bytes == 16


@pytest.mark.parametrize("device", DEVICES)
def test_variance_and_norms(device: str) -> None:
    a = analyze(lambda s, x: (x.var(1), x.std(1), torch.var_mean(x, 1)), device)
    var, std, var_mean = (only(a, op) for op in ("var", "std", "var_mean"))
    assert var.cost.flops == 4 * 48  # mean, subtract, square, accumulate, divide: 4 per element
    assert std.cost.flops == 4 * 48 + 16  # + a square root per output
    assert var_mean.cost.mem_write_bytes == 2 * 16 * 4  # variance and mean
    # F.normalize (Swin V2) and torch.norm (ConvNeXt V2's GRN) run linalg_vector_norm: ord 2
    # is a square per element, 32 adds folding 3 channels into 16, a root per output: 2·48
    a = analyze(lambda s, x: (F.normalize(x, dim=1), torch.norm(x, dim=1),
                              torch.linalg.vector_norm(x, 1, dim=1)), device)
    norms = [r for r in a.rows if r.op == "vector_norm"]
    assert [r.cost.flops for r in norms] == [2 * 48, 2 * 48, 2 * 48 - 16]  # ord 1: no root
    assert [r.out_shape for r in norms] == [(1, 1, 4, 4), (1, 4, 4), (1, 4, 4)]


@pytest.mark.parametrize("device", DEVICES)
def test_scans_sort_topk(device: str) -> None:
    a = analyze(lambda s, x: (x.cumsum(1), x.cumprod(1), x.sort(1), x.topk(2, 1)), device)
    assert only(a, "cumsum").cost.flops == 16 * (3 - 1)  # 16 lines of 3
    assert only(a, "cumprod").cost.flops == 16 * (3 - 1)
    sort = only(a, "sort")
    assert sort.cost.flops == 16 * 3 * 2  # 3·⌈log₂ 3⌉ compares per line
    assert sort.cost.mem_write_bytes == 48 * (4 + 8)  # values and indices
    top = only(a, "topk")
    assert top.out_shape == (1, 2, 4, 4)
    assert top.cost.flops == 16 * 3 * 1  # 3·⌈log₂ 2⌉
    assert top.cost.mem_write_bytes == 32 * (4 + 8)


# --- fills, copies, patches ---------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_repeat_eye_triu_roll(device: str) -> None:
    a = analyze(lambda s, x: (x.repeat(1, 2, 1, 1), x + torch.eye(4, device=x.device), x.triu(),
                              torch.roll(x, (1, 1), (2, 3)), x.flip(1)), device)
    rep = only(a, "repeat")
    assert rep.out_shape == (1, 6, 4, 4)
    assert (rep.cost.mem_read_bytes, rep.cost.mem_write_bytes) == (48 * 4, 96 * 4)
    assert only(a, "fill").cost.mem_write_bytes == 16 * 4  # the 4×4 identity written
    for op in ("triu", "roll", "flip"):  # copies: 48 read, 48 written, no arithmetic
        r = only(a, op)
        assert (r.cost.flops, r.cost.mem_read_bytes, r.cost.mem_write_bytes) == (0, 192, 192)


@pytest.mark.parametrize("device", DEVICES)
def test_unfold_and_fold(device: str) -> None:
    # MobileViT V2: non-overlapping 2×2 patches there and back, a pure copy both ways
    a = analyze(lambda s, x: F.fold(F.unfold(x, 2, stride=2), (4, 4), 2, stride=2), device)
    patches, back = only(a, "im2col"), only(a, "col2im")
    assert patches.out_shape == (1, 12, 4) and back.out_shape == X
    assert patches.cost.flops == back.cost.flops == 0
    assert patches.cost.mem_bytes == back.cost.mem_bytes == 2 * 48 * 4
    # overlapping 2×2 patches at stride 1 with padding 1: 25 patches of 3·4 values; F.fold of
    # ones counts how many land on each of the 48 outputs, so its sum less 48 is the adds
    overlapping = lambda s, c: F.fold(c, (4, 4), 2, padding=1)  # noqa: E731
    adds = int(F.fold(torch.ones(1, 12, 25), (4, 4), 2, padding=1).sum()) - 48
    assert only(analyze(overlapping, device, (1, 12, 25)), "col2im").cost.flops == adds == 144


# --- recurrent layers ---------------------------------------------------------------------------


def lstm_madds(rows: int, i: int, h: int) -> int:
    return rows * 4 * h * (i + h)  # the 4 gates' products with x (I) and h (H), per row


@pytest.mark.parametrize(("module", "madds", "flops"), [
    # 3 steps × 2 samples = 6 rows; LSTM flops per row and unit: 22 elementwise + 8 bias adds
    (nn.LSTM(5, 7), lstm_madds(6, 5, 7), 2 * lstm_madds(6, 5, 7) + 6 * 7 * (22 + 8)),
    # GRU: 3 gates, 16 elementwise + 6 bias; RNN: 1 gate, 2 elementwise + 2 bias
    (nn.GRU(5, 7), 6 * 3 * 7 * (5 + 7), 2 * 6 * 3 * 7 * 12 + 6 * 7 * (16 + 6)),
    (nn.RNN(5, 7), 6 * 7 * (5 + 7), 2 * 6 * 7 * 12 + 6 * 7 * (2 + 2)),
    # 2 layers, both directions: layer 2 reads both directions' 2·7 outputs
    (nn.LSTM(5, 7, num_layers=2, bidirectional=True),
     2 * lstm_madds(6, 5, 7) + 2 * lstm_madds(6, 14, 7),
     2 * (2 * lstm_madds(6, 5, 7) + 2 * lstm_madds(6, 14, 7)) + 4 * 6 * 7 * 30),
])
def test_recurrent_layers_on_meta_and_cpu(module: nn.Module, madds: int, flops: int) -> None:
    meta = convcost.analyze(module, (3, 2, 5))
    cpu = convcost.analyze(module, (3, 2, 5), device="cpu")  # nn.LSTM: aten.mkldnn_rnn_layer
    for a in (meta, cpu):
        assert a.unsupported == {}
        assert (a.totals.madds, a.totals.flops) == (madds, flops)
        assert a.totals.params == sum(p.numel() for p in module.parameters())
        assert "unused_params" not in {r.op for r in a.rows}  # the fused kernel read them
    with torch.device("meta"):
        reference = type(module)(5, 7, num_layers=module.num_layers,
                                 bidirectional=module.bidirectional)
    assert fcm_madds(reference, torch.empty(3, 2, 5, device="meta")) == madds


@pytest.mark.parametrize("device", DEVICES)
def test_packed_sequences(device: str) -> None:
    class Packed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(5, 7)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            packed = nn.utils.rnn.pack_padded_sequence(x, torch.tensor([3, 2]))
            return nn.utils.rnn.pad_packed_sequence(self.lstm(packed)[0])[0]

    a = convcost.analyze(Packed(), (3, 2, 5), device=device)
    assert a.unsupported == {}
    r = only(a, "pack_sequence")
    assert r.out_shape == (5, 5)  # lengths 3 and 2: 5 valid rows of 5
    assert r.cost.mem_read_bytes == 2 * 8 + 25 * 4 and r.cost.mem_write_bytes == 25 * 4
    assert a.totals.madds == lstm_madds(5, 5, 7)  # only the 5 valid rows run


def test_lstm_on_the_cpu_is_one_fused_row_per_layer_and_direction() -> None:
    a = convcost.analyze(nn.LSTM(5, 7, num_layers=2, bidirectional=True), (3, 2, 5),
                         device="cpu")
    rows = [r for r in a.rows if r.op == "lstm"]
    assert [r.cost.madds for r in rows] == [lstm_madds(6, 5, 7)] * 2 + [lstm_madds(6, 14, 7)] * 2
    first = rows[0]
    # one kernel: the sequence, h0, c0, the weights and biases read once; gates stay inside
    weights = 4 * 7 * (5 + 7) + 2 * 4 * 7
    assert first.cost.mem_read_bytes == (6 * 5 + 2 * 7 + 2 * 7 + weights) * 4
    assert first.cost.mem_write_bytes == (6 * 7 + 2 * 7 + 2 * 7) * 4  # output, h_n, c_n


def _t(*shape: int) -> TensorInfo:
    return TensorInfo(shape)


def _count(op: str, *args: Any, outputs: tuple[TensorInfo, ...] = (_t(1),)) -> Counted:
    reg = REGISTRY.lookup(op)
    assert isinstance(reg, Registration)
    return reg(Node(0, op, "", "", 1, args, {}, outputs))


def test_the_gpu_kernels_cost_what_the_cpu_runs() -> None:
    """``_cudnn_rnn`` (nn.LSTM/GRU/RNN on CUDA) and ``_thnn_fused_*_cell`` (LSTMCell/GRUCell on
    CUDA), given the argument shapes of their schemas, against the meta decomposition."""
    lstm = nn.LSTM(5, 7, num_layers=2, bidirectional=True)
    meta = convcost.analyze(lstm, (3, 2, 5))
    weights = [_t(*p.shape) for p in lstm._flat_weights]  # w_ih, w_hh, b_ih, b_hh per layer/dir
    # (input, weight[], weight_stride0, weight_buf, hx, cx, mode=2 LSTM, hidden, proj,
    #  layers, batch_first, dropout, train, bidirectional, batch_sizes, dropout_state)
    cudnn = _count("aten._cudnn_rnn", _t(3, 2, 5), weights, 4, None, _t(4, 2, 7), _t(4, 2, 7),
                   2, 7, 0, 2, False, 0.0, False, True, [], None)
    assert cudnn.label == "lstm" and cudnn.cost.out_shape == (3, 2, 14)
    assert (cudnn.cost.madds, cudnn.cost.flops) == (meta.totals.madds, meta.totals.flops)
    gru = convcost.analyze(nn.GRU(5, 7), (3, 2, 5))
    gru_weights = [_t(21, 5), _t(21, 7), _t(21), _t(21)]
    cudnn = _count("aten._cudnn_rnn", _t(3, 2, 5), gru_weights, 4, None, _t(1, 2, 7), None,
                   3, 7, 0, 1, False, 0.0, False, False, [], None)
    assert (cudnn.label, cudnn.cost.madds, cudnn.cost.flops) == (
        "gru", gru.totals.madds, gru.totals.flops)
    # the fused cells get both gate products from two bias-free products of their own: the
    # cell's flops are the rest of what the meta decomposition counts
    for cell, mode, gates in ((nn.LSTMCell(5, 7), "lstm", 28), (nn.GRUCell(5, 7), "gru", 21)):
        ref = convcost.analyze(cell, (2, 5))
        fused = _count(f"aten._thnn_fused_{mode}_cell", _t(2, gates), _t(2, gates), _t(2, 7),
                       _t(gates), _t(gates))
        assert fused.label == f"{mode}_cell" and fused.cost.madds == 0
        assert fused.cost.flops == ref.totals.flops - 2 * ref.totals.madds


# --- fused attention ----------------------------------------------------------------------------


class FusedMHA(nn.Module):
    """nn.MultiheadAttention's fast path (CPU, eval, no grad) called directly."""

    def __init__(self, need_weights: bool) -> None:
        super().__init__()
        self.mha = nn.MultiheadAttention(8, 2, batch_first=True)
        self.need_weights = need_weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.mha
        return torch._native_multi_head_attention(
            x, x, x, 8, 2, m.in_proj_weight, m.in_proj_bias, m.out_proj.weight, m.out_proj.bias,
            None, self.need_weights, True, None)[0]


@pytest.mark.parametrize("need_weights", [False, True])
def test_native_multi_head_attention(need_weights: bool) -> None:
    # (2, 3, 8), 2 heads of 4: Q, K, V projections 3·(6·8·8), QKᵀ and PV 2·(2·2·3·3·4), the
    # output projection 6·8·8
    madds = 3 * 6 * 8 * 8 + 2 * (2 * 2 * 3 * 3 * 4) + 6 * 8 * 8
    for device in DEVICES:
        a = convcost.analyze(FusedMHA(need_weights), (2, 3, 8), device=device)
        assert a.unsupported == {}
        r = only(a, "multi_head_attention")
        assert r.cost.madds == madds == 1824
        assert r.cost.params == 4 * 8 * 8 + 4 * 8  # in_proj and out_proj, weights and biases
    with torch.device("meta"):
        plain = nn.MultiheadAttention(8, 2, batch_first=True)
    x = torch.empty(2, 3, 8, device="meta")  # on meta the module runs op by op
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        plain(x, x, x, need_weights=need_weights)
    assert counter.get_total_flops() // 2 == madds
    fused = only(convcost.analyze(FusedMHA(False), (2, 3, 8)), "multi_head_attention").cost
    weights = only(convcost.analyze(FusedMHA(True), (2, 3, 8)), "multi_head_attention").cost
    # returning the weights averaged over the heads: the 36 scores written and read twice
    # (unfused attention), then the mean over 2 heads reads them and writes 2·3·3, with 18
    # adds and 18 divides
    assert weights.flops - fused.flops == 2 * 2 * 3 * 3
    assert weights.mem_bytes - fused.mem_bytes == (4 * 36 + 36 + 18) * 4


def test_native_transformer_encoder_layer() -> None:
    class Fused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            lay, att = self.layer, self.layer.self_attn
            return torch._transformer_encoder_layer_fwd(
                x, 8, 2, att.in_proj_weight, att.in_proj_bias, att.out_proj.weight,
                att.out_proj.bias, False, False, 1e-5, lay.norm1.weight, lay.norm1.bias,
                lay.norm2.weight, lay.norm2.bias, lay.linear1.weight, lay.linear1.bias,
                lay.linear2.weight, lay.linear2.bias, None, None)

    fused = convcost.analyze(Fused(), (2, 3, 8), device="cpu")
    row = only(fused, "transformer_encoder_layer")
    assert row.cost.madds == 1824 + 2 * (6 * 8 * 16)  # attention + the 8→16→8 feed-forward
    # the same layer op by op (SDPA fused on the CPU) costs the same arithmetic
    plain = convcost.analyze(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), (2, 3, 8),
                             device="cpu")
    assert (plain.totals.madds, plain.totals.flops) == (row.cost.madds, row.cost.flops)
    assert fused.totals.params == plain.totals.params == 600


@pytest.mark.parametrize("device", DEVICES)
def test_grouped_query_attention(device: str) -> None:
    # 4 query heads share 2 key/value heads: QKᵀ and PV with the query's heads, 2·4·8·8·16
    a = analyze(lambda s, q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                device, [(1, 4, 8, 16), (1, 2, 8, 16), (1, 2, 8, 16)])
    assert a.totals.madds == 2 * 4 * 8 * 8 * 16 == 8192
    assert a.totals.madds == sdpa_flop_count((1, 4, 8, 16), (1, 4, 8, 16), (1, 4, 8, 16)) // 2


# --- zero-size tensors --------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_an_empty_kv_cache_is_dropped_from_cat(device: str) -> None:
    # transformers' DynamicLayer starts with torch.tensor([]); torch.cat skips 1-d empties
    r = only(analyze(lambda s, x: torch.cat([x.new_empty(0), x], dim=-2), device), "cat")
    assert r.out_shape == X
    assert (r.cost.mem_read_bytes, r.cost.mem_write_bytes) == (48 * 4, 48 * 4)


@pytest.mark.parametrize("device", DEVICES)
def test_zero_size_tensors_cost_nothing(device: str) -> None:
    a = analyze(lambda s, x: torch.relu(x[:0]) + torch.cat([x[:, :0], x[:, :0]], 1).sum(),
                device)
    assert a.totals.base() == convcost.formulas.Cost()
    conv = convcost.analyze(nn.Conv2d(3, 4, 3), inputs=torch.zeros(0, 3, 8, 8), device=device)
    r = only(conv, "conv2d")  # the label and kind it has on a non-empty batch
    assert r.conv_kind == "standard" and r.out_shape == (0, 4, 6, 6)
    assert (r.cost.madds, r.cost.flops, r.cost.mem_bytes) == (0, 0, 0)
    assert r.cost.params == 3 * 4 * 9 + 4  # parameters are the model's, even unused


# --- norms --------------------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_layer_norm_without_a_bias(device: str) -> None:
    # (2, 3, 8): 48 elements in 6 rows; 5 per element, 2 per row, and the weight's multiply
    # (the bias's add only with a bias)
    r = only(convcost.analyze(nn.LayerNorm(8, bias=False), (2, 3, 8), device=device),
             "layer_norm")
    assert r.cost.params == 8
    assert r.cost.flops == 5 * 48 + 2 * 6 + 48
    assert r.cost.mem_read_bytes == (48 + 8) * 4
    both = only(convcost.analyze(nn.LayerNorm(8), (2, 3, 8), device=device), "layer_norm")
    assert (both.cost.params, both.cost.flops) == (16, 5 * 48 + 2 * 6 + 2 * 48)


@pytest.mark.parametrize("device", DEVICES)
def test_instance_norm_owns_its_affine(device: str) -> None:
    # F.instance_norm repeats weight and bias per sample (2·3 = 6 each), then runs batch_norm
    # over (1, 6, 4, 4) with batch statistics: 5·96 + 2·6 + 2·96 flops
    a = convcost.analyze(nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 4), device=device)
    assert a.unsupported == {}
    assert [r.op for r in a.rows] == ["repeat", "repeat", "batch_norm"]
    bn = only(a, "batch_norm")
    assert bn.cost.params == 6  # the 3 weights and 3 biases, read through their copies
    assert bn.cost.flops == 5 * 96 + 2 * 6 + 2 * 96
    assert all(r.cost.params == 0 for r in a.rows if r.op == "repeat")
    assert a.totals.params == 6
