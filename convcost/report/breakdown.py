"""Per-layer breakdown reports: the data (DataFrames), Markdown, self-contained HTML, and an
atomic writer for a report folder (``convcost report MODEL --out reports/NAME/``).

Arithmetic intensity here is **multiply-adds per byte of memory access** (``madds /
mem_bytes``, no fusion, at the analysed dtype) — the unit of the papers' costs; FLOPs per byte
would be about twice that for conv and linear ops.

The *cost by layer type* table follows the MobileNet paper's Table 2 ("resource per layer
type"): convs are named by kind and kernel (``Conv 1×1``, ``Conv DW 3×3``, ``Conv 3×3``), the
linear layer is ``Fully connected``. Its parameter share is given two ways: of all parameters
(BatchNorm and biases included, as :attr:`Analysis.totals` counts them) and of the conv/linear
*weights* only, which is how the paper counts (its shares reproduce only that way: for
MobileNet V1, 3,139,584 1×1 weights / 4,209,088 weights = 74.59 %, vs 74.19 % of all
4,231,976 parameters).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcost.engine.labels import CONV_TRANSPOSE_LABELS, LINEAR
from convcost.errors import InvalidArgumentError
from convcost.files import MANIFEST as MARKER
from convcost.files import check_report_folder, write_report_folder
from convcost.formulas import numel
from convcost.report.layers import layers_table, unsupported_note
from convcost.report.tables import (
    Table,
    markdown_text,
    to_csv,
    to_html,
    to_html_transposed,
    to_markdown,
)
from convcost.report.units import megabytes, shape_text, si

if TYPE_CHECKING:
    import pandas as pd

    from convcost.engine import Row
    from convcost.records.analysis import Analysis
    from convcost.records.compare import Compared
    from convcost.report.plots import Roofs

PLOT_NAMES = ("per_layer", "cumulative", "roofline")
PLOT_TITLES = {
    "per_layer": "Multiply-adds and memory access per layer",
    "cumulative": "Cumulative cost along the network",
    "roofline": "Roofline: every op by arithmetic intensity (FLOPs per byte)",
}


# --- classification ----------------------------------------------------------------------------

def _positions(row: Row, channel_axis: int) -> int:
    """Output positions per output channel (N·H·W for a conv, N for a linear layer)."""
    out = row.out_shape
    return numel(out) // out[channel_axis] if out and out[channel_axis] else 0


def weights(row: Row) -> int:
    """The conv / linear weights of an op, bias excluded (0 for other ops): a conv's
    ``C_in·C_out/g·∏k`` from its row's shapes, kernel and groups; a linear layer's one weight
    per multiply-add of an output row (``madds / output positions``)."""
    if row.op == LINEAR:
        pos = _positions(row, -1)
        return row.cost.madds // pos if pos else 0
    if row.conv_kind and row.kernel is not None and row.groups and row.in_shapes:
        c_in, c_out = row.in_shapes[0][1], row.out_shape[1]
        return c_in * c_out // row.groups * math.prod(row.kernel)
    return 0


def layer_type(row: Row) -> str:
    """The paper-style layer type: ``Conv 1×1``, ``Conv DW 3×3``, ``Conv 3×3`` (a
    non-square kernel by its taps: ``Conv 7-tap``), ``Conv grouped``, ``Fully connected``;
    other ops keep their op label (``batch_norm``)."""
    if row.op == LINEAR:
        return "Fully connected"
    if not row.conv_kind:
        return row.op
    if row.conv_kind == "pointwise":
        return "Conv 1×1"
    if row.conv_kind == "grouped" or row.op in CONV_TRANSPOSE_LABELS:
        transposed = " (transposed)" if row.op in CONV_TRANSPOSE_LABELS else ""
        return f"Conv {row.conv_kind}{transposed}"
    kernel = row.kernel or ()
    square = len(kernel) == 2 and kernel[0] == kernel[1]
    size = f"{kernel[0]}×{kernel[1]}" if square else f"{math.prod(kernel)}-tap"
    return f"Conv DW {size}" if row.conv_kind == "depthwise" else f"Conv {size}"


# --- data --------------------------------------------------------------------------------------

def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


def layer_frame(a: Analysis) -> pd.DataFrame:
    """One row per op: identity, shapes, costs, arithmetic intensity (madds per byte),
    share of the total multiply-adds and memory access, cumulative share of multiply-adds."""
    import pandas as pd

    t = a.totals
    records = []
    cum = 0
    for r in a.rows:
        c = r.cost
        cum += c.madds
        records.append({
            "index": r.index, "name": r.name, "module": r.module, "op": r.op,
            "conv_kind": r.conv_kind or "", "layer_type": layer_type(r),
            "in_shapes": " ".join(shape_text(s) for s in r.in_shapes),
            "out_shape": shape_text(r.out_shape),
            "params": c.params, "weights": weights(r), "madds": c.madds, "flops": c.flops,
            "mem_bytes": c.mem_bytes,
            "intensity": c.madds / c.mem_bytes if c.mem_bytes else 0.0,
            "madds_pct": _pct(c.madds, t.madds), "cum_madds_pct": _pct(cum, t.madds),
            "mem_pct": _pct(c.mem_bytes, t.mem_bytes),
        })
    return pd.DataFrame.from_records(records)


def layer_type_frame(a: Analysis) -> pd.DataFrame:
    """Cost by layer type (MobileNet paper Table 2 style), most multiply-adds first."""
    import pandas as pd

    t = a.totals
    groups: dict[str, dict[str, Any]] = {}
    for r in a.rows:
        g = groups.setdefault(layer_type(r), {"ops": 0, "params": 0, "weights": 0, "madds": 0,
                                              "mem_bytes": 0})
        g["ops"] += 1
        g["params"] += r.cost.params
        g["weights"] += weights(r)
        g["madds"] += r.cost.madds
        g["mem_bytes"] += r.cost.mem_bytes
    total_weights = sum(g["weights"] for g in groups.values())
    records = [
        {"layer_type": name, **g, "madds_pct": _pct(g["madds"], t.madds),
         "params_pct": _pct(g["params"], t.params),
         "weights_pct": _pct(g["weights"], total_weights),
         "mem_pct": _pct(g["mem_bytes"], t.mem_bytes),
         "intensity": g["madds"] / g["mem_bytes"] if g["mem_bytes"] else 0.0}
        for name, g in groups.items()
    ]
    records.sort(key=lambda d: (-d["madds"], -d["mem_bytes"], d["layer_type"]))
    return pd.DataFrame.from_records(records)


# --- tables ------------------------------------------------------------------------------------

def _shape_text(text: str) -> str:
    return text.replace(" ", ", ")


def layer_table(a: Analysis) -> Table:
    """The per-layer table of the report."""
    df = layer_frame(a)
    table = Table(
        title="",
        columns=("#", "layer", "op", "input", "output", "params", "mult-adds", "memory",
                 "madds/B", "% mult-adds", "cum. %", "% memory"),
        right_align=frozenset({0, 5, 6, 7, 8, 9, 10, 11}),
    )
    for rec in df.to_dict("records"):
        op = f"{rec['op']} {rec['conv_kind']}".strip()
        table.add([str(rec["index"]), rec["name"] or "(root)", op, _shape_text(rec["in_shapes"]),
                   rec["out_shape"], si(rec["params"]), si(rec["madds"]),
                   megabytes(rec["mem_bytes"], 3),
                   f"{rec['intensity']:.2f}" if rec["madds"] else "—",
                   f"{rec['madds_pct']:.2f}%", f"{rec['cum_madds_pct']:.1f}%",
                   f"{rec['mem_pct']:.2f}%"])
    t = a.totals
    table.add(["", "total", "", "", "", si(t.params), si(t.madds), megabytes(t.mem_bytes, 3),
               f"{t.madds / t.mem_bytes:.2f}" if t.mem_bytes else "—", "100.00%", "", "100.00%"])
    return table


def layer_type_table(a: Analysis) -> Table:
    """The cost-by-layer-type table of the report."""
    df = layer_type_frame(a)
    table = Table(
        title="",
        columns=("layer type", "ops", "mult-adds", "% mult-adds", "params", "% params",
                 "% weights", "memory", "% memory", "madds/B"),
        right_align=frozenset(range(1, 10)),
    )
    for rec in df.to_dict("records"):
        table.add([rec["layer_type"], str(rec["ops"]), si(rec["madds"]),
                   f"{rec['madds_pct']:.2f}%", si(rec["params"]), f"{rec['params_pct']:.2f}%",
                   f"{rec['weights_pct']:.2f}%" if rec["weights"] else "—",
                   megabytes(rec["mem_bytes"], 2), f"{rec['mem_pct']:.2f}%",
                   f"{rec['intensity']:.2f}" if rec["madds"] else "—"])
    table.notes.append(
        "% params: of all parameters (BatchNorm and biases included); % weights: of the "
        "conv/linear weights only, biases excluded — the MobileNet paper's Table 2 convention.")
    return table


def findings(a: Analysis) -> list[str]:
    """Plain-language lines: where the multiply-adds sit vs where the bytes move."""
    df = layer_type_frame(a)
    lines = []
    convs = df[df["madds"] > 0]
    for rec in convs.head(3).to_dict("records"):
        ops = f"{rec['ops']} op{'s' if rec['ops'] > 1 else ''}"
        lines.append(f"{rec['layer_type']} ({ops}): {rec['madds_pct']:.1f}% of the "
                     f"multiply-adds, {rec['mem_pct']:.1f}% of the memory access, "
                     f"{rec['intensity']:.2f} multiply-adds per byte")
    free = df[df["madds"] == 0]
    if len(free):
        lines.append(f"ops without multiply-adds ({', '.join(free['layer_type'].head(6))}): "
                     f"{free['mem_pct'].sum():.1f}% of the memory access")
    note = unsupported_note(a)
    return lines if note is None else [*lines, note]


# --- report ------------------------------------------------------------------------------------

def _slug(text: str, limit: int = 48) -> str:
    """A file-name-safe stand-in for a model name; a long one (a deep path to user code) is
    cut and given a short hash of the whole, so names stay unique and short."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.") or "model"
    if len(slug) <= limit:
        return slug
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    return f"{slug[-(limit - 9):].lstrip('_.')}_{digest}"


