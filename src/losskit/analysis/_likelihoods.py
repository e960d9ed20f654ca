r"""Closed-form negative log-likelihoods of scipy.stats families in one parameter.

Each model is the full negative log-likelihood ``-log p(y | theta)`` (constants
included) of one family as a function of one parameter ``theta`` (the others fixed),
on the raw input of a link: value, gradient and Hessian written out for every link the
model accepts (no chain rule), with array-API operations and the stable primitives of
:mod:`losskit.numerics`. :class:`losskit.analysis.probabilistic.DistributionLoss`
wraps them as losses.

Location-scale families are written through their standardised negative log-density
``rho(u) = -log f_0(u)``, ``u = (y - loc) / scale``, and its derivatives
``psi = rho'`` and ``psi'``:

- location ``mu``: ``L = log s + rho(u)``, ``dL/dmu = -psi(u)/s``,
  ``d2L/dmu2 = psi'(u)/s^2``;
- scale ``s``: ``dL/ds = (1 - u psi(u))/s``,
  ``d2L/ds2 = (-1 + 2 u psi(u) + u^2 psi'(u))/s^2``;
- log-scale ``z = log s``: ``L = z + rho(u)``, ``dL/dz = 1 - u psi(u)``,
  ``d2L/dz2 = u psi(u) + u^2 psi'(u)``, which is ``>= 0`` for all five families here:
  each is convex in the log-scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from losskit import numerics
from losskit.core import Properties
from losskit.links import POSITIVE, REAL, UNIT, Interval
from losskit.losses._common import gradient_root, weighted_mean, weighted_quantile

_RTOL = 4 * float(np.finfo(np.float64).eps)  # the least rtol brentq accepts

__all__ = ["Model", "StandardFamily", "lgamma", "lgamma_difference"]

NONNEGATIVE = Interval(0.0, math.inf, low_inclusive=True)
OPEN_UNIT = Interval(0.0, 1.0)
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

# Stirling series of log Gamma(z): sum_k B_2k / (2k (2k - 1) z^(2k - 1)), k = 1..7.
_STIRLING = (1.0 / 12.0, -1.0 / 360.0, 1.0 / 1260.0, -1.0 / 1680.0, 1.0 / 1188.0,
             -691.0 / 360360.0, 1.0 / 156.0)
# |a| above this: a^2 / (1 + a^2) and log1p(a^2) - 2 log|a| are exact to rounding, and
# a^2 cannot overflow (float32 included).
_BIG = 1e8


def lgamma(x: Any, *, xp: Any) -> Any:
    r"""``log Gamma(x)`` for ``x > 0``, elementwise with array-API operations.

    The array API has no ``lgamma``. For ``x >= 8`` the Stirling series to
    ``z^{-13}`` (truncation error below ``8e-16``); below 8 the recurrence
    ``log Gamma(x) = log Gamma(x + 8) - log(x (x + 1) ... (x + 7))``. Absolute error a
    few ``1e-15`` near the zeros ``x = 1, 2``, relative ``1e-15`` elsewhere.
    """
    small = x < 8.0
    x_small = xp.where(small, x, xp.ones_like(x))
    product = x_small
    for k in range(1, 8):
        product = product * (x_small + float(k))
    z = xp.where(small, x + 8.0, x)
    stirling = (z - 0.5) * xp.log(z) - z + HALF_LOG_2PI + _stirling_series(z)
    return stirling - xp.where(small, xp.log(product), xp.zeros_like(x))


def _stirling_series(z: Any) -> Any:
    """``log Gamma(z) - ((z - 1/2) log z - z + log(2 pi)/2)`` for ``z >= 8``."""
    inverse = 1.0 / z
    inverse2 = inverse * inverse
    series = _STIRLING[-1]
    for coefficient in reversed(_STIRLING[:-1]):
        series = coefficient + inverse2 * series
    return inverse * series


def lgamma_difference(x: Any, d: float, *, xp: Any) -> Any:
    r"""``log Gamma(x + d) - log Gamma(x)`` for ``x > 0``, ``x + d > 0`` (``d`` a number).

    For large ``x`` both terms are about ``x log x`` and their difference would lose
    ``log10(x log x)`` digits; where ``x, x + d >= 8`` the Stirling forms are subtracted
    exactly instead: ``(x + d - 1/2) log1p(d / x) + d log x - d`` plus the difference
    of the series.
    """
    big = (x >= 8.0) & (x + d >= 8.0)
    z = xp.where(big, x, xp.zeros_like(x) + (8.0 + abs(d)))
    stirling = ((z + (d - 0.5)) * xp.log1p(d / z) + d * xp.log(z) - d
                + _stirling_series(z + d) - _stirling_series(z))
    small = xp.where(big, xp.ones_like(x), x)
    plain = lgamma(small + d, xp=xp) - lgamma(small, xp=xp)
    return xp.where(big, stirling, plain)


# ----------------------------------------------------------- standardised families
class StandardFamily:
    """The standardised negative log-density ``rho`` of a location-scale family."""

    title: str = ""
    scipy_name: str = ""
    #: sup |psi| (None: unbounded), sup |1 - u psi(u)| (None: unbounded).
    psi_bound: float | None = None
    log_scale_bound: float | None = None
    convex_location: bool = True
    smoothness: float = math.inf
    exact_curvature: bool = True  # False: psi' is 0 a.e. and a positive stand-in is used

    def shapes(self) -> dict[str, float]:
        return {}

    def rho(self, xp: Any, u: Any) -> Any:
        raise NotImplementedError

    def psi(self, xp: Any, u: Any) -> Any:
        raise NotImplementedError

    def dpsi(self, xp: Any, u: Any) -> Any:
        """``psi'(u)``, or the positive stand-in where it is 0 almost everywhere."""
        raise NotImplementedError

    def u_psi(self, xp: Any, u: Any) -> Any:
        """``u psi(u)``."""
        raise NotImplementedError

    def u2_dpsi(self, xp: Any, u: Any) -> Any:
        """``u^2 psi'(u)`` (the exact one: 0 for Laplace)."""
        raise NotImplementedError

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        raise NotImplementedError

    def location_statistic(self) -> str:
        return f"{self.title} M-estimate of location"

    def location_constant(self, y: np.ndarray, w: np.ndarray | None, scale: float) -> float:
        """The maximum-likelihood location (NumPy)."""
        raise NotImplementedError

    def scale_constant(self, r: np.ndarray, w: np.ndarray | None) -> float:
        """The maximum-likelihood scale of residuals ``r``: the root in ``log s``."""
        top = float(np.max(np.abs(r)))
        if top == 0.0:
            return 0.0

        def slope(z: float) -> float:
            g = 1.0 - self.u_psi(np, r * math.exp(-z))
            return float(np.sum(g if w is None else w * g))

        # Convex in z = log s: the slope is nondecreasing. At s = e^5 max|r| every
        # |u| < 0.007 and the slope is positive.
        log_top = math.log(top)
        return math.exp(gradient_root(slope, log_top - 60.0, log_top + 5.0))


