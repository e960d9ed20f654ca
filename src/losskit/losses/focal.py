r"""Focal-type classification losses: ``focal`` and ``asymmetric_multilabel``.

Both scale a cross-entropy term by a power of how wrong the prediction is, so easy
examples count less. On logits (``link="logit"`` / ``"softmax"``) every power is taken
in log space, ``q^gamma = exp(gamma log q)``, and every ratio that would be ``0/0`` in
a tail (``s/q``, ``-log(1-u)/u``) is formed from logs, so ``gamma < 1`` and logits of
``±1e4`` give finite values, gradients and Hessians: the fix Optax made to
``sigmoid_focal_loss`` for NaN gradients at ``gamma < 1``.

Notation used below: ``sigma`` is the logistic sigmoid, ``s = sigma(z) sigma(-z)``,
``ce`` the binary cross-entropy and ``q = 1 - p_t`` the probability of the wrong label.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from array_api_compat import device

from losskit import numerics
from losskit._array import can_inspect, namespace
from losskit._params import check_real
from losskit.core import Loss, Properties
from losskit.links import UNIT
from losskit.losses._common import check_probability_rows, class_indices, gradient_root
from losskit.registry import register

__all__ = ["AsymmetricMultilabel", "Focal"]

#: Expanding search for a bracket of the logit-scale optimum stops beyond this logit.
_LOGIT_SEARCH_LIMIT = 1e4


# ------------------------------------------------------------------- kernels
# Each kernel returns (value,), (value, gradient) or (value, gradient, hessian) for
# ``order`` 0, 1 or 2, using only ``xp`` operations (no in-place updates), so that the
# value path is differentiable by torch and JAX.


def _log_q(xp: Any, y: Any, log_p: Any, log_not_p: Any) -> Any:
    """``log q = log(y sigma(-z) + (1 - y) sigma(z))`` in log space.

    ``logaddexp(log y + log sigma(-z), log(1-y) + log sigma(z))`` for soft labels; a
    hard label selects its term exactly (``log 0 = -inf`` inside a ``logaddexp`` is
    right in value but gives NaN second derivatives under torch autograd).
    """
    soft = (y > 0) & (y < 1)
    y_soft = xp.where(soft, y, 0.5)
    first = xp.log(y_soft) + log_not_p
    second = xp.log1p(-y_soft) + log_p
    # logaddexp as max + log1p(exp(-|difference|)): torch's own logaddexp has a NaN
    # second derivative when its arguments differ by ~1e3.
    mixed = xp.maximum(first, second) + numerics.softplus(-xp.abs(first - second), xp=xp)
    return xp.where(y >= 1, log_not_p, xp.where(y <= 0, log_p, mixed))


def _focal_logit(xp: Any, z: Any, y: Any, gamma: float, order: int) -> tuple[Any, ...]:
    r"""Binary focal loss ``q^gamma ce`` on logits ``z`` (``y is None``: label 1).

    With ``r = s / q`` (``<= 1``), ``A = gamma r (1-2y) ce + (sigma - y)``:
    ``g = q^gamma A`` and ``h = q^gamma [gamma r (1-2y) A + A']`` where
    ``A' = gamma (1-2y) [r' ce + r (sigma - y)] + s``, ``r' = r(1-2 sigma) - r^2(1-2y)``.
    """
    log_p = numerics.log_sigmoid(z, xp=xp)
    log_not_p = numerics.log_sigmoid(-z, xp=xp)
    if y is None:
        log_q = log_not_p
        ce = -log_p
    else:
        log_q = _log_q(xp, y, log_p, log_not_p)
        ce = -(y * log_p + (1.0 - y) * log_not_p)
    weight = xp.exp(gamma * log_q) if gamma != 0 else None
    value = ce if weight is None else weight * ce
    if order == 0:
        return (value,)
    p = numerics.expit(z, xp=xp)
    not_p = numerics.expit(-z, xp=xp)
    if y is None:
        residual, sign = -not_p, -1.0  # sigma - y and 1 - 2y at y = 1
    else:
        residual, sign = (1.0 - y) * p - y * not_p, 1.0 - 2.0 * y
    s = p * not_p
    if weight is None:
        return (value, residual) if order == 1 else (value, residual, s)
    ratio = xp.exp(log_p + log_not_p - log_q)
    slope = gamma * ratio * sign * ce + residual
    gradient = weight * slope
    if order == 1:
        return value, gradient
    ratio_slope = ratio * (not_p - p) - ratio * ratio * sign
    slope_slope = gamma * sign * (ratio_slope * ce + ratio * residual) + s
    return value, gradient, weight * (gamma * ratio * sign * slope + slope_slope)


def _focal_probability(
    xp: Any, p: Any, y: Any, gamma: float, eps: float, order: int
) -> tuple[Any, ...]:
    """Binary focal loss on probabilities clipped to ``[eps, 1 - eps]``.

    The derivatives are those of the clipped function: 0 where ``p`` was clipped.
    """
    inside = (p >= eps) & (p <= 1.0 - eps)
    p = xp.clip(p, eps, 1.0 - eps)
    not_p = 1.0 - p
    q = y * not_p + (1.0 - y) * p
    ce = -(y * xp.log(p) + (1.0 - y) * xp.log1p(-p))
    weight = q**gamma if gamma != 0 else None
    value = ce if weight is None else weight * ce
    if order == 0:
        return (value,)
    ce_slope = (p - y) / (p * not_p)
    ce_curvature = y / (p * p) + (1.0 - y) / (not_p * not_p)
    if weight is None:
        gradient, hessian = ce_slope, ce_curvature
    else:
        sign = 1.0 - 2.0 * y
        lower = weight / q  # q^(gamma - 1); q >= eps > 0
        gradient = weight * ce_slope + gamma * lower * sign * ce
        hessian = weight * ce_curvature + gamma * lower * sign * (
            2.0 * ce_slope + (gamma - 1.0) * sign * ce / q)
    gradient = xp.where(inside, gradient, 0.0)
    if order == 1:
        return value, gradient
    return value, gradient, xp.where(inside, hessian, 0.0)


def _softmax_class_parts(
    xp: Any, z: Any, mask: Any, gamma: float, order: int
) -> tuple[Any, ...]:
    r"""Softmax focal loss of the class selected by ``mask`` (no alpha).

    With the margin ``m = z_y - logsumexp_{k != y} z_k``, ``p_y = sigma(m)`` and the
    loss is the binary focal loss with label 1 on ``m``. ``dm/dz = e_y - pi`` with
    ``pi`` the softmax over the other classes (``pi_y = 0``) and
    ``d^2 m / dz_j^2 = -pi_j (1 - pi_j)``, which gives the exact Hessian diagonal.
    """
    masked = xp.where(mask, -math.inf, z)
    log_others = numerics.logsumexp(masked, axis=-1, keepdims=True, xp=xp)
    margin = xp.sum(xp.where(mask, z, 0.0), axis=-1) - xp.squeeze(log_others, axis=-1)
    parts = _focal_logit(xp, margin, None, gamma, order)
    if order == 0:
        return parts
    others = xp.exp(masked - log_others)
    margin_slope = xp.astype(mask, z.dtype) - others
    gradient = parts[1][..., None] * margin_slope
    if order == 1:
        return parts[0], gradient
    hessian = (parts[2][..., None] * margin_slope * margin_slope
               - parts[1][..., None] * others * (1.0 - others))
    return parts[0], gradient, hessian


def _focal_softmax(
    xp: Any, z: Any, target: Any, gamma: float, alpha: tuple[float, ...] | None, order: int
) -> tuple[Any, ...]:
    """Softmax focal loss for class indices or probability rows ``target``."""
    k = z.shape[-1]
    if alpha is not None and len(alpha) != k:
        raise ValueError(f"alpha for 'focal' has {len(alpha)} class weights but y_pred has "
                         f"{k} classes on its last axis")
    classes = xp.arange(k, device=device(z))
    if target.ndim == z.ndim - 1:
        mask = target[..., None] == classes
        parts = _softmax_class_parts(xp, z, mask, gamma, order)
        if alpha is None:
            return parts
        weights = xp.asarray(alpha, dtype=z.dtype, device=device(z))
        alpha_t = xp.sum(xp.where(mask, weights, 0.0), axis=-1)
        return (parts[0] * alpha_t, *(part * alpha_t[..., None] for part in parts[1:]))
    # Probability rows: sum_k t_k * (the loss of class k), K margins of O(K) each.
    total: tuple[Any, ...] = ()
    for j in range(k):
        parts = _softmax_class_parts(xp, z, classes == j, gamma, order)
        share = target[..., j] if alpha is None else alpha[j] * target[..., j]
        scaled = (parts[0] * share, *(part * share[..., None] for part in parts[1:]))
        total = scaled if not total else tuple(a + b for a, b in zip(total, scaled, strict=True))
    return total


def _asl_negative_logit(
    xp: Any, z: Any, gamma: float, clip: float, order: int
) -> tuple[Any, ...]:
    r"""ASL's negative term ``u^gamma (-log(1 - u))``, ``u = max(sigma(z) - clip, 0)``.

    ``u = sigma(z)(1 - clip)(1 - e^{z_c - z})`` with ``z_c = logit(clip)``: ``log u`` is
    finite for every logit above the kink (relative error ``~ulp(z_c) / (z - z_c)``,
    the conditioning of ``u`` itself), and ``1 - u = sigma(-z) + clip``. With
    ``kappa = -log(1-u)/u``, ``tau = s/(1-u)`` and ``V = s u^(gamma-1)``:
    ``g = u^gamma (gamma s kappa + tau)`` and
    ``h = u^gamma [(1 - 2 sigma)(gamma s kappa + tau) + tau^2]
    + gamma V [(gamma - 1) s kappa + 2 tau]``; both 0 where ``sigma(z) <= clip``.
    """
    if clip == 0.0:
        # The focal loss with label 0 on z is the label-1 loss on -z.
        parts = _focal_logit(xp, -z, None, gamma, order)
        return tuple(-part if k == 1 else part for k, part in enumerate(parts))
    z_clip = math.log(clip) - math.log1p(-clip)
    active = z > z_clip
    z_active = xp.where(active, z, z_clip + 1.0)
    log_p = numerics.log_sigmoid(z_active, xp=xp)
    log_u = log_p + math.log1p(-clip) + numerics.log1mexp(z_clip - z_active, xp=xp)
    u = xp.exp(log_u)
    one_minus_u = numerics.expit(-z_active, xp=xp) + clip
    ce = xp.where(u < 0.5, -xp.log1p(-u), -xp.log(one_minus_u))
    weight = xp.exp(gamma * log_u) if gamma != 0 else None
    value = xp.where(active, ce if weight is None else weight * ce, 0.0)
    if order == 0:
        return (value,)
    log_not_p = numerics.log_sigmoid(-z_active, xp=xp)
    s = xp.exp(log_p + log_not_p)
    tau = s / one_minus_u
    if weight is None:
        gradient = tau
        hessian = (numerics.expit(-z_active, xp=xp) - numerics.expit(z_active, xp=xp)) * tau \
            + tau * tau
    else:
        kappa = xp.where(u > 0, ce / xp.where(u > 0, u, 1.0), 1.0)
        slope = gamma * s * kappa + tau
        gradient = weight * slope
        curvature = numerics.expit(-z_active, xp=xp) - numerics.expit(z_active, xp=xp)
        v = xp.exp(log_p + log_not_p + (gamma - 1.0) * log_u)
        hessian = weight * (curvature * slope + tau * tau) \
            + gamma * v * ((gamma - 1.0) * s * kappa + 2.0 * tau)
    gradient = xp.where(active, gradient, 0.0)
    if order == 1:
        return value, gradient
    return value, gradient, xp.where(active, hessian, 0.0)


def _asl_negative_probability(
    xp: Any, p: Any, gamma: float, clip: float, order: int
) -> tuple[Any, ...]:
    """ASL's negative term on (already clipped) probabilities; 0 where ``p <= clip``."""
    active = p > clip
    u = xp.where(active, p - clip, 0.5)
    ce = -xp.log1p(-u)
    weight = u**gamma if gamma != 0 else None
    value = xp.where(active, ce if weight is None else weight * ce, 0.0)
    if order == 0:
        return (value,)
    inverse = 1.0 / (1.0 - u)
    if weight is None:
        gradient, hessian = inverse, inverse * inverse
    else:
        kappa = ce / u
        lower = weight / u  # u^(gamma - 1)
        gradient = weight * (gamma * kappa + inverse)
        hessian = weight * inverse * inverse + gamma * lower * (
            (gamma - 1.0) * kappa + 2.0 * inverse)
    gradient = xp.where(active, gradient, 0.0)
    if order == 1:
        return value, gradient
    return value, gradient, xp.where(active, hessian, 0.0)


