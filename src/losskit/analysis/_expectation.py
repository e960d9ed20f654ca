r"""Expectations ``E[f(c, Y)]`` over a frozen scipy distribution, vectorised over ``c``.

Discrete distributions are summed over their support (all but ``1e-17`` of the mass on
each side). Continuous ones are integrated by an adaptive (10, 21)-point
Gauss-Kronrod rule (QUADPACK's ``qk21``), with every interval of every ``c``
evaluated in one call of ``f``: a loss costs one vectorised evaluation per round, not
one Python call per node as ``scipy.integrate.quad`` would. The support is split at
its quartiles and at the breakpoint ``c`` (where losses of ``y - c`` have their
kink); infinite ends are mapped onto ``(0, 1]`` by ``y = a + sigma (1/t - 1)``
(``sigma`` the interquartile range) and finite ends by ``y = a + (b - a) t^4``.
Intervals are bisected until the error estimate ``|K21 - G10|`` of each is below its
share of ``rtol * E|f(c, Y)|`` (by width, or by its own part of ``E|f|``): an
interior kink (Huber's at ``c +- delta``) is isolated by bisection instead of
spoiling the rule's accuracy.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

_RTOL = 4 * float(np.finfo(np.float64).eps)  # the least rtol brentq accepts

__all__ = ["Expectation"]

# QUADPACK qk21: Kronrod nodes (the Gauss nodes are the odd entries), Kronrod weights,
# and the 10-point Gauss weights of the odd entries; the node 0 last.
_XK = np.array([
    0.995657163025808080735527280689003, 0.973906528517171720077964012084452,
    0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
    0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
    0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
    0.294392862701460198131126603103866, 0.148874338981631210884826001129720,
    0.0])
_WK = np.array([
    0.011694638867371874278064396062192, 0.032558162307964727478818972459390,
    0.054755896574351996031381300244580, 0.075039674810919952767043140916190,
    0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
    0.123491976262065851077208703299331, 0.134709217311473325928054001771707,
    0.142775938577060080797094273138717, 0.147739104901338491374841515972068,
    0.149445554002916905664936468389821])
_WG = np.array([
    0.066671344308688137593568809893332, 0.149451349150580593145776339657697,
    0.219086362515982043995534934228163, 0.269266719309996355091226921569469,
    0.295524224714752870173892994651338])
# Symmetric nodes in [-1, 1]: 10 negative, 0, 10 positive; weights to match.
NODES = np.concatenate([-_XK[:-1], [0.0], _XK[-2::-1]])
KRONROD = np.concatenate([_WK[:-1], [_WK[-1]], _WK[-2::-1]])
GAUSS = np.zeros(21)
GAUSS[1:10:2] = _WG
GAUSS[11:20:2] = _WG[::-1]

# Segment kinds: [a, b], [a, inf), (-inf, b], and [a, b] beginning (ending) at a finite
# end of the support.
FINITE, RIGHT, LEFT, LOW_END, HIGH_END = 0, 1, 2, 3, 4
TAIL = 1e-17  # the mass left out on each side of a discrete support (at most 1e-12)
MAX_POINTS = 2_000_000
MIN_WIDTH = 2.0**-40  # a piece this narrow is accepted (an integrable end singularity)
MAX_PIECES = 4_000  # intervals of one integral refined at once: beyond, it fails


class Expectation:
    """``E[f(c, Y)]`` for ``Y`` with the frozen scipy distribution ``dist``."""

    def __init__(self, dist: Any) -> None:
        import scipy.stats

        self.dist = dist
        self.discrete = isinstance(dist.dist, scipy.stats.rv_discrete)
        low, high = (float(v) for v in dist.support())
        self.low, self.high = low, high
        if self.discrete:
            start = max(low, _first_finite(dist.ppf))
            stop = min(high, _first_finite(dist.isf))
            if not (math.isfinite(start) and math.isfinite(stop)):
                raise ValueError(f"cannot enumerate the support of {_describe(dist)}")
            if stop - start + 1 > MAX_POINTS:
                raise ValueError(f"the support of {_describe(dist)} holds more than "
                                 f"{MAX_POINTS} points of mass above {TAIL:g}")
            self.points = np.arange(start, stop + 1.0)
            self.weights = np.asarray(dist.pmf(self.points), dtype=np.float64)
        else:
            quartiles = np.asarray(dist.ppf([0.25, 0.5, 0.75]), dtype=np.float64)
            spread = float(quartiles[2] - quartiles[0])
            self.sigma = spread if math.isfinite(spread) and spread > 0 else 1.0
            self.quartiles = tuple(float(q) for q in quartiles)

    def __call__(self, f: Callable[[np.ndarray, np.ndarray], Any], cs: Any,
                 breaks: Any = None, *, rtol: float = 1e-12, strict: bool = True
                 ) -> np.ndarray:
        """``E[f(c_j, Y)]`` for each ``c_j`` in ``cs``; ``breaks[j]``: where to split ``Y``.

        ``f`` takes two arrays of one shape (the ``c`` of each point, and ``y``). An
        integral that does not converge raises a ValueError, or is NaN if not
        ``strict``.
        """
        cs = np.atleast_1d(np.asarray(cs, dtype=np.float64))
        if self.discrete:
            c = np.repeat(cs, self.points.size)
            y = np.tile(self.points, cs.size)
            values = np.asarray(f(c, y), dtype=np.float64).reshape(cs.size, -1)
            return np.sum(values * self.weights, axis=1)
        breaks = cs if breaks is None else np.atleast_1d(np.asarray(breaks, dtype=np.float64))
        return self._integrate(f, cs, breaks, rtol, strict)

    # ------------------------------------------------------------ continuous
    def _segments(self, breaks: np.ndarray) -> tuple[np.ndarray, ...]:
        """(owner, kind, a, b) of the pieces of the support split at each break."""
        owner, kind, a, b = [], [], [], []
        for j, point in enumerate(breaks):
            # The quartiles are always cuts: every piece then touches the bulk of the
            # mass, so that the first rule's nodes cannot all miss it (a far break alone
            # would leave the mass between two nodes of a long piece).
            inner = {float(v) for v in (*self.quartiles, point) if self.low < v < self.high}
            cuts = [self.low, *sorted(inner), self.high]
            for left, right in itertools.pairwise(cuts):
                owner.append(j)
                a.append(left)
                b.append(right)
                if math.isinf(right):
                    kind.append(RIGHT)
                elif math.isinf(left):
                    kind.append(LEFT)
                elif left == self.low:
                    kind.append(LOW_END)
                elif right == self.high:
                    kind.append(HIGH_END)
                else:
                    kind.append(FINITE)
        return (np.asarray(owner), np.asarray(kind), np.asarray(a, dtype=np.float64),
                np.asarray(b, dtype=np.float64))

    def _map(self, kind: np.ndarray, a: np.ndarray, b: np.ndarray, t: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        """``y(t)`` and ``|dy/dt|`` for ``t`` in ``(0, 1)`` (one row per piece).

        Infinite ends: ``y = a + sigma (1/t - 1)`` (``t -> 0`` is the infinite end, so
        ``t`` keeps its relative accuracy there, where ``1 - t`` would not). Finite
        ends of the support: ``y = a + (b - a) t^4``, which turns a density's
        integrable singularity ``(y - a)^alpha`` (``alpha > -1``) into ``t^(4 alpha + 3)``.
        """
        kind, a, b = kind[:, None], a[:, None], b[:, None]
        infinite = (kind == RIGHT) | (kind == LEFT)
        t_inf = np.where(infinite, t, 1.0)
        odds = self.sigma * (1.0 / t_inf - 1.0)
        t4 = t * t * t * t
        width = np.where(infinite, 0.0, b - a)
        y = np.select(
            [kind == RIGHT, kind == LEFT, kind == LOW_END, kind == HIGH_END],
            [a + odds, b - odds, a + width * t4, b - width * t4],
            a + width * t,
        )
        jacobian = np.select(
            [infinite, (kind == LOW_END) | (kind == HIGH_END)],
            [self.sigma / (t_inf * t_inf), 4.0 * width * t * t * t],
            width,
        )
        return y, jacobian

    def _integrate(self, f: Callable[[np.ndarray, np.ndarray], Any], cs: np.ndarray,
                   breaks: np.ndarray, rtol: float, strict: bool) -> np.ndarray:
        owner, kind, a, b = self._segments(breaks)
        count = np.bincount(owner, minlength=cs.size).astype(np.float64)
        t0, t1 = np.zeros(owner.size), np.ones(owner.size)
        total = np.zeros(cs.size)
        magnitude = np.zeros(cs.size)  # E|f| of the accepted pieces
        failed = np.zeros(cs.size, dtype=bool)
        while owner.size:
            half = 0.5 * (t1 - t0)
            t = (0.5 * (t0 + t1))[:, None] + half[:, None] * NODES
            y, jacobian = self._map(kind, a, b, t)
            density = np.asarray(self.dist.pdf(y), dtype=np.float64)
            c = np.broadcast_to(cs[owner][:, None], y.shape)
            values = np.asarray(f(c.ravel(), y.ravel()), dtype=np.float64).reshape(y.shape)
            # Where the density vanishes, the product is 0 even if f is not finite there.
            weighted = np.where(density > 0, values * density * jacobian, 0.0)
            kronrod = half * (weighted @ KRONROD)
            error = np.abs(kronrod - half * (weighted @ GAUSS))
            absolute = half * (np.abs(weighted) @ KRONROD)
            scale = magnitude + np.bincount(owner, weights=absolute, minlength=cs.size)
            # Either criterion keeps the sum of the accepted errors below rtol E|f|: a
            # share of the tolerance by width, or rtol of the piece's own E|f| (which
            # also stops bisection at the integrand's rounding noise).
            share = (rtol * scale + 1e-300)[owner] * (t1 - t0) / count[owner]
            done = (error <= share) | (error <= rtol * absolute) | (t1 - t0 < MIN_WIDTH)
            total += np.bincount(owner[done], weights=kronrod[done], minlength=cs.size)
            magnitude += np.bincount(owner[done], weights=absolute[done], minlength=cs.size)
            # An owner whose pieces are not finite, or multiply beyond MAX_PIECES, fails.
            bad = np.bincount(owner, weights=~np.isfinite(kronrod), minlength=cs.size) > 0
            bad |= np.bincount(owner[~done], minlength=cs.size) > MAX_PIECES
            failed |= bad
            keep = ~done & ~failed[owner]
            middle = 0.5 * (t0 + t1)[keep]
            owner, kind, a, b = (np.repeat(v[keep], 2) for v in (owner, kind, a, b))
            t0 = np.ravel(np.column_stack([t0[keep], middle]))
            t1 = np.ravel(np.column_stack([middle, t1[keep]]))
        if strict and np.any(failed):
            raise ValueError(f"the expectation over {_describe(self.dist)} does not converge "
                             "(is it finite?)")
        return np.where(failed, math.nan, total)

    # -------------------------------------------------------------- statistics
    def expectile(self, tau: float) -> float:
        r"""The ``tau``-expectile ``e``: ``tau E[(Y - e)_+] = (1 - tau) E[(e - Y)_+]``.

        With ``m = E[Y]`` and ``P(e) = E[(e - Y)_+]`` the condition reads
        ``tau (m - e) = (1 - 2 tau) P(e)``, whose left side minus right side decreases
        strictly in ``e`` (slope ``-(tau (1 - F) + (1 - tau) F)``): a bracketed root.
        """
        from scipy.optimize import brentq

        m = float(self.dist.mean())
        if not math.isfinite(m):
            raise ValueError(f"the expectile needs a finite mean; {_describe(self.dist)} "
                             f"has mean {m}")
        if tau == 0.5:
            return m

        def condition(e: float) -> float:
            partial = self(lambda c, y: np.maximum(c - y, 0.0), [e], rtol=1e-14)[0]
            return tau * (m - e) - (1.0 - 2.0 * tau) * float(partial)

        std = float(self.dist.std())
        step = std if math.isfinite(std) and std > 0 else 1.0
        direction = 1.0 if tau > 0.5 else -1.0
        near, far = m, m + direction * step
        while direction * condition(far) > 0:
            near, far = far, far + direction * (far - m)
        low, high = sorted((near, far))
        span = max(abs(low), abs(high), 1.0)
        return float(brentq(condition, low, high, xtol=4e-16 * span, rtol=_RTOL))


def _first_finite(quantile: Callable[[float], Any]) -> float:
    """``quantile(TAIL)``, or at the least larger tail where scipy gives a number.

    (``scipy.stats.poisson(3.7).isf(1e-17)`` is nan, ``isf(1e-16)`` is 28.)
    """
    for tail in (TAIL, 1e-16, 1e-15, 1e-14, 1e-13, 1e-12):
        value = float(quantile(tail))
        if math.isfinite(value):
            return value
    return math.nan


def _describe(dist: Any) -> str:
    args = ", ".join([*(f"{a:g}" for a in dist.args),
                      *(f"{k}={v:g}" for k, v in dist.kwds.items())])
    return f"{dist.dist.name}({args})"
