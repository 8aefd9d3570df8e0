"""The notebooks under notebooks/ are committed executed, and are what their generator makes.

``notebooks/make_notebooks.py`` builds each notebook from its cell sources, runs it in a real
Jupyter kernel (nbclient, the ``python3`` kernelspec installed with ipykernel here) and writes
it with its outputs, nondeterminism stripped (see its docstring). Here:

- the committed notebooks' sources, ids and metadata are what the generator builds;
- each notebook runs again top to bottom (in a temporary folder) and its outputs equal the
  committed ones: every text output (``text/plain``, ``text/html``, streams) exactly, every
  image by format and pixel size (PNG bytes depend on the machine's font rasteriser), the
  same outputs in the same cells, execution counts 1, 2, ... in order. A change to convcost
  that alters what a notebook shows fails here until the notebooks are regenerated.
"""

from __future__ import annotations

import base64
import importlib.util
import struct
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

FOLDER = Path(__file__).parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_notebooks", FOLDER / "make_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _png_size(b64: str) -> tuple[int, int]:
    head = base64.b64decode(b64[:64])  # signature, IHDR length and type, width, height
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def _comparable(nb: Any) -> list[list[dict[str, Any]]]:
    """Each code cell's outputs as compared: texts whole, images as (format, pixel size)."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outs = []
        for out in cell.outputs:
            item: dict[str, Any] = {"type": out.output_type,
                                    "count": out.get("execution_count")}
            if out.output_type == "stream":
                item["text"] = (out.name, out.text)
            for mime, value in out.get("data", {}).items():
                item[mime] = _png_size(value) if mime == "image/png" else value
            outs.append(item)
        cells.append(outs)
    return cells


def test_there_are_three_notebooks() -> None:
    assert {p.name for p in NOTEBOOKS} >= {"accuracy_vs_cost.ipynb",
                                           "depthwise_separable_anatomy.ipynb",
                                           "shufflenet_v2_guidelines.ipynb"}


def test_committed_notebooks_are_what_the_generator_builds() -> None:
    # notebooks/make_notebooks.py is their source: an edit to one without the other fails here
    gen = _generator()
    assert set(gen.NOTEBOOKS) == {p.name for p in NOTEBOOKS}
    for path in NOTEBOOKS:
        committed = nbformat.read(path, as_version=4)
        built = gen.build(gen.NOTEBOOKS[path.name])
        assert committed.metadata == built.metadata, path.name
        assert [(c.cell_type, c.id, c.source) for c in committed.cells] == [
            (c.cell_type, c.id, c.source) for c in built.cells], path.name
        # executed and normalised: counts 1, 2, ... in order, no timing metadata
        code = [c for c in committed.cells if c.cell_type == "code"]
        assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), path.name
        assert all("execution" not in c.metadata for c in committed.cells), path.name
        images = sum(1 for c in code for o in c.outputs if "image/png" in o.get("data", {}))
        assert images >= 3, f"{path.name}: committed without its figures"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_shows_what_is_committed(path: Path) -> None:
    gen = _generator()
    committed = nbformat.read(path, as_version=4)
    fresh = gen.execute(gen.build(gen.NOTEBOOKS[path.name]), timeout=180)
    assert not any(o.output_type == "error" for c in fresh.cells if c.cell_type == "code"
                   for o in c.outputs)
    got, want = _comparable(fresh), _comparable(committed)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == w, (f"{path.name}, code cell {i + 1}: outputs differ from the committed "
                        "ones; run .venv/bin/python notebooks/make_notebooks.py")
