"""The op vocabulary: every label the default counters may return, and its family.

Declared once, by each counter's registration in :mod:`convcost.engine.counters`; this module
only reads it from the default :data:`~convcost.engine.counters.REGISTRY`, for the code that
tests labels (peer adapters, reports, the roofline). A consumer names a label through
:func:`declared`, which fails at import for a label no counter returns, or takes whole
families with :func:`labels`.

The families (:class:`~convcost.engine.registry.Family`):

=================  =============================================================================
``conv``           ``conv1d``..``conv3d``, ``conv_transpose1d``..``conv_transpose3d``
``linear``         dense products: ``linear`` (one operand is a weight), ``matmul``, ``addmm``;
                   the fused recurrent layers ``lstm``, ``gru``, ``rnn`` (their madds are gate
                   products, their other flops the gates' elementwise work)
``attention``      fused scaled-dot-product ``attention``; ``multi_head_attention`` and
                   ``transformer_encoder_layer`` (PyTorch's fused kernels, projections included)
``norm``           ``batch_norm``, ``layer_norm``, ``group_norm``
``activation``     ``relu``, ``relu6``, ``hardtanh``, ``gelu``, ``silu``, ``sigmoid``, ...
``softmax``        ``softmax``, ``log_softmax``
``elementwise``    unary math (``exp``, ``sqrt``...), binary (``add``, ``mul``...), ternary
                   (``addcmul``...), selects (``where``, ``masked_fill``), ``gate_mul`` (an
                   SE-style channel gate), the fused recurrent cells ``lstm_cell``, ``gru_cell``
``reduction``      ``mean``, ``sum``, ``amax``, ``amin``, ``prod``, ``max``/``min`` (along a dim:
                   with indices), ``argmax``, ``argmin``, ``all``, ``any``, ``var``, ``std``,
                   ``var_mean``, ``std_mean``, ``vector_norm``, scans (``cumsum``, ``cumprod``,
                   ``cummax``, ``cummin``), ``sort``, ``topk``, ``embedding_bag``
``pool``           ``max_pool1d``..``3d``, ``avg_pool1d``..``3d``
``adaptive_pool``  ``adaptive_max_pool1d``..``3d``, ``adaptive_avg_pool1d``..``3d``
``movement``       ``cat`` (also ``stack``), ``copy``, ``pad``, ``repeat``, copies (``roll``,
                   ``flip``, ``triu``, ``tril``), patches (``im2col``, ``col2im``), lookups
                   (``embedding``, ``index``, ``index_select``, ``gather``), writes at indices
                   (``scatter``, ``scatter_add``, ``scatter_reduce``, ``index_put``,
                   ``index_add``, ``index_copy``, ``index_fill``, ``masked_scatter``),
                   ``nonzero``, ``pack_sequence``; data moved, arithmetic only where they
                   accumulate or compare
``resample``       ``interpolate``
``fill``           ``fill`` (zeros, ones, full, arange, eye, linspace)
``spectral``       ``fft`` (``torch.fft.*``, ``torch.stft``)
``params``         ``unused_params``: the engine's row for parameters no op read
``custom``         a user's own op (``Registry.extended``); no built-in label
=================  =============================================================================

Pure Python, like the rest of the engine.
"""

from __future__ import annotations

from convcost.engine.counters import (
    ACTIVATION_LABELS,
    CONV_TRANSPOSE_LABELS,
    ELEMENTWISE_LABELS,
    REGISTRY,
)
from convcost.engine.registry import UNUSED_PARAMS, Family

LABELS: frozenset[str] = REGISTRY.labels()
"""Every label a built-in counter (or the engine itself) may put in a row's ``op``."""


def labels(*families: Family) -> frozenset[str]:
    """The labels of ``families`` (every label with none)."""
    return REGISTRY.labels(*families)


def family(label: str) -> Family:
    """The family of a declared label; KeyError for any other string."""
    return REGISTRY.family(label)


def declared(*names: str) -> tuple[str, ...]:
    """``names`` unchanged, after checking each is a label some counter declares (a KeyError
    naming the stray ones otherwise, so a stale label fails where it is written)."""
    stray = [n for n in names if n not in LABELS]
    if stray:
        raise KeyError(f"not a label any counter declares: {', '.join(map(repr, stray))}; "
                       "see convcost.engine.labels")
    return names


(LINEAR,) = declared("linear")
"""The label of a product with a weight operand (``nn.Linear``, ``F.linear``, ``x @ W``)."""

__all__ = ["ACTIVATION_LABELS", "CONV_TRANSPOSE_LABELS", "ELEMENTWISE_LABELS", "LABELS",
           "LINEAR", "UNUSED_PARAMS", "Family", "declared", "family", "labels"]
