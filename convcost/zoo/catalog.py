"""The zoo's entries: one per model, with its options, default input and provenance."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from convcost.zoo import classic, efficientnet, mobilenet, shufflenet, squeezenet, xception
from convcost.zoo._spec import Option, ZooEntry

RGB224 = (3, 224, 224)

NUM_CLASSES = Option("num_classes", int, 1000, "number of output classes")
WIDTH_MULT = Option("width_mult", float, 1.0, "width multiplier α (channels scale by α)")

_TV = "torchvision layout; parameter count equals torchvision's published num_params."


def _tv_entry(name: str, family: str, builder: Callable[..., nn.Module], paper: str, notes: str,
              aliases: tuple[str, ...] = (), default_input: tuple[int, int, int] = RGB224,
              options: tuple[Option, ...] = (NUM_CLASSES,)) -> ZooEntry:
    """An entry whose model torchvision also has, under the same name."""
    return ZooEntry(name=name, family=family, builder=builder, options=options,
                    aliases=aliases, default_input=default_input, torchvision_name=name,
                    paper=paper, notes=notes)


_SHUFFLENET_V2_NOTES = (
    _TV + " Channel split with torch.chunk, concat, shuffle with 2 groups; convs without "
    "bias, FC with bias (paper Table 5 widths)."
)
_EFFNET_V2_NOTES = (
    _TV + " Fused-MBConv stages then MBConv+SE stages, BN eps 0.001, SiLU; stochastic depth "
    "kept as a parameter-free module (identity at inference). Default input is torchvision's "
    "evaluation crop ({res}×{res}, where its GFLOPS are quoted); it trains at lower "
    "resolution."
)

ENTRIES: tuple[ZooEntry, ...] = (
    # --- MobileNet V1 ----------------------------------------------------------------------
    ZooEntry(
        name="mobilenet_v1",
        family="MobileNet V1",
        builder=mobilenet.mobilenet_v1,
        options=(
            WIDTH_MULT,
            Option("separable", bool, True,
                   "depthwise-separable layers; false = the paper's 'Conv MobileNet' with one "
                   "standard 3×3 conv per dw/pw pair (Table 4)"),
            NUM_CLASSES,
        ),
        aliases=("mobilenet", "mobilenetv1"),
        default_input=RGB224,
        torchvision_name=None,
        paper="Howard et al. 2017, arXiv:1704.04861, Table 1",
        notes=(
            "Written from the paper's Table 1 (torchvision has no MobileNet V1): BN + ReLU "
            "after every conv, global average pool, FC with bias. The 13th depthwise layer has "
            "stride 1 (Table 1 misprints 2). Channels are int(C·α). At α=1 it has 4,231,976 "
            "parameters (paper: 4.2M) and 568,740,352 conv+FC multiply-adds at 224 (paper: "
            "569M); separable=false gives 29,294,088 / 4.867G (paper Table 4: 29.3M / 4866M)."
        ),
    ),
    # --- MobileNet V2 ----------------------------------------------------------------------
    _tv_entry(
        "mobilenet_v2", "MobileNet V2", mobilenet.mobilenet_v2,
        "Sandler et al. 2018, arXiv:1801.04381, Table 2",
        _TV + " Inverted residuals with ReLU6 and linear bottlenecks; every width is "
        "make_divisible(c·α, 8) and the last conv make_divisible(1280·max(1, α), 8), so the "
        "head is not shrunk for α < 1 (as the paper specifies). These roundings reproduce the "
        "TF-slim checkpoints' multiply-adds (e.g. α=1.4: 582M; the paper's Table 4 says 585M).",
        aliases=("mobilenetv2",),
        options=(WIDTH_MULT, NUM_CLASSES),
    ),
    # --- MobileNet V3 ----------------------------------------------------------------------
    _tv_entry(
        "mobilenet_v3_large", "MobileNet V3", mobilenet.mobilenet_v3_large,
        "Howard et al. 2019, arXiv:1905.02244, Table 1",
        _TV + " torchvision's configuration = the later paper version: BN eps 0.001, SE squeeze "
        "make_divisible(exp/4, 8) with ReLU and a hard-sigmoid gate, hard-swish; head 1×1 conv "
        "to 960, pool, Linear 960→1280 (hard-swish), dropout, Linear. width_mult follows "
        "torchvision (every width, the 1280 included, make_divisible(c·α, 8)); the paper's "
        "0.75 model (TF-slim) scales expansions differently (155M vs 140M multiply-adds here).",
        aliases=("mobilenet_v3", "mobilenetv3", "mobilenetv3_large"),
        options=(WIDTH_MULT, NUM_CLASSES),
    ),
    _tv_entry(
        "mobilenet_v3_small", "MobileNet V3", mobilenet.mobilenet_v3_small,
        "Howard et al. 2019, arXiv:1905.02244, Table 2",
        _TV + " torchvision's configuration = the later paper version: no SE on the last conv "
        "(96→576) and a 576→1024 hidden Linear (the first arXiv version had 1280: 2.9M params, "
        "66M multiply-adds vs 2.5M / 56M). BN eps 0.001, hard-sigmoid SE gates, hard-swish.",
        aliases=("mobilenetv3_small",),
        options=(WIDTH_MULT, NUM_CLASSES),
    ),
    # --- ShuffleNet V1 ---------------------------------------------------------------------
    ZooEntry(
        name="shufflenet_v1",
        family="ShuffleNet V1",
        builder=shufflenet.shufflenet_v1,
        options=(
            Option("groups", int, 3, "groups g of the 1×1 group convs", choices=(1, 2, 3, 4, 8)),
            Option("scale", float, 1.0, "width scale s ('ShuffleNet s×')"),
            NUM_CLASSES,
        ),
        aliases=("shufflenet", "shufflenetv1"),
        default_input=RGB224,
        torchvision_name=None,
        paper="Zhang et al. 2017, arXiv:1707.01083, Table 1",
        notes=(
            "Written from the paper's Table 1 (torchvision has no ShuffleNet V1); default g=3. "
            "Unit: 1×1 group conv to out/4 (+BN+ReLU), channel shuffle, 3×3 depthwise (+BN), "
            "1×1 group conv (+BN), add + ReLU; stride-2 units concat a 3×3/2 average-pool "
            "shortcut (then ReLU), so their main path outputs out−in channels; the first 1×1 "
            "conv of Stage 2 is not grouped; FC with bias. For scale s, stage widths are "
            "make_divisible(C·s, 4g) and the stem make_divisible(24·s, g) so every group conv "
            "divides evenly (1× widths are Table 1's). Conv+FC multiply-adds at 224: 143.1, "
            "140.8, 137.5, 134.3, 138.4M for g = 1, 2, 3, 4, 8 (Table 1: 143/140/137/133/137)."
        ),
    ),
    # --- ShuffleNet V2 ---------------------------------------------------------------------
    _tv_entry("shufflenet_v2_x0_5", "ShuffleNet V2", shufflenet.shufflenet_v2_x0_5,
              "Ma et al. 2018, arXiv:1807.11164, Table 5", _SHUFFLENET_V2_NOTES),
    _tv_entry("shufflenet_v2_x1_0", "ShuffleNet V2", shufflenet.shufflenet_v2_x1_0,
              "Ma et al. 2018, arXiv:1807.11164, Table 5", _SHUFFLENET_V2_NOTES,
              aliases=("shufflenet_v2", "shufflenetv2")),
    _tv_entry("shufflenet_v2_x1_5", "ShuffleNet V2", shufflenet.shufflenet_v2_x1_5,
              "Ma et al. 2018, arXiv:1807.11164, Table 5", _SHUFFLENET_V2_NOTES),
    _tv_entry("shufflenet_v2_x2_0", "ShuffleNet V2", shufflenet.shufflenet_v2_x2_0,
              "Ma et al. 2018, arXiv:1807.11164, Table 5", _SHUFFLENET_V2_NOTES),
    # --- SqueezeNet ------------------------------------------------------------------------
    _tv_entry(
        "squeezenet1_0", "SqueezeNet", squeezenet.squeezenet1_0,
        "Iandola et al. 2016, arXiv:1602.07360, Table 1",
        _TV + " Fire modules with biases and no BN; classifier = dropout 0.5, 1×1 conv to the "
        "classes, ReLU, global average pool (no FC); max pools with ceil_mode. Default input "
        "224 as torchvision (the paper used 227); at 224 the maps are 109→54→27→13.",
        aliases=("squeezenet",),
    ),
    _tv_entry(
        "squeezenet1_1", "SqueezeNet", squeezenet.squeezenet1_1,
        "Iandola et al. 2016, arXiv:1602.07360 (v1.1: the official repository's README)",
        _TV + " v1.1 is not in the paper: 3×3/64 stem and the pools moved after fire3 and "
        "fire5, for about 2.4× less computation than v1.0 at the same accuracy.",
    ),
    # --- EfficientNet ----------------------------------------------------------------------
    _tv_entry(
        "efficientnet_b0", "EfficientNet", efficientnet.efficientnet_b0,
        "Tan & Le 2019, arXiv:1905.11946, Table 1",
        _TV + " MBConv blocks with SE (squeeze = max(1, block input/4), SiLU, sigmoid gate), "
        "BN eps 1e-5; stochastic depth kept as a parameter-free module (identity at "
        "inference).",
        aliases=("efficientnet",),
    ),
    _tv_entry(
        "efficientnet_v2_s", "EfficientNetV2", efficientnet.efficientnet_v2_s,
        "Tan & Le 2021, arXiv:2104.00298, Table 4",
        _EFFNET_V2_NOTES.format(res=384),
        aliases=("efficientnet_v2", "efficientnetv2_s"),
        default_input=(3, 384, 384),
    ),
    _tv_entry(
        "efficientnet_v2_m", "EfficientNetV2", efficientnet.efficientnet_v2_m,
        "Tan & Le 2021, arXiv:2104.00298 (M: the official configuration)",
        _EFFNET_V2_NOTES.format(res=480),
        default_input=(3, 480, 480),
    ),
    _tv_entry(
        "efficientnet_v2_l", "EfficientNetV2", efficientnet.efficientnet_v2_l,
        "Tan & Le 2021, arXiv:2104.00298 (L: the official configuration)",
        _EFFNET_V2_NOTES.format(res=480),
        default_input=(3, 480, 480),
    ),
    # --- MNASNet ---------------------------------------------------------------------------
    *(
        _tv_entry(
            f"mnasnet{tag}", "MNASNet", builder,
            "Tan et al. 2019, arXiv:1807.11626",
            _TV + f" Depth multiplier {alpha}. torchvision implements the B1 variant (no SE, "
            "ReLU): it is not the MnasNet-A1 (with SE) whose 75.2% / 315M the MobileNetV3 "
            "paper quotes.",
            aliases=("mnasnet",) if tag == "1_0" else (),
        )
        for tag, alpha, builder in (
            ("0_5", 0.5, efficientnet.mnasnet0_5),
            ("0_75", 0.75, efficientnet.mnasnet0_75),
            ("1_0", 1.0, efficientnet.mnasnet1_0),
            ("1_3", 1.3, efficientnet.mnasnet1_3),
        )
    ),
    # --- Xception --------------------------------------------------------------------------
    ZooEntry(
        name="xception",
        family="Xception",
        builder=xception.xception,
        options=(NUM_CLASSES,),
        aliases=(),
        default_input=(3, 299, 299),
        torchvision_name=None,
        paper="Chollet 2017, arXiv:1610.02357, Fig. 5",
        notes=(
            "Written from the paper's Fig. 5 as the Keras reference model has it (torchvision "
            "has no Xception): unpadded 3×3 entry convs (299→149→147), separable conv = 3×3 "
            "depthwise + 1×1 pointwise with no BN or ReLU between, BN after; 'same' 3×3/2 max "
            "pools written as padding 1 (same output sizes). 22,855,952 parameters = the "
            "paper's Table 3 and Keras's trainable count (BN running statistics are buffers)."
        ),
    ),
    # --- Baselines -------------------------------------------------------------------------
    _tv_entry(
        "vgg16", "VGG", classic.vgg16,
        "Simonyan & Zisserman 2014, arXiv:1409.1556, Table 1 (configuration D)",
        _TV + " Adaptive 7×7 average pool before the classifier (an identity at 224), conv "
        "biases, dropout 0.5 in the classifier.",
        aliases=("vgg", "vgg_16"),
    ),
    _tv_entry(
        "vgg16_bn", "VGG", classic.vgg16_bn,
        "Simonyan & Zisserman 2014, arXiv:1409.1556, Table 1 (configuration D)",
        _TV + " vgg16 with BN after every conv (not in the paper).",
    ),
    _tv_entry(
        "vgg19", "VGG", classic.vgg19,
        "Simonyan & Zisserman 2014, arXiv:1409.1556, Table 1 (configuration E)",
        _TV + " Adaptive 7×7 average pool before the classifier, conv biases.",
        aliases=("vgg_19",),
    ),
    *(
        _tv_entry(
            f"resnet{depth}", "ResNet", builder,
            "He et al. 2016, arXiv:1512.03385, Table 1",
            _TV + (" Basic blocks (two 3×3 convs)." if depth < 50 else
                   " ResNet v1.5: a downsampling bottleneck's stride sits on its 3×3 conv (the "
                   "paper puts it on the first 1×1), which raises the multiply-adds over the "
                   "paper's figure.")
            + " Shortcuts that change shape are 1×1 conv + BN (option B).",
            aliases=(f"resnet_{depth}",) + (("resnet",) if depth == 50 else ()),
        )
        for depth, builder in (
            (18, classic.resnet18),
            (34, classic.resnet34),
            (50, classic.resnet50),
            (101, classic.resnet101),
            (152, classic.resnet152),
        )
    ),
    _tv_entry(
        "googlenet", "GoogLeNet", classic.googlenet,
        "Szegedy et al. 2014, arXiv:1409.4842, Table 1",
        _TV + " torchvision's variant: BN (eps 0.001) after every conv, the '5×5' branch is a "
        "3×3 conv, ceil_mode max pools; aux_logits=false by default (torchvision's published "
        "model), giving 6,624,904 parameters. The paper's original (no BN, true 5×5 convs) "
        "quotes about 1.5G multiply-adds.",
        aliases=("inception_v1",),
        options=(NUM_CLASSES,
                 Option("aux_logits", bool, False,
                        "add the two auxiliary classifiers (used in training mode only)")),
    ),
)

__all__ = ["ENTRIES", "NUM_CLASSES", "WIDTH_MULT"]
