"""Cross-checks: the analytic engine against the real model and against the counters people
already use (fvcore, thop, ptflops, torchinfo, PyTorch's FlopCounterMode).

``conventions`` holds each peer's counting rules as data and ``quantities`` the peers' own
formulas (pure Python); ``context`` is what was observed of the model, ``observe`` and
``real`` record it on real CPU runs; ``peers`` runs the third-party tools (imported lazily);
``predict`` computes what each should report; ``check`` compares and explains.
"""

from __future__ import annotations

from convcost.oracles.check import PEERS, Comparison, CrossCheck, PeerResult, crosscheck
from convcost.oracles.conventions import ADAPTERS, RULES, Adapter, Hook, Rule, Term

__all__ = ["ADAPTERS", "PEERS", "RULES", "Adapter", "Comparison", "CrossCheck", "Hook",
           "PeerResult", "Rule", "Term", "crosscheck"]
