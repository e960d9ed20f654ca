"""The advisor: which loss to train with, ranked, each with its reason.

``recommend`` encodes the decision table of the seed page ("How to choose a loss")
and extends it to every task losskit covers:

=========================== ================================ ===============================
problem                     default                          alternatives
=========================== ================================ ===============================
regression, clean data      squared error (the mean)         MAE if MAE is the metric;
                                                             Huber for robustness
regression with outliers    Huber or absolute error          log-cosh, pseudo-Huber;
                                                             squared error is dominated
quantiles, asymmetric costs pinball (quantile) / asymmetric  expectile (smooth)
counts                      Poisson, log link                Tweedie (over-dispersion)
positive, skewed targets    Gamma, log link                  Tweedie (exact zeros)
binary                      binary cross-entropy             hinge (margins); focal or
                                                             class weights (imbalance)
multiclass                  cross-entropy                    focal (imbalance); label
                                                             smoothing (overconfidence)
multi-label                 binary cross-entropy per label   asymmetric loss
object detection            focal                            weighted cross-entropy
ranking                     pairwise / listwise              LambdaLoss for NDCG,
                                                             RankNet for MAP / AUC
sequences                   cross-entropy per token          REINFORCE for BLEU / ROUGE
metric learning             contrastive                      triplet
=========================== ================================ ===============================

Each reason cites the facts the loss declares (``loss.properties``): robust or not,
its Lipschitz constant, the statistic its optimal constant estimates, convexity.
A loss the table names but this installation does not register (a family still being
written) is returned with ``loss=None`` and says so.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from losskit.core import Loss
from losskit.registry import canonical_name, get

__all__ = ["TASKS", "Candidate", "recommend"]

TASKS = ("regression", "quantile", "count", "positive", "binary", "multiclass", "multilabel",
         "detection", "ranking", "sequence", "metric_learning")

_TASK_ALIASES = {
    "classification": "binary", "binary_classification": "binary",
    "multiclass_classification": "multiclass", "multi_class": "multiclass",
    "multi_label": "multilabel", "counts": "count", "poisson": "count",
    "positive_skewed": "positive", "skewed": "positive", "object_detection": "detection",
    "seq2seq": "sequence", "sequence_generation": "sequence", "embedding": "metric_learning",
    "metric": "metric_learning", "similarity": "metric_learning",
}

#: Metrics that cannot be differentiated through: train on a surrogate aligned with them.
PIECEWISE_CONSTANT = ("accuracy", "balanced_accuracy", "f1", "precision", "recall", "roc_auc",
                      "average_precision", "ndcg", "map", "mrr")
#: Sequence-level rewards: the seed's case for REINFORCE.
SEQUENCE_REWARDS = ("bleu", "rouge", "meteor", "cider", "chrf", "wer", "reward")

# An imbalance ratio (majority : minority) from which the advice changes, and from which
# the seed's "highly imbalanced" (focal first) applies.
IMBALANCED = 3.0
HIGHLY_IMBALANCED = 10.0
# Huber's delta in units of the noise's standard deviation: 95% efficiency at the Gaussian.
HUBER_EFFICIENCY = 1.345


@dataclass(frozen=True)
class Candidate:
    """One recommended loss.

    Attributes
    ----------
    name : str
        The canonical loss name (``lk.get(name, **params)`` builds it).
    params : dict
        Hyperparameters, the link included (``link="logit"`` for a model that outputs
        raw scores).
    score : float
        In ``(0, 1]``: how well the loss fits the situation described; candidates are
        sorted by it.
    reason : str
        Why: the situation it answers and the declared properties that make it fit.
    loss : Loss or None
        The built loss, or None when this installation does not register ``name``.
    """

    name: str
    params: dict[str, Any]
    score: float
    reason: str
    loss: Loss | None = field(default=None, compare=False)

    @property
    def available(self) -> bool:
        return self.loss is not None

    @property
    def label(self) -> str:
        """``name`` with its non-default hyperparameters, e.g. ``quantile(q=0.9)``."""
        shown = {k: v for k, v in self.params.items() if k != "link"}
        if not shown:
            return self.name
        return f"{self.name}({', '.join(f'{k}={_short(v)}' for k, v in shown.items())})"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "params": dict(self.params),
                "score": self.score, "reason": self.reason, "available": self.available}

    def __str__(self) -> str:
        return f"{self.label} ({self.score:.2f}): {self.reason}"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


# ------------------------------------------------------------------ validation
def _check_task(task: Any) -> str:
    if not isinstance(task, str):
        raise TypeError(f"task must be a str, one of {list(TASKS)}; got {type(task).__name__}")
    key = task.strip().lower().replace("-", "_").replace(" ", "_")
    key = _TASK_ALIASES.get(key, key)
    if key not in TASKS:
        close = difflib.get_close_matches(key, [*TASKS, *_TASK_ALIASES], n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"task must be one of {list(TASKS)}; got {task!r}{hint}")
    return key


def _check_imbalance(imbalance: Any) -> float | None:
    """The majority : minority ratio (>= 1), from a ratio, a minority fraction or a bool."""
    if imbalance is None or imbalance is False:
        return None
    if imbalance is True:
        return HIGHLY_IMBALANCED
    if not isinstance(imbalance, numbers.Real) or math.isnan(float(imbalance)):
        raise TypeError("imbalance must be None, a bool, the majority:minority ratio (>= 1) "
                        f"or the minority fraction (in (0, 0.5]); got {imbalance!r}")
    value = float(imbalance)
    if 0.0 < value <= 0.5:
        return (1.0 - value) / value
    if value >= 1.0 and math.isfinite(value):
        return value
    raise ValueError("imbalance must be the majority:minority ratio (>= 1) or the minority "
                     f"fraction (in (0, 0.5]); got {imbalance!r}")


def _check_costs(costs: Any, task: str) -> float | None:
    """The cost ratio: under-prediction / over-prediction, or false negative / positive."""
    if costs is None:
        return None
    pairs = {"regression": ("under", "over"), "quantile": ("under", "over"),
             "count": ("under", "over"), "positive": ("under", "over")}
    first, second = pairs.get(task, ("fn", "fp"))
    if isinstance(costs, Mapping):
        unknown = sorted(set(costs) - {first, second})
        if unknown:
            raise ValueError(f"costs for task {task!r} takes the keys {first!r} and "
                             f"{second!r}; got {unknown}")
        numerator, denominator = costs.get(first, 1.0), costs.get(second, 1.0)
    elif isinstance(costs, (tuple, list)) and len(costs) == 2:
        numerator, denominator = costs
    else:
        numerator, denominator = costs, 1.0
    values = []
    for value in (numerator, denominator):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
                math.isfinite(float(value)) and float(value) > 0):
            raise ValueError(f"costs must be positive numbers: a ratio {first}/{second}, a "
                             f"pair ({first}, {second}) or a mapping {{{first!r}: ..., "
                             f"{second!r}: ...}}; got {costs!r}")
        values.append(float(value))
    return values[0] / values[1]


def _check_metric(metric: Any) -> tuple[str | None, float | None]:
    """The metric's base name and its level (``"pinball@0.9"`` -> ("pinball", 0.9))."""
    if metric is None:
        return None, None
    if not isinstance(metric, str):
        name = getattr(metric, "name", None)
        if not isinstance(name, str):
            raise TypeError(f"metric must be a name such as 'mae'; got {type(metric).__name__}")
        metric = name
    key = metric.strip().lower().replace("-", "_")
    base, _, level = key.partition("@")
    if level:
        try:
            q = float(level)
        except ValueError:
            raise ValueError(f"metric {metric!r}: the level after '@' must be a number") from None
        if not 0.0 < q < 1.0:
            raise ValueError(f"metric {metric!r}: the level must be in (0, 1); got {q:g}")
        return base, q
    return base, None


