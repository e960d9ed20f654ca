"""The scikit-learn competitors: ``sklearn.metrics`` (value only) and ``sklearn._loss``.

Conventions differ from losskit's, so each result is converted before the check
(the conversion is not timed):

- ``sklearn._loss.HalfSquaredError`` is ``½ e^2``: value, gradient and Hessian times 2.
- ``asymmetric`` (``alpha |e|`` below, ``|e|`` above) is ``(1 + alpha)`` times the
  pinball loss at ``q = alpha / (1 + alpha)``: value and gradient times ``1 + alpha``;
  both Hessians are the surrogate 1.
- ``HalfPoissonLoss``, ``HalfGammaLoss``, ``HalfTweedieLoss``, ``HalfBinomialLoss`` and
  ``HalfMultinomialLoss`` already drop the constant terms as losskit does; equal.
- The deviance metrics are twice the negative log-likelihood plus a term of ``y``
  alone: ``poisson = D/2 - mean(y log y - y)``, ``gamma = D/2 + mean(log y + 1)``,
  ``tweedie = D/2 - mean(y^(2-p)) / ((1-p)(2-p))``.

The metrics take predictions in the natural space (means, probabilities), so for the
log- and logit-link cases they are given ``exp(z)``, ``sigmoid(z)`` or ``softmax(z)``,
computed before timing: their time leaves out the inverse link that losskit's includes.
``sklearn._loss`` runs with ``n_threads`` set to the benchmark's thread count, its
outputs allocated by itself (as losskit's are), and ``y_true`` in ``y_pred``'s dtype
(it requires that; class labels as floats).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks._cases import ALPHA, CLASSES, DELTA, POWER, QUANTILE, Case, Inputs
from benchmarks._harness import Impl

__all__ = ["loss_impls", "metric_impls"]

_PINBALL_LEVEL = ALPHA / (1.0 + ALPHA)


def _natural(link: str) -> Callable[[Inputs], tuple[Any, Any]]:
    """``prepare`` for a metric: ``(y_true, prediction in the natural space)``."""

    def prepare(inputs: Inputs) -> tuple[Any, Any]:
        z = inputs.y_pred
        if link == "log":
            return inputs.y_true, np.exp(z)
        if link == "logit":
            return inputs.y_true, 1.0 / (1.0 + np.exp(-z))
        if link == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            return inputs.y_true, e / e.sum(axis=1, keepdims=True)
        return inputs.y_true, z

    return prepare


def _same(result: Any, inputs: Inputs) -> Any:
    return result


def _xlogy(y: Any) -> Any:
    return np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)


def metric_impls(case: Case) -> dict[str, Impl]:
    """``sklearn.metrics`` for the value of ``case``, where a metric computes it."""
    from sklearn import metrics

    def scaled(factor: float) -> Callable[[Any, Inputs], Any]:
        return lambda result, inputs: factor * result

    p = POWER
    table: dict[str, tuple[Callable[..., Any], str, Callable[[Any, Inputs], Any] | None,
                           str]] = {
        "squared_error": (metrics.mean_squared_error, "identity", None,
                          "mean_squared_error"),
        "absolute_error": (metrics.mean_absolute_error, "identity", None,
                           "mean_absolute_error"),
        "quantile": (lambda y, q: metrics.mean_pinball_loss(y, q, alpha=QUANTILE), "identity",
                     None, f"mean_pinball_loss(alpha={QUANTILE})"),
        "asymmetric": (lambda y, q: metrics.mean_pinball_loss(y, q, alpha=_PINBALL_LEVEL),
                       "identity", scaled(1.0 + ALPHA),
                       f"mean_pinball_loss(alpha={_PINBALL_LEVEL:.4g}) x {1 + ALPHA:g}"),
        "poisson_log": (metrics.mean_poisson_deviance, "log",
                        lambda d, inputs: d / 2 - np.mean(_xlogy(inputs.y_true) - inputs.y_true),
                        "mean_poisson_deviance(exp(z))"),
        "gamma_log": (metrics.mean_gamma_deviance, "log",
                      lambda d, inputs: d / 2 + np.mean(np.log(inputs.y_true) + 1.0),
                      "mean_gamma_deviance(exp(z))"),
        "tweedie_log": (lambda y, mu: metrics.mean_tweedie_deviance(y, mu, power=p), "log",
                        lambda d, inputs: d / 2 - np.mean(inputs.y_true ** (2 - p))
                        / ((1 - p) * (2 - p)),
                        f"mean_tweedie_deviance(exp(z), power={p:g})"),
        "bce_logit": (metrics.log_loss, "logit", None, "log_loss(sigmoid(z))"),
        "bce_probability": (metrics.log_loss, "identity", None, "log_loss"),
        "cross_entropy": (lambda y, probabilities: metrics.log_loss(
            y, probabilities, labels=np.arange(CLASSES)), "softmax", None,
            "log_loss(softmax(z))"),
        "hinge": (metrics.hinge_loss, "identity", None, "hinge_loss"),
    }
    if case.name not in table:
        return {}
    metric, link, convert, note = table[case.name]
    return {"value": Impl(metric, _natural(link), convert or _same, note)}


def loss_impls(case: Case, n_threads: int) -> dict[str, Impl]:
    """``sklearn._loss`` for every operation of ``case``, where a loss class exists."""
    try:
        from sklearn._loss import loss as sk  # private: may move between releases
    except ImportError:  # pragma: no cover
        return {}
    # name: (instance, scale of value, of gradient, of Hessian, what it is)
    table: dict[str, tuple[Any, float, float, float, str]] = {
        "squared_error": (sk.HalfSquaredError(), 2.0, 2.0, 2.0, "HalfSquaredError x 2"),
        "absolute_error": (sk.AbsoluteError(), 1.0, 1.0, 1.0, "AbsoluteError"),
        "huber": (sk.HuberLoss(delta=DELTA), 1.0, 1.0, 1.0, f"HuberLoss(delta={DELTA:g})"),
        "quantile": (sk.PinballLoss(quantile=QUANTILE), 1.0, 1.0, 1.0,
                     f"PinballLoss(quantile={QUANTILE:g})"),
        "asymmetric": (sk.PinballLoss(quantile=_PINBALL_LEVEL), 1.0 + ALPHA, 1.0 + ALPHA, 1.0,
                       f"PinballLoss(quantile={_PINBALL_LEVEL:.4g}) x {1 + ALPHA:g}"),
        "poisson_log": (sk.HalfPoissonLoss(), 1.0, 1.0, 1.0, "HalfPoissonLoss"),
        "gamma_log": (sk.HalfGammaLoss(), 1.0, 1.0, 1.0, "HalfGammaLoss"),
        "tweedie_log": (sk.HalfTweedieLoss(power=POWER), 1.0, 1.0, 1.0,
                        f"HalfTweedieLoss(power={POWER:g})"),
        "bce_logit": (sk.HalfBinomialLoss(), 1.0, 1.0, 1.0, "HalfBinomialLoss"),
        "cross_entropy": (sk.HalfMultinomialLoss(n_classes=CLASSES), 1.0, 1.0, 1.0,
                          f"HalfMultinomialLoss(n_classes={CLASSES})"),
    }
    if case.name not in table:
        return {}
    loss, value_scale, gradient_scale, hessian_scale, note = table[case.name]

    def prepare(inputs: Inputs) -> tuple[Any, Any]:
        y = inputs.y_true.astype(inputs.y_pred.dtype)  # float labels, as sklearn requires
        return y, inputs.y_pred

    def value(y: Any, raw: Any) -> Any:
        return loss(y, raw, n_threads=n_threads)

    def gradient_hessian(y: Any, raw: Any) -> Any:
        return loss.gradient_hessian(y_true=y, raw_prediction=raw, n_threads=n_threads)

    def loss_gradient(y: Any, raw: Any) -> Any:
        return loss.loss_gradient(y_true=y, raw_prediction=raw, n_threads=n_threads)

    return {
        "value": Impl(value, prepare, lambda r, _: value_scale * r, note),
        "gradient_hessian": Impl(gradient_hessian, prepare,
                                 lambda r, _: (gradient_scale * r[0], hessian_scale * r[1]),
                                 note),
        "loss_gradient": Impl(loss_gradient, prepare,
                              lambda r, _: (value_scale * r[0], gradient_scale * r[1]), note),
    }