@dataclass(frozen=True)
class Section:
    """One model of a report: its analysis, published top-1 and the plots' file names."""

    item: Compared
    slug: str

    @property
    def analysis(self) -> Analysis:
        return self.item.analysis

    def image(self, plot: str) -> str:
        return f"{self.slug}_{plot}.png"


def sections(items: Sequence[Compared]) -> list[Section]:
    """One section per model, with file-name slugs unique within the report."""
    several_inputs = len({c.analysis.input for c in items}) > 1
    out, seen = [], set()
    for c in items:
        a = c.analysis
        slug = _slug(a.model + (f"_{a.input[-1]}" if several_inputs else ""))
        base, k = slug, 2
        while slug in seen:
            slug, k = f"{base}_{k}", k + 1
        seen.add(slug)
        out.append(Section(c, slug))
    return out


def _header_lines(s: Section) -> list[tuple[str, str]]:
    a, t = s.analysis, s.analysis.totals
    top1 = (f"{s.item.top1:.1f}% ({s.item.top1_source})" if s.item.top1 is not None
            else "not in the zoo's published table")
    return [
        ("input", f"{shape_text(a.input)} ({a.dtype})"),
        ("parameters", f"{si(t.params)} ({t.params:,})"),
        ("multiply-adds", f"{si(t.madds)} ({t.madds:,})"),
        ("FLOPs", f"{si(t.flops)} ({t.flops:,})"),
        ("memory access", f"{megabytes(t.mem_bytes)} ({t.mem_bytes:,} bytes: "
                          f"{t.mem_read_bytes:,} read, {t.mem_write_bytes:,} written)"),
        ("peak activation (lower bound)", megabytes(a.peak_activation_bytes())),
        ("arithmetic intensity", f"{t.madds / t.mem_bytes:.2f} multiply-adds per byte"
         if t.mem_bytes else "—"),
        ("published top-1", top1),
    ]


