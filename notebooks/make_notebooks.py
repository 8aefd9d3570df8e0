"""Writes the notebooks of this folder from the cell sources below, executed, with outputs.

Run ``.venv/bin/python notebooks/make_notebooks.py`` after editing a cell here (or after a
change to convcost that alters what a notebook shows): it builds each notebook, runs it top
to bottom in a fresh ``python3`` kernel (nbclient) in a temporary folder, and writes it with
its outputs, so GitHub shows the figures and tables.

What would change from run to run is stripped (:func:`normalize`): execution counts are
numbered 1, 2, ... in cell order, no timing metadata is recorded, the kernel's
``language_info`` (its Python version) is replaced by a fixed one, cell ids are fixed
(``cell-00`` ...). Figures are PNGs written without a timestamp. The suite
(tests/test_notebooks.py) checks that the committed sources are what this file builds, and
runs every notebook again comparing its outputs with the committed ones: text outputs
(``text/plain``, ``text/html``, streams) exactly, images by format and pixel size (their
bytes depend on the font rasteriser of the machine).

The notebooks use convcost's public API only.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).parent

SHOW = """\
from IPython.display import Image, display

import convcost
from convcost import plots


def show(fig):
    \"\"\"Display a convcost figure (matplotlib Figure objects, no pyplot) as a PNG.\"\"\"
    display(Image(plots.figure_png(fig)))
"""

ACCURACY = [
    ("md", """\
# Accuracy vs cost across the zoo

Every published ImageNet result in convcost's zoo table (`convcost/data/published.csv`:
papers' tables and torchvision's weights), placed at the cost convcost **computes** for that
exact variant and input size: multiply-adds, parameters and memory access. The Pareto frontier
is the set of models that no other model beats on both cost and top-1.

The command-line equivalent is `convcost plot accuracy --x madds --out acc.png`."""),
    ("code", SHOW),
    ("code", """\
points = plots.zoo_points()          # ~70 variants, analysed on the meta device
len(points), points[0]"""),
    ("code", """\
import pandas as pd

df = pd.DataFrame([p.as_dict() for p in points])
df[["spec", "resolution", "top1", "params", "madds", "mem_bytes"]].head(12)"""),
    ("md", """\
## Top-1 against multiply-adds

Log x-axis. Each family has a colour; the dashed staircase is the Pareto frontier, listed on
the right. Labels that would overlap are left out (the frontier's are placed first)."""),
    ("code", """\
fig, frontier = plots.accuracy_vs_cost(points, "madds")
show(fig)"""),
    ("code", """\
[(p.label, round(p.madds / 1e6, 1), p.top1) for p in frontier]"""),
    ("md", """\
## Against parameters and against memory access

Parameters favour grouped convs and small classifiers (five ShuffleNet V1 variants and three
MobileNet V1 widths are on this frontier, which mostly differs from the multiply-adds one,
where lower input resolutions win at no cost in parameters); memory access — every op's reads and writes
without fusion, the quantity ShuffleNet V2 argues for — favours ShuffleNet V2, whose units move
little data per multiply-add."""),
    ("code", """\
fig, frontier_params = plots.accuracy_vs_cost(points, "params")
show(fig)"""),
    ("code", """\
fig, frontier_mem = plots.accuracy_vs_cost(points, "mem_bytes")
show(fig)"""),
    ("code", """\
on = {x: {p.spec + f"@{p.resolution}" for p in f}
      for x, f in (("madds", frontier), ("params", frontier_params), ("mem_bytes", frontier_mem))}
sorted(on["mem_bytes"] - on["madds"])   # on the memory frontier but not the multiply-adds one"""),
    ("md", """\
## Measured latency

`accuracy_vs_cost(points, "latency_ms")` takes measured latency once it is attached with
`plots.with_latency(points, {"mobilenet_v1": 4.2, ...})` (milliseconds by spec, e.g. from
`convcost bench`). Without measurements it says so instead of plotting zeros:"""),
    ("code", """\
try:
    plots.accuracy_vs_cost(points, "latency_ms")
except convcost.ConvcostError as exc:
    print(exc)"""),
]

