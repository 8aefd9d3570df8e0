"""Peak memory by liveness: the engine's replay derived by hand, the ``memory`` use case, and
``convcost memory`` / ``compare --train`` / ``plot memory`` (how close to a real CPU run:
tests/test_memory_measured.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import convcost
from convcost.cli import app
from convcost.engine.memory import (
    ALLOCATORS,
    CATEGORIES,
    Category,
    Event,
    Lifetimes,
    Param,
    by_category,
    cpu_workspace,
    optimizer_state,
    optimizer_step,
    parse_size,
    simulate,
)
from convcost.errors import InvalidArgumentError
from convcost.graph import BACKWARD, FORWARD, Node
from convcost.resolve import resolve
from convcost.studies.memory import memory

runner = CliRunner()


# --- the engine ---------------------------------------------------------------------------------

def test_allocator_rounding() -> None:
    cpu, cuda, exact = ALLOCATORS["cpu"], ALLOCATORS["cuda"], ALLOCATORS["exact"]
    # the CPU allocator's 64-byte blocks; the caching allocator's 512-byte ones; empty: nothing
    assert [cpu.held(n) for n in (0, 1, 64, 100, 129)] == [0, 64, 64, 128, 192]
    assert [cuda.held(n) for n in (0, 1, 512, 513)] == [0, 512, 512, 1024]
    assert [exact.held(n) for n in (0, 1, 100)] == [0, 1, 100]


def test_parse_size() -> None:
    assert parse_size("8GiB") == 8 * 2**30 and parse_size("8 GB") == 8 * 10**9
    assert parse_size("512MiB") == 2**29 and parse_size("1.5e9") == 1_500_000_000
    assert parse_size(4096) == 4096
    for bad in ("lots", "8 GiBs", "-1GB", "0", "nan", "2EiB"):
        with pytest.raises(InvalidArgumentError):
            parse_size(bad)


def test_replay_by_hand() -> None:
    # a weight of 1000 bytes and an input of 100; op 0 makes 400 bytes, op 1 makes 200 and
    # then op 0's output goes; op 2 makes 50
    lt = Lifetimes(
        resident={1: 1000, 2: 100},
        events=(Event(0, 10, 400), Event(1, 11, 200), Event(1, 10, -400), Event(2, 12, 50)),
        roles={1: Category.PARAMETERS, 2: Category.INPUTS},
    )
    s = simulate(lt, "exact")
    # the peak is during op 1: 1000 + 100 + 400 + 200 = 1,700
    assert s.peak_bytes == 1_700 and s.peak.at == 1
    assert by_category(s.peak) == {"parameters": 1000, "gradients": 0, "optimizer_state": 0,
                                   "saved_for_backward": 0, "other_activations": 600,
                                   "inputs": 100}
    assert s.start.total == 1_100 and s.end.total == 1_100 + 200 + 50
    # the CPU allocator's blocks: 1024 + 128 + 448 + 256 = 1,856
    assert simulate(lt, "cpu").peak_bytes == 1_856
    assert [m.at for m in s.timeline] == [0, 1, 2]
    with pytest.raises(InvalidArgumentError, match="backward"):
        simulate(lt, "exact", "adam")


def _first_node(module: nn.Module, shape: tuple[int, ...]) -> Node:
    a = convcost.analyze(module, shape, memory=True)
    assert a.lifetimes is not None
    return a.lifetimes.nodes[0]


def test_cpu_convolution_workspace_by_hand() -> None:
    # ShuffleNetV2's stem, 3→24, 3×3, stride 2 on 4×3×224×224: the image is not reordered;
    # the weight with 24 → 32 output channels (32·3·9·4 = 3,456 bytes) and the output in
    # blocks (4·32·112²·4 = 6,422,528) are held, then the blocked output beside the returned
    # one (4·24·112²·4 = 4,816,896): beyond it, max(3,456 + 6,422,528 − 4,816,896, 6,422,528)
    stem = _first_node(nn.Conv2d(3, 24, 3, 2, 1, bias=False), (4, 3, 224, 224))
    assert cpu_workspace(stem) == 6_422_528
    # a depthwise 3×3 on 2×58×28×28: input and output padded to 64 channels (401,408 bytes
    # each), the weight to 64·9·4 = 2,304: 401,408 + 2,304 + 401,408 − 2·58·28²·4 (363,776)
    dw = _first_node(nn.Conv2d(58, 58, 3, 1, 1, groups=58, bias=False), (2, 58, 28, 28))
    assert cpu_workspace(dw) == 441_344
    # a dense 20→36 3×3 on 2×20×16×16, measured holding 65,536 + 55,296 + 98,304 bytes:
    # input 2·32·256·4, weight 48·32·9·4, output 2·48·256·4; less the output's 73,728
    dense = _first_node(nn.Conv2d(20, 36, 3, 1, 1, bias=False), (2, 20, 16, 16))
    assert cpu_workspace(dense) == 65_536 + 55_296 + 98_304 - 73_728
    # on an AVX2 CPU (blocks of 8): 2·24·256·4 + 40·24·9·4 + 2·40·256·4 − 73,728 = 91,904
    assert cpu_workspace(dense, block=8) == 91_904
    # a grouped 3×3 (3 groups of 8, stride 2) on 4×24×112×112: its channels are not padded;
    # input 4,816,896 + weight 6,912 + output 1,204,224, less the output
    grouped = _first_node(nn.Conv2d(24, 24, 3, 2, 1, groups=3, bias=False), (4, 24, 112, 112))
    assert cpu_workspace(grouped) == 4_816_896 + 6_912
    # 1×1 convolutions run without one
    pw = _first_node(nn.Conv2d(64, 64, 1), (2, 64, 8, 8))
    assert cpu_workspace(pw) == 0


def test_optimizer_state_and_step_by_hand() -> None:
    params = [Param("a", 1, 400, grad=5), Param("frozen", 2, 100), Param("b", 3, 800, grad=6)]
    assert optimizer_state("sgd", params) == []
    assert [n for _, n in optimizer_state("momentum", params)] == [400, 800]
    # Adam: exp_avg and exp_avg_sq per trained parameter, and a float32 step counter
    assert sum(n for _, n in optimizer_state("adam", params)) == 2 * 1_200 + 2 * 4
    assert optimizer_step("sgd", params) == optimizer_step("momentum", params) == []
    held, high = 0, 0
    for _, _, n in optimizer_step("adam", params):
        held += n
        high = max(high, held)
    # a's sqrt and denominator (800), then b's while a's denominator is kept: 400 + 800 + 800
    assert high == 2_000 and held == 0
    with pytest.raises(InvalidArgumentError, match="optimizer must be one of"):
        optimizer_state("lion", params)


# --- the recorded runs, derived by hand ---------------------------------------------------------

MLP = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
# parameters: (4·8 + 8 + 8·2 + 2)·4 = 232 bytes; the input 3×4: 48


def test_mlp_inference_by_hand() -> None:
    a = convcost.analyze(MLP, (3, 4), memory=True)
    assert a.lifetimes is not None
    s = simulate(a.lifetimes, "exact")
    # during the ReLU: the first Linear's output (3·8·4 = 96) and the ReLU's (96) together;
    # nn.Sequential rebinds its variable after the ReLU, so the first goes before the last
    # Linear makes its 3·2·4 = 24
    assert s.peak_bytes == 232 + 48 + 96 + 96 == 472
    assert a.lifetimes.nodes[s.peak.at].op == "aten.relu"
    assert by_category(s.peak)["other_activations"] == 192


def test_mlp_training_by_hand() -> None:
    a = convcost.analyze(MLP, (3, 4), memory=True, backward=True)
    assert a.lifetimes is not None
    s = simulate(a.lifetimes, "exact", "sgd")
    # during the ReLU's backward: alive are the output (24), the loss (4) and its seed (4),
    # the last Linear's weight and bias gradients (64 + 8), the ReLU's output saved for
    # backward (96), the gradient it receives (96) and the one it makes (96)
    assert s.peak_bytes == 232 + 48 + 24 + 4 + 4 + 72 + 96 + 96 + 96 == 672
    assert a.lifetimes.nodes[s.peak.at].op == "aten.threshold_backward"
    assert by_category(s.peak) == {"parameters": 232, "gradients": 72, "optimizer_state": 0,
                                   "saved_for_backward": 96, "other_activations": 224,
                                   "inputs": 48}
    adam = simulate(a.lifetimes, "exact", "adam")
    # Adam: state 2·232 + 4·4 = 480 from the start; the peak is its step on the first weight
    # (128 bytes: sqrt and denominator, 256), with every gradient (232), the output and loss
    assert adam.peak_bytes == 232 + 232 + 480 + 24 + 4 + 256 + 48 == 1_276
    assert adam.where(adam.peak.at) == "0.weight"


def test_categories_add_up_and_inference_has_no_training_state() -> None:
    r = memory("resnet18", [(3, 64, 64)], batch=2, train=True)
    for peak in (r.inference, r.peak):
        assert sum(peak.by_category.values()) == peak.bytes
        assert list(peak.by_category) == [c.value for c in CATEGORIES]
    inf = r.inference.by_category
    assert inf["gradients"] == inf["optimizer_state"] == inf["saved_for_backward"] == 0
    train = r.peak.by_category
    assert train["optimizer_state"] >= 2 * 4 * 11_689_512  # Adam: two moments of every weight
    # here Adam's step is the peak: every gradient, and the step's temporaries
    assert r.peak.phase == "optimizer" and train["gradients"] >= 4 * 11_689_512
    assert r.backward_flops is not None and r.backward_flops > r.forward_flops
    assert r.timeline[0].index == -1 and r.timeline[-1].phase == "optimizer"
    sgd = memory("resnet18", [(3, 64, 64)], batch=2, train=True, optimizer="sgd")
    # with SGD the backward pass is the peak: activations saved for it, gradients growing
    assert sgd.peak.phase == "backward" and sgd.peak.by_category["optimizer_state"] == 0
    assert sgd.peak.by_category["saved_for_backward"] > 0


def test_peak_grows_with_the_batch_and_fit_finds_the_largest() -> None:
    small = memory("mobilenet_v2", [(3, 64, 64)], batch=1, train=True, optimizer="sgd")
    large = memory("mobilenet_v2", [(3, 64, 64)], batch=8, train=True, optimizer="sgd")
    assert large.peak.bytes > small.peak.bytes
    budget = (small.peak.bytes + large.peak.bytes) // 2
    r = memory("mobilenet_v2", [(3, 64, 64)], train=True, optimizer="sgd", fit=budget)
    assert r.fit is not None and 1 <= r.fit.max_batch < 8
    b = r.fit.max_batch
    assert r.fit.tried[b] <= budget < r.fit.tried[b + 1]
    tiny = memory("mobilenet_v2", [(3, 64, 64)], fit="1MiB")
    assert tiny.fit is not None and tiny.fit.max_batch == 0 and tiny.fit.peak_bytes is None


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 2)
        self.fc.bias.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.bn(self.conv(x)).mean((2, 3)))


def test_the_model_is_left_as_it_was() -> None:
    model = Net()
    opt = torch.optim.Adam(p for p in model.parameters() if p.requires_grad)
    model(torch.randn(2, 3, 8, 8)).sum().backward()
    opt.step()  # the user's own optimizer, with state
    state = {id(p): {k: v.clone() for k, v in s.items()} for p, s in opt.state.items()}
    grads = {n: p.grad for n, p in model.named_parameters()}
    values = {n: p.detach().clone() for n, p in model.named_parameters()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    model.train()
    for device in ("meta", "cpu"):
        r = memory(model, [(3, 8, 8)], batch=2, train=True, device=device)
        assert r.training is not None
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    assert all(p.grad is grads[n] for n, p in model.named_parameters())
    assert all(torch.equal(p.detach(), values[n]) for n, p in model.named_parameters())
    assert all(m.training for m in model.modules())
    for p, s in opt.state.items():
        assert all(torch.equal(v, state[id(p)][k]) for k, v in s.items())


# --- the command line ---------------------------------------------------------------------------

CONTRACT = {"inference_peak_bytes", "training_peak_bytes", "peak_op", "by_category",
            "forward_flops", "backward_flops"}


def test_cli_json_has_the_contract_keys() -> None:
    r = runner.invoke(app, ["memory", "resnet18", "--input", "3x64x64", "--batch", "2",
                            "--train", "--optimizer", "momentum", "--format", "json"])
    assert r.exit_code == 0, r.output
    (m,) = json.loads(r.stdout)["models"]
    assert set(m) >= CONTRACT
    assert m["input"] == [2, 3, 64, 64] and m["optimizer"] == "momentum"
    assert set(m["by_category"]) == {c.value for c in CATEGORIES}
    assert sum(m["by_category"].values()) == m["training_peak_bytes"]
    assert m["training"]["peak_bytes"] == m["training_peak_bytes"]
    assert m["inference"]["peak_bytes"] == m["inference_peak_bytes"]
    plain = runner.invoke(app, ["memory", "mobilenet_v2", "--format", "json"])
    (p,) = json.loads(plain.stdout)["models"]
    assert "training_peak_bytes" not in p and p["backward_flops"] is None
    assert set(p) >= CONTRACT - {"training_peak_bytes"}


def test_cli_table_md_csv_and_fit(tmp_path: Path) -> None:
    r = runner.invoke(app, ["memory", "resnet18", "mobilenet_v2", "--input", "64", "--train",
                            "--fit", "1GiB"])
    assert r.exit_code == 0, r.output
    assert "training peak" in r.stdout and "max batch" in r.stdout
    assert "the largest batch whose training step fits 1.00 GiB" in r.stdout
    md = runner.invoke(app, ["memory", "resnet18", "--input", "64", "--format", "md"])
    assert md.stdout.startswith("| model | input | inference peak |")
    out = tmp_path / "m.csv"
    csv = runner.invoke(app, ["memory", "resnet18", "--input", "64", "--format", "csv",
                              "--out", str(out)])
    assert csv.exit_code == 0 and out.read_text().startswith("model,input,inference_peak_bytes")


MODEL_FILE = '''
import torch.nn as nn


class ArgMax(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc(x).argmax(-1)
'''


@pytest.mark.parametrize("args", [
    ["--optimizer", "lion"],
    ["--batch", "0"],
    ["--batch", "100000000000000000000"],
    ["--fit", "lots"],
    ["--fit", "0GiB"],
    ["--allocator", "tpu"],
], ids=["optimizer", "batch-zero", "batch-overflow", "fit-text", "fit-zero", "allocator"])
def test_cli_bad_input_is_one_line_exit_2(args: list[str]) -> None:
    r = runner.invoke(app, ["memory", "resnet18", *args])
    assert r.exit_code == 2, r.output
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("convcost: error:")


def test_cli_no_differentiable_output(tmp_path: Path) -> None:
    path = tmp_path / "argmax.py"
    path.write_text(MODEL_FILE)
    r = runner.invoke(app, ["memory", f"{path}:ArgMax", "--input", "16:float32", "--train"])
    assert r.exit_code == 2
    assert "no differentiable output" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    ok = runner.invoke(app, ["memory", f"{path}:ArgMax", "--input", "16:float32"])
    assert ok.exit_code == 0, ok.output  # inference needs no gradient


def test_compare_train_adds_training_columns() -> None:
    r = runner.invoke(app, ["compare", "mobilenet_v1", "shufflenet_v2", "--input", "64",
                            "--train", "--format", "json"])
    assert r.exit_code == 0, r.output
    models = json.loads(r.stdout)["models"]
    # parameter tensors: MobileNet V1 has 27 convs (no bias) + 27 BatchNorms (weight, bias)
    # + the classifier (weight, bias) = 27 + 54 + 2 = 83
    tensors = {"mobilenet_v1": 83, "shufflenet_v2": 170}
    for m in models:
        t = m["training"]
        assert t["optimizer"] == "adam"  # --train alone: the default optimizer
        # the step's flops are the phases of the same training step analysed alone
        phases = convcost.analyze(m["model"], (1, 3, 64, 64), backward=True).by_phase()
        assert (t["forward_flops"], t["backward_flops"]) == (phases[FORWARD].flops,
                                                             phases[BACKWARD].flops)
        # the peak is in optimizer.step(), every gradient held; Adam's state is exp_avg and
        # exp_avg_sq of each gradient's size (the same 64-byte blocks) and a 4-byte float32
        # step counter per parameter tensor, in a 64-byte block of its own
        n = len(list(resolve(m["model"], "meta").module.parameters()))
        assert n == tensors[m["model"]]
        cats = t["by_category"]
        assert t["peak"]["phase"] == "optimizer"
        assert cats["optimizer_state"] == 2 * cats["gradients"] + 64 * n
        assert sum(cats.values()) == t["peak_bytes"]
    md = runner.invoke(app, ["compare", "mobilenet_v1", "shufflenet_v2", "--input", "64",
                             "--train", "--format", "md"])
    assert md.exit_code == 0, md.output
    assert "| train peak | train FLOPs |" in md.stdout
    bad = runner.invoke(app, ["compare", "mobilenet_v1", "--train", "--optimizer", "lion"])
    assert bad.exit_code == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "optimizer must be one of" in bad.stderr


def test_plot_memory(tmp_path: Path) -> None:
    out = tmp_path / "memory.png"
    r = runner.invoke(app, ["plot", "memory", "resnet18", "--input", "64", "--batch", "2",
                            "--train", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:4] == b"\x89PNG"
    missing = runner.invoke(app, ["plot", "memory", "--out", str(out)])
    assert missing.exit_code == 2 and "plot memory takes one MODEL" in missing.stderr


def test_the_replay_imports_no_torch() -> None:
    code = "import sys, convcost.engine.memory\nprint('torch' in sys.modules)\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert proc.stdout.strip() == "False", proc.stdout