# --------------------------------------------------------------------- reasons
def property_text(loss: Loss) -> str:
    """The declared facts that matter when choosing, as a clause."""
    props = loss.properties
    parts = []
    if props.robust is True:
        bound = f"{props.lipschitz:g}" if props.lipschitz is not None else "a constant"
        parts.append(f"robust: its gradient is bounded (Lipschitz {bound}), so one outlying "
                     "target pulls the fit by a bounded amount")
    elif props.robust is False:
        parts.append("not robust: its gradient grows with the error, so outlying targets "
                     "dominate the fit")
    if props.statistic and not props.statistic.startswith("n/a"):
        parts.append(f"its optimal constant estimates: {props.statistic}")
    parts.append("convex" if props.convex else "not convex (local minima are possible)")
    if props.smoothness == 0:
        parts.append("kinked (a surrogate Hessian stands in for Newton steps)")
    if loss.distribution is not None:
        parts.append(f"the negative log-likelihood of {loss.distribution}")
    return "; ".join(parts)


class _Table:
    """Collects candidates; one loss name may be proposed once (the first wins)."""

    def __init__(self, tune_delta: str = "tune delta") -> None:
        self.rows: list[tuple[str, dict[str, Any], float, str]] = []
        self.tune_delta = tune_delta

    def add(self, name: str, score: float, why: str, **params: Any) -> None:
        if any(row[0] == name and row[1] == params for row in self.rows):
            return
        why = why.replace("tune delta", self.tune_delta)
        self.rows.append((name, params, score, why))

    def build(self) -> list[Candidate]:
        candidates = []
        for order, (name, params, score, why) in enumerate(self.rows):
            loss, note = _build(name, params)
            reason = why if loss is None else f"{why} — {property_text(loss)}"
            candidates.append((score, -order, Candidate(name, params, round(score, 3),
                                                        reason + note, loss)))
        candidates.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [candidate for _, _, candidate in candidates]


