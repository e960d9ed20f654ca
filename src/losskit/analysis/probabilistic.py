r"""The probabilistic view: losses from likelihoods, and predictions from distributions.

- :func:`from_distribution` turns a scipy.stats family into its negative
  log-likelihood in one parameter, a :class:`DistributionLoss` with closed-form value,
  gradient and Hessian, its properties and its maximum-likelihood constant.
- :func:`optimal_prediction` gives the point prediction that minimises a loss's
  expected value under a distribution: ``argmin_c E_{Y ~ dist}[L(c, Y)]``, the
  Bayes act, in closed form where the loss declares a recognised statistic (mean,
  median, quantile, expectile), else by numerical minimisation of the expectation.

>>> import numpy as np
>>> import scipy.stats
>>> from losskit.analysis.probabilistic import from_distribution, optimal_prediction
>>> nll = from_distribution("t", df=3.0, scale=2.0)
>>> nll
DistributionLoss(family='t', parameter='loc', df=3.0, scale=2.0)
>>> y = np.array([0.5, 4.0])
>>> bool(np.allclose(nll.elementwise(np.zeros(2), y), -scipy.stats.t(3.0, 0.0, 2.0).logpdf(y)))
True
>>> nll.properties.convex, round(nll.properties.lipschitz, 4)  # (nu + 1) / (2 sqrt(nu) s)
(False, 0.5774)
>>> import losskit as lk
>>> round(optimal_prediction(lk.get("quantile", q=0.9), scipy.stats.norm(1.0, 2.0)), 6)
3.563103
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from losskit._array import fail_where
from losskit._params import check_choice, check_real
from losskit.analysis import _likelihoods as lik
from losskit.analysis._expectation import Expectation
from losskit.core import Distribution, Loss, Properties
from losskit.links import Interval, Link, get_link
from losskit.losses._common import scipy_factory

_RTOL = 4 * float(np.finfo(np.float64).eps)  # the least rtol brentq accepts

__all__ = ["DistributionLoss", "from_distribution", "optimal_prediction"]


# ------------------------------------------------------------------ the families
@dataclass(frozen=True)
class _Family:
    """A supported scipy.stats family: its free parameters and fixed ones."""

    key: str
    parameters: tuple[str, ...]  # the first is the default
    shapes: tuple[str, ...] = ()  # required fixed parameters (scipy's shapes)
    parameter_aliases: tuple[tuple[str, str], ...] = ()
    #: The scipy parameter that the free one sets, where its name differs (dropped
    #: from a frozen distribution's parameters).
    scipy_free: tuple[tuple[str, str], ...] = ()

    @property
    def location_scale(self) -> bool:
        return self.parameters == ("loc", "scale")

    def resolve_parameter(self, parameter: str | None) -> str:
        if parameter is None:
            return self.parameters[0]
        name = dict(self.parameter_aliases).get(parameter, parameter)
        if name not in self.parameters:
            known = [*self.parameters, *(a for a, _ in self.parameter_aliases)]
            raise ValueError(f"parameter for '{self.key}' must be one of {known}; "
                             f"got {parameter!r}")
        return name

    def optional(self, parameter: str) -> dict[str, float]:
        """Fixed parameters with defaults, for the free ``parameter``."""
        if not self.location_scale:
            return {}
        return {"scale": 1.0} if parameter == "loc" else {"loc": 0.0}

    def check_fixed(self, parameter: str, fixed: dict[str, Any]) -> dict[str, float]:
        defaults = self.optional(parameter)
        allowed = [*self.shapes, *defaults]
        for name in fixed:
            if name == parameter or dict(self.parameter_aliases).get(name) == parameter:
                raise ValueError(f"{name} is the free parameter of '{self.key}' (what y_pred "
                                 "gives); it cannot also be fixed")
            if name not in allowed:
                raise ValueError(f"unknown parameter {name!r} for '{self.key}' with free "
                                 f"parameter {parameter!r}; the fixed parameters are "
                                 f"{allowed or 'none'}")
        checked: dict[str, float] = {}
        for name in self.shapes:
            if name not in fixed:
                raise ValueError(f"{name} for '{self.key}' is required (a fixed "
                                 f"parameter); e.g. from_distribution('{self.key}', "
                                 f"{name}=2.0)")
            checked[name] = check_real(fixed[name], name, low=0.0, high=math.inf,
                                       owner=self.key)
        for name, default in defaults.items():
            value = fixed.get(name, default)
            if name == "scale":
                checked[name] = check_real(value, name, low=0.0, high=math.inf, owner=self.key)
            else:
                checked[name] = check_real(value, name, low=-math.inf, high=math.inf,
                                           owner=self.key)
        return checked

    def model(self, parameter: str, fixed: dict[str, float], link: str) -> lik.Model:
        if self.location_scale:
            standard = _standard(self.key, fixed)
            if parameter == "loc":
                return lik.LocationModel(standard, fixed["scale"])
            return lik.ScaleModel(standard, fixed["loc"], link)
        if self.key == "poisson":
            return lik.PoissonModel(link)
        if self.key == "nbinom":
            return lik.NegativeBinomialModel(fixed["n"], link)
        if self.key == "gamma":
            return lik.GammaModel(fixed["a"], link)
        return lik.BernoulliModel(link)


def _standard(key: str, fixed: dict[str, float]) -> lik.StandardFamily:
    if key == "norm":
        return lik.NormalStandard()
    if key == "laplace":
        return lik.LaplaceStandard()
    if key == "t":
        return lik.StudentStandard(fixed["df"])
    if key == "cauchy":
        return lik.StudentStandard(1.0, cauchy=True)
    return lik.LogisticStandard()


_LOC_SCALE = ("loc", "scale")
_FAMILIES = {family.key: family for family in (
    _Family("norm", _LOC_SCALE),
    _Family("laplace", _LOC_SCALE),
    _Family("t", _LOC_SCALE, shapes=("df",)),
    _Family("cauchy", _LOC_SCALE),
    _Family("logistic", _LOC_SCALE),
    _Family("poisson", ("mu",), parameter_aliases=(("mean", "mu"),)),
    _Family("nbinom", ("mu",), shapes=("n",), parameter_aliases=(("mean", "mu"),),
            scipy_free=(("mu", "p"),)),
    _Family("gamma", ("mean",), shapes=("a",), parameter_aliases=(("mu", "mean"),),
            scipy_free=(("mean", "scale"),)),
    _Family("bernoulli", ("p",), parameter_aliases=(("mean", "p"),)),
)}
_FAMILY_ALIASES = {"normal": "norm", "gaussian": "norm", "student_t": "t", "studentt": "t",
                   "student": "t", "negative_binomial": "nbinom", "negbinom": "nbinom"}


def _family_key(family: Any) -> str:
    if not isinstance(family, str):
        raise TypeError(f"family must be a name such as 'norm' or 't'; got {family!r}")
    key = family.strip().lower().replace("-", "_").replace(" ", "_")
    key = _FAMILY_ALIASES.get(key, key)
    if key not in _FAMILIES:
        raise ValueError(f"family must be one of {sorted(_FAMILIES)} (or an alias: "
                         f"{sorted(_FAMILY_ALIASES)}); got {family!r}")
    return key


# ----------------------------------------------------------------- the loss class
class DistributionLoss(Loss):
    r"""The full negative log-likelihood ``-log p(y | theta)`` of a scipy.stats family.

    ``y_pred`` is one parameter ``theta`` of the family (``parameter``; a raw score
    with ``link``), the others are fixed (``**fixed``); constants are included, so the
    value equals ``-logpdf`` / ``-logpmf``. Value, gradient and Hessian are written out
    for every supported link (no chain rule). Built by :func:`from_distribution`.

    ================ ============== ================ ===========================
    family           parameter      fixed            links
    ================ ============== ================ ===========================
    ``norm``         loc / scale    scale / loc      identity (scale: + log)
    ``laplace``      loc / scale    scale / loc      identity (scale: + log)
    ``t``            loc / scale    df; scale / loc  identity (scale: + log)
    ``cauchy``       loc / scale    scale / loc      identity (scale: + log)
    ``logistic``     loc / scale    scale / loc      identity (scale: + log)
    ``poisson``      mu (the mean)                   identity, log
    ``nbinom``       mu (the mean)  n                identity, log
    ``gamma``        mean           a                identity, log
    ``bernoulli``    p                               identity, logit
    ================ ============== ================ ===========================

    ``nbinom`` is NB2 in its mean: scipy's ``nbinom(n, p)`` with ``p = n / (n + mu)``
    (variance ``mu + mu^2 / n``); ``gamma`` is ``gamma(a, scale=mean / a)``. Fixed
    ``scale`` defaults to 1 and ``loc`` to 0; ``df``, ``n`` and ``a`` are required.
    The Laplace location has a zero second derivative: ``hessian`` returns the
    positive stand-in ``1 / scale^2`` (``properties.hessian == "surrogate"``).
    """

    formula = r"-\log p(y \mid \theta)"
    gradient_formula = r"-\partial_\theta \log p(y \mid \theta)"
    hessian_formula = r"-\partial_\theta^2 \log p(y \mid \theta)"
    links = ("identity", "log", "logit")
    fused_links = frozenset(links)

    def __init__(self, *, family: str, parameter: str | None = None,
                 link: str | Link | None = None, nan_policy: str = "raise",
                 **fixed: float) -> None:
        spec = _FAMILIES[_family_key(family)]
        self.family = spec.key
        self.parameter = spec.resolve_parameter(parameter)
        self.fixed = spec.check_fixed(self.parameter, fixed)
        link_name = get_link(link).name
        self._model = spec.model(self.parameter, self.fixed, link_name)
        if link_name not in self._model.links:
            raise ValueError(f"link for '{self.family}' in {self.parameter!r} must be one of "
                             f"{list(self._model.links)}; got {link_name!r}")
        super().__init__(link=link, nan_policy=nan_policy)

    # ------------------------------------------------------------ metadata
    @property
    def name(self) -> str:  # type: ignore[override]
        return f"{self.family}_nll"

    @property
    def y_pred_domain(self) -> Interval:  # type: ignore[override]
        return self._model.y_pred_domain

    @property
    def y_true_domain(self) -> Interval:  # type: ignore[override]
        return self._model.y_true_domain

    def get_params(self) -> dict[str, Any]:
        return {"family": self.family, "parameter": self.parameter, **self.fixed,
                "link": self.link.name, "nan_policy": self.nan_policy}

    def __repr__(self) -> str:
        params = self.get_params()
        if params["link"] == "identity":
            del params["link"]
        if params["nan_policy"] == "raise":
            del params["nan_policy"]
        inner = ", ".join(f"{key}={value!r}" for key, value in params.items())
        return f"{type(self).__name__}({inner})"

    def _properties(self) -> Properties:
        return self._model.properties()

    @property
    def distribution(self) -> Distribution:
        model = self._model
        note = "L = -log p(y | theta), constants included"
        if model.note:
            note += f"; {model.note}"
        return Distribution(model.title, model.parameter, model.fixed(), note,
                            scipy_factory(model.scipy_name, **model.scipy_kwargs()))

    def example(self, n: int = 8, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Parameters drawn at random, and targets drawn from the family at them."""
        rng = np.random.default_rng(seed)
        theta = self._model.draw_parameter(rng, n)
        y = self._model.draw(rng, theta)
        if self.link.name == "identity":
            return theta, y
        return np.asarray(self.link.link(theta), dtype=np.float64), y

    # ------------------------------------------------------------ formulas
    def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self._model.value(xp, y_pred, y_true)

    def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self._model.gradient(xp, y_pred, y_true)

    def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self._model.hessian(xp, y_pred, y_true)

    def _gradient_hessian(self, xp: Any, y_pred: Any, y_true: Any) -> tuple[Any, Any]:
        return self._model.gradient_hessian(xp, y_pred, y_true)

    def _optimal_constant(self, y: np.ndarray, w: np.ndarray | None) -> float:
        return self._model.optimal_constant(y, w)

    # ------------------------------------------------------------ validation
    def _check_target(self, xp: Any, y_true: Any) -> None:
        model = self._model
        support = "0 or 1" if isinstance(model, lik.BernoulliModel) else (
            f"whole numbers in {model.y_true_domain}" if model.discrete
            else f"in {model.y_true_domain}")
        message = f"y_true for '{self.name}' must be {support} (the support of {model.title})"
        fail_where(xp, model.y_true_domain.outside(xp, y_true), message)
        if model.discrete:
            fail_where(xp, y_true != xp.floor(y_true), message)

    def _check_prediction(self, xp: Any, y_pred: Any) -> None:
        if self.link.name == "identity":
            fail_where(xp, self.y_pred_domain.outside(xp, y_pred),
                       f"y_pred for '{self.name}' must be in {self.y_pred_domain} "
                       f"({self._model.meaning}, the {self.parameter!r} parameter)"
                       + self._link_hint())

    def _link_hint(self) -> str:
        others = [name for name in self._model.links if name != "identity"]
        return f"; pass link={others[0]!r} to give raw scores instead" if others else ""