def _intro(secs: Sequence[Section]) -> str:
    from convcost import __version__

    how = ("analytically on the meta device: no weights, no timing"
           if all(s.analysis.device == "meta" for s in secs) else
           "from a real forward pass for the recording (no timing)")
    return (f"Generated by convcost {__version__} (`convcost report`), {how}. Memory access "
            "counts every op's reads and writes without fusion; arithmetic intensity is "
            "multiply-adds per byte in the tables and FLOPs per byte in the roofline.")


# the comparison's figures; model figures are SLUG_per_layer.png etc., so these never clash
COMPARISON_IMAGES = {
    "comparison_bars.png": "Cost of each model relative to the first",
    "comparison_overlay.png": "Cumulative multiply-adds and memory access of each model",
}


def comparison(secs: Sequence[Section]) -> Table:
    """The side-by-side table that opens a report of several models
    (:func:`convcost.report.compare.compare_table`)."""
    from convcost.report.compare import compare_table

    return compare_table([s.item for s in secs])


def render_markdown(secs: Sequence[Section], title: str) -> str:
    """The report as Markdown; images are referenced by file name (beside report.md). A
    report of several models opens with their comparison."""
    out = [f"# {markdown_text(title)}", "", markdown_text(_intro(secs)), ""]
    if len(secs) > 1:
        out += ["## Comparison", "", to_markdown(comparison(secs)).rstrip(), ""]
        out += [f"![{alt}]({name})\n" for name, alt in COMPARISON_IMAGES.items()]
        out += ["Models: " + ", ".join(f"[{markdown_text(s.analysis.model)}]"
                                        f"(#{_anchor(s.analysis.model)})"
                                        for s in secs), ""]
    for s in secs:
        a = s.analysis
        out += [f"## {markdown_text(a.model)}", ""]
        out += [f"- **{k}**: {markdown_text(v)}" for k, v in _header_lines(s)]
        out += ["", "### Cost by layer type", "", to_markdown(layer_type_table(a)).rstrip(), ""]
        out += [f"- {markdown_text(line)}" for line in findings(a)]
        out += ["", "### Plots", ""]
        for p in PLOT_NAMES:
            out += [f"![{PLOT_TITLES[p]}]({s.image(p)})", ""]
        out += ["### Per-layer table", "", to_markdown(layer_table(a)).rstrip(), ""]
    return "\n".join(out).rstrip() + "\n"


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces → -."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


