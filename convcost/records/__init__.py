"""Result records: what the use cases return and ``report/`` renders.

Plain data (ints and tuples; no torch, pandas or matplotlib at import): the analysis of one
model (:class:`Analysis`), a compared model, a point in accuracy-vs-cost space, a summary, a
zoo row. They sit below ``report/`` so that it renders them without importing the use cases.
"""

from convcost.records.analysis import Analysis
from convcost.records.compare import Compared
from convcost.records.points import CostPoint, pareto_frontier
from convcost.records.summary import Summary, SummaryRow, SummaryTotals
from convcost.records.zoo import ZooRow

__all__ = ["Analysis", "Compared", "CostPoint", "Summary", "SummaryRow", "SummaryTotals",
           "ZooRow", "pareto_frontier"]
