"""The benchmarked losses: a losskit instance, its input data, and the naive NumPy code.

A case's data is drawn away from the kinks of the non-smooth losses (``e = 0`` and
``|e| = delta`` for the error losses, margin 1 for the hinge), so that every competitor's
subgradient choice at a kink cannot make a correct result look wrong; the draws are
otherwise the typical ones (Gaussian errors, counts, Bernoulli labels).

The "naive NumPy" competitor is the obvious vectorised expression a user would write,
not a tuned one: ``np.mean((p - y) ** 2)``, ``np.log(np.cosh(e))`` and so on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import losskit as lk
from losskit.core import Loss

__all__ = ["CASES", "OPS", "Case", "Inputs", "NumpyOps"]

#: The operations timed for every case.
OPS = ("value", "gradient_hessian", "loss_gradient")

DELTA = 1.0  # huber and pseudo_huber
QUANTILE = 0.9
ALPHA = 2.0  # asymmetric: alpha |e| for under-prediction
POWER = 1.5  # tweedie
FOCAL_GAMMA = 2.0
CLASSES = 10  # cross_entropy: (n / 10, 10) logits


@dataclass(frozen=True)
class Inputs:
    """``y_pred`` and ``y_true`` as NumPy arrays (class labels stay int64)."""

    y_pred: np.ndarray
    y_true: np.ndarray

    def astype(self, dtype: Any) -> Inputs:
        y_true = self.y_true if self.y_true.dtype.kind == "i" else self.y_true.astype(dtype)
        return Inputs(self.y_pred.astype(dtype), y_true)

    @property
    def nbytes(self) -> int:
        return self.y_pred.nbytes + self.y_true.nbytes


@dataclass(frozen=True)
class NumpyOps:
    """The naive NumPy expression for each operation, each taking ``(y_pred, y_true)``."""

    value: Callable[[Any, Any], Any]
    gradient_hessian: Callable[[Any, Any], Any]
    loss_gradient: Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Case:
    """One benchmarked loss: ``make(rng, size)`` draws float64 inputs of ``size`` elements."""

    name: str
    loss: Loss
    make: Callable[[np.random.Generator, int], Inputs]
    numpy: NumpyOps
    classes: int = 0  # K for a multiclass case (y_pred is (size / K, K)), else 0
    aliases: tuple[str, ...] = field(default=())

    def inputs(self, size: int, dtype: Any, seed: int) -> Inputs:
        return self.make(np.random.default_rng(seed), size).astype(dtype)

    def run(self, op: str, y_pred: Any, y_true: Any) -> Any:
        """losskit's result of ``op`` (the mean for ``"value"``)."""
        if op == "value":
            return self.loss(y_pred, y_true)
        return getattr(self.loss, op)(y_pred, y_true)


# --------------------------------------------------------------------- data
def _errors(rng: np.random.Generator, size: int) -> Inputs:
    """Gaussian targets and errors, kept 0.01 away from the kinks at 0 and +-delta."""
    y = rng.normal(0.0, 1.0, size)
    e = rng.normal(0.0, 1.5, size)
    near_kink = (np.abs(e) < 5e-3) | (np.abs(np.abs(e) - DELTA) < 5e-3)
    e[near_kink] += 0.01
    return Inputs(y + e, y)


def _log_scores(target: str) -> Callable[[np.random.Generator, int], Inputs]:
    def make(rng: np.random.Generator, size: int) -> Inputs:
        z = rng.normal(0.5, 0.5, size)
        if target == "gamma":
            y = rng.gamma(2.0, np.exp(z) / 2.0)
        else:  # counts, zeros included: Poisson and Tweedie with 1 <= power < 2
            y = rng.poisson(np.exp(z)).astype(np.float64)
        return Inputs(z, y)

    return make