def from_distribution(dist: Any, *, parameter: str | None = None,
                      link: str | Link | None = None, nan_policy: str = "raise",
                      **fixed: float) -> DistributionLoss:
    r"""The negative log-likelihood of a scipy.stats family as a loss of one parameter.

    Parameters
    ----------
    dist : str or scipy.stats distribution
        ``"norm"`` (``"normal"``), ``"laplace"``, ``"t"``, ``"cauchy"``,
        ``"logistic"``, ``"poisson"``, ``"nbinom"``, ``"gamma"``, ``"bernoulli"``; or
        the scipy object (``scipy.stats.t``), or a frozen one (``scipy.stats.t(3,
        scale=2)``), whose parameters other than the free one become ``fixed``.
    parameter : str, optional
        The parameter ``y_pred`` gives: ``"loc"`` (default) or ``"scale"`` for the
        location-scale families, the mean (``"mu"``, ``"mean"``) for Poisson, negative
        binomial and gamma, ``"p"`` for Bernoulli.
    link : str, optional
        ``"log"`` for a scale or a mean, ``"logit"`` for ``p``: ``y_pred`` is then a
        raw score, and gradient and Hessian are with respect to it.
    **fixed : float
        The other parameters: ``scale`` (default 1) or ``loc`` (default 0), ``df``
        (t), ``n`` (nbinom) and ``a`` (gamma).

    Returns
    -------
    DistributionLoss
        ``L(theta, y) = -log p(y | theta)``, constants included.

    >>> import numpy as np
    >>> poisson = from_distribution("poisson", link="log")
    >>> poisson.gradient(np.log(np.array([2.0, 2.0])), np.array([0.0, 3.0]))  # e^z - y
    array([ 2., -1.])
    """
    family, frozen = _resolve_distribution(dist)
    spec = _FAMILIES[family]
    name = spec.resolve_parameter(parameter)
    drop = dict(spec.scipy_free).get(name, name)
    merged: dict[str, Any] = {}
    for key, value in frozen.items():
        if key == drop:
            continue
        if key == "loc" and not spec.location_scale:
            if value != 0:
                raise ValueError(f"a shifted {family} (loc={value!r}) is not supported")
            continue
        merged[key] = value
    merged.update(fixed)
    return DistributionLoss(family=family, parameter=name, link=link, nan_policy=nan_policy,
                            **merged)