class NormalStandard(StandardFamily):
    title, scipy_name = "Normal", "norm"
    convex_location = True

    def rho(self, xp: Any, u: Any) -> Any:
        return 0.5 * u * u + HALF_LOG_2PI

    def psi(self, xp: Any, u: Any) -> Any:
        return u

    def dpsi(self, xp: Any, u: Any) -> Any:
        return xp.ones_like(u)

    def u_psi(self, xp: Any, u: Any) -> Any:
        return u * u

    def u2_dpsi(self, xp: Any, u: Any) -> Any:
        return u * u

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.standard_normal(n)

    def location_statistic(self) -> str:
        return "mean"

    def location_constant(self, y: np.ndarray, w: np.ndarray | None, scale: float) -> float:
        return weighted_mean(y, w)

    def scale_constant(self, r: np.ndarray, w: np.ndarray | None) -> float:
        return math.sqrt(weighted_mean(r * r, w))


class LaplaceStandard(StandardFamily):
    title, scipy_name = "Laplace", "laplace"
    psi_bound = 1.0
    smoothness = 0
    exact_curvature = False

    def rho(self, xp: Any, u: Any) -> Any:
        return xp.abs(u) + math.log(2.0)

    def psi(self, xp: Any, u: Any) -> Any:
        return xp.sign(u)

    def dpsi(self, xp: Any, u: Any) -> Any:
        # psi' = 0 away from u = 0: the surrogate 1, as absolute_error's.
        return xp.ones_like(u)

    def u_psi(self, xp: Any, u: Any) -> Any:
        return xp.abs(u)

    def u2_dpsi(self, xp: Any, u: Any) -> Any:
        return xp.zeros_like(u)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.laplace(0.0, 1.0, n)

    def location_statistic(self) -> str:
        return "median"

    def location_constant(self, y: np.ndarray, w: np.ndarray | None, scale: float) -> float:
        return weighted_quantile(y, w, 0.5)

    def scale_constant(self, r: np.ndarray, w: np.ndarray | None) -> float:
        return weighted_mean(np.abs(r), w)


