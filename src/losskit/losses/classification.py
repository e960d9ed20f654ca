r"""Probabilistic classification losses: binary and categorical cross-entropy, KL.

By default these take probabilities, clipped to ``[eps, 1 - eps]`` as the seed page
does (``eps = max(1e-15, finfo(dtype).eps)``: 1e-15 in float64, 1.19e-7 in float32,
where ``1 - 1e-15`` would round to 1; a smaller ``eps`` than the dtype resolves is
moved inward, ``clip_bounds``); value, gradient and Hessian are those of the formula
at the clipped probability. With ``link="logit"`` (binary, multi-label) or
``link="softmax"`` (multiclass, class axis last) they take raw scores, with fused
formulas that stay exact for ``|logit|`` up to ``1e4`` and beyond.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from losskit import numerics
from losskit._array import can_inspect, is_floating
from losskit._params import check_real
from losskit.core import Distribution, Loss, Properties
from losskit.links import UNIT
from losskit.losses._common import (
    check_probability_rows,
    class_indices,
    one_hot,
    scipy_factory,
)
from losskit.registry import register

__all__ = ["BinaryCrossEntropy", "CrossEntropy", "KLDivergence", "clip_bounds"]


def default_eps(xp: Any, dtype: Any) -> float:
    """The clipping epsilon: 1e-15 (the seed's) unless the dtype cannot resolve it."""
    return 1e-15 if dtype == xp.float64 else float(np.finfo(np.float32).eps)


def clip_bounds(xp: Any, dtype: Any, eps: float | None) -> tuple[float, float]:
    """``(low, high)``: probabilities of ``dtype`` are clipped to ``[eps, 1 - eps]``
    (``eps`` None: ``default_eps``), moved inward where the dtype cannot hold them.

    ``low`` is at least the dtype's smallest normal number, so that ``log(low)`` and
    ``1 / low`` are finite; ``high`` at most ``1 - finfo.eps / 2``, the largest number
    below 1 (for an ``eps`` under half an ulp of 1, ``1 - eps`` rounds to 1, where
    ``log1p(-p)`` is ``-inf``). Without this a tiny ``eps`` left ``p = 0`` or ``1``
    unclipped, and ``0 * log(0)`` made a NaN loss for a label at that very bound.
    """
    eps = default_eps(xp, dtype) if eps is None else eps
    info = xp.finfo(dtype)
    smallest = float(getattr(info, "smallest_normal", None) or info.tiny)
    return max(eps, smallest), 1.0 - max(eps, float(info.eps) / 2)


def _check_eps(eps: float | None, owner: str) -> float | None:
    if eps is None:
        return None
    return check_real(eps, "eps", low=0.0, high=0.5, owner=owner)


def _per_label(value: Any, name: str, owner: str) -> float | np.ndarray | None:
    """A positive scalar or a 1-D sequence of positive per-label (per-class) weights."""
    if value is None:
        return None
    if np.ndim(value) == 0:
        return check_real(value, name, low=0.0, owner=owner)
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} for '{owner}' must be a number or a sequence of numbers; "
                        f"got {value!r}") from None
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} for '{owner}' must be a scalar or a 1-D sequence; "
                         f"got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name} for '{owner}' must hold finite values >= 0; got {value!r}")
    return array


def _as_xp(xp: Any, value: Any, like: Any) -> Any:
    if isinstance(value, np.ndarray):
        from array_api_compat import device

        return xp.asarray(value, dtype=like.dtype, device=device(like))
    return value


