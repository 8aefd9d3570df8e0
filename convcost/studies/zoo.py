"""``zoo``: every zoo model at its default input, its computed cost beside the published
figures."""

from __future__ import annotations

from convcost.errors import InvalidArgumentError
from convcost.records.zoo import ZooRow


def zoo_rows(family: str | None = None) -> list[ZooRow]:
    """One row per zoo model, in catalog order; ``family`` keeps the models whose family or
    name contains that text (none matching is an error naming the families)."""
    from convcost.api import analyze
    from convcost.zoo import build, list_entries
    from convcost.zoo.published import lookup_top1

    entries = list_entries()
    if family is not None:
        wanted = family.lower()
        entries = [e for e in entries if wanted in f"{e.family} {e.name}".lower()]
        if not entries:
            families = sorted({e.family for e in list_entries()})
            raise InvalidArgumentError(f"no zoo model matches --family {family!r}; families: "
                                       f"{', '.join(families)}")
    rows = []
    for entry in entries:
        shape = (1, *entry.default_input)
        a = analyze(build(entry), shape, name=entry.name)
        pub = lookup_top1(entry.name, {}, entry.default_input[-1])
        rows.append(ZooRow(
            name=entry.name, family=entry.family, aliases=entry.aliases,
            options=tuple(o.describe() for o in entry.options if o.name != "num_classes"),
            default_input=shape,
            params=a.totals.params, madds=a.totals.madds, top1=pub.top1 if pub else None,
            published_params=pub.params if pub else None,
            published_madds=pub.madds if pub else None, source=pub.source if pub else "",
            paper=entry.paper, notes=entry.notes,
        ))
    return rows


__all__ = ["zoo_rows"]
