"""What the sections of ``benchmarks.fit`` share: the configuration and a row's record."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from benchmarks._harness import Timing

__all__ = ["FULL_SIZES", "Config", "Report", "Row", "growth"]

FULL_SIZES = (20_000, 100_000, 1_000_000)


@dataclass
class Config:
    """What to run; every section reads the fields it needs."""

    sizes: tuple[int, ...] = FULL_SIZES
    features: int = 50
    quantiles: tuple[float, ...] = (0.5, 0.9)
    rounds: int = 3
    sklearn_max: int = 20_000
    statsmodels_max: int = 100_000
    large: int = 100_000  # from this n on, the slow anchors run one round only
    seed: int = 0
    dask_rows: int = 30_000_000  # the out-of-core fit: rows generated block by block
    dask_features: int = 10
    dask_chunk: int = 500_000
    progress: Callable[[str], None] | None = None

    def say(self, text: str) -> None:
        if self.progress is not None:
            self.progress(text)


@dataclass
class Row:
    """One case: median seconds and objectives per competitor."""

    section: str
    case: str
    n: int
    d: int
    timings: dict[str, Timing] = field(default_factory=dict)
    objectives: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # competitor -> remark (rounds ...)
    problems: dict[str, str] = field(default_factory=dict)  # competitor -> why not timed
    reference: str = "losskit"  # whose objective the others are compared with

    def seconds(self, name: str) -> float | None:
        timing = self.timings.get(name)
        return None if timing is None else timing.median

    def speedup(self, anchor: str, mine: str = "losskit") -> float | None:
        """``anchor``'s time over losskit's: above 1, losskit is faster."""
        theirs, ours = self.seconds(anchor), self.seconds(mine)
        if theirs is None or not ours:
            return None
        return theirs / ours

    def relative_objective(self, name: str) -> float | None:
        mine, theirs = self.objectives.get(self.reference), self.objectives.get(name)
        if mine is None or theirs is None:
            return None
        return (theirs - mine) / max(abs(mine), np.finfo(float).tiny)


@dataclass
class Report:
    header: list[str]
    rows: list[Row]
    columns: dict[str, list[str]]  # section -> competitor columns in order
    footnotes: dict[str, list[str]]  # section -> lines under its table


def growth(rows: list[Row], name: str) -> list[str]:
    """``k`` in ``t ~ n^k`` between consecutive sizes, per case."""
    lines = []
    for case in dict.fromkeys(row.case for row in rows):
        timed = [(row.n, row.seconds(name)) for row in rows
                 if row.case == case and row.seconds(name)]
        steps = []
        for (n0, t0), (n1, t1) in itertools.pairwise(timed):
            assert t0 is not None and t1 is not None
            steps.append(f"{n0:,}->{n1:,}: k = {math.log(t1 / t0) / math.log(n1 / n0):.2f}")
        if steps:
            lines.append(f"  {name} {case}: " + "; ".join(steps))
    return lines
