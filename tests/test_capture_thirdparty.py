"""Capture problems the third-party corpus found (docs/benchmarks/corpus_holes.md), one
regression test each: data-dependent control flow on meta, fused attention on meta, the
shapes of ``nn.Linear`` on a sequence, a module registered twice, keyword-only inputs.
"""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import convcost
from convcost.capture import record
from convcost.capture.functions import cpu_runs_fused
from convcost.errors import CaptureError
from convcost.records.analysis import Analysis


def rows(a: Analysis) -> list[tuple[object, ...]]:
    return [(r.op, r.aten, r.in_shapes, r.out_shape, r.cost) for r in a.rows]


# --- 1. data-dependent control flow on meta -----------------------------------------------------


class SkipsCheckWhenTracing(nn.Module):
    """transformers' pattern (``if not is_tracing(x) and (x[:, -1] == 0).all():``): a check
    on values that a library skips for the tensors torch.compile traces with."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from torch._subclasses.fake_tensor import is_fake

        if not is_fake(x) and bool((x[:, -1] == 0).all()):
            return x
        return self.fc(x)


def test_a_check_skipped_while_tracing_runs_on_meta() -> None:
    model = SkipsCheckWhenTracing()
    weight = model.fc.weight
    a = convcost.analyze(model, (2, 4))
    assert [r.op for r in a.rows] == ["linear"]
    assert a.totals.madds == 2 * 4 * 3  # 24: the fc, which the fake run reached
    assert a.fake_tensors and a.to_dict()["fake_tensors"] is True
    assert "captured on fake tensors" in a.to_markdown()  # the reader is told
    assert not convcost.analyze(nn.Linear(4, 3), (2, 4)).fake_tensors
    assert model.fc.weight is weight and weight.device.type == "cpu"
    # the CPU runs the check too (eq, all: the ops a traced run skips), then the same fc
    cpu = convcost.analyze(model, (2, 4), device="cpu")  # randn input: its last column ≠ 0
    assert rows(cpu)[-1] == rows(a)[0]


def test_which_run_answered() -> None:
    x = torch.empty(2, 4, device="meta")
    assert record(SkipsCheckWhenTracing(), (x,), {}).fake
    assert not record(nn.Linear(4, 3), (x,), {}).fake  # the usual run: plain meta tensors


def test_a_value_that_is_truly_needed_still_points_to_cpu() -> None:
    class NeedsValues(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2 if x.sum().item() > 0 else x  # fake tensors have no value either

    with pytest.raises(CaptureError, match=r"cannot run on the meta device.*device='cpu'") as e:
        convcost.analyze(NeedsValues(), (1, 4))
    assert "\n" not in str(e.value)


def test_model_untouched_after_the_fake_run() -> None:
    model = SkipsCheckWhenTracing().train()
    params = {n: (p, p.device, p.requires_grad) for n, p in model.named_parameters()}
    convcost.analyze(model, (2, 4))
    assert model.training and model.fc.training
    assert {n: (p, p.device, p.requires_grad) for n, p in model.named_parameters()} == params
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def _llama(**config: int) -> nn.Module:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    transformers = pytest.importorskip("transformers")
    with torch.device("meta"):
        return transformers.LlamaForCausalLM(transformers.LlamaConfig(**config)).eval()


def test_llama_without_cache_runs_on_meta() -> None:
    # transformers' masking utils call Tensor.item() on plain meta tensors (no cache, no mask)
    model = _llama(hidden_size=256, intermediate_size=688, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2, vocab_size=1000)
    a = convcost.analyze(model, kwargs={"input_ids": torch.zeros(1, 64, dtype=torch.long),
                                        "use_cache": False})
    # per layer, 64 tokens: q, o 64·256·256 each, k, v 64·256·128 each = 12,582,912;
    # MLP 3·64·256·688 = 33,816,576; attention Q·Kᵀ + P·V 2·4 heads·64·64·64 = 2,097,152
    # -> 48,496,640; 2 layers + lm_head 64·256·1000 = 16,384,000 -> 113,377,280
    assert a.totals.madds == 113_377_280
    assert a.inputs == ((1, 64),)


def test_llama_7b_at_2048_tokens_runs_on_meta() -> None:
    model = _llama()  # the default LlamaConfig is LLaMA-7B
    a = convcost.analyze(model, kwargs={"input_ids": torch.zeros(1, 2048, dtype=torch.long),
                                        "use_cache": False})
    # per layer: q, k, v, o 4·2048·4096² = 137,438,953,472; MLP 3·2048·4096·11008 =
    # 277,025,390,592; attention 2·32·2048²·128 = 34,359,738,368 -> 448,824,082,432;
    # 32 layers = 14,362,370,637,824, + lm_head 2048·4096·32000 = 268,435,456,000
    assert a.totals.madds == 14_630_806_093_824  # = FlopCounterMode's flops / 2
    attention = [r for r in a.rows if r.op == "attention"]
    assert len(attention) == 32
    assert attention[0].in_shapes[:3] == ((1, 32, 2048, 128),) * 3


# --- 2. scaled_dot_product_attention: the same row on meta and on the CPU ----------------------


class Attention(nn.Module):
    def __init__(self, **options: object) -> None:
        super().__init__()
        self.options = options

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, **self.options)


def _qkv(*shapes: tuple[int, ...]) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(0)
    return tuple(torch.randn(s, generator=gen) for s in shapes)


QKV = ((1, 4, 8, 16),) * 3
CASES = {
    "plain": ({}, QKV, None),
    "causal": ({"is_causal": True}, QKV, None),
    "scale": ({"scale": 0.3}, ((2, 4, 8, 16),) * 3, None),
    "bool mask": ({}, QKV, torch.ones(8, 8, dtype=torch.bool)),
    "float mask": ({}, QKV, torch.zeros(1, 1, 8, 8)),
    "3-d (math on both)": ({}, ((4, 8, 16),) * 3, None),
    "head dims differ (math)": ({}, ((1, 4, 8, 16), (1, 4, 8, 16), (1, 4, 8, 32)), None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_attention_row_is_the_same_on_meta_and_cpu(case: str) -> None:
    options, shapes, mask = CASES[case]
    inputs = _qkv(*shapes) + ((mask,) if mask is not None else ())
    meta = convcost.analyze(Attention(**options), inputs=inputs)
    cpu = convcost.analyze(Attention(**options), inputs=inputs, device="cpu")
    assert rows(meta) == rows(cpu)


def test_fused_attention_counts_the_kernel_not_the_decomposition() -> None:
    a = convcost.analyze(Attention(is_causal=True), inputs=_qkv(*QKV))
    (row,) = a.rows
    assert (row.op, row.aten) == ("attention", "aten._scaled_dot_product_flash_attention_for_cpu")
    # Q·Kᵀ and P·V: 2 · (4 heads · 8 · 8) scores · 16 = 8,192 (a causal mask is not discounted)
    assert row.cost.madds == 8192
    # fused: reads Q, K, V (3 · 512 elements), writes the output (512); no 8×8 score matrix
    assert (row.cost.mem_read_bytes, row.cost.mem_write_bytes) == (3 * 512 * 4, 512 * 4)


def test_grouped_query_attention_records_the_same_node_on_both() -> None:
    q, k, v = _qkv((1, 4, 8, 16), (1, 2, 8, 16), (1, 2, 8, 16))
    model = Attention(enable_gqa=True)
    on = {dev: record(model, tuple(t.to(dev) for t in (q, k, v)), {}, device=dev).nodes
          for dev in ("meta", "cpu")}
    assert [(n.op, n.args, n.kwargs) for n in on["meta"]] == \
        [(n.op, n.args, n.kwargs) for n in on["cpu"]]
    (node,) = on["meta"]
    assert node.op == "aten._scaled_dot_product_flash_attention_for_cpu"
    assert [t.shape for t in node.tensors()] == [(1, 4, 8, 16), (1, 2, 8, 16), (1, 2, 8, 16)]


SHAPES = [
    ((1, 4, 8, 16), (1, 4, 8, 16), (1, 4, 8, 16), None, {}),
    ((1, 4, 8, 16), (1, 2, 8, 16), (1, 2, 8, 16), None, {"enable_gqa": True}),
    ((1, 4, 8, 16), (1, 3, 8, 16), (1, 3, 8, 16), None, {"enable_gqa": True}),  # 4 % 3
    ((1, 4, 8, 16), (1, 2, 8, 16), (1, 2, 8, 16), None, {}),  # GQA heads without the flag
    ((2, 4, 8, 16), (1, 4, 8, 16), (1, 4, 8, 16), None, {}),  # broadcast batch
    ((1, 4, 8, 16), (1, 4, 8, 16), (1, 4, 8, 16), (8, 8), {}),
    ((1, 4, 8, 16), (1, 4, 8, 16), (1, 4, 8, 16), (1, 4, 8, 8), {}),
    ((1, 4, 8, 16), (1, 4, 8, 16), (1, 4, 8, 16), (4, 8, 8), {}),  # 3-d mask
    ((1, 4, 8, 16), (1, 4, 8, 16), (1, 4, 8, 16), (2, 1, 8, 8), {}),  # mask batch ≠ 1, B
    ((1, 4, 8, 16), (1, 4, 8, 16), (1, 4, 8, 16), None, {"dropout_p": 0.5}),
    ((4, 8, 16), (4, 8, 16), (4, 8, 16), None, {}),
    ((1, 4, 8, 16), (1, 4, 6, 16), (1, 4, 6, 32), None, {}),
]


@pytest.mark.parametrize(("qs", "ks", "vs", "ms", "options"), SHAPES)
def test_fused_choice_is_the_cpus(qs: tuple[int, ...], ks: tuple[int, ...],
                                  vs: tuple[int, ...], ms: tuple[int, ...] | None,
                                  options: dict[str, object]) -> None:
    """cpu_runs_fused answers what torch's CPU dispatch does (the fused op or not)."""
    q, k, v = _qkv(qs, ks, vs)
    mask = torch.zeros(ms) if ms is not None else None
    try:
        nodes = record(Attention(**options), (q, k, v, mask), {}, device="cpu").nodes
    except CaptureError:
        nodes = []  # torch rejects the shapes itself: then it ran nothing fused either
    fused = any(n.op == "aten._scaled_dot_product_flash_attention_for_cpu" for n in nodes)
    expected = cpu_runs_fused(q, k, v, mask, float(options.get("dropout_p", 0.0)),
                              enable_gqa=bool(options.get("enable_gqa", False)))
    assert expected == fused
    # transposed last dims (stride ≠ 1) go to the math path too
    if qs == (1, 4, 8, 16) == ks and not options and ms is None:
        qt = q.transpose(-1, -2).contiguous().transpose(-1, -2)
        assert not cpu_runs_fused(qt, k, v)