def _logits(rng: np.random.Generator, size: int) -> Inputs:
    z = rng.normal(0.0, 2.0, size)
    y = (rng.random(size) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
    return Inputs(z, y)


def _probabilities(rng: np.random.Generator, size: int) -> Inputs:
    data = _logits(rng, size)
    return Inputs(1.0 / (1.0 + np.exp(-data.y_pred)), data.y_true)


def _class_logits(rng: np.random.Generator, size: int) -> Inputs:
    rows = size // CLASSES
    return Inputs(rng.normal(0.0, 1.5, (rows, CLASSES)), rng.integers(0, CLASSES, rows))


def _margins(rng: np.random.Generator, size: int) -> Inputs:
    """Labels in {0, 1} and decision values whose margins keep 0.01 from the hinge at 1."""
    y = (rng.random(size) < 0.5).astype(np.float64)
    m = rng.uniform(-2.0, 3.0, size)
    m[np.abs(m - 1.0) < 5e-3] += 0.01
    return Inputs(np.where(y == 0, -m, m), y)


# --------------------------------------------------------------- naive NumPy
def _error_ops(value: Callable[[Any], Any], gradient: Callable[[Any], Any],
               hessian: Callable[[Any], Any]) -> NumpyOps:
    """Ops of a loss of ``e = y_pred - y_true`` from its three elementwise formulas."""

    def gradient_hessian(p: Any, y: Any) -> Any:
        e = p - y
        return gradient(e), hessian(e)

    def loss_gradient(p: Any, y: Any) -> Any:
        e = p - y
        return value(e), gradient(e)

    return NumpyOps(lambda p, y: np.mean(value(p - y)), gradient_hessian, loss_gradient)


def _ones(e: Any) -> Any:
    return np.ones_like(e)


def _like(e: Any, value: float) -> Any:
    """``value`` as a scalar of ``e``'s dtype (``np.where(c, 1.0, 2.0)`` would be float64)."""
    return e.dtype.type(value)


def _huber(e: Any) -> Any:
    a = np.abs(e)
    return np.where(a <= DELTA, 0.5 * e * e, DELTA * (a - 0.5 * DELTA))


def _pseudo_huber_root(e: Any) -> Any:
    return np.sqrt(1.0 + (e / DELTA) ** 2)


def _poisson_ops() -> NumpyOps:
    def gradient_hessian(z: Any, y: Any) -> Any:
        mu = np.exp(z)
        return mu - y, mu

    def loss_gradient(z: Any, y: Any) -> Any:
        mu = np.exp(z)
        return mu - y * z, mu - y

    return NumpyOps(lambda z, y: np.mean(np.exp(z) - y * z), gradient_hessian, loss_gradient)


def _gamma_ops() -> NumpyOps:
    def gradient_hessian(z: Any, y: Any) -> Any:
        r = y * np.exp(-z)
        return 1.0 - r, r

    def loss_gradient(z: Any, y: Any) -> Any:
        r = y * np.exp(-z)
        return z + r, 1.0 - r

    return NumpyOps(lambda z, y: np.mean(z + y * np.exp(-z)), gradient_hessian, loss_gradient)


def _tweedie_ops() -> NumpyOps:
    p = POWER

    def value(z: Any, y: Any) -> Any:
        return np.exp((2 - p) * z) / (2 - p) - y * np.exp((1 - p) * z) / (1 - p)

    def gradient_hessian(z: Any, y: Any) -> Any:
        a, b = np.exp((2 - p) * z), y * np.exp((1 - p) * z)
        return a - b, (2 - p) * a - (1 - p) * b

    def loss_gradient(z: Any, y: Any) -> Any:
        a, b = np.exp((2 - p) * z), y * np.exp((1 - p) * z)
        return a / (2 - p) - b / (1 - p), a - b

    return NumpyOps(lambda z, y: np.mean(value(z, y)), gradient_hessian, loss_gradient)


def _bce_logit_ops() -> NumpyOps:
    def gradient_hessian(z: Any, y: Any) -> Any:
        s = 1.0 / (1.0 + np.exp(-z))
        return s - y, s * (1.0 - s)

    def loss_gradient(z: Any, y: Any) -> Any:
        s = 1.0 / (1.0 + np.exp(-z))
        return np.logaddexp(0.0, z) - y * z, s - y

    return NumpyOps(lambda z, y: np.mean(np.logaddexp(0.0, z) - y * z), gradient_hessian,
                    loss_gradient)


def _bce_probability_ops() -> NumpyOps:
    def value(p: Any, y: Any) -> Any:
        return -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))

    def gradient_hessian(p: Any, y: Any) -> Any:
        q = 1.0 - p
        return (p - y) / (p * q), y / (p * p) + (1.0 - y) / (q * q)

    def loss_gradient(p: Any, y: Any) -> Any:
        return value(p, y), (p - y) / (p * (1.0 - p))

    return NumpyOps(lambda p, y: np.mean(value(p, y)), gradient_hessian, loss_gradient)


def _softmax_ops() -> NumpyOps:
    def log_softmax(z: Any) -> Any:
        shifted = z - z.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def values(z: Any, y: Any) -> Any:
        return -log_softmax(z)[np.arange(z.shape[0]), y]

    def gradient_hessian(z: Any, y: Any) -> Any:
        p = np.exp(log_softmax(z))
        g = p.copy()
        g[np.arange(z.shape[0]), y] -= 1.0
        return g, p * (1.0 - p)

    def loss_gradient(z: Any, y: Any) -> Any:
        log_p = log_softmax(z)
        g = np.exp(log_p)
        g[np.arange(z.shape[0]), y] -= 1.0
        return -log_p[np.arange(z.shape[0]), y], g

    return NumpyOps(lambda z, y: np.mean(values(z, y)), gradient_hessian, loss_gradient)


