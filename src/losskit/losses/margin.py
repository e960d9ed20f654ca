r"""Margin losses: functions of the margin ``m = s z`` of a raw decision value ``z``.

The binary losses take labels ``y_true`` in ``{0, 1}`` or ``{-1, 1}`` (not a mix of
``0`` and ``-1``), mapped to signs ``s = -1 if y == 0 else y``, and raw decision
values ``y_pred = z`` (an SVM's decision function, a boosting score); each is a
function ``phi(m)`` of the margin ``m = s z``, so that

.. math:: L = \phi(s z),\quad \partial_z L = s\,\phi'(s z),\quad
          \partial_z^2 L = \phi''(s z)\;(s^2 = 1).

``multiclass_hinge`` takes ``(..., K)`` scores with the class axis last and class
indices (or one-hot rows). Only the identity link exists: these losses are defined
on scores already. Where the second derivative is zero or undefined (the hinges),
``hessian`` returns the positive surrogate 1 and ``properties.hessian`` says
``"surrogate"``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from array_api_compat import device

from losskit._array import can_inspect, fail_where, is_floating
from losskit._params import check_choice, check_real
from losskit.core import Loss, Properties
from losskit.links import Interval
from losskit.losses._common import class_indices, one_hot
from losskit.registry import register

__all__ = ["Exponential", "Hinge", "MulticlassHinge", "SquaredHinge"]

#: Binary labels: {0, 1} or {-1, 1}; the interval is their hull, the check is exact.
SIGNED_UNIT = Interval(-1.0, 1.0, low_inclusive=True, high_inclusive=True)
#: Example margins stay this far from the kinks, so finite differences see no kink.
_KINK_GAP = 0.05


# ------------------------------------------------------------------- binary
class _BinaryMargin(Loss):
    """A loss ``phi(s z)`` of the margin, with ``s = -1 if y == 0 else y``."""

    links = ("identity",)
    y_true_domain = SIGNED_UNIT
    y_pred_meaning = "a raw decision value"

    def __init__(self, *, link: str | None = None, nan_policy: str = "raise") -> None:
        super().__init__(link=link, nan_policy=nan_policy)

    # phi, phi' and phi'' of the margin m = s z; subclasses write them side by side.
    def _value_of_margin(self, xp: Any, m: Any) -> Any:
        raise NotImplementedError

    def _derivative_of_margin(self, xp: Any, m: Any) -> Any:
        raise NotImplementedError

    def _second_of_margin(self, xp: Any, m: Any) -> Any:
        raise NotImplementedError

    def _constant_from_weights(self, positive: float, negative: float) -> float:
        """argmin_c of ``W+ phi(c) + W- phi(-c)``."""
        raise NotImplementedError

    @staticmethod
    def _signs(xp: Any, y_true: Any) -> Any:
        return xp.where(y_true == 0, -xp.ones_like(y_true), y_true)

    def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self._value_of_margin(xp, self._signs(xp, y_true) * y_pred)

    def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        s = self._signs(xp, y_true)
        return s * self._derivative_of_margin(xp, s * y_pred)

    def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self._second_of_margin(xp, self._signs(xp, y_true) * y_pred)

    def _check_target(self, xp: Any, y_true: Any) -> None:
        conventions = "binary labels in {0, 1} or {-1, 1}"
        fail_where(xp, (y_true != 0) & (y_true != 1) & (y_true != -1),
                   f"y_true for '{self.name}' must be {conventions}")
        if bool(xp.any(y_true == 0)):
            fail_where(xp, y_true == -1,
                       f"y_true for '{self.name}' must be {conventions}, not a mix: it "
                       "holds both 0 and -1 (is 0 a negative label or a third class?)")

    def _optimal_constant(self, y: np.ndarray, w: np.ndarray | None) -> float:
        weights = np.ones_like(y) if w is None else w
        positive = float(np.sum(weights[y == 1]))
        negative = float(np.sum(weights[y != 1]))
        return self._constant_from_weights(positive, negative)

    def example(self, n: int = 8, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Labels in ``{0, 1}`` (both present, unequal counts) and decision values.

        The margins ``s z`` are drawn in ``[-2, 3]`` at least ``0.05`` from the hinge
        at 1, so every derivative is defined there and finite differences are clean.
        """
        rng = np.random.default_rng(seed)
        n_positive = min(max(n // 2 + 1, 1), max(n - 1, 1))
        y = (rng.permutation(n) < n_positive).astype(np.float64)
        m = rng.uniform(-2.0, 3.0, size=n)
        m = np.where(np.abs(m - 1.0) < _KINK_GAP, m + 2 * _KINK_GAP, m)
        return np.where(y == 0, -1.0, 1.0) * m, y


@register("hinge")
class Hinge(_BinaryMargin):
    r"""Hinge loss of a support-vector machine: ``max(0, 1 - s z)``.

    .. math:: L = \max(0, 1 - s z),\quad
              \partial_z L = -s\,1[s z < 1],\quad
              \partial_z^2 L = 0 \text{ (surrogate: 1)}

    with ``s = -1`` for label 0 (or -1) and ``s = 1`` for label 1. The second
    derivative is 0 (undefined at ``s z = 1``); ``hessian`` returns the positive
    surrogate 1 for Newton and boosting steps. Matches ``sklearn.metrics.hinge_loss``
    for binary labels. The best constant is a class: ``+1`` if the positive weight
    ``W+`` is at least the negative weight ``W-``, else ``-1`` (on a tie every
    ``c`` in ``[-1, 1]`` is optimal).

    References
    ----------
    Cortes, C. & Vapnik, V. (1995). Support-vector networks. Machine Learning 20,
    273-297. https://doi.org/10.1007/BF00994018
    """

    formula = r"\max(0,\, 1 - s z)"
    gradient_formula = r"-s\,1[s z < 1]"
    hessian_formula = r"0 \text{ (surrogate: 1)}"

    def _properties(self) -> Properties:
        return Properties(convex=True, smoothness=0, lipschitz=1.0, bounded_gradient=True,
                          robust=None, hessian="surrogate",
                          statistic="sign of the weighted majority class")

    def _value_of_margin(self, xp: Any, m: Any) -> Any:
        return xp.where(m < 1, 1.0 - m, xp.zeros_like(m))

    def _derivative_of_margin(self, xp: Any, m: Any) -> Any:
        return xp.where(m < 1, -xp.ones_like(m), xp.zeros_like(m))

    def _second_of_margin(self, xp: Any, m: Any) -> Any:
        return xp.ones_like(m)

    def _constant_from_weights(self, positive: float, negative: float) -> float:
        # On [-1, 1] the objective is W+(1 - c) + W-(1 + c): linear, so an end wins;
        # outside it only grows.
        return 1.0 if positive >= negative else -1.0


@register("squared_hinge")
class SquaredHinge(_BinaryMargin):
    r"""Squared hinge loss ``max(0, 1 - s z)^2``, the L2-SVM loss.

    .. math:: L = \max(0, 1 - s z)^2,\quad
              \partial_z L = -2 s \max(0, 1 - s z),\quad
              \partial_z^2 L = 2\cdot 1[s z < 1]

    Once differentiable; the second derivative jumps at ``s z = 1``. The best
    constant is ``(W+ - W-) / (W+ + W-)``, i.e. ``2 P(y = 1) - 1``. As scikit-learn's
    ``LinearSVC(loss="squared_hinge")`` and Keras's ``squared_hinge``.

    References
    ----------
    Zhang, T. (2004). Statistical behavior and consistency of classification methods
    based on convex risk minimization. Annals of Statistics 32(1), 56-85.
    https://doi.org/10.1214/aos/1079120130
    """

    formula = r"\max(0,\, 1 - s z)^2"
    gradient_formula = r"-2 s \max(0,\, 1 - s z)"
    hessian_formula = r"2\cdot 1[s z < 1]"

    def _properties(self) -> Properties:
        return Properties(convex=True, smoothness=1, lipschitz=None, bounded_gradient=False,
                          robust=None, hessian="exact", statistic="2 P(y = 1) - 1")

    def _value_of_margin(self, xp: Any, m: Any) -> Any:
        slack = xp.where(m < 1, 1.0 - m, xp.zeros_like(m))
        return slack * slack

    def _derivative_of_margin(self, xp: Any, m: Any) -> Any:
        return xp.where(m < 1, 2.0 * (m - 1.0), xp.zeros_like(m))

    def _second_of_margin(self, xp: Any, m: Any) -> Any:
        return xp.where(m < 1, xp.full_like(m, 2.0), xp.zeros_like(m))

    def _constant_from_weights(self, positive: float, negative: float) -> float:
        return (positive - negative) / (positive + negative)


@register("exponential", aliases=("adaboost",))
class Exponential(_BinaryMargin):
    r"""Exponential loss of AdaBoost: ``exp(-s z)``.

    .. math:: L = e^{-s z},\quad \partial_z L = -s\,e^{-s z},\quad
              \partial_z^2 L = e^{-s z}

    Its population minimiser is half the log-odds, ``z = ½ log(P(y=1) / P(y=0))``
    (Friedman, Hastie & Tibshirani 2000), so the best constant is
    ``½ log(W+ / W-)``, ``±inf`` when one class is absent. Not Lipschitz: the
    gradient grows without bound for wrong-sided margins, and ``exp`` overflows to
    ``inf`` beyond ``s z < -709`` in float64 (``-88`` in float32).

    References
    ----------
    Freund, Y. & Schapire, R. E. (1997). A decision-theoretic generalization of
    on-line learning and an application to boosting. JCSS 55(1), 119-139.
    https://doi.org/10.1006/jcss.1997.1504
    Friedman, J., Hastie, T. & Tibshirani, R. (2000). Additive logistic regression:
    a statistical view of boosting. Annals of Statistics 28(2), 337-407.
    https://doi.org/10.1214/aos/1016218223
    """

    formula = r"e^{-s z}"
    gradient_formula = r"-s\,e^{-s z}"
    hessian_formula = r"e^{-s z}"

    def _properties(self) -> Properties:
        return Properties(convex=True, smoothness=math.inf, lipschitz=None,
                          bounded_gradient=False, robust=None, hessian="exact",
                          statistic="half the log-odds")

    def _value_of_margin(self, xp: Any, m: Any) -> Any:
        return xp.exp(-m)

    def _derivative_of_margin(self, xp: Any, m: Any) -> Any:
        return -xp.exp(-m)

    def _second_of_margin(self, xp: Any, m: Any) -> Any:
        return xp.exp(-m)

    def _gradient_hessian(self, xp: Any, y_pred: Any, y_true: Any) -> tuple[Any, Any]:
        s = self._signs(xp, y_true)
        value = xp.exp(-s * y_pred)
        return -s * value, value

    def _constant_from_weights(self, positive: float, negative: float) -> float:
        if negative == 0:
            return math.inf
        if positive == 0:
            return -math.inf
        return 0.5 * math.log(positive / negative)


# --------------------------------------------------------------- multiclass
_KINDS = ("crammer_singer", "weston_watkins")


@register("multiclass_hinge")
class MulticlassHinge(Loss):
    r"""Multiclass hinge loss on ``(..., K)`` scores: Crammer–Singer or Weston–Watkins.

    With scores ``z`` (class axis last), target class ``y`` and ``margin`` ``mu``:

    .. math::
        \text{Crammer–Singer: } L = \max\bigl(0,\ \mu + \max_{k \ne y} z_k - z_y\bigr),
        \quad \partial_{z_k} L = 1[L > 0]\,(1[k = k^*] - 1[k = y])

        \text{Weston–Watkins: } L = \frac1K \sum_{k \ne y} \max(0,\ \mu - z_y + z_k),
        \quad \partial_{z_k} L = \frac1K\Bigl(a_k - 1[k = y]\sum_{j} a_j\Bigr)

    where ``k*`` is the first ``argmax_{k != y} z_k`` and ``a_k = 1[k != y,
    mu - z_y + z_k > 0]``. The second derivatives are 0 (undefined at the kinks);
    ``hessian`` returns the positive surrogate 1 on every entry.

    ``kind="crammer_singer"`` with ``margin=1`` matches ``sklearn.metrics.hinge_loss``
    for multiclass labels; ``kind="weston_watkins"`` matches PyTorch's
    ``multi_margin_loss`` (``p=1``, ``weight=None``; PyTorch divides by ``K``).
    ``y_true`` holds class indices of shape ``y_pred.shape[:-1]``, or one-hot rows of
    ``y_pred``'s shape. ``optimal_constant`` is exact: a linear program over the
    constant score vector, normalised to sum to 0 (scores are defined up to a shift).

    References
    ----------
    Crammer, K. & Singer, Y. (2001). On the algorithmic implementation of multiclass
    kernel-based vector machines. JMLR 2, 265-292.
    Weston, J. & Watkins, C. (1999). Support vector machines for multi-class pattern
    recognition. Proc. ESANN 1999, 219-224.
    """

    formula = (r"\max(0,\, \mu + \max_{k\ne y} z_k - z_y) \;\text{(CS)},\quad "
               r"\tfrac1K \sum_{k\ne y} \max(0,\, \mu - z_y + z_k) \;\text{(WW)}")
    gradient_formula = (r"1[L>0](e_{k^*} - e_y) \;\text{(CS)},\quad "
                        r"\tfrac1K(a - e_y \textstyle\sum_j a_j) \;\text{(WW)}")
    hessian_formula = r"0 \text{ (surrogate: 1)}"
    links = ("identity",)
    multiclass = True
    y_pred_meaning = "raw class scores"

    def __init__(self, *, kind: str = "crammer_singer", margin: float = 1.0,
                 link: str | None = None, nan_policy: str = "raise") -> None:
        self.kind = check_choice(kind, "kind", _KINDS, owner="multiclass_hinge")
        self.margin = check_real(margin, "margin", low=0.0, owner="multiclass_hinge")
        super().__init__(link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        # Euclidean norm of one sample's gradient: sqrt(2) (CS), sqrt((K-1)/K) (WW).
        lipschitz = math.sqrt(2.0) if self.kind == "crammer_singer" else 1.0
        return Properties(convex=True, smoothness=0, lipschitz=lipschitz,
                          bounded_gradient=True, robust=None, hessian="surrogate",
                          statistic="class scores of the exact LP minimiser")

    # ---------------------------------------------------------------- targets
    def _prepare_target(self, xp: Any, y_true: Any, y_pred: Any) -> Any:
        n_classes = y_pred.shape[-1]
        check = can_inspect(y_true)
        if check and self.nan_policy == "propagate" and is_floating(y_true):
            # A NaN target makes its sample NaN (the base masks it); check the others.
            y_true = _nan_rows_to_class_zero(xp, y_true, one_hot=y_true.ndim == y_pred.ndim)
        if tuple(y_true.shape) == tuple(y_pred.shape):
            if check:
                fail_where(xp, (y_true != 0) & (y_true != 1),
                           f"y_true for '{self.name}' with y_pred's shape holds one-hot "
                           "rows and must be 0 or 1")
                fail_where(xp, xp.sum(y_true, axis=-1) != 1,
                           f"y_true for '{self.name}' with y_pred's shape holds one-hot "
                           "rows, each with exactly one 1")
            return xp.argmax(y_true, axis=-1)
        if tuple(y_true.shape) != tuple(y_pred.shape[:-1]):
            raise ValueError(
                f"y_true for '{self.name}' must hold class indices of shape "
                f"{tuple(y_pred.shape[:-1])} (y_pred's shape without its class axis) "
                f"or one-hot rows of shape {tuple(y_pred.shape)}; got shape "
                f"{tuple(y_true.shape)}"
            )
        return class_indices(xp, y_true, n_classes, owner=self.name, check=check,
                             allow_nan=self.nan_policy == "propagate")

    def _check_target(self, xp: Any, y_true: Any) -> None:
        """Class indices are checked (when inspectable) by ``_prepare_target``."""

    # ---------------------------------------------------------------- kernels
    def _target_scores(self, xp: Any, z: Any, y: Any) -> tuple[Any, Any]:
        target = one_hot(xp, y, z.shape[-1], z.dtype, like=z)
        return target, xp.sum(z * target, axis=-1)

    def _rivals(self, xp: Any, z: Any, target: Any) -> Any:
        """The scores with the target's replaced by ``-inf``."""
        return xp.where(target > 0, xp.full_like(z, -math.inf), z)

    def _ww_active(self, xp: Any, z: Any, target: Any, z_y: Any) -> tuple[Any, Any]:
        violation = self.margin - z_y[..., None] + z
        return violation, (violation > 0) & (target == 0)

    def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        target, z_y = self._target_scores(xp, y_pred, y_true)
        if self.kind == "crammer_singer":
            excess = self.margin + xp.max(self._rivals(xp, y_pred, target), axis=-1) - z_y
            return xp.where(excess > 0, excess, xp.zeros_like(excess))
        violation, active = self._ww_active(xp, y_pred, target, z_y)
        hinged = xp.where(active, violation, xp.zeros_like(violation))
        return xp.sum(hinged, axis=-1) / y_pred.shape[-1]

    def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        n_classes = y_pred.shape[-1]
        target, z_y = self._target_scores(xp, y_pred, y_true)
        if self.kind == "crammer_singer":
            rivals = self._rivals(xp, y_pred, target)
            active = xp.astype(self.margin + xp.max(rivals, axis=-1) - z_y > 0, y_pred.dtype)
            rival = one_hot(xp, xp.argmax(rivals, axis=-1), n_classes, y_pred.dtype,
                            like=y_pred)
            return active[..., None] * (rival - target)
        _, active = self._ww_active(xp, y_pred, target, z_y)
        counted = xp.astype(active, y_pred.dtype)
        return (counted - target * xp.sum(counted, axis=-1, keepdims=True)) / n_classes

    def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return xp.ones_like(y_pred)

    # ------------------------------------------------------ optimal constant
    def _optimal_constant_numpy(
        self, y: np.ndarray, w: np.ndarray | None, n_classes: int | None
    ) -> np.ndarray:
        return self._constant_from_class_weights(self._class_weights(y, w, n_classes))

    def _class_weights(
        self, y: np.ndarray, w: np.ndarray | None, n_classes: int | None
    ) -> np.ndarray:
        """Total sample weight ``W_k`` of each class, from indices or one-hot rows."""
        owner = f"y_true for '{self.name}'"
        one_hot_rows = (
            y.ndim >= 2
            and (n_classes is None or y.shape[-1] == n_classes)
            and bool(np.all((y == 0) | (y == 1)))
            and bool(np.all(np.sum(y, axis=-1) == 1))
        )
        if one_hot_rows:
            if y.shape[-1] < 2:
                raise ValueError(f"{owner} needs at least 2 classes; got shape {y.shape}")
            rows = y.reshape(-1, y.shape[-1])
            weights = np.ones(y.shape[:-1]) if w is None else _broadcast(w, y.shape[:-1])
            return np.sum(weights.reshape(-1, 1) * rows, axis=0)
        if np.any(y != np.floor(y)) or np.any(y < 0):
            raise ValueError(f"{owner} must be class indices (whole numbers >= 0) or "
                             "one-hot rows")
        top = int(np.max(y))
        size = max(top + 1, 2) if n_classes is None else int(n_classes)
        if top >= size:
            raise ValueError(f"{owner} must be class indices in [0, {size - 1}] "
                             f"(n_classes={size}); got {top}")
        weights = np.ones(y.shape) if w is None else _broadcast(w, y.shape)
        return np.bincount(y.astype(np.int64).ravel(), weights=weights.ravel(),
                           minlength=size).astype(np.float64)

    def _constant_from_class_weights(self, class_weights: np.ndarray) -> np.ndarray:
        r"""Exact ``argmin_c sum_y W_y L(c, y)`` by a linear program over ``(c, t)``.

        Slacks ``t >= 0`` bound the hinges from above: one per present class ``y``
        (Crammer–Singer, ``t_y >= mu + c_k - c_y`` for all ``k != y``) or one per
        pair (Weston–Watkins, ``t_yk >= mu + c_k - c_y``, cost ``W_y / K``).
        """
        from scipy.optimize import linprog
        from scipy.sparse import coo_array

        n_classes = class_weights.size
        present = np.flatnonzero(class_weights > 0)
        rows, cols, data, cost = [], [], [], [0.0] * n_classes
        row = 0
        for y in present:
            if self.kind == "crammer_singer":
                cost.append(float(class_weights[y]))
            for k in range(n_classes):
                if k == y:
                    continue
                if self.kind == "weston_watkins":
                    cost.append(float(class_weights[y]) / n_classes)
                slack = len(cost) - 1
                rows += [row, row, row]
                cols += [k, int(y), slack]
                data += [1.0, -1.0, -1.0]
                row += 1
        n_variables = len(cost)
        a_ub = coo_array((data, (rows, cols)), shape=(row, n_variables))
        a_eq = np.zeros((1, n_variables))
        a_eq[0, :n_classes] = 1.0  # shift invariance: pick the scores that sum to 0
        bounds = [(None, None)] * n_classes + [(0.0, None)] * (n_variables - n_classes)
        result = linprog(np.asarray(cost), A_ub=a_ub, b_ub=np.full(row, -self.margin),
                         A_eq=a_eq, b_eq=np.zeros(1), bounds=bounds, method="highs")
        if result.status != 0:  # pragma: no cover - the LP is always feasible, bounded
            raise RuntimeError(f"optimal_constant for '{self.name}' failed: {result.message}")
        return np.asarray(result.x[:n_classes], dtype=np.float64) + 0.0  # no -0.0

    def example(self, n: int = 8, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Scores ``(n, 4)`` and class indices (every class present when ``n >= 4``).

        Each row is redrawn until every hinge ``margin - z_y + z_k`` and the gap
        between the two best rival scores are at least ``0.05`` from 0: no kinks.
        """
        n_classes = 4
        rng = np.random.default_rng(seed)
        y = rng.permutation(np.arange(n) % n_classes)
        scores = np.empty((n, n_classes))
        for i in range(n):
            for _ in range(1000):  # pragma: no branch - a valid row comes within a few
                row = rng.normal(0.0, 1.5 * max(self.margin, 1.0), size=n_classes)
                rivals = np.sort(np.delete(row, y[i]))
                hinges = self.margin - row[y[i]] + rivals
                if np.min(np.abs(hinges)) > _KINK_GAP and rivals[-1] - rivals[-2] > _KINK_GAP:
                    break
            scores[i] = row
        return scores, y.astype(np.float64)


def _nan_rows_to_class_zero(xp: Any, y_true: Any, *, one_hot: bool) -> Any:
    """Targets with each NaN index (or each one-hot row holding a NaN) set to class 0."""
    nan = xp.isnan(y_true)
    if not one_hot:
        return xp.where(nan, xp.zeros_like(y_true), y_true)
    first = xp.astype(xp.arange(y_true.shape[-1], device=device(y_true)) == 0, y_true.dtype)
    rows = xp.any(nan, axis=-1, keepdims=True)
    return xp.where(rows, first * xp.ones_like(y_true), y_true)


def _broadcast(w: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(w.reshape(w.shape + (1,) * (len(shape) - w.ndim)), shape)