# --- 3. nn.Linear on a sequence keeps its shapes ------------------------------------------------


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_linear_on_a_sequence_keeps_its_shapes(device: str) -> None:
    seq = convcost.analyze(nn.Linear(16, 8), (2, 5, 16), device=device)
    flat = convcost.analyze(nn.Linear(16, 8), (10, 16), device=device)
    (row,) = seq.rows
    assert (row.op, row.in_shapes, row.out_shape) == ("linear", ((2, 5, 16),), (2, 5, 8))
    assert row.cost == flat.rows[0].cost  # 10·16·8 = 1,280 madds either way
    assert row.cost.madds == 1280
    no_bias = convcost.analyze(nn.Linear(16, 8, bias=False), (2, 3, 5, 16), device=device)
    (row,) = no_bias.rows
    assert (row.aten, row.in_shapes, row.out_shape) == ("aten.mm", ((2, 3, 5, 16),),
                                                        (2, 3, 5, 8))
    assert row.cost.madds == 2 * 3 * 5 * 16 * 8  # 3,840


# --- 4. a module registered under two names -----------------------------------------------------


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("built_on", ["cpu", "meta"])
def test_a_module_registered_twice_keeps_its_tensors(device: str, built_on: str) -> None:
    with torch.device(built_on):
        lin, bn = nn.Linear(4, 4), nn.BatchNorm1d(4)
        model = nn.Sequential(lin, bn, nn.ReLU(), lin, bn)
    before = {n: (t, t.device, t.dtype) for n, t in (
        *model.named_parameters(remove_duplicate=False),
        *model.named_buffers(remove_duplicate=False))}
    a = convcost.analyze(model, (2, 4), device=device, dtype="float16")
    after = {n: (t, t.device, t.dtype) for n, t in (
        *model.named_parameters(remove_duplicate=False),
        *model.named_buffers(remove_duplicate=False))}
    assert after == before  # the same objects, on their device, at their dtype
    assert len(after) == 2 * (2 + 5)  # linear weight, bias; bn weight, bias, 3 buffers; twice
    assert a.totals.params == 4 * 4 + 4 + 2 * 4  # 28: each tensor once
    assert a.totals.madds == 2 * (2 * 4 * 4)  # the linear twice: 64


def test_a_raise_inside_a_layer_leaves_torch_functions_as_they_were() -> None:
    # the Conv2d runs with torch functions disabled (recorder._PLAIN_LEAVES) and raises there
    with pytest.raises(CaptureError, match="layer '1' Conv2d"):
        convcost.analyze(nn.Sequential(nn.Linear(4, 4), nn.Conv2d(3, 8, 3)), (1, 4))
    assert torch._C._is_torch_function_enabled()
    assert torch.overrides._get_current_function_mode_stack() == []


# --- 5. keyword-only inputs ---------------------------------------------------------------------


def test_keyword_inputs_alone_are_the_input() -> None:
    a = convcost.analyze(nn.Linear(4, 3), kwargs={"input": torch.zeros(2, 4)})
    assert a.inputs == ((2, 4),) and a.totals.madds == 2 * 4 * 3  # 24

    class Pair(nn.Module):
        def forward(self, *, pair: list[torch.Tensor]) -> torch.Tensor:
            return pair[0] + pair[1]

    a = convcost.analyze(Pair(), kwargs={"pair": [torch.zeros(3), torch.zeros(3)]})
    assert a.inputs == ((3,), (3,)) and [r.op for r in a.rows] == ["add"]
