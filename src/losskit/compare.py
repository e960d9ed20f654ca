"""``compare``: fit a model with each candidate loss under cross-validation and rank them.

Every loss is fitted on the same folds (``KFold`` for regression, stratified for
classes, shuffled with ``seed``) and scored by one metric on the held-out fold; the
table holds the metric's mean and standard deviation over the folds, the mean fit time,
and the winner with its margin over the runner-up and the number of folds it won.
``Comparison.advice`` says why, from the advisor's reasons and what the data showed
(outlying targets, class imbalance).

Model ``"linear"`` is ``losskit.linear_model`` (features standardised on each training fold);
``"xgboost"`` and ``"lightgbm"`` train gradient-boosted trees with the loss as a custom
objective (``losskit.integrations``); Huber, pseudo-Huber and log-cosh, whose Hessians
vanish far from the target, with ``min_hessian=0.1`` (leaves of large residuals would
otherwise take huge Newton steps).
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losskit._compare_models import fit_boosted, fit_linear
from losskit.advisor import Candidate, recommend
from losskit.core import Loss
from losskit.metrics._metric import Metric, get_metric
from losskit.registry import get, loss_class

__all__ = ["Comparison", "Row", "compare", "infer_task"]

MODELS = ("linear", "xgboost", "lightgbm")
TASKS = ("regression", "count", "positive", "binary", "multiclass")
DEFAULT_METRIC = {"regression": "mae", "count": "poisson_deviance",
                  "positive": "gamma_deviance", "binary": "log_loss", "multiclass": "log_loss"}
BASELINE = {"regression": "squared_error", "count": "squared_error",
            "positive": "squared_error", "binary": "binary_cross_entropy",
            "multiclass": "cross_entropy"}
#: Residuals further than this many robust standard deviations count as outlying.
OUTLIER_Z = 5.0
MAX_CANDIDATES = 5


@dataclass
class Row:
    """One loss in a comparison: its fold scores and how the fits went."""

    label: str
    name: str
    scores: list[float]
    fit_time: float
    loss: Loss | None = field(default=None, repr=False)
    error: str | None = None
    converged: bool = True
    rank: int = 0

    @property
    def mean(self) -> float:
        values = [s for s in self.scores if math.isfinite(s)]
        return float(np.mean(values)) if values and len(values) == len(self.scores) else math.nan

    @property
    def std(self) -> float:
        return float(np.std(self.scores)) if math.isfinite(self.mean) else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "loss": self.label, "name": self.name,
                "mean": self.mean, "std": self.std, "scores": list(self.scores),
                "fit_time": self.fit_time, "converged": self.converged, "error": self.error}


@dataclass
class Comparison:
    """The result of ``compare``: rows best first, the winner, its margin, the advice."""

    rows: list[Row]
    metric: Metric
    task: str
    model: str
    cv: int
    n_samples: int
    n_features: int
    facts: dict[str, Any]
    recommendations: list[Candidate]
    advice: str = ""
    feature_names: list[str] = field(default_factory=list)
    target_name: str = "y"

    @property
    def ranked(self) -> list[Row]:
        return [row for row in self.rows if row.error is None and math.isfinite(row.mean)]

    @property
    def winner(self) -> str | None:
        ranked = self.ranked
        return ranked[0].label if ranked else None

    @property
    def runner_up(self) -> str | None:
        ranked = self.ranked
        return ranked[1].label if len(ranked) > 1 else None

    @property
    def margin(self) -> float:
        """How much better the winner's mean score is than the runner-up's (>= 0)."""
        ranked = self.ranked
        if len(ranked) < 2:
            return math.nan
        return abs(ranked[0].mean - ranked[1].mean)

    @property
    def relative_margin(self) -> float:
        ranked = self.ranked
        if len(ranked) < 2 or ranked[1].mean == 0:
            return math.nan
        return self.margin / abs(ranked[1].mean)

    @property
    def folds_won(self) -> int:
        """Folds on which the winner scored better than the runner-up."""
        ranked = self.ranked
        if len(ranked) < 2:
            return 0
        pairs = zip(ranked[0].scores, ranked[1].scores, strict=True)
        return sum(self.metric.better(a, b) for a, b in pairs)

    @property
    def table(self) -> list[dict[str, Any]]:
        """One dict per loss, best first: rank, loss, mean, std, scores, fit_time, error."""
        return [row.to_dict() for row in self.rows]

    def row(self, label: str) -> Row:
        for row in self.rows:
            if row.label == label or row.name == label:
                return row
        raise KeyError(f"no loss {label!r} in this comparison; it has "
                       f"{[row.label for row in self.rows]}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric.name, "greater_is_better": self.metric.greater_is_better,
            "task": self.task, "model": self.model, "cv": self.cv,
            "n_samples": self.n_samples, "n_features": self.n_features,
            "target": self.target_name, "features": list(self.feature_names),
            "facts": dict(self.facts), "table": self.table, "winner": self.winner,
            "runner_up": self.runner_up, "margin": self.margin,
            "relative_margin": self.relative_margin, "folds_won": self.folds_won,
            "advice": self.advice,
            "recommendations": [c.to_dict() for c in self.recommendations],
        }

    def to_markdown(self) -> str:
        direction = "higher" if self.metric.greater_is_better else "lower"
        lines = [f"| rank | loss | {self.metric.name} ({direction} is better) | fit time (s) |",
                 "|---|---|---|---|"]
        for row in self.rows:
            score = (f"error: {row.error}" if row.error else
                     f"{row.mean:.4g} ± {row.std:.2g}")
            lines.append(f"| {row.rank or '-'} | `{row.label}` | {score.replace('|', '/')} | "
                         f"{row.fit_time:.3f} |")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown() + ("\n\n" + self.advice if self.advice else "")


# --------------------------------------------------------------------- the data
def infer_task(y: Any) -> str:
    """``"binary"`` for two distinct values, ``"multiclass"`` for more non-numeric labels,
    else ``"regression"``.

    Counts and positive skewed targets are not guessed (outliers make any target
    skewed, and integer targets are often measurements): pass ``task="count"`` or
    ``task="positive"``.
    """
    values = np.asarray(y)
    if len(np.unique(values)) == 2:
        return "binary"
    if values.dtype.kind not in "biuf":
        return "multiclass"
    return "regression"


def residual_outliers(X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The fraction of least-squares residuals beyond ``OUTLIER_Z`` robust standard
    deviations from their median, and that robust standard deviation (1.4826 MAD)."""
    design = np.column_stack([np.ones(len(y)), X])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    center = np.median(residual)
    scale = float(1.4826 * np.median(np.abs(residual - center)))
    if scale == 0:
        return 0.0, 0.0
    return float(np.mean(np.abs(residual - center) > OUTLIER_Z * scale)), scale


