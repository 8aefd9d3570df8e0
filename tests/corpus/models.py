"""The corpus entries: third-party models, how to build them, and what to feed them.

Every model has random weights and is built offline. Most are built on the meta device (no
memory, no initialisation cost: LLaMA-7B builds in milliseconds); the few that cannot be are
built on the CPU and say why in ``note``.

Sources (pinned in ``pyproject.toml``'s ``corpus`` extra):

- **pytorchcv 0.0.67**: its ImageNet classifiers, every family it has (one to five models
  each). 0.0.67 and not the newest release because from 0.0.68 on pytorchcv requires
  torchvision, whose wheel does not import beside the CPU torch pinned here (it needs a CUDA
  build); 0.0.67 holds the same ImageNet models. Its other families (segmentation,
  detection, pose, speech, CIFAR/SVHN/CUB variants) are listed in :data:`SKIPPED`.
- **efficientnet-pytorch 0.7.1**: ``EfficientNet.from_name`` b0–b8 and l2, at each one's
  own resolution.
- **transformers 5.x**: models built from their config classes (``HF_HUB_OFFLINE=1``): vision
  transformers and ConvNets, encoders, and decoders with and without a KV cache: ``nocache``
  (``use_cache=False``), ``prefill`` (``use_cache=True``: the cache is created and filled) and
  ``decode`` (one new token after a prompt, with the ``past_key_values`` of that prompt).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class Inputs:
    """One forward call: positional and keyword arguments, and a short description."""

    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    spec: str = ""


@dataclass(frozen=True)
class Entry:
    """One corpus model.

    ``build()`` returns a fresh model in eval mode on ``device``; ``make_inputs(model)`` returns
    fresh inputs on the model's device (fresh, since a forward pass with a KV cache grows the
    cache it is given). The reference count runs on ``device``; convcost analyses with
    ``device=analyze_device``. ``fast`` entries run in the normal test suite.
    """

    name: str
    family: str  # "<source>/<family>", e.g. "pytorchcv/resnet", "transformers/llama"
    build: Callable[[], nn.Module]
    make_inputs: Callable[[nn.Module], Inputs]
    device: str = "meta"
    analyze_device: str = "meta"
    fast: bool = False
    note: str = ""

    @property
    def source(self) -> str:
        return self.family.partition("/")[0]


def _shape(t: torch.Tensor) -> str:
    return "×".join(str(d) for d in t.shape)


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


# --- pytorchcv ------------------------------------------------------------------------------

@contextmanager
def _numpy_int_alias() -> Iterator[None]:
    """pytorchcv 0.0.67's RegNet uses ``np.int``, which numpy removed in 1.24 (a pytorchcv
    bug, unrelated to convcost): the alias exists only while such a model is built."""
    import numpy as np

    missing = "int" not in vars(np)
    if missing:
        np.int = int  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if missing:
            del np.int  # type: ignore[attr-defined]


def _pytorchcv(name: str, device: str) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        from pytorchcv.model_provider import get_model

        with _numpy_int_alias(), torch.device(device):
            model = get_model(name, pretrained=False)
        return model.eval()

    return build


def _image_inputs(model: nn.Module) -> Inputs:
    """One image at the model's own resolution (pytorchcv's ``in_size``, else 224²)."""
    size = tuple(getattr(model, "in_size", (224, 224)))
    device = _device_of(model)
    if device.type == "meta":
        x = torch.empty((1, 3, *size), device="meta")
    else:
        x = torch.randn((1, 3, *size), generator=torch.Generator().manual_seed(0))
    return Inputs(args=(x,), spec=f"{_shape(x)} float32")


# ImageNet classifiers, by pytorchcv module (= family). At least one per family; a second or
# more where the family varies in kind (widths, depths, variants b/c/d).
_PYTORCHCV: dict[str, tuple[str, ...]] = {
    "airnet": ("airnet50_1x64d_r2",),
    "airnext": ("airnext50_32x4d_r2",),
    "alexnet": ("alexnet", "alexnetb"),
    "bagnet": ("bagnet9", "bagnet33"),
    "bamresnet": ("bam_resnet18", "bam_resnet50"),
    "bninception": ("bninception",),
    "cbamresnet": ("cbam_resnet18", "cbam_resnet50"),
    "channelnet": ("channelnet",),
    "condensenet": ("condensenet74_c4_g4", "condensenet74_c8_g8"),
    "darknet": ("darknet_tiny", "darknet19"),
    "darknet53": ("darknet53",),
    "darts": ("darts",),
    "densenet": ("densenet121", "densenet201"),
    "diapreresnet": ("diapreresnet10", "diapreresnet50"),
    "diaresnet": ("diaresnet10", "diaresnet50"),
    "dicenet": ("dicenet_wd5", "dicenet_w1"),
    "diracnetv2": ("diracnet18v2",),
    "dla": ("dla34", "dla60x"),
    "dpn": ("dpn68", "dpn98"),
    "drn": ("drnc26", "drnd22"),
    "efficientnet": ("efficientnet_b0", "efficientnet_b3b", "efficientnet_b0c"),
    "efficientnetedge": ("efficientnet_edge_small_b",),
    "espnetv2": ("espnetv2_wd2", "espnetv2_w2"),
    "fastseresnet": ("fastseresnet101b",),
    "fbnet": ("fbnet_cb",),
    "fdmobilenet": ("fdmobilenet_w1", "fdmobilenet_wd4"),
    "fishnet": ("fishnet99",),
    "ghostnet": ("ghostnet",),
    "hardnet": ("hardnet39ds", "hardnet68"),
    "hrnet": ("hrnet_w18_small_v1", "hrnetv2_w18"),
    "ibnbresnet": ("ibnb_resnet50",),
    "ibndensenet": ("ibn_densenet121",),
    "ibnresnet": ("ibn_resnet50",),
    "ibnresnext": ("ibn_resnext50_32x4d",),
    "igcv3": ("igcv3_w1", "igcv3_wd4"),
    "inceptionresnetv1": ("inceptionresnetv1",),
    "inceptionresnetv2": ("inceptionresnetv2",),
    "inceptionv3": ("inceptionv3",),
    "inceptionv4": ("inceptionv4",),
    "irevnet": ("irevnet301",),
    "isqrtcovresnet": ("isqrtcovresnet18", "isqrtcovresnet50"),
    "menet": ("menet108_8x1_g3", "menet456_24x1_g3"),
    "mixnet": ("mixnet_s", "mixnet_l"),
    "mnasnet": ("mnasnet_b1", "mnasnet_a1", "mnasnet_small"),
    "mobilenet": ("mobilenet_w1", "mobilenet_wd4"),
    "mobilenetb": ("mobilenetb_w1",),
    "mobilenetv2": ("mobilenetv2_w1", "mobilenetv2b_w1"),
    "mobilenetv3": ("mobilenetv3_small_w1", "mobilenetv3_large_w1"),
    "msdnet": ("msdnet22",),
    "nasnet": ("nasnet_4a1056", "nasnet_6a4032"),
    "octresnet": ("octresnet10_ad2", "octresnet50b_ad2"),
    "peleenet": ("peleenet",),
    "pnasnet": ("pnasnet5large",),
    "polynet": ("polynet",),
    "preresnet": ("preresnet18", "preresnet50"),
    "proxylessnas": ("proxylessnas_cpu", "proxylessnas_mobile"),
    "pyramidnet": ("pyramidnet101_a360",),
    "regnet": ("regnetx002", "regnety002", "regnety016"),
    "resattnet": ("resattnet56", "resattnet92"),
    "resnesta": ("resnesta18", "resnesta50"),
    "resnet": ("resnet10", "resnet18", "resnet50", "resnet50b", "resnet152"),
    "resneta": ("resneta10", "resneta50b"),
    "resnetd": ("resnetd50b",),
    "resnext": ("resnext14_16x4d", "resnext50_32x4d"),
    "revnet": ("revnet38", "revnet110"),
    "scnet": ("scnet50", "scneta50"),
    "selecsls": ("selecsls42", "selecsls60b"),
    "senet": ("senet16", "senet154"),
    "sepreresnet": ("sepreresnet10", "sepreresnet50"),
    "seresnet": ("seresnet18", "seresnet50"),
    "seresnext": ("seresnext50_32x4d",),
    "sharesnet": ("sharesnet18", "sharesnet50"),
    "shufflenet": ("shufflenet_g1_w1", "shufflenet_g3_w1", "shufflenet_g8_w1"),
    "shufflenetv2": ("shufflenetv2_w1", "shufflenetv2_w2"),
    "shufflenetv2b": ("shufflenetv2b_w1",),
    "sknet": ("sknet50",),
    "sparsenet": ("sparsenet121",),
    "spnasnet": ("spnasnet",),
    "squeezenet": ("squeezenet_v1_0", "squeezenet_v1_1", "squeezeresnet_v1_1"),
    "squeezenext": ("sqnxt23_w1", "sqnxt23v5_w2"),
    "vgg": ("vgg11", "vgg16", "bn_vgg19b"),
    "vovnet": ("vovnet27s", "vovnet57"),
    "wrn": ("wrn50_2",),
    "xception": ("xception",),
    "xdensenet": ("xdensenet121_2",),
    "zfnet": ("zfnet", "zfnetb"),
}

# Built on the CPU, and why. (convcost still analyses them on meta: it swaps the weights.)
_PYTORCHCV_CPU = {
    "xdensenet121_2": "XConv2d makes its mask with torch.Tensor(...), which ignores the meta "
                      "device context: a meta build mixes devices, so it is built on the CPU",
}

_FAST_PYTORCHCV = {
    "resnet18", "mobilenetv2_w1", "shufflenetv2_w1", "densenet121", "inceptionv3", "ghostnet",
    "regnetx002", "revnet38", "ibn_resnet50", "cbam_resnet18", "condensenet74_c4_g4",
    "isqrtcovresnet18",
}

# pytorchcv modules (families) that are not ImageNet classifiers: their inputs differ (masks,
# heatmaps, audio); so do the CIFAR/SVHN/CUB/COCO variants of the classifier families
# (modules named *_cifar, *_cifar10, *_cub, *_coco, *_cmupan).
PYTORCHCV_NOT_IMAGENET = frozenset({
    # segmentation
    "bisenet", "cgnet", "contextnet", "dabnet", "danet", "deeplabv3", "edanet", "enet",
    "erfnet", "esnet", "fastscnn", "fcn8sd", "fpenet", "icnet", "lednet", "linknet", "pspnet",
    "segnet", "sinet", "sqnet", "unet",
    # detection, keypoints, faces, 3D, point clouds
    "centernet", "lffd", "superpointnet", "prnet", "nvpattexp", "voca", "pfpcnet",
    # speech
    "jasper", "jasperdr", "quartznet",
})
PYTORCHCV_VARIANT_SUFFIXES = ("_cifar", "_cifar10", "_cub", "_coco", "_cmupan")

SKIPPED: dict[str, str] = {
    "pytorchcv " + ", ".join(sorted(PYTORCHCV_NOT_IMAGENET)):
        "segmentation, detection, keypoint, face, 3D, point-cloud and speech models, not "
        "ImageNet classifiers",
    "pytorchcv modules " + ", ".join(f"*{s}" for s in PYTORCHCV_VARIANT_SUFFIXES):
        "CIFAR/SVHN/CUB/COCO variants of the classifier families (other inputs and heads)",
    "pytorchcv >= 0.0.68": "requires torchvision, whose wheel does not import beside the CPU "
                           "torch pinned here; 0.0.67 has the same ImageNet classifiers",
}


def _pytorchcv_entries() -> list[Entry]:
    entries = []
    for family, names in _PYTORCHCV.items():
        for name in names:
            device = "cpu" if name in _PYTORCHCV_CPU else "meta"
            note = _PYTORCHCV_CPU.get(name, "")
            if family == "regnet":
                note = ("built with a temporary np.int alias: pytorchcv 0.0.67's RegNet uses "
                        "np.int, which numpy 1.24 removed")
            entries.append(Entry(
                name=name, family=f"pytorchcv/{family}", build=_pytorchcv(name, device),
                make_inputs=_image_inputs, device=device, fast=name in _FAST_PYTORCHCV,
                note=note))
    return entries


# --- efficientnet-pytorch -------------------------------------------------------------------

def _efficientnet(name: str) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        from efficientnet_pytorch import EfficientNet

        with torch.device("meta"):
            model = EfficientNet.from_name(name)
        model.in_size = (EfficientNet.get_image_size(name),) * 2  # read by _image_inputs
        return model.eval()

    return build


def _efficientnet_entries() -> list[Entry]:
    names = [f"efficientnet-b{i}" for i in range(9)] + ["efficientnet-l2"]
    return [Entry(name=n, family="efficientnet-pytorch/efficientnet", build=_efficientnet(n),
                  make_inputs=_image_inputs, fast=n == "efficientnet-b0") for n in names]


# --- transformers ---------------------------------------------------------------------------

def _transformers() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import transformers

    return transformers


def _hf(model_cls: str, config_cls: str, device: str = "meta",
        **config: Any) -> Callable[[], nn.Module]:
    """``transformers.<model_cls>(<config_cls>(**config))``, random weights, on ``device``."""

    def build() -> nn.Module:
        tf = _transformers()
        cfg = getattr(tf, config_cls)(**config)
        if device == "cpu":
            torch.manual_seed(0)  # random weights, but the same each time
        with torch.device(device):
            model = getattr(tf, model_cls)(cfg)
        return model.eval()

    return build


def _pixels(model: nn.Module) -> Inputs:
    size = int(getattr(model.config, "image_size", 224))
    x = torch.empty((1, 3, size, size), device=_device_of(model))
    if x.device.type != "meta":
        x = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    return Inputs(kwargs={"pixel_values": x}, spec=f"pixel_values {_shape(x)} float32")


def _token_ids(n: int, device: torch.device) -> torch.Tensor:
    return torch.zeros((1, n), dtype=torch.long, device=device)


def _tokens(n: int, **extra: Any) -> Callable[[nn.Module], Inputs]:
    """``input_ids`` of shape (1, n), int64, and fixed keyword options (e.g. use_cache)."""

    def make(model: nn.Module) -> Inputs:
        ids = _token_ids(n, _device_of(model))
        opts = "".join(f", {k}={v}" for k, v in extra.items())
        return Inputs(kwargs={"input_ids": ids, **extra},
                      spec=f"input_ids {_shape(ids)} int64{opts}")

    return make


def _decode(past: int) -> Callable[[nn.Module], Inputs]:
    """One new token after a prompt of ``past`` tokens: the prompt's cache is made by running
    the prompt through the model (``use_cache=True``), outside any measurement."""

    def make(model: nn.Module) -> Inputs:
        device = _device_of(model)
        with torch.no_grad():
            cache = model(input_ids=_token_ids(past, device), use_cache=True).past_key_values
        ids = _token_ids(1, device)
        return Inputs(kwargs={"input_ids": ids, "past_key_values": cache, "use_cache": True},
                      spec=f"input_ids 1×1 int64, past_key_values {past} tokens, use_cache=True")

    return make


def _t5_tokens(n: int) -> Callable[[nn.Module], Inputs]:
    def make(model: nn.Module) -> Inputs:
        device = _device_of(model)
        return Inputs(kwargs={"input_ids": _token_ids(n, device),
                              "decoder_input_ids": _token_ids(n, device), "use_cache": False},
                      spec=f"input_ids 1×{n}, decoder_input_ids 1×{n} int64, use_cache=False")

    return make


_SMALL_LLAMA = dict(hidden_size=256, intermediate_size=688, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, vocab_size=1000,
                    max_position_embeddings=512)


def _transformers_entries() -> list[Entry]:
    def vision(name: str, model_cls: str, config_cls: str, fast: bool = False,
               **config: Any) -> Entry:
        family = f"transformers/{name.split('-')[0]}"
        return Entry(name=name, family=family, build=_hf(model_cls, config_cls, **config),
                     make_inputs=_pixels, fast=fast)

    entries = [
        vision("vit-base", "ViTForImageClassification", "ViTConfig", fast=True),
        vision("deit-base", "DeiTForImageClassification", "DeiTConfig"),
        vision("beit-base", "BeitForImageClassification", "BeitConfig"),
        vision("swin-tiny", "SwinForImageClassification", "SwinConfig", fast=True),
        vision("swinv2-tiny", "Swinv2ForImageClassification", "Swinv2Config"),
        vision("convnext-tiny", "ConvNextForImageClassification", "ConvNextConfig"),
        vision("convnextv2-tiny", "ConvNextV2ForImageClassification", "ConvNextV2Config"),
        vision("mobilevit-small", "MobileViTForImageClassification", "MobileViTConfig",
               fast=True),
        vision("mobilevitv2-1.0", "MobileViTV2ForImageClassification", "MobileViTV2Config"),
        vision("levit-128s", "LevitForImageClassification", "LevitConfig"),
        Entry(name="bert-base", family="transformers/bert",
              build=_hf("BertModel", "BertConfig"), make_inputs=_tokens(128), fast=True),
        Entry(name="distilbert-base", family="transformers/distilbert",
              build=_hf("DistilBertModel", "DistilBertConfig"), make_inputs=_tokens(128)),
        Entry(name="roberta-base", family="transformers/roberta",
              build=_hf("RobertaModel", "RobertaConfig"), make_inputs=_tokens(128)),
        Entry(name="t5-small", family="transformers/t5",
              build=_hf("T5Model", "T5Config"), make_inputs=_t5_tokens(64)),
    ]
    gpt2 = _hf("GPT2LMHeadModel", "GPT2Config")
    entries += [
        Entry(name="gpt2 nocache", family="transformers/gpt2", build=gpt2,
              make_inputs=_tokens(128, use_cache=False), fast=True),
        Entry(name="gpt2 prefill", family="transformers/gpt2", build=gpt2,
              make_inputs=_tokens(128, use_cache=True), fast=True),
        Entry(name="gpt2 decode", family="transformers/gpt2", build=gpt2,
              make_inputs=_decode(127), fast=True),
        Entry(name="gpt2 nocache [cpu]", family="transformers/gpt2",
              build=_hf("GPT2LMHeadModel", "GPT2Config", device="cpu"),
              make_inputs=_tokens(128, use_cache=False), device="cpu", analyze_device="cpu",
              note="on the CPU: the meta run of this input stops at a data-dependent check"),
    ]
    small = _hf("LlamaForCausalLM", "LlamaConfig", **_SMALL_LLAMA)
    small_eager = _hf("LlamaForCausalLM", "LlamaConfig", attn_implementation="eager",
                      **_SMALL_LLAMA)
    entries += [
        Entry(name="llama-small nocache", family="transformers/llama", build=small,
              make_inputs=_tokens(64, use_cache=False), fast=True),
        Entry(name="llama-small prefill", family="transformers/llama", build=small,
              make_inputs=_tokens(64, use_cache=True), fast=True),
        Entry(name="llama-small decode", family="transformers/llama", build=small,
              make_inputs=_decode(63), fast=True),
        Entry(name="llama-small eager prefill", family="transformers/llama", build=small_eager,
              make_inputs=_tokens(64, use_cache=True),
              note="attn_implementation='eager': attention as explicit matmul + softmax"),
        Entry(name="llama-small nocache [cpu]", family="transformers/llama",
              build=_hf("LlamaForCausalLM", "LlamaConfig", device="cpu", **_SMALL_LLAMA),
              make_inputs=_tokens(64, use_cache=False), device="cpu", analyze_device="cpu",
              fast=True,
              note="on the CPU: the meta run of this input stops at a data-dependent check"),
    ]
    llama7b = _hf("LlamaForCausalLM", "LlamaConfig")  # the default config is LLaMA-7B
    entries += [
        Entry(name="llama-7b nocache", family="transformers/llama", build=llama7b,
              make_inputs=_tokens(2048, use_cache=False)),
        Entry(name="llama-7b prefill", family="transformers/llama", build=llama7b,
              make_inputs=_tokens(2048, use_cache=True)),
        Entry(name="llama-7b decode", family="transformers/llama", build=llama7b,
              make_inputs=_decode(2047)),
    ]
    return entries


CORPUS: tuple[Entry, ...] = (
    *_pytorchcv_entries(), *_efficientnet_entries(), *_transformers_entries())


def by_name(name: str) -> Entry:
    for entry in CORPUS:
        if entry.name == name:
            return entry
    raise KeyError(name)


__all__ = ["CORPUS", "PYTORCHCV_NOT_IMAGENET", "PYTORCHCV_VARIANT_SUFFIXES", "SKIPPED", "Entry",
           "Inputs", "by_name"]
