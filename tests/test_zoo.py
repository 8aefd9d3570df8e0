"""The model zoo: exact parameter counts, multiply-adds against the published figures,
meta-device forwards, spec parsing and the published-results table.

Multiply-adds here are counted with forward hooks on the meta device, conv + linear only:
``out.numel() · in_channels/groups · kh · kw`` for a conv, ``out.numel() · in_features`` for
a linear — no bias adds, no BN, activations or pooling. That is the papers' "mult-adds" /
"FLOPs = multiply-adds" convention (MobileNet, ShuffleNet V1 Table 1 caption, ShuffleNet V2
footnote) and what torchvision's ``gflops_reported`` counts.
"""

from __future__ import annotations

import csv
import inspect
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from convcost.errors import ModelSpecError
from convcost.formulas.multipliers import make_divisible
from convcost.zoo import build, get_entry, list_entries, parse_spec
from convcost.zoo._layers import ChannelShuffle, StochasticDepth
from convcost.zoo.mobilenet import MOBILENET_V1_LAYERS, MOBILENET_V2_SETTING
from convcost.zoo.published import PublishedResult, load_published, lookup, lookup_top1
from convcost.zoo.shufflenet import ShuffleNetV1, ShuffleV1Unit

REFERENCE = Path(__file__).parent / "reference" / "torchvision_meta.csv"

ENTRIES = list_entries()
NAMES = [e.name for e in ENTRIES]
TWINS = [e.name for e in ENTRIES if e.torchvision_name is not None]


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def conv_linear_madds(model: nn.Module, size: int | tuple[int, int, int]) -> int:
    """Multiply-adds of every Conv2d and Linear on one meta forward at batch 1."""
    shape = (3, size, size) if isinstance(size, int) else size
    total = 0

    def hook(module: nn.Module, inputs: object, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += out.numel() * (module.in_channels // module.groups) * kh * kw
        elif isinstance(module, nn.Linear):
            total += out.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, nn.Conv2d | nn.Linear)]
    try:
        with torch.no_grad():
            model(torch.empty(1, *shape, device="meta"))
    finally:
        for h in handles:
            h.remove()
    return total


@cache
def built(spec: str) -> nn.Module:
    """Test-local cache: each default model is built once (on meta) per session."""
    return build(spec)


@cache
def torchvision_meta() -> dict[str, dict[str, str]]:
    if not REFERENCE.is_file():
        pytest.skip(f"torchvision reference table not found at {REFERENCE}")
    rows: dict[str, dict[str, str]] = {}
    with REFERENCE.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["weights"] == "IMAGENET1K_V1":
                rows[row["model"]] = row
    return rows


# ---------------------------------------------------------------------------------------------
# torchvision twins: exact parameter counts and multiply-adds
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TWINS)
def test_params_match_torchvision(name: str) -> None:
    ref = torchvision_meta()[get_entry(name).torchvision_name or name]
    assert n_params(built(name)) == int(ref["num_params"])


@pytest.mark.parametrize("name", TWINS)
def test_madds_match_torchvision_gflops(name: str) -> None:
    # torchvision's GFLOPS column counts multiply-adds of convs and linears, printed to
    # 3 decimals at the weights' crop size (384/480 for EfficientNetV2).
    ref = torchvision_meta()[get_entry(name).torchvision_name or name]
    madds = conv_linear_madds(built(name), int(ref["crop_size"]))
    assert abs(madds / 1e9 - float(ref["gflops_reported"])) <= 0.0005 + 0.001


# ---------------------------------------------------------------------------------------------
# models without a torchvision twin: counts derived from the papers' tables
# ---------------------------------------------------------------------------------------------


