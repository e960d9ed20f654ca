r"""LightGBM objectives and metrics from any losskit loss.

>>> import numpy as np, lightgbm as lgb
>>> import losskit as lk
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(300, 3))
>>> y = rng.poisson(np.exp(X[:, 0])).astype(float)
>>> objective = lk.lightgbm.objective("poisson")     # Poisson on log-means
>>> train = lgb.Dataset(X, y, init_score=objective.init_score(y))
>>> params = {"objective": objective, "metric": "None", "num_leaves": 7,
...           "num_threads": 1, "verbose": -1}
>>> booster = lgb.train(params, train, 30, callbacks=[objective.keep_init_score])
>>> mean = objective.link.inverse(booster.predict(X, raw_score=True))
>>> raw = booster.predict(X, raw_score=True)            # includes the start
>>> start = objective.init_score(y)
>>> bool(objective.loss(raw, y) < 0.8 * objective.loss(start, y))
True
>>> bool(np.all(mean > 0))
True

The same objects serve the scikit-learn API::

    model = lgb.LGBMRegressor(objective=objective)
    model.fit(X, y, init_score=objective.init_score(y), eval_metric=lk.lightgbm.metric(objective),
              callbacks=[objective.keep_init_score])

**Starting score.** With a custom objective LightGBM does not ``boost_from_average``
(LightGBM #7193) and a Dataset's ``init_score`` is used in training but not stored in
the model, so ``predict`` silently drops it. ``objective.init_score(y)`` is the best
constant raw score (``optimal_constant`` in link space) for every row;
``objective.keep_init_score`` (a callback) adds that constant to the leaves of the
first iteration's trees, as LightGBM's own ``boost_from_average`` does, so the saved
model predicts it. Give each validation Dataset ``init_score=objective.init_score(y,
n_rows=len(X_valid))`` so that its scores during training include it too.

**Raw scores.** LightGBM hands a custom objective and metric raw scores (``(n, K)`` for
multiclass), and ``predict`` returns raw scores with a custom objective
(``LGBMClassifier.predict_proba`` too, with a warning); ``objective.link.inverse``
maps them to probabilities or means.

**Scale.** losskit's ``squared_error`` is ``e^2`` (gradient ``2e``, Hessian 2), LightGBM's
``regression`` is ``½e^2``: the same model needs ``lambda_l2``, ``min_sum_hessian_in_leaf``
and ``min_gain_to_split`` doubled; ``0.5 * lk.get("squared_error")`` is ``regression``.
LightGBM's ``multiclass`` scales the Hessian by ``K / (K - 1)``, its ``poisson`` by
``exp(poisson_max_delta_step)``, and its ``huber`` and ``quantile`` use Hessian 1
(``hessian="unit"`` here); ``quantile`` also re-fits each leaf to a quantile of its
residuals, which a custom objective cannot do through LightGBM's API.
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
    import lightgbm as _lgb
except ImportError as error:  # pragma: no cover - exercised without the extra
    raise ImportError("lk.lightgbm needs LightGBM: pip install 'losskit[boost]'") from error

__all__ = ["Metric", "Objective", "metric", "objective"]


def _float64(array: Any) -> Any:
    """LightGBM stores labels and weights as float32; its scores are float64."""
    if array is None:
        return None
    array = np.asarray(array)
    return array if array.dtype == np.float64 else array.astype(np.float64)


def _label_weight(dataset: Any) -> tuple[Any, Any]:
    return dataset.get_label(), dataset.get_weight()


class Objective(BoostingLoss):
    """A losskit loss as a LightGBM objective; see ``objective``."""

    library = "lightgbm"

    def __call__(self, first: Any, second: Any,
                 sample_weight: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """``(gradient, hessian)``: native ``objective(preds, train_data)`` or
        scikit-learn ``objective(y_true, y_pred, weight)``."""
        if isinstance(second, _lgb.Dataset):
            y_pred, (y_true, weight) = first, _label_weight(second)
        else:
            y_true, y_pred, weight = first, second, sample_weight
        y_pred = multiclass_scores(self.loss, np.asarray(y_pred, dtype=np.float64),
                                   len(y_true))
        # Scores are float64: labels and weights in float64 keep the fused kernels on.
        return self.gradient_hessian(y_pred, _float64(y_true),
                                     _float64(weights_or_none(weight)))

    def init_score(self, y_true: Any, sample_weight: Any = None, *,
                   n_rows: int | None = None) -> np.ndarray:
        """The best constant raw score for each of ``n_rows`` rows (default ``len(y_true)``).

        ``(n,)``, or ``(n, K)`` for a multiclass loss: a Dataset's ``init_score``.
        """
        score = self.starting_score(y_true, sample_weight)
        rows = len(y_true) if n_rows is None else int(n_rows)
        if rows < 1:
            raise ValueError(f"n_rows must be >= 1; got {n_rows!r}")
        return np.tile(score, (rows, 1)) if score.ndim else np.full(rows, float(score))

    def keep_init_score(self, env: Any) -> None:
        """Callback: fold the training set's constant ``init_score`` into the model.

        After the first iteration, adds each class's starting score to every leaf of
        that iteration's tree, so that ``predict`` includes it (LightGBM's own
        ``boost_from_average`` does the same). Training scores already include it
        through ``init_score``. Does nothing when the training set has no
        ``init_score``; raises when it is not one constant per class.
        """
        if env.iteration != 0 or env.begin_iteration != 0:
            return
        boosters = getattr(env.model, "boosters", None) or [env.model]
        for booster in boosters:
            _fold_constant(booster, self.loss.name)


def _fold_constant(booster: Any, name: str) -> None:
    init = booster.train_set.get_init_score() if booster.train_set is not None else None
    if init is None:
        return
    init = np.asarray(init, dtype=np.float64)
    rows = booster.train_set.num_data()
    columns = init.reshape(-1, rows).T if init.ndim == 1 else init.reshape(rows, -1)
    constant = columns[0]
    if not np.all(columns == constant):
        raise ValueError(f"keep_init_score for '{name}': the training set's init_score is "
                         "not one constant per class (use objective.init_score(y)); a "
                         "per-row init_score cannot be stored in the model")
    trees = booster.dump_model(start_iteration=0, num_iteration=1)["tree_info"]
    if len(trees) != constant.size:
        raise ValueError(f"keep_init_score for '{name}': init_score has {constant.size} "
                         f"columns but an iteration has {len(trees)} trees")
    for tree_index, (tree, offset) in enumerate(zip(trees, constant, strict=True)):
        for leaf in range(int(tree["num_leaves"])):
            value = booster.get_leaf_output(tree_index, leaf)
            booster.set_leaf_output(tree_index, leaf, value + float(offset))


class Metric(BoostingMetric):
    """The weighted mean of a losskit loss as a LightGBM evaluation metric."""

    library = "lightgbm"

    def __call__(self, first: Any, second: Any,
                 sample_weight: Any = None) -> tuple[str, float, bool]:
        """``(name, value, is_higher_better)``: native ``feval(preds, eval_data)`` or
        scikit-learn ``eval_metric(y_true, y_pred, weight)``."""
        if isinstance(second, _lgb.Dataset):
            y_pred, (y_true, weight) = first, _label_weight(second)
        else:
            y_true, y_pred, weight = first, second, sample_weight
        y_pred = multiclass_scores(self.loss, np.asarray(y_pred, dtype=np.float64),
                                   len(y_true))
        value = mean_loss(self.loss, y_pred, _float64(y_true), _float64(weights_or_none(weight)))
        return self.__name__, value, False


def objective(loss: Any, *, hessian: str = "loss", min_hessian: float = 0.0) -> Objective:
    """A LightGBM objective from ``loss`` (a ``Loss`` or a registered name).

    The loss takes raw scores through its canonical link (logit, softmax, log). The
    returned callable serves ``lgb.train(params={"objective": ...})`` and the
    scikit-learn estimators (``LGBMRegressor(objective=...)``); it applies sample
    weights and takes and gives ``(n, K)`` arrays for a multiclass loss. Use
    ``init_score(y)`` and the ``keep_init_score`` callback for the starting score,
    and ``link`` for predictions. ``hessian="unit"`` replaces the Hessian by the
    sample weights (LightGBM's huber and quantile).
    ``min_hessian=m`` keeps each Hessian at least ``m`` times its sample weight: a loss
    whose Hessian vanishes far from the target (log-cosh, pseudo-Huber) then takes
    leaf steps of at most ``max |g| / m`` instead of diverging.
    """
    return Objective(loss, hessian=hessian, min_hessian=min_hessian)


def metric(loss: Any, *, raw_scores: bool = True) -> Metric:
    """A LightGBM evaluation metric: the weighted mean of ``loss``; lower is better.

    ``raw_scores=True`` with a custom objective (LightGBM passes raw scores); with a
    built-in objective LightGBM passes transformed predictions: ``raw_scores=False``.
    """
    return Metric(loss, raw_scores=raw_scores)