def _build(name: str, params: dict[str, Any]) -> tuple[Loss | None, str]:
    try:
        canonical_name(name)
    except ValueError:
        return None, f" ({name!r} is not registered in this installation yet)"
    accepted = dict(params)
    loss = get(name, **accepted)
    return loss, ""


# ------------------------------------------------------------------- the table
def recommend(
    task: str = "regression",
    *,
    outliers: bool | None = None,
    imbalance: float | bool | None = None,
    metric: str | None = None,
    costs: float | tuple[float, float] | Mapping[str, float] | None = None,
    quantile: float | None = None,
    margins: bool = False,
    scale: float | None = None,
) -> list[Candidate]:
    """Rank the losses for a task, each with the reason, following the seed's table.

    Parameters
    ----------
    task : str
        One of ``TASKS``: ``"regression"``, ``"quantile"``, ``"count"``, ``"positive"``
        (positive, right-skewed targets), ``"binary"``, ``"multiclass"``,
        ``"multilabel"``, ``"detection"``, ``"ranking"``, ``"sequence"``,
        ``"metric_learning"``.
    outliers : bool or None
        Whether the targets hold outliers (regression); None: unknown.
    imbalance : float, bool or None
        Class imbalance: the majority:minority ratio (``20`` for 1:20), the minority
        fraction (``0.05``) or True for "highly imbalanced".
    metric : str or None
        The metric you evaluate with: ``"mae"``, ``"rmse"``, ``"pinball@0.9"``,
        ``"log_loss"``, ``"accuracy"``, ``"roc_auc"``, ``"ndcg"``, ``"bleu"`` ...
    costs : float, pair or mapping, optional
        Asymmetric costs. Regression: under-prediction / over-prediction (``3`` or
        ``{"under": 3, "over": 1}``). Classification: false negative / false positive
        (``{"fn": 5, "fp": 1}``).
    quantile : float, optional
        The quantile level to predict (``0.9``); ``metric="pinball@0.9"`` says the same.
    margins : bool
        Classification: you want a large-margin classifier, not probabilities.
    scale : float, optional
        The typical size of the errors (a robust standard deviation of the residuals,
        as ``compare`` measures it). Sets Huber's and pseudo-Huber's ``delta`` to
        ``1.345 * scale``, Huber's choice for 95% efficiency under Gaussian noise;
        None: ``delta=1``.

    Returns
    -------
    list of Candidate
        Sorted by ``score``, best first.

    Examples
    --------
    >>> [c.name for c in recommend("regression", outliers=True, metric="mae")][:2]
    ['absolute_error', 'huber']
    >>> recommend("binary", imbalance=50)[0].name
    'focal'
    """
    task = _check_task(task)
    if outliers is not None and not isinstance(outliers, bool):
        raise TypeError(f"outliers must be True, False or None; got {outliers!r}")
    if not isinstance(margins, bool):
        raise TypeError(f"margins must be a bool; got {margins!r}")
    ratio = _check_imbalance(imbalance)
    metric_name, metric_level = _check_metric(metric)
    cost_ratio = _check_costs(costs, task)
    if quantile is not None:
        from losskit._params import check_real

        quantile = check_real(quantile, "quantile", low=0.0, high=1.0)
    elif metric_name == "pinball":
        quantile = metric_level if metric_level is not None else 0.5
    if task == "quantile" and quantile is None and cost_ratio is None:
        quantile = 0.5
    delta = 1.0
    if scale is not None:
        from losskit._params import check_real

        delta = float(f"{HUBER_EFFICIENCY * check_real(scale, 'scale', low=0.0):.3g}")

    table = _Table() if scale is None else _Table(
        f"delta={delta:g} is {HUBER_EFFICIENCY} x the residuals' robust standard deviation")
    if metric_name in SEQUENCE_REWARDS and task != "sequence":
        task = "sequence"
    if task in ("regression", "quantile"):
        _regression(table, outliers, metric_name, quantile, cost_ratio, delta)
    elif task == "count":
        _count(table, outliers, cost_ratio, delta)
    elif task == "positive":
        _positive(table, outliers, cost_ratio, delta)
    elif task == "binary":
        _binary(table, ratio, metric_name, cost_ratio, margins)
    elif task == "multiclass":
        _multiclass(table, ratio, metric_name, margins)
    elif task == "multilabel":
        _multilabel(table, ratio, cost_ratio)
    elif task == "detection":
        _detection(table)
    elif task == "ranking":
        _ranking(table, metric_name)
    elif task == "sequence":
        _sequence(table, metric_name)
    else:
        _metric_learning(table)
    return table.build()


