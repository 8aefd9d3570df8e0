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


# --- the package's import graph -----------------------------------------------------------------

# DESIGN.md's layers, lowest first: a module may import its own layer and the layers below it
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "formulas", "files", "specs"),  # standard library only
    ("graph", "engine"),  # pure Python over the formulas
    ("capture", "zoo"),  # torch
    ("records",),  # result records (plain data)
    ("resolve", "api"),  # one model-spec resolver; convcost.analyze
    ("oracles", "latency"),  # the peers and the timed runs
    ("report",),  # renders records; never runs an analysis
    ("studies", "plots"),  # use cases; convcost.plots gathers figures and their points
    ("cli", "__main__"),  # parse -> use case -> render -> exit code
)
# the only imports that go up a layer: convenience renderers on result records, imported
# when called (as pandas' DataFrame.to_html imports its formatter), never at import time
PRESENTATION_CONVENIENCES = {
    ("convcost.records.analysis", "convcost.report.layers"): "Analysis.to_markdown, _repr_html_",
    ("convcost.records.analysis", "convcost.report.tables"): "Analysis.to_csv, to_markdown",
    ("convcost.records.summary", "convcost.report.summary"): "Summary.__str__",
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _target(name: str) -> str | None:
    """The convcost module (file) an imported name lives in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported convcost module, imported at module level?) for every import that runs:
    module level and inside functions; ``if TYPE_CHECKING:`` blocks left out."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            nested = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                    ast.Lambda))
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                # `from convcost.report import plots` imports the submodule plots
                names = [f"{child.module}.{a.name}" for a in child.names]
            for name in names:
                if name.split(".")[0] == "convcost":
                    target = _target(name)
                    if target is not None:
                        found.append((target, top))
            visit(child, nested)

    visit(ast.parse(path.read_text()), True)
    return found


EDGES = {mod: _imports(path) for mod, path in MODULES.items()}


def _layer(module: str) -> int | None:
    part = module.split(".")[1] if "." in module else ""
    for i, names in enumerate(LAYERS):
        if part in names:
            return i
    return None  # the package's own __init__: the lazy public facade


def test_every_module_has_a_layer() -> None:
    assert [m for m in MODULES if m != "convcost" and _layer(m) is None] == []


def test_imports_flow_down_the_layers() -> None:
    upward = []
    for mod, imports in EDGES.items():
        here = _layer(mod)
        for target, _top in imports:
            there = _layer(target)
            if here is None or there is None or there <= here:
                continue
            if (mod, target) not in PRESENTATION_CONVENIENCES:
                upward.append(f"{mod} -> {target}")
    assert upward == []


def test_report_imports_no_analysis_zoo_capture_or_latency() -> None:
    # report/ renders records; it never resolves a model, runs an analysis or times anything,
    # not even in a function (TYPE_CHECKING annotations aside)
    forbidden = ("convcost.api", "convcost.zoo", "convcost.capture", "convcost.latency",
                 "convcost.resolve", "convcost.studies", "convcost.oracles")
    bad = [f"{mod} -> {t}" for mod, imports in EDGES.items() if mod.startswith("convcost.report")
           for t, _ in imports if t.startswith(forbidden)]
    assert bad == []


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return out


def test_no_import_cycles_between_files() -> None:
    # at import time (module-level imports; a package __init__ re-exporting its own
    # submodules is Python's package pattern, seen here as that package's edges)
    at_import = {m: {t for t, top in imps if top and t != m} for m, imps in EDGES.items()}
    assert _cycles(at_import) == []
    # and with every import a function makes when called, the conveniences aside
    called = {m: {t for t, _ in imps if t != m and (m, t) not in PRESENTATION_CONVENIENCES}
              for m, imps in EDGES.items()}
    assert _cycles(called) == []


def test_the_graph_walk_sees_imports() -> None:
    # the walk itself: a lazy import, a module-level one, TYPE_CHECKING left out
    api = dict(EDGES["convcost.api"])
    assert api["convcost.capture"] is True and api["convcost.resolve"] is True
    assert ("convcost.report.layers", False) in EDGES["convcost.records.analysis"]
    assert all(t != "convcost.capture" for t, _ in EDGES["convcost.records.analysis"])
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
