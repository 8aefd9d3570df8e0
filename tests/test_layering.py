"""The import direction of DESIGN.md: the formulas layer is standard library only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "convcost"
HEAVY = ("torch", "pandas", "matplotlib", "numpy", "rich", "typer")


def test_importing_convcost_and_formulas_pulls_no_heavy_module() -> None:
    code = (
        "import sys\n"
        "import convcost, convcost.formulas, convcost.errors\n"
        "from convcost.formulas import conv, separable_comparison\n"
        "separable_comparison(512, 512, 3, 14)\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert proc.stdout.strip() == "[]", proc.stdout


def test_formulas_source_imports_only_stdlib_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"convcost"}
    for path in sorted((PACKAGE / "formulas").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in allowed, f"{path.name} imports {name}"
                if top == "convcost":
                    assert name.startswith(("convcost.formulas", "convcost.errors")), (
                        f"{path.name} imports {name}: formulas may use only itself and errors"
                    )


def test_latency_model_and_scores_pull_no_torch() -> None:
    # the roofline (from cost rows) and the scores are arithmetic: no torch to import
    code = ("import sys\n"
            "import convcost.latency.roofline, convcost.latency.fit, convcost.engine.guidelines\n"
            "print('torch' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert proc.stdout.strip() == "False", proc.stdout
