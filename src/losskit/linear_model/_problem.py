r"""The empirical-risk problem of a linear model: data, link, penalty, derivatives.

A linear model predicts raw scores ``eta_i = x_i^T B + b`` (``B`` of shape ``(d,)``,
or ``(d, K)`` for a multiclass loss) that the loss receives through its link. The
objective every solver minimises is

.. math:: F(B, b) = \frac{\sum_i w_i L(\eta_i, y_i)}{\sum_i w_i c_i}
          + \alpha\Big(\rho\,\lVert B\rVert_1 + \frac{1-\rho}{2}\lVert B\rVert_2^2\Big)

with ``c_i`` the loss's own normaliser (1, or a class weight), ``rho = l1_ratio``
and the intercept unpenalised: the loss's weighted ``"mean"`` reduction plus the
elastic-net penalty of scikit-learn's ``ElasticNet`` and glmnet.

The parameters travel as one flat vector ``theta = [vec(B), b]`` (``B`` in C order),
so that the solvers in this package stay free of the model's shapes. The data term
and its derivatives come from a *data source* (in memory here, Dask blocks in
``losskit.linear_model._dask``) with one method, ``stats(coef, intercept, order)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from losskit.core import Loss
from losskit.links import REAL

__all__ = ["DataSource", "DataStats", "LinearProblem", "raw_score_loss"]


def raw_score_loss(loss: Loss, *, owner: str = "lk.fit") -> Loss:
    """``loss`` taking raw scores: its canonical link where it has one.

    A loss given in its natural space (a probability, a positive mean) is rebuilt with
    the link a linear model or a booster needs: softmax for multiclass losses, logit
    for a probability, log for a positive mean. A loss whose natural space is the real
    line, or that already has a link, is returned as it is. ``owner`` names the caller
    in the error for a loss with no such link. The one place this choice is made
    (``lk.fit``, the estimators, ``lk.xgboost`` and ``lk.lightgbm`` use it).
    """
    if loss.link.name != "identity" or loss.y_pred_domain == REAL:
        return loss
    if loss.multiclass:
        link = "softmax"
    elif loss.y_pred_domain.high == 1.0 and loss.y_pred_domain.low == 0.0:
        link = "logit"
    else:
        link = "log"
    if link in loss.links:
        params = loss.get_params()
        params["link"] = link
        return type(loss)(**params)
    raise ValueError(
        f"loss for {owner}: '{loss.name}' takes {loss.y_pred_meaning} in "
        f"{loss.y_pred_domain} and has no raw-score link (its links: {list(loss.links)}); "
        "a linear model or a booster produces unbounded raw scores"
    )


@dataclass
class DataStats:
    """The data term at one point: value, and derivatives with respect to ``B`` and ``b``.

    ``hessian`` is the full Hessian of the data term over ``theta`` (only for
    single-output models, ``order`` 2, or 3 which leaves ``value`` NaN).
    """

    value: float
    grad_coef: np.ndarray | None = None
    grad_intercept: np.ndarray | None = None
    hessian: np.ndarray | None = None


class DataSource(Protocol):
    n_features: int
    n_samples: int

    def stats(self, coef: np.ndarray, intercept: np.ndarray, order: int) -> DataStats: ...


class InMemoryData:
    """NumPy data: the whole design in memory, derivatives by matrix products."""

    def __init__(self, X: np.ndarray, y: np.ndarray, loss: Loss,
                 sample_weight: np.ndarray | None, denominator: float) -> None:
        self.X = X
        self.y = y
        self.loss = loss
        self.sample_weight = sample_weight
        self.denominator = denominator
        self.n_samples, self.n_features = X.shape

    def stats(self, coef: np.ndarray, intercept: np.ndarray, order: int) -> DataStats:
        return block_stats(self.X, self.y, self.sample_weight, self.loss, coef, intercept,
                           order, self.denominator)


def block_stats(X: np.ndarray, y: Any, sample_weight: Any, loss: Loss, coef: np.ndarray,
                intercept: np.ndarray, order: int, denominator: float) -> DataStats:
    """The data term over one block of rows, divided by the whole data's denominator.

    Sums over blocks add up to the whole data's statistics (``losskit.linear_model._dask``).
    """
    eta = X @ coef + intercept
    if order == 0:
        total = float(loss(eta, y, sample_weight, reduction="sum"))
        return DataStats(total / denominator)
    if order == 1:
        values, gradient = loss.loss_gradient(eta, y, sample_weight)
        return DataStats(float(np.sum(values)) / denominator,
                         (X.T @ gradient) / denominator,
                         np.sum(gradient, axis=0) / denominator)
    # order 2: gradient and Hessian; the value too unless the caller has it (order 3).
    value = math.nan
    if order == 2:
        value = float(loss(eta, y, sample_weight, reduction="sum")) / denominator
    gradient, hessian = loss.gradient_hessian(eta, y, sample_weight)
    d = X.shape[1]
    full = np.empty((d + 1, d + 1))
    full[:d, :d] = _weighted_gram(X, hessian)
    full[:d, d] = full[d, :d] = X.T @ hessian
    full[d, d] = np.sum(hessian)
    return DataStats(value, (X.T @ gradient) / denominator,
                     np.atleast_1d(np.sum(gradient, axis=0)) / denominator,
                     full / denominator)


def _weighted_gram(X: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``X^T diag(weight) X``; by BLAS ``syrk`` on ``sqrt(weight) X`` (one triangle, half
    the work of a general product) where no weight is negative."""
    if X.shape[0] < 64 or np.any(weight < 0):
        return X.T @ (X * weight[:, None])
    from scipy.linalg.blas import dsyrk

    scaled = np.multiply(X, np.sqrt(weight)[:, None], order="F")
    upper = dsyrk(1.0, scaled, trans=1, lower=0)
    return np.triu(upper) + np.triu(upper, 1).T


