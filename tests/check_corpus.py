"""The third-party corpus (``tests/corpus``) for ``convcost check``: every entry built on the
CPU with random weights (the check runs each model for real, seven times), at a size that
keeps one check bounded.

- **pytorchcv, efficientnet-pytorch**: the corpus builders on the CPU, at the model's own
  resolution unless its analysis there is above :data:`BUDGET` multiply-adds; then the
  largest smaller multiple of 32 under the budget at which the model still gives the same
  output shape (fixed pooling windows need their size).
- **transformers**: the same model classes, inputs and cache modes (``nocache``, ``prefill``,
  ``decode``) as the corpus, from small configs (2 layers, width 64-256, 32-64 tokens, 32-64
  pixel images): the corpus builds the full-size ones on meta, which cannot run for real.
  ``llama-7b`` keeps LLaMA-7B's structure (no grouped-query attention) at that small width.

Shared by ``tests/test_check_corpus.py`` (the ``fast`` subset) and
``benchmarks/bench_check_corpus.py`` (everything).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from corpus.models import (
    CORPUS,
    Entry,
    Inputs,
    _decode,
    _hf,
    _pixels,
    _pytorchcv,
    _t5_tokens,
    _tokens,
)
from torch import nn

BUDGET = 2_000_000_000  # multiply-adds of one forward pass, at most (8 passes per check)


@dataclass(frozen=True)
class CheckEntry:
    name: str
    family: str
    build: Callable[[], nn.Module]  # on the CPU, random weights, eval mode
    make_inputs: Callable[[nn.Module], Inputs]
    fast: bool = False
    note: str = ""


def _sized(size: tuple[int, int], note: str = "") -> Callable[[nn.Module], Inputs]:
    def make(model: nn.Module) -> Inputs:
        x = torch.randn((1, 3, *size), generator=torch.Generator().manual_seed(0))
        return Inputs(args=(x,), spec=f"1×3×{size[0]}×{size[1]} float32"
                      + (f" ({note})" if note else ""))

    return make


def _image_size(entry: Entry) -> tuple[tuple[int, int], str]:
    """The model's own size, or the largest multiple of 32 below it within the budget that
    gives the same output (analysed on meta)."""
    import convcost

    meta = entry.build()
    own = tuple(getattr(meta, "in_size", (224, 224)))
    if entry.family.startswith("efficientnet-pytorch"):
        from efficientnet_pytorch import EfficientNet

        own = (EfficientNet.get_image_size(entry.name),) * 2

    def analyse(size: tuple[int, ...]) -> Any:
        try:
            return convcost.analyze(meta, (1, 3, *size))
        except Exception:  # a size the network cannot take
            return None

    full = analyse(own)
    if full is None or full.totals.madds <= BUDGET:
        return (own[0], own[1]), ""
    side = own[0] - own[0] % 32
    while side >= 64:
        side -= 32
        size = (side, side * own[1] // own[0])
        got = analyse(size)
        if got is not None and got.outputs == full.outputs and got.totals.madds <= BUDGET:
            return size, (f"its own {own[0]}×{own[1]}: {full.totals.madds / 1e9:.1f} G "
                          "multiply-adds")
    return (own[0], own[1]), ""


def _vision_input_entry(entry: Entry) -> CheckEntry:
    def build() -> nn.Module:
        if entry.family.startswith("efficientnet-pytorch"):
            from efficientnet_pytorch import EfficientNet

            torch.manual_seed(0)
            return EfficientNet.from_name(entry.name).eval()
        torch.manual_seed(0)
        return _pytorchcv(entry.name, "cpu")()

    size_note: dict[str, Any] = {}

    def make(model: nn.Module) -> Inputs:
        if "size" not in size_note:
            size_note["size"], size_note["note"] = _image_size(entry)
        return _sized(size_note["size"], size_note["note"])(model)

    return CheckEntry(entry.name, entry.family, build, make, entry.fast, entry.note)


_VIT = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
            image_size=32, patch_size=8)
_SWIN = dict(image_size=32, patch_size=2, embed_dim=16, depths=[1, 1], num_heads=[2, 2],
             window_size=4)
_CONVNEXT = dict(hidden_sizes=[8, 16, 32, 64], depths=[1, 1, 1, 1], image_size=64)
_BERT = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
             vocab_size=1000, max_position_embeddings=128)
_GPT2 = dict(n_embd=64, n_layer=2, n_head=4, vocab_size=1000, n_positions=128)
_LLAMA = dict(hidden_size=256, intermediate_size=688, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, vocab_size=1000,
              max_position_embeddings=512)
_LLAMA_7B_SHAPE = dict(hidden_size=128, intermediate_size=344, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=4, vocab_size=1000,
                       max_position_embeddings=512)

# corpus name -> (model class, config class, small config, inputs)
_SMALL: dict[str, tuple[str, str, dict[str, Any], Callable[[nn.Module], Inputs]]] = {
    "vit-base": ("ViTForImageClassification", "ViTConfig", _VIT, _pixels),
    "deit-base": ("DeiTForImageClassification", "DeiTConfig", _VIT, _pixels),
    "beit-base": ("BeitForImageClassification", "BeitConfig", _VIT, _pixels),
    "swin-tiny": ("SwinForImageClassification", "SwinConfig", _SWIN, _pixels),
    "swinv2-tiny": ("Swinv2ForImageClassification", "Swinv2Config", _SWIN, _pixels),
    "convnext-tiny": ("ConvNextForImageClassification", "ConvNextConfig", _CONVNEXT, _pixels),
    "convnextv2-tiny": ("ConvNextV2ForImageClassification", "ConvNextV2Config", _CONVNEXT,
                        _pixels),
    "mobilevit-small": ("MobileViTForImageClassification", "MobileViTConfig",
                        dict(image_size=64, hidden_sizes=[32, 48, 64],
                             neck_hidden_sizes=[8, 16, 24, 32, 40, 48, 96]), _pixels),
    "mobilevitv2-1.0": ("MobileViTV2ForImageClassification", "MobileViTV2Config",
                        dict(image_size=64, width_multiplier=0.5), _pixels),
    "levit-128s": ("LevitForImageClassification", "LevitConfig",
                   dict(image_size=64, hidden_sizes=[32, 48, 64], num_attention_heads=[2, 2, 2],
                        depths=[1, 1, 1], key_dim=[8, 8, 8]), _pixels),
    "bert-base": ("BertModel", "BertConfig", _BERT, _tokens(32)),
    "distilbert-base": ("DistilBertModel", "DistilBertConfig",
                        dict(dim=64, n_layers=2, n_heads=4, hidden_dim=128, vocab_size=1000,
                             max_position_embeddings=128), _tokens(32)),
    "roberta-base": ("RobertaModel", "RobertaConfig", _BERT, _tokens(32)),
    "t5-small": ("T5Model", "T5Config", dict(d_model=64, d_ff=128, d_kv=16, num_layers=2,
                                             num_decoder_layers=2, num_heads=4,
                                             vocab_size=1000), _t5_tokens(16)),
    "gpt2 nocache": ("GPT2LMHeadModel", "GPT2Config", _GPT2, _tokens(32, use_cache=False)),
    "gpt2 prefill": ("GPT2LMHeadModel", "GPT2Config", _GPT2, _tokens(32, use_cache=True)),
    "gpt2 decode": ("GPT2LMHeadModel", "GPT2Config", _GPT2, _decode(31)),
    "gpt2 nocache [cpu]": ("GPT2LMHeadModel", "GPT2Config", _GPT2,
                           _tokens(32, use_cache=False)),
    "llama-small nocache": ("LlamaForCausalLM", "LlamaConfig", _LLAMA,
                            _tokens(64, use_cache=False)),
    "llama-small prefill": ("LlamaForCausalLM", "LlamaConfig", _LLAMA,
                            _tokens(64, use_cache=True)),
    "llama-small decode": ("LlamaForCausalLM", "LlamaConfig", _LLAMA, _decode(63)),
    "llama-small eager prefill": ("LlamaForCausalLM", "LlamaConfig",
                                  {**_LLAMA, "attn_implementation": "eager"},
                                  _tokens(64, use_cache=True)),
    "llama-small nocache [cpu]": ("LlamaForCausalLM", "LlamaConfig", _LLAMA,
                                  _tokens(64, use_cache=False)),
    "llama-7b nocache": ("LlamaForCausalLM", "LlamaConfig", _LLAMA_7B_SHAPE,
                         _tokens(64, use_cache=False)),
    "llama-7b prefill": ("LlamaForCausalLM", "LlamaConfig", _LLAMA_7B_SHAPE,
                         _tokens(64, use_cache=True)),
    "llama-7b decode": ("LlamaForCausalLM", "LlamaConfig", _LLAMA_7B_SHAPE, _decode(63)),
}


def _transformers_entry(entry: Entry) -> CheckEntry:
    model_cls, config_cls, config, inputs = _SMALL[entry.name]
    note = "small config on the CPU (" + ", ".join(f"{k}={v}" for k, v in config.items()) + ")"
    return CheckEntry(entry.name, entry.family, _hf(model_cls, config_cls, "cpu", **config),
                      inputs, entry.fast, note)


def _entry(entry: Entry) -> CheckEntry:
    if entry.source == "transformers":
        return _transformers_entry(entry)
    return _vision_input_entry(entry)


CHECK_CORPUS: tuple[CheckEntry, ...] = tuple(_entry(e) for e in CORPUS)


def check_entry(name: str) -> CheckEntry:
    for e in CHECK_CORPUS:
        if e.name == name:
            return e
    raise KeyError(name)


@dataclass
class Checked:
    """One corpus entry through ``convcost.crosscheck``."""

    entry: CheckEntry
    spec: str = ""
    result: Any = None  # the CrossCheck
    error: str | None = None  # crosscheck itself raised (a crash)
    seconds: float = 0.0
    build_seconds: float = 0.0


def run_check(entry: CheckEntry, peers: list[str] | None = None) -> Checked:
    """Build ``entry`` and check it against every peer (or ``peers``), one thread; never
    raises: a crash is recorded."""
    from convcost import crosscheck

    start = time.perf_counter()
    try:
        model = entry.build()
        inputs = entry.make_inputs(model)
    except Exception as exc:
        return Checked(entry, error=f"build: {type(exc).__name__}: {exc}",
                       build_seconds=time.perf_counter() - start)
    built = time.perf_counter() - start
    start = time.perf_counter()
    try:
        result = crosscheck(model, inputs=inputs.args, kwargs=inputs.kwargs, peers=peers,
                            name=entry.name, threads=1)
    except Exception as exc:
        return Checked(entry, inputs.spec, error=f"{type(exc).__name__}: {exc}",
                       seconds=time.perf_counter() - start, build_seconds=built)
    return Checked(entry, inputs.spec, result, None, time.perf_counter() - start, built)


__all__ = ["BUDGET", "CHECK_CORPUS", "CheckEntry", "Checked", "check_entry", "run_check"]
