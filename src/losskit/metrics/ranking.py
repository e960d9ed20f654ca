r"""Ranking metrics: NDCG, average precision (MAP) and mean reciprocal rank.

Each takes ``(y_true, y_score)`` as scikit-learn's metrics do (metrics score a fitted
model; losses, which take ``(y_pred, y_true)``, fit it): graded relevance and scores of
shape ``(n_lists, list_size)``, with entries whose ``y_true`` equals ``padding_value``
(-1 by default, as the ranking losses) left out of their list. ``reduction="mean"``
(default) averages over the lists that hold at least one item; ``"none"`` returns one
value per list (NaN for a list that is all padding). They are evaluation tools and
compute in NumPy on any array-API input, returning NumPy floats.

Conventions:

- **Ties in the scores** are resolved by their expectation over a uniformly random
  order of the tied items, as ``sklearn.metrics.ndcg_score`` does (``ignore_ties=False``).
  For average precision tied items form one threshold, as in
  ``sklearn.metrics.average_precision_score``.
- **A list with nothing relevant** (all relevance 0) scores 0 for every metric, as in
  scikit-learn.
- **Gain** of NDCG: ``"exponential"`` ``2^rel - 1`` (Burges et al. 2005; what the
  ranking losses use, LightGBM and TF-Ranking too) or ``"linear"`` ``rel``
  (``sklearn.metrics.ndcg_score``). Discount ``1 / log2(1 + rank)``.
- An item is **relevant** for average precision and MRR when its relevance is > 0.

>>> import numpy as np
>>> from losskit.metrics import ndcg, mrr
>>> y_true = np.array([[3.0, 2.0, 0.0, -1.0]])  # the last entry is padding
>>> float(ndcg(y_true, np.array([[0.9, 0.8, 0.1, 5.0]])))  # ideal order
1.0
>>> float(mrr(y_true, np.array([[0.1, 0.2, 0.9, 0.0]])))  # first relevant at rank 2
0.5
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from losskit import _array

__all__ = ["average_precision", "mean_average_precision", "mrr", "ndcg"]

_GAINS = ("exponential", "linear")
_REDUCTIONS = ("mean", "none")


def _lists(y_true: Any, y_score: Any, padding_value: float | None, name: str
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(relevance, scores, valid) as float64 NumPy ``(n_lists, list_size)`` arrays."""
    relevance = _array.to_numpy(_array.as_array(y_true, "y_true")).astype(np.float64)
    scores = _array.to_numpy(_array.as_array(y_score, "y_score")).astype(np.float64)
    if relevance.ndim != 2:
        raise ValueError(f"y_true for {name} must have shape (n_lists, list_size); got "
                         f"shape {relevance.shape} (one list: y_true[None, :])")
    if scores.shape != relevance.shape:
        raise ValueError(f"y_score for {name} must have y_true's shape {relevance.shape}; "
                         f"got {scores.shape}")
    if relevance.size == 0:
        raise ValueError(f"y_true for {name} is empty: shape {relevance.shape}")
    for label, array in (("y_true", relevance), ("y_score", scores)):
        if not np.all(np.isfinite(array)):
            first = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
            raise ValueError(f"{label} for {name} must be finite; got a non-finite value at "
                             f"index {first}")
    valid = (np.ones(relevance.shape, dtype=bool) if padding_value is None
             else relevance != padding_value)
    bad = valid & (relevance < 0)
    if np.any(bad):
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        padding = "" if padding_value is None else f" or padding_value={padding_value:g}"
        raise ValueError(f"y_true for {name} must be graded relevance >= 0{padding}; got "
                         f"{int(bad.sum())} such values (first at index {first})")
    return relevance, scores, valid


def _check_k(k: int | None) -> int | None:
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer or None; got {k!r}")
    return int(k)


def _reduce(values: np.ndarray, reduction: str) -> Any:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {list(_REDUCTIONS)}; got {reduction!r}")
    if reduction == "none":
        return values
    present = ~np.isnan(values)
    if not np.any(present):
        raise ValueError("every list is padding: the mean over lists is undefined")
    return np.float64(np.mean(values[present]))


def _tie_groups(scores: np.ndarray) -> list[np.ndarray]:
    """Indices of the items by descending score, grouped by equal score."""
    order = np.argsort(-scores, kind="stable")
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return np.split(order, starts[1:])


def _discounts(size: int, k: int | None) -> np.ndarray:
    """``1 / log2(1 + r)`` for ranks ``r = 1..size``, 0 beyond ``k``."""
    discount = 1.0 / np.log2(np.arange(2, size + 2, dtype=np.float64))
    if k is not None:
        discount[k:] = 0.0
    return discount