def _regression(table: _Table, outliers: bool | None, metric: str | None,
                quantile: float | None, cost_ratio: float | None, delta: float) -> None:
    if quantile is not None:
        table.add("quantile", 1.0, f"you want the {quantile:g}-quantile: the pinball loss at "
                  f"q={quantile:g} is minimised by it (seed: quantile loss)", q=quantile)
        table.add("expectile", 0.6, "a smooth, asymmetric alternative: the expectile at the "
                  "same level weights the tail by the distance, not only the count",
                  tau=quantile)
        if cost_ratio is None:
            return
    if cost_ratio is not None:
        level = cost_ratio / (1.0 + cost_ratio)
        table.add("asymmetric", 0.98, f"under-predicting costs {cost_ratio:g}x over-"
                  f"predicting: the seed's asymmetric loss with alpha={cost_ratio:g} "
                  f"penalises it that much more", alpha=cost_ratio)
        table.add("quantile", 0.95, f"the same costs as a pinball loss: its minimiser is "
                  f"the {level:.3g}-quantile, alpha/(1+alpha)", q=level)
        return
    if metric in ("mae", "median_ae"):
        table.add("absolute_error", 1.0, f"{metric} is the metric: absolute error is "
                  "minimised by the median, which minimises the mean absolute error")
        table.add("huber", 0.9 if outliers else 0.8, "smooth near zero, linear in the tails: "
                  "close to MAE's optimum and easier to optimise; tune delta", delta=delta)
        table.add("log_cosh", 0.75, "smooth everywhere and close to the median")
        table.add("pseudo_huber", 0.7, "a smooth Huber", delta=delta)
        table.add("squared_error", 0.2 if outliers else 0.45,
                  "estimates the mean, not the median" +
                  ("; with outliers MSE is dominated by them" if outliers else ""))
        return
    if outliers:
        table.add("huber", 1.0, "the targets hold outliers: Huber is quadratic for small "
                  "errors and linear beyond delta, so outliers cannot dominate (seed: "
                  "Huber or MAE with outliers; tune delta)", delta=delta)
        table.add("absolute_error", 0.9, "the targets hold outliers: MAE estimates the "
                  "median, which outliers barely move")
        table.add("log_cosh", 0.8, "smooth everywhere, linear in the tails like Huber")
        table.add("pseudo_huber", 0.75, "a smooth Huber", delta=delta)
        table.add("squared_error", 0.2, "MSE will be dominated by the outliers (seed); "
                  "kept as the baseline")
        return
    best_mse = metric in (None, "mse", "rmse", "r2")
    table.add("squared_error", 1.0 if best_mse else 0.7, "clean data: MSE estimates the "
              "mean, the Gaussian maximum-likelihood fit (seed: the regression default)")
    table.add("huber", 0.7, "robust insurance if some targets turn out to be outliers; "
              "tune delta", delta=delta)
    table.add("log_cosh", 0.6, "MSE-like near zero, MAE-like in the tails")
    table.add("absolute_error", 0.5, "use MAE if absolute error is the metric (seed)")


