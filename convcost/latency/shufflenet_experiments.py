"""ShuffleNetV2's guideline experiments (Ma et al. 2018, arXiv:1807.11164, Tables 1–4), rebuilt.

Every network runs on a 56×56 input and stacks its unit 10 times, as in the paper:

* **G1** (Table 1): 10 blocks of two 1×1 convs ``c1→c2, c2→c1`` (no BN, no ReLU), c1:c2 = 1:1,
  1:2, 1:6, 1:12 at fixed multiply-adds; widths from
  :func:`~convcost.formulas.memory_access.channels_for_ratio` at the multiply-adds of the
  paper's 1:1 row (``c = 32`` for its ARM column, 128 for GPU).
* **G2** (Table 2): 10 1×1 group convs ``c→c`` with g = 1, 2, 4, 8 at fixed multiply-adds
  (``c²/g`` constant): c is the multiple of g nearest ``c_ref·sqrt(g)`` (the paper's 180 for
  g = 8 on CPU is not divisible by 8, so 184 here).
* **G3** (Table 3): blocks of 1×1 convs, 1-fragment (one ``c→c``), k-fragment-series (k convs
  of width ``round(c/sqrt(k))`` chained), k-fragment-parallel (k convs ``c→c/k`` reading the
  same input, concatenated). The paper adjusts the widths "so that the FLOPs is the same as
  1-fragment"; these layouts are our reading of its appendix figure.
* **G4** (Table 4): a ResNet bottleneck with c channels in and out, 1×1 ``c→c/4``, 3×3
  ``c/4→c/4``, 1×1 ``c/4→c``, with and without the ReLUs and the identity shortcut (no BN: it
  folds into the convs at inference).

"Sizes": the paper's ×1, ×2, ×4 columns of Tables 1–2 multiply the ×1 channel widths by 1,
2, 4 (Table 2's g = 1 row equals Table 3's 1-fragment row at c = 64, 128, 256); Tables 3–4
give c directly.

Speeds are images per second at the measurement's batch; the paper's GPU column is batches
per second at batch 8, its ARM/CPU column images per second at batch 1. Only trends compare:
every speed is divided by the first row of its table at the same size.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

import torch
from torch import nn

from convcost.errors import InvalidArgumentError
from convcost.formulas.memory_access import channels_for_ratio
from convcost.latency.measure import Measurement, measure_model

HW = 56
"""Input height and width of every experiment."""

BLOCKS = 10
"""Each unit is stacked 10 times."""

SCALES = (1, 2, 4)
"""Channel multipliers of the three sizes."""

TABLES = ("G1", "G2", "G3", "G4")

SOURCE = "arXiv:1807.11164 Tables 1-4 (vendored: tests/reference/shufflenet_v2_guidelines.csv)"


# --- the tables' configurations ----------------------------------------------------------------
# one type per table; ``label`` is the row's name as the paper prints it


@dataclass(frozen=True)
class ChannelRatio:
    """Table 1 (G1): input and output widths of the 1×1 convs in the ratio c1:c2."""

    table: ClassVar[str] = "G1"
    c1: int
    c2: int

    @property
    def label(self) -> str:
        return f"{self.c1}:{self.c2}"


@dataclass(frozen=True)
class Groups:
    """Table 2 (G2): the groups of the 1×1 group convs."""

    table: ClassVar[str] = "G2"
    g: int

    @property
    def label(self) -> str:
        return f"g={self.g}"


@dataclass(frozen=True)
class Fragments:
    """Table 3 (G3): a block of ``count`` 1×1 convs, chained (series) or side by side
    (parallel); one fragment is neither."""

    table: ClassVar[str] = "G3"
    count: int
    parallel: bool = False

    @property
    def label(self) -> str:
        if self.count == 1:
            return "1-fragment"
        return f"{self.count}-fragment-{'parallel' if self.parallel else 'series'}"


@dataclass(frozen=True)
class Elementwise:
    """Table 4 (G4): the bottleneck with or without its ReLUs and its identity shortcut."""

    table: ClassVar[str] = "G4"
    relu: bool
    shortcut: bool

    @property
    def label(self) -> str:
        def yes(flag: bool) -> str:
            return "yes" if flag else "no"

        return f"ReLU={yes(self.relu)}, shortcut={yes(self.shortcut)}"


Config = ChannelRatio | Groups | Fragments | Elementwise
"""One row's configuration; its type says the table."""