ANATOMY = [
    ("md", """\
# The anatomy of depthwise-separable convolution

A standard Dk×Dk convolution from M to N channels on an F×F map costs `Dk²·M·N·F²`
multiply-adds. MobileNet replaces it with a Dk×Dk depthwise conv (`Dk²·M·F²`) and a 1×1
pointwise conv (`M·N·F²`), so the ratio is `1/N + 1/Dk²` (arXiv:1704.04861, eq. 5). This
notebook checks that closed form exactly, shows where it stops describing the cost (memory
access), and looks at MobileNet V1 layer by layer."""),
    ("code", SHOW),
    ("code", """\
from convcost.formulas import separable_comparison

c = separable_comparison(512, 512, 3, 14)   # one of MobileNet V1's 14×14 layers
c.exact_ratio, c.closed_form, float(c.exact_ratio)"""),
    ("code", """\
{k: round(float(v), 4) for k, v in c.ratios(c.separable).items()}"""),
    ("md", """\
Multiply-adds drop 8.8×, parameters too, but memory access much less: the separable pair
writes and re-reads a 512×14×14 intermediate map, and both maps dominate once the weights
are small.

## The ratio over N and Dk

Left: the exact ratio (M = N, F = 14). Right: exact multiply-adds (markers) on the closed form
(lines) — they coincide, the spatial size cancels — and the memory-access ratio (dotted),
which is far above it and even above 1 for narrow layers."""),
    ("code", """\
show(plots.separable_ratio_surface())"""),
    ("md", """\
## MobileNet V1, layer by layer

The paper's Table 2 ("resource per layer type") reproduced from the model's rows: 1×1 convs
hold 94.86 % of the multiply-adds and 74.59 % of the weights. (The paper prints 1.19 % for the
3×3 stem, which makes its four rows sum to 99.29 %; the stem's share is 1.91 %.)"""),
    ("code", """\
from convcost import breakdown
from convcost.zoo import build

a = convcost.analyze(build("mobilenet_v1"), (1, 3, 224, 224), name="mobilenet_v1")
types = breakdown.layer_type_frame(a)
types[["layer_type", "ops", "madds_pct", "weights_pct", "params_pct", "mem_pct",
       "intensity"]].round(2)"""),
    ("md", """\
The multiply-adds sit in the 1×1 convs, but the memory traffic does not: depthwise convs move
14.5 % of the bytes for 3 % of the multiply-adds, and the BatchNorm and ReLU ops that cost no
multiply-adds at all move more than half of the bytes (without fusion)."""),
    ("code", """\
show(plots.per_layer_cost(a))"""),
    ("code", """\
show(plots.cumulative_cost(a))"""),
    ("md", """\
## Why depthwise layers are memory-bound

Arithmetic intensity = FLOPs per byte moved. A 3×3 depthwise conv does 9 multiply-adds (18
FLOPs) per output value and moves at least 8 bytes for it (one fp32 read, one write), so it
cannot exceed about 2 FLOPs per byte; pointwise convs reach 10-60. The roofline below places
every op at its intensity and at the FLOP/s the machine's roofs allow there (marker area ∝ its
FLOPs). With the default roofs (a 2-core CPU: 136 GB/s while the data stays in cache) the
depthwise convs reach their own peak, which the convolution library keeps at a fifth of the
dense one; from memory beyond the cache (17 GB/s, dotted) they are memory-bound, as are the
BatchNorm and ReLU ops at any bandwidth. `roofline_scatter(a, roofs)` takes your device's
numbers (a `convcost.report.plots.Roofs`); `convcost report` uses this machine's from
`convcost calibrate`."""),
    ("code", """\
show(plots.roofline_scatter(a))"""),
    ("code", """\
layers = breakdown.layer_frame(a)
layers.groupby("conv_kind")["intensity"].agg(["min", "median", "max"]).round(2)"""),
    ("md", """\
## Separable vs standard, whole network

`mobilenet_v1:separable=false` is the paper's "Conv MobileNet" (Table 4): 29.3 M parameters
and 4866 M multiply-adds for 1.1 points more top-1."""),
    ("code", """\
dense = convcost.analyze(build("mobilenet_v1:separable=false"), (1, 3, 224, 224),
                         name="mobilenet_v1:separable=false")
show(plots.compare_bars([dense, a]))"""),
    ("code", """\
{f: round(getattr(a.totals, f) / getattr(dense.totals, f), 3)
 for f in ("params", "madds", "mem_bytes")}"""),
    ("md", """\
## Width and resolution multipliers

α scales channels (multiply-adds ~α², the depthwise part only ~α), ρ scales the input
(multiply-adds ~ρ²). Dashed: the closed form α²·ρ² from the 1.0-224 model; labels: published
top-1 (Tables 6 and 7)."""),
    ("code", """\
show(plots.width_resolution_sweep("mobilenet_v1"))"""),
]

