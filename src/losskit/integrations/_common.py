r"""What the XGBoost and LightGBM objectives share: the loss on raw scores, the
starting score, the checks and the surrogate warning.

Gradient boosting fits raw scores ``F(x)`` (margins): a tree's leaf takes the Newton
step ``-sum g / (sum h + lambda)`` of the per-sample gradients ``g`` and Hessians ``h``
of the loss *with respect to the raw score*. So a loss whose natural input is a
probability or a mean is used through its canonical link (``raw_score_loss``):
binary cross-entropy and binary focal loss take logits, cross-entropy softmax logits
(the ``(n, K)`` layout, class axis last), Poisson, Gamma and Tweedie the log of the mean.
A loss already built with a link keeps it.

Scale matters for the regularisation, not for the Newton step: losskit's
``squared_error`` is ``(y_pred - y)^2`` (gradient ``2e``, Hessian ``2``) where XGBoost's
``reg:squarederror`` and LightGBM's ``regression`` are ``½e^2``. ``g/h`` is the same, but
``lambda``, ``min_child_weight`` (``min_sum_hessian_in_leaf``) and ``gamma``
(``min_gain_to_split``) act on sums of ``h`` and on gains, which double. ``0.5 *
lk.get("squared_error")`` is the built-in objective exactly.
"""

from __future__ import annotations

import contextlib
import math
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from losskit._params import check_real
from losskit.core import Loss

__all__ = [
    "HESSIANS",
    "BoostingLoss",
    "SurrogateHessianWarning",
    "raw_score_loss",
]

#: ``hessian=`` choices: the loss's own (exact, diagonal or its declared surrogate), or
#: the sample weight alone (a gradient step per leaf: LightGBM's huber and quantile).
HESSIANS = ("loss", "unit")

#: A starting score of +-inf (a class never seen, all-zero counts under the log link)
#: is clipped to this magnitude: exp(-30) ~ 1e-13 is "never" at float32 precision.
_SCORE_LIMIT = 30.0


class SurrogateHessianWarning(UserWarning):
    """The loss's second derivative is zero or undefined; a positive stand-in is used."""


def raw_score_loss(loss: Any, *, owner: str) -> Loss:
    """``loss`` (a ``Loss`` or a registered name) taking raw scores.

    A loss on a bounded natural space (probabilities, means) gets its canonical raw-score
    link; one already on a link keeps it. ``owner`` names the caller in error messages
    (``"lk.xgboost.objective"``).
    """
    if isinstance(loss, str):
        from losskit.registry import get

        loss = get(loss)
    if not isinstance(loss, Loss):
        raise TypeError(f"loss for {owner} must be a losskit Loss or a registered loss "
                        f"name; got {type(loss).__name__}")
    if not loss.pointwise:
        raise ValueError(f"loss for {owner} must be pointwise (one prediction row per "
                         f"sample): '{loss.name}' is a structured loss")
    from losskit.linear_model import raw_score_loss as with_raw_link

    return with_raw_link(loss, owner=owner)


def _check_serves(loss: Loss, owner: str) -> bool:
    """Gradient and Hessian on the loss's own example inputs: present and finite.

    Returns whether the Hessian is zero on all of them (a piecewise-linear custom loss
    whose derivatives come from automatic differentiation): trees would never split.
    """
    y_pred, y_true = loss.example(8)
    try:
        gradient, hessian = loss.gradient_hessian(y_pred, y_true)
    except NotImplementedError as error:
        raise TypeError(f"loss for {owner}: '{loss.name}' cannot serve as a boosting "
                        "objective: it has no gradient or Hessian") from error
    gradient, hessian = np.asarray(gradient), np.asarray(hessian)
    if not (np.all(np.isfinite(gradient)) and np.all(np.isfinite(hessian))):
        raise ValueError(f"loss for {owner}: '{loss.name}' gives a non-finite gradient or "
                         "Hessian on valid inputs")
    if np.any(hessian < 0):
        warnings.warn(f"'{loss.name}' has a negative Hessian on valid inputs (it is not "
                      "convex in the raw score): leaf values may step the wrong way; "
                      "consider hessian='unit'", UserWarning, stacklevel=4)
    return not np.any(hessian)