def _count(table: _Table, outliers: bool | None, cost_ratio: float | None,
           delta: float) -> None:
    table.add("poisson", 1.0, "count targets: the Poisson deviance is the count model's "
              "negative log-likelihood, with a log link so predictions stay positive",
              link="log")
    table.add("tweedie", 0.75, "counts with more zeros or variance than Poisson allows "
              "(over-dispersion): Tweedie with 1 < power < 2", power=1.2, link="log")
    table.add("squared_error", 0.35, "the mean with a log link, without Poisson's variance "
              "assumption", link="log")
    if outliers:
        table.add("huber", 0.3, "robust if a few counts are wildly large", delta=delta)
    if cost_ratio is not None:
        table.add("quantile", 0.6, "asymmetric costs: predict the "
                  f"{cost_ratio / (1 + cost_ratio):.3g}-quantile of the count",
                  q=cost_ratio / (1.0 + cost_ratio))


def _positive(table: _Table, outliers: bool | None, cost_ratio: float | None,
              delta: float) -> None:
    table.add("gamma", 1.0, "positive, right-skewed targets: the Gamma deviance penalises "
              "relative errors (the variance grows with the mean squared), log link",
              link="log")
    table.add("tweedie", 0.8, "positive targets with exact zeros (a compound Poisson-Gamma), "
              "log link", power=1.5, link="log")
    table.add("squared_error", 0.4, "the mean with a log link; large targets weigh most",
              link="log")
    if outliers:
        table.add("huber", 0.35, "robust in absolute terms", delta=delta)
    if cost_ratio is not None:
        table.add("quantile", 0.6, "asymmetric costs: predict the "
                  f"{cost_ratio / (1 + cost_ratio):.3g}-quantile",
                  q=cost_ratio / (1.0 + cost_ratio))


def _binary(table: _Table, ratio: float | None, metric: str | None,
            cost_ratio: float | None, margins: bool) -> None:
    surrogate = (f"; {metric} is piecewise constant (zero gradient almost everywhere), so "
                 "train on a smooth surrogate that is aligned with it"
                 if metric in PIECEWISE_CONSTANT else "")
    if cost_ratio is not None and cost_ratio != 1.0:
        table.add("binary_cross_entropy", 1.0, f"a false negative costs {cost_ratio:g}x a "
                  f"false positive: cross-entropy with pos_weight={cost_ratio:g} moves the "
                  "fitted probabilities (and the 0.5 threshold) by that ratio",
                  pos_weight=cost_ratio, link="logit")
    if ratio is not None and ratio >= IMBALANCED:
        highly = ratio >= HIGHLY_IMBALANCED
        alpha = round(ratio / (1.0 + ratio), 3)
        table.add("focal", 0.97 if highly else 0.85,
                  f"classes are {'highly ' if highly else ''}imbalanced (1:{ratio:.3g}): "
                  "focal loss down-weights the many easy examples by (1-p_t)^gamma "
                  "(seed: focal if highly imbalanced)", gamma=2.0, alpha=alpha, link="logit")
        table.add("binary_cross_entropy", 0.95 if not highly else 0.93,
                  f"class weights: pos_weight={ratio:.3g} gives the minority class the "
                  "weight of the majority; probabilities stay interpretable after "
                  "re-calibration", pos_weight=round(ratio, 3), link="logit")
    table.add("binary_cross_entropy", 0.9 if ratio and ratio >= IMBALANCED else 1.0,
              "binary classification default (seed): the Bernoulli negative "
              "log-likelihood, whose minimiser is the probability itself" + surrogate,
              link="logit")
    table.add("hinge", 0.8 if margins else 0.5, "if you want margins, not probabilities "
              "(seed): the SVM loss is zero beyond margin 1")
    table.add("squared_hinge", 0.7 if margins else 0.4, "a differentiable hinge (C1)")
    table.add("exponential", 0.3, "AdaBoost's loss: estimates half the log-odds, but "
              "mislabelled examples get exponentially large weight")


