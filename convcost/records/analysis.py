"""The report object ``convcost.analyze`` returns: rows, totals, roll-ups, and exports.

Numbers stay ints here; the exports (DataFrame, JSON, CSV, Markdown, HTML in Jupyter) are the
only places they are turned into something else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcost.engine import Evaluation, ModuleCost, Row, by_conv_kind, by_module, by_op
from convcost.engine.evaluate import by_phase
from convcost.formulas import COST_FIELDS, Cost, numel
from convcost.graph import shape_text

if TYPE_CHECKING:
    import pandas as pd

    from convcost.capture import ModuleCall
    from convcost.engine.memory import Lifetimes


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
    # True when the meta run needed tensor values (``.item()``) and the capture ran on fake
    # tensors instead: data-dependent branches took the path tracing takes (docs: recorder)
    fake_tensors: bool = False
    lifetimes: Lifetimes | None = None  # every storage's allocation and release (memory=True)

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
        """Cost per op label (``conv2d``, ``batch_norm``, ...); as a DataFrame:
        :meth:`by_op_frame`."""
        return by_op(self.rows)

    def by_phase(self) -> dict[str, Cost]:
        """Cost per phase: ``forward``, and ``backward`` for ``analyze(..., backward=True)``."""
        return by_phase(self.rows)

    def by_conv_kind(self) -> dict[str, Cost]:
        """Cost per conv kind (standard, grouped, depthwise, pointwise); as a DataFrame:
        :meth:`by_conv_kind_frame`."""
        return by_conv_kind(self.rows)

    def by_module(self, depth: int | None = 1) -> list[ModuleCost]:
        """Cost per module down to ``depth`` (None: every level); as a DataFrame:
        :meth:`by_module_frame`."""
        return by_module(self.rows, depth, self.evaluation.modules)

    # --- the same as DataFrames (numeric cost columns; pandas imported on first use) ----------

    def layers_frame(self) -> pd.DataFrame:
        """One row per op (layer) in execution order: ``to_frame("layer")``."""
        return self.to_frame("layer")

    def by_op_frame(self) -> pd.DataFrame:
        """:meth:`by_op` as a DataFrame: ``to_frame("op")``."""
        return self.to_frame("op")

    def by_module_frame(self, depth: int | None = 1) -> pd.DataFrame:
        """:meth:`by_module` as a DataFrame: ``to_frame("module", depth)``."""
        return self.to_frame("module", depth)

    def by_conv_kind_frame(self) -> pd.DataFrame:
        """:meth:`by_conv_kind` as a DataFrame: ``to_frame("conv_kind")``."""
        return self.to_frame("conv_kind")

    def peak_activation_bytes(self) -> int:
        """The largest activations (inputs + output, weights excluded) one op holds at once:
        a lower bound on peak activation memory at inference (the peak by liveness, with
        everything else alive then: ``convcost.studies.memory``)."""
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
            "fake_tensors": self.fake_tensors,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_frame(self, by: str = "layer", depth: int | None = 1) -> pd.DataFrame:
        """A DataFrame with numeric cost columns: ``by`` = layer, op, module or conv_kind
        (also :meth:`layers_frame`, :meth:`by_op_frame`, :meth:`by_module_frame`,
        :meth:`by_conv_kind_frame`)."""
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
        elif by == "conv_kind":
            records = [{"conv_kind": k, **c.as_dict()} for k, c in self.by_conv_kind().items()]
            columns = ["conv_kind", *COST_FIELDS]
        else:
            raise ValueError(f"by must be 'layer', 'op', 'module' or 'conv_kind', got {by!r}")
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