def _folds(y: np.ndarray, cv: int, stratified: bool, seed: int) -> list[np.ndarray]:
    """Test indices of each fold (shuffled; stratified deals each class round-robin)."""
    rng = np.random.default_rng(seed)
    n = len(y)
    assignment = np.empty(n, dtype=int)
    if stratified:
        offset = 0
        for label in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == label))
            assignment[members] = (np.arange(members.size) + offset) % cv
            offset += members.size
    else:
        assignment[rng.permutation(n)] = np.arange(n) % cv
    return [np.flatnonzero(assignment == k) for k in range(cv)]


# ---------------------------------------------------------------------- compare
def _check_inputs(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    names = [str(c) for c in getattr(X, "columns", [])]
    try:
        Xa = np.array(X, dtype=float)  # a copy: the caller's data is never modified
    except (TypeError, ValueError):
        raise TypeError("X must be a numeric array of shape (n_samples, n_features)") from None
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    if Xa.ndim != 2 or Xa.shape[0] == 0 or Xa.shape[1] == 0:
        raise ValueError(f"X must have shape (n_samples, n_features); got {Xa.shape}")
    if not np.isfinite(Xa).all():
        raise ValueError("X holds NaN or inf; fill or drop those values first")
    ya = np.asarray(y)
    if ya.ndim != 1:
        raise ValueError(f"y must have shape (n_samples,); got {ya.shape}")
    if ya.shape[0] != Xa.shape[0]:
        raise ValueError(f"X and y must have the same number of samples; got {Xa.shape[0]} "
                         f"and {ya.shape[0]}")
    return Xa, ya, names or [f"x{j}" for j in range(Xa.shape[1])]


def _encode_target(y: np.ndarray, task: str) -> tuple[np.ndarray, list[Any] | None]:
    if task in ("binary", "multiclass"):
        classes, encoded = np.unique(y, return_inverse=True)
        if task == "binary" and classes.size != 2:
            raise ValueError(f"task 'binary' needs exactly 2 classes in y; got {classes.size}")
        if classes.size < 2:
            raise ValueError("y holds a single class")
        return encoded.astype(float), classes.tolist()
    if y.dtype.kind not in "biuf":
        raise TypeError(f"y for task {task!r} must be numeric; got dtype {y.dtype}")
    values = y.astype(float)
    if not np.isfinite(values).all():
        raise ValueError("y holds NaN or inf")
    return values, None


def _as_loss(loss: str | Loss, task: str) -> Loss:
    if isinstance(loss, Loss):
        return loss
    if not isinstance(loss, str):
        raise TypeError(f"losses must hold names or Loss objects; got {type(loss).__name__}")
    cls = loss_class(loss)
    if task == "multiclass" and "softmax" in cls.links:
        return get(loss, link="softmax")
    return get(loss)


def _label(loss: Loss, task: str) -> str:
    defaults: dict[str, Any] = {}
    try:
        defaults = type(loss)().get_params()
    except Exception:
        pass
    natural = {"binary": "logit", "multiclass": "softmax"}.get(task, "identity")
    shown = {k: v for k, v in loss.get_params().items()
             if k != "nan_policy" and defaults.get(k, object()) != v
             and not (k == "link" and v in (None, "identity", natural))}
    if not shown:
        return loss.name
    text = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in shown.items())
    return f"{loss.name}({text})"


