"""Numerical probes behind :func:`losskit.analysis.check`: points, differences, autodiff, scans.

Everything here works on float64 NumPy arrays through the loss's public methods
(``elementwise``, ``gradient``, ``hessian``), so a loss is probed as its users see it.
Warnings are silenced while probing: the probes go to extreme inputs on purpose and
judge the results themselves.
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from losskit.core import Loss
from losskit.links import Interval

__all__ = ["Lines", "Probe", "Space", "autodiff", "central_difference", "find_jumps", "quiet",
           "single_threaded"]

ENGINES = ("torch", "jax")


@contextmanager
def quiet() -> Iterator[None]:
    """No warnings, no floating-point complaints: the probes judge the results."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


def single_threaded() -> Any:
    """Limit BLAS and OpenMP to one thread (threadpoolctl, where installed).

    The probes run thousands of tiny array operations and small optimisations; with
    BLAS threads (OpenBLAS beside torch's OpenMP) contending for a few cores they run
    several times slower than on one thread.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return nullcontext()
    return threadpool_limits(limits=1)


# ------------------------------------------------------------------ spaces
class Space:
    """Where one entry of what the caller passes lives, mapped from the real line.

    ``kind`` is ``"real"`` (no bound), ``"lower"`` (``(low, inf)``: positive means),
    ``"upper"`` or ``"bounded"`` (probabilities). ``from_u`` maps a real ``u`` inside:
    ``u`` itself, ``low + exp(u)``, ``high - exp(u)`` or ``low + span expit(u)``, so
    grids uniform in ``u`` are geometric towards an open end.
    """

    def __init__(self, domain: Interval) -> None:
        self.domain = domain
        self.low, self.high = float(domain.low), float(domain.high)
        finite_low, finite_high = math.isfinite(self.low), math.isfinite(self.high)
        if finite_low and finite_high:
            self.kind = "bounded"
        elif finite_low:
            self.kind = "lower"
        elif finite_high:
            self.kind = "upper"
        else:
            self.kind = "real"

    @property
    def span(self) -> float:
        return self.high - self.low

    def from_u(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=np.float64)
        if self.kind == "real":
            return u
        if self.kind == "lower":
            return self.low + np.exp(u)
        if self.kind == "upper":
            return self.high - np.exp(u)
        return self.low + self.span * 0.5 * (1.0 + np.tanh(0.5 * u))

    def to_u(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        with quiet():
            if self.kind == "real":
                return t
            if self.kind == "lower":
                return np.log(t - self.low)
            if self.kind == "upper":
                return np.log(self.high - t)
            s = (t - self.low) / self.span
            return np.log(s) - np.log1p(-s)

    def inside(self, t: np.ndarray) -> np.ndarray:
        with quiet():
            return ~np.asarray(self.domain.outside(np, np.asarray(t, dtype=np.float64)))

    def room(self, t: np.ndarray) -> np.ndarray:
        """Distance to the nearest finite edge (inf where none)."""
        t = np.asarray(t, dtype=np.float64)
        room = np.full(t.shape, math.inf)
        if math.isfinite(self.low):
            room = np.minimum(room, t - self.low)
        if math.isfinite(self.high):
            room = np.minimum(room, self.high - t)
        return room

    def edge_ladder(self, centre: np.ndarray, exponents: np.ndarray) -> np.ndarray:
        """Points at scale ``10**k`` for each ``k``: ``(len(centre), 2, len(k))``.

        Real: ``centre -+ 10**k``. Towards an open end: ``10**-k`` of the way from the
        edge, and ``10**k`` times the distance from it. Bounded: ``span 10**-k`` from
        each end. The scale grows with ``k`` in every case (errors, slopes near an edge).
        """
        centre = np.asarray(centre, dtype=np.float64)[:, None]
        scale = 10.0 ** np.asarray(exponents, dtype=np.float64)[None, :]
        if self.kind == "real":
            return np.stack([centre - scale, centre + scale], axis=1)
        if self.kind == "bounded":
            distance = self.span * np.minimum(0.5, 1.0 / scale) * np.ones_like(centre)
            return np.stack([self.low + distance, self.high - distance], axis=1)
        edge = self.low if self.kind == "lower" else self.high
        sign = 1.0 if self.kind == "lower" else -1.0
        distance = np.maximum(np.abs(centre - edge), 1e-3)
        return np.stack([edge + sign * distance / scale, edge + sign * distance * scale], axis=1)


def input_domain(loss: Loss) -> Interval:
    """Where what the caller passes lives: the natural domain, or the link's raw one."""
    return loss.y_pred_domain if loss.link.name == "identity" else loss.link.raw_domain