def _resolve_distribution(dist: Any) -> tuple[str, dict[str, Any]]:
    """``(family key, parameters of a frozen distribution)`` from a name or a scipy object."""
    if isinstance(dist, str):
        return _family_key(dist), {}
    generator = getattr(dist, "dist", None)
    if generator is not None and hasattr(dist, "args") and hasattr(dist, "kwds"):
        import scipy.stats

        shapes = [s.strip() for s in (generator.shapes or "").split(",") if s.strip()]
        names = [*shapes, "loc"]
        if isinstance(generator, scipy.stats.rv_continuous):
            names.append("scale")
        values = dict(zip(names, dist.args, strict=False))
        values.update(dist.kwds)
        return _family_key(generator.name), values
    name = getattr(dist, "name", None)
    if isinstance(name, str) and (hasattr(dist, "pdf") or hasattr(dist, "pmf")):
        return _family_key(name), {}
    raise TypeError("dist must be a family name ('norm', 't', ...) or a scipy.stats "
                    f"distribution; got {type(dist).__name__}")


# ------------------------------------------------------------ optimal prediction
METHODS = ("auto", "closed_form", "numeric")
_LEVEL = r"([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)"
_STATISTIC = re.compile(
    rf"{_LEVEL}-(quantile|expectile)|(quantile|expectile) at level {_LEVEL}")


