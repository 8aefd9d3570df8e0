"""Cross-checks: the analytic engine against the real model and against the counters people
already use (fvcore, thop, ptflops, torchinfo, PyTorch's FlopCounterMode).

``conventions`` holds each peer's counting rules as data (pure Python); ``real`` runs the model
with an independent op-level counter; ``peers`` runs the third-party tools (imported lazily);
``check`` compares and explains.
"""

from __future__ import annotations

from convcost.oracles.check import PEERS, Comparison, CrossCheck, PeerResult, crosscheck
from convcost.oracles.conventions import ADAPTERS, RULES, Adapter, Rule, Term

__all__ = ["ADAPTERS", "PEERS", "RULES", "Adapter", "Comparison", "CrossCheck", "PeerResult",
           "Rule", "Term", "crosscheck"]
