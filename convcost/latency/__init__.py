"""Measured latency and a calibrated roofline estimate of it.

- :mod:`~convcost.latency.measure`: time a callable or a model (warm-up, repeats, median, IQR).
- :mod:`~convcost.latency.profile_layers`: measured time per module with ``torch.profiler``.
- :mod:`~convcost.latency.calibrate`: micro-benchmarks for peak compute, bandwidth, overhead
  (``convcost.latency.calibrate.calibrate(device, threads)``, cached per machine).
- :mod:`~convcost.latency.roofline`: per-layer prediction from convcost's rows.
- :mod:`~convcost.latency.fit`: Spearman, share within ±25 %, the relative least-squares fit.
"""

from __future__ import annotations

from convcost.latency.calibrate import Calibration
from convcost.latency.measure import Measurement, measure, measure_model
from convcost.latency.profile_layers import LayerTime, profile_layers
from convcost.latency.roofline import LatencyPrediction, predict_latency

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