def mobilenet_v1_counts(alpha: float, res: int, separable: bool = True) -> tuple[int, int]:
    """(params, conv+FC mult-adds) of MobileNet V1 from Table 1, without building a model.

    BN has 2 parameters (γ, β) per channel; the FC has a bias; 1000 classes.
    """
    def ch(c: int) -> int:
        return int(c * alpha)

    size = (res + 1) // 2  # stem: 3×3 stride 2, padding 1
    cin = ch(32)
    params = 27 * cin + 2 * cin
    madds = size * size * 27 * cin
    for c, stride in MOBILENET_V1_LAYERS:
        cout = ch(c)
        size = (size - 1) // stride + 1
        if separable:
            params += 9 * cin + 2 * cin + cin * cout + 2 * cout
            madds += size * size * (9 * cin + cin * cout)
        else:
            params += 9 * cin * cout + 2 * cout
            madds += size * size * 9 * cin * cout
        cin = cout
    params += cin * 1000 + 1000
    madds += cin * 1000
    return params, madds


def test_mobilenet_v1_params_and_madds() -> None:
    model = built("mobilenet_v1")
    # 4,231,976 = stem 3·3·3·32 + BN 64 (= 928)
    #           + depthwise 13 layers: Σ (9 + 2)·C_in = 11 · 4,960 = 54,560
    #           + pointwise: Σ C_in·C_out = 3,139,584, BN 2 · Σ C_out = 11,904
    #           + FC 1024·1000 + 1000 = 1,025,000.  Paper: "4.2 million".
    assert n_params(model) == 4_231_976 == mobilenet_v1_counts(1.0, 224)[0]
    # 568,740,352 = stem 112²·27·32 (10,838,016) + depthwise 3×3 (Σ 9·C_in·H_out²)
    #             + pointwise (Σ C_in·C_out·H_out²) + FC 1,024,000. Paper: "569 million".
    madds = conv_linear_madds(model, 224)
    assert madds == 568_740_352 == mobilenet_v1_counts(1.0, 224)[1]
    assert abs(madds / 569e6 - 1) < 0.001


@pytest.mark.parametrize(("alpha", "res", "paper_madds_m"), [
    (1.0, 224, 569), (0.75, 224, 325), (0.5, 224, 149), (0.25, 224, 41),  # Table 6
    (1.0, 192, 418), (1.0, 160, 290), (1.0, 128, 186),                    # Table 7
    (0.5, 160, 76),                                                      # Table 9
])
def test_mobilenet_v1_multipliers_match_paper(alpha: float, res: int,
                                              paper_madds_m: int) -> None:
    model = build("mobilenet_v1", width_mult=alpha)
    params, madds = mobilenet_v1_counts(alpha, res)
    assert n_params(model) == params
    measured = conv_linear_madds(model, res)
    assert measured == madds
    assert abs(measured / (paper_madds_m * 1e6) - 1) < 0.01


def test_mobilenet_v1_standard_conv_variant() -> None:
    # Table 4 "Conv MobileNet": 29.3M parameters, 4866M mult-adds.
    model = build("mobilenet_v1:separable=false")
    params, madds = mobilenet_v1_counts(1.0, 224, separable=False)
    assert n_params(model) == params == 29_294_088
    assert conv_linear_madds(model, 224) == madds == 4_867_293_184
    assert not any(isinstance(m, nn.Conv2d) and m.groups > 1 for m in model.modules())


def mobilenet_v2_params(alpha: float, num_classes: int = 1000) -> int:
    """MobileNetV2 parameters from Table 2 with torchvision's rounding, without a model."""
    def conv_bn(cin: int, cout: int, k: int, groups: int = 1) -> int:
        return cin // groups * cout * k * k + 2 * cout

    cin = make_divisible(32 * alpha, 8)
    last = make_divisible(1280 * max(1.0, alpha), 8)
    total = conv_bn(3, cin, 3)
    for t, c, n, _ in MOBILENET_V2_SETTING:
        cout = make_divisible(c * alpha, 8)
        for _ in range(n):
            hidden = cin * t
            total += (conv_bn(cin, hidden, 1) if t != 1 else 0)
            total += conv_bn(hidden, hidden, 3, groups=hidden) + conv_bn(hidden, cout, 1)
            cin = cout
    return total + conv_bn(cin, last, 1) + last * num_classes + num_classes


