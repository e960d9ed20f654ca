r"""Does minimising a loss improve a metric? ``alignment(loss, metric)``.

Two rankings of predictors are compared by Spearman's rank correlation:

- a family of candidate predictors between the best constant (the loss's
  ``optimal_constant``) and the true signal: interpolations, and the truth with noise;
- the iterates of a minimisation of the loss (L-BFGS), from the constant onwards.

The correlation is oriented so that ``+1`` means the loss ranks the predictors exactly
as the metric does (lower loss, better metric) and ``-1`` the reverse. The metric sees
natural-space predictions: means, probabilities (scores through ``expit`` or
``softmax``), and hard labels for ``"accuracy"`` and ``"f1"``.

>>> import losskit as lk
>>> from losskit.analysis import alignment
>>> result = alignment(lk.get("mse"), "mae")
>>> result.spearman > 0.9
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from losskit.analysis._erm import LinearRisk
from losskit.analysis._probes import Probe, Space, input_domain, quiet, single_threaded
from losskit.analysis._rank_alignment import is_ranking_metric, ranking_alignment
from losskit.core import Loss

__all__ = ["METRICS", "AlignmentResult", "alignment", "is_ranking_metric"]

Metric = Callable[[np.ndarray, np.ndarray], float]


# ------------------------------------------------------------------ metrics
def _labels(y: np.ndarray, k: int) -> np.ndarray:
    """Class labels of targets: indices, argmax of rows, or ``y == 1`` for binary."""
    if k:
        return np.argmax(y, axis=-1) if y.ndim > 1 else y.astype(int)
    return (y == 1).astype(int)


def _probabilities(prediction: np.ndarray, k: int, probability: bool) -> np.ndarray:
    if probability:
        return np.clip(prediction, 0.0, 1.0)
    with quiet():
        if k:
            shifted = prediction - np.max(prediction, axis=-1, keepdims=True)
            e = np.exp(shifted)
            return e / np.sum(e, axis=-1, keepdims=True)
        return 0.5 * (1.0 + np.tanh(0.5 * prediction))


class _MetricInput:
    """What a built-in metric needs: targets, natural predictions and their meaning."""

    def __init__(self, y: np.ndarray, prediction: np.ndarray, k: int, probability: bool) -> None:
        self.y, self.prediction, self.k, self.probability = y, prediction, k, probability

    def predicted_labels(self) -> np.ndarray:
        if self.k:
            return np.argmax(self.prediction, axis=-1)
        threshold = 0.5 if self.probability else 0.0
        return (self.prediction > threshold).astype(int)


def _regression_pair(m: _MetricInput) -> tuple[np.ndarray, np.ndarray]:
    """Targets and predictions to subtract: one-hot rows and probabilities (multiclass)."""
    if not m.k:
        return m.y, m.prediction
    rows = m.y if m.y.ndim > 1 else np.eye(m.k)[m.y.astype(int)]
    return rows, _probabilities(m.prediction, m.k, m.probability)


def _mae(m: _MetricInput) -> float:
    y, p = _regression_pair(m)
    return float(np.mean(np.abs(y - p)))


def _mse(m: _MetricInput) -> float:  # the Brier score for multiclass
    y, p = _regression_pair(m)
    return float(np.mean((y - p) ** 2))


def _accuracy(m: _MetricInput) -> float:
    return float(np.mean(m.predicted_labels() == _labels(m.y, m.k)))


def _f1(m: _MetricInput) -> float:
    truth, predicted = _labels(m.y, m.k), m.predicted_labels()
    classes = range(m.k) if m.k else [1]
    scores = []
    for c in classes:
        tp = float(np.sum((predicted == c) & (truth == c)))
        fp = float(np.sum((predicted == c) & (truth != c)))
        fn = float(np.sum((predicted != c) & (truth == c)))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0)
    return float(np.mean(scores))  # macro-F1 for multiclass


def _log_loss(m: _MetricInput) -> float:
    p = np.clip(_probabilities(m.prediction, m.k, m.probability), 1e-15, 1 - 1e-15)
    if m.k:
        rows = m.y if m.y.ndim > 1 else np.eye(m.k)[m.y.astype(int)]
        return float(-np.mean(np.sum(rows * np.log(p), axis=-1)))
    truth = _labels(m.y, 0) if np.all(np.isin(m.y, (-1, 0, 1))) else m.y
    return float(-np.mean(truth * np.log(p) + (1 - truth) * np.log1p(-p)))


#: Built-in metrics: name -> (function, greater is better).
METRICS: dict[str, tuple[Callable[[_MetricInput], float], bool]] = {
    "mae": (_mae, False),
    "mse": (_mse, False),
    "accuracy": (_accuracy, True),
    "f1": (_f1, True),
    "log_loss": (_log_loss, False),
}


# ------------------------------------------------------------------ result
@dataclass
class AlignmentResult:
    """Rank agreement between a loss and a metric (``+1``: perfectly aligned).

    ``table`` holds one row per candidate predictor (``candidate``, ``loss``,
    ``metric``) and ``path`` one per iterate of the minimisation.
    """

    loss: str
    metric: str
    greater_is_better: bool
    spearman: float
    path_spearman: float
    table: list[dict[str, Any]] = field(default_factory=list)
    path: list[dict[str, Any]] = field(default_factory=list)

    @property
    def aligned(self) -> bool:
        return self.spearman > 0 and self.path_spearman > 0

    def to_dict(self) -> dict[str, Any]:
        return {"loss": self.loss, "metric": self.metric,
                "greater_is_better": self.greater_is_better, "spearman": self.spearman,
                "path_spearman": self.path_spearman, "table": self.table, "path": self.path}

    def __str__(self) -> str:
        better = "higher" if self.greater_is_better else "lower"
        lines = [f"alignment of {self.loss} with {self.metric} ({better} is better): "
                 f"Spearman {self.spearman:+.3f} over {len(self.table)} candidates, "
                 f"{self.path_spearman:+.3f} along {len(self.path)} iterates",
                 f"  {'candidate':<24} {'loss':>12} {self.metric:>12}"]
        for row in self.table:
            lines.append(f"  {row['candidate']:<24} {row['loss']:>12.6g} {row['metric']:>12.6g}")
        return "\n".join(lines)


# --------------------------------------------------------------- alignment
def alignment(
    loss: Loss | str,
    metric: str | Metric,
    *,
    X: np.ndarray | None = None,
    y: np.ndarray | None = None,
    candidates: int = 21,
    seed: int = 0,
    greater_is_better: bool | None = None,
) -> AlignmentResult:
    """Spearman agreement between ``loss`` and ``metric`` over candidate predictors.

    Parameters
    ----------
    loss : Loss or str
    metric : str or callable
        ``"mae"``, ``"mse"``, ``"accuracy"``, ``"f1"``, ``"log_loss"``, or
        ``metric(y_true, y_pred)`` on natural-space predictions (lower is better unless
        ``greater_is_better=True``). Ranking losses take ``"ndcg"``, ``"ndcg@k"``,
        ``"map"``, ``"mrr"`` or ``metric(y_true, y_score)`` on ``(n_lists, list_size)``
        arrays, and are fitted as linear scorers of item features ``X`` of shape
        ``(n_lists, list_size, n_features)`` (a toy problem when ``X`` and ``y`` are
        None; see ``losskit.analysis._rank_alignment``).
    X : array of shape (n, d), optional
        Features: candidates are then linear models ``alpha w*`` between the constant
        and the loss's own fit ``w*``, and that fit with perturbed weights; the path is
        the fit's iterates. Without ``X`` the predictions themselves are the parameters.
    y : array, optional
        Targets (``loss.example(200)``'s by default).
    candidates : int, default 21
        Number of candidate predictors (at least 4).
    seed : int, default 0
    greater_is_better : bool, optional
        For a callable metric (built-in names know their direction).
    """
    if isinstance(loss, str):
        from losskit.registry import get

        loss = get(loss)
    with single_threaded():
        if not loss.pointwise:
            if not _is_ranking(loss):
                raise TypeError(f"alignment is defined for pointwise and ranking losses; "
                                f"'{loss.name}' is another structured loss")
            return ranking_alignment(loss, metric, X, y, int(candidates), seed,
                                     greater_is_better)
        return _alignment(loss, metric, X, y, int(candidates), seed, greater_is_better)


def _is_ranking(loss: Loss) -> bool:
    from losskit.losses.ranking import _Ranking

    return isinstance(loss, _Ranking)


def _alignment(loss: Loss, metric: str | Metric, X: np.ndarray | None, y: np.ndarray | None,
               candidates: int, seed: int, greater_is_better: bool | None) -> AlignmentResult:
    name, score, greater = _metric(metric, greater_is_better)
    if int(candidates) < 4:
        raise ValueError(f"candidates must be >= 4; got {candidates}")
    rng = np.random.default_rng(seed)
    probe = Probe(loss, 8, seed)
    if y is None:
        n = 200 if X is None else np.shape(X)[0]
        y = np.asarray(loss.example(n, seed=seed)[1], dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X is not None and np.shape(X)[0] != y.shape[0]:
        raise ValueError(f"X has {np.shape(X)[0]} rows but y has {y.shape[0]}")
    space = Space(input_domain(loss))
    risk = LinearRisk(loss, X, y, space)
    risk.shape(probe.n_classes)
    k = probe.n_classes
    probability = (loss.y_pred_domain.low == 0.0 and loss.y_pred_domain.high == 1.0)

    def evaluate(theta: np.ndarray) -> tuple[float, float]:
        prediction = risk.predictions(theta)
        with quiet():
            natural = np.asarray(loss.link.inverse(prediction), dtype=np.float64)
            value = float(np.mean(np.asarray(loss.elementwise(prediction, y))))
        return value, score(y, natural, k, probability)

    constant_eta = _constant_scores(loss, y, risk)
    optimum = _fit(risk, constant_eta)
    truth = _truth_scores(loss, y, risk, space, k) if X is None else optimum
    rows: list[dict[str, Any]] = []
    count = int(candidates)
    n_mix = max(2, count // 2)
    for alpha in np.linspace(0.0, 1.0, n_mix):
        theta = (1.0 - alpha) * constant_eta + alpha * truth
        loss_value, metric_value = evaluate(theta)
        rows.append({"candidate": f"mix {alpha:.2f} toward truth", "loss": loss_value,
                     "metric": metric_value})
    scale = float(np.std(truth - constant_eta)) or 1.0
    for i in range(count - n_mix):
        sigma = scale * (0.1 + 1.5 * i / max(1, count - n_mix - 1))
        theta = truth + rng.normal(0.0, sigma, size=truth.shape)
        loss_value, metric_value = evaluate(theta)
        rows.append({"candidate": f"truth + noise {sigma:.2g}", "loss": loss_value,
                     "metric": metric_value})
    return aligned(loss, name, greater, rows, _fit(risk, constant_eta, record=True), evaluate)


def aligned(loss: Loss, name: str, greater: bool, rows: list[dict[str, Any]],
            iterates: Iterable[np.ndarray],
            evaluate: Callable[[np.ndarray], tuple[float, float]]) -> AlignmentResult:
    """The result: Spearman agreement of loss and metric over the candidate ``rows``
    and along the optimisation ``iterates`` (each scored by ``evaluate``)."""
    path = []
    for step, theta in enumerate(iterates):
        loss_value, metric_value = evaluate(theta)
        path.append({"iterate": step, "loss": loss_value, "metric": metric_value})
    sign = -1.0 if greater else 1.0
    return AlignmentResult(repr(loss), name, greater,
                           _spearman([r["loss"] for r in rows], [sign * r["metric"] for r in rows]),
                           _spearman([r["loss"] for r in path], [sign * r["metric"] for r in path]),
                           rows, path)


def _metric(metric: str | Metric, greater_is_better: bool | None
            ) -> tuple[str, Callable[[np.ndarray, np.ndarray, int, bool], float], bool]:
    if isinstance(metric, str):
        key = metric.strip().lower()
        if key not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(METRICS)} "
                             "or a callable metric(y_true, y_pred)")
        function, greater = METRICS[key]

        def builtin(y: np.ndarray, p: np.ndarray, k: int, probability: bool) -> float:
            return function(_MetricInput(y, p, k, probability))

        return key, builtin, greater if greater_is_better is None else greater_is_better
    if not callable(metric):
        raise TypeError(f"metric must be a name or a callable; got {type(metric).__name__}")

    def custom(y: np.ndarray, p: np.ndarray, k: int, probability: bool) -> float:
        return float(metric(y, p))

    return getattr(metric, "__name__", "metric"), custom, bool(greater_is_better)


def _constant_scores(loss: Loss, y: np.ndarray, risk: LinearRisk) -> np.ndarray:
    """Parameters of the best constant (infinite constants pulled in to +-8 in score)."""
    kwargs = {"n_classes": risk.k} if risk.multiclass else {}
    with quiet():
        constant = np.asarray(loss.optimal_constant(y, **kwargs), dtype=np.float64)
    eta = _to_scores(risk, constant)
    eta = np.nan_to_num(eta, nan=0.0, posinf=8.0, neginf=-8.0)
    eta = np.clip(eta, -30.0, 30.0) if risk.map != "identity" else eta
    if risk.X is None:
        shape = (risk.n, risk.k) if risk.multiclass else (risk.n,)
        return np.broadcast_to(eta, shape).ravel().copy()
    weights = np.zeros((risk.X.shape[1] + 1, risk.k if risk.multiclass else 1))
    weights[-1] = eta
    return weights.ravel()


def _to_scores(risk: LinearRisk, prediction: np.ndarray) -> np.ndarray:
    """Invert the risk's map: input-space predictions -> real scores ``eta``."""
    space = risk.space
    with quiet():
        if risk.map == "identity":
            return prediction
        if risk.map == "softmax":
            return np.log(np.clip(prediction, 1e-300, None))
        return space.to_u(prediction)


def _truth_scores(loss: Loss, y: np.ndarray, risk: LinearRisk, space: Space, k: int
                  ) -> np.ndarray:
    """The true signal as free parameters: the target itself, or a confident prediction."""
    natural_domain = loss.y_pred_domain
    if k:
        rows = y if y.ndim > 1 else np.eye(k)[y.astype(int)]
        probabilities = 0.9 * rows + 0.1 / k
        if risk.map == "softmax":
            return np.log(probabilities).ravel()
        return np.log(probabilities).ravel()  # scores: log-probabilities
    if loss.y_true_domain.high != math.inf:  # binary labels: a confident probability
        positive = (y == 1).astype(float) if np.any(y < 0) else y
        p = np.clip(positive, 0.05, 0.95)
        logit = np.log(p) - np.log1p(-p)
        if natural_domain.low == 0.0 and natural_domain.high == 1.0:
            if loss.link.name == "identity":
                return _to_scores(risk, p)
            return logit
        return logit  # scores of a margin loss
    with quiet():
        # Targets the prediction cannot equal (y <= 0 under a log link) get the smallest
        # usable target instead.
        direct = np.asarray(loss.link.link(y), dtype=np.float64)
        usable = ~np.asarray(natural_domain.outside(np, y)) & np.isfinite(direct)
        stand_in = float(np.min(y[usable])) if np.any(usable) else 1.0
        prediction = np.where(usable, direct, np.asarray(loss.link.link(np.asarray(stand_in))))
    return _to_scores(risk, prediction)


def _fit(risk: LinearRisk, theta0: np.ndarray, record: bool = False) -> Any:
    from scipy.optimize import minimize

    iterates = [theta0.copy()]
    with quiet():
        result = minimize(risk.value_and_gradient, theta0, jac=True, method="L-BFGS-B",
                          callback=lambda theta: iterates.append(np.array(theta)),
                          options={"maxiter": 200 if record else 1000, "gtol": 1e-12})
    if not record:
        return result.x
    if len(iterates) >= 8:
        return iterates
    # A few long steps (a piecewise-linear loss): walk along them.
    steps = int(np.ceil(8 / max(1, len(iterates) - 1)))
    path = [theta0]
    for start, end in pairwise(iterates):
        path += [start + t * (end - start) for t in np.linspace(0.0, 1.0, steps + 1)[1:]]
    return path


def _spearman(a: list[float], b: list[float]) -> float:
    from scipy.stats import spearmanr

    a_array, b_array = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(a_array) & np.isfinite(b_array)
    if np.sum(keep) < 3 or np.ptp(a_array[keep]) == 0 or np.ptp(b_array[keep]) == 0:
        return math.nan
    return float(spearmanr(a_array[keep], b_array[keep]).statistic)