class StudentStandard(StandardFamily):
    r"""Student's t with ``nu`` degrees of freedom; ``nu = 1`` is the Cauchy.

    ``rho(u) = c_nu + (nu + 1)/2 log1p(a^2)``, ``a = u / sqrt(nu)``,
    ``c_nu = log Gamma(nu/2) - log Gamma((nu + 1)/2) + log(nu pi)/2``;
    ``psi = (nu + 1) u / (nu + u^2)`` peaks at ``u = sqrt(nu)``:
    ``sup |psi| = (nu + 1) / (2 sqrt(nu))``. ``u psi(u) = (nu + 1) a^2/(1 + a^2)`` lies
    in ``[0, nu + 1)``, so ``|1 - u psi| < max(1, nu)``.
    """

    convex_location = False

    def __init__(self, df: float, *, cauchy: bool = False) -> None:
        self.df = df
        self.cauchy = cauchy
        self.title = "Cauchy" if cauchy else "Student-t"
        self.scipy_name = "cauchy" if cauchy else "t"
        self.constant = (math.lgamma(0.5 * df) - math.lgamma(0.5 * (df + 1.0))
                         + 0.5 * math.log(df * math.pi))
        self.psi_bound = (df + 1.0) / (2.0 * math.sqrt(df))
        self.log_scale_bound = max(1.0, df)

    def shapes(self) -> dict[str, float]:
        return {} if self.cauchy else {"df": self.df}

    def _parts(self, xp: Any, u: Any) -> tuple[Any, Any, Any]:
        """``(big, a_small, a_big)`` for ``a = u / sqrt(nu)``: ``|a| > 1e8``, and ``a``
        where it is small (else 0) and where it is big (else 1), so that no branch of a
        ``where`` overflows or divides by zero.
        """
        a = u / math.sqrt(self.df)
        big = xp.abs(a) > _BIG
        return big, xp.where(big, xp.zeros_like(a), a), xp.where(big, a, xp.ones_like(a))

    def rho(self, xp: Any, u: Any) -> Any:
        big, a_small, a_big = self._parts(xp, u)
        log_term = xp.where(big, 2.0 * xp.log(xp.abs(a_big)), xp.log1p(a_small * a_small))
        return self.constant + 0.5 * (self.df + 1.0) * log_term

    def psi(self, xp: Any, u: Any) -> Any:
        big, a_small, a_big = self._parts(xp, u)
        ratio = xp.where(big, 1.0 / a_big, a_small / (1.0 + a_small * a_small))
        return (self.df + 1.0) / math.sqrt(self.df) * ratio

    def dpsi(self, xp: Any, u: Any) -> Any:
        big, a_small, a_big = self._parts(xp, u)
        q = a_small * a_small
        curvature = xp.where(big, -1.0 / (a_big * a_big), (1.0 - q) / ((1.0 + q) * (1.0 + q)))
        return (self.df + 1.0) / self.df * curvature

    def u_psi(self, xp: Any, u: Any) -> Any:
        big, a_small, _ = self._parts(xp, u)
        q = a_small * a_small
        return (self.df + 1.0) * xp.where(big, xp.ones_like(q), q / (1.0 + q))

    def u2_dpsi(self, xp: Any, u: Any) -> Any:
        big, a_small, _ = self._parts(xp, u)
        q = a_small * a_small
        value = q * (1.0 - q) / ((1.0 + q) * (1.0 + q))
        return (self.df + 1.0) * xp.where(big, -xp.ones_like(q), value)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.standard_t(self.df, n)

    def location_constant(self, y: np.ndarray, w: np.ndarray | None, scale: float) -> float:
        # Not convex: the global minimiser over a grid on [min y, max y] (every
        # minimiser lies there: the slope is negative below min y and positive above),
        # then the root of the slope between the grid neighbours of the best point.
        def total(c: float) -> float:
            values = self.rho(np, (y - c) / scale)
            return float(np.sum(values if w is None else w * values))

        def slope(c: float) -> float:
            values = -self.psi(np, (y - c) / scale)
            return float(np.sum(values if w is None else w * values))

        return global_minimum(total, slope, float(np.min(y)), float(np.max(y)))