class BoostingLoss:
    """A loss on raw scores with what both libraries need; subclassed per library.

    Parameters
    ----------
    loss : Loss or str
        Any pointwise losskit loss (registered, composed or from ``lk.custom``).
    hessian : {"loss", "unit"}
        ``"loss"``: the loss's Hessian (its positive surrogate where the true second
        derivative is zero or undefined, with a ``SurrogateHessianWarning``).
        ``"unit"``: every Hessian is the sample weight, so each leaf moves by the
        weighted mean of the negative gradient (LightGBM's huber and quantile do this).
    min_hessian : float, default 0
        Each sample's Hessian is at least ``min_hessian`` times its weight. A loss with
        a bounded gradient (log-cosh, pseudo-Huber) has a Hessian that vanishes far
        from the target, so a leaf of large residuals takes a Newton step of
        ``-sum g / sum h``: huge, and boosting can diverge. With a floor ``m`` a leaf
        moves at most ``max |g| / m`` (1 / m for log-cosh, ``delta / m`` for
        pseudo-Huber), the Newton step where the curvature is larger.
    """

    library = ""

    def __init__(self, loss: Any, *, hessian: str = "loss", min_hessian: float = 0.0) -> None:
        owner = f"lk.{self.library}.objective"
        if hessian not in HESSIANS:
            raise ValueError(f"hessian for {owner} must be one of {list(HESSIANS)}; "
                             f"got {hessian!r}")
        self.min_hessian = check_real(min_hessian, "min_hessian", low=0.0,
                                      low_inclusive=True, owner=owner)
        self.loss: Loss = raw_score_loss(loss, owner=owner)
        self.hessian = hessian
        self.__name__ = self.loss.name  # libraries name callables by __name__
        if _check_serves(self.loss, owner) and hessian == "loss":
            # xgboost #1428: with h = 0 no leaf reaches min_child_weight, nothing splits.
            self.hessian = "unit"
            warnings.warn(
                f"'{self.loss.name}' has a zero Hessian (piecewise linear): the "
                f"{self.library} objective uses the surrogate Hessian 1 per sample (times "
                "its weight), as for absolute error; pass hessian='unit' to acknowledge it.",
                SurrogateHessianWarning, stacklevel=3)
        elif hessian == "loss" and self.loss.properties.hessian == "surrogate":
            warnings.warn(
                f"'{self.loss.name}' has a zero or undefined second derivative; the "
                f"{self.library} objective uses its positive surrogate Hessian (each leaf "
                "then takes a bounded step, so many rounds or a larger learning rate "
                "may be needed). Pass hessian='unit' to acknowledge a gradient step.",
                SurrogateHessianWarning, stacklevel=3)

    def __repr__(self) -> str:
        extra = "" if self.hessian == "loss" else f", hessian={self.hessian!r}"
        if self.min_hessian:
            extra += f", min_hessian={self.min_hessian!r}"
        return f"lk.{self.library}.objective({self.loss!r}{extra})"

    @property
    def link(self) -> Any:
        """The raw-score link: ``objective.link.inverse(raw)`` gives natural predictions."""
        return self.loss.link

    def starting_score(self, y_true: Any, sample_weight: Any = None) -> np.ndarray:
        """The best constant raw score: ``optimal_constant`` in link space.

        A float64 array of shape ``()``, or ``(K,)`` for a multiclass loss (the log
        class frequencies under softmax, up to a shared constant). Infinite optima
        (a class never seen, all-zero counts) are clipped to ``±30``.
        """
        y = np.asarray(y_true)
        n_classes = None
        if self.loss.multiclass and y.ndim == 1:
            n_classes = int(np.max(y)) + 1 if y.size else None
        score = np.asarray(self.loss.optimal_constant(y, sample_weight, n_classes=n_classes),
                           dtype=np.float64)
        if np.any(np.isnan(score)):
            raise ValueError(f"the starting score of '{self.loss.name}' is undefined for "
                             "these targets")
        return np.clip(score, -_SCORE_LIMIT, _SCORE_LIMIT)

    def gradient_hessian(self, y_pred: Any, y_true: Any,
                         sample_weight: Any) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample weighted gradient and Hessian of the raw scores ``y_pred``."""
        with _one_kernel_thread():
            gradient, hessian = self.loss.gradient_hessian(y_pred, y_true, sample_weight)
        if self.hessian == "unit":
            hessian = self._weights_like(gradient, sample_weight)
        elif self.min_hessian:
            floor = self._weights_like(gradient, sample_weight)
            floor *= gradient.dtype.type(self.min_hessian)
            hessian = np.maximum(hessian, floor, out=floor)
        return gradient, hessian

    @staticmethod
    def _weights_like(gradient: np.ndarray, sample_weight: Any) -> np.ndarray:
        """Each element's sample weight (1 without weights), a new array like ``gradient``."""
        if sample_weight is None:
            return np.ones_like(gradient)
        return (np.broadcast_to(_column(sample_weight, gradient), gradient.shape)
                .astype(gradient.dtype))