@register("binary_cross_entropy", aliases=("bce", "log_loss", "logistic"))
class BinaryCrossEntropy(Loss):
    r"""Binary cross-entropy (log loss); the Bernoulli negative log-likelihood.

    .. math:: L(p, y) = -[w_+ y \log p + (1 - y)\log(1 - p)];\quad
              \text{logit link: } L(z) = w_+ y\,\mathrm{softplus}(-z) + (1-y)\,\mathrm{softplus}(z)

    with ``w_+ = pos_weight`` (1 by default; a scalar or one weight per label, as
    PyTorch's ``binary_cross_entropy_with_logits``). ``y_true`` in ``[0, 1]`` (soft
    labels allowed); an ``(n, L)`` input is multi-label and the mean runs over all
    ``n L`` entries. Logit-space gradient ``(w_+ y + 1 - y)\sigma(z) - w_+ y``, Hessian
    ``(w_+ y + 1 - y)\sigma(z)\sigma(-z)``.
    """

    formula = r"-[y\log p + (1-y)\log(1-p)]"
    gradient_formula = r"(p - y)/(p(1-p)) \;\;(\text{logit: } \sigma(z) - y)"
    hessian_formula = r"y/p^2 + (1-y)/(1-p)^2 \;\;(\text{logit: } \sigma(z)\sigma(-z))"
    links = ("identity", "logit")
    fused_links = frozenset({"identity", "logit"})
    y_pred_domain = UNIT
    y_true_domain = UNIT
    y_pred_meaning = "a probability"

    def __init__(self, *, pos_weight: Any = None, eps: float | None = None,
                 link: str | None = None, nan_policy: str = "raise") -> None:
        self.pos_weight = _per_label(pos_weight, "pos_weight", "binary_cross_entropy")
        self.eps = _check_eps(eps, "binary_cross_entropy")
        super().__init__(link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        logit = self.link.name == "logit"
        top = 1.0 if self.pos_weight is None else max(1.0, float(np.max(self.pos_weight)))
        return Properties(convex=True, smoothness=math.inf, lipschitz=top if logit else None,
                          bounded_gradient=logit, robust=None, hessian="exact",
                          statistic="probability of the positive class")

    @property
    def distribution(self) -> Distribution | None:
        if self.pos_weight is not None:
            return None
        return Distribution("Bernoulli", "probability", {}, "L = -log Bernoulli(y | p)",
                            scipy_factory("bernoulli", p=lambda mu: mu))

    def _prepare_target(self, xp: Any, y_true: Any, y_pred: Any) -> Any:
        target = super()._prepare_target(xp, y_true, y_pred)
        if isinstance(self.pos_weight, np.ndarray) and (
            y_pred.ndim < 2 or y_pred.shape[-1] != self.pos_weight.size
        ):
            raise ValueError(f"pos_weight for 'binary_cross_entropy' has "
                             f"{self.pos_weight.size} entries but y_pred has shape "
                             f"{tuple(y_pred.shape)}; it needs one per label (last axis)")
        return target

    def _positive_weight(self, xp: Any, y_true: Any, like: Any) -> Any:
        """``w_+ y``: the weight of the positive term."""
        if self.pos_weight is None:
            return y_true
        return _as_xp(xp, self.pos_weight, like) * y_true

    def _clip(self, xp: Any, p: Any) -> Any:
        return xp.clip(p, *clip_bounds(xp, p.dtype, self.eps))

    def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        a = self._positive_weight(xp, y_true, y_pred)
        if self.link.name == "logit":
            z = y_pred
            return a * numerics.softplus(-z, xp=xp) + (1.0 - y_true) * numerics.softplus(z, xp=xp)
        p = self._clip(xp, y_pred)
        return -(a * xp.log(p) + (1.0 - y_true) * xp.log1p(-p))

    def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        a = self._positive_weight(xp, y_true, y_pred)
        if self.link.name == "logit":
            z = y_pred
            # Each term is accurate in its own tail: no 1 - sigma(z) cancellation.
            return (1.0 - y_true) * numerics.expit(z, xp=xp) - a * numerics.expit(-z, xp=xp)
        p = self._clip(xp, y_pred)
        return (1.0 - y_true) / (1.0 - p) - a / p

    def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        a = self._positive_weight(xp, y_true, y_pred)
        if self.link.name == "logit":
            z = y_pred
            return (a + 1.0 - y_true) * numerics.expit(z, xp=xp) * numerics.expit(-z, xp=xp)
        p = self._clip(xp, y_pred)
        q = 1.0 - p
        # (a / p) / p: p * p underflows to 0 below 1e-154 (a tiny eps), and 0 / 0 is NaN.
        return a / p / p + (1.0 - y_true) / q / q

    def _natural_optimum_numpy(self, y: np.ndarray, w: np.ndarray | None,
                               n_classes: int | None) -> Any:
        self._check_target(np, y)
        if isinstance(self.pos_weight, np.ndarray) and (
            y.ndim < 2 or y.shape[-1] != self.pos_weight.size
        ):
            raise ValueError("pos_weight needs one entry per label (last axis of y_true)")
        weights = None if w is None else w.reshape(w.shape + (1,) * (y.ndim - w.ndim))
        total = np.ones_like(y) if weights is None else np.broadcast_to(weights, y.shape)
        m = np.sum(total * y, axis=0) / np.sum(total, axis=0)
        pw = 1.0 if self.pos_weight is None else self.pos_weight
        # argmin_p of -(pw m log p + (1 - m) log(1 - p)).
        p = pw * m / (pw * m + (1.0 - m))
        if self.link.name == "identity":
            p = np.clip(p, *clip_bounds(np, np.float64, self.eps))
        return p


class _ClassTarget(NamedTuple):
    """Prepared multiclass target: per-class target mass and the mean's normaliser."""

    mass: Any  # (..., K): weight-scaled target probabilities; zero rows are ignored
    normalizer: Any  # (...,) or None


class _Categorical(Loss):
    """Shared machinery of losses over a class axis (the last axis of ``y_pred``)."""

    multiclass = True
    links = ("identity", "softmax")
    fused_links = frozenset({"identity", "softmax"})
    y_pred_domain = UNIT
    y_pred_meaning = "a probability"
    allows_indices = True
    eps: float | None = None

    def example(self, n: int = 8, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        k = 4
        logits = rng.normal(0.0, 1.5, size=(n, k))
        if self.allows_indices:
            y = rng.integers(0, k, size=n).astype(np.float64)
        else:
            y = numerics.softmax(rng.normal(0.0, 1.0, size=(n, k)))
        if self.link.name == "softmax":
            return logits, y
        return numerics.softmax(logits), y

    def _target_mass(self, xp: Any, y_true: Any, y_pred: Any) -> _ClassTarget:
        raise NotImplementedError

    def _prepare_target(self, xp: Any, y_true: Any, y_pred: Any) -> _ClassTarget:
        return self._target_mass(xp, y_true, y_pred)

    def _check_target(self, xp: Any, y_true: Any) -> None:
        """Values were checked while preparing the target."""

    def _normalizer(self, xp: Any, y_true: Any) -> Any:
        return y_true.normalizer

    def _clip(self, xp: Any, p: Any) -> Any:
        return xp.clip(p, clip_bounds(xp, p.dtype, self.eps)[0], 1.0)

    def _probability_rows(self, xp: Any, y_true: Any, y_pred: Any) -> Any:
        if tuple(y_true.shape) != tuple(y_pred.shape):
            raise ValueError(
                f"y_true for '{self.name}' must be probability rows of y_pred's shape "
                f"{tuple(y_pred.shape)}; got {tuple(y_true.shape)}"
            )
        target = xp.astype(y_true, y_pred.dtype)
        if can_inspect(target):
            check_probability_rows(xp, target, owner=self.name)
        return target

    def _index_or_rows(self, xp: Any, y_true: Any, y_pred: Any,
                       ignore_index: int | None = None) -> tuple[Any, Any]:
        """(probability rows, class indices or None) from either kind of target."""
        k = y_pred.shape[-1]
        if tuple(y_true.shape) == tuple(y_pred.shape[:-1]):
            indices = class_indices(xp, y_true, k, owner=self.name, ignore_index=ignore_index,
                                    check=can_inspect(y_true),
                                    allow_nan=self.nan_policy == "propagate")
            return one_hot(xp, indices, k, y_pred.dtype, like=y_pred), indices
        if tuple(y_true.shape) == tuple(y_pred.shape) and is_floating(y_true):
            return self._probability_rows(xp, y_true, y_pred), None
        raise ValueError(
            f"y_true for '{self.name}' must be class indices of shape "
            f"{tuple(y_pred.shape[:-1])} or probability rows of shape {tuple(y_pred.shape)}; "
            f"got shape {tuple(y_true.shape)} (the class axis of y_pred is the last one)"
        )

    def _elementwise(self, xp: Any, y_pred: Any, y_true: _ClassTarget) -> Any:
        a = y_true.mass
        if self.link.name == "softmax":
            log_p = numerics.log_softmax(y_pred, axis=-1, xp=xp)
        else:
            log_p = xp.log(self._clip(xp, y_pred))
        return -xp.sum(a * log_p, axis=-1) + self._entropy_term(xp, a)

    def _entropy_term(self, xp: Any, a: Any) -> Any:
        return 0.0

    def _gradient(self, xp: Any, y_pred: Any, y_true: _ClassTarget) -> Any:
        a = y_true.mass
        if self.link.name == "softmax":
            p = numerics.softmax(y_pred, axis=-1, xp=xp)
            return xp.sum(a, axis=-1, keepdims=True) * p - a
        return -a / self._clip(xp, y_pred)

    def _hessian(self, xp: Any, y_pred: Any, y_true: _ClassTarget) -> Any:
        a = y_true.mass
        if self.link.name == "softmax":
            p = numerics.softmax(y_pred, axis=-1, xp=xp)
            return xp.sum(a, axis=-1, keepdims=True) * p * (1.0 - p)
        p = self._clip(xp, y_pred)
        return a / (p * p)

    def _target_mass_numpy(self, y: np.ndarray, n_classes: int | None) -> _ClassTarget:
        raise NotImplementedError

    def _optimal_constant_numpy(self, y: np.ndarray, w: np.ndarray | None,
                                n_classes: int | None) -> Any:
        target = self._target_mass_numpy(y, n_classes)
        mass = target.mass
        weights = np.ones(mass.shape[:-1]) if w is None else np.broadcast_to(
            w.reshape(w.shape + (1,) * (mass.ndim - 1 - w.ndim)), mass.shape[:-1])
        total = np.sum(weights[..., None] * mass, axis=tuple(range(mass.ndim - 1)))
        if not np.sum(total) > 0:
            raise ValueError(f"optimal_constant of '{self.name}' is undefined: every target "
                             "is ignored or has zero weight")
        p = total / np.sum(total)
        if self.link.name == "softmax":
            with np.errstate(divide="ignore"):
                return np.log(p)
        return np.clip(p, clip_bounds(np, np.float64, self.eps)[0], 1.0)


@register("cross_entropy", aliases=("ce", "categorical_cross_entropy", "multinomial"))
class CrossEntropy(_Categorical):
    r"""Categorical cross-entropy; the Categorical negative log-likelihood.

    .. math:: L(p, y) = -\sum_k a_k \log p_k,\quad
              a_k = (1 - \varepsilon)\, c_{y}\, 1[k = y] + \tfrac{\varepsilon}{K} c_k

    ``y_pred`` is ``(..., K)`` with the class axis last: probabilities, or logits with
    ``link="softmax"`` (then ``\partial L / \partial z = (\sum_k a_k) p - a`` and the
    Hessian diagonal ``(\sum_k a_k) p(1 - p)``). ``y_true`` holds class indices
    (shape ``y_pred.shape[:-1]``) or probability rows (``y_pred``'s shape; then
    ``a = c \odot ((1-\varepsilon) t + \varepsilon/K)``). ``class_weight`` ``c``
    multiplies each sample's loss by the weight of its class and ``reduction="mean"``
    divides by the sum of the weights used; an ``ignore_index`` target weighs 0; with
    probability targets the mean divides by the number of samples. All as PyTorch's
    ``cross_entropy`` (label smoothing: Szegedy et al. 2016).

    >>> import numpy as np
    >>> ce = CrossEntropy(link="softmax", ignore_index=-100)
    >>> logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> round(float(ce(logits, np.array([0, -100]))), 6)  # log(1 + 2 e^-2); row 2 weighs 0
    0.239545
    >>> ce.gradient(logits, np.array([0, -100]))[1]
    array([0., 0., 0.])
    """

    formula = r"-\sum_k y_k \log p_k"
    gradient_formula = r"-y_k / p_k \;\;(\text{softmax: } p_k - y_k)"
    hessian_formula = r"y_k / p_k^2 \;\;(\text{softmax, diagonal: } p_k(1 - p_k))"

    def __init__(self, *, class_weight: Any = None, label_smoothing: float = 0.0,
                 ignore_index: int | None = None, eps: float | None = None,
                 link: str | None = None, nan_policy: str = "raise") -> None:
        weight = _per_label(class_weight, "class_weight", "cross_entropy")
        if weight is not None and not isinstance(weight, np.ndarray):
            raise ValueError("class_weight for 'cross_entropy' must be a sequence with one "
                             f"weight per class; got {class_weight!r}")
        self.class_weight = weight
        self.label_smoothing = check_real(label_smoothing, "label_smoothing", low=0.0,
                                          high=1.0, low_inclusive=True, owner="cross_entropy")
        if ignore_index is not None and (isinstance(ignore_index, bool)
                                         or not isinstance(ignore_index, (int, np.integer))):
            raise TypeError(f"ignore_index for 'cross_entropy' must be an int or None; "
                            f"got {ignore_index!r}")
        self.ignore_index = None if ignore_index is None else int(ignore_index)
        self.eps = _check_eps(eps, "cross_entropy")
        super().__init__(link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        softmax = self.link.name == "softmax"
        top = 1.0 if self.class_weight is None else float(np.max(self.class_weight))
        return Properties(convex=True, smoothness=math.inf,
                          lipschitz=math.sqrt(2.0) * top if softmax else None,
                          bounded_gradient=softmax, robust=None,
                          hessian="diagonal" if softmax else "exact",
                          statistic="class frequencies")

    @property
    def distribution(self) -> Distribution | None:
        if self.class_weight is not None or self.label_smoothing:
            return None
        return Distribution("Categorical", "probabilities", {},
                            "L = -log Categorical(y | p)",
                            scipy_factory("multinomial", n=1, p=lambda mu: mu))

    def _mass_from(self, xp: Any, rows: Any, indices: Any, weight: Any, k: int
                   ) -> _ClassTarget:
        eps = self.label_smoothing
        if indices is None:
            smoothed = rows if eps == 0 else (1.0 - eps) * rows + eps / k
            mass = smoothed if weight is None else weight * smoothed
            return _ClassTarget(mass, None)
        # Index targets: ignored rows of the one-hot are all zero.
        kept = xp.sum(rows, axis=-1, keepdims=True)
        if weight is None:
            target_weight = kept
            mass = (1.0 - eps) * rows + (eps / k) * kept if eps else rows
        else:
            target_weight = xp.sum(weight * rows, axis=-1, keepdims=True)
            mass = (1.0 - eps) * weight * rows + (eps / k) * weight * kept if eps else (
                weight * rows)
        if weight is None and self.ignore_index is None:
            return _ClassTarget(mass, None)
        return _ClassTarget(mass, xp.squeeze(target_weight, axis=-1))

    def _target_mass(self, xp: Any, y_true: Any, y_pred: Any) -> _ClassTarget:
        k = y_pred.shape[-1]
        weight = None
        if self.class_weight is not None:
            if self.class_weight.size != k:
                raise ValueError(f"class_weight for 'cross_entropy' has "
                                 f"{self.class_weight.size} entries but y_pred has {k} "
                                 "classes on its last axis")
            weight = _as_xp(xp, self.class_weight, y_pred)
        rows, indices = self._index_or_rows(xp, y_true, y_pred, self.ignore_index)
        return self._mass_from(xp, rows, indices, weight, k)

    def _target_mass_numpy(self, y: np.ndarray, n_classes: int | None) -> _ClassTarget:
        # Probability rows (n, K); n_classes, if given, must then be K.
        if y.ndim >= 2 and n_classes in (None, y.shape[-1]):
            k = y.shape[-1]
            pred = np.zeros(y.shape)
        else:
            valid = y if self.ignore_index is None else y[y != self.ignore_index]
            k = n_classes if n_classes is not None else int(np.max(valid, initial=0)) + 1
            k = max(k, 2)
            pred = np.zeros((*y.shape, k))
        return self._target_mass(np, y, pred)


@register("kl_divergence", aliases=("kl", "kullback_leibler"))
class KLDivergence(_Categorical):
    r"""Kullback–Leibler divergence ``KL(y_true || y_pred)`` over the class axis.

    .. math:: L(q, p) = \sum_k p_k \log\frac{p_k}{q_k}

    ``y_pred`` ``q`` is ``(..., K)`` probabilities (or logits with
    ``link="softmax"``), ``y_true`` ``p`` probability rows of the same shape. Equal to
    cross-entropy minus the target's entropy, so it has cross-entropy's gradient:
    ``-p/q`` (softmax: ``q - p``). PyTorch's ``kl_div(log q, p).sum(-1)``.
    """

    formula = r"\sum_k p_k \log(p_k / q_k)"
    gradient_formula = r"-p_k / q_k \;\;(\text{softmax: } q_k - p_k)"
    hessian_formula = r"p_k / q_k^2 \;\;(\text{softmax, diagonal: } q_k(1 - q_k))"
    allows_indices = False

    def __init__(self, *, eps: float | None = None, link: str | None = None,
                 nan_policy: str = "raise") -> None:
        self.eps = _check_eps(eps, "kl_divergence")
        super().__init__(link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        softmax = self.link.name == "softmax"
        return Properties(convex=True, smoothness=math.inf,
                          lipschitz=math.sqrt(2.0) if softmax else None,
                          bounded_gradient=softmax, robust=None,
                          hessian="diagonal" if softmax else "exact",
                          statistic="mean of the target distributions")

    @property
    def distribution(self) -> Distribution:
        return Distribution("Categorical", "probabilities", {},
                            "L = -log Categorical(y | q) - entropy(y)",
                            scipy_factory("multinomial", n=1, p=lambda mu: mu))

    def _target_mass(self, xp: Any, y_true: Any, y_pred: Any) -> _ClassTarget:
        return _ClassTarget(self._probability_rows(xp, y_true, y_pred), None)

    def _entropy_term(self, xp: Any, a: Any) -> Any:
        return xp.sum(numerics.xlogy(a, a, xp=xp), axis=-1)

    def _target_mass_numpy(self, y: np.ndarray, n_classes: int | None) -> _ClassTarget:
        return self._target_mass(np, y, np.zeros(y.shape))