def compare(
    X: Any,
    y: Any,
    losses: Sequence[str | Loss] | None = None,
    *,
    metric: str | Metric | None = None,
    task: str | None = None,
    model: str = "linear",
    cv: int = 5,
    penalty: str | None = None,
    alpha: float = 0.0,
    n_estimators: int = 100,
    seed: int = 0,
    feature_names: Sequence[str] | None = None,
    target_name: str | None = None,
    progress: Callable[[int, int, str], Any] | None = None,
) -> Comparison:
    """Fit one model per loss with ``cv``-fold cross-validation and rank the losses.

    Parameters
    ----------
    X : array of shape (n, d)
        Numeric features (a pandas DataFrame gives its column names). Not modified.
    y : array of shape (n,)
        Targets; class labels of any type for ``"binary"`` and ``"multiclass"``.
    losses : sequence of str or Loss, optional
        The losses to compare. None: the advisor's top candidates for ``task`` and what
        the data shows, plus the task's default loss as the baseline.
    metric : str or Metric, optional
        ``"mae"``, ``"rmse"``, ``"pinball@0.9"``, ``"log_loss"``, ``"accuracy"``,
        ``"roc_auc"`` ... (``losskit.metrics.list_metrics()``). None: the task's default
        (``DEFAULT_METRIC``).
    task : str, optional
        One of ``TASKS``; None infers it from ``y`` (``infer_task``).
    model : {"linear", "xgboost", "lightgbm"}
    cv : int
        Number of folds (>= 2).
    penalty, alpha : optional
        Regularisation of the linear model (``losskit.linear_model``).
    n_estimators : int
        Boosting rounds for ``"xgboost"`` and ``"lightgbm"``.
    seed : int
        Seed of the fold assignment.
    feature_names, target_name : optional
        Names shown in the table and the report (by default a DataFrame's columns and
        a Series' name, else ``x0, x1, ...`` and ``y``).
    progress : callable, optional
        Called as ``progress(done, total, label)`` after each fit.

    Returns
    -------
    Comparison
        ``.table`` (best first), ``.winner``, ``.margin``, ``.advice``.

    Examples
    --------
    >>> import losskit as lk
    >>> from losskit.data import load
    >>> data = load("deliveries")
    >>> result = lk.compare(data.X, data.y, ["squared_error", "huber"], metric="mae")
    >>> result.winner
    'huber'
    """
    Xa, ya, names = _check_inputs(X, y)
    if feature_names is not None:
        names = [str(name) for name in feature_names]
        if len(names) != Xa.shape[1]:
            raise ValueError(f"feature_names has {len(names)} names for {Xa.shape[1]} "
                             "features")
    if task is None:
        task = infer_task(ya)
    elif task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)} or None; got {task!r}")
    if model not in MODELS:
        raise ValueError(f"model must be one of {list(MODELS)}; got {model!r}")
    if model != "linear":
        try:
            importlib.import_module(f"losskit.integrations.{model}")
        except ImportError:
            raise ImportError(f'model="{model}" needs {model}: pip install "losskit[boost]"') \
                from None
    if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 2:
        raise ValueError(f"cv must be an integer >= 2; got {cv!r}")
    y_encoded, classes = _encode_target(ya, task)
    if classes is not None:
        smallest = int(np.bincount(y_encoded.astype(int)).min())
        if smallest < cv:
            raise ValueError(f"cv={cv} folds need at least {cv} samples of every class; the "
                             f"smallest class has {smallest}")
    elif len(ya) < 2 * cv:
        raise ValueError(f"cv={cv} folds need at least {2 * cv} samples; got {len(ya)}")
    metric_object = get_metric(metric if metric is not None else DEFAULT_METRIC[task])
    expected = "classification" if task in ("binary", "multiclass") else "regression"
    if metric_object.task != expected:
        raise ValueError(f"metric {metric_object.name!r} scores {metric_object.task}; task "
                         f"{task!r} needs a {expected} metric")

    facts: dict[str, Any] = {"task": task}
    outliers: bool | None = None
    imbalance: float | None = None
    if classes is None:
        fraction, scale = residual_outliers(Xa, y_encoded)
        facts["outlier_fraction"] = fraction
        facts["residual_scale"] = scale
        outliers = fraction >= 0.005 and fraction * len(ya) >= 2
    else:
        counts = np.bincount(y_encoded.astype(int))
        imbalance = float(counts.max() / counts.min())
        facts["imbalance"] = imbalance
        facts["classes"] = classes
    advisor_task = task if task in ("binary", "multiclass", "count", "positive") else \
        "regression"
    recommendations = recommend(advisor_task, outliers=outliers, imbalance=imbalance,
                                metric=metric_object.name,
                                scale=facts.get("residual_scale") or None)

    if losses is None:
        chosen = [c.loss for c in recommendations if c.loss is not None and
                  _scorable(c.loss, metric_object, task)][:MAX_CANDIDATES]
        baseline = _as_loss(BASELINE[task], task)
        loss_objects = [loss for loss in chosen if loss is not None]
        if _label(baseline, task) not in [_label(loss, task) for loss in loss_objects]:
            loss_objects.append(baseline)
    else:
        if isinstance(losses, (str, Loss)):
            losses = [losses]
        loss_objects = [_as_loss(loss, task) for loss in losses]
        if not loss_objects:
            raise ValueError("losses is empty; pass None for the advisor's candidates")
    labels = [_label(loss, task) for loss in loss_objects]
    for i, label in enumerate(labels):
        if labels.count(label) > 1:
            labels[i] = f"{label}#{labels[:i].count(label) + 1}"

    folds = _folds(y_encoded, cv, classes is not None, seed)
    options: dict[str, Any] = {}
    if model == "linear" and penalty is not None:
        options = {"penalty": penalty, "alpha": alpha}
    elif model != "linear":
        options = {"n_estimators": n_estimators}
    total, done = len(loss_objects) * cv, 0
    rows = []
    for loss, label in zip(loss_objects, labels, strict=True):
        scores: list[float] = []
        seconds = 0.0
        error: str | None = None
        converged = True
        for test in folds:
            train = np.setdiff1d(np.arange(len(y_encoded)), test, assume_unique=True)
            started = time.perf_counter()
            try:
                if model == "linear":
                    fitted = fit_linear(Xa[train], y_encoded[train], loss, options)
                    converged &= fitted.converged
                else:
                    fitted = fit_boosted(model, Xa[train], y_encoded[train], loss, options,
                                          task)
                seconds += time.perf_counter() - started
                prediction = fitted.output(Xa[test], metric_object.kind, task)
                scores.append(metric_object(y_encoded[test], prediction))
            except Exception as exc:  # one loss failing must not sink the comparison
                message = str(exc).splitlines()[0] if str(exc) else ""
                error = (message if isinstance(exc, (ValueError, TypeError))
                         else f"{type(exc).__name__}: {message}")
                done += cv - len(scores)
                if progress is not None:
                    progress(done, total, label)
                break
            done += 1
            if progress is not None:
                progress(done, total, label)
        rows.append(Row(label, loss.name, scores, seconds / max(len(scores), 1), loss, error,
                        converged))
    sign = -1.0 if metric_object.greater_is_better else 1.0
    rows.sort(key=lambda r: (r.error is not None or not math.isfinite(r.mean),
                             sign * r.mean if math.isfinite(r.mean) else 0.0))
    for rank, row in enumerate(rows, start=1):
        row.rank = rank if row.error is None and math.isfinite(row.mean) else 0
    comparison = Comparison(rows, metric_object, task, model, cv, len(ya), Xa.shape[1], facts,
                            recommendations, feature_names=names,
                            target_name=str(target_name or getattr(y, "name", None) or "y"))
    comparison.advice = advice(comparison)
    return comparison


