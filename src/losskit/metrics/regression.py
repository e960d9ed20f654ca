"""Regression metrics: ``mae``, ``mse``, ``rmse``, ``median_ae``, ``r2``, ``pinball@q``,
``poisson_deviance``, ``gamma_deviance``.

Each takes ``(y_true, y_pred)`` as scikit-learn's metrics do (metrics score a fitted
model; losses, which take ``(y_pred, y_true)``, fit it). The formulas follow
``sklearn.metrics`` and ``tests/test_compare.py`` checks them against it.
"""

from __future__ import annotations

import numpy as np

from losskit._params import check_real
from losskit.metrics._metric import Metric, register_factory, register_metric

__all__ = ["gamma_deviance", "mae", "median_ae", "mse", "pinball", "poisson_deviance", "r2",
           "rmse"]


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=float).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=float).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length; got {y_true.size} "
                         f"and {y_pred.size}")
    if y_true.size == 0:
        raise ValueError("y_true is empty")
    return y_true, y_pred


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(p - t)))


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean squared error."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean((p - t) ** 2))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(mse(y_true, y_pred)))


def median_ae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Median absolute error."""
    t, p = _pair(y_true, y_pred)
    return float(np.median(np.abs(p - t)))


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination (1 for a perfect fit, 0 for the mean)."""
    t, p = _pair(y_true, y_pred)
    total = float(np.sum((t - t.mean()) ** 2))
    residual = float(np.sum((t - p) ** 2))
    if total == 0.0:
        return 1.0 if residual == 0.0 else 0.0
    return 1.0 - residual / total


def pinball(y_true: np.ndarray, y_pred: np.ndarray, q: float = 0.5) -> float:
    """Mean pinball loss at level ``q``: q (y - ŷ) if y >= ŷ else (1 - q)(ŷ - y)."""
    q = check_real(q, "q", low=0.0, high=1.0, owner="pinball")
    t, p = _pair(y_true, y_pred)
    error = t - p
    return float(np.mean(np.where(error >= 0, q * error, (q - 1.0) * error)))


def poisson_deviance(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean Poisson deviance 2 (y log(y/ŷ) - y + ŷ); needs ŷ > 0 and y >= 0."""
    t, p = _pair(y_true, y_pred)
    if np.any(p <= 0):
        return float("inf")
    term = np.where(t > 0, t * np.log(np.where(t > 0, t, 1.0) / p), 0.0)
    return float(np.mean(2.0 * (term - t + p)))


def gamma_deviance(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean Gamma deviance 2 (log(ŷ/y) + y/ŷ - 1); needs y > 0 and ŷ > 0."""
    t, p = _pair(y_true, y_pred)
    if np.any(p <= 0):
        return float("inf")
    if np.any(t <= 0):
        raise ValueError("gamma_deviance needs y_true > 0")
    return float(np.mean(2.0 * (np.log(p / t) + t / p - 1.0)))


def _pinball_metric(q: float) -> Metric:
    q = check_real(q, "the level of pinball@q", low=0.0, high=1.0)
    return Metric(f"pinball@{q:g}", lambda t, p: pinball(t, p, q), False, "value",
                  "regression", f"mean pinball loss at level {q:g}")


for _metric in (
    Metric("mae", mae, False, "value", "regression", "mean absolute error"),
    Metric("mse", mse, False, "value", "regression", "mean squared error"),
    Metric("rmse", rmse, False, "value", "regression", "root mean squared error"),
    Metric("median_ae", median_ae, False, "value", "regression", "median absolute error"),
    Metric("r2", r2, True, "value", "regression", "coefficient of determination"),
    Metric("poisson_deviance", poisson_deviance, False, "value", "regression",
           "mean Poisson deviance"),
    Metric("gamma_deviance", gamma_deviance, False, "value", "regression",
           "mean Gamma deviance"),
):
    register_metric(_metric)
register_factory("pinball", _pinball_metric)