def optimal_prediction(loss: Loss, distribution: Any, *, method: str = "auto") -> float:
    r"""The prediction minimising the expected loss: ``argmin_c E_{Y ~ dist}[L(c, Y)]``.

    Parameters
    ----------
    loss : Loss
        A loss of one real target per sample (not multiclass).
    distribution : frozen scipy.stats distribution
        Continuous or discrete, e.g. ``scipy.stats.gamma(2.0, scale=1.5)``; its
        support must lie in the loss's ``y_true`` domain.
    method : {"auto", "closed_form", "numeric"}
        ``"closed_form"``: from the statistic the loss declares
        (``loss.properties.statistic``): ``"mean"``, ``"median"``, a quantile
        (``"0.9-quantile"``, ``"quantile at level 0.75"``) or an expectile
        (``"0.8-expectile"``, the root of ``tau E[(Y - e)_+] = (1 - tau)
        E[(e - Y)_+]``); a ValueError if it declares none of these. ``"numeric"``:
        minimise ``E[L(c, Y)]`` over a grid of ``c``, then solve the first-order
        condition ``E[dL/dc] = 0`` between the best point's neighbours (or Brent's
        method where it does not change sign); the expectation is a quadrature for a
        continuous distribution, a sum over the support for a discrete one.
        ``"auto"``: the closed form where there is one, else numeric.

    Returns
    -------
    float
        In ``y_pred`` space: through the loss's link (``-inf`` where a log link's
        natural optimum is ``<= 0``).

    >>> import scipy.stats
    >>> import losskit as lk
    >>> dist = scipy.stats.poisson(3.7)
    >>> optimal_prediction(lk.get("absolute_error"), dist)  # the median
    4.0
    >>> round(optimal_prediction(lk.get("absolute_error"), dist, method="numeric"), 9)
    4.0
    """
    check_choice(method, "method", METHODS)
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a losskit Loss; got {type(loss).__name__}")
    if loss.multiclass:
        raise ValueError(f"optimal_prediction needs a loss of one real target per sample; "
                         f"'{loss.name}' is multiclass")
    if not (hasattr(distribution, "dist") and hasattr(distribution, "ppf")):
        raise TypeError("distribution must be a frozen scipy.stats distribution, e.g. "
                        f"scipy.stats.norm(0, 1); got {type(distribution).__name__}")
    expectation = Expectation(distribution)
    _check_support(loss, distribution, expectation)
    if method != "numeric":
        statistic = _declared_statistic(loss)
        if statistic is not None:
            kind, level = statistic
            if kind == "mean":
                natural = float(distribution.mean())
                if not math.isfinite(natural):
                    raise ValueError(f"'{loss.name}' estimates the mean, and the mean of "
                                     "this distribution is not finite")
            elif kind == "quantile":
                natural = float(distribution.ppf(level))
            else:
                natural = expectation.expectile(level)
            return _to_prediction(loss.link, natural)
        if method == "closed_form":
            raise ValueError(f"no closed form for the statistic of '{loss.name}' "
                             f"({loss.properties.statistic!r}); use method='numeric'")
    return _numeric_optimum(loss, distribution, expectation)