# ---------------------------------------------------------------- base class
class _FocalFamily(Loss):
    """Shared plumbing: probability clipping, fused kernels, logit-scale optimum."""

    y_pred_domain = UNIT
    y_true_domain = UNIT
    y_pred_meaning = "a probability"
    eps: float | None

    def _clip_eps(self, xp: Any, dtype: Any) -> float:
        machine = float(xp.finfo(dtype).eps)  # below it, 1 - eps would round to 1
        return max(1e-15 if self.eps is None else self.eps, machine)

    def _parts(self, xp: Any, y_pred: Any, y_true: Any, order: int) -> tuple[Any, ...]:
        raise NotImplementedError

    def _logit_parts(self, xp: Any, z: Any, y: Any, order: int) -> tuple[Any, ...]:
        raise NotImplementedError

    def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self._parts(xp, y_pred, y_true, 0)[0]

    def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self._parts(xp, y_pred, y_true, 1)[1]

    def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self._parts(xp, y_pred, y_true, 2)[2]

    def _gradient_hessian(self, xp: Any, y_pred: Any, y_true: Any) -> tuple[Any, Any]:
        _, gradient, hessian = self._parts(xp, y_pred, y_true, 2)
        return gradient, hessian

    # ------------------------------------------------------- optimal constant
    def _all_negative_logit(self) -> float:
        """The optimum when no target is positive."""
        return -math.inf

    def _optimal_logit(self, y: np.ndarray, w: np.ndarray | None) -> float:
        """The logit minimising ``sum_i w_i L(c, y_i)`` for one column of targets.

        The weighted gradient sum changes sign once, from negative to positive (checked
        numerically over powers, clips and label mixes), so the root is bracketed by an
        expanding search from the ``gamma = 0`` optimum ``log(P/N)`` and found by
        Brent's method. Where the gradient stays negative (ASL with ``clip > 0``, whose
        negatives cost at most ``-log(clip)``, and few of them) the infimum is at
        ``p = 1`` and ``+inf`` is returned.
        """
        xp = namespace(y)
        weights = np.ones_like(y) if w is None else w
        positive = float(np.sum(weights * y))
        negative = float(np.sum(weights * (1.0 - y)))
        if negative <= 0:
            return math.inf
        if positive <= 0:
            return self._all_negative_logit()

        def gradient_sum(c: float) -> float:
            parts = self._logit_parts(xp, np.full(y.shape, c), y, 1)
            return float(np.sum(weights * parts[1]))

        start = math.log(positive / negative)
        step = 1.0
        while gradient_sum(start - step) > 0:
            if step > _LOGIT_SEARCH_LIMIT:
                return -math.inf
            step *= 2.0
        low = start - step
        step = 1.0
        # <= 0: far out the gradient underflows to 0 before it could turn positive.
        while gradient_sum(start + step) <= 0:
            if step > _LOGIT_SEARCH_LIMIT:
                return math.inf
            step *= 2.0
        return gradient_root(gradient_sum, low, start + step)

    def _optimal_constant_numpy(
        self, y: np.ndarray, w: np.ndarray | None, n_classes: int | None
    ) -> Any:
        self._check_target(namespace(y), y)
        columns = y.reshape(y.shape[0], -1)
        weights = None
        if w is not None:
            expanded = w.reshape(w.shape + (1,) * (y.ndim - w.ndim))
            weights = np.broadcast_to(expanded, y.shape).reshape(columns.shape)
        logits = np.array([
            self._optimal_logit(columns[:, j], None if weights is None else weights[:, j])
            for j in range(columns.shape[1])
        ])
        if self.link.name == "identity":
            with np.errstate(over="ignore"):
                logits = 1.0 / (1.0 + np.exp(-logits))
        return logits.reshape(y.shape[1:]) if y.ndim > 1 else float(logits[0])


