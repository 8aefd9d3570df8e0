"""One model-spec resolver for the API, every use case and the CLI: the same specs work
everywhere, with the same errors, and a spec is parsed once."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from torch import nn
from typer.testing import CliRunner

import convcost
from convcost import studies
from convcost.cli import app
from convcost.errors import ConvcostError
from convcost.resolve import Resolved, resolve

runner = CliRunner()

NET = textwrap.dedent("""
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)

        def forward(self, x):
            return self.conv(x)

    def factory():
        return Net()

    def broken():
        raise RuntimeError("factory exploded")
""")
# Conv2d(3, 8, 3, padding=1) on 1×3×16×16: 16·16 positions × 8 outputs × 3·3·3 taps
NET_MADDS = 16 * 16 * 8 * 27  # 55,296


@pytest.fixture
def net_file(tmp_path: Path) -> str:
    path = tmp_path / "net.py"
    path.write_text(NET)
    return str(path)


@pytest.fixture
def net_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    pkg = tmp_path / "userpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "nets.py").write_text(NET)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "userpkg.nets"


def _cli_madds(spec: str, *extra: str) -> int:
    r = runner.invoke(app, ["layers", spec, *extra, "-f", "json"])
    assert r.exit_code == 0, r.stderr
    return int(json.loads(r.stdout)["totals"]["madds"])


@pytest.mark.parametrize("attr", ["Net", "factory"])
def test_user_file_spec_works_in_the_api_and_the_cli(net_file: str, attr: str) -> None:
    spec = f"{net_file}:{attr}"
    a = convcost.analyze(spec, (1, 3, 16, 16))
    assert a.totals.madds == NET_MADDS == _cli_madds(spec, "-i", "16")
    assert a.model == spec
    assert studies.summary(spec, (1, 3, 16, 16)).totals.mult_adds == NET_MADDS


def test_package_module_spec(net_package: str) -> None:
    spec = f"{net_package}:factory"
    assert convcost.analyze(spec, (1, 3, 16, 16)).totals.madds == NET_MADDS
    assert _cli_madds(spec, "-i", "16") == NET_MADDS


def test_zoo_spec_with_options_is_the_same_everywhere() -> None:
    spec = "mobilenet_v1:width_mult=0.5"
    a = convcost.analyze(spec)  # the zoo's own input, 1×3×224×224
    assert a.input == (1, 3, 224, 224)
    assert a.totals.madds == _cli_madds(spec)
    (c,) = studies.compare([spec])
    assert c.analysis.totals == a.totals
    assert c.top1 == 63.7  # MobileNet paper, Table 6: 0.50 MobileNet-224


def test_a_module_passes_through_untouched() -> None:
    model = nn.Linear(4, 2)
    r = resolve(model)
    assert r.module is model and r.name == "Linear" and r.default_input is None
    assert resolve(r) is r  # already resolved: used as it is
    with pytest.raises(ConvcostError, match="give its input size"):
        r.input_sizes()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nosuchmodel", "unknown model 'nosuchmodel'"),
        ("mobilenet_v1:width=0.5", "unknown option 'width' for mobilenet_v1"),
        ("mobilenet_v1:width_mult=abc", "expected a number"),
        ("missing_dir/none.py:Net", "does not exist"),
        ("{f}:Nope", "has no attribute 'Nope'"),
        ("{f}:broken", "factory exploded"),
        ("", "non-empty"),
    ],
)
def test_api_and_cli_give_the_same_errors(net_file: str, spec: str, message: str) -> None:
    spec = spec.format(f=net_file)
    with pytest.raises(ConvcostError) as caught:
        convcost.analyze(spec, (1, 3, 16, 16))
    assert message in str(caught.value)
    r = runner.invoke(app, ["layers", spec, "-i", "16"])
    assert r.exit_code == 2
    line = " ".join(str(caught.value).split())
    assert r.stderr == f"convcost: error: {line}\n"


def test_a_spec_is_parsed_once_on_the_compare_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import convcost.zoo as zoo

    calls: list[str] = []
    real = zoo.parse_spec

    def counting(spec: str):  # type: ignore[no-untyped-def]
        calls.append(spec)
        return real(spec)

    monkeypatch.setattr(zoo, "parse_spec", counting)
    items = studies.compare(["shufflenet_v1:groups=8"], [(3, 160, 160), (3, 224, 224)])
    assert [c.analysis.input for c in items] == [(1, 3, 160, 160), (1, 3, 224, 224)]
    assert calls == ["shufflenet_v1:groups=8"]
    r = runner.invoke(app, ["compare", "shufflenet_v1:groups=8", "-i", "160", "-i", "224",
                            "-f", "json"])
    assert r.exit_code == 0
    assert calls == ["shufflenet_v1:groups=8"] * 2  # once more: the CLI's own run


def test_resolved_carries_the_parsed_spec() -> None:
    r = resolve("shufflenet_v1:groups=8,scale=0.5")
    assert isinstance(r, Resolved)
    assert r.entry is not None and r.entry.name == "shufflenet_v1"
    assert r.options == {"groups": 8, "scale": 0.5}
    assert r.input_sizes(["160"], batch=4) == [(4, 3, 160, 160)]
    assert next(r.module.parameters()).is_meta  # meta by default: nothing allocated
    assert not next(resolve("shufflenet_v1", "cpu").module.parameters()).is_meta