@pytest.mark.parametrize(("alpha", "expected"), [
    (0.35, 1_677_128), (0.5, 1_968_680), (0.75, 2_636_424), (1.0, 3_504_872),
    (1.3, 5_386_792), (1.4, 6_108_776),
])
def test_mobilenet_v2_width_variants(alpha: float, expected: int) -> None:
    # α = 1.0 is torchvision's 3,504,872; the others follow from the same rounding rules.
    model = build("mobilenet_v2", width_mult=alpha)
    assert n_params(model) == mobilenet_v2_params(alpha) == expected


def test_xception_params() -> None:
    # Chollet 2017, Table 3 / Keras "trainable params": 22,855,952 (BN γ, β count; the
    # running mean/var are buffers here and Keras's non-trainable weights there).
    model = built("xception")
    assert n_params(model) == 22_855_952
    assert get_entry("xception").default_input == (3, 299, 299)
    # entry flow: 299 → 149 → 147 (unpadded convs), then /2 four times: 74, 37, 19, 10.
    # The paper publishes no mult-adds: 8,357,403,496 is a regression pin, and two independent
    # counters must agree on it (this file's module hooks and convcost's op-level engine).
    assert conv_linear_madds(model, 299) == 8_357_403_496
    import convcost

    assert convcost.analyze(model, (1, 3, 299, 299)).totals.madds == 8_357_403_496


def test_googlenet_aux_logits() -> None:
    model = build("googlenet:aux_logits=true")
    assert n_params(model) == 13_004_888  # torchvision's googlenet(aux_logits=True)
    out = model(torch.empty(1, 3, 224, 224, device="meta"))
    assert isinstance(out, torch.Tensor) and out.shape == (1, 1000)  # eval: logits only
    model.train()
    logits, aux2, aux1 = model(torch.empty(2, 3, 224, 224, device="meta"))
    assert logits.shape == aux1.shape == aux2.shape == (2, 1000)


# ---------------------------------------------------------------------------------------------
# ShuffleNet V1 against the paper's Table 1
# ---------------------------------------------------------------------------------------------

# Table 1 complexity in MFLOPs, which the paper defines as multiply-adds ("FLOPs, i.e. the
# number of floating-point multiplication-adds"); conv + FC, BN/ReLU/pool/shuffle not counted.
SHUFFLENET_V1_TABLE1 = {1: 143, 2: 140, 3: 137, 4: 133, 8: 137}


@pytest.mark.parametrize("groups", sorted(SHUFFLENET_V1_TABLE1))
def test_shufflenet_v1_complexity_matches_table1(groups: int) -> None:
    model = build("shufflenet_v1", groups=groups)
    madds = conv_linear_madds(model, 224)
    # measured: 143.08, 140.84, 137.46, 134.34, 138.37 M for g = 1, 2, 3, 4, 8
    assert abs(madds / (SHUFFLENET_V1_TABLE1[groups] * 1e6) - 1) < 0.03


@pytest.mark.parametrize(("spec", "paper_mflops"), [
    ("shufflenet_v1:scale=0.5", 38),            # 0.5× g=3 (arXiv:1807.11164 Table 8)
    ("shufflenet_v1:groups=4,scale=0.5", 38),   # 0.5× g=4 (Table 6)
    ("shufflenet_v1:scale=1.5", 292),           # 1.5× g=3 (arXiv:1807.11164 Table 8)
    ("shufflenet_v1:scale=2.0", 524),           # 2× g=3 (Table 6)
])
def test_shufflenet_v1_scaled_complexity(spec: str, paper_mflops: int) -> None:
    madds = conv_linear_madds(build(spec), 224)
    assert abs(madds / (paper_mflops * 1e6) - 1) < 0.03


