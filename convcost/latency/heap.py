"""The C library's heap while timing: page faults, and keeping freed memory mapped.

Measured on this project's machines (glibc, torch 2.13 CPU): a depthwise 3×3 convolution on
a 32×112×112 map took 1.9 ms with 1,144 minor page faults per call and 0.17 ms with none.
Its output and oneDNN's blocked-layout copies of input and output (about 4.6 MiB) are
allocated afresh on every call; glibc serves blocks above its mmap threshold with ``mmap``
and gives freed memory at the top of the heap back to the system beyond its trim threshold,
so the next call touches fresh pages, each a fault (about 1.5 µs). Whether that happens
depends on the heap's history in the process (the thresholds move as blocks are freed; one
long-lived small block can pin the top), so the same model timed in two processes could
differ by 2× — the drift the held-out benchmark and the calibration saw.

:func:`keep_memory_mapped` sets both thresholds once for the rest of the process (glibc's
``mallopt``: no ``mmap`` below 32 MiB, no trimming below 2 GiB), as jemalloc, tcmalloc and
PyTorch's own CPU caching allocators behave: after the warm-up, a steady-state forward pass
faults no page. ``convcost bench``, ``calibrate``, ``compare --bench`` and ``guidelines
--reproduce`` do this by default (``--heap system`` leaves the C library as it is); the
library never does it unasked. :func:`page_faults` counts the process' minor and major faults,
which every measurement reports per timed run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 4 * 1024 * 1024 * ctypes.sizeof(ctypes.c_long)
"""glibc's ceiling for ``M_MMAP_THRESHOLD`` (32 MiB on 64-bit): larger blocks are always
mapped afresh (and fault on every use)."""
TRIM_THRESHOLD = 2**31 - 1
"""Freed memory at the top of the heap kept up to this many bytes (``mallopt`` takes an int)."""

HEAPS = ("warm", "system")
"""``warm``: freed memory kept mapped (:func:`keep_memory_mapped`); ``system``: the C
library's own behaviour, untouched."""

_state = "system"


def _libc() -> ctypes.CDLL | None:
    """glibc, when this process runs on it (``mallopt`` and ``gnu_get_libc_version``)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    if not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
        return None
    return libc


def keep_memory_mapped() -> bool:
    """Keep freed memory mapped for the rest of this process (module doc); True when done,
    False where the C library is not glibc (the heap is then left as it is). Irreversible
    for the process: call it only in a process made to time things (the CLI's)."""
    global _state
    libc = _libc()
    if libc is None:
        return False
    ok = (libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) == 1
          and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
    if ok:
        _state = "warm"
    return ok


def heap_state() -> str:
    """``warm`` once :func:`keep_memory_mapped` succeeded in this process, else ``system``."""
    return _state


def page_faults() -> int:
    """Minor and major page faults of this process so far (0 where the platform has no
    ``getrusage``)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Linux/macOS
        return 0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return int(usage.ru_minflt + usage.ru_majflt)


__all__ = ["HEAPS", "MMAP_THRESHOLD_MAX", "TRIM_THRESHOLD", "heap_state", "keep_memory_mapped",
           "page_faults"]
