"""Measured latency and a calibrated roofline estimate of it.

- :mod:`~convcost.latency.measure`: time a callable or a model (warm-up, repeats, median, IQR).
- :mod:`~convcost.latency.profile_layers`: measured time per module with ``torch.profiler``.
- :mod:`~convcost.latency.calibrate`: micro-benchmarks for peak compute, bandwidth, overhead
  (``convcost.latency.calibrate.calibrate(device, threads)``, cached per machine).
- :mod:`~convcost.latency.roofline`: per-layer prediction from convcost's rows.
- :mod:`~convcost.latency.fit`: Spearman, share within ±25 %, the relative least-squares fit.
"""

from __future__ import annotations

from typing import Any

# torch is imported only by what needs it: roofline and fit are pure Python
_LAZY = {"Calibration": "roofline", "LatencyPrediction": "roofline",
         "predict_latency": "roofline", "Measurement": "measure", "measure": "measure",
         "measure_model": "measure", "LayerTime": "profile_layers",
         "profile_layers": "profile_layers"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"convcost.latency.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'convcost.latency' has no attribute {name!r}")


__all__ = [
    "Calibration",
    "LatencyPrediction",
    "LayerTime",
    "Measurement",
    "measure",
    "measure_model",
    "predict_latency",
    "profile_layers",
]
