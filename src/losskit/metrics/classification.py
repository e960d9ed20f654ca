"""Classification metrics: ``log_loss``, ``accuracy``, ``balanced_accuracy``, ``f1``,
``roc_auc``, ``average_precision``, ``brier``.

``y_true`` holds class indices ``0 .. K-1``. ``y_pred`` is what the metric's kind asks
for: probabilities (``(n,)`` of the positive class, or ``(n, K)``), scores (for
``roc_auc`` and ``average_precision``; any increasing function of the probability gives
the same value) or labels. ``tests/test_compare.py`` checks them against
``sklearn.metrics``.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from losskit.metrics._metric import Metric, register_metric

__all__ = ["accuracy", "average_precision", "balanced_accuracy", "brier", "f1", "log_loss",
           "roc_auc"]


def _labels(y_true: np.ndarray) -> np.ndarray:
    labels = np.asarray(y_true).reshape(-1)
    if labels.size == 0:
        raise ValueError("y_true is empty")
    return labels.astype(int)


def _proba_matrix(y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    proba = np.asarray(y_pred, dtype=float)
    if proba.ndim == 1:
        proba = np.column_stack([1.0 - proba, proba])
    if proba.shape[1] < n_classes:
        raise ValueError(f"y_pred has {proba.shape[1]} columns for {n_classes} classes")
    return proba


def log_loss(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean negative log-probability of the true class (probabilities clipped at 1e-15)."""
    labels = _labels(y_true)
    proba = _proba_matrix(y_pred, int(labels.max()) + 1)
    proba = proba / proba.sum(axis=1, keepdims=True)
    picked = np.clip(proba[np.arange(labels.size), labels], 1e-15, 1.0)
    return float(-np.mean(np.log(picked)))


def _predicted_labels(y_pred: np.ndarray) -> np.ndarray:
    values = np.asarray(y_pred)
    if values.ndim == 2:
        return np.argmax(values, axis=1)
    if values.dtype.kind == "f" and np.any((values != 0) & (values != 1)):
        return (values >= 0.5).astype(int)  # probabilities of the positive class
    return values.astype(int)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of correct labels."""
    return float(np.mean(_labels(y_true) == _predicted_labels(y_pred)))


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean over classes of the recall (accuracy that does not reward the majority)."""
    labels = _labels(y_true)
    predicted = _predicted_labels(y_pred)
    return float(np.mean([np.mean(predicted[labels == k] == k) for k in np.unique(labels)]))


def f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """F1 score of class 1 (binary) or the macro average over classes (multiclass)."""
    labels = _labels(y_true)
    predicted = _predicted_labels(y_pred)
    classes = [1] if labels.max(initial=0) <= 1 and predicted.max(initial=0) <= 1 else list(
        np.unique(np.concatenate([labels, predicted])))
    scores = []
    for k in classes:
        true_positive = np.sum((predicted == k) & (labels == k))
        denominator = np.sum(predicted == k) + np.sum(labels == k)
        scores.append(0.0 if denominator == 0 else 2.0 * true_positive / denominator)
    return float(np.mean(scores))


def _binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)  # ties share their mean rank: the Mann-Whitney statistic
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_auc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Area under the ROC curve; one-vs-rest macro average for ``(n, K)`` scores."""
    labels = _labels(y_true)
    scores = np.asarray(y_pred, dtype=float)
    if scores.ndim == 1:
        return _binary_auc(labels == 1, scores)
    return float(np.nanmean([_binary_auc(labels == k, scores[:, k])
                             for k in range(scores.shape[1])]))


def average_precision(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Area under the precision-recall curve of class 1 (step-wise, as scikit-learn)."""
    positive = _labels(y_true) == 1
    scores = np.asarray(y_pred, dtype=float)
    if scores.ndim == 2:
        scores = scores[:, 1]
    if not positive.any():
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, hits = scores[order], positive[order]
    # One point per distinct score, as ties are predicted positive together.
    last = np.r_[np.flatnonzero(np.diff(sorted_scores)), hits.size - 1]
    true_positives = np.cumsum(hits)[last]
    precision = true_positives / (last + 1)
    recall = true_positives / positive.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def brier(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean squared distance between probabilities and one-hot labels (binary: of class 1)."""
    labels = _labels(y_true)
    proba = np.asarray(y_pred, dtype=float)
    if proba.ndim == 1:
        return float(np.mean((proba - labels) ** 2))
    onehot = np.eye(proba.shape[1])[labels]
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


for _metric in (
    Metric("log_loss", log_loss, False, "proba", "classification", "mean log loss"),
    Metric("accuracy", accuracy, True, "label", "classification", "accuracy"),
    Metric("balanced_accuracy", balanced_accuracy, True, "label", "classification",
           "mean recall over classes"),
    Metric("f1", f1, True, "label", "classification", "F1 score (macro for multiclass)"),
    Metric("roc_auc", roc_auc, True, "score", "classification", "area under the ROC curve"),
    Metric("average_precision", average_precision, True, "score", "classification",
           "area under the precision-recall curve"),
    Metric("brier", brier, False, "proba", "classification", "Brier score"),
):
    register_metric(_metric)
