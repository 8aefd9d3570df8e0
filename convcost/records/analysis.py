"""The report object ``convcost.analyze`` returns: rows, totals, roll-ups, and exports.

Numbers stay ints here; the exports (DataFrame, JSON, CSV, Markdown, HTML in Jupyter) are the
only places they are turned into something else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcost.engine import Evaluation, ModuleCost, Row, by_conv_kind, by_module, by_op
from convcost.formulas import COST_FIELDS, Cost, numel
from convcost.graph import shape_text

if TYPE_CHECKING:
    import pandas as pd

    from convcost.capture import ModuleCall


@dataclass(frozen=True)
class Analysis:
    """The cost of one model at one input, op by op."""

    model: str
    inputs: tuple[tuple[int, ...], ...]  # every input's shape, batch first
    dtype: str
    device: str
    evaluation: Evaluation
    outputs: tuple[tuple[int, ...], ...] = ()
    module_calls: tuple[ModuleCall, ...] = ()  # every module call in call order, with shapes

    # --- data ---------------------------------------------------------------------------------

    @property
    def rows(self) -> tuple[Row, ...]:
        return self.evaluation.rows

    @property
    def totals(self) -> Cost:
        return self.evaluation.totals

    @property
    def unsupported(self) -> dict[str, int]:
        return dict(self.evaluation.unsupported)

    @property
    def input(self) -> tuple[int, ...]:
        return self.inputs[0] if self.inputs else ()

    def by_op(self) -> dict[str, Cost]:
        return by_op(self.rows)

    def by_conv_kind(self) -> dict[str, Cost]:
        return by_conv_kind(self.rows)

    def by_module(self, depth: int | None = 1) -> list[ModuleCost]:
        return by_module(self.rows, depth, self.evaluation.modules)

    def peak_activation_bytes(self) -> int:
        """The largest activations (inputs + output, weights excluded) one op holds at once:
        a lower bound on peak activation memory at inference."""
        isz = self._itemsize
        return max(
            ((sum(numel(s) for s in r.in_shapes) + numel(r.out_shape)) * isz
             for r in self.rows),
            default=0,
        )

    @property
    def _itemsize(self) -> int:
        from convcost.formulas import itemsize_of

        return itemsize_of(self.dtype)

    # --- exports ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON object for ``convcost layers --format json``."""
        return {
            "model": self.model,
            "input": list(self.input),
            "inputs": [list(s) for s in self.inputs],
            "dtype": self.dtype,
            "device": self.device,
            "totals": self.totals.as_dict(),
            "layers": [r.as_dict() for r in self.rows],
            "by_op": {op: c.as_dict() for op, c in self.by_op().items()},
            "by_conv_kind": {k: c.as_dict() for k, c in self.by_conv_kind().items()},
            "unsupported": self.unsupported,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_frame(self, by: str = "layer", depth: int | None = 1) -> pd.DataFrame:
        """A DataFrame with numeric cost columns: ``by`` = layer, op or module."""
        import pandas as pd

        if by == "layer":
            records = [
                {"name": r.name, "module": r.module, "op": r.op, "conv_kind": r.conv_kind,
                 "in_shapes": " ".join(shape_text(s) for s in r.in_shapes),
                 "out_shape": shape_text(r.out_shape), **r.cost.as_dict()}
                for r in self.rows
            ]
            columns = ["name", "module", "op", "conv_kind", "in_shapes", "out_shape",
                       *COST_FIELDS]
        elif by == "op":
            records = [{"op": op, **c.as_dict()} for op, c in self.by_op().items()]
            columns = ["op", *COST_FIELDS]
        elif by == "module":
            records = [{"name": m.name, "module": m.module, "depth": m.depth, "ops": m.ops,
                        **m.cost.as_dict()} for m in self.by_module(depth)]
            columns = ["name", "module", "depth", "ops", *COST_FIELDS]
        else:
            raise ValueError(f"by must be 'layer', 'op' or 'module', got {by!r}")
        return pd.DataFrame.from_records(records, columns=columns)

    def to_csv(self, by: str = "layer", depth: int | None = 1) -> str:
        from convcost.report import tables
        from convcost.report.layers import layers_table

        return tables.to_csv(layers_table(self, by, depth))

    def to_markdown(self, by: str = "layer", depth: int | None = 1) -> str:
        from convcost.report import tables
        from convcost.report.layers import layers_table

        return tables.to_markdown(layers_table(self, by, depth))

    def _repr_html_(self) -> str:
        from convcost.report.layers import layers_html

        return layers_html(self)

    def __repr__(self) -> str:
        t = self.totals
        return (f"Analysis({self.model!r}, input={self.input}, params={t.params:,}, "
                f"madds={t.madds:,}, flops={t.flops:,}, mem_bytes={t.mem_bytes:,}, "
                f"rows={len(self.rows)}, unsupported={self.unsupported})")


__all__ = ["Analysis"]
