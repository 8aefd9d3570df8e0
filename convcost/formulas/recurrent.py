"""Recurrent layers: ``nn.RNN`` (tanh / ReLU), ``nn.LSTM``, ``nn.GRU``, one layer in one
direction over a sequence, and their fused cells.

Counted per row, a row being one (time step, sample) pair: ``rows`` = T·B for a padded
sequence, the sum of the batch sizes for a packed one. ``G`` gates (:data:`RNN_GATES`: 1, 4,
3), hidden size ``H``, input size ``I``, hidden state ``Hₒ`` (``H``, or ``P`` with an LSTM
projection ``proj_size = P``).

* **madds** per row: the gate products ``G·H·I`` (input) + ``G·H·Hₒ`` (hidden state), and the
  projection ``H·P``. An LSTM per row and sample: ``4·H·(I + H)``.
* **flops** beyond 2·madds per row, by the elementwise rules (``ACTIVATION_FLOPS``: sigmoid 4,
  tanh 1, relu 1; one flop per add or multiply):

  - bias: ``2·G·H`` (``b_ih`` and ``b_hh``, one add each per gate element);
  - RNN: ``H`` adds (input + hidden products), the nonlinearity ``H·f``: 2·H for tanh or relu;
  - LSTM: ``4H`` adds (input + hidden gates), 3 sigmoids and a tanh (``3·4H + H``),
    ``c' = f·c + i·g`` (``3H``), ``h' = o·tanh(c')`` (``2H``): 22·H;
  - GRU: ``2H`` adds (r and z gates), 2 sigmoids (``8H``), ``n = tanh(i_n + r·h_n)``
    (``3H``), ``h' = n + z·(h − n)`` (``3H``): 16·H.

  These are the counts of the same layer run op by op (as on the meta device: ``addmm``,
  ``add``, ``sigmoid``, ``tanh``, ``mul``), so the fused kernels cost the same flops.
* **memory** (one fused kernel): reads the input sequence, the initial hidden (and cell)
  state, the weights and biases, each once; writes the output sequence and the final hidden
  (and cell) state. The gates stay inside the kernel.

A fused cell (``_thnn_fused_lstm_cell``, ``_thnn_fused_gru_cell``) receives the two gate
products already computed (by ``linear`` rows of their own): its cost is the elementwise part
alone, reading both gate tensors, the biases and the previous state, writing the new state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from convcost.errors import InvalidArgumentError
from convcost.formulas._core import OpCost, check_itemsize, check_positive, check_shape, make_cost
from convcost.formulas.elementwise import ACTIVATION_FLOPS

RNN_GATES: dict[str, int] = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
"""Gates per hidden unit of each recurrent mode."""


def _gates(mode: str) -> int:
    if mode not in RNN_GATES:
        raise InvalidArgumentError(f"unknown recurrent mode {mode!r}; use one of "
                                   f"{', '.join(RNN_GATES)}")
    return RNN_GATES[mode]


def _cell_flops(mode: str, hidden: int, bias: bool) -> int:
    """Flops of one row beyond the gate products (see the module doc)."""
    sig, tanh = ACTIVATION_FLOPS["sigmoid"][0], ACTIVATION_FLOPS["tanh"][0]
    per_unit = {
        "rnn_tanh": 1 + tanh,
        "rnn_relu": 1 + ACTIVATION_FLOPS["relu"][0],
        "lstm": 4 + 3 * sig + tanh + 3 + tanh + 1,
        "gru": 2 + 2 * sig + 2 + tanh + 3,
    }[mode]
    return hidden * (per_unit + (2 * _gates(mode) if bias else 0))


def rnn_cell(mode: str, rows: int, hidden_size: int, bias: bool = True, *,
             itemsize: int = 4) -> OpCost:
    """A fused cell over ``rows`` samples given its input and hidden gate products (each
    ``rows × G·H``); ``mode`` is ``lstm`` or ``gru`` (a plain RNN cell has no fused kernel).

    >>> rnn_cell("lstm", 2, 7).flops   # 2 rows · 7 · (22 + 8 bias)
    420
    """
    gates = _gates(mode)
    check_positive(rows, "rows")
    check_positive(hidden_size, "hidden_size")
    h = hidden_size
    state = 2 if mode == "lstm" else 1  # (h, c) or h
    return make_cost(
        (rows, h), extra_flops=rows * _cell_flops(mode, h, bias),
        read_elems=rows * (2 * gates * h + state * h) + (2 * gates * h if bias else 0),
        write_elems=rows * state * h, itemsize=check_itemsize(itemsize),
    )


def recurrent(mode: str, in_shape: Sequence[int], hidden_size: int, *, batch: int,
              proj_size: int = 0, bias: bool = True, itemsize: int = 4) -> OpCost:
    """One layer, one direction of ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` over ``in_shape``
    = (..., I), every leading element a row (T·B, or the packed rows); ``batch`` samples
    carry a hidden state. Output: (..., Hₒ).

    >>> lstm = recurrent("lstm", (3, 2, 5), 7, batch=2)   # 6 rows · 4·7·(5 + 7)
    >>> lstm.madds, lstm.flops   # 2·2016 + 6 rows · 7 · (22 + 8)
    (2016, 5292)
    """
    gates = _gates(mode)
    shape = check_shape(in_shape, "input shape", min_rank=2)
    h = check_positive(hidden_size, "hidden_size")
    check_positive(batch, "batch")
    if not 0 <= proj_size < h:
        raise InvalidArgumentError(f"proj_size={proj_size} must be 0 or below hidden_size={h}")
    if proj_size and mode != "lstm":
        raise InvalidArgumentError("only an LSTM has a projection (proj_size)")
    out_h = proj_size or h
    rows, i = math.prod(shape[:-1]), shape[-1]
    weights = gates * h * (i + out_h) + h * proj_size
    state = out_h + (h if mode == "lstm" else 0)  # h, and c for an LSTM
    return make_cost(
        (*shape[:-1], out_h),
        madds=rows * weights,
        extra_flops=rows * _cell_flops(mode, h, bias),
        read_elems=rows * i + batch * state + weights + (2 * gates * h if bias else 0),
        write_elems=rows * out_h + batch * state,
        itemsize=check_itemsize(itemsize),
    )


__all__ = ["RNN_GATES", "recurrent", "rnn_cell"]