def _check_support(loss: Loss, dist: Any, expectation: Expectation) -> None:
    """The distribution's values must be valid targets of the loss."""
    domain = loss.y_true_domain
    low, high = expectation.low, expectation.high
    # A continuous law puts no mass on an end point, nor a discrete one on an infinite one.
    closed = not expectation.discrete
    low_ok = (low >= domain.low if closed or domain.low_inclusive or math.isinf(low)
              else low > domain.low)
    high_ok = (high <= domain.high if closed or domain.high_inclusive or math.isinf(high)
               else high < domain.high)
    if not (low_ok and high_ok):
        raise ValueError(f"the support [{low:g}, {high:g}] of the distribution is not "
                         f"inside the y_true domain {domain} of '{loss.name}'")
    # Whatever else the loss requires of a target (whole numbers, {0, 1}) it checks:
    points = np.asarray(dist.ppf([0.1, 0.37, 0.5, 0.63, 0.9]), dtype=np.float64)
    prediction = np.asarray(loss.example(1)[0], dtype=np.float64)
    try:
        loss.elementwise(np.repeat(prediction, points.size), points)
    except ValueError as error:
        raise ValueError(f"the values of the distribution are not valid targets of "
                         f"'{loss.name}': {error}") from None


def _declared_statistic(loss: Loss) -> tuple[str, float] | None:
    """``("mean", nan)``, ``("quantile", q)`` or ``("expectile", tau)``, or None."""
    text = " ".join(loss.properties.statistic.lower().split())
    if text == "mean":
        return "mean", math.nan
    if text == "median":
        return "quantile", 0.5
    match = _STATISTIC.fullmatch(text)
    if match is None:
        return None
    kind = match.group(2) or match.group(3)
    level = float(match.group(1) or match.group(4))
    if not 0.0 < level < 1.0:
        return None
    return kind, level