GUIDELINES = [
    ("md", """\
# ShuffleNet V2's guidelines on the zoo

Ma et al. 2018 (arXiv:1807.11164) argue that multiply-adds ("FLOPs") are an indirect measure of
speed and give four guidelines, mostly about **memory access cost** (MAC):

* G1: equal channel widths minimise MAC (at fixed multiply-adds);
* G2: excessive group convolution increases MAC;
* G3: network fragmentation (many small ops) reduces parallelism;
* G4: element-wise ops (ReLU, add, bias, concat, shuffle copies) are not negligible.

G1 and G2 are formulas; G3 and G4 can be read off every zoo model's op list."""),
    ("code", SHOW),
    ("md", """\
## G1: equal channel widths

The paper's Table 1 setting: a 1×1 conv on a 56×56 map with the multiply-adds of c1 = c2 = 128,
for c1:c2 = 1:1, 1:2, 1:6, 1:12. MAC is in elements: `h·w·(c1 + c2) + c1·c2`."""),
    ("code", """\
import pandas as pd

from convcost.formulas import (channels_for_ratio, grouped_pointwise_mac,
                               pointwise_mac_lower_bound)

B = 56 * 56 * 128 * 128
g1 = pd.DataFrame([vars(channels_for_ratio(56, 56, B, r)) | {"ratio": f"{r[0]}:{r[1]}"}
                   for r in ((1, 1), (1, 2), (1, 6), (1, 12))])
g1["MAC / bound"] = g1["mac"] / pointwise_mac_lower_bound(56, 56, B)
g1"""),
    ("md", """\
## G2: group convolution

At fixed multiply-adds B and input width c1, MAC = `h·w·c1 + B·g/c1 + B/(h·w)` grows with the
number of groups g (the output width grows as g to keep B fixed)."""),
    ("code", """\
g2 = pd.DataFrame({"groups": [1, 2, 4, 8]})
g2["MAC"] = [grouped_pointwise_mac(56, 56, 128, B, g) for g in g2["groups"]]
g2["vs g=1"] = g2["MAC"] / g2["MAC"][0]
g2.round(3)"""),
    ("md", """\
## G3 and G4 across the zoo

For each model at its default input: how many ops it runs, how many of them are convs, and the
share of memory access in ops that do no multiply-adds (normalisation, activations, adds,
concatenation, the shuffle's copy) — G4's "element-wise" cost."""),
    ("code", """\
from convcost import breakdown
from convcost.zoo import build, list_entries

names = ["mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "shufflenet_v1",
         "shufflenet_v2_x1_0", "squeezenet1_1", "mnasnet1_0", "efficientnet_b0", "resnet18",
         "googlenet"]
rows = []
for name in names:
    entry = next(e for e in list_entries() if e.name == name)
    a = convcost.analyze(build(name), (1, *entry.default_input), name=name)
    types = breakdown.layer_type_frame(a)
    free = types[types["madds"] == 0]
    rows.append({"model": name, "ops": len(a.rows),
                 "convs": sum(1 for r in a.rows if r.conv_kind),
                 "madds (M)": a.totals.madds / 1e6, "memory (MB)": a.totals.mem_bytes / 1e6,
                 "elementwise % of memory": free["mem_pct"].sum(),
                 "madds per byte": a.totals.madds / a.totals.mem_bytes})
zoo = pd.DataFrame(rows).set_index("model")
zoo.round(2)"""),
    ("code", """\
fig = plots.new_figure(9, 4.2)
ax = fig.add_subplot()
order = zoo.sort_values("elementwise % of memory")
ax.barh(order.index, order["elementwise % of memory"], color="C3")
ax.set_xlabel("% of memory access in ops without multiply-adds (no fusion)")
ax.set_xlim(0, 100)
ax.set_title("G4: element-wise ops move most of the bytes")
for y, v in enumerate(order["elementwise % of memory"]):
    ax.annotate(f"{v:.0f}%", (v, y), xytext=(3, 0), textcoords="offset points", va="center",
                fontsize=8)
show(fig)"""),
    ("md", """\
Without fusion, every network here spends more than half of its memory traffic outside the
convolutions. Inference engines fuse BatchNorm into the conv and the activation into its
producer, which is why ShuffleNet V2's unit also removes the add (concat instead) and keeps
the ReLU on one branch only.

## Cost per byte: who follows the guidelines

Multiply-adds per byte of memory access (higher = more compute per byte moved), against
multiply-adds."""),
    ("code", """\
fig = plots.new_figure(8.5, 4.8)
ax = fig.add_subplot()
ax.scatter(zoo["madds (M)"], zoo["madds per byte"], color="C0")
ax.set_xscale("log")
ax.set_xticks([150, 200, 300, 500, 1000, 2000], ["150", "200", "300", "500", "1000", "2000"])
ax.set_xticks([], minor=True)
ax.set_xlabel("multiply-adds (M) — log scale")
ax.set_ylabel("multiply-adds per byte of memory access")
ax.set_ylim(0, zoo["madds per byte"].max() * 1.2)
plots.place_labels(ax, list(zoo["madds (M)"]), list(zoo["madds per byte"]), list(zoo.index))
show(fig)"""),
    ("md", """\
And the accuracy side: top-1 against memory access, the cost ShuffleNet V2 optimises."""),
    ("code", """\
points = plots.zoo_points(names, variants=False)
fig, frontier = plots.accuracy_vs_cost(points, "mem_bytes", labels="all")
show(fig)
[p.label for p in frontier]"""),
]

