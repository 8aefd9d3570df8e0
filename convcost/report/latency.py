"""``convcost bench``'s tables: measured latency per model (and its prediction), and time per
module beside its cost."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcost.report.tables import Table
from convcost.report.units import megabytes, shape_text, si


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v:,.3f}" if v < 10 else f"{v:,.1f}"


def summary_table(records: list[dict[str, Any]], predict: bool) -> Any:
    cols = ["model", "input", "device", "threads", "median ms", "IQR ms", "samples/s", "runs"]
    if predict:
        cols += ["predicted ms", "error"]
    t = Table(title="Measured latency", columns=cols, right_align=frozenset(range(3, len(cols))))
    for r in records:
        cells = [r["model"], shape_text(r["input"]), r["device"], str(r["threads"]),
                 _ms(r["median_ms"]), _ms(r["iqr_ms"]), f"{r['throughput']:,.1f}",
                 str(r["runs"])]
        raw: list[object] = [r["model"], shape_text(r["input"], "x"), r["device"],
                             r["threads"], r["median_ms"], r["iqr_ms"], r["throughput"],
                             r["runs"]]
        if predict:
            p, err = r.get("predicted_ms"), r.get("predicted_error")
            cells += [_ms(p), "—" if err is None else f"{err:+.0%}"]
            raw += [p, err]
        t.add(cells, raw)
    t.raw_columns = [c.replace(" ", "_") for c in cols]
    t.notes.append("median and interquartile range (q3 − q1) of the timed runs; eval mode, "
                   "torch.inference_mode, random weights and input")
    return t


def layers_table(rec: dict[str, Any]) -> Any:
    layers = rec.get("layers", [])
    pred = any("predicted_ms" in x for x in layers)
    cols = ["module", "class", "ops", "measured ms", "madds", "mem MB"]
    if pred:
        cols.append("predicted ms")
    t = Table(title=f"{rec['model']} {shape_text(rec['input'])}: time per module "
              "(torch.profiler, self time)", columns=cols,
              right_align=frozenset(range(3, len(cols))))
    for x in layers:
        cells = [x["name"] or "(root)", x["module"], ",".join(x["ops"]), _ms(x["measured_ms"]),
                 si(x["madds"]), megabytes(x["mem_bytes"])]
        raw: list[object] = [rec["model"], x["name"], x["module"], ",".join(x["ops"]),
                             x["measured_ms"], x["madds"], x["mem_bytes"]]
        if pred:
            cells.append(_ms(x.get("predicted_ms")))
            raw.append(x.get("predicted_ms"))
        t.add(cells, raw)
    t.raw_columns = ["model", "name", "module", "ops", "measured_ms", "madds", "mem_bytes",
                     *(["predicted_ms"] if pred else [])]
    return t


def bench_tables(records: Sequence[dict[str, Any]], predict: bool, layers: bool,
                 merged: bool = False) -> list[Table]:
    """The summary table, then with ``layers`` one table per model's modules; ``merged``
    (for CSV) gives one table of every model's modules instead, with a model column."""
    summary = summary_table(list(records), predict)
    if not layers:
        return [summary]
    per_model = [layers_table(r) for r in records]
    if merged:
        one = per_model[0]
        for t in per_model[1:]:
            one.raw_rows.extend(t.raw_rows)
        return [one]
    return [summary, *per_model]


__all__ = ["bench_tables", "layers_table", "summary_table"]