# Responsive: the page never scrolls sideways. Tables scroll inside their own box (the
# per-layer one also vertically, its header row sticky); figures fit the page on a wide
# screen and keep their pixel size in a sideways-scrolling box on a narrow one, where the
# comparison is shown turned (one column per model).
_CSS = """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;
margin:0 auto;padding:1em 1.25em 3em;color:#222;line-height:1.45;overflow-wrap:break-word}
h1{font-size:1.6em;line-height:1.25}
h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:0.2em}
.table{max-width:100%;overflow:auto;border:1px solid #e4e4e4;margin:0.5em 0 1em}
.table.tall{max-height:40em}
table{border-collapse:collapse;font-size:12px}
th,td{border-bottom:1px solid #e4e4e4;padding:3px 8px;white-space:nowrap;text-align:left}
th{background:#f4f4f4;position:sticky;top:0;z-index:1}
.r{text-align:right;font-variant-numeric:tabular-nums}
.narrow tbody th,td.w{white-space:normal}
.narrow tbody th{min-width:5.5em}
td.w{min-width:8em}
small{color:#555}
figure{margin:0.75em 0 1.5em;max-width:100%;overflow-x:auto}
figure img{max-width:100%;height:auto;display:block}
figcaption{font-size:0.85em;color:#555}
nav a{margin-right:0.75em}
code{background:#f4f4f4;padding:0 3px}
.narrow{display:none}
@media (max-width:720px){
body{padding:0.75em 0.75em 2em;font-size:15px}
h1{font-size:1.3em}
h2{font-size:1.2em}
figure img{max-width:none}
figcaption::after{content:" (scroll sideways)"}
.wide{display:none}
.narrow{display:block}
}
""".strip()


