"""What the checks share: the loss, its probe, the scan lines and results computed once."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from losskit.analysis._probes import Lines, Probe, Space, quiet
from losskit.core import Loss, Properties

if TYPE_CHECKING:
    from losskit.analysis._calculus import Derivatives

__all__ = ["GRID_POINTS", "Context", "declared", "line_point", "line_targets", "scan_lines"]

GRID_POINTS = 161


class CheckContext:
    """What every check of one ``lk.check`` run shares: the loss, its settings, and a
    cache of results computed once (pointwise ``Context``, ``StructuredContext``)."""

    def __init__(self, loss: Loss, n: int, seed: int, engines: list[str], metric: Any) -> None:
        self.loss = loss
        self.n = n
        self.seed = seed
        self.engines = engines
        self.metric = metric
        self._cache: dict[str, Any] = {}

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]


class Context(CheckContext):
    """The loss, its probe and results shared between checks (computed once)."""

    def __init__(self, loss: Loss, n: int, seed: int, engines: list[str], metric: Any) -> None:
        super().__init__(loss, n, seed, engines, metric)
        self.props = declared(loss)
        self.probe = Probe(loss, n, seed)

    # The derivative checks live in _calculus, which imports this module.
    @property
    def derivatives(self) -> Derivatives:
        from losskit.analysis._calculus import compute_derivatives

        return self.cached("derivatives", lambda: compute_derivatives(self))

    @property
    def gradient_ok(self) -> bool:
        """``loss.gradient`` is verified (or not contradicted): other checks may use it."""
        from losskit.analysis._calculus import gradient_finding

        return self.cached("gradient_ok", lambda: gradient_finding(self).status != "fail")

    @property
    def hessian_ok(self) -> bool:
        from losskit.analysis._calculus import hessian_finding

        return self.cached("hessian_ok", lambda: hessian_finding(self).status != "fail")

    @property
    def lines(self) -> Lines:
        return self.cached("lines", lambda: scan_lines(self.probe))


def declared(loss: Loss) -> Properties | None:
    """The loss's declared properties, or None where it declares none."""
    try:
        return loss.properties
    except NotImplementedError:
        return None


# ------------------------------------------------------------------- scans
def line_targets(probe: Probe, count: int = 6) -> np.ndarray:
    """Example indices for scans: every distinct target first, then spread by value."""
    y = probe.y if probe.y.ndim == 1 else np.argmax(probe.y, axis=-1)
    order = np.argsort(y, kind="stable")
    _, first = np.unique(y[order], return_index=True)
    chosen = list(order[first][:count]) if probe.multiclass or first.size <= count else []
    spread = order[np.linspace(0, y.size - 1, count).round().astype(int)]
    for index in spread:
        if len(chosen) >= count:
            break
        if index not in chosen:
            chosen.append(index)
    return np.asarray(chosen[:count], dtype=int)


def scan_lines(probe: Probe, *, random_directions: bool = False) -> Lines:
    """Dense 1-D grids over the domain: one per target (scalar) or per row and class."""
    space = probe.space
    if not probe.multiclass:
        chosen = line_targets(probe)
        centres = probe.centres()[chosen]
        targets = probe.y[chosen]
        soft = soft_label(probe)
        if soft is not None:
            targets = np.append(targets, soft)
            centres = np.append(centres, 0.0 if space.kind == "real" else float(
                space.from_u(np.zeros(1))[0]))
        grid = np.stack([grid_around(space, c) for c in centres])
        count = targets.size
        return Lines(np.zeros(count), np.ones(count), targets, grid, np.zeros(count, dtype=int))
    rows = line_targets(probe, count=3)
    k = probe.n_classes
    rng = probe.rng("directions")
    bases, directions, targets, grids, axes = [], [], [], [], []
    for row in rows:
        for axis in range(k):
            base = probe.p[row].copy()
            direction = np.zeros(k)
            direction[axis] = 1.0
            if space.kind == "real":
                grid = np.linspace(-8.0, 8.0, GRID_POINTS)
            else:
                base[axis] = 0.0
                grid = space.from_u(np.linspace(-7.0, 7.0, GRID_POINTS))
            bases.append(base)
            directions.append(direction)
            targets.append(probe.y[row])
            grids.append(grid)
            axes.append(axis)
        if random_directions:
            for _ in range(2):
                base = probe.p[row].copy()
                if probe.simplex:
                    direction = rng.dirichlet(np.ones(k)) - base
                    grid = np.linspace(0.0, 1.0, GRID_POINTS)
                else:
                    direction = rng.normal(size=k)
                    direction /= np.linalg.norm(direction)
                    grid = np.linspace(-8.0, 8.0, GRID_POINTS)
                bases.append(base)
                directions.append(direction)
                targets.append(probe.y[row])
                grids.append(grid)
                axes.append(-1)
    return Lines(np.asarray(bases), np.asarray(directions), np.asarray(targets),
                 np.asarray(grids), np.asarray(axes))


def grid_around(space: Space, centre: float) -> np.ndarray:
    if space.kind == "real":
        return centre + np.linspace(-8.0, 8.0, GRID_POINTS)
    if space.kind == "bounded":
        return space.from_u(np.linspace(-7.0, 7.0, GRID_POINTS))
    u = float(space.to_u(np.asarray(centre)))
    return space.from_u(u + np.linspace(-math.log(100.0), math.log(100.0), GRID_POINTS))


def soft_label(probe: Probe) -> float | None:
    """A soft label 0.3 where targets are probabilities and the loss accepts it."""
    domain = probe.loss.y_true_domain
    if probe.multiclass or not (domain.low == 0.0 and domain.high == 1.0):
        return None
    try:
        with quiet():
            probe.loss.elementwise(probe.p[:1], np.array([0.3]))
    except (TypeError, ValueError):
        return None
    return 0.3


def line_point(lines: Lines, line: int, t: float) -> tuple[np.ndarray, np.ndarray]:
    points, target = lines.points(np.asarray([t]), np.asarray([line]))
    return points[0], target[0]


