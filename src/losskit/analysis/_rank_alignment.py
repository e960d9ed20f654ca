"""``alignment`` for ranking losses: does minimising the loss improve NDCG, MAP or MRR?

The toy problem (when no data is given): 60 lists of 10 items with 4 features each;
graded relevance 0-3 from a noisy linear utility (grades at its 50%, 75% and 90%
quantiles), every fourth list padded to 8 items. A linear scorer ``s = X w`` is
fitted with the loss (L-BFGS from a random ``w``); the candidates are scorers between a
random ``w`` and that fit, and the fit with its weights perturbed; the path is the
fit's iterates. The metric reads the scores, the loss the same scores.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from losskit.analysis._probes import quiet
from losskit.core import Loss

if TYPE_CHECKING:
    from losskit.analysis.alignment import AlignmentResult

__all__ = ["is_ranking_metric", "ranking_alignment", "toy_ranking_problem"]

_NAMES = re.compile(r"^(ndcg|map|mrr)(?:@([0-9]+))?$")


def is_ranking_metric(metric: Any) -> bool:
    """``"ndcg"``, ``"ndcg@10"``, ``"map"`` or ``"mrr"`` (case-insensitive)."""
    if not isinstance(metric, str):
        return False
    match = _NAMES.match(metric.strip().lower())
    return match is not None and (match.group(2) is None or match.group(1) == "ndcg")


def _ranking_metric(metric: Any, greater_is_better: bool | None
                    ) -> tuple[str, Callable[[np.ndarray, np.ndarray], float], bool]:
    from losskit.metrics import mean_average_precision, mrr, ndcg

    if isinstance(metric, str):
        if not is_ranking_metric(metric):
            raise ValueError(f"unknown ranking metric {metric!r}; expected 'ndcg', "
                             "'ndcg@k', 'map', 'mrr' or a callable metric(y_true, y_score)")
        key = metric.strip().lower()
        base, _, k = key.partition("@")
        if base == "ndcg":
            def score(y: np.ndarray, s: np.ndarray) -> float:
                return float(ndcg(y, s, k=int(k) if k else None))
        elif base == "map":
            def score(y: np.ndarray, s: np.ndarray) -> float:
                return float(mean_average_precision(y, s))
        else:
            def score(y: np.ndarray, s: np.ndarray) -> float:
                return float(mrr(y, s))
        return key, score, True if greater_is_better is None else greater_is_better
    if not callable(metric):
        raise TypeError(f"metric must be a name or a callable; got {type(metric).__name__}")
    return getattr(metric, "__name__", "metric"), metric, bool(greater_is_better)


def toy_ranking_problem(seed: int = 0, n_lists: int = 60, list_size: int = 10,
                        n_features: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)``: features ``(n_lists, list_size, n_features)``, relevance with padding."""
    rng = np.random.default_rng([seed, 17])
    X = rng.normal(size=(n_lists, list_size, n_features))
    utility = X @ rng.normal(size=n_features) + rng.normal(0.0, 0.7, size=(n_lists, list_size))
    cuts = np.quantile(utility, [0.5, 0.75, 0.9])
    y = np.digitize(utility, cuts).astype(np.float64)
    y[::4, -2:] = -1.0
    return X, y


def ranking_alignment(loss: Loss, metric: Any, X: np.ndarray | None, y: np.ndarray | None,
                      candidates: int, seed: int, greater_is_better: bool | None
                      ) -> AlignmentResult:
    from scipy.optimize import minimize

    from losskit.analysis.alignment import aligned

    name, score, greater = _ranking_metric(metric, greater_is_better)
    if candidates < 4:
        raise ValueError(f"candidates must be >= 4; got {candidates}")
    if X is None and y is None:
        X, y = toy_ranking_problem(seed)
    if X is None or y is None:
        raise ValueError("a ranking alignment needs both X (n_lists, list_size, n_features) "
                         "and y (n_lists, list_size), or neither (the toy problem)")
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if X.ndim != 3 or X.shape[:2] != y.shape:
        raise ValueError(f"X must have shape (n_lists, list_size, n_features) matching y's "
                         f"{y.shape}; got {X.shape}")
    n_lists = y.shape[0]

    def value_and_gradient(w: np.ndarray) -> tuple[float, np.ndarray]:
        scores = X @ w
        with quiet():
            values, gradient = loss.loss_gradient(scores, y)
        return (float(np.sum(values)) / n_lists,
                np.einsum("il,ilf->f", np.asarray(gradient), X) / n_lists)

    def evaluate(w: np.ndarray) -> tuple[float, float]:
        scores = X @ w
        with quiet():
            value = float(loss(scores, y, reduction="sum")) / n_lists
        return value, score(y, scores)

    rng = np.random.default_rng(seed)
    start = np.asarray(rng.normal(size=X.shape[-1]), dtype=np.float64)
    iterates = [start.copy()]
    with quiet():
        fit = minimize(value_and_gradient, start, jac=True, method="L-BFGS-B",
                       callback=lambda w: iterates.append(np.array(w)),
                       options={"maxiter": 200, "gtol": 1e-10})
    best = fit.x
    size = float(np.linalg.norm(best)) or 1.0
    other = rng.normal(size=best.shape)
    other *= size / np.linalg.norm(other)
    rows: list[dict[str, Any]] = []
    n_mix = max(2, candidates // 2)
    for alpha in np.linspace(0.0, 1.0, n_mix):
        loss_value, metric_value = evaluate((1.0 - alpha) * other + alpha * best)
        rows.append({"candidate": f"mix {alpha:.2f} toward the fit", "loss": loss_value,
                     "metric": metric_value})
    for i in range(candidates - n_mix):
        sigma = size * (0.1 + 1.5 * i / max(1, candidates - n_mix - 1))
        loss_value, metric_value = evaluate(best + rng.normal(0.0, sigma, size=best.shape))
        rows.append({"candidate": f"fit + noise {sigma:.2g}", "loss": loss_value,
                     "metric": metric_value})
    return aligned(loss, name, greater, rows, iterates, evaluate)
