"""convcost over the third-party model corpus, each model against an independent count.

The corpus (``tests/corpus``): pytorchcv's ImageNet classifiers (every family),
efficientnet-pytorch b0–b8 and l2, and transformers models built from their configs (vision
transformers, ConvNets, encoders, GPT-2 and LLaMA with and without a KV cache), random
weights, built on meta unless an entry says otherwise. For each: ``convcost.analyze`` (timed),
FlopCounterMode's flops / 2 and the unique parameter count on the same model and input
(``tests/corpus/reference.py`` says exactly what that counts), and whether they agree.
Then LLaMA-7B (the default ``LlamaConfig``) at 1×2048 tokens: convcost against
FlopCounterMode, both on meta, median of a few runs each.

Run:  .venv/bin/python benchmarks/bench_corpus.py [--only NAME ...] [--fast] [--json PATH]
Writes docs/benchmarks/corpus.md (the whole corpus only) as well as printing each row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections import Counter
from datetime import date
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from corpus import CORPUS, SKIPPED, Outcome, measure, reference  # noqa: E402

LLAMA_REPEATS = 3


def _n(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _short(text: str, limit: int = 260) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _equal(ok: bool | None, ours: int | None, theirs: int | None) -> str:
    if ok is None:
        return "—"
    if ok:
        return "yes"
    assert ours is not None and theirs is not None
    return f"**no** ({ours - theirs:+,})"


def _row(o: Outcome) -> str:
    e, r = o.entry, o.reference
    device = e.device if e.device == e.analyze_device else \
        f"{e.device}, analysed on {e.analyze_device}"
    if o.build_error:
        return (f"| {e.name} | {e.family} | | {device} | | | | | | | | | | "
                f"build: {_cell(_short(o.build_error))} |")
    unsupported = ", ".join(f"{k} ×{v}" for k, v in sorted(o.unsupported.items()))
    ref_params, ref_madds = (r.params, r.madds) if r else (None, None)
    ref_note = "" if r is None else r.how if r.madds is not None else \
        f"failed: {_short(r.error or '', 80)}"
    error = _cell(_short(o.error)) if o.error else ""
    return (f"| {e.name} | {e.family} | {o.spec} | {device} | {_n(o.params)} | "
            f"{_n(ref_params)} | {_equal(o.params_equal, o.params, ref_params)} | "
            f"{_n(o.madds)} | {_n(ref_madds)} | "
            f"{_equal(o.madds_equal, o.madds, ref_madds)} | {_cell(unsupported)} | "
            f"{o.seconds:.3f} | {r.seconds if r else 0:.3f} ({_cell(ref_note)}) | {error} |")


def _versions() -> str:
    names = ["torch", "transformers", "pytorchcv", "efficientnet-pytorch"]
    return ", ".join(f"{n} {metadata.version(n)}" for n in names)


def _llama_section(outcomes: list[Outcome]) -> list[str]:
    """LLaMA-7B at 1×2048: convcost and FlopCounterMode on meta, same model, same run."""
    import convcost

    lines = ["## LLaMA-7B (default `LlamaConfig`), 1×2048 tokens: convcost vs FlopCounterMode "
             "on meta", "",
             f"Same model (built on meta), same input; each tool's time is the median of "
             f"{LLAMA_REPEATS} calls. FlopCounterMode's count is flops / 2; `fake (meta)` means "
             f"it ran under FakeTensorMode because plain meta stops at transformers' "
             f"data-dependent check (its time is that rerun alone). convcost does the same by "
             f"itself: its time includes the plain-meta attempt that stopped. The target: madds "
             f"equal and convcost no slower.", "",
             "| input | convcost (s) | convcost madds | FlopCounterMode (s) | FCM flops / 2 | "
             "madds equal | convcost ≤ FCM | convcost error |",
             "| --- | ---: | ---: | ---: | ---: | --- | --- | --- |"]
    for o in outcomes:
        e = o.entry
        if not e.name.startswith("llama-7b"):
            continue
        model = e.build()

        times: list[float] = []
        a: object = None
        for _ in range(LLAMA_REPEATS):
            inputs = e.make_inputs(model)
            start = time.perf_counter()
            try:
                a = convcost.analyze(model, inputs=inputs.args or None, kwargs=inputs.kwargs,
                                     device=e.analyze_device)
            except Exception as exc:
                a = exc
            times.append(time.perf_counter() - start)
        cc_s = statistics.median(times)
        refs = [reference(model, lambda e=e, m=model: e.make_inputs(m))  # type: ignore[misc]
                for _ in range(LLAMA_REPEATS)]
        ref, fcm_s = refs[-1], statistics.median(r.seconds for r in refs)
        madds = None if isinstance(a, Exception) else a.totals.madds  # type: ignore[attr-defined]
        err = "" if madds is not None else _cell(_short(f"{type(a).__name__}: {a}"))
        fm = ref.madds
        equal = "—" if madds is None or fm is None else "yes" if madds == fm else \
            f"**no** ({madds - fm:+,})"
        faster = "—" if madds is None else "yes" if cc_s <= fcm_s else \
            f"**no** ({cc_s / fcm_s:.2f}×)"
        lines.append(f"| {o.spec} | {cc_s:.3f} | {_n(madds)} | {fcm_s:.3f} "
                     f"({ref.how}) | {_n(fm)} | {equal} | {faster} | {err} |")
        print(lines[-1], flush=True)
    return [*lines, ""]


def _summary(outcomes: list[Outcome], wall: float) -> list[str]:
    n = len(outcomes)
    sources = Counter(o.entry.source for o in outcomes)
    families = {s: len({o.entry.family for o in outcomes if o.entry.source == s}) for s in sources}
    ran = [o for o in outcomes if o.ran]
    crashed = [o for o in outcomes if o.error]
    built_not = [o for o in outcomes if o.build_error]
    with_ref = [o for o in ran if o.madds_equal is not None]
    params_eq = sum(bool(o.params_equal) for o in ran)
    madds_eq = sum(bool(o.madds_equal) for o in with_ref)
    clean = sum(not o.unsupported for o in ran)
    ok = sum(o.ok for o in outcomes)
    cc = [o.seconds for o in ran]
    counted = [o.reference for o in outcomes if o.reference and o.reference.madds is not None]
    fcm = [r.seconds for r in counted]
    hows = Counter(r.how for r in counted)
    ref_failed = [o for o in outcomes if o.reference and o.reference.madds is None]
    unsupported: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    for o in ran:
        unsupported.update(o.unsupported)
        hit.update(o.unsupported.keys())
    slowest = max(ran, key=lambda o: o.seconds) if ran else None
    lines = [
        "## Summary", "",
        f"- **{n} models**: " + ", ".join(
            f"{s} {sources[s]} ({families[s]} famil{'y' if families[s] == 1 else 'ies'})"
            for s in sorted(sources)) + ".",
        f"- **all four checks pass** (runs, params equal, madds equal, no unsupported op): "
        f"**{ok} / {n}**.",
        f"- runs: {len(ran)} / {n}; convcost raised on {len(crashed)}"
        + (f" ({', '.join(o.entry.name for o in crashed)})" if crashed else "")
        + (f"; {len(built_not)} could not be built" if built_not else "") + ".",
        f"- params equal to the unique parameter count: {params_eq} / {len(ran)} that ran.",
        f"- madds equal to FlopCounterMode / 2: {madds_eq} / {len(with_ref)} that ran with a "
        f"reference count.",
        f"- no unsupported op: {clean} / {len(ran)} that ran; unsupported ops seen: "
        + (", ".join(f"`{k}` in {_plural(hit[k], 'model')} ({_plural(unsupported[k], 'call')})"
                     for k in sorted(unsupported)) or "none") + ".",
        f"- convcost analysis time: total {sum(cc):.1f} s, median {statistics.median(cc):.3f} s"
        + (f", slowest {slowest.entry.name} {slowest.seconds:.2f} s" if slowest else "")
        + f"; FlopCounterMode: total {sum(fcm):.1f} s, median {statistics.median(fcm):.3f} s "
        f"(it ran on " + ", ".join(f"{k}: {v}" for k, v in sorted(hows.items())) + ")"
        + (f"; it failed on {len(ref_failed)}" if ref_failed else "") + ".",
        f"- whole run (building, both counts, this file): {wall:.0f} s.", "",
    ]
    return lines


def _mismatch_details(outcomes: list[Outcome]) -> list[str]:
    bad = [o for o in outcomes if o.madds_equal is False]
    if not bad:
        same = [o for o in outcomes if o.madds_equal and o.reference is not None
                and o.madds_by_aten == o.reference.by_op]
        compared = sum(bool(o.madds_equal) for o in outcomes)
        return ["## madds mismatches", "",
                f"None: every model that ran has madds equal to FlopCounterMode / 2; for "
                f"{len(same)} of these {compared} they are equal aten op by aten op too.", ""]
    lines = ["## madds mismatches, by aten op", "",
             "FlopCounterMode's flops / 2 per aten op against convcost's madds per aten op "
             "(the op each row was captured as).", "",
             "| model | FlopCounterMode / 2 | convcost | Δ |", "| --- | --- | --- | ---: |"]
    for o in bad:
        assert o.reference is not None and o.madds is not None and o.reference.madds is not None
        ref = ", ".join(f"{k} {v:,}" for k, v in sorted(o.reference.by_op.items()))
        ours = ", ".join(f"{k} {v:,}" for k, v in sorted(o.madds_by_aten.items()))
        lines.append(f"| {o.entry.name} | {ref} | {ours} | {o.madds - o.reference.madds:+,} |")
    return [*lines, ""]


def _record(o: Outcome) -> dict[str, object]:
    r = o.reference
    return {"name": o.entry.name, "family": o.entry.family, "input": o.spec,
            "device": o.entry.device, "analyze_device": o.entry.analyze_device,
            "params": o.params, "madds": o.madds, "unsupported": o.unsupported,
            "error": o.error, "build_error": o.build_error, "seconds": o.seconds,
            "madds_by_aten": o.madds_by_aten,
            "reference": None if r is None else {
                "params": r.params, "madds": r.madds, "by_op": r.by_op, "how": r.how,
                "seconds": r.seconds, "error": r.error}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="corpus names to run (no file written)")
    parser.add_argument("--fast", action="store_true", help="the fast subset (no file written)")
    parser.add_argument("--json", type=Path, help="also write every outcome to this JSON file")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(2)
    entries = [e for e in CORPUS if (not args.only or e.name in args.only)
               and (not args.fast or e.fast)]
    whole = len(entries) == len(CORPUS)
    start = time.perf_counter()
    outcomes = []
    for e in entries:
        o = measure(e)
        outcomes.append(o)
        print(_row(o), flush=True)
    llama = _llama_section(outcomes)
    wall = time.perf_counter() - start
    if args.json:
        args.json.write_text(json.dumps([_record(o) for o in outcomes], indent=1) + "\n")
    lines = [
        "# Third-party model corpus: convcost against an independent count", "",
        f"Measured {date.today().isoformat()} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {_versions()}, {torch.get_num_threads()} torch "
        f"threads. Reproduce: `make bench` or `.venv/bin/python benchmarks/bench_corpus.py`.",
        "",
        "Each model has random weights and is built offline, on meta unless its row says "
        "otherwise; convcost analyses it with `convcost.analyze(model, inputs=..., "
        "kwargs=..., device=...)` (the time is that call alone). The independent count runs "
        "on the same model and input: PyTorch's `FlopCounterMode` flops / 2 (it counts "
        "convolutions, mm/addmm/bmm/baddbmm and fused attention, nothing else; on the CPU "
        "its unknown SDPA kernel is given PyTorch's SDPA formula; where plain meta stops at "
        "a data-dependent check it reruns under FakeTensorMode) and the unique parameter "
        "count. Details: `tests/corpus/reference.py`; the models: `tests/corpus/models.py`; "
        "the holes found: [corpus_holes.md](corpus_holes.md).", "",
        *_summary(outcomes, wall),
        *llama,
        "## Every model", "",
        "| model | family | input | device | params | unique params | equal | madds | "
        "FCM flops / 2 | equal | unsupported (aten op ×calls) | convcost (s) | "
        "FlopCounterMode (s, where) | convcost error |",
        "| --- | --- | --- | --- | ---: | ---: | --- | ---: | ---: | --- | --- | ---: | ---: "
        "| --- |",
        *(_row(o) for o in outcomes), "",
        *_mismatch_details(outcomes),
        "## Notes on entries", "",
        *(f"- {o.entry.name}: {o.entry.note}." for o in outcomes if o.entry.note), "",
        "## Not in the corpus", "",
        *(f"- {what}: {why}." for what, why in SKIPPED.items()), "",
    ]
    for line in _summary(outcomes, wall):
        print(line)
    if whole:
        out = ROOT / "docs" / "benchmarks" / "corpus.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
