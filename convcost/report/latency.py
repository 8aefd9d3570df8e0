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
    several_inputs = len({tuple(r["input"]) for r in records}) > 1
    t = Table(title="Measured latency", columns=cols, right_align=frozenset(range(3, len(cols))),
              # model (and input, when inputs differ) identify a row; then the median and
              # the prediction, the spread and throughput, the set-up last
              priority=[0, 0 if several_inputs else 4, 4, 3, 1, 2, 2, 5,
                        *((1, 1) if predict else ())],
              transpose=True)
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
    t.notes.extend(measurement_notes(records))
    return t


def _times(r: float) -> str:
    """A ratio of medians as "1.3× faster" / "1.3× slower" (this / that)."""
    return f"{1 / r:.2f}× faster" if r < 1 else f"{r:.2f}× slower"


FAULTY_RUN = 50
"""Page faults per run from which a note names the model (each costs about a microsecond)."""


def heap_notes(records: Sequence[dict[str, Any]]) -> list[str]:
    """The heap the runs were timed with and their page faults per run
    (:mod:`convcost.latency.heap`); the models that faulted many pages, named."""
    faults = [(r["model"], float(r["page_faults"])) for r in records if "page_faults" in r]
    if not faults:
        return []
    heaps = sorted({str(r.get("heap", "system")) for r in records})
    lo, hi = min(f for _, f in faults), max(f for _, f in faults)
    span = f"{lo:,.0f}" if round(lo) == round(hi) else f"{lo:,.0f}–{hi:,.0f}"
    note = (f"heap: {', '.join(heaps)} ("
            + ("freed memory kept mapped" if heaps == ["warm"] else "the C library's own")
            + f"); page faults per timed run: {span}")
    many = [f"{m} {f:,.0f}" for m, f in faults if f >= FAULTY_RUN]
    out = [note]
    if many:
        out.append("page faults per run: " + ", ".join(many) + " (memory handed back to the "
                   "system and faulted in again on every run: "
                   + ("--heap warm keeps it mapped)" if "system" in heaps else
                      "blocks above 32 MiB, which glibc always maps afresh)"))
    return out


def measurement_notes(records: Sequence[dict[str, Any]]) -> list[str]:
    """The noise of the runs, and each model against the first of its input: a ratio when
    the measurement tells them apart, "not significant" when their intervals overlap."""
    notes = []
    noise = [r["noise"] for r in records if r.get("noise") is not None]
    if noise:
        rounds = max(int(r.get("rounds", 1)) for r in records)
        outliers = sum(int(r.get("outliers", 0)) for r in records)
        notes.append(
            f"noise (robust spread of the runs, 1.4826·MAD / median): "
            f"{min(noise):.1%}–{max(noise):.1%}" if len(noise) > 1 else
            f"noise (robust spread of the runs, 1.4826·MAD / median): {noise[0]:.1%}")
        notes[-1] += (f"; {rounds} interleaved rounds; {outliers} outlying runs set aside; "
                      "a difference counts only when the 95 % intervals of the medians "
                      "do not overlap")
    notes.extend(heap_notes(records))
    for r in records:
        d = r.get("vs_first")
        if not d:
            continue
        span = f"{d['ratio_low']:.2f}–{d['ratio_high']:.2f}× its time"
        if d["significant"]:
            notes.append(f"{r['model']} runs {_times(d['ratio'])} than {d['model']} "
                         f"({span})")
        else:
            notes.append(f"{r['model']} vs {d['model']}: difference not significant (the "
                         f"intervals overlap; {span})")
    return notes


def layers_table(rec: dict[str, Any]) -> Any:
    """Time per module, slowest first, with the prediction and its error when there is one,
    and a total line."""
    layers = sorted(rec.get("layers", []), key=lambda x: -x["measured_ms"])
    pred = any("predicted_ms" in x for x in layers)
    cols = ["module", "class", "ops", "measured ms", "madds", "mem MB"]
    if pred:
        cols += ["predicted ms", "error"]
    t = Table(title=f"{rec['model']} {shape_text(rec['input'])}: time per module "
              "(torch.profiler, self time), slowest first", columns=cols,
              right_align=frozenset(range(3, len(cols))),
              priority=[0, 3, 4, 1, 2, 2, *((1, 1) if pred else ())], wrap=frozenset({2}))
    for x in layers:
        cells = [x["name"] or "(root)", x["module"], ",".join(x["ops"]), _ms(x["measured_ms"]),
                 si(x["madds"]), megabytes(x["mem_bytes"])]
        raw: list[object] = [rec["model"], x["name"], x["module"], ",".join(x["ops"]),
                             x["measured_ms"], x["madds"], x["mem_bytes"]]
        if pred:
            err = x.get("error")
            cells += [_ms(x.get("predicted_ms")), "—" if err is None else f"{err:+.0%}"]
            raw += [x.get("predicted_ms"), err]
        t.add(cells, raw)
    total = rec.get("layers_total")
    if total:
        cells = ["total", "", "", _ms(total["measured_ms"]), si(total["madds"]),
                 megabytes(total["mem_bytes"])]
        raw = [rec["model"], "total", "", "", total["measured_ms"], total["madds"],
               total["mem_bytes"]]
        if pred:
            err = total.get("error")
            cells += [_ms(total.get("predicted_ms")), "—" if err is None else f"{err:+.0%}"]
            raw += [total.get("predicted_ms"), err]
        t.add(cells, raw)
        if "predicted_model_ms" in total:
            t.notes.append(f"whole model predicted: {_ms(total['predicted_model_ms'])} ms "
                           "(the modules' rows plus the view ops, which belong to no module)")
    t.raw_columns = ["model", "name", "module", "ops", "measured_ms", "madds", "mem_bytes",
                     *(["predicted_ms", "error"] if pred else [])]
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


__all__ = ["bench_tables", "heap_notes", "layers_table", "measurement_notes", "summary_table"]