class LinearProblem:
    """The objective ``F(theta)`` of a linear model; see the module docstring."""

    def __init__(self, data: DataSource, loss: Loss, *, n_outputs: int, fit_intercept: bool,
                 alpha: float, l1_ratio: float) -> None:
        self.data = data
        self.loss = loss
        self.n_outputs = n_outputs
        self.multioutput = loss.multiclass
        self.fit_intercept = fit_intercept
        self.alpha = alpha
        self.l1 = alpha * l1_ratio
        self.l2 = alpha * (1.0 - l1_ratio)
        self.n_features = data.n_features
        self.n_coef = self.n_features * n_outputs
        self.size = self.n_coef + (n_outputs if fit_intercept else 0)

    # --------------------------------------------------------------- layout
    def split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        coef = theta[: self.n_coef]
        if self.multioutput:
            coef = coef.reshape(self.n_features, self.n_outputs)
            intercept = (theta[self.n_coef:] if self.fit_intercept
                         else np.zeros(self.n_outputs))
        else:
            intercept = theta[self.n_coef:] if self.fit_intercept else np.zeros(1)
            intercept = intercept.reshape(())
        return coef, intercept

    def join(self, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
        parts = [np.ravel(coef)]
        if self.fit_intercept:
            parts.append(np.ravel(intercept))
        return np.concatenate(parts).astype(np.float64)

    def penalized(self) -> np.ndarray:
        """Boolean mask over ``theta``: True for coefficients, False for intercepts."""
        mask = np.zeros(self.size, dtype=bool)
        mask[: self.n_coef] = True
        return mask

    # ------------------------------------------------------------ objective
    def _gradient_vector(self, stats: DataStats) -> np.ndarray:
        assert stats.grad_coef is not None and stats.grad_intercept is not None
        parts = [np.ravel(stats.grad_coef)]
        if self.fit_intercept:
            parts.append(np.ravel(stats.grad_intercept))
        return np.concatenate(parts)

    def smooth_value(self, theta: np.ndarray) -> float:
        """Data term plus the L2 part of the penalty (the L1 part is a prox)."""
        coef, intercept = self.split(theta)
        value = self.data.stats(coef, intercept, 0).value
        return value + 0.5 * self.l2 * float(np.sum(theta[: self.n_coef] ** 2))

    def smooth_value_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef, intercept = self.split(theta)
        stats = self.data.stats(coef, intercept, 1)
        gradient = self._gradient_vector(stats)
        gradient[: self.n_coef] += self.l2 * theta[: self.n_coef]
        value = stats.value + 0.5 * self.l2 * float(np.sum(theta[: self.n_coef] ** 2))
        return value, gradient

    def smooth_value_gradient_hessian(
        self, theta: np.ndarray, value: float | None = None
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Single-output models: value, gradient and the full Hessian over ``theta``.

        ``value``, the smooth value at ``theta`` when the caller already has it (a line
        search that just evaluated it), saves a pass over the data.
        """
        coef, intercept = self.split(theta)
        stats = self.data.stats(coef, intercept, 2 if value is None else 3)
        assert stats.hessian is not None
        gradient = self._gradient_vector(stats)
        hessian = stats.hessian if self.fit_intercept else stats.hessian[:-1, :-1]
        hessian = np.array(hessian, dtype=np.float64)
        gradient[: self.n_coef] += self.l2 * theta[: self.n_coef]
        hessian[np.arange(self.n_coef), np.arange(self.n_coef)] += self.l2
        if value is None:
            value = stats.value + 0.5 * self.l2 * float(np.sum(theta[: self.n_coef] ** 2))
        return value, gradient, hessian

    def l1_value(self, theta: np.ndarray) -> float:
        return self.l1 * float(np.sum(np.abs(theta[: self.n_coef])))

    def objective(self, theta: np.ndarray) -> float:
        return self.smooth_value(theta) + self.l1_value(theta)

    def prox_l1(self, theta: np.ndarray, step: float) -> np.ndarray:
        """Soft-thresholding of the coefficients (intercepts untouched)."""
        out = theta.copy()
        threshold = step * self.l1
        head = out[: self.n_coef]
        out[: self.n_coef] = np.sign(head) * np.maximum(np.abs(head) - threshold, 0.0)
        return out

    def initial_point(self, intercept: np.ndarray) -> np.ndarray:
        coef = np.zeros((self.n_features, self.n_outputs) if self.multioutput
                        else (self.n_features,))
        return self.join(coef, intercept)


def finite_start(constant: np.ndarray) -> np.ndarray:
    """An optimal constant made finite: ``-inf`` (a log-mean of 0) becomes a large
    negative score, so that a solver can start from it."""
    constant = np.asarray(constant, dtype=np.float64)
    return np.where(np.isfinite(constant), constant,
                    np.sign(constant) * 30.0 if constant.size else constant)


def gradient_norm(gradient: np.ndarray) -> float:
    return float(np.max(np.abs(gradient))) if gradient.size else 0.0


EPS = float(np.finfo(np.float64).eps)
SQRT_EPS = math.sqrt(EPS)