def _focal_ops() -> NumpyOps:
    """``(1 - p_t)^2 ce`` on logits, derivatives by hand for gamma = 2.

    With ``q = 1 - p_t = y(1 - s) + (1 - y)s``, ``s = sigmoid(z)``: ``q' = (1 - 2y) s(1-s)``,
    ``q'' = q' (1 - 2s)``, ``ce' = s - y``, ``ce'' = s(1 - s)``, and
    ``L'' = 2 q'^2 ce + 2 q q'' ce + 4 q q' ce' + q^2 ce''``.
    """
    if FOCAL_GAMMA != 2.0:
        raise NotImplementedError("the naive focal derivatives are written for gamma = 2")

    def parts(z: Any, y: Any) -> tuple[Any, ...]:
        s = 1.0 / (1.0 + np.exp(-z))
        ce = np.logaddexp(0.0, z) - y * z
        q = y * (1.0 - s) + (1.0 - y) * s
        return s, ce, q

    def value(z: Any, y: Any) -> Any:
        _, ce, q = parts(z, y)
        return q * q * ce

    def gradient(s: Any, ce: Any, q: Any, y: Any) -> tuple[Any, Any]:
        dq = (1.0 - 2.0 * y) * s * (1.0 - s)
        return 2.0 * q * dq * ce + q * q * (s - y), dq

    def gradient_hessian(z: Any, y: Any) -> Any:
        s, ce, q = parts(z, y)
        g, dq = gradient(s, ce, q, y)
        h = (2.0 * dq * dq * ce + 2.0 * q * dq * (1.0 - 2.0 * s) * ce
             + 4.0 * q * dq * (s - y) + q * q * s * (1.0 - s))
        return g, h

    def loss_gradient(z: Any, y: Any) -> Any:
        s, ce, q = parts(z, y)
        return q * q * ce, gradient(s, ce, q, y)[0]

    return NumpyOps(lambda z, y: np.mean(value(z, y)), gradient_hessian, loss_gradient)


def _hinge_ops() -> NumpyOps:
    def gradient_hessian(z: Any, y: Any) -> Any:
        s = 2.0 * y - 1.0
        return np.where(s * z < 1.0, -s, 0.0), np.ones_like(z)

    def loss_gradient(z: Any, y: Any) -> Any:
        s = 2.0 * y - 1.0
        m = s * z
        return np.maximum(0.0, 1.0 - m), np.where(m < 1.0, -s, 0.0)

    return NumpyOps(lambda z, y: np.mean(np.maximum(0.0, 1.0 - (2.0 * y - 1.0) * z)),
                    gradient_hessian, loss_gradient)


CASES: tuple[Case, ...] = (
    Case("squared_error", lk.get("squared_error"), _errors,
         _error_ops(lambda e: e * e, lambda e: 2.0 * e, lambda e: np.full_like(e, 2.0))),
    Case("absolute_error", lk.get("absolute_error"), _errors,
         _error_ops(np.abs, np.sign, _ones)),
    Case("huber", lk.get("huber", delta=DELTA), _errors,
         _error_ops(_huber, lambda e: np.clip(e, -DELTA, DELTA),
                    lambda e: (np.abs(e) <= DELTA).astype(e.dtype))),
    Case("pseudo_huber", lk.get("pseudo_huber", delta=DELTA), _errors,
         _error_ops(lambda e: DELTA**2 * (_pseudo_huber_root(e) - 1.0),
                    lambda e: e / _pseudo_huber_root(e),
                    lambda e: _pseudo_huber_root(e) ** -3)),
    Case("log_cosh", lk.get("log_cosh"), _errors,
         _error_ops(lambda e: np.log(np.cosh(e)), np.tanh, lambda e: 1.0 / np.cosh(e) ** 2)),
    Case("quantile", lk.get("quantile", q=QUANTILE), _errors,
         _error_ops(lambda e: np.maximum(-QUANTILE * e, (1.0 - QUANTILE) * e),
                    lambda e: np.where(e > 0, _like(e, 1.0 - QUANTILE), _like(e, -QUANTILE)),
                    _ones)),
    Case("asymmetric", lk.get("asymmetric", alpha=ALPHA), _errors,
         _error_ops(lambda e: np.where(e < 0, -ALPHA * e, e),
                    lambda e: np.where(e < 0, _like(e, -ALPHA), _like(e, 1.0)), _ones)),
    Case("poisson_log", lk.get("poisson", link="log"), _log_scores("counts"),
         _poisson_ops(), aliases=("poisson",)),
    Case("gamma_log", lk.get("gamma", link="log"), _log_scores("gamma"),
         _gamma_ops(), aliases=("gamma",)),
    Case("tweedie_log", lk.get("tweedie", power=POWER, link="log"), _log_scores("counts"),
         _tweedie_ops(), aliases=("tweedie",)),
    Case("bce_logit", lk.get("binary_cross_entropy", link="logit"), _logits,
         _bce_logit_ops(), aliases=("binary_cross_entropy",)),
    Case("bce_probability", lk.get("binary_cross_entropy"), _probabilities,
         _bce_probability_ops(), aliases=("binary_cross_entropy",)),
    Case("cross_entropy", lk.get("cross_entropy", link="softmax"), _class_logits,
         _softmax_ops(), classes=CLASSES),
    Case("focal_logit", lk.get("focal", gamma=FOCAL_GAMMA, link="logit"), _logits,
         _focal_ops(), aliases=("focal",)),
    Case("hinge", lk.get("hinge"), _margins, _hinge_ops()),
)
