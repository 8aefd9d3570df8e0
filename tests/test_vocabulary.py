"""One op vocabulary: every label any part of convcost tests for is one a counter declares, and
every family of declared labels is produced by a real model."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import convcost
from convcost.engine import REGISTRY
from convcost.engine.guidelines import (
    ACTIVATION_OPS,
    DATA_MOVEMENT_OPS,
    ELEMENTWISE_OPS,
    JOIN_OPS,
)
from convcost.engine.labels import (
    ACTIVATION_LABELS,
    CONV_TRANSPOSE_LABELS,
    ELEMENTWISE_LABELS,
    LABELS,
    LINEAR,
    Family,
    declared,
    family,
    labels,
)
from convcost.latency.roofline import NORM_OPS, POOL_OPS, TRANSCENDENTAL_OPS
from convcost.oracles.conventions import ADAPTERS, Adapter

PACKAGE = Path(__file__).resolve().parents[1] / "convcost"


def _adapter_labels() -> set[str]:
    # a key is a label or "label@ModuleClass"
    return {key.partition("@")[0] for a in ADAPTERS.values() for key in a.table}


def test_every_label_the_consumers_name_is_declared() -> None:
    used = {
        "conventions": _adapter_labels(),
        "guidelines": ACTIVATION_OPS | ELEMENTWISE_OPS | DATA_MOVEMENT_OPS | JOIN_OPS,
        "roofline": POOL_OPS | TRANSCENDENTAL_OPS | NORM_OPS,
        "breakdown / compare": {LINEAR, *CONV_TRANSPOSE_LABELS},
    }
    for where, names in used.items():
        assert names, where
        assert names <= LABELS, f"{where}: {sorted(names - LABELS)}"
    # the adapters now key most rules by the peer's own hooks and by aten op (the peers' own
    # op lists, GPU kernels included); what they key by label are the fused attention rows
    assert {"multi_head_attention", "transformer_encoder_layer"} <= used["conventions"]


def _op_compared_strings() -> list[tuple[str, int, str]]:
    """Every str literal compared with an ``.op`` attribute in the package (``r.op == "add"``,
    ``row.op in ("a", "b")``, ``node.op != "aten.addmm"``)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            membership = isinstance(node.ops[0], (ast.In, ast.NotIn))  # not "max" in node.op
            ops = [s for s in (sides[:1] if membership else sides)
                   if isinstance(s, ast.Attribute) and s.attr == "op"]
            if not ops:
                continue
            for side in sides:
                items = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
                for item in items:
                    if isinstance(item, ast.Constant) and isinstance(item.value, str):
                        found.append((path.name, node.lineno, item.value))
    return found


def test_every_literal_compared_with_an_op_is_a_label_or_an_op_key() -> None:
    # a row's op is a label, a node's op an op key: either must exist, so no test is dead code
    found = _op_compared_strings()
    assert any(text == "unused_params" for _, _, text in found)  # the scan sees guidelines.py
    stray = [(f, line, text) for f, line, text in found
             if text not in LABELS and REGISTRY.lookup(text) is None]
    assert stray == []


def test_the_label_sets_are_unions_of_families() -> None:
    assert ACTIVATION_LABELS == labels(Family.ACTIVATION) == ACTIVATION_OPS
    assert labels(Family.ACTIVATION, Family.ELEMENTWISE, Family.NORM) == ELEMENTWISE_LABELS
    # dense products, and the fused recurrent layers whose madds are their gate products
    assert labels(Family.LINEAR) == {"linear", "matmul", "addmm", "rnn", "lstm", "gru"}
    assert labels(Family.CONV) > CONV_TRANSPOSE_LABELS
    assert labels(Family.MOVEMENT, Family.FILL) == DATA_MOVEMENT_OPS  # G4 sees every mover
    assert {"repeat", "roll", "embedding", "index", "gather", "index_put", "im2col",
            "col2im"} <= labels(Family.MOVEMENT)
    assert family("gate_mul") is Family.ELEMENTWISE and family("unused_params") is Family.PARAMS
    assert "einsum" not in LABELS and "bmm" not in LABELS  # aten.einsum runs as bmm: matmul


def test_no_declared_family_is_empty() -> None:
    families = REGISTRY.families()
    assert set(families) == set(Family) - {Family.CUSTOM}  # custom: a user's ops only
    assert all(families.values())
    assert sum(len(v) for v in families.values()) == len(LABELS)  # one family per label


def test_a_stale_label_fails_where_it_is_written() -> None:
    assert declared("add", "cat") == ("add", "cat")
    with pytest.raises(KeyError, match="'einsum'"):
        declared("add", "einsum")
    with pytest.raises(KeyError, match="'bmm'"):
        Adapter(peer="p", tool="t", package="p", verified="1", metric="m",
                table={"bmm@Linear": ()}, rules=())


class EveryFamily(nn.Module):
    """One op of each family (and one parameter no op reads)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.up = nn.ConvTranspose2d(4, 4, 2, stride=2)
        self.bn = nn.BatchNorm2d(4)
        self.gn = nn.GroupNorm(2, 4)
        self.ln = nn.LayerNorm(8)
        self.fc = nn.Linear(8, 8)
        self.pool = nn.AdaptiveAvgPool2d(2)  # output 2x2: aten._adaptive_avg_pool2d
        self.unused = nn.Parameter(torch.zeros(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.gn(self.bn(self.conv(x))))  # conv, norm, activation
        y = F.max_pool2d(self.up(y), 2) + torch.exp(y)  # conv_transpose, pool, elementwise
        y = torch.cat([F.pad(y, (0, 0, 0, 0)), y.transpose(2, 3).contiguous()], 1)  # movement
        y = F.interpolate(y, scale_factor=2.0) + torch.zeros_like(F.interpolate(y, size=16))
        t = self.ln(F.adaptive_avg_pool2d(y, (8, 1)).flatten(2))  # adaptive pool: (1, 8, 8)
        t = torch.softmax(self.fc(t) @ t.transpose(1, 2), -1)  # linear, matmul, softmax
        t = F.scaled_dot_product_attention(t[:, None], t[:, None], t[:, None])
        spectrum = torch.fft.rfft(t, dim=-1).abs()  # spectral
        return t.sum(-1) + self.pool(y).mean() + spectrum.mean()  # reduction


def test_a_model_produces_every_family() -> None:
    # on the CPU, attention runs as one fused kernel (on meta, PyTorch may take the math path)
    a = convcost.analyze(EveryFamily(), (1, 4, 8, 8), device="cpu")
    assert a.unsupported == {}
    assert {r.op for r in a.rows} <= LABELS
    assert {family(r.op) for r in a.rows} == set(Family) - {Family.CUSTOM}


def test_the_vocabulary_imports_no_torch() -> None:
    code = "import sys, convcost.engine.labels\nprint('torch' in sys.modules)\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert proc.stdout.strip() == "False", proc.stdout