def _scorable(loss: Loss, metric: Metric, task: str) -> bool:
    """Whether a model fitted with ``loss`` gives what ``metric`` reads."""
    if metric.kind != "proba" or task not in ("binary", "multiclass"):
        return True
    return "logit" in loss.links or "softmax" in loss.links or loss.name == "exponential"


# ----------------------------------------------------------------------- advice
def advice(comparison: Comparison) -> str:
    """Plain-language advice: the winner, by how much, and why."""
    metric = comparison.metric
    ranked = comparison.ranked
    if not ranked:
        return "No loss could be scored: " + "; ".join(
            f"{row.label}: {row.error}" for row in comparison.rows if row.error)
    best = ranked[0]
    sentences = []
    if len(ranked) > 1:
        second = ranked[1]
        sentences.append(
            f"{best.label} wins on {metric.name} with {best.mean:.4g} ± {best.std:.2g} over "
            f"{comparison.cv} folds, against {second.mean:.4g} ± {second.std:.2g} for "
            f"{second.label}: a margin of {comparison.margin:.3g} "
            f"({100 * comparison.relative_margin:.1f}%), better on {comparison.folds_won} of "
            f"{comparison.cv} folds.")
        if comparison.folds_won < comparison.cv * 0.8 or comparison.relative_margin < 0.01:
            sentences.append("The margin is too small to matter (under 1%, or not won on 4 "
                             "folds in 5): treat the top two as a tie and prefer the smoother "
                             "or the simpler loss.")
    else:
        sentences.append(f"{best.label} scores {best.mean:.4g} ± {best.std:.2g} on "
                         f"{metric.name}.")
    facts = comparison.facts
    fraction = facts.get("outlier_fraction")
    if fraction is not None:
        if fraction >= 0.005:
            sentences.append(f"The data: {100 * fraction:.1f}% of the targets lie more than "
                             f"{OUTLIER_Z:g} robust standard deviations from a least-squares "
                             "fit, so they are outliers.")
        else:
            sentences.append("The data: no outlying targets were found (none beyond "
                             f"{OUTLIER_Z:g} robust standard deviations of a least-squares "
                             "fit).")
    imbalance = facts.get("imbalance")
    if imbalance is not None and imbalance >= 1.5:
        sentences.append(f"The data: the classes are imbalanced, 1:{imbalance:.3g}.")
    props = best.loss.properties if best.loss is not None else None
    if props is not None:
        why = _why(best.loss, comparison)
        if why:
            sentences.append(f"Why {best.label}: {why}.")
    losers = [row for row in ranked[1:] if row.loss is not None and
              row.loss.properties.robust is False]
    if props is not None and props.robust and losers and fraction:
        names = ", ".join(row.label for row in losers)
        worse = abs(losers[0].mean - best.mean) / abs(best.mean) if best.mean else math.nan
        sentences.append(f"{names} {'is' if len(losers) == 1 else 'are'} not robust: the "
                         "gradient grows with the error, so the outliers pull the fit "
                         "towards them and every other prediction pays for it "
                         f"({losers[0].label} scores {losers[0].mean:.4g}, "
                         f"{100 * worse:.0f}% worse).")
    top = next((c for c in comparison.recommendations if c.loss is not None), None)
    if top is not None and top.loss is not None and all(
            row.loss is None or row.loss.name != top.name for row in comparison.rows):
        sentences.append(f"Not compared here, the advisor's first choice is {top.label}: "
                         f"{top.reason.split(' — ')[0]}.")
    failed = [row for row in comparison.rows if row.error]
    if failed:
        sentences.append("Could not be scored: " + "; ".join(
            f"{row.label} ({row.error})" for row in failed) + ".")
    return " ".join(sentences)


def _why(loss: Loss | None, comparison: Comparison) -> str:
    if loss is None:
        return ""
    for candidate in comparison.recommendations:
        if candidate.loss is not None and candidate.name == loss.name:
            return candidate.reason
    from losskit.advisor import property_text

    return property_text(loss)