class BoostingMetric:
    """The weighted mean of a losskit loss as an evaluation metric; subclassed per
    library, which reads its inputs in ``__call__``.

    ``raw_scores=True`` for a custom objective (the library passes raw scores), else
    the loss takes the transformed predictions of a built-in objective.
    """

    library = ""

    def __init__(self, loss: Any, *, raw_scores: bool = True) -> None:
        if isinstance(loss, BoostingLoss):
            loss = loss.loss
        loss = raw_score_loss(loss, owner=f"lk.{self.library}.metric")
        self.loss = loss if raw_scores else natural_space_loss(loss)
        self.raw_scores = raw_scores
        self.__name__ = self.loss.name

    def __repr__(self) -> str:
        return f"lk.{self.library}.metric({self.loss!r}, raw_scores={self.raw_scores})"


@contextlib.contextmanager
def _one_kernel_thread() -> Iterator[None]:
    """Run losskit's numba kernels on one thread for the duration of the call.

    The booster's OpenMP threads have just finished a parallel region and, by default,
    spin for a while: a multi-threaded kernel then fights them for the cores (measured on
    a loaded 2-core machine: 16 ms instead of 0.2 ms for 5e5 rows). One thread computes
    a gradient and Hessian of 5e5 rows in about 0.2 ms, a small part of a round.
    """
    numba = sys.modules.get("numba")
    if numba is None:
        from losskit._fast import available

        if not available():
            yield
            return
        numba = sys.modules["numba"]
    saved = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(saved)


def _column(weight: Any, like: np.ndarray) -> np.ndarray:
    weight = np.asarray(weight)
    return weight[:, None] if like.ndim == 2 and weight.ndim == 1 else weight


def multiclass_scores(loss: Loss, y_pred: np.ndarray, n_samples: int) -> np.ndarray:
    """``y_pred`` as ``(n, K)`` C-contiguous for a multiclass loss, else as given."""
    if not loss.multiclass:
        if y_pred.ndim == 2 and y_pred.shape[1] == 1:
            return y_pred[:, 0]
        if y_pred.ndim != 1:
            raise ValueError(f"'{loss.name}' is a single-output loss but the booster gives "
                             f"scores of shape {y_pred.shape}; drop num_class")
        return y_pred
    if y_pred.ndim != 2 or y_pred.shape[0] != n_samples:
        # XGBoost >= 2 and LightGBM >= 4 give (n, K); a flat array means no num_class.
        raise ValueError(f"'{loss.name}' is a multiclass loss but the booster gives scores "
                         f"of shape {y_pred.shape} for {n_samples} samples; set num_class")
    return np.ascontiguousarray(y_pred)


def weights_or_none(weight: Any) -> Any:
    """A library's "no weights" (None or an empty array) as None."""
    if weight is None:
        return None
    weight = np.asarray(weight)
    return None if weight.size == 0 else weight


def mean_loss(loss: Loss, y_pred: Any, y_true: Any, sample_weight: Any) -> float:
    """The weighted mean loss as a Python float."""
    value = float(loss(y_pred, y_true, sample_weight=sample_weight))
    return value if math.isfinite(value) else math.inf


def natural_space_loss(loss: Loss) -> Loss:
    """The loss taking natural-space predictions (for metrics on built-in objectives)."""
    from losskit.core import _natural_space_twin

    return _natural_space_twin(loss)
