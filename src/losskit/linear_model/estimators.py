"""scikit-learn estimators over ``lk.fit``: ``LossRegressor`` and ``LossClassifier``.

Both take a loss by name, as a loss object or as a custom loss, and the penalty and
solver options of :func:`losskit.linear_model`; they work in pipelines, grid searches and
cross-validation like any scikit-learn estimator (``tests/test_estimators.py`` runs
``parametrize_with_checks`` on them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from losskit.core import Loss
from losskit.linear_model import FitResult, fit
from losskit.linear_model._problem import raw_score_loss

__all__ = ["LossClassifier", "LossRegressor"]

#: The multiclass counterpart of a binary loss, for data with more than two classes.
MULTICLASS_TWIN = {
    "binary_cross_entropy": ("cross_entropy", {}),
    "hinge": ("multiclass_hinge", {}),
    "focal": ("focal", {"link": "softmax"}),
}


class _LossEstimator(BaseEstimator):
    def __init__(self, loss: str | Loss = "squared_error", *, penalty: str | None = None,
                 alpha: float = 0.0, l1_ratio: float = 0.5, fit_intercept: bool = True,
                 solver: str = "auto", tol: float | None = None,
                 max_iter: int | None = None) -> None:
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter

    def _resolve_loss(self) -> Loss:
        from losskit.registry import get

        if isinstance(self.loss, Loss):
            return self.loss
        if isinstance(self.loss, str):
            return get(self.loss)
        raise TypeError("loss must be a registered name (lk.list_losses()) or a Loss "
                        f"object such as lk.custom(...); got {type(self.loss).__name__}")

    def _fit(self, X: Any, y: np.ndarray, loss: Loss, sample_weight: Any) -> FitResult:
        result = fit(X, y, loss, penalty=self.penalty, alpha=self.alpha,
                     l1_ratio=self.l1_ratio, fit_intercept=self.fit_intercept,
                     sample_weight=sample_weight, solver=self.solver, tol=self.tol,
                     max_iter=self.max_iter)
        self.result_ = result
        self.loss_ = result.loss
        self.n_iter_ = result.n_iter
        return result


class LossRegressor(RegressorMixin, _LossEstimator):
    """A linear (or generalised linear) regressor minimising any loss.

    ``predict`` returns the loss's natural-space prediction: the inverse link of the
    linear score (the mean for Poisson, Gamma and Tweedie with their log link).

    >>> import numpy as np, losskit as lk
    >>> X = np.arange(10.0)[:, None]
    >>> y = 2 * X[:, 0] + 1
    >>> y[9] = 100.0                                   # one outlier on the line y = 2x + 1
    >>> for loss in ("squared_error", "huber", "absolute_error"):
    ...     print(loss, np.round(lk.LossRegressor(loss).fit(X, y).coef_, 4))
    squared_error [6.4182]
    huber [2.0833]
    absolute_error [2.]
    """

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LossRegressor:
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        sample_weight = (None if sample_weight is None
                         else _check_sample_weight(sample_weight, X, dtype=np.float64))
        result = self._fit(X, y, self._resolve_loss(), sample_weight)
        self.coef_ = result.coef
        self.intercept_ = result.intercept
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.result_.predict(X)


def _has_probabilities(estimator: LossClassifier) -> bool:
    check_is_fitted(estimator)
    return estimator.loss_.link.name in ("logit", "softmax")


class LossClassifier(ClassifierMixin, _LossEstimator):
    """A linear classifier minimising any classification loss, binary or multiclass.

    ``loss`` is a binary loss (``"binary_cross_entropy"``, ``"focal"``, ``"hinge"``,
    ...) or a multiclass one (``"cross_entropy"``, ``"multiclass_hinge"``); with
    more than two classes a binary loss is replaced by its multiclass counterpart
    (cross-entropy, focal with softmax, multiclass hinge). ``class_weight``
    (``"balanced"`` or a dict) multiplies the sample weights, as in scikit-learn.
    ``predict_proba`` exists for losses on logits or softmax scores.
    """

    def __init__(self, loss: str | Loss = "binary_cross_entropy", *,
                 penalty: str | None = "l2", alpha: float = 1e-4, l1_ratio: float = 0.5,
                 fit_intercept: bool = True, class_weight: Any = None, solver: str = "auto",
                 tol: float | None = None, max_iter: int | None = None) -> None:
        super().__init__(loss, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio,
                         fit_intercept=fit_intercept, solver=solver, tol=tol,
                         max_iter=max_iter)
        self.class_weight = class_weight

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LossClassifier:
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        codes = encoder.transform(y).astype(np.float64)
        weight = (np.ones(X.shape[0]) if sample_weight is None
                  else _check_sample_weight(sample_weight, X, dtype=np.float64))
        present = np.unique(codes[weight > 0])
        if present.size < 2:
            among = "" if np.all(weight > 0) else " among the samples of positive weight"
            shown = self.classes_[int(present[0])] if present.size else None
            raise ValueError(f"y holds one class ({shown}){among}; a classifier needs at "
                             "least two")
        if self.class_weight is not None:
            weight = weight * compute_sample_weight(self.class_weight, y)
        loss = self._classification_loss(self.classes_.size)
        result = self._fit(X, codes, loss, weight)
        self.coef_ = result.coef
        self.intercept_ = result.intercept
        return self

    def _classification_loss(self, n_classes: int) -> Loss:
        loss = self._resolve_loss()
        if n_classes > 2 and not loss.multiclass:
            if loss.name not in MULTICLASS_TWIN:
                raise ValueError(f"loss '{loss.name}' is binary and y holds {n_classes} "
                                 "classes; use a multiclass loss (cross_entropy, "
                                 "multiclass_hinge, focal)")
            name, params = MULTICLASS_TWIN[loss.name]
            keep = {k: v for k, v in loss.get_params().items() if k not in ("link", "pos_weight")}
            from losskit.registry import get

            try:
                loss = get(name, **{**keep, **params})
            except (TypeError, ValueError):
                loss = get(name, **params)
        return raw_score_loss(loss)

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw scores: ``(n,)`` for the positive class (binary), ``(n, K)`` otherwise."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.result_.decision_function(X)

    def predict(self, X: Any) -> np.ndarray:
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    @available_if(_has_probabilities)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        scores = self.decision_function(X)
        probabilities = np.asarray(self.loss_.link.inverse(scores))
        if probabilities.ndim == 1:
            return np.column_stack([1.0 - probabilities, probabilities])
        return probabilities

    @available_if(_has_probabilities)
    def predict_log_proba(self, X: Any) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))