def test_shufflenet_v1_structure() -> None:
    model = build("shufflenet_v1:groups=8")
    assert isinstance(model, ShuffleNetV1)
    first, second = model.stage2[0], model.stage2[1]
    assert isinstance(first, ShuffleV1Unit) and isinstance(second, ShuffleV1Unit)
    assert first.gconv1.groups == 1  # Stage 2's first pointwise conv is not grouped
    assert second.gconv1.groups == 8
    assert first.gconv1.out_channels == 384 // 4  # bottleneck = out/4
    assert first.gconv2.out_channels == 384 - 24  # concat with the pooled 24-channel input
    assert isinstance(first.shortcut, nn.AvgPool2d)
    assert sum(isinstance(m, ChannelShuffle) for m in model.modules()) == 16


@pytest.mark.parametrize("groups", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("scale", [0.25, 0.5, 1.5, 2.0])
def test_shufflenet_v1_every_group_and_scale_runs(groups: int, scale: float) -> None:
    model = build("shufflenet_v1", groups=groups, scale=scale)
    assert model(torch.empty(1, 3, 224, 224, device="meta")).shape == (1, 1000)


# ---------------------------------------------------------------------------------------------
# every model: meta build, meta forward, num_classes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_forward_on_meta_at_default_input(name: str) -> None:
    model = built(name)
    assert not model.training
    assert all(p.device.type == "meta" for p in model.parameters())
    out = model(torch.empty(1, *get_entry(name).default_input, device="meta"))
    assert out.shape == (1, 1000)


@pytest.mark.parametrize("name", NAMES)
def test_num_classes(name: str) -> None:
    model = build(name, num_classes=10)
    out = model(torch.empty(2, *get_entry(name).default_input, device="meta"))
    assert out.shape == (2, 10)


def test_build_on_cpu_runs_for_real() -> None:
    model = build("squeezenet1_1", device="cpu", num_classes=7)
    assert not model.training
    assert all(p.device.type == "cpu" for p in model.parameters())
    with torch.no_grad():
        out = model(torch.randn(1, 3, 96, 96))
    assert out.shape == (1, 7) and torch.isfinite(out).all()


def test_train_mode_forward_with_stochastic_depth() -> None:
    model = build("efficientnet_b0", num_classes=5).train()
    assert model(torch.empty(2, 3, 64, 64, device="meta")).shape == (2, 5)
    sd = StochasticDepth(0.5).train()
    out = sd(torch.ones(64, 1, 1, 1))
    assert set(out.flatten().tolist()) <= {0.0, 2.0}
    assert sd.eval()(torch.ones(3)).tolist() == [1.0, 1.0, 1.0]


def test_channel_shuffle_permutes_and_copies() -> None:
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert ChannelShuffle(3)(x).flatten().tolist() == [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]

    class Ops(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.ops: list[str] = []

        def __torch_dispatch__(self, func: Callable[..., object], types: object,
                               args: tuple[object, ...] = (),
                               kwargs: dict[str, object] | None = None) -> object:
            self.ops.append(str(func))
            return func(*args, **(kwargs or {}))

    with Ops() as rec:
        ChannelShuffle(2)(torch.empty(1, 8, 4, 4, device="meta"))
    assert "aten.clone.default" in rec.ops  # the shuffle is a real copy the engine can see


def test_no_module_is_shared_between_builds() -> None:
    a, b = build("mobilenet_v2"), build("mobilenet_v2")
    assert a is not b
    assert not {id(p) for p in a.parameters()} & {id(p) for p in b.parameters()}


# ---------------------------------------------------------------------------------------------
# catalog consistency
# ---------------------------------------------------------------------------------------------


def test_catalog_is_consistent() -> None:
    seen: set[str] = set()
    for entry in ENTRIES:
        for key in (entry.name, *entry.aliases):
            assert key == key.lower() and key not in seen, key
            seen.add(key)
        assert entry.family and entry.paper and entry.notes
        assert len(entry.default_input) == 3 and entry.default_input[0] == 3
        if entry.torchvision_name is not None:
            assert entry.torchvision_name == entry.name
        assert "num_classes" in [o.name for o in entry.options]
        # the builder's keyword defaults are the options' defaults
        params = inspect.signature(entry.builder).parameters
        for opt in entry.options:
            assert params[opt.name].default == opt.default, (entry.name, opt.name)
            assert isinstance(opt.default, opt.type)


def test_required_models_are_present() -> None:
    required = {
        "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
        "shufflenet_v1", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
        "shufflenet_v2_x2_0", "squeezenet1_0", "squeezenet1_1", "efficientnet_b0",
        "efficientnet_v2_s", "mnasnet1_0", "xception", "vgg16", "resnet18", "resnet50",
        "googlenet",
    }
    assert required <= set(NAMES)


@pytest.mark.parametrize(("alias", "canonical"), [
    ("shufflenet_v2", "shufflenet_v2_x1_0"),
    ("mobilenet_v3", "mobilenet_v3_large"),
    ("resnet", "resnet50"),
    ("VGG-16", "vgg16"),
    ("  MobileNet_V1 ", "mobilenet_v1"),
    ("squeezenet", "squeezenet1_0"),
])
def test_aliases(alias: str, canonical: str) -> None:
    assert get_entry(alias).name == canonical
    assert parse_spec(alias)[0].name == canonical


# ---------------------------------------------------------------------------------------------
# specs and errors
# ---------------------------------------------------------------------------------------------


def test_parse_spec_types() -> None:
    entry, opts = parse_spec("shufflenet_v1:groups=8,scale=0.5")
    assert entry.name == "shufflenet_v1"
    assert opts == {"groups": 8, "scale": 0.5}
    assert isinstance(opts["groups"], int) and isinstance(opts["scale"], float)
    assert parse_spec("mobilenet_v1") == (get_entry("mobilenet_v1"), {})
    assert parse_spec("mobilenet_v1:width_mult=1")[1] == {"width_mult": 1.0}
    assert parse_spec("mobilenet_v1: width_mult = 0.5 ,")[1] == {"width_mult": 0.5}


@pytest.mark.parametrize(("text", "value"), [
    ("true", True), ("FALSE", False), ("1", True), ("0", False), ("yes", True), ("no", False),
])
def test_bool_options(text: str, value: bool) -> None:
    assert parse_spec(f"mobilenet_v1:separable={text}")[1] == {"separable": value}


def test_unknown_model_suggests() -> None:
    with pytest.raises(ModelSpecError) as err:
        get_entry("mobilnet_v1")
    assert str(err.value) == ("unknown model 'mobilnet_v1'; did you mean: mobilenet_v1, "
                              "mobilenet_v2?")
    with pytest.raises(ModelSpecError, match="unknown model 'shufflenet_v3'; did you mean"):
        parse_spec("shufflenet_v3:groups=3")
    with pytest.raises(ModelSpecError, match="known models: mobilenet_v1"):
        get_entry("zzzz")
    with pytest.raises(ModelSpecError):
        get_entry("")


def test_unknown_option_lists_valid_options() -> None:
    with pytest.raises(ModelSpecError) as err:
        parse_spec("shufflenet_v1:grups=8")
    msg = str(err.value)
    assert "unknown option 'grups' for shufflenet_v1" in msg
    assert "groups (int; one of 1, 2, 3, 4, 8; default 3)" in msg
    assert "scale (float; default 1.0)" in msg
    assert "num_classes (int; default 1000)" in msg
    assert "did you mean: groups" in msg


@pytest.mark.parametrize(("spec", "expected"), [
    ("shufflenet_v1:groups=5", "one of 1, 2, 3, 4, 8"),
    ("shufflenet_v1:groups=abc", "expected an integer"),
    ("shufflenet_v1:groups=3.0", "expected an integer"),
    ("mobilenet_v1:width_mult=wide", "expected a number"),
    ("mobilenet_v1:width_mult=-0.5", "positive"),
    ("mobilenet_v1:width_mult=nan", "finite"),
    ("mobilenet_v1:num_classes=0", "positive"),
    ("mobilenet_v1:separable=maybe", "bool"),
    ("mobilenet_v1:width_mult", "must look like name=value"),
    ("mobilenet_v1:width_mult=0.5,width_mult=0.75", "given twice"),
    ("resnet50:width_mult=0.5", "valid options: num_classes (int; default 1000)"),
])
def test_bad_option_values(spec: str, expected: str) -> None:
    with pytest.raises(ModelSpecError) as err:
        parse_spec(spec)
    assert expected in str(err.value)


def test_build_options() -> None:
    assert n_params(build("mobilenet_v1", width_mult=0.5)) == 1_331_592
    assert n_params(build(get_entry("mobilenet_v1"), width_mult="0.5")) == 1_331_592
    # keyword options override the spec's
    assert n_params(build("mobilenet_v1:width_mult=0.25", width_mult=0.5)) == 1_331_592
    assert n_params(build("mobilenet_v1", separable="no")) == 29_294_088
    with pytest.raises(ModelSpecError, match="unknown option 'bogus'"):
        build("mobilenet_v1", bogus=1)
    with pytest.raises(ModelSpecError, match="expected a bool"):
        build("mobilenet_v1", separable=2)
    with pytest.raises(ModelSpecError, match="expected an integer"):
        build("shufflenet_v1", groups=True)


# ---------------------------------------------------------------------------------------------
# published results
# ---------------------------------------------------------------------------------------------


def test_published_table_is_well_formed() -> None:
    rows = load_published()
    assert rows and all(isinstance(r, PublishedResult) for r in rows)
    keys = set()
    for row in rows:
        entry = get_entry(row.model)
        assert entry.name == row.model  # canonical names only
        opts = parse_spec(row.spec)[1]
        assert lookup(row.model, opts, row.input_res) == [row]  # unique and canonical
        keys.add((row.model, row.variant, row.input_res))
        assert 0 < row.top1 < 100 and row.source
        assert row.top5 is None or row.top1 < row.top5 < 100
    assert len(keys) == len(rows)
    assert {r.model for r in rows} == set(NAMES)  # every zoo model has a published top-1


def test_published_torchvision_rows_match_reference() -> None:
    meta = torchvision_meta()
    for row in load_published():
        if row.source.startswith("torchvision"):
            ref = meta[row.model]
            assert row.params == int(ref["num_params"]) == n_params(built(row.model))
            assert row.top1 == float(ref["acc1"]) and row.input_res == int(ref["crop_size"])
            assert "IMAGENET1K_V1" in row.source


PAPER_ROWS = [r for r in load_published()
              if not r.source.startswith("torchvision") and r.madds is not None]


@pytest.mark.parametrize("row", PAPER_ROWS, ids=[f"{r.spec}@{r.input_res}" for r in PAPER_ROWS])
def test_published_madds_close_to_measured(row: PublishedResult) -> None:
    # Published counts are rounded to whole millions (TF-slim: 11M at the smallest), so
    # allow 3 % or 1M, whichever is larger.
    measured = conv_linear_madds(build(row.spec), row.input_res)
    assert row.madds is not None
    assert abs(measured - row.madds) <= max(0.03 * row.madds, 1e6)


def found(model: str, options: dict[str, object] | None, res: int) -> PublishedResult:
    result = lookup_top1(model, options, res)
    assert result is not None, (model, options, res)
    return result


def test_lookup_top1() -> None:
    assert found("mobilenet_v1", {}, 224).top1 == 70.6
    assert "Table 6" in found("mobilenet_v1", {}, 224).source
    assert found("mobilenet_v1", {"width_mult": 0.5}, 160).top1 == 60.2
    assert found("mobilenet_v1", {"width_mult": 1.0}, 192).top1 == 69.1
    assert found("shufflenet_v1", {"groups": 3, "scale": 1.0}, 224).top1 == 67.4  # = defaults
    assert found("shufflenet_v1", {"scale": 0.5, "groups": 4}, 224).top1 == 58.4
    assert found("shufflenet_v2", {}, 224).model == "shufflenet_v2_x1_0"
    assert found("xception", {}, 299).top5 == 94.5
    assert lookup_top1("mobilenet_v2", {"num_classes": 10}, 224) is None
    assert lookup_top1("resnet50", None, 999) is None
    assert found("efficientnet_v2_s", {}, 384).top1 == 84.228
