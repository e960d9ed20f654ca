"""Empirical risk of a linear model under a loss, for the convergence check and alignment.

``y_pred = map(X W + b)``: the map is the identity where the loss takes real inputs
(raw scores, a link's raw space, real predictions) and otherwise carries the real line
into the loss's input domain (``expit`` onto probabilities, ``softmax`` onto the
simplex, ``exp`` onto positive means), so the minimisation is unconstrained.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losskit.analysis._probes import Space, quiet
from losskit.core import Loss

__all__ = ["LinearRisk"]


class LinearRisk:
    """The mean loss of ``map(X W + b)`` as a function of the flat parameters ``theta``.

    ``X=None`` gives the free model: one parameter per prediction entry.
    """

    def __init__(self, loss: Loss, X: np.ndarray | None, y: np.ndarray, space: Space) -> None:
        self.loss = loss
        self.y = y
        self.space = space
        self.multiclass = bool(loss.multiclass)
        self.n = int(y.shape[0])
        self.k = 0
        self.X = None if X is None else np.asarray(X, dtype=np.float64)
        self.map = _map_name(space, self.multiclass)

    def shape(self, n_classes: int) -> tuple[int, ...]:
        self.k = n_classes
        outputs = n_classes if self.multiclass else 1
        if self.X is None:
            return (self.n, outputs) if self.multiclass else (self.n,)
        return (self.X.shape[1] + 1, outputs)

    def size(self, n_classes: int) -> int:
        return int(np.prod(self.shape(n_classes)))

    def scores(self, theta: np.ndarray) -> np.ndarray:
        """The real linear predictor ``eta``: ``(n,)`` or ``(n, K)``."""
        theta = np.asarray(theta, dtype=np.float64)
        if self.X is None:
            return theta.reshape((self.n, self.k) if self.multiclass else (self.n,))
        weights = theta.reshape(self.X.shape[1] + 1, -1)
        eta = self.X @ weights[:-1] + weights[-1]
        return eta if self.multiclass else eta[:, 0]

    def predictions(self, theta: np.ndarray) -> np.ndarray:
        return self._forward(self.scores(theta))[0]

    def _forward(self, eta: np.ndarray) -> tuple[np.ndarray, Any]:
        space = self.space
        with quiet():
            if self.map == "identity":
                return eta, None
            if self.map == "softmax":
                shifted = eta - np.max(eta, axis=-1, keepdims=True)
                e = np.exp(shifted)
                p = e / np.sum(e, axis=-1, keepdims=True)
                return p, p
            if self.map == "expit":
                s = 0.5 * (1.0 + np.tanh(0.5 * eta))
                return space.low + space.span * s, space.span * s * (1.0 - s)
            e = np.exp(eta)
            if self.map == "exp":
                return space.low + e, e
            return space.high - e, -e

    def objective(self, theta: np.ndarray) -> float:
        pred = self.predictions(theta)
        with quiet():
            return float(np.sum(np.asarray(self.loss.elementwise(pred, self.y))) / self.n)

    def value_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = self.scores(theta)
        pred, derivative = self._forward(eta)
        with quiet():
            values, gradient = self.loss.loss_gradient(pred, self.y)
        values = np.asarray(values, dtype=np.float64)
        gradient = np.asarray(gradient, dtype=np.float64)
        if self.map == "softmax":  # J^T g for softmax: p (g - <p, g>)
            gradient = derivative * (gradient - np.sum(derivative * gradient, axis=-1,
                                                       keepdims=True))
        elif derivative is not None:
            gradient = gradient * derivative
        value = float(np.sum(values) / self.n)
        gradient = gradient / self.n
        if self.X is None:
            return value, gradient.ravel()
        g = gradient if self.multiclass else gradient[:, None]
        return value, np.vstack([self.X.T @ g, np.sum(g, axis=0, keepdims=True)]).ravel()

    def twin_link(self) -> str | None:
        """The link under which the loss itself sees ``eta`` (None: the identity map)."""
        return {"identity": None, "softmax": "softmax", "expit": "logit", "exp": "log"}.get(
            self.map)


def _map_name(space: Space, multiclass: bool) -> str:
    if space.kind == "real":
        return "identity"
    if space.kind == "bounded":
        return "softmax" if multiclass and space.low == 0.0 and space.high == 1.0 else "expit"
    return "exp" if space.kind == "lower" else "exp_upper"
