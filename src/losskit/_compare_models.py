"""The models ``compare`` fits: a linear model (``losskit.linear_model``) or boosted trees
(``losskit.integrations``), each wrapped so that the metrics get what they read."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from losskit.core import Loss

__all__ = ["Fitted", "fit_boosted", "fit_linear"]


class Fitted:
    """Raw scores of a fitted model, with what the metrics need derived from them."""

    def __init__(self, raw: Callable[[np.ndarray], np.ndarray], loss: Loss,
                 converged: bool = True) -> None:
        self.raw = raw
        self.loss = loss
        self.converged = converged

    def output(self, X: np.ndarray, kind: str, task: str) -> np.ndarray:
        raw = np.asarray(self.raw(X), dtype=float)
        link = self.loss.link.name
        if task not in ("binary", "multiclass"):
            return np.asarray(self.loss.link.inverse(raw), dtype=float)
        if kind == "label":
            return np.argmax(raw, axis=1) if raw.ndim == 2 else (raw > 0).astype(int)
        if link in ("logit", "softmax"):
            return np.asarray(self.loss.link.inverse(raw), dtype=float)
        if self.loss.name == "exponential":  # its optimum is half the log-odds
            from scipy.special import expit

            return np.asarray(expit(2.0 * raw), dtype=float)
        if kind == "score":
            return raw
        raise ValueError(f"'{self.loss.name}' gives scores, not probabilities; score it with "
                         "accuracy, f1 or roc_auc")


def fit_linear(X: np.ndarray, y: np.ndarray, loss: Loss, options: dict[str, Any]) -> Fitted:
    from losskit.linear_model import fit, raw_score_loss

    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-convergence is reported in the row instead
        result = fit((X - mean) / scale, y, loss, **options)
    return Fitted(lambda Z: result.decision_function((Z - mean) / scale),
                   raw_score_loss(loss), bool(result.converged))


def fit_boosted(model: str, X: np.ndarray, y: np.ndarray, loss: Loss,
                 options: dict[str, Any], task: str) -> Fitted:
    rounds = int(options.get("n_estimators", 100))
    n_classes = int(y.max()) + 1 if task == "multiclass" else 1
    try:
        fit = _fit_xgboost if model == "xgboost" else _fit_lightgbm
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # surrogate-Hessian notes: the row shows the fit
            return fit(X, y, loss, rounds, n_classes)
    except ImportError:
        raise ImportError(f'model="{model}" needs {model}: pip install "losskit[boost]"') \
            from None


#: The Hessian floor (``min_hessian``) for losses whose Hessian vanishes far from the
#: target: a tenth of their curvature at it. Without one, LightGBM with log-cosh on the
#: bundled deliveries data (minutes, 12 to 196) ended 100 rounds at a mean loss of 102
#: from 18 at the start; with 0.01 or 0.1, at 7.3 and 7.4 (XGBoost: 8.1 either way).
VANISHING_HESSIAN_FLOOR = 0.1


def _min_hessian(loss: Loss) -> float:
    """``VANISHING_HESSIAN_FLOOR`` where the gradient is bounded and the Hessian is the
    loss's own (Huber, pseudo-Huber, log-cosh: it tends to 0), else 0."""
    properties = loss.properties
    vanishing = bool(properties.bounded_gradient) and properties.hessian == "exact"
    return VANISHING_HESSIAN_FLOOR if vanishing else 0.0


def _fit_xgboost(X: np.ndarray, y: np.ndarray, loss: Loss, rounds: int,
                 n_classes: int) -> Fitted:
    import xgboost

    from losskit.integrations import xgboost as lk_xgboost

    objective = lk_xgboost.objective(loss, min_hessian=_min_hessian(loss))
    params: dict[str, Any] = {"max_depth": 3, "eta": 0.1, "verbosity": 0, "nthread": 1,
                              "base_score": objective.base_score(y)}
    if n_classes > 1:
        params["num_class"] = n_classes
    booster = xgboost.train(params, xgboost.DMatrix(X, label=y), num_boost_round=rounds,
                            obj=objective)

    def raw(Z: np.ndarray) -> np.ndarray:
        return np.asarray(booster.predict(xgboost.DMatrix(Z), output_margin=True))

    return Fitted(raw, objective.loss)


def _fit_lightgbm(X: np.ndarray, y: np.ndarray, loss: Loss, rounds: int,
                  n_classes: int) -> Fitted:
    import lightgbm

    from losskit.integrations import lightgbm as lk_lightgbm

    objective = lk_lightgbm.objective(loss, min_hessian=_min_hessian(loss))
    params: dict[str, Any] = {"objective": objective, "learning_rate": 0.1, "num_leaves": 15,
                              "verbosity": -1, "num_threads": 1, "min_data_in_leaf": 5}
    if n_classes > 1:
        params["num_class"] = n_classes
    train = lightgbm.Dataset(X, label=y, init_score=objective.init_score(y))
    booster = lightgbm.train(params, train, num_boost_round=rounds,
                             callbacks=[objective.keep_init_score])

    def raw(Z: np.ndarray) -> np.ndarray:
        return np.asarray(booster.predict(Z, raw_score=True))

    return Fitted(raw, objective.loss)
