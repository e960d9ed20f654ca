r"""Regression losses: the error ``e = y_pred - y_true`` and generalised-linear deviances.

Conventions (the seed page's): squared error is ``e^2`` with no ½; Huber is ``½e^2``
inside ``delta`` and ``delta(|e| - ½delta)`` outside; the quantile (pinball) loss is
``q (y - y_pred)`` if ``y >= y_pred`` else ``(1 - q)(y_pred - y)``. ``poisson``,
``gamma`` and ``tweedie`` are negative log-likelihoods without the terms that do not
depend on the prediction (scikit-learn's HalfPoisson/HalfGamma/HalfTweedie losses),
on the mean by default and on the raw score with ``link="log"``, where the fused
formulas ``exp(z) - y z`` etc. avoid the chain rule.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from losskit import numerics
from losskit._array import fail_where
from losskit._params import check_real
from losskit.core import Distribution, Loss, Properties
from losskit.links import POSITIVE, REAL, Interval
from losskit.losses._common import (
    SQRT_HALF,
    gradient_root,
    scipy_factory,
    weighted_mean,
    weighted_quantile,
)
from losskit.registry import register

__all__ = [
    "AbsoluteError",
    "Asymmetric",
    "Expectile",
    "Gamma",
    "Huber",
    "LogCosh",
    "Poisson",
    "PseudoHuber",
    "Quantile",
    "SquaredError",
    "Tweedie",
]

NONNEGATIVE = Interval(0.0, math.inf, low_inclusive=True)


class _ErrorLoss(Loss):
    """A loss of the error ``e = y_pred - y_true`` alone; the log link by chain rule."""

    links = ("identity", "log")

    @property
    def properties(self) -> Properties:
        props = self._properties()
        if self.link.name == "log":
            # d/dz L(exp(z) - y) = L'(e) exp(z): unbounded, whatever bound L' has.
            return replace(props, lipschitz=None, bounded_gradient=False)
        return props

    def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self._value_of_error(xp, y_pred - y_true)

    def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self._gradient_of_error(xp, y_pred - y_true)

    def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self._hessian_of_error(xp, y_pred - y_true)

    def _value_of_error(self, xp: Any, e: Any) -> Any:
        raise NotImplementedError

    def _gradient_of_error(self, xp: Any, e: Any) -> Any:
        raise NotImplementedError

    def _hessian_of_error(self, xp: Any, e: Any) -> Any:
        raise NotImplementedError

    def _gradient_sum(self, y: np.ndarray, w: np.ndarray | None, c: float) -> float:
        g = self._gradient_of_error(np, np.float64(c) - y)
        return float(np.sum(g if w is None else w * g))

    def _root_constant(self, y: np.ndarray, w: np.ndarray | None) -> float:
        return gradient_root(lambda c: self._gradient_sum(y, w, c), float(y.min()),
                             float(y.max()))


@register("squared_error", aliases=("mse", "l2"))
class SquaredError(_ErrorLoss):
    r"""Squared error ``(y_pred - y_true)^2``; the Gaussian negative log-likelihood.

    .. math:: L(\hat y, y) = (\hat y - y)^2,\quad
              \partial L = 2(\hat y - y),\quad \partial^2 L = 2

    Minimised by the mean. ``-log N(y | \hat y, \sigma^2 = 1/2) = L + log(\sqrt\pi)``.
    """

    formula = r"(\hat y - y)^2"
    gradient_formula = r"2(\hat y - y)"
    hessian_formula = "2"

    def __init__(self, *, link: str | None = None, nan_policy: str = "raise") -> None:
        super().__init__(link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return Properties(convex=self.link.name == "identity", smoothness=math.inf,
                          lipschitz=None, bounded_gradient=False, robust=False,
                          hessian="exact", statistic="mean")

    @property
    def distribution(self) -> Distribution:
        return Distribution("Normal", "mean", {"variance": 0.5},
                            "L = -log N(y | mean, 1/2) - log(sqrt(pi))",
                            scipy_factory("norm", loc=lambda mu: mu, scale=SQRT_HALF))

    def _value_of_error(self, xp: Any, e: Any) -> Any:
        return e * e

    def _gradient_of_error(self, xp: Any, e: Any) -> Any:
        return 2.0 * e

    def _hessian_of_error(self, xp: Any, e: Any) -> Any:
        return xp.full_like(e, 2.0)

    def _optimal_constant(self, y: np.ndarray, w: np.ndarray | None) -> float:
        return weighted_mean(y, w)


@register("absolute_error", aliases=("mae", "l1"))
class AbsoluteError(_ErrorLoss):
    r"""Absolute error ``|y_pred - y_true|``; the Laplace negative log-likelihood.

    .. math:: L = |\hat y - y|,\quad \partial L = \operatorname{sign}(\hat y - y)

    The second derivative is 0 (undefined at 0); ``hessian`` returns the positive
    surrogate 1 (as scikit-learn's ``AbsoluteError``), for Newton and boosting steps.
    Minimised by the (weighted) median.
    """

    formula = r"|\hat y - y|"
    gradient_formula = r"\operatorname{sign}(\hat y - y)"
    hessian_formula = r"0 \text{ (surrogate: 1)}"

    def __init__(self, *, link: str | None = None, nan_policy: str = "raise") -> None:
        super().__init__(link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return Properties(convex=self.link.name == "identity", smoothness=0, lipschitz=1.0,
                          bounded_gradient=True, robust=True, hessian="surrogate",
                          statistic="median")

    @property
    def distribution(self) -> Distribution:
        return Distribution("Laplace", "median", {"scale": 1.0},
                            "L = -log Laplace(y | median, 1) - log 2",
                            scipy_factory("laplace", loc=lambda mu: mu, scale=1.0))

    def _value_of_error(self, xp: Any, e: Any) -> Any:
        return xp.abs(e)

    def _gradient_of_error(self, xp: Any, e: Any) -> Any:
        return xp.sign(e)

    def _hessian_of_error(self, xp: Any, e: Any) -> Any:
        return xp.ones_like(e)

    def _optimal_constant(self, y: np.ndarray, w: np.ndarray | None) -> float:
        return weighted_quantile(y, w, 0.5)


@register("huber")
class Huber(_ErrorLoss):
    r"""Huber loss: quadratic within ``delta`` of the target, linear beyond.

    .. math:: L = \tfrac12 e^2 \text{ if } |e| \le \delta \text{ else }
              \delta(|e| - \tfrac12\delta),\quad
              \partial L = \operatorname{clip}(e, -\delta, \delta),\quad
              \partial^2 L = 1_{|e| \le \delta}

    Huber (1964), "Robust estimation of a location parameter". Matches PyTorch's
    ``huber_loss``. Minimised by the Huber M-estimate of location.

    >>> import numpy as np
    >>> huber = Huber(delta=1.0)
    >>> huber.elementwise(np.array([0.5, 3.0]), np.array([0.0, 0.0]))
    array([0.125, 2.5  ])
    >>> huber.gradient_hessian(np.array([0.5, 3.0]), np.array([0.0, 0.0]))
    (array([0.5, 1. ]), array([1., 0.]))
    """

    formula = r"\tfrac12 e^2 \;(|e|\le\delta),\; \delta(|e|-\tfrac12\delta)"
    gradient_formula = r"\operatorname{clip}(e, -\delta, \delta)"
    hessian_formula = r"1_{|e|\le\delta}"

    def __init__(self, *, delta: float = 1.0, link: str | None = None,
                 nan_policy: str = "raise") -> None:
        self.delta = check_real(delta, "delta", low=0.0, owner="huber")
        super().__init__(link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return Properties(convex=self.link.name == "identity", smoothness=1,
                          lipschitz=self.delta, bounded_gradient=True, robust=True,
                          hessian="exact", statistic="Huber M-estimate of location")

    def _value_of_error(self, xp: Any, e: Any) -> Any:
        a = xp.abs(e)
        inside = a <= self.delta
        # Square only the inside errors: e * e overflows (and warns) for |e| > 1e154.
        e_inside = xp.where(inside, e, xp.zeros_like(e))
        return xp.where(inside, 0.5 * e_inside * e_inside, self.delta * (a - 0.5 * self.delta))

    def _gradient_of_error(self, xp: Any, e: Any) -> Any:
        return xp.clip(e, -self.delta, self.delta)

    def _hessian_of_error(self, xp: Any, e: Any) -> Any:
        return xp.astype(xp.abs(e) <= self.delta, e.dtype)

    def _optimal_constant(self, y: np.ndarray, w: np.ndarray | None) -> float:
        return self._root_constant(y, w)


@register("pseudo_huber")
class PseudoHuber(_ErrorLoss):
    r"""Pseudo-Huber loss, a smooth Huber: ``delta^2 (sqrt(1 + (e/delta)^2) - 1)``.

    .. math:: L = \delta^2\left(\sqrt{1 + (e/\delta)^2} - 1\right),\quad
              \partial L = e / s,\quad \partial^2 L = 1 / s^3,\quad
              s = \sqrt{1 + (e/\delta)^2}

    As XGBoost's ``reg:pseudohubererror`` (Charbonnier et al. 1997). The value is
    computed as ``e^2 / (1 + s)``, which has no cancellation for small ``e``.
    """

    formula = r"\delta^2(\sqrt{1 + (e/\delta)^2} - 1)"
    gradient_formula = r"e / \sqrt{1 + (e/\delta)^2}"
    hessian_formula = r"(1 + (e/\delta)^2)^{-3/2}"

    def __init__(self, *, delta: float = 1.0, link: str | None = None,
                 nan_policy: str = "raise") -> None:
        self.delta = check_real(delta, "delta", low=0.0, owner="pseudo_huber")
        super().__init__(link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return Properties(convex=self.link.name == "identity", smoothness=math.inf,
                          lipschitz=self.delta, bounded_gradient=True, robust=True,
                          hessian="exact", statistic="pseudo-Huber M-estimate of location")

    def _scaled(self, xp: Any, e: Any) -> tuple[Any, Any]:
        # e / delta may overflow (a tiny delta): the forms below are exact at |r| = inf.
        with np.errstate(over="ignore"):
            r = e / self.delta
        return r, xp.hypot(xp.ones_like(r), r)

    def _slope(self, xp: Any, r: Any, s: Any) -> Any:
        """``|r| / s`` in ``[0, 1)``; for ``|r| > 1`` as ``1 / hypot(1/r, 1)``, finite at inf."""
        a = xp.abs(r)
        far = a > 1.0
        # Each side sees harmless numbers where the other is chosen (no inf / inf).
        a_far, a_near = xp.where(far, a, 1.0), xp.where(far, 0.0, a)
        return xp.where(far, 1.0 / xp.hypot(1.0 / a_far, xp.ones_like(a)), a_near / s)

    def _value_of_error(self, xp: Any, e: Any) -> Any:
        r, s = self._scaled(xp, e)
        # delta^2 (s - 1) = delta^2 r^2 / (s + 1) = delta |e| (|r| / (s + 1)): no
        # cancellation near 0. The factor |r| / (1 + s) = slope / (1/s + 1) <= 1 cannot
        # overflow, and stays 1 at |r| = inf. delta |e| rather than delta^2 |r|: delta^2
        # underflows for delta < 1e-154 (a value of 0, or 0 * inf = NaN where e / delta
        # overflowed), and the value is below delta |e| anyway.
        inverse_s = xp.where(xp.isinf(s), xp.zeros_like(s), 1.0 / s)
        return self.delta * (self._slope(xp, r, s) / (inverse_s + 1.0)) * xp.abs(e)

    def _gradient_of_error(self, xp: Any, e: Any) -> Any:
        r, s = self._scaled(xp, e)
        return self.delta * xp.sign(r) * self._slope(xp, r, s)

    def _hessian_of_error(self, xp: Any, e: Any) -> Any:
        _, s = self._scaled(xp, e)
        inverse = 1.0 / s
        return inverse * inverse * inverse

    def _optimal_constant(self, y: np.ndarray, w: np.ndarray | None) -> float:
        return self._root_constant(y, w)


@register("log_cosh", aliases=("logcosh",))
class LogCosh(_ErrorLoss):
    r"""Log-cosh loss ``log(cosh(y_pred - y_true))``: ``e^2/2`` near 0, ``|e| - log 2`` far.

    .. math:: L = \log\cosh e,\quad \partial L = \tanh e,\quad
              \partial^2 L = \operatorname{sech}^2 e

    The negative log-likelihood of the hyperbolic secant distribution
    (``scipy.stats.hypsecant``, density ``sech(e) / pi``). As Keras and Optax define it.
    """

    formula = r"\log\cosh(\hat y - y)"
    gradient_formula = r"\tanh(\hat y - y)"
    hessian_formula = r"\operatorname{sech}^2(\hat y - y)"

    def __init__(self, *, link: str | None = None, nan_policy: str = "raise") -> None:
        super().__init__(link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return Properties(convex=self.link.name == "identity", smoothness=math.inf,
                          lipschitz=1.0, bounded_gradient=True, robust=True,
                          hessian="exact", statistic="log-cosh M-estimate (near the median)")

    @property
    def distribution(self) -> Distribution:
        return Distribution("HyperbolicSecant", "location", {"scale": 1.0},
                            "L = -log(sech(y - loc) / pi) - log(pi)",
                            scipy_factory("hypsecant", loc=lambda mu: mu, scale=1.0))

    def _value_of_error(self, xp: Any, e: Any) -> Any:
        return numerics.log_cosh(e, xp=xp)

    def _gradient_of_error(self, xp: Any, e: Any) -> Any:
        return xp.tanh(e)

    def _hessian_of_error(self, xp: Any, e: Any) -> Any:
        # sech^2 = 4 t / (1 + t)^2 with t = exp(-2|e|): no cancellation, no overflow.
        t = xp.exp(-2.0 * xp.abs(e))
        return 4.0 * t / ((1.0 + t) * (1.0 + t))

    def _optimal_constant(self, y: np.ndarray, w: np.ndarray | None) -> float:
        return self._root_constant(y, w)


class _PiecewiseLinear(_ErrorLoss):
    """``below * |e|`` for under-prediction (``e < 0``), ``above * e`` for over."""

    below: float
    above: float

    def _value_of_error(self, xp: Any, e: Any) -> Any:
        return xp.where(e < 0, -self.below * e, self.above * e)

    def _gradient_of_error(self, xp: Any, e: Any) -> Any:
        zeros = xp.zeros_like(e)
        return xp.where(e < 0, zeros - self.below, xp.where(e > 0, zeros + self.above, zeros))

    def _hessian_of_error(self, xp: Any, e: Any) -> Any:
        return xp.ones_like(e)

    def _properties(self) -> Properties:
        return Properties(convex=self.link.name == "identity", smoothness=0,
                          lipschitz=max(self.below, self.above), bounded_gradient=True,
                          robust=True, hessian="surrogate", statistic=self._statistic())

    def _level(self) -> float:
        return self.below / (self.below + self.above)

    def _statistic(self) -> str:
        return f"quantile at level {self._level()!r}"

    def _optimal_constant(self, y: np.ndarray, w: np.ndarray | None) -> float:
        return weighted_quantile(y, w, self._level())

    @property
    def distribution(self) -> Distribution:
        # Asymmetric Laplace with slopes a (above the location) and b (below):
        # kappa = sqrt(a / b), scale = 1 / sqrt(a b) in scipy's laplace_asymmetric.
        a, b = self.below, self.above
        kappa, scale = math.sqrt(a / b), 1.0 / math.sqrt(a * b)
        return Distribution("AsymmetricLaplace", "quantile", {"kappa": kappa, "scale": scale},
                            f"L = -log ALD(y | loc, kappa={kappa:g}, scale={scale:g}) + const",
                            scipy_factory("laplace_asymmetric", kappa=kappa,
                                          loc=lambda mu: mu, scale=scale))


@register("quantile", aliases=("pinball",))
class Quantile(_PiecewiseLinear):
    r"""Pinball loss for the ``q``-quantile.

    .. math:: L_q = q (y - \hat y) \text{ if } y \ge \hat y
              \text{ else } (1 - q)(\hat y - y)

    Koenker & Bassett (1978). Subgradient ``1[e > 0] - q`` (``-q`` at ``e = 0``, as
    scikit-learn's ``PinballLoss``); Hessian surrogate 1. ``q = 0.5`` is half the
    absolute error. Matches ``sklearn.metrics.mean_pinball_loss(alpha=q)``.
    """

    formula = r"q(y-\hat y)\;(y\ge\hat y),\; (1-q)(\hat y-y)"
    gradient_formula = r"1[\hat y > y] - q"
    hessian_formula = r"0 \text{ (surrogate: 1)}"

    def __init__(self, *, q: float = 0.5, link: str | None = None,
                 nan_policy: str = "raise") -> None:
        self.q = check_real(q, "q", low=0.0, high=1.0, owner="quantile")
        self.below, self.above = self.q, 1.0 - self.q
        super().__init__(link=link, nan_policy=nan_policy)

    def _gradient_of_error(self, xp: Any, e: Any) -> Any:
        return xp.where(e > 0, xp.ones_like(e), xp.zeros_like(e)) - self.q

    def _statistic(self) -> str:
        return f"{self.q!r}-quantile"


@register("asymmetric")
class Asymmetric(_PiecewiseLinear):
    r"""The seed's asymmetric absolute loss: ``alpha |e|`` for under-prediction.

    .. math:: L = \alpha |\hat y - y| \text{ if } \hat y < y \text{ else } |\hat y - y|

    ``alpha > 1`` penalises under-prediction more. Equal to ``(1 + alpha)`` times the
    pinball loss at ``q = alpha / (1 + alpha)``, which is what it estimates.
    """

    formula = r"\alpha|\hat y - y|\;(\hat y < y),\; |\hat y - y|"
    gradient_formula = r"-\alpha\;(\hat y < y),\; 1\;(\hat y > y)"
    hessian_formula = r"0 \text{ (surrogate: 1)}"

    def __init__(self, *, alpha: float = 2.0, link: str | None = None,
                 nan_policy: str = "raise") -> None:
        self.alpha = check_real(alpha, "alpha", low=0.0, owner="asymmetric")
        self.below, self.above = self.alpha, 1.0
        super().__init__(link=link, nan_policy=nan_policy)


@register("expectile")
class Expectile(_ErrorLoss):
    r"""Asymmetric squared error whose minimiser is the ``tau``-expectile.

    .. math:: L_\tau = |\tau - 1[y < \hat y]|\,(y - \hat y)^2

    Newey & Powell (1987). ``tau = 0.5`` is half the squared error; ``tau > 0.5``
    penalises under-prediction more. The second derivative jumps at ``e = 0``.
    """

    formula = r"|\tau - 1[y < \hat y]|\,(y - \hat y)^2"
    gradient_formula = r"2|\tau - 1[y < \hat y]|\,(\hat y - y)"
    hessian_formula = r"2|\tau - 1[y < \hat y]|"

    def __init__(self, *, tau: float = 0.5, link: str | None = None,
                 nan_policy: str = "raise") -> None:
        self.tau = check_real(tau, "tau", low=0.0, high=1.0, owner="expectile")
        super().__init__(link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return Properties(convex=self.link.name == "identity",
                          smoothness=2 if self.tau == 0.5 else 1, lipschitz=None,
                          bounded_gradient=False, robust=False, hessian="exact",
                          statistic=f"{self.tau!r}-expectile")

    def _weight(self, xp: Any, e: Any) -> Any:
        # e > 0 means y < y_pred: over-prediction, weight 1 - tau.
        return xp.where(e > 0, xp.zeros_like(e) + (1.0 - self.tau), xp.zeros_like(e) + self.tau)

    def _value_of_error(self, xp: Any, e: Any) -> Any:
        return self._weight(xp, e) * e * e

    def _gradient_of_error(self, xp: Any, e: Any) -> Any:
        return 2.0 * self._weight(xp, e) * e

    def _hessian_of_error(self, xp: Any, e: Any) -> Any:
        return 2.0 * self._weight(xp, e)

    def _optimal_constant(self, y: np.ndarray, w: np.ndarray | None) -> float:
        return self._root_constant(y, w)


# ----------------------------------------------------------- deviance losses
class _Deviance(Loss):
    """Negative log-likelihoods of exponential-dispersion families, on the mean."""

    links = ("identity", "log")
    fused_links = frozenset({"identity", "log"})
    y_pred_domain = POSITIVE
    y_pred_meaning = "a mean"

    def _optimal_constant(self, y: np.ndarray, w: np.ndarray | None) -> float:
        return weighted_mean(y, w)


@register("poisson")
class Poisson(_Deviance):
    r"""Poisson negative log-likelihood without ``log(y!)``: ``mu - y log(mu)``.

    .. math:: L(\mu, y) = \mu - y\log\mu;\quad \text{log link: } L(z) = e^z - y z,\;
              \partial L = e^z - y,\; \partial^2 L = e^z

    scikit-learn's ``HalfPoissonLoss``; PyTorch's ``poisson_nll_loss`` (``log_input``
    matches ``link="log"``, ``full=False``). ``y_true >= 0``, ``mu > 0``.
    """

    formula = r"\mu - y\log\mu"
    gradient_formula = r"1 - y/\mu \;\;(\text{log link: } e^z - y)"
    hessian_formula = r"y/\mu^2 \;\;(\text{log link: } e^z)"
    y_true_domain = NONNEGATIVE

    def __init__(self, *, link: str | None = None, nan_policy: str = "raise") -> None:
        super().__init__(link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return Properties(convex=True, smoothness=math.inf, lipschitz=None,
                          bounded_gradient=False, robust=False, hessian="exact",
                          statistic="mean")

    @property
    def distribution(self) -> Distribution:
        return Distribution("Poisson", "mean", {}, "L = -log Poisson(y | mean) - log(y!)",
                            scipy_factory("poisson", mu=lambda mu: mu))

    def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        if self.link.name == "log":
            return xp.exp(y_pred) - y_true * y_pred
        return y_pred - numerics.xlogy(y_true, y_pred, xp=xp)

    def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        if self.link.name == "log":
            return xp.exp(y_pred) - y_true
        return 1.0 - y_true / y_pred

    def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        if self.link.name == "log":
            return xp.exp(y_pred)
        return y_true / (y_pred * y_pred)


@register("gamma")
class Gamma(_Deviance):
    r"""Gamma negative log-likelihood (shape 1) without constants: ``log(mu) + y / mu``.

    .. math:: L(\mu, y) = \log\mu + y/\mu;\quad \text{log link: } L(z) = z + y e^{-z}

    scikit-learn's ``HalfGammaLoss``. Convex in the log-link score, not in the mean.
    ``y_true > 0``, ``mu > 0``.
    """

    formula = r"\log\mu + y/\mu"
    gradient_formula = r"1/\mu - y/\mu^2 \;\;(\text{log link: } 1 - y e^{-z})"
    hessian_formula = r"2y/\mu^3 - 1/\mu^2 \;\;(\text{log link: } y e^{-z})"
    y_true_domain = POSITIVE

    def __init__(self, *, link: str | None = None, nan_policy: str = "raise") -> None:
        super().__init__(link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return Properties(convex=self.link.name == "log", smoothness=math.inf,
                          lipschitz=None, bounded_gradient=False, robust=False,
                          hessian="exact", statistic="mean")

    @property
    def distribution(self) -> Distribution:
        return Distribution("Gamma", "mean", {"shape": 1.0},
                            "L = -log Gamma(y | shape=1, scale=mean)",
                            scipy_factory("gamma", a=1.0, scale=lambda mu: mu))

    def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        if self.link.name == "log":
            return y_pred + y_true * xp.exp(-y_pred)
        return xp.log(y_pred) + y_true / y_pred

    def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        if self.link.name == "log":
            return 1.0 - y_true * xp.exp(-y_pred)
        return (y_pred - y_true) / (y_pred * y_pred)

    def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        if self.link.name == "log":
            return y_true * xp.exp(-y_pred)
        return (2.0 * y_true - y_pred) / (y_pred * y_pred * y_pred)


@register("tweedie")
class Tweedie(_Deviance):
    r"""Tweedie negative log-likelihood (dispersion 1) without constants.

    .. math:: L(\mu, y) = \frac{\mu^{2-p}}{2-p} - y\,\frac{\mu^{1-p}}{1-p}

    with the limits ``mu - y log mu`` at ``p = 1`` (Poisson), ``log mu + y/mu`` at
    ``p = 2`` (Gamma) and ``mu^2/2 - y mu`` at ``p = 0`` (Normal). scikit-learn's
    ``HalfTweedieLoss``; ``power`` in ``(-inf, 0] U [1, inf)``. ``y_true`` must be real
    for ``p <= 0``, ``>= 0`` for ``1 <= p < 2`` and ``> 0`` for ``p >= 2``.
    """

    formula = r"\frac{\mu^{2-p}}{2-p} - y\frac{\mu^{1-p}}{1-p}"
    gradient_formula = r"\mu^{1-p} - y\mu^{-p}"
    hessian_formula = r"(1-p)\mu^{-p} + p\,y\,\mu^{-p-1}"

    def __init__(self, *, power: float = 1.5, link: str | None = None,
                 nan_policy: str = "raise") -> None:
        self.power = check_real(power, "power", owner="tweedie")
        if 0.0 < self.power < 1.0:
            raise ValueError("power for 'tweedie' must be <= 0 or >= 1 (no Tweedie "
                             f"distribution exists in between); got {power!r}")
        super().__init__(link=link, nan_policy=nan_policy)

    @property
    def y_true_domain(self) -> Interval:  # type: ignore[override]
        if self.power <= 0:
            return REAL
        return NONNEGATIVE if self.power < 2 else POSITIVE

    @property
    def y_pred_domain(self) -> Interval:  # type: ignore[override]
        return REAL if self.power == 0 else POSITIVE

    def _properties(self) -> Properties:
        p = self.power
        convex = (1.0 <= p <= 2.0) if self.link.name == "log" else p in (0.0, 1.0)
        return Properties(convex=convex, smoothness=math.inf, lipschitz=None,
                          bounded_gradient=False, robust=False, hessian="exact",
                          statistic="mean")

    @property
    def distribution(self) -> Distribution:
        p = self.power
        factory = None
        if p == 0:
            factory = scipy_factory("norm", loc=lambda mu: mu, scale=1.0)
        elif p == 1:
            factory = scipy_factory("poisson", mu=lambda mu: mu)
        elif p == 2:
            factory = scipy_factory("gamma", a=1.0, scale=lambda mu: mu)
        return Distribution("Tweedie", "mean", {"power": p, "dispersion": 1.0},
                            "L = -log Tweedie(y | mean, power, dispersion=1) + c(y)", factory)

    def _check_target(self, xp: Any, y_true: Any) -> None:
        fail_where(xp, self.y_true_domain.outside(xp, y_true),
                   f"y_true for 'tweedie' with power={self.power:g} must be in "
                   f"{self.y_true_domain}")

    def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        p = self.power
        if self.link.name == "log":
            z = y_pred
            if p == 1:
                return xp.exp(z) - y_true * z
            if p == 2:
                return z + y_true * xp.exp(-z)
            return xp.exp((2 - p) * z) / (2 - p) - y_true * xp.exp((1 - p) * z) / (1 - p)
        mu = y_pred
        if p == 0:
            return 0.5 * mu * mu - y_true * mu
        if p == 1:
            return mu - numerics.xlogy(y_true, mu, xp=xp)
        if p == 2:
            return xp.log(mu) + y_true / mu
        return mu ** (2 - p) / (2 - p) - y_true * mu ** (1 - p) / (1 - p)

    def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        p = self.power
        if self.link.name == "log":
            z = y_pred
            return xp.exp((2 - p) * z) - y_true * xp.exp((1 - p) * z)
        mu = y_pred
        if p == 0:
            return mu - y_true
        return mu ** (1 - p) - y_true * mu ** (-p)

    def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        p = self.power
        if self.link.name == "log":
            z = y_pred
            return (2 - p) * xp.exp((2 - p) * z) - (1 - p) * y_true * xp.exp((1 - p) * z)
        mu = y_pred
        if p == 0:
            return xp.ones_like(mu)
        return (1 - p) * mu ** (-p) + p * y_true * mu ** (-p - 1)