class LogisticStandard(StandardFamily):
    r"""The logistic density ``e^{-u} / (1 + e^{-u})^2``: ``rho = |u| + 2 softplus(-|u|)``.

    ``psi = tanh(u/2)``, ``psi' = 2 sigma(u) sigma(-u)``.
    """

    title, scipy_name = "logistic", "logistic"
    psi_bound = 1.0

    def rho(self, xp: Any, u: Any) -> Any:
        a = xp.abs(u)
        return a + 2.0 * numerics.softplus(-a, xp=xp)

    def psi(self, xp: Any, u: Any) -> Any:
        return xp.tanh(0.5 * u)

    def dpsi(self, xp: Any, u: Any) -> Any:
        return 2.0 * numerics.expit(u, xp=xp) * numerics.expit(-u, xp=xp)

    def u_psi(self, xp: Any, u: Any) -> Any:
        a = xp.abs(u)
        return a * xp.tanh(0.5 * a)

    def u2_dpsi(self, xp: Any, u: Any) -> Any:
        # (|u| sigma(-|u|)) (|u| sigma(|u|)): no u^2 to overflow.
        a = xp.abs(u)
        return 2.0 * (a * numerics.expit(-a, xp=xp)) * (a * numerics.expit(a, xp=xp))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.logistic(0.0, 1.0, n)

    def location_constant(self, y: np.ndarray, w: np.ndarray | None, scale: float) -> float:
        def slope(c: float) -> float:
            values = -np.tanh(0.5 * (y - c) / scale)
            return float(np.sum(values if w is None else w * values))

        return gradient_root(slope, float(np.min(y)), float(np.max(y)))


def global_minimum(total: Callable[[float], float], slope: Callable[[float], float],
                   low: float, high: float, points: int = 257) -> float:
    """The global minimiser of a smooth function on ``[low, high]``: grid, then root."""
    from scipy.optimize import brentq, minimize_scalar

    if low == high:
        return low
    grid = np.linspace(low, high, points)
    values = np.array([total(c) for c in grid])
    best = int(np.argmin(values))
    left, right = grid[max(best - 1, 0)], grid[min(best + 1, points - 1)]
    candidates = [float(grid[best])]
    if slope(left) < 0.0 < slope(right):
        span = max(abs(left), abs(right), 1.0)
        candidates.append(float(brentq(slope, left, right, xtol=4e-16 * span, rtol=_RTOL)))
    else:
        result = minimize_scalar(total, bounds=(left, right), method="bounded",
                                 options={"xatol": 1e-12 * (high - low)})
        candidates.append(float(result.x))
    return min(candidates, key=total)