def ndcg(y_true: Any, y_score: Any, *, k: int | None = None, gain: str = "exponential",
         padding_value: float | None = -1.0, reduction: str = "mean") -> Any:
    r"""Normalised discounted cumulative gain, at ``k`` (all items when None).

    .. math:: \mathrm{NDCG@k} = \frac{\sum_{r \le k} G_{\pi(r)} / \log_2(1 + r)}
              {\sum_{r \le k} G^\ast_{(r)} / \log_2(1 + r)}

    with the items ordered by descending score (ties: the expected DCG over the
    orders of the tied items, scikit-learn's convention) and ``G*`` the gains sorted
    descending. ``gain="linear"`` matches ``sklearn.metrics.ndcg_score``.
    """
    k = _check_k(k)
    if gain not in _GAINS:
        raise ValueError(f"gain must be one of {list(_GAINS)}; got {gain!r}")
    relevance, scores, valid = _lists(y_true, y_score, padding_value, "ndcg")
    out = np.full(relevance.shape[0], np.nan)
    for row in range(relevance.shape[0]):
        keep = valid[row]
        if not np.any(keep):
            continue
        y, s = relevance[row, keep], scores[row, keep]
        # 2^y - 1 times 2^-max(y): NDCG is a ratio of gains, and 2^y overflows at y = 1024.
        gains = y if gain == "linear" else np.exp2(y - y.max()) - np.exp2(-y.max())
        discount = _discounts(y.size, k)
        ideal = float(np.sum(np.sort(gains)[::-1] * discount))
        if ideal == 0.0:
            out[row] = 0.0
            continue
        dcg, start = 0.0, 0
        for group in _tie_groups(s):
            stop = start + group.size
            dcg += float(np.sum(gains[group])) * float(np.mean(discount[start:stop]))
            start = stop
        out[row] = dcg / ideal
    return _reduce(out, reduction)


def average_precision(y_true: Any, y_score: Any, *, padding_value: float | None = -1.0,
                      reduction: str = "mean") -> Any:
    r"""Average precision of each list (relevant: relevance > 0); the mean is MAP.

    .. math:: \mathrm{AP} = \sum_t (R_t - R_{t-1})\, P_t

    over the distinct score thresholds ``t`` (descending), ``P_t`` and ``R_t`` the
    precision and recall of the items scored ``>= t``: per list, exactly
    ``sklearn.metrics.average_precision_score(y_true > 0, y_score)``. Without ties it
    is the mean of the precisions at the ranks of the relevant items.
    """
    relevance, scores, valid = _lists(y_true, y_score, padding_value, "average_precision")
    out = np.full(relevance.shape[0], np.nan)
    for row in range(relevance.shape[0]):
        keep = valid[row]
        if not np.any(keep):
            continue
        relevant = relevance[row, keep] > 0
        total = int(np.sum(relevant))
        if total == 0:
            out[row] = 0.0
            continue
        hits = seen = 0
        value = 0.0
        for group in _tie_groups(scores[row, keep]):
            new = int(np.sum(relevant[group]))
            hits += new
            seen += group.size
            value += (new / total) * (hits / seen)
        out[row] = value
    return _reduce(out, reduction)


def mean_average_precision(y_true: Any, y_score: Any, *,
                           padding_value: float | None = -1.0) -> Any:
    """MAP: the mean of :func:`average_precision` over the lists."""
    return average_precision(y_true, y_score, padding_value=padding_value, reduction="mean")


def mrr(y_true: Any, y_score: Any, *, padding_value: float | None = -1.0,
        reduction: str = "mean") -> Any:
    r"""Mean reciprocal rank of the first relevant item (relevance > 0).

    With ties, the expectation over a uniformly random order of the tied items: if the
    first tied group holding a relevant item starts after ``a`` items and holds ``m``
    items, ``c`` of them relevant, the first relevant one is at ``a + 1 + X`` with
    ``P(X = x) = C(m - 1 - x, c - 1) / C(m, c)``.
    """
    relevance, scores, valid = _lists(y_true, y_score, padding_value, "mrr")
    out = np.full(relevance.shape[0], np.nan)
    for row in range(relevance.shape[0]):
        keep = valid[row]
        if not np.any(keep):
            continue
        relevant = relevance[row, keep] > 0
        out[row] = 0.0
        before = 0
        for group in _tie_groups(scores[row, keep]):
            count = int(np.sum(relevant[group]))
            if count:
                size = group.size
                total = math.comb(size, count)
                out[row] = sum(math.comb(size - 1 - x, count - 1) / total / (before + 1 + x)
                               for x in range(size - count + 1))
                break
            before += group.size
    return _reduce(out, reduction)
