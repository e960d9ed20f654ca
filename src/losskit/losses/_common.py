"""Helpers shared by the loss families: weighted statistics and distribution factories."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "gradient_root",
    "scipy_factory",
    "weighted_mean",
    "weighted_quantile",
]


def weighted_mean(y: np.ndarray, w: np.ndarray | None) -> float:
    return float(np.average(y, weights=w))


def weighted_quantile(y: np.ndarray, w: np.ndarray | None, q: float) -> float:
    """The smallest ``y_k`` whose cumulative weight reaches ``q`` of the total.

    It minimises the pinball loss ``sum_i w_i rho_q(y_i - c)``: with ``W(.)`` the
    weight of a set, ``W(y < c) <= q W <= W(y <= c)`` holds at that point.
    """
    order = np.argsort(y, kind="stable")
    ys = y[order]
    ws = np.ones_like(ys) if w is None else w[order]
    cumulative = np.cumsum(ws)
    target = q * cumulative[-1]
    index = int(np.searchsorted(cumulative, target * (1 - 4 * np.finfo(float).eps)))
    return float(ys[min(index, ys.size - 1)])


def gradient_root(gradient: Callable[[float], float], low: float, high: float) -> float:
    """A zero of a nondecreasing weighted gradient sum on ``[low, high]`` (brentq)."""
    from scipy.optimize import brentq

    if low == high:
        return low
    f_low, f_high = gradient(low), gradient(high)
    if f_low >= 0:
        return low
    if f_high <= 0:
        return high
    span = max(abs(low), abs(high), 1.0)
    return float(brentq(gradient, low, high, xtol=4 * np.finfo(float).eps * span,
                        rtol=4 * np.finfo(float).eps, maxiter=500))


def scipy_factory(family: str, **fixed: Any) -> Callable[[np.ndarray], Any]:
    """A function ``mu -> frozen scipy.stats distribution`` with the mean/location ``mu``.

    ``family`` names a scipy.stats family; ``fixed`` holds keyword arguments, where a
    callable value is evaluated on ``mu`` (e.g. ``scale=lambda mu: mu``).
    """

    def make(mu: np.ndarray) -> Any:
        import scipy.stats

        kwargs = {k: (v(mu) if callable(v) else v) for k, v in fixed.items()}
        return getattr(scipy.stats, family)(**kwargs)

    return make


SQRT_HALF = math.sqrt(0.5)


# ------------------------------------------------------------ class targets
def class_indices(
    xp: Any, y_true: Any, n_classes: int, *, owner: str, ignore_index: int | None = None,
    check: bool = True, allow_nan: bool = False,
) -> Any:
    """Validate class indices (whole numbers in ``[0, K)`` or ``ignore_index``) -> integers.

    ``allow_nan`` (``nan_policy="propagate"``): a NaN index becomes class 0, a
    placeholder: the loss's NaN mask (``Loss._nan_samples``, from the raw target) makes
    that sample's results NaN.
    """
    from losskit._array import fail_where, is_floating

    if allow_nan and is_floating(y_true):
        y_true = xp.where(xp.isnan(y_true), xp.zeros_like(y_true), y_true)
    if check:
        if is_floating(y_true):
            fail_where(xp, y_true != xp.floor(y_true),
                       f"y_true for '{owner}' holds class indices and must be whole numbers")
        valid = (y_true >= 0) & (y_true < n_classes)
        if ignore_index is not None:
            valid = valid | (y_true == ignore_index)
        extra = f" (or ignore_index={ignore_index})" if ignore_index is not None else ""
        fail_where(xp, ~valid,
                   f"y_true for '{owner}' must be class indices in [0, {n_classes - 1}]{extra}")
    return xp.astype(y_true, _index_dtype(xp))


def _index_dtype(xp: Any) -> Any:
    """int64, or the library's own index dtype (int32 in JAX without x64: no warning)."""
    try:
        return xp.__array_namespace_info__().default_dtypes()["indexing"]
    except (AttributeError, TypeError, KeyError):  # pragma: no cover - older namespaces
        return xp.int64


def one_hot(xp: Any, indices: Any, n_classes: int, dtype: Any, *, like: Any) -> Any:
    """``(..., K)`` one-hot rows of ``indices``; an index outside ``[0, K)`` gives zeros."""
    from array_api_compat import device

    classes = xp.arange(n_classes, device=device(like))
    return xp.astype(indices[..., None] == classes, dtype)


def check_probability_rows(xp: Any, y_true: Any, *, owner: str) -> None:
    """Probability targets: entries in [0, 1], rows summing to 1 (to a dtype tolerance)."""
    from losskit._array import fail_where

    fail_where(xp, (y_true < 0) | (y_true > 1),
               f"y_true for '{owner}' holds probabilities and must be in [0, 1]")
    k = y_true.shape[-1]
    # float32's rounding (about 6e-8 per entry) sets the tolerance, also for float64
    # rows: optimal_constant checks float32 rows after converting them to float64.
    tolerance = 1e-6 * k
    fail_where(xp, xp.abs(xp.sum(y_true, axis=-1) - 1.0) > tolerance,
               f"y_true for '{owner}' holds class probabilities and each row must sum to 1")