@dataclass(frozen=True)
class PaperRow:
    """One configuration of one of the paper's tables, with its speeds at the three sizes.

    ``gpu_widths`` / ``cpu_widths``: the paper's widths for its GPU and ARM/CPU columns:
    (c1, c2) at ×1 for G1, (c,) at ×1 for G2, c at each size for G3 and G4.
    """

    config: Config
    gpu_widths: tuple[int, ...]
    cpu_widths: tuple[int, ...]
    gpu: tuple[float, float, float]  # batches/s, batch 8 (GTX 1080Ti)
    cpu: tuple[float, float, float]  # images/s, batch 1 (Snapdragon 810)

    @property
    def table(self) -> str:
        return self.config.table


# the paper's figures, transcribed; tests/test_guidelines_reproduce.py checks them against the CSV
PAPER: tuple[PaperRow, ...] = (
    PaperRow(ChannelRatio(1, 1), (128, 128), (32, 32), (1480, 723, 232), (76.2, 21.7, 5.3)),
    PaperRow(ChannelRatio(1, 2), (90, 180), (22, 44), (1296, 586, 206), (72.9, 20.5, 5.1)),
    PaperRow(ChannelRatio(1, 6), (52, 312), (13, 78), (876, 489, 189), (69.1, 17.9, 4.6)),
    PaperRow(ChannelRatio(1, 12), (36, 432), (9, 108), (748, 392, 163), (57.6, 15.1, 4.4)),
    PaperRow(Groups(1), (128,), (64,), (2451, 1289, 437), (40.0, 10.2, 2.3)),
    PaperRow(Groups(2), (180,), (90,), (1725, 873, 341), (35.0, 9.5, 2.2)),
    PaperRow(Groups(4), (256,), (128,), (1026, 644, 338), (32.9, 8.7, 2.1)),
    PaperRow(Groups(8), (360,), (180,), (634, 445, 230), (27.8, 7.5, 1.8)),
    PaperRow(Fragments(1), (128, 256, 512), (64, 128, 256), (2446, 1274, 434),
             (40.2, 10.1, 2.3)),
    PaperRow(Fragments(2, parallel=False), (128, 256, 512), (64, 128, 256), (1790, 909, 336),
             (38.6, 10.1, 2.2)),
    PaperRow(Fragments(4, parallel=False), (128, 256, 512), (64, 128, 256), (752, 745, 349),
             (38.4, 10.1, 2.3)),
    PaperRow(Fragments(2, parallel=True), (128, 256, 512), (64, 128, 256), (1537, 803, 320),
             (33.4, 9.1, 2.2)),
    PaperRow(Fragments(4, parallel=True), (128, 256, 512), (64, 128, 256), (691, 572, 292),
             (35.0, 8.4, 2.1)),
    PaperRow(Elementwise(relu=True, shortcut=True), (32, 64, 128), (32, 64, 128),
             (2427, 2066, 1436), (56.7, 16.9, 5.0)),
    PaperRow(Elementwise(relu=True, shortcut=False), (32, 64, 128), (32, 64, 128),
             (2647, 2256, 1735), (61.9, 18.8, 5.2)),
    PaperRow(Elementwise(relu=False, shortcut=True), (32, 64, 128), (32, 64, 128),
             (2672, 2121, 1458), (57.3, 18.2, 5.1)),
    PaperRow(Elementwise(relu=False, shortcut=False), (32, 64, 128), (32, 64, 128),
             (2842, 2376, 1782), (66.3, 20.2, 5.4)),
)


