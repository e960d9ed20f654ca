r"""XGBoost objectives and metrics from any losskit loss.

>>> import numpy as np, xgboost as xgb
>>> import losskit as lk
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(300, 3))
>>> y = rng.poisson(np.exp(X[:, 0]))
>>> objective = lk.xgboost.objective("poisson")      # Poisson on log-means
>>> objective
lk.xgboost.objective(Poisson(link='log'))
>>> round(objective.base_score(y), 4) == round(float(np.log(y.mean())), 4)
True
>>> params = {"base_score": objective.base_score(y), "max_depth": 3, "nthread": 1}
>>> booster = xgb.train(params, xgb.DMatrix(X, label=y), 30, obj=objective,
...                     custom_metric=lk.xgboost.metric(objective))
>>> margin = booster.predict(xgb.DMatrix(X), output_margin=True)
>>> mean = objective.link.inverse(margin)                 # back to means
>>> start = np.full(len(y), objective.base_score(y))   # the best constant
>>> bool(objective.loss(margin, y) < 0.8 * objective.loss(start, y))
True
>>> bool(np.all(mean > 0))
True

The same objects serve the scikit-learn API::

    model = xgb.XGBRegressor(objective=objective, base_score=objective.base_score(y),
                             eval_metric=lk.xgboost.metric(objective))

**Raw scores.** With a custom objective XGBoost hands the objective and the metric raw
margins, and ``Booster.predict`` returns them only with ``output_margin=True`` (its
default transform belongs to the built-in objective named in the parameters).
``objective.link.inverse`` maps margins to the loss's natural space (probabilities,
means). ``XGBClassifier`` is the exception: with a callable objective it runs
``binary:logistic`` / ``multi:softprob`` underneath, so ``predict_proba`` applies the
sigmoid / softmax, and a binary ``base_score`` is read as a probability: pass
``objective.base_score(y, space="natural")`` there (binary cross-entropy on logits);
``multi:softprob`` reads it as raw margins (``space="raw"``, the default).

**Starting score.** With a custom objective XGBoost starts from ``base_score = 0.5``
(it estimates nothing, xgboost #9840): a wrong start for most losses. ``objective.base_score(y)`` is
``optimal_constant`` in link space (a list of ``K`` values for multiclass); it is
stored in the model.

**Scale.** losskit's ``squared_error`` is ``e^2``: its gradient and Hessian are twice
``reg:squarederror``'s, so the Newton steps agree but ``reg_lambda``,
``min_child_weight`` and ``gamma`` must be doubled for the same model;
``0.5 * lk.get("squared_error")`` is ``reg:squarederror`` exactly. XGBoost's
``multi:softprob`` uses the Hessian ``2 p (1 - p)`` where losskit's cross-entropy gives
the exact diagonal ``p (1 - p)``: the same model needs ``learning_rate``,
``reg_lambda`` and ``min_child_weight`` halved. ``count:poisson`` inflates its Hessian
by ``exp(max_delta_step)`` (0.7 by default); ``max_delta_step=0`` is losskit's Poisson.

**Non-smooth losses** (absolute error, quantile, asymmetric, hinge) have a zero or
undefined second derivative; the objective uses the loss's positive surrogate (1 per
sample, times its weight) and warns (``SurrogateHessianWarning``). XGBoost's own
``reg:absoluteerror`` / ``reg:quantileerror`` then re-fit each leaf to a quantile of its
residuals; XGBoost has no public hook for that with a custom objective.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losskit.integrations._common import (
    BoostingLoss,
    BoostingMetric,
    mean_loss,
    multiclass_scores,
    weights_or_none,
)

try:
    import xgboost as _xgb
except ImportError as error:  # pragma: no cover - exercised without the extra
    raise ImportError("lk.xgboost needs XGBoost: pip install 'losskit[boost]' "
                      "(or xgboost-cpu)") from error

__all__ = ["Metric", "Objective", "metric", "objective"]


class Objective(BoostingLoss):
    """A losskit loss as an XGBoost objective; see ``objective``."""

    library = "xgboost"

    def __call__(self, first: Any, second: Any,
                 sample_weight: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """``(gradient, hessian)``: native ``obj(predt, dtrain)`` or scikit-learn
        ``objective(y_true, y_pred, sample_weight=None)``."""
        if isinstance(second, _xgb.DMatrix):
            y_pred, y_true = first, second.get_label()
            weight = weights_or_none(second.get_weight())
        else:
            y_true, y_pred, weight = first, second, weights_or_none(sample_weight)
        y_pred = multiclass_scores(self.loss, np.asarray(y_pred), len(y_true))
        return self.gradient_hessian(y_pred, y_true, weight)

    def base_score(self, y_true: Any, sample_weight: Any = None, *,
                   space: str = "raw") -> float | list[float]:
        """``base_score`` for XGBoost: the best constant raw score (``space="raw"``).

        ``space="natural"`` gives it through the inverse link (a probability, a mean):
        what ``XGBClassifier`` and the built-in objectives read.
        """
        if space not in ("raw", "natural"):
            raise ValueError(f"space must be 'raw' or 'natural'; got {space!r}")
        score = self.starting_score(y_true, sample_weight)
        if space == "natural":
            score = np.asarray(self.loss.link.inverse(score), dtype=np.float64)
        return float(score) if score.ndim == 0 else [float(s) for s in score]


class Metric(BoostingMetric):
    """The weighted mean of a losskit loss as an XGBoost evaluation metric."""

    library = "xgboost"

    def __call__(self, first: Any, second: Any, sample_weight: Any = None) -> Any:
        """Native ``custom_metric(predt, dmatrix) -> (name, value)``, or scikit-learn
        ``eval_metric(y_true, y_pred, sample_weight=None) -> value``."""
        if isinstance(second, _xgb.DMatrix):
            y_pred, y_true = first, second.get_label()
            weight = weights_or_none(second.get_weight())
            y_pred = multiclass_scores(self.loss, np.asarray(y_pred), len(y_true))
            return self.__name__, mean_loss(self.loss, y_pred, y_true, weight)
        y_pred = multiclass_scores(self.loss, np.asarray(second), len(first))
        return mean_loss(self.loss, y_pred, first, weights_or_none(sample_weight))


def objective(loss: Any, *, hessian: str = "loss", min_hessian: float = 0.0) -> Objective:
    """An XGBoost objective from ``loss`` (a ``Loss`` or a registered name).

    The loss takes raw margins through its canonical link (logit, softmax, log; see
    ``losskit.integrations``). The returned callable serves ``xgb.train(obj=...)`` and
    the scikit-learn estimators (``XGBRegressor(objective=...)``); it applies sample
    weights, gives ``(n, K)`` gradients for a multiclass loss, and has
    ``base_score(y)`` for the starting score and ``link`` for predictions.
    ``hessian="unit"`` replaces the Hessian by the sample weights.
    ``min_hessian=m`` keeps each Hessian at least ``m`` times its sample weight: a loss
    whose Hessian vanishes far from the target (log-cosh, pseudo-Huber) then takes
    leaf steps of at most ``max |g| / m`` instead of diverging.
    """
    return Objective(loss, hessian=hessian, min_hessian=min_hessian)


def metric(loss: Any, *, raw_scores: bool = True) -> Metric:
    """An XGBoost evaluation metric: the weighted mean of ``loss``.

    ``raw_scores=True`` (with a custom objective XGBoost passes margins); with a
    built-in objective XGBoost passes transformed predictions: ``raw_scores=False``.
    Lower is better.
    """
    return Metric(loss, raw_scores=raw_scores)