def _figure(data: bytes, caption: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    cap = html.escape(caption)
    return (f"<figure><img alt='{cap}' src='data:image/png;base64,{b64}'>"
            f"<figcaption>{cap}</figcaption></figure>")


def render_html(secs: Sequence[Section], title: str, images: dict[str, bytes]) -> str:
    """The report as one self-contained, responsive HTML page (PNG images embedded as
    base64). A report of several models opens with their comparison: the table of
    ``convcost compare`` side by side (turned on a narrow screen) and the overlay plots."""
    out = ["<!DOCTYPE html>",
           "<html lang='en'><head><meta charset='utf-8'>",
           "<meta name='viewport' content='width=device-width, initial-scale=1'>",
           f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{html.escape(title)}</h1>", f"<p>{html.escape(_intro(secs))}</p>"]
    if len(secs) > 1:
        table = comparison(secs)
        out.append("<h2 id='comparison'>Comparison</h2>")
        out.append("<div class='wide'>" + to_html(table, notes=False) + "</div>")
        out.append("<div class='narrow'>" + to_html_transposed(table) + "</div>")
        out.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in table.notes)
                   + "</ul>")
        out += [_figure(images[name], alt) for name, alt in COMPARISON_IMAGES.items()]
        out.append("<nav>Models: " + "".join(
            f"<a href='#{html.escape(s.slug)}'>{html.escape(s.analysis.model)}</a>"
            for s in secs) + "</nav>")
    for s in secs:
        a = s.analysis
        out.append(f"<h2 id='{html.escape(s.slug)}'>{html.escape(a.model)}</h2><ul>")
        out += [f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in
                _header_lines(s)]
        out.append("</ul><h3>Cost by layer type</h3>")
        out.append(to_html(layer_type_table(a)))
        out.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in findings(a)) + "</ul>")
        out.append(f"<h3 id='{html.escape(s.slug)}-plots'>Plots</h3>")
        out += [_figure(images[s.image(p)], PLOT_TITLES[p]) for p in PLOT_NAMES]
        out.append(f"<h3 id='{html.escape(s.slug)}-layers'>Per-layer table</h3>")
        out.append(to_html(layer_table(a)).replace("<div class='table'>",
                                                   "<div class='table tall'>", 1))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render_images(secs: Sequence[Section], dpi: int = 100,
                  roofs: Roofs | None = None) -> dict[str, bytes]:
    """PNG bytes of every section's plots, by file name, and with several models the
    comparison's (:data:`COMPARISON_IMAGES`). ``roofs``: the machine of the roofline
    (default :data:`convcost.report.plots.DEFAULT_ROOFS`)."""
    from convcost.report import plots
    from convcost.report.compare import display_names

    images = {}
    if len(secs) > 1:
        analyses = [s.analysis for s in secs]
        names = display_names(analyses)
        images["comparison_bars.png"] = plots.figure_png(
            plots.compare_bars(analyses, labels=names), dpi=dpi)
        images["comparison_overlay.png"] = plots.figure_png(
            plots.cumulative_overlay(analyses, labels=names), dpi=dpi)
    for s in secs:
        a = s.analysis
        images[s.image("per_layer")] = plots.figure_png(plots.per_layer_cost(a), dpi=dpi)
        images[s.image("cumulative")] = plots.figure_png(plots.cumulative_cost(a), dpi=dpi)
        images[s.image("roofline")] = plots.figure_png(plots.roofline_scatter(a, roofs),
                                                       dpi=dpi)
    return images