def _to_prediction(link: Link, natural: float) -> float:
    if link.name == "identity":
        return natural
    if link.name == "log" and natural <= 0.0:
        return -math.inf  # exp(z) > 0: approached as z -> -inf
    return float(np.asarray(link.link(np.float64(natural))))


def _natural_domain(loss: Loss) -> Interval:
    """Where natural-space predictions live: the loss's domain within the link's."""
    own, other = loss.y_pred_domain, loss.link.domain
    low = max((own.low, not own.low_inclusive), (other.low, not other.low_inclusive))
    high = min((own.high, own.high_inclusive), (other.high, other.high_inclusive))
    return Interval(low[0], high[0], not low[1], high[1])


def _search_grid(loss: Loss, dist: Any, expectation: Expectation) -> np.ndarray:
    """Natural-space candidates: quantiles of ``Y`` and the domain's own scale."""
    from scipy.special import expit

    domain = _natural_domain(loss)
    tail = 1e-9
    if expectation.discrete and float(dist.isf(tail) - dist.ppf(tail)) <= 400:
        quantiles = np.arange(float(dist.ppf(tail)), float(dist.isf(tail)) + 1.0)
    else:
        quantiles = np.asarray(dist.ppf(np.linspace(1e-6, 1.0 - 1e-6, 81)), dtype=np.float64)
    mean = float(dist.mean())
    candidates = [quantiles, [mean] if math.isfinite(mean) else []]
    if domain.low == 0.0 and domain.high == 1.0:
        candidates.append(expit(np.linspace(-25.0, 25.0, 101)))
    elif domain.low == 0.0 and math.isinf(domain.high):
        top = float(np.max(np.abs(quantiles)))
        top = top if math.isfinite(top) and top > 0 else 1.0
        candidates.append(np.geomspace(top * 1e-9, top * 1e3, 61))
    elif math.isfinite(domain.low) and math.isfinite(domain.high):
        candidates.append(np.linspace(domain.low, domain.high, 101)[1:-1])
    grid = np.unique(np.concatenate([np.asarray(c, dtype=np.float64) for c in candidates]))
    grid = grid[np.isfinite(grid) & ~domain.outside(np, grid)]
    if grid.size > 1:  # merge near-duplicates (the mean next to the median ...)
        apart = np.diff(grid) > 1e-9 * np.maximum(np.abs(grid[1:]), 1e-300)
        grid = grid[np.concatenate([[True], apart])]
    if grid.size == 0:
        raise ValueError(f"no prediction of '{loss.name}' in {domain} to search")
    return grid