NOTEBOOKS = {
    "accuracy_vs_cost.ipynb": ACCURACY,
    "depthwise_separable_anatomy.ipynb": ANATOMY,
    "shufflenet_v2_guidelines.ipynb": GUIDELINES,
}


KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
LANGUAGE_INFO = {"name": "python"}


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """The notebook of ``cells``, not executed (no outputs)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    for i, (kind, src) in enumerate(cells):
        cell = (nbformat.v4.new_markdown_cell(src) if kind == "md"
                else nbformat.v4.new_code_cell(src))
        cell["id"] = f"cell-{i:02d}"  # stable ids: regenerating gives identical files
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def execute(nb: nbformat.NotebookNode, timeout: int = 300) -> nbformat.NotebookNode:
    """``nb`` run top to bottom in a fresh ``python3`` kernel, in a temporary folder (nothing
    is written beside the notebooks), then :func:`normalize`-d. A failing cell raises
    nbclient's ``CellExecutionError`` naming it."""
    import tempfile

    import nbclient

    with tempfile.TemporaryDirectory() as tmp:
        client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=timeout,
                                         record_timing=False,
                                         resources={"metadata": {"path": tmp}})
        client.execute()
    return normalize(nb)


def normalize(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip what changes from run to run: execution counts renumbered in cell order, no
    execution metadata, the kernel's language_info replaced by the fixed one."""
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    count = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        for out in cell.outputs:
            if "execution_count" in out:
                out["execution_count"] = count
            out.get("metadata", {}).pop("execution", None)
    nbformat.validate(nb)
    return nb


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nbformat.write(execute(build(cells)), HERE / name)
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