REPORT_FORMATS = ("md", "html", "json", "csv")
"""What a report folder can hold: ``md`` (report.md and its PNGs), ``html`` (report.html,
self-contained), ``json`` (report.json: each model's ``layers --format json`` object with its
top-1 and where its multiply-adds sit), ``csv`` (one ``<model>_layers.csv`` per model)."""


def check_formats(formats: Sequence[str]) -> list[str]:
    """The report formats asked for, lower-cased, each once; anything outside
    :data:`REPORT_FORMATS` (or nothing) is bad input."""
    wanted = list(dict.fromkeys(f.lower() for f in formats))
    unknown = [f for f in wanted if f not in REPORT_FORMATS]
    if unknown or not wanted:
        raise InvalidArgumentError(f"report --format takes {', '.join(REPORT_FORMATS)} (repeat "
                                   f"for several), got {', '.join(map(repr, unknown)) or 'none'}")
    return wanted


def write_report(items: Sequence[Compared], out: str | Path, *, force: bool = False,
                 title: str | None = None, dpi: int = 100,
                 roofs: Roofs | None = None,
                 formats: Sequence[str] = ("md", "html")) -> list[Path]:
    """Write the report into the folder ``out`` in ``formats`` (:data:`REPORT_FORMATS`;
    default ``report.md`` with its PNGs and ``report.html``); ``roofs`` are the machine the
    roofline is drawn for (default: the documented defaults).

    Atomic: everything is written into a temporary folder beside ``out`` and renamed into
    place at the end, so an interrupted run leaves no half-written report. An existing ``out``
    is replaced only with ``force=True`` (else :class:`InvalidArgumentError`). Returns the
    written files.
    """
    if not items:
        raise InvalidArgumentError("a report needs at least one model")
    wanted = check_formats(formats)
    out = Path(out)
    check_report_folder(out, force)
    secs = sections(items)
    title = title or "convcost report: " + ", ".join(s.analysis.model for s in secs)
    files: dict[str, bytes] = {}
    if "md" in wanted or "html" in wanted:
        images = render_images(secs, dpi, roofs)
        if "md" in wanted:
            files["report.md"] = render_markdown(secs, title).encode("utf-8")
        if "html" in wanted:
            files["report.html"] = render_html(secs, title, images).encode("utf-8")
        if "md" in wanted:
            files.update(images)
    if "json" in wanted:
        files["report.json"] = (json.dumps({"title": title, "models": [
            {**s.analysis.to_dict(),
             **{k: v for k, v in s.item.record().items()
                if k in ("top1", "top1_source", "madds_share", "peak_activation_bytes")}}
            for s in secs]}, indent=2) + "\n").encode("utf-8")
    if "csv" in wanted:
        for s in secs:
            files[f"{s.slug}_layers.csv"] = to_csv(layers_table(s.analysis, "layer", None)
                                                   ).encode("utf-8")
    return write_report_folder(out, files)


__all__ = ["COMPARISON_IMAGES", "MARKER", "PLOT_NAMES", "REPORT_FORMATS", "Section",
           "check_formats", "check_report_folder", "comparison", "findings", "layer_frame",
           "layer_table", "layer_type", "layer_type_frame", "layer_type_table", "render_html",
           "render_images", "render_markdown", "sections", "weights", "write_report"]