# --------------------------------------------------------------------- focal
@register("focal")
class Focal(_FocalFamily):
    r"""Focal loss: cross-entropy scaled by ``(1 - p_t)^gamma`` to focus on hard examples.

    Binary and multi-label (``y_pred`` probabilities, or logits with ``link="logit"``;
    ``y_true`` in ``[0, 1]``, soft labels allowed, the shape of ``y_pred``):

    .. math::
        L = -\alpha_t\,(1 - p_t)^\gamma \log p_t
          = \alpha_t\, q^\gamma\, \mathrm{ce},\quad
        q = y(1-p) + (1-y)p,\quad
        \mathrm{ce} = -[y\log p + (1-y)\log(1-p)],\quad
        \alpha_t = \alpha y + (1-\alpha)(1-y)

    exactly Optax's ``sigmoid_focal_loss`` for logits (``alpha=None``: ``alpha_t = 1``).
    Multiclass (``link="softmax"``: ``y_pred`` of shape ``(..., K)`` holds logits, class
    axis last; ``y_true`` holds class indices of shape ``y_pred.shape[:-1]`` or
    probability rows of ``y_pred``'s shape):

    .. math:: L = -\sum_k \alpha_k\, t_k\, (1 - p_k)^\gamma \log p_k,\quad
              p = \operatorname{softmax}(z)

    Parameters
    ----------
    gamma : float, default 2.0
        Focusing parameter, ``>= 0``; ``gamma = 0`` is the (weighted) cross-entropy.
    alpha : float, sequence of float or None, default None
        Binary: the weight of the positive label in ``[0, 1]`` (negatives get
        ``1 - alpha``). Softmax: one non-negative weight per class. None: no weighting.
        The ``"mean"`` reduction divides by the number of entries (by the sum of
        ``sample_weight``), not by the sum of ``alpha_t``, as torchvision and Optax do.
    link : {None, "logit", "softmax"}
        None: ``y_pred`` are probabilities, clipped to ``[eps, 1 - eps]``; the gradient
        and Hessian are those of the clipped function (0 where clipping acted).
    eps : float or None
        Clipping of probabilities (identity link only), in ``(0, 0.5)``; None:
        ``1e-15``. Never below ``finfo(dtype).eps``, where ``1 - eps`` rounds to 1.
    nan_policy : {"raise", "propagate"}

    Notes
    -----
    On logits everything is computed in log space: ``log q = logaddexp(log y +
    log sigma(-z), log(1-y) + log sigma(z))``, ``q^gamma = exp(gamma log q)`` and
    ``r = s/q = exp(log s - log q) <= 1`` with ``s = sigma(z) sigma(-z)``, so that
    ``gamma < 1`` and ``|z|`` up to ``1e4`` give finite values and derivatives:

    .. math::
        g = \alpha_t q^\gamma A,\quad A = \gamma r (1-2y)\,\mathrm{ce} + (\sigma - y),\quad
        h = \alpha_t q^\gamma [\gamma r (1-2y) A + A'],

    with ``A' = gamma (1-2y) [r' ce + r (sigma - y)] + s`` and
    ``r' = r (1 - 2 sigma) - r^2 (1 - 2y)``.

    With softmax and a class index ``y``, the margin ``m = z_y - logsumexp_{k != y} z``
    gives ``p_y = sigma(m)``, so the loss is the binary one with label 1 on ``m``;
    ``dm/dz = e_y - pi`` (``pi``: the softmax over the other classes) yields the
    gradient and the exact Hessian *diagonal* (``properties.hessian == "diagonal"``).
    Probability rows cost a loop over the K classes, each O(nK): O(nK^2) in all.

    Convex only for ``gamma = 0`` on logits: for ``gamma = 2`` and ``y = 1`` the second
    derivative in the logit is about ``-0.047`` near ``z = -3.8`` (and negative for
    ``gamma = 0.5`` too). On probabilities (``link=None``) it is convex for every
    ``gamma`` and ``y`` in ``[0, 1]`` (checked numerically; ignoring the clip at
    ``eps``). For ``gamma > 0`` it is not a proper scoring rule: the optimal constant
    is not the mean of the labels; it is found numerically.

    References
    ----------
    Lin, Goyal, Girshick, He, Dollár (2017), "Focal Loss for Dense Object Detection",
    ICCV; arXiv:1708.02002.

    Examples
    --------
    >>> import numpy as np
    >>> import losskit as lk
    >>> focal = lk.get("focal", gamma=2.0, link="logit")
    >>> focal.elementwise(np.array([2.0, -1.0]), np.array([1.0, 0.0])).round(4)
    array([0.0018, 0.0227])
    """

    formula = r"-\alpha_t (1 - p_t)^\gamma \log p_t"
    gradient_formula = (r"\alpha_t\left[\gamma q^{\gamma-1}(1-2y)\,\mathrm{ce}"
                        r" + q^\gamma \partial\mathrm{ce}\right]")
    hessian_formula = (r"\alpha_t\left[\gamma(\gamma-1) q^{\gamma-2}(1-2y)^2\mathrm{ce}"
                       r" + 2\gamma q^{\gamma-1}(1-2y)\,\partial\mathrm{ce}"
                       r" + q^\gamma \partial^2\mathrm{ce}\right]")
    links = ("identity", "logit", "softmax")
    fused_links = frozenset(links)

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: float | Sequence[float] | None = None,
        link: str | None = None,
        eps: float | None = None,
        nan_policy: str = "raise",
    ) -> None:
        super().__init__(link=link, nan_policy=nan_policy)
        self.gamma = check_real(gamma, "gamma", low=0.0, low_inclusive=True, owner="focal")
        self.multiclass = self.link.name == "softmax"  # type: ignore[misc]
        self.alpha = _check_alpha(alpha, self.multiclass)
        self.eps = None if eps is None else check_real(eps, "eps", low=0.0, high=0.5,
                                                       owner="focal")

    def _properties(self) -> Properties:
        link = self.link.name
        return Properties(
            convex=self.gamma == 0 or link == "identity",
            smoothness=math.inf,
            lipschitz=None,
            bounded_gradient=link != "identity",
            robust=None,
            hessian="diagonal" if self.multiclass else "exact",
            statistic=("probability" if self.gamma == 0 and self.alpha is None
                       else "focal-loss minimiser"),
        )

    # ---------------------------------------------------------------- targets
    def _prepare_target(self, xp: Any, y_true: Any, y_pred: Any) -> Any:
        if not self.multiclass:
            return super()._prepare_target(xp, y_true, y_pred)
        shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
        if shape == pred_shape[:-1]:
            return class_indices(xp, y_true, pred_shape[-1], owner=self.name,
                                 check=can_inspect(y_true),
                                 allow_nan=self.nan_policy == "propagate")
        if shape == pred_shape:
            return xp.astype(y_true, y_pred.dtype)
        raise ValueError(
            f"y_true for 'focal' with link='softmax' must hold class indices of shape "
            f"{pred_shape[:-1]} or probability rows of shape {pred_shape}; got "
            f"{shape}"
        )

    def _check_target(self, xp: Any, y_true: Any) -> None:
        if not self.multiclass:
            super()._check_target(xp, y_true)
        elif xp.isdtype(y_true.dtype, "real floating"):
            check_probability_rows(xp, y_true, owner=self.name)

    # ---------------------------------------------------------------- kernels
    def _class_weights(self) -> tuple[float, ...] | None:
        return self.alpha if isinstance(self.alpha, tuple) else None

    def _weighted(self, parts: tuple[Any, ...], y: Any) -> tuple[Any, ...]:
        """Binary parts times ``alpha_t = alpha y + (1 - alpha)(1 - y)``."""
        alpha = self.alpha
        if not isinstance(alpha, float):
            return parts
        alpha_t = alpha * y + (1.0 - alpha) * (1.0 - y)
        return tuple(alpha_t * part for part in parts)

    def _logit_parts(self, xp: Any, z: Any, y: Any, order: int) -> tuple[Any, ...]:
        return self._weighted(_focal_logit(xp, z, y, self.gamma, order), y)

    def _parts(self, xp: Any, y_pred: Any, y_true: Any, order: int) -> tuple[Any, ...]:
        link = self.link.name
        if link == "softmax":
            return _focal_softmax(xp, y_pred, y_true, self.gamma, self._class_weights(),
                                  order)
        if link == "logit":
            return self._logit_parts(xp, y_pred, y_true, order)
        eps = self._clip_eps(xp, y_pred.dtype)
        parts = _focal_probability(xp, y_pred, y_true, self.gamma, eps, order)
        return self._weighted(parts, y_true)

    # ------------------------------------------------------- optimal constant
    def _optimal_constant_numpy(
        self, y: np.ndarray, w: np.ndarray | None, n_classes: int | None
    ) -> Any:
        if not self.multiclass:
            return super()._optimal_constant_numpy(y, w, n_classes)
        return self._softmax_optimum(y, w, n_classes)

    def _softmax_optimum(
        self, y: np.ndarray, w: np.ndarray | None, n_classes: int | None
    ) -> np.ndarray:
        """Log-probabilities minimising the weighted loss, by L-BFGS over K-1 logits.

        The weighted loss of a constant is ``sum_k c_k (1-p_k)^gamma (-log p_k)`` with
        ``c_k = alpha_k * (weighted mass of class k)``: classes with ``c_k = 0`` get
        ``p_k = 0`` (log-probability ``-inf``) and the others are optimised.
        """
        from scipy.optimize import minimize

        xp = namespace(y)
        weights = self._class_weights()
        if y.ndim == 1:
            if n_classes is not None:
                k = int(n_classes)
            else:
                k = max(int(np.max(y)) + 1, 0 if weights is None else len(weights))
            indices = class_indices(xp, y, k, owner=self.name)
            mass = np.bincount(indices, weights=w, minlength=k).astype(np.float64)
        else:
            k = y.shape[-1]
            if n_classes is not None and n_classes != k:
                raise ValueError(f"n_classes={n_classes} but y_true for 'focal' holds "
                                 f"probability rows of {k} classes")
            check_probability_rows(xp, y, owner=self.name)
            rows = y.reshape(-1, k)
            if w is None:
                mass = rows.sum(axis=0)
            else:
                expanded = w.reshape(w.shape + (1,) * (y.ndim - 1 - w.ndim))
                row_weights = np.broadcast_to(expanded, y.shape[:-1]).reshape(-1)
                mass = row_weights @ rows
        if weights is not None:
            if len(weights) != k:
                raise ValueError(f"alpha for 'focal' has {len(weights)} class weights but "
                                 f"y_true has {k} classes")
            mass = mass * np.asarray(weights, dtype=np.float64)
        active = mass > 0
        out = np.full(k, -math.inf)
        if np.count_nonzero(active) == 1:
            out[active] = 0.0
            return out
        shares = (mass[active] / mass[active].sum())[None, :]

        def objective(free: np.ndarray) -> tuple[float, np.ndarray]:
            z = np.append(free, 0.0)[None, :]
            value, gradient = _focal_softmax(xp, z, shares, self.gamma, None, 1)
            return float(value[0]), gradient[0, :-1]

        start = np.log(shares[0, :-1]) - np.log(shares[0, -1])
        result = minimize(objective, start, jac=True, method="L-BFGS-B",
                          options={"ftol": 0.0, "gtol": 1e-14, "maxiter": 2000})
        z = np.append(result.x, 0.0)
        out[active] = z - numerics.logsumexp(z, xp=xp)
        return out

    def example(self, n: int = 8, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Valid random inputs; with softmax, ``(n, K)`` logits and every class present."""
        if not self.multiclass:
            return super().example(n, seed=seed)
        rng = np.random.default_rng(seed)
        weights = self._class_weights()
        k = len(weights) if weights is not None else 4
        y = rng.permutation(np.arange(n) % k).astype(np.float64)
        return rng.normal(0.0, 1.5, size=(n, k)), y


def _check_alpha(alpha: Any, multiclass: bool) -> float | tuple[float, ...] | None:
    if alpha is None:
        return None
    if not multiclass:
        if isinstance(alpha, (Sequence, np.ndarray)):
            raise TypeError("alpha for 'focal' must be a real number in [0, 1] (the weight "
                            "of positive labels) unless link='softmax'; got a sequence")
        return check_real(alpha, "alpha", low=0.0, high=1.0, low_inclusive=True,
                          high_inclusive=True, owner="focal")
    if isinstance(alpha, str) or not isinstance(alpha, (Sequence, np.ndarray)):
        raise TypeError("alpha for 'focal' with link='softmax' must be a sequence of one "
                        f"weight per class or None; got {alpha!r}")
    weights = tuple(check_real(a, "alpha", low=0.0, low_inclusive=True, owner="focal")
                    for a in np.asarray(alpha, dtype=object).ravel())
    if len(weights) < 2:
        raise ValueError(f"alpha for 'focal' with link='softmax' needs one weight per "
                         f"class (at least 2); got {len(weights)}")
    return weights


# -------------------------------------------------------------- asymmetric
@register("asymmetric_multilabel", aliases=("asl",))
class AsymmetricMultilabel(_FocalFamily):
    r"""Asymmetric loss (ASL) for multi-label classification.

    Each label is a binary problem; positives and negatives get their own focusing
    power and easy negatives (``p <= clip``) are discarded:

    .. math::
        L = -y\,(1-p)^{\gamma_+}\log p - (1-y)\,p_m^{\gamma_-}\log(1-p_m),\quad
        p_m = \max(p - \mathrm{clip}, 0)

    elementwise over ``(n, L)`` or ``(n,)`` probabilities (``link=None``, clipped to
    ``[eps, 1 - eps]``) or logits (``link="logit"``), ``y_true`` in ``[0, 1]``.

    Parameters
    ----------
    gamma_pos : float, default 0.0
        Focusing power of the positive term, ``>= 0``.
    gamma_neg : float, default 4.0
        Focusing power of the negative term, ``>= 0``.
    clip : float, default 0.05
        Probability margin in ``[0, 1)`` below which a negative costs nothing.
    link : {None, "logit"}
    eps : float or None
        Clipping of probabilities (identity link only), in ``(0, 0.5)``; None:
        ``1e-15``. Never below ``finfo(dtype).eps``, where ``1 - eps`` rounds to 1.
    nan_policy : {"raise", "propagate"}

    Notes
    -----
    The positive term is the focal loss with label 1. On logits the negative term uses
    ``1 - p_m = sigma(-z) + clip`` (no cancellation) and
    ``log p_m = log sigma(z) + log(1 - clip) + log(1 - e^{logit(clip) - z})`` (finite
    up to the kink), so ``gamma_neg < 1`` and extreme logits stay finite. Its gradient
    and Hessian are 0 where ``p <= clip``. Near the kink the negative term behaves as
    ``p_m^(gamma_neg + 1)``, so with ``clip > 0`` the loss is ``ceil(gamma_neg)`` times
    continuously differentiable (a true kink only for ``gamma_neg = 0``) and for
    ``gamma_neg < 1`` its Hessian is unbounded as ``p`` decreases to ``clip``.

    On probabilities the loss is convex for all parameters (each term is a convex
    function of ``p``); on logits only when ``gamma_pos = gamma_neg = clip = 0``,
    where it is the binary cross-entropy.

    References
    ----------
    Ridnik, Ben-Baruch, Zamir, Noy, Friedman, Protter, Zelnik-Manor (2021),
    "Asymmetric Loss For Multi-Label Classification", ICCV; arXiv:2009.14119.

    Examples
    --------
    >>> import numpy as np
    >>> import losskit as lk
    >>> asl = lk.get("asymmetric_multilabel", link="logit")
    >>> asl.elementwise(np.array([-3.0, 0.0]), np.array([0.0, 0.0])).round(4)  # p < clip
    array([0.    , 0.0245])
    """

    formula = r"-y(1-p)^{\gamma_+}\log p - (1-y)p_m^{\gamma_-}\log(1-p_m)"
    gradient_formula = (r"y\left[\gamma_+(1-p)^{\gamma_+-1}\log p - \frac{(1-p)^{\gamma_+}}{p}"
                        r"\right] + (1-y)\,1_{p>c}\left[\gamma_- p_m^{\gamma_--1}"
                        r"(-\log(1-p_m)) + \frac{p_m^{\gamma_-}}{1-p_m}\right]")
    hessian_formula = (r"y\left[-\gamma_+(\gamma_+-1)(1-p)^{\gamma_+-2}\log p"
                       r" + \frac{2\gamma_+(1-p)^{\gamma_+-1}}{p} + \frac{(1-p)^{\gamma_+}}{p^2}"
                       r"\right] + (1-y)\,1_{p>c}\left[\gamma_-(\gamma_--1)p_m^{\gamma_--2}"
                       r"(-\log(1-p_m)) + \frac{2\gamma_- p_m^{\gamma_--1}}{1-p_m}"
                       r" + \frac{p_m^{\gamma_-}}{(1-p_m)^2}\right]")
    links = ("identity", "logit")
    fused_links = frozenset(links)

    def __init__(
        self,
        *,
        gamma_pos: float = 0.0,
        gamma_neg: float = 4.0,
        clip: float = 0.05,
        link: str | None = None,
        eps: float | None = None,
        nan_policy: str = "raise",
    ) -> None:
        owner = "asymmetric_multilabel"
        self.gamma_pos = check_real(gamma_pos, "gamma_pos", low=0.0, low_inclusive=True,
                                    owner=owner)
        self.gamma_neg = check_real(gamma_neg, "gamma_neg", low=0.0, low_inclusive=True,
                                    owner=owner)
        self.clip = check_real(clip, "clip", low=0.0, high=1.0, low_inclusive=True,
                               owner=owner)
        self.eps = None if eps is None else check_real(eps, "eps", low=0.0, high=0.5,
                                                       owner=owner)
        super().__init__(link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        logit = self.link.name == "logit"
        plain = self.gamma_pos == 0 and self.gamma_neg == 0 and self.clip == 0
        return Properties(
            convex=plain or not logit,
            smoothness=math.ceil(self.gamma_neg) if self.clip > 0 else math.inf,
            lipschitz=None,
            bounded_gradient=logit,
            robust=None,
            hessian="exact",
            statistic="probability" if plain else "asymmetric-loss minimiser",
        )

    def _all_negative_logit(self) -> float:
        # Every p <= clip costs nothing; return the middle of that flat region.
        if self.clip == 0:
            return -math.inf
        half = 0.5 * self.clip
        return math.log(half) - math.log1p(-half)

    def _logit_parts(self, xp: Any, z: Any, y: Any, order: int) -> tuple[Any, ...]:
        positive = _focal_logit(xp, z, None, self.gamma_pos, order)
        negative = _asl_negative_logit(xp, z, self.gamma_neg, self.clip, order)
        return tuple(y * a + (1.0 - y) * b for a, b in zip(positive, negative, strict=True))

    def _parts(self, xp: Any, y_pred: Any, y_true: Any, order: int) -> tuple[Any, ...]:
        if self.link.name == "logit":
            return self._logit_parts(xp, y_pred, y_true, order)
        eps = self._clip_eps(xp, y_pred.dtype)
        ones = xp.ones_like(y_pred)
        positive = _focal_probability(xp, y_pred, ones, self.gamma_pos, eps, order)
        inside = (y_pred >= eps) & (y_pred <= 1.0 - eps)
        p = xp.clip(y_pred, eps, 1.0 - eps)
        negative = _asl_negative_probability(xp, p, self.gamma_neg, self.clip, order)
        negative = (negative[0], *(xp.where(inside, part, 0.0) for part in negative[1:]))
        pairs = zip(positive, negative, strict=True)
        return tuple(y_true * a + (1.0 - y_true) * b for a, b in pairs)

    def example(self, n: int = 8, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Valid random inputs with no probability within 0.025 of the kink at ``clip``."""
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 2, size=n).astype(np.float64)
        p = rng.uniform(0.05, 0.95, size=n)
        if self.clip > 0:
            p = np.where(np.abs(p - self.clip) < 0.025, self.clip + 0.5 * (1.0 - self.clip), p)
        if self.link.name == "logit":
            return np.log(p) - np.log1p(-p), y
        return p, y