# --- the networks -------------------------------------------------------------------------------


def _pw(cin: int, cout: int, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, groups=groups, bias=False)


def g1_network(c1: int, c2: int, blocks: int = BLOCKS) -> nn.Sequential:
    """``blocks`` × (1×1 conv c1→c2, 1×1 conv c2→c1); input c1 channels."""
    layers: list[nn.Module] = []
    for _ in range(blocks):
        layers += [_pw(c1, c2), _pw(c2, c1)]
    return nn.Sequential(*layers)


def g2_network(c: int, groups: int, layers: int = BLOCKS) -> nn.Sequential:
    """``layers`` × 1×1 group conv c→c with ``groups``; input c channels."""
    if c % groups:
        raise InvalidArgumentError(f"groups={groups} must divide c={c}")
    return nn.Sequential(*(_pw(c, c, groups) for _ in range(layers)))


class ParallelFragments(nn.Module):
    """k 1×1 convs ``c→c/k`` on the same input, concatenated back to c channels."""

    def __init__(self, c: int, k: int) -> None:
        super().__init__()
        if c % k:
            raise InvalidArgumentError(f"{k} parallel fragments need c={c} divisible by {k}")
        self.fragments = nn.ModuleList(_pw(c, c // k) for _ in range(k))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([f(x) for f in self.fragments], dim=1)


def series_width(c: int, k: int) -> int:
    """Width of each of k chained ``c'→c'`` convs with the multiply-adds of one ``c→c``."""
    return max(1, round(c / math.sqrt(k)))


def g3_network(c: int, fragments: int, parallel: bool, blocks: int = BLOCKS) -> nn.Sequential:
    """``blocks`` × a block of ``fragments`` 1×1 convs (see the module docstring)."""
    if fragments < 1:
        raise InvalidArgumentError(f"fragments must be >= 1, got {fragments}")
    if parallel and fragments > 1:
        return nn.Sequential(*(ParallelFragments(c, fragments) for _ in range(blocks)))
    w = series_width(c, fragments)
    return nn.Sequential(*(nn.Sequential(*(_pw(w, w) for _ in range(fragments)))
                           for _ in range(blocks)))


class Bottleneck(nn.Module):
    """ResNet bottleneck: 1×1 c→c/4, 3×3 c/4→c/4, 1×1 c/4→c; optional ReLUs and shortcut."""

    def __init__(self, c: int, relu: bool = True, shortcut: bool = True) -> None:
        super().__init__()
        if c % 4:
            raise InvalidArgumentError(f"bottleneck width c={c} must be divisible by 4")
        mid = c // 4
        self.conv1 = _pw(c, mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, padding=1, bias=False)
        self.conv3 = _pw(mid, c)
        self.relu = relu
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act: Callable[[torch.Tensor], torch.Tensor] = torch.relu if self.relu else (
            lambda t: t)
        y = self.conv3(act(self.conv2(act(self.conv1(x)))))
        if self.shortcut:
            y = y + x
        return act(y)


def g4_network(c: int, relu: bool, shortcut: bool, blocks: int = BLOCKS) -> nn.Sequential:
    """``blocks`` × :class:`Bottleneck` with c channels."""
    return nn.Sequential(*(Bottleneck(c, relu, shortcut) for _ in range(blocks)))


# --- the experiments ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Experiment:
    """One network of one table at one size."""

    paper: PaperRow
    size: int  # 0, 1, 2: the paper's ×1/×2/×4 or c columns
    size_label: str
    channels: tuple[int, ...]  # G1 (c1, c2); G2 (c, g); G3 (c, width of a fragment); G4 (c,)
    target_madds: int | None  # the fixed multiply-adds of the table's design (None for G4)
    build: Callable[[], nn.Module]
    input_size: tuple[int, ...]  # batch first

    @property
    def table(self) -> str:
        return self.paper.table

    @property
    def config(self) -> Config:
        return self.paper.config

    @property
    def label(self) -> str:
        return f"{self.table} {self.config.label} {self.size_label}"


def _nearest_multiple(x: float, g: int) -> int:
    lo = max(g, math.floor(x / g) * g)
    hi = lo + g
    return lo if abs(lo - x) <= abs(hi - x) else hi


def group_width(c_ref: int, groups: int) -> int:
    """c with ``c²/g ≈ c_ref²``: the multiple of g nearest ``c_ref·sqrt(g)``."""
    return _nearest_multiple(c_ref * math.sqrt(groups), groups)


def experiments(widths: str = "cpu", batch: int = 1,
                tables: Sequence[str] = TABLES) -> list[Experiment]:
    """Every network of the chosen tables, at the widths of the paper's ``cpu`` (ARM) or
    ``gpu`` column."""
    if widths not in ("cpu", "gpu"):
        raise InvalidArgumentError(f"widths must be 'cpu' or 'gpu', got {widths!r}")
    if batch < 1:
        raise InvalidArgumentError(f"batch must be >= 1, got {batch}")
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise InvalidArgumentError(f"unknown table(s) {unknown}; choose from {list(TABLES)}")
    hw = HW * HW
    # each table's first row sets the width its equal-multiply-adds rows are scaled from
    first: dict[str, tuple[int, ...]] = {}
    for row in PAPER:
        first.setdefault(row.table, row.cpu_widths if widths == "cpu" else row.gpu_widths)
    out: list[Experiment] = []
    for row in PAPER:
        if row.table not in tables:
            continue
        ref = row.cpu_widths if widths == "cpu" else row.gpu_widths
        for i, scale in enumerate(SCALES):
            cfg = row.config
            if isinstance(cfg, ChannelRatio):
                c_ref = first[cfg.table][0]  # the 1:1 row's c1
                per_conv = hw * (scale * c_ref) ** 2
                pair = channels_for_ratio(HW, HW, per_conv, (cfg.c1, cfg.c2))
                c1, c2 = pair.c1, pair.c2
                out.append(Experiment(
                    row, i, f"×{scale}", (c1, c2), 2 * BLOCKS * per_conv,
                    partial(g1_network, c1, c2), (batch, c1, HW, HW)))
            elif isinstance(cfg, Groups):
                c_ref = first[cfg.table][0]  # the g=1 row's c
                c = group_width(scale * c_ref, cfg.g)
                out.append(Experiment(
                    row, i, f"×{scale}", (c, cfg.g), BLOCKS * hw * (scale * c_ref) ** 2,
                    partial(g2_network, c, cfg.g), (batch, c, HW, HW)))
            elif isinstance(cfg, Fragments):
                c, k = ref[i], cfg.count
                w = c // k if cfg.parallel else series_width(c, k)
                cin = c if cfg.parallel else w
                out.append(Experiment(
                    row, i, f"c={c}", (c, w), BLOCKS * hw * c * c,
                    partial(g3_network, c, k, cfg.parallel), (batch, cin, HW, HW)))
            else:
                c = ref[i]
                out.append(Experiment(
                    row, i, f"c={c}", (c,), None,
                    partial(g4_network, c, cfg.relu, cfg.shortcut), (batch, c, HW, HW)))
    return out


def build(experiment: Experiment) -> nn.Module:
    """The experiment's network with reproducible random weights; the global RNG is untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return experiment.build().eval()


# --- measurement --------------------------------------------------------------------------------

MeasureFn = Callable[[nn.Module, tuple[int, ...]], Measurement]


@dataclass(frozen=True)
class Measured:
    """One experiment and its timing."""

    experiment: Experiment
    measurement: Measurement

    @property
    def speed(self) -> float:
        """Images per second at the median time."""
        return self.measurement.throughput


@dataclass(frozen=True)
class TableResult:
    """One table: its measured rows in the paper's order."""

    table: str
    rows: tuple[Measured, ...]

    def configs(self) -> list[Config]:
        seen: list[Config] = []
        for m in self.rows:
            if m.experiment.config not in seen:
                seen.append(m.experiment.config)
        return seen

    def sizes(self) -> list[str]:
        seen: list[str] = []
        for m in self.rows:
            if m.experiment.size_label not in seen:
                seen.append(m.experiment.size_label)
        return seen

    def get(self, config: Config, size: int) -> Measured:
        for m in self.rows:
            if m.experiment.config == config and m.experiment.size == size:
                return m
        raise KeyError((config, size))

    def normalized(self, config: Config, size: int) -> tuple[float, float, float]:
        """(here, paper GPU, paper ARM/CPU) speeds of ``config`` over the first config's."""
        first = self.configs()[0]
        here = self.get(config, size).speed / self.get(first, size).speed
        p, p0 = self.get(config, size).experiment.paper, self.get(first, size).experiment.paper
        return here, p.gpu[size] / p0.gpu[size], p.cpu[size] / p0.cpu[size]

    def trend(self) -> Trend:
        """The last config against the first at every size, here and in the paper, and which
        config is fastest at each size here and on the paper's ARM column."""
        configs = self.configs()
        last = configs[-1]
        n = len(self.sizes())

        def here_speed(config: Config, size: int) -> float:
            return self.get(config, size).speed

        def paper_speed(config: Config, size: int) -> float:
            return self.get(config, size).experiment.paper.cpu[size]

        def fastest_at(speed: Callable[[Config, int], float], size: int) -> Config:
            return max(configs, key=lambda c: speed(c, size))  # ties: the earlier row

        ratios = [self.normalized(last, s) for s in range(n)]
        return Trend(
            table=self.table, configs=tuple(configs), sizes=tuple(self.sizes()),
            here=tuple(r[0] for r in ratios), paper_gpu=tuple(r[1] for r in ratios),
            paper_cpu=tuple(r[2] for r in ratios),
            fastest_here=tuple(fastest_at(here_speed, s) for s in range(n)),
            fastest_paper_cpu=tuple(fastest_at(paper_speed, s) for s in range(n)))


@dataclass(frozen=True)
class Trend:
    """A table's trend as numbers: speed of the ``last`` config over the ``first`` per size
    (here, paper GPU, paper ARM), and the fastest config per size here and in the paper."""

    table: str
    configs: tuple[Config, ...]  # in the table's order: first and last are the compared ones
    sizes: tuple[str, ...]
    here: tuple[float, ...]
    paper_gpu: tuple[float, ...]
    paper_cpu: tuple[float, ...]
    fastest_here: tuple[Config, ...]
    fastest_paper_cpu: tuple[Config, ...]

    @property
    def first(self) -> Config:
        return self.configs[0]

    @property
    def last(self) -> Config:
        return self.configs[-1]

    def as_dict(self) -> dict[str, object]:
        return {"first": self.first.label, "last": self.last.label, "sizes": list(self.sizes),
                "here": list(self.here), "paper_gpu": list(self.paper_gpu),
                "paper_cpu": list(self.paper_cpu),
                "fastest_here": [c.label for c in self.fastest_here],
                "fastest_paper_cpu": [c.label for c in self.fastest_paper_cpu]}


@dataclass(frozen=True)
class Reproduction:
    """Every table measured on this machine."""

    tables: tuple[TableResult, ...]
    widths: str
    batch: int
    threads: int
    device: str
    budget_s: float
    rounds: int
    seconds: float  # wall time of the whole run

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "source": SOURCE, "widths": self.widths, "batch": self.batch,
            "threads": self.threads, "device": self.device, "budget_s": self.budget_s,
            "rounds": self.rounds, "seconds": self.seconds, "tables": [],
        }
        tables: list[dict[str, object]] = []
        for t in self.tables:
            rows = []
            for m in t.rows:
                e = m.experiment
                here, gpu, cpu = t.normalized(e.config, e.size)
                rows.append({
                    "config": e.config.label, "size": e.size_label, "channels": list(e.channels),
                    "target_madds": e.target_madds, "images_per_s": m.speed,
                    "median_ms": m.measurement.median_ms, "iqr_ms": m.measurement.iqr_ms,
                    "runs": m.measurement.runs, "normalized": here,
                    "paper_gpu_batches_per_s": e.paper.gpu[e.size],
                    "paper_gpu_normalized": gpu,
                    "paper_cpu_images_per_s": e.paper.cpu[e.size],
                    "paper_cpu_normalized": cpu,
                })
            tables.append({"table": t.table, "trend": t.trend().as_dict(), "rows": rows})
        out["tables"] = tables
        return out


def default_measure(threads: int | None = 1, budget_s: float = 0.15, warmup: int = 1,
                    min_runs: int = 5) -> MeasureFn:
    """:func:`~convcost.latency.measure.measure_model` with a short per-network budget."""
    def run(model: nn.Module, input_size: tuple[int, ...]) -> Measurement:
        return measure_model(model, input_size, threads=threads, warmup=warmup,
                             min_runs=min_runs, max_runs=200, budget_s=budget_s)
    return run


def reproduce(
    *,
    widths: str = "cpu",
    batch: int = 1,
    tables: Sequence[str] = TABLES,
    threads: int | None = 1,
    budget_s: float = 0.15,
    rounds: int = 3,
    measure_fn: MeasureFn | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> Reproduction:
    """Build and time every network of ``tables``; ``measure_fn`` replaces the timing (tests).

    Every network is measured in ``rounds`` interleaved rounds (all networks of a round, then
    the next round), and the round with the lowest median is kept: on a shared machine other
    work only ever adds time, and interleaving spreads it over all networks alike.
    ``threads`` defaults to 1 (the paper's ARM figures are single-threaded, and one thread is
    the least disturbed by other processes); ``budget_s`` is the timed seconds per network
    and round. ``progress(done, total, label)`` is called before each measurement.
    """
    if rounds < 1:
        raise InvalidArgumentError(f"rounds must be >= 1, got {rounds}")
    run = measure_fn or default_measure(threads, budget_s)
    exps = experiments(widths, batch, tables)
    start = time.perf_counter()
    models = [build(e) for e in exps]
    best: list[Measurement | None] = [None] * len(exps)
    total = rounds * len(exps)
    for r in range(rounds):
        for i, (exp, model) in enumerate(zip(exps, models, strict=True)):
            if progress is not None:
                progress(r * len(exps) + i, total, exp.label)
            m = run(model, exp.input_size)
            kept = best[i]
            if kept is None or m.median_ms < kept.median_ms:
                best[i] = m
    elapsed = time.perf_counter() - start
    measured = [Measured(e, m) for e, m in zip(exps, best, strict=True) if m is not None]
    results = tuple(TableResult(t, tuple(m for m in measured if m.experiment.table == t))
                    for t in TABLES if t in tables)
    first = measured[0].measurement if measured else None
    return Reproduction(results, widths, batch, first.threads if first else 0,
                        first.device if first else "cpu", budget_s, rounds, elapsed)


__all__ = [
    "BLOCKS",
    "HW",
    "PAPER",
    "SCALES",
    "TABLES",
    "Bottleneck",
    "ChannelRatio",
    "Config",
    "Elementwise",
    "Experiment",
    "Fragments",
    "Groups",
    "Measured",
    "PaperRow",
    "ParallelFragments",
    "Reproduction",
    "TableResult",
    "Trend",
    "build",
    "default_measure",
    "experiments",
    "g1_network",
    "g2_network",
    "g3_network",
    "g4_network",
    "group_width",
    "reproduce",
    "series_width",
]