def _numeric_optimum(loss: Loss, dist: Any, expectation: Expectation) -> float:
    from scipy.optimize import brentq, minimize_scalar

    link = loss.link
    natural = _search_grid(loss, dist, expectation)
    raw = np.asarray(link.link(natural), dtype=np.float64)
    raw = raw[np.isfinite(raw)]  # the closed ends of a domain: logit(0) = -inf

    def expected(values: Callable[[np.ndarray, np.ndarray], Any], cs: Any,
                 rtol: float = 1e-13, strict: bool = True) -> np.ndarray:
        cs = np.atleast_1d(np.asarray(cs, dtype=np.float64))
        breaks = np.asarray(link.inverse(cs), dtype=np.float64)
        return expectation(values, cs, breaks, rtol=rtol, strict=strict)

    def risk(c: float) -> float:
        return float(expected(loss.elementwise, [c])[0])

    def slope(c: float) -> float:
        return float(expected(loss.gradient, [c])[0])

    # Far out on the grid the expected loss may be infinite or out of reach (NaN).
    coarse = expected(loss.elementwise, raw, rtol=1e-9, strict=False)
    if not np.any(np.isfinite(coarse)):
        raise ValueError(f"the expected loss of '{loss.name}' under this distribution is "
                         "not finite at any prediction")
    best = int(np.nanargmin(np.where(np.isfinite(coarse), coarse, np.nan)))
    middle = float(raw[best])
    # The first-order condition E[dL/dc] = 0: walk downhill from the best grid point
    # to the first sign change of the slope (a few points at most: the root may sit on
    # a neighbour, with a slope of rounding noise), then solve on that bracket.
    g_middle = slope(middle)
    if g_middle == 0.0:
        return middle
    step = 1 if g_middle < 0.0 else -1
    candidate = None
    index = best
    for _ in range(4):
        following = index + step
        if not 0 <= following < raw.size:
            break
        g_following = slope(float(raw[following]))
        if g_following == 0.0 or g_following * g_middle < 0.0:
            low, high = sorted((float(raw[index]), float(raw[following])))
            span = max(abs(low), abs(high), 1.0)
            candidate = float(raw[following]) if g_following == 0.0 else float(
                brentq(slope, low, high, xtol=4e-16 * span, rtol=_RTOL))
            break
        index = following
    if candidate is None:
        left, right = float(raw[max(best - 1, 0)]), float(raw[min(best + 1, raw.size - 1)])
        if left == right:
            return middle
        result = minimize_scalar(risk, bounds=(left, right), method="bounded",
                                 options={"xatol": 1e-12 * max(abs(left), abs(right), 1.0)})
        candidate = float(result.x)
    # The root is the minimiser unless the risk is not convex there: keep the lower.
    if risk(candidate) <= risk(middle) + 1e-12 * abs(risk(middle)):
        return candidate
    return middle