def _multiclass(table: _Table, ratio: float | None, metric: str | None,
                margins: bool) -> None:
    surrogate = (f"; {metric} is piecewise constant, so train on this smooth surrogate"
                 if metric in PIECEWISE_CONSTANT else "")
    if ratio is not None and ratio >= IMBALANCED:
        highly = ratio >= HIGHLY_IMBALANCED
        table.add("focal", 0.97 if highly else 0.85,
                  f"classes are {'highly ' if highly else ''}imbalanced (1:{ratio:.3g}): "
                  "focal loss focuses on the hard, rare examples (seed: focal for "
                  "imbalance)", gamma=2.0, link="softmax")
    table.add("cross_entropy", 0.9 if ratio and ratio >= IMBALANCED else 1.0,
              "multi-class default (seed): the categorical negative log-likelihood, "
              "minimised by the class probabilities" + surrogate, link="softmax")
    table.add("cross_entropy", 0.7, "label smoothing keeps the model from becoming "
              "overconfident (seed)", label_smoothing=0.1, link="softmax")
    table.add("multiclass_hinge", 0.75 if margins else 0.45,
              "a multi-class SVM (Crammer-Singer): margins, not probabilities")


def _multilabel(table: _Table, ratio: float | None, cost_ratio: float | None) -> None:
    table.add("binary_cross_entropy", 1.0, "multi-label default (seed): one binary "
              "cross-entropy per label", link="logit")
    asymmetric_first = cost_ratio is not None or (ratio is not None and ratio >= IMBALANCED)
    table.add("asymmetric_multilabel", 0.95 if asymmetric_first else 0.7,
              "asymmetric loss (seed: when false positives and negatives cost differently): "
              "focuses on positives and discards easy negatives", link="logit")
    table.add("focal", 0.6, "down-weights the many easy negative labels", gamma=2.0,
              link="logit")


def _detection(table: _Table) -> None:
    table.add("focal", 1.0, "object detection (seed): focal loss addresses the extreme "
              "imbalance between background and objects", gamma=2.0, alpha=0.25, link="logit")
    table.add("binary_cross_entropy", 0.6, "plain cross-entropy: easy background examples "
              "swamp the gradient", link="logit")


def _ranking(table: _Table, metric: str | None) -> None:
    ndcg = metric in (None, "ndcg")
    table.add("lambda_loss", 1.0 if ndcg else 0.8, "ranking by NDCG: LambdaLoss weights each "
              "pair by its change in NDCG, a bound on the metric (seed: different losses "
              "for different ranking metrics)")
    table.add("listnet", 0.9 if ndcg else 0.75, "listwise: cross-entropy between the top-one "
              "probabilities of the scores and of the relevance labels")
    table.add("approx_ndcg", 0.85 if ndcg else 0.6, "NDCG itself at smoothed ranks: the "
              "closest differentiable stand-in for the metric")
    table.add("ranknet", 0.8 if ndcg else 1.0, "pairwise: logistic loss on each ordered pair, "
              "a surrogate of the pairwise error behind AUC and MAP" +
              (f", your metric ({metric})" if metric and not ndcg else ""))
    table.add("listmle", 0.7, "listwise: the Plackett-Luce likelihood of the ideal ordering")
    table.add("pairwise_hinge", 0.6 if ndcg else 0.85, "RankSVM: a margin between every pair "
              "of unequal relevance")


def _sequence(table: _Table, metric: str | None) -> None:
    reward = metric in SEQUENCE_REWARDS
    table.add("sequence_cross_entropy", 0.8 if reward else 1.0, "sequence generation default "
              "(seed): cross-entropy per token under teacher forcing, padding ignored")
    table.add("reinforce", 1.0 if reward else 0.5, "REINFORCE (seed: for non-differentiable "
              f"metrics such as BLEU and ROUGE{'; your metric: ' + str(metric) if reward else ''}):"
              " the policy-gradient estimator maximises the expected reward directly")
    table.add("sequence_cross_entropy", 0.6, "label smoothing against overconfident token "
              "distributions", label_smoothing=0.1)


def _metric_learning(table: _Table) -> None:
    table.add("contrastive", 1.0, "pairs of embeddings (seed): pulls similar pairs together "
              "and pushes dissimilar ones beyond the margin m")
    table.add("triplet", 0.9, "anchor, positive, negative: the positive must be closer than "
              "the negative by a margin")
    table.add("nt_xent", 0.8, "self-supervised views (SimCLR's InfoNCE): every other "
              "example in the batch is a negative")
