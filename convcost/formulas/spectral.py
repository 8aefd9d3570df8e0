"""Spectral transforms: FFTs (``torch.fft.*``, ``torch.stft``) and the windows they use.

No multiply-adds (the DESIGN's multiply-adds are those of conv, linear, matmul and
attention). Rules:

* **FFT** of a complex signal of length ``N``: ``5·N·log₂N`` flops, the convention FFTW's
  benchmarks use for any ``N`` (radix-2: ``N/2·log₂N`` butterflies of 10 real flops each); a
  transform of a real signal or to a real signal (``rfft``, ``irfft``, ``stft``) half of
  that. Over several dims it is one 1-d transform per line along each dim:
  ``factor · ∏signal · Σ_d log₂N_d``, ``∏signal`` the elements of the full signal (the longer
  of input and output along each transformed dim). Reads the input, writes the output, each
  at its own element size (complex64: 8 bytes).
* **window** (``torch.hann_window`` ...): one op per element (a cosine, as the unary math
  rule), the window written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from convcost.errors import InvalidArgumentError
from convcost.formulas._core import OpCost, check_itemsize, check_shape, make_cost

COMPLEX_FFT_FLOPS = 5.0
"""Flops per element per log₂N of a complex FFT (FFTW's benchmark convention)."""


def fft(
    in_shape: Sequence[int], out_shape: Sequence[int], dims: Sequence[int], *,
    real: bool = False, itemsize: int = 8, out_itemsize: int | None = None,
) -> OpCost:
    """An FFT over ``dims`` from ``in_shape`` to ``out_shape`` (``real``: a real input or a
    real output, as ``rfft``/``irfft``; the module doc's rule).

    >>> fft((1, 16000), (1, 8001), [1], real=True, itemsize=4).flops   # rfft of 16,000 reals
    558631
    >>> fft((4, 256), (4, 256), [1]).flops   # 4 complex lines of 256: 5 · 1024 · 8
    40960
    """
    src = tuple(check_shape(in_shape, "input shape"))
    dst = tuple(check_shape(out_shape, "output shape"))
    if len(src) != len(dst):
        raise InvalidArgumentError(f"an FFT keeps the rank: {src} -> {dst}")
    rank = len(src)
    axes = sorted({d % rank for d in dims}) if rank else []
    lengths = [max(src[d], dst[d]) for d in axes]
    signal = math.prod(max(src[i], dst[i]) if i in axes else src[i] for i in range(rank))
    factor = COMPLEX_FFT_FLOPS / (2 if real else 1)
    flops = round(factor * signal * math.fsum(math.log2(n) for n in lengths if n > 1))
    return make_cost(dst, extra_flops=flops, read_elems=math.prod(src),
                     itemsize=check_itemsize(itemsize), out_itemsize=out_itemsize)


def window(length: int, *, itemsize: int = 4) -> OpCost:
    """``torch.hann_window(length)`` and the other windows: one op per element, written.

    >>> window(400).flops, window(400).mem_write_bytes
    (400, 1600)
    """
    n = int(length)
    if n < 0:
        raise InvalidArgumentError(f"a window's length must be >= 0, got {length}")
    return make_cost((n,), extra_flops=n, read_elems=0, itemsize=check_itemsize(itemsize))


__all__ = ["COMPLEX_FFT_FLOPS", "fft", "window"]