# ------------------------------------------------------------------------ models
class Model:
    """One family's negative log-likelihood in one parameter, on a link's raw input."""

    title: str = ""
    scipy_name: str = ""
    parameter: str = ""
    link: str = "identity"
    links: tuple[str, ...] = ("identity",)
    discrete: bool = False
    y_true_domain: Interval = REAL
    y_pred_domain: Interval = REAL
    meaning: str = ""
    note: str = ""

    def fixed(self) -> dict[str, float]:
        raise NotImplementedError

    def value(self, xp: Any, eta: Any, y: Any) -> Any:
        raise NotImplementedError

    def gradient_hessian(self, xp: Any, eta: Any, y: Any) -> tuple[Any, Any]:
        raise NotImplementedError

    def gradient(self, xp: Any, eta: Any, y: Any) -> Any:
        return self.gradient_hessian(xp, eta, y)[0]

    def hessian(self, xp: Any, eta: Any, y: Any) -> Any:
        return self.gradient_hessian(xp, eta, y)[1]

    def properties(self) -> Properties:
        raise NotImplementedError

    def scipy_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the scipy family; callables take the parameter ``theta``."""
        raise NotImplementedError

    def optimal_constant(self, y: np.ndarray, w: np.ndarray | None) -> float:
        """The natural-space maximum-likelihood estimate (NumPy, float64)."""
        return weighted_mean(y, w)

    def draw_parameter(self, rng: np.random.Generator, n: int) -> np.ndarray:
        raise NotImplementedError

    def draw(self, rng: np.random.Generator, theta: np.ndarray) -> np.ndarray:
        """A target drawn from the family at the natural-space parameter ``theta``."""
        raise NotImplementedError


class LocationModel(Model):
    """``L(mu) = log s + rho((y - mu) / s)``, scale ``s`` fixed."""

    parameter = "loc"
    meaning = "a location"

    def __init__(self, standard: StandardFamily, scale: float) -> None:
        self.standard = standard
        self.scale = scale
        self.title, self.scipy_name = standard.title, standard.scipy_name
        self.log_scale = math.log(scale)

    def fixed(self) -> dict[str, float]:
        return {**self.standard.shapes(), "scale": self.scale}

    def value(self, xp: Any, eta: Any, y: Any) -> Any:
        return self.log_scale + self.standard.rho(xp, (y - eta) / self.scale)

    def gradient_hessian(self, xp: Any, eta: Any, y: Any) -> tuple[Any, Any]:
        u = (y - eta) / self.scale
        s = self.scale
        return -self.standard.psi(xp, u) / s, self.standard.dpsi(xp, u) / (s * s)

    def properties(self) -> Properties:
        std = self.standard
        bound = None if std.psi_bound is None else std.psi_bound / self.scale
        return Properties(convex=std.convex_location, smoothness=std.smoothness,
                          lipschitz=bound, bounded_gradient=bound is not None,
                          robust=bound is not None,
                          hessian="exact" if std.exact_curvature else "surrogate",
                          statistic=std.location_statistic())

    def scipy_kwargs(self) -> dict[str, Any]:
        return {**self.standard.shapes(), "loc": lambda theta: theta, "scale": self.scale}

    def optimal_constant(self, y: np.ndarray, w: np.ndarray | None) -> float:
        return self.standard.location_constant(y, w, self.scale)

    def draw_parameter(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.normal(0.0, 2.0, n)

    def draw(self, rng: np.random.Generator, theta: np.ndarray) -> np.ndarray:
        return theta + self.scale * self.standard.draw(rng, theta.shape[0])


class ScaleModel(Model):
    """``L(s) = log s + rho((y - loc) / s)``, location fixed; fused log link."""

    parameter = "scale"
    meaning = "a scale"
    links = ("identity", "log")
    y_pred_domain = POSITIVE

    def __init__(self, standard: StandardFamily, loc: float, link: str) -> None:
        self.standard = standard
        self.loc = loc
        self.link = link
        self.title, self.scipy_name = standard.title, standard.scipy_name

    def fixed(self) -> dict[str, float]:
        return {**self.standard.shapes(), "loc": self.loc}

    def value(self, xp: Any, eta: Any, y: Any) -> Any:
        if self.link == "log":
            return eta + self.standard.rho(xp, (y - self.loc) * xp.exp(-eta))
        return xp.log(eta) + self.standard.rho(xp, (y - self.loc) / eta)

    def gradient_hessian(self, xp: Any, eta: Any, y: Any) -> tuple[Any, Any]:
        std = self.standard
        if self.link == "log":
            u = (y - self.loc) * xp.exp(-eta)
            u_psi = std.u_psi(xp, u)
            return 1.0 - u_psi, u_psi + std.u2_dpsi(xp, u)
        u = (y - self.loc) / eta
        u_psi = std.u_psi(xp, u)
        return (1.0 - u_psi) / eta, (2.0 * u_psi + std.u2_dpsi(xp, u) - 1.0) / (eta * eta)

    def properties(self) -> Properties:
        std = self.standard
        log = self.link == "log"
        bound = std.log_scale_bound if log else None
        if std.title == "Normal":
            statistic = "root mean square of y_true - loc"
        elif std.title == "Laplace":
            statistic = "mean absolute value of y_true - loc"
        else:
            statistic = f"{std.title} maximum-likelihood scale"
        # Outliers: u psi(u) stays bounded as |y| grows only for the t family.
        return Properties(convex=log, smoothness=math.inf, lipschitz=bound,
                          bounded_gradient=bound is not None,
                          robust=std.log_scale_bound is not None, hessian="exact",
                          statistic=statistic)

    def scipy_kwargs(self) -> dict[str, Any]:
        return {**self.standard.shapes(), "loc": self.loc, "scale": lambda theta: theta}

    def optimal_constant(self, y: np.ndarray, w: np.ndarray | None) -> float:
        return self.standard.scale_constant(y - self.loc, w)

    def draw_parameter(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(0.5, 3.0, n)

    def draw(self, rng: np.random.Generator, theta: np.ndarray) -> np.ndarray:
        return self.loc + theta * self.standard.draw(rng, theta.shape[0])


class _CountModel(Model):
    parameter = "mu"
    meaning = "a mean"
    links = ("identity", "log")
    discrete = True
    y_true_domain = NONNEGATIVE
    y_pred_domain = POSITIVE

    def __init__(self, link: str) -> None:
        self.link = link

    def draw_parameter(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(0.5, 5.0, n)


class PoissonModel(_CountModel):
    r"""``L = mu - y log mu + log y!``; log link ``e^z - y z + log y!``.

    For ``y >= 8`` the terms ``y log mu`` and ``log y!`` nearly cancel (both about
    ``y log y``: 1.4e13 for ``y = 1e12``, where ``L`` is about 15), so the value is
    computed as ``(mu - y) - y log1p((mu - y) / y) + log(2 pi y)/2 + S(y)``, with
    ``S`` the Stirling series of ``log Gamma(y)``: no large terms to cancel.
    """

    title, scipy_name = "Poisson", "poisson"

    def fixed(self) -> dict[str, float]:
        return {}

    def value(self, xp: Any, eta: Any, y: Any) -> Any:
        if self.link == "log":
            mu = xp.exp(eta)
            plain = mu - y * eta + lgamma(y + 1.0, xp=xp)
        else:
            mu = eta
            plain = mu - numerics.xlogy(y, mu, xp=xp) + lgamma(y + 1.0, xp=xp)
        # Every branch finite (an overflowing exp(z) keeps the plain form's inf), so
        # that autograd sees no NaN in the branch not taken.
        large = (y >= 8.0) & xp.isfinite(mu)
        y_large = xp.where(large, y, xp.zeros_like(y) + 8.0)
        mu_large = xp.where(large, mu, xp.zeros_like(mu) + 8.0)
        excess = mu_large - y_large
        stable = (excess - y_large * xp.log1p(excess / y_large)
                  + 0.5 * xp.log(2.0 * math.pi * y_large) + _stirling_series(y_large))
        return xp.where(large, stable, plain)

    def gradient_hessian(self, xp: Any, eta: Any, y: Any) -> tuple[Any, Any]:
        if self.link == "log":
            mu = xp.exp(eta)
            return mu - y, mu
        return 1.0 - y / eta, y / (eta * eta)

    def properties(self) -> Properties:
        return Properties(convex=True, smoothness=math.inf, lipschitz=None,
                          bounded_gradient=False, robust=False, hessian="exact",
                          statistic="mean")

    def scipy_kwargs(self) -> dict[str, Any]:
        return {"mu": lambda theta: theta}

    def draw(self, rng: np.random.Generator, theta: np.ndarray) -> np.ndarray:
        return rng.poisson(theta).astype(np.float64)


class NegativeBinomialModel(_CountModel):
    r"""NB2 in its mean: scipy's ``nbinom(n, p)`` with ``p = n / (n + mu)``.

    ``L = n log1p(mu/n) + y log1p(n/mu) + log Gamma(n) + log y! - log Gamma(y + n)``;
    on the log link, ``n softplus(z - log n) + y softplus(log n - z) + c(y)``, convex.
    """

    title, scipy_name = "NegativeBinomial", "nbinom"
    note = "NB2: p = n / (n + mu), mean mu, variance mu + mu^2 / n"

    def __init__(self, n: float, link: str) -> None:
        super().__init__(link)
        self.n = n
        self.log_n = math.log(n)
        self.lgamma_n = math.lgamma(n)

    def fixed(self) -> dict[str, float]:
        return {"n": self.n}

    def value(self, xp: Any, eta: Any, y: Any) -> Any:
        n = self.n
        constant = self.lgamma_n - lgamma_difference(y + 1.0, n - 1.0, xp=xp)
        if self.link == "log":
            return (n * numerics.softplus(eta - self.log_n, xp=xp)
                    + y * numerics.softplus(self.log_n - eta, xp=xp) + constant)
        return n * xp.log1p(eta / n) + y * xp.log1p(n / eta) + constant

    def gradient_hessian(self, xp: Any, eta: Any, y: Any) -> tuple[Any, Any]:
        n = self.n
        if self.link == "log":
            # sigma(z - log n) = mu / (n + mu), sigma(log n - z) = n / (n + mu).
            share = numerics.expit(eta - self.log_n, xp=xp)
            rest = numerics.expit(self.log_n - eta, xp=xp)
            return n * share - y * rest, (n + y) * share * rest
        mu = eta
        denominator = mu * (n + mu)
        return (n * (mu - y) / denominator,
                n * (y * (2.0 * mu + n) - mu * mu) / (denominator * denominator))

    def properties(self) -> Properties:
        return Properties(convex=self.link == "log", smoothness=math.inf, lipschitz=None,
                          bounded_gradient=False, robust=False, hessian="exact",
                          statistic="mean")

    def scipy_kwargs(self) -> dict[str, Any]:
        n = self.n
        return {"n": n, "p": lambda theta: n / (n + theta)}

    def draw(self, rng: np.random.Generator, theta: np.ndarray) -> np.ndarray:
        return rng.negative_binomial(self.n, self.n / (self.n + theta)).astype(np.float64)


class GammaModel(Model):
    r"""Gamma with shape ``a`` in its mean: scipy's ``gamma(a, scale=mu / a)``.

    ``L = a log mu + a y / mu - (a - 1) log y + log Gamma(a) - a log a``; on the log
    link ``a z + a y e^{-z} + c(y)``, convex.
    """

    title, scipy_name = "Gamma", "gamma"
    parameter = "mean"
    meaning = "a mean"
    links = ("identity", "log")
    y_true_domain = POSITIVE
    y_pred_domain = POSITIVE
    note = "scale = mean / a"

    def __init__(self, a: float, link: str) -> None:
        self.a = a
        self.link = link
        self.constant = math.lgamma(a) - a * math.log(a)

    def fixed(self) -> dict[str, float]:
        return {"a": self.a}

    def value(self, xp: Any, eta: Any, y: Any) -> Any:
        a = self.a
        constant = self.constant - (a - 1.0) * xp.log(y)
        if self.link == "log":
            return a * (eta + y * xp.exp(-eta)) + constant
        return a * (xp.log(eta) + y / eta) + constant

    def gradient_hessian(self, xp: Any, eta: Any, y: Any) -> tuple[Any, Any]:
        a = self.a
        if self.link == "log":
            ratio = y * xp.exp(-eta)
            return a * (1.0 - ratio), a * ratio
        mu = eta
        return a * (mu - y) / (mu * mu), a * (2.0 * y - mu) / (mu * mu * mu)

    def properties(self) -> Properties:
        return Properties(convex=self.link == "log", smoothness=math.inf, lipschitz=None,
                          bounded_gradient=False, robust=False, hessian="exact",
                          statistic="mean")

    def scipy_kwargs(self) -> dict[str, Any]:
        a = self.a
        return {"a": a, "scale": lambda theta: theta / a}

    def draw_parameter(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(0.5, 5.0, n)

    def draw(self, rng: np.random.Generator, theta: np.ndarray) -> np.ndarray:
        return rng.gamma(self.a, theta / self.a)


class BernoulliModel(Model):
    r"""``L = -[y log p + (1 - y) log(1 - p)]``, ``y`` in ``{0, 1}``; fused logit link."""

    title, scipy_name = "Bernoulli", "bernoulli"
    parameter = "p"
    meaning = "a probability"
    links = ("identity", "logit")
    discrete = True
    y_true_domain = UNIT
    y_pred_domain = OPEN_UNIT

    def __init__(self, link: str) -> None:
        self.link = link

    def fixed(self) -> dict[str, float]:
        return {}

    def value(self, xp: Any, eta: Any, y: Any) -> Any:
        if self.link == "logit":
            return (y * numerics.softplus(-eta, xp=xp)
                    + (1.0 - y) * numerics.softplus(eta, xp=xp))
        return -(y * xp.log(eta) + (1.0 - y) * xp.log1p(-eta))

    def gradient_hessian(self, xp: Any, eta: Any, y: Any) -> tuple[Any, Any]:
        if self.link == "logit":
            p = numerics.expit(eta, xp=xp)
            q = numerics.expit(-eta, xp=xp)
            return (1.0 - y) * p - y * q, p * q
        p, q = eta, 1.0 - eta
        return (1.0 - y) / q - y / p, y / (p * p) + (1.0 - y) / (q * q)

    def properties(self) -> Properties:
        logit = self.link == "logit"
        return Properties(convex=True, smoothness=math.inf, lipschitz=1.0 if logit else None,
                          bounded_gradient=logit, robust=None, hessian="exact",
                          statistic="mean")

    def scipy_kwargs(self) -> dict[str, Any]:
        return {"p": lambda theta: theta}

    def draw_parameter(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(0.05, 0.95, n)

    def draw(self, rng: np.random.Generator, theta: np.ndarray) -> np.ndarray:
        return rng.binomial(1, theta).astype(np.float64)
