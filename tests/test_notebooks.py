"""Every notebook under notebooks/ runs top to bottom in a real Jupyter kernel (nbclient).

The notebooks are committed with outputs cleared; this test executes a copy in a temporary
folder (so nothing is written beside them) and checks that no cell raised. The kernel is the
``python3`` kernelspec installed with ipykernel in this environment; jupyter_client starts it
with this interpreter (``sys.executable``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_three_notebooks() -> None:
    assert {p.name for p in NOTEBOOKS} >= {"accuracy_vs_cost.ipynb",
                                           "depthwise_separable_anatomy.ipynb",
                                           "shufflenet_v2_guidelines.ipynb"}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    # committed without outputs, so a stale output can never be mistaken for a fresh one
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb.cells if c.cell_type == "code"), f"{path.name}: clear its outputs"
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError naming the cell if any cell fails
    images = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs
                 if "image/png" in o.get("data", {}))
    assert images >= 3, f"{path.name}: expected its figures, got {images}"


def test_committed_notebooks_are_what_the_generator_writes() -> None:
    # notebooks/make_notebooks.py is their source: an edit to one without the other fails here
    import importlib.util

    gen = Path(__file__).parents[1] / "notebooks" / "make_notebooks.py"
    spec = importlib.util.spec_from_file_location("make_notebooks", gen)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert set(module.NOTEBOOKS) == {p.name for p in NOTEBOOKS}
    for path in NOTEBOOKS:
        written = nbformat.writes(module.build(module.NOTEBOOKS[path.name])) + "\n"
        assert written == path.read_text(encoding="utf-8"), path.name