# ------------------------------------------------------------------- probe
class Probe:
    """A loss with float64 evaluation helpers, its input space and example data."""

    def __init__(self, loss: Loss, n: int, seed: int) -> None:
        self.loss = loss
        self.multiclass = bool(loss.multiclass)
        self.space = Space(input_domain(loss))
        self.seed = seed
        p, y = loss.example(n, seed=seed)
        self.p = np.asarray(p, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.n_classes = int(self.p.shape[-1]) if self.multiclass else 0
        #: Regression-like: unbounded targets, scanned around the target itself.
        self.regression = (not self.multiclass) and loss.y_true_domain.high == math.inf
        self.simplex = (self.multiclass and self.space.kind == "bounded"
                        and self.space.low == 0.0 and self.space.high == 1.0)

    # evaluation ------------------------------------------------------------
    def value(self, p: np.ndarray, y: np.ndarray) -> np.ndarray:
        with quiet():
            return _float(self.loss.elementwise(p, y))

    def gradient(self, p: np.ndarray, y: np.ndarray) -> np.ndarray:
        with quiet():
            return _float(self.loss.gradient(p, y))

    def hessian(self, p: np.ndarray, y: np.ndarray) -> np.ndarray:
        with quiet():
            return _float(self.loss.hessian(p, y))

    def norm(self, array: np.ndarray) -> np.ndarray:
        """Per-sample Euclidean norm over the class axis (absolute value otherwise)."""
        return np.linalg.norm(array, axis=-1) if self.multiclass else np.abs(array)

    # points ----------------------------------------------------------------
    def centres(self) -> np.ndarray:
        """Input-space centres of the scans, one per example sample (scalar losses).

        Regression: the prediction equal to the target, ``link(y)``, where the target
        lies inside the natural domain (else the example prediction). Classification
        scores: 0. Bounded inputs: the middle.
        """
        space = self.space
        if space.kind == "bounded":
            return np.full(self.p.shape[0], space.low + 0.5 * space.span)
        if not self.regression:
            centre = space.from_u(np.zeros(1))[0] if space.kind != "real" else 0.0
            return np.full(self.p.shape[0], centre)
        natural = self.loss.y_pred_domain
        with quiet():
            usable = ~np.asarray(natural.outside(np, self.y))
            mu = np.where(usable, self.y, 1.0)
            centre = np.asarray(self.loss.link.link(mu), dtype=np.float64)
        good = usable & np.isfinite(centre) & space.inside(centre)
        return np.where(good, centre, self.p)

    def rng(self, purpose: str) -> np.random.Generator:
        """A generator of its own for each purpose: a check's draws do not depend on which
        other checks ran before it."""
        return np.random.default_rng([self.seed, zlib.crc32(purpose.encode())])

    def random_points(self, spread: float, rng: np.random.Generator, size: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Random valid predictions (with the example targets, repeated to ``size``)."""
        n = self.p.shape[0]
        rows = np.arange(size or n) % n
        y = self.y[rows]
        if self.simplex:
            return rng.dirichlet(np.ones(self.n_classes), size=rows.size), y
        if self.multiclass:
            u = self.space.to_u(self.p[rows]) if self.space.kind != "real" else self.p[rows]
            return self.space.from_u(u + rng.normal(0.0, spread, size=u.shape)), y
        centre_u = self.space.to_u(self.centres()[rows])
        u = centre_u + rng.normal(0.0, spread, size=rows.size)
        return self.space.from_u(u), y


def _float(array: Any) -> np.ndarray:
    if hasattr(array, "detach"):
        array = array.detach().cpu().numpy()
    return np.asarray(array, dtype=np.float64)


# ----------------------------------------------------- finite differences
def fd_steps(space: Space, p: np.ndarray, relative: float = 1e-3) -> np.ndarray:
    """Steps of ``relative * max(1, |p|)``, at most 1% of the distance to an edge."""
    step = relative * np.maximum(1.0, np.abs(p))
    return np.minimum(step, 1e-2 * space.room(p))


def central_difference(func: Callable[[np.ndarray], np.ndarray], p: np.ndarray,
                       step: np.ndarray, multiclass: bool) -> np.ndarray:
    """4th-order central differences ``d func(p)_i / d p_i`` for every entry of ``p``.

    ``func`` returns per-sample values, or an array of ``p``'s shape (a gradient: the
    entry's derivative with respect to the same entry, i.e. the Hessian diagonal).
    Samples are independent, so one perturbation moves every sample at once; a
    multiclass input needs one perturbation per class.
    """

    def stencil(direction: np.ndarray) -> np.ndarray:
        def at(t: float) -> np.ndarray:
            return np.asarray(func(p + t * direction), dtype=np.float64)

        return at(-2.0) - 8.0 * at(-1.0) + 8.0 * at(1.0) - at(2.0)

    if not multiclass:
        return stencil(step) / (12.0 * step)
    out = np.empty_like(p)
    for k in range(p.shape[-1]):
        direction = np.zeros_like(p)
        direction[..., k] = step[..., k]
        numerator = stencil(direction)
        if numerator.shape == p.shape:
            numerator = numerator[..., k]
        out[..., k] = numerator / (12.0 * step[..., k])
    return out


def second_difference(func: Callable[[np.ndarray], np.ndarray], p: np.ndarray,
                      step: np.ndarray, multiclass: bool) -> np.ndarray:
    """4th-order central second differences of per-sample values, entry by entry."""

    def stencil(direction: np.ndarray) -> np.ndarray:
        def at(t: float) -> np.ndarray:
            return np.asarray(func(p + t * direction), dtype=np.float64)

        return -at(-2.0) + 16.0 * at(-1.0) - 30.0 * at(0.0) + 16.0 * at(1.0) - at(2.0)

    if not multiclass:
        return stencil(step) / (12.0 * step * step)
    out = np.empty_like(p)
    for k in range(p.shape[-1]):
        direction = np.zeros_like(p)
        direction[..., k] = step[..., k]
        out[..., k] = stencil(direction) / (12.0 * step[..., k] ** 2)
    return out


# -------------------------------------------------- automatic differentiation
def available_engines() -> list[str]:
    """The automatic-differentiation libraries that can be imported."""
    import importlib.util

    return [name for name in ENGINES if importlib.util.find_spec(name) is not None]


def autodiff(engine: str, loss: Loss, p: np.ndarray, y: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian diagonal of ``sum_i L_i`` by ``engine``, in float64."""
    if engine == "torch":
        return _torch_derivatives(loss, p, y)
    if engine == "jax":
        return _jax_derivatives(loss, p, y)
    raise ValueError(f"unknown autodiff engine {engine!r}; expected one of {ENGINES}")


def _torch_derivatives(loss: Loss, p: np.ndarray, y: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    import torch

    target = torch.from_numpy(np.ascontiguousarray(y))
    pred = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    with quiet():
        total = torch.as_tensor(loss.elementwise(pred, target)).sum()
        (gradient,) = torch.autograd.grad(total, pred, create_graph=True)
        if not gradient.requires_grad:  # a piecewise-linear loss: the gradient is constant
            diagonal = torch.zeros_like(pred)
        elif loss.multiclass:
            # Samples are independent: d/dp_jk sum_i g_ik = d2 L_j / dp_jk2.
            columns = []
            for k in range(p.shape[-1]):
                (column,) = torch.autograd.grad(gradient[..., k].sum(), pred, retain_graph=True,
                                                allow_unused=True)
                columns.append(torch.zeros(p.shape[:-1], dtype=torch.float64)
                               if column is None else column[..., k])
            diagonal = torch.stack(columns, dim=-1)
        else:
            (diagonal,) = torch.autograd.grad(gradient.sum(), pred, allow_unused=True)
            diagonal = torch.zeros_like(pred) if diagonal is None else diagonal
    return gradient.detach().numpy(force=True), diagonal.detach().numpy(force=True)


def _jax_derivatives(loss: Loss, p: np.ndarray, y: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    import jax
    import jax.numpy as jnp

    multiclass = bool(loss.multiclass)

    def total(q: Any, t: Any) -> Any:
        return jnp.sum(loss.elementwise(q, t))

    def derivatives(q: Any, t: Any) -> tuple[Any, Any]:
        gradient_of = jax.grad(total)
        gradient = gradient_of(q, t)
        if multiclass:
            # Hessian-vector products along e_k (every sample at once): diagonal k.
            basis = jnp.eye(q.shape[-1], dtype=q.dtype)

            def along(e: Any) -> Any:
                direction = jnp.broadcast_to(e, q.shape)
                return jax.jvp(lambda r: gradient_of(r, t), (q,), (direction,))[1]

            products = jax.vmap(along)(basis)  # (K, n, K)
            diagonal = jnp.stack([products[k, ..., k] for k in range(q.shape[-1])], axis=-1)
            return gradient, diagonal
        return gradient, jax.grad(lambda r: jnp.sum(gradient_of(r, t)))(q)

    with jax.enable_x64(True), quiet():
        gradient, diagonal = jax.jit(derivatives)(jnp.asarray(p, dtype=jnp.float64),
                                                  jnp.asarray(y, dtype=jnp.float64))
        return np.asarray(gradient, dtype=np.float64), np.asarray(diagonal, dtype=np.float64)


# ------------------------------------------------------------------- lines
@dataclass
class Lines:
    """1-D scans ``P(t) = base + t direction`` with a target per line.

    Scalar losses: ``base = 0``, ``direction = 1``, so ``P = t``. Multiclass losses:
    ``(L, K)`` bases and unit coordinate directions (``axis`` is the class), or random
    directions (``axis = -1``). ``grid`` is ``(L, G)``.
    """

    base: np.ndarray
    direction: np.ndarray
    target: np.ndarray
    grid: np.ndarray
    axis: np.ndarray

    @property
    def count(self) -> int:
        return int(self.grid.shape[0])

    def points(self, t: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictions and targets at parameters ``t`` of lines ``rows`` (same shapes)."""
        t = np.asarray(t, dtype=np.float64)
        flat_t, flat_rows = t.ravel(), np.broadcast_to(rows, t.shape).ravel()
        base, direction = self.base[flat_rows], self.direction[flat_rows]
        if base.ndim == 1:
            points = base + flat_t * direction
        else:
            points = base + flat_t[:, None] * direction
        return points, self.target[flat_rows]

    def all_rows(self) -> np.ndarray:
        return np.broadcast_to(np.arange(self.count)[:, None], self.grid.shape)


def line_quantity(probe: Probe, lines: Lines, kind: str, *, trusted: bool = True,
                  step: float = 0.0) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``q(t, rows)`` along the lines: the value, slope or curvature of the loss.

    ``kind``: ``"value"``; ``"slope"`` (``g . direction``, from ``loss.gradient`` when
    ``trusted``, else central differences of the value with ``step``); ``"curvature"``
    (coordinate lines: the Hessian diagonal entry when ``trusted``, else differences of
    the slope).
    """

    def value(t: np.ndarray, rows: np.ndarray) -> np.ndarray:
        points, target = lines.points(t, rows)
        return probe.value(points, target).reshape(np.shape(t))

    def exact_slope(t: np.ndarray, rows: np.ndarray) -> np.ndarray:
        points, target = lines.points(t, rows)
        g = probe.gradient(points, target)
        flat_rows = np.broadcast_to(rows, np.shape(t)).ravel()
        if g.ndim > 1:
            g = np.sum(g * lines.direction[flat_rows], axis=-1)
        return g.reshape(np.shape(t))

    def differenced(func: Callable[[np.ndarray, np.ndarray], np.ndarray]
                    ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        def derivative(t: np.ndarray, rows: np.ndarray) -> np.ndarray:
            h = step * np.maximum(1.0, np.abs(t))
            return (func(t + h, rows) - func(t - h, rows)) / (2.0 * h)

        return derivative

    if kind == "value":
        return value
    if kind == "slope":
        return exact_slope if trusted else differenced(value)
    if kind == "curvature":
        if trusted:
            def exact_curvature(t: np.ndarray, rows: np.ndarray) -> np.ndarray:
                points, target = lines.points(t, rows)
                h = probe.hessian(points, target)
                if h.ndim > 1:
                    flat_rows = np.broadcast_to(rows, np.shape(t)).ravel()
                    h = h[np.arange(h.shape[0]), lines.axis[flat_rows]]
                return h.reshape(np.shape(t))

            return exact_curvature
        return differenced(exact_slope)
    raise ValueError(kind)


# ------------------------------------------------------------- jump finder
@dataclass
class Jump:
    """The largest jump found along the lines, or none (``size == 0``)."""

    found: bool
    size: float
    at: float
    line: int
    threshold: float


def find_jumps(q: Callable[[np.ndarray, np.ndarray], np.ndarray], lines: Lines,
               *, levels: int = 30, min_width: float = 0.0) -> Jump:
    """Find a discontinuity of ``q`` along the lines by bisecting every grid interval.

    At each level the half with the larger change ``|q(b) - q(a)|`` is kept. A
    continuous ``q`` halves that change with the interval; a jump keeps it. A jump is
    reported where, after the last level, the change is still at least a quarter of
    what it was eight levels earlier and above ``1e-6`` of ``|q|`` on either side (plus
    ``1e-12`` of the largest ``|q|`` on the line: rounding noise is far below).
    ``min_width`` stops the bisection earlier (relative to ``max(1, |t|)``) for a ``q``
    made of finite differences, which are continuous below their own step.
    """
    grid = lines.grid
    rows = np.broadcast_to(np.arange(lines.count)[:, None], (lines.count, grid.shape[1] - 1))
    a, b = grid[:, :-1].ravel(), grid[:, 1:].ravel()
    rows = rows.ravel()
    with quiet():
        q_grid = q(grid, lines.all_rows())
    finite_scale = np.where(np.isfinite(q_grid), np.abs(q_grid), 0.0)
    line_scale = np.max(finite_scale, axis=1)
    qa, qb = q_grid[:, :-1].ravel(), q_grid[:, 1:].ravel()
    usable = np.isfinite(qa) & np.isfinite(qb)
    a, b, qa, qb, rows = a[usable], b[usable], qa[usable], qb[usable], rows[usable]
    history = [np.abs(qb - qa)]
    for _ in range(levels):
        width = b - a
        limit = min_width * np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
        active = width > np.maximum(limit, 4e-15 * np.maximum(1.0, np.abs(a)))
        if not np.any(active):
            break
        m = 0.5 * (a + b)
        with quiet():
            qm = q(m, rows)
        qm = np.where(np.isfinite(qm), qm, 0.5 * (qa + qb))
        left = np.abs(qm - qa) >= np.abs(qb - qm)
        keep_left = active & left
        keep_right = active & ~left
        b = np.where(keep_left, m, b)
        qb = np.where(keep_left, qm, qb)
        a = np.where(keep_right, m, a)
        qa = np.where(keep_right, qm, qa)
        history.append(np.abs(qb - qa))
    final = history[-1]
    earlier = history[max(0, len(history) - 9)]
    # Relative to the values on either side (a Hessian growing like exp(2z) along a
    # log-link scan has small jumps where it is small), with a floor far above the
    # rounding of the largest value on the line.
    local = np.maximum(np.abs(qa), np.abs(qb))
    threshold = 1e-6 * local + 1e-12 * line_scale[rows] + 1e-300
    if len(history) < 2:
        return Jump(False, 0.0, math.nan, -1, 0.0)
    jumps = (final > threshold) & (final >= 0.25 * earlier)
    if not np.any(jumps):
        return Jump(False, 0.0, math.nan, -1, float(np.max(threshold, initial=0.0)))
    index = int(np.argmax(np.where(jumps, final / threshold, 0.0)))
    left, right, row = a[index], b[index], rows[index]
    # The size from both sides of the jump: a grid point exactly at it may hold a value
    # in between (sign(0) = 0).
    margin = 4.0 * max(right - left, 1e-15 * max(1.0, abs(left)))
    with quiet():
        sides = q(np.asarray([left - margin, right + margin]), np.asarray([row, row]))
    size = float(abs(sides[1] - sides[0])) if np.all(np.isfinite(sides)) else float(final[index])
    return Jump(True, max(size, float(final[index])), float(0.5 * (left + right)), int(row),
                float(threshold[index]))
