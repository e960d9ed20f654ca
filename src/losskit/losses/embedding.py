r"""Metric-learning losses on embeddings: contrastive, triplet and NT-Xent (InfoNCE).

Layout: ``y_pred`` holds tuples of embeddings along its second axis, ``(n, 2, dim)``
for pairs and views, ``(n, 3, dim)`` for (anchor, positive, negative). Each sample has
one value (shape ``(n,)``), ``sample_weight`` is ``(n,)``, and ``gradient`` has
``y_pred``'s shape: the derivative of ``sum_i w_i L_i`` with respect to every
embedding.

``distance`` picks ``d(a, b)``: ``"euclidean"`` ``||a - b||``, ``"squared"``
``||a - b||^2`` or ``"cosine"`` ``1 - cos(a, b)``.

Points where a distance is not differentiable get a documented subgradient, never a
NaN: at coincident points (``a = b``) the gradient of ``||a - b||`` is taken as 0 (the
subgradient of the norm at 0 closest to zero; PyTorch adds ``eps = 1e-6`` to
``a - b`` instead, which shifts every distance slightly); a zero-norm embedding has
cosine 0 with every vector (distance 1) and a gradient of 0 through its own
direction, as its direction is undefined.

Hessians: these losses are not convex and their exact second derivatives are
indefinite (and unbounded near coincident points), so ``hessian`` returns a positive
surrogate and ``properties.hessian == "surrogate"``, a constant per entry (times the
sample weight): 2 for ``contrastive`` (the exact value for a similar pair under the
euclidean distance, the Hessian of ``||a - b||^2``), 1 for ``triplet`` and
``nt_xent``, as for the hinge loss.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from array_api_compat import device

from losskit import numerics
from losskit._params import check_choice, check_real
from losskit.core import Properties
from losskit.links import UNIT
from losskit.losses._structured import Structured, Weighted, WeightsInside
from losskit.registry import register

__all__ = ["Contrastive", "NTXent", "Triplet"]

DISTANCES = ("euclidean", "squared", "cosine")
_DIM = 4  # embedding size of the examples


class _Distance(NamedTuple):
    """``d(a, b)`` per row and its gradients with respect to ``a`` and ``b``."""

    value: Any  # (...,)
    d_a: Any  # (..., dim)
    d_b: Any  # (..., dim)


def _safe_norm(xp: Any, squared: Any) -> tuple[Any, Any]:
    """(norm, positive): ``sqrt(squared)`` with a zero derivative where it is 0.

    The double ``where`` keeps automatic differentiation finite at 0 too, so autodiff
    of the value agrees with the subgradient 0 chosen for the analytic gradient.
    """
    positive = squared > 0
    root = xp.sqrt(xp.where(positive, squared, xp.ones_like(squared)))
    return xp.where(positive, root, xp.zeros_like(root)), positive


def _unit(xp: Any, x: Any) -> tuple[Any, Any, Any]:
    """(x / ||x||, ||x||, 1 / ||x||), with 0 in place of both for a zero vector."""
    norm, positive = _safe_norm(xp, xp.sum(x * x, axis=-1))
    inverse = xp.where(positive, 1.0 / xp.where(positive, norm, xp.ones_like(norm)),
                       xp.zeros_like(norm))
    return x * inverse[..., None], norm, inverse


def distance(xp: Any, a: Any, b: Any, kind: str) -> _Distance:
    """``d(a, b)`` along the last axis, with its gradients (subgradient 0 where undefined)."""
    if kind == "cosine":
        a_hat, _, a_inverse = _unit(xp, a)
        b_hat, _, b_inverse = _unit(xp, b)
        cos = xp.sum(a_hat * b_hat, axis=-1)
        d_a = -(b_hat - cos[..., None] * a_hat) * a_inverse[..., None]
        d_b = -(a_hat - cos[..., None] * b_hat) * b_inverse[..., None]
        return _Distance(1.0 - cos, d_a, d_b)
    delta = a - b
    squared = xp.sum(delta * delta, axis=-1)
    if kind == "squared":
        return _Distance(squared, 2.0 * delta, -2.0 * delta)
    norm, positive = _safe_norm(xp, squared)
    inverse = xp.where(positive, 1.0 / xp.where(positive, norm, xp.ones_like(norm)),
                       xp.zeros_like(norm))
    unit = delta * inverse[..., None]
    return _Distance(norm, unit, -unit)


def _distance_numpy(a: np.ndarray, b: np.ndarray, kind: str) -> np.ndarray:
    return np.asarray(distance(np, a, b, kind).value)


def _check_layout(loss: Structured, pred: Any, members: int, meaning: str) -> None:
    shape = tuple(pred.shape)
    if len(shape) != 3 or shape[1] != members:
        raise ValueError(
            f"y_pred for '{loss.name}' must have shape (n, {members}, dim): {meaning}; "
            f"got shape {shape}")


def _relu(xp: Any, x: Any) -> Any:
    return xp.maximum(x, xp.zeros_like(x))


def _reject_near(rng: np.random.Generator, draw: Any, bad: Any, n: int) -> np.ndarray:
    """``n`` rows of ``draw(rng, m)`` for which ``bad(rows)`` is False (examples)."""
    kept: list[np.ndarray] = []
    total = 0
    for _ in range(100):
        rows = draw(rng, 4 * n)
        rows = rows[~bad(rows)]
        kept.append(rows)
        total += rows.shape[0]
        if total >= n:
            return np.concatenate(kept)[:n]
    raise RuntimeError("could not draw example inputs away from the loss's kinks")


@register("contrastive", aliases=("contrastive_pair",))
class Contrastive(Structured):
    r"""Contrastive loss on pairs of embeddings (Hadsell, Chopra & LeCun 2006).

    .. math:: L(a, b, y) = y\, d(a, b)^2 + (1 - y) \max(0, m - d(a, b))^2

    the seed page's formula: ``y = 1`` for a similar pair (pulled together), ``y = 0``
    for a dissimilar one (pushed beyond the margin ``m``); labels in between weigh both
    terms. ``y_pred`` is ``(n, 2, dim)``, ``y_true`` ``(n,)``. ``distance`` is
    ``"euclidean"`` (default), ``"squared"`` or ``"cosine"``. Gradient
    ``l'(d) \nabla d`` with ``l'(d) = 2 y d - 2 (1 - y) \max(0, m - d)``; at
    coincident points of a dissimilar pair (euclidean) the subgradient 0 is returned.
    The Hessian surrogate is 2 per entry (exact for ``y = 1`` and the euclidean
    distance).

    pytorch-metric-learning's ``ContrastiveLoss(pos_margin=0, neg_margin=m)`` with
    ``LpDistance(normalize_embeddings=False)`` gives ``d`` and ``max(0, m - d)`` per
    pair, unsquared, averaged over the non-zero pairs; this loss is their square,
    averaged over all pairs.

    >>> import numpy as np
    >>> pairs = np.array([[[0.0, 0.0], [3.0, 4.0]], [[0.0, 0.0], [0.3, 0.4]]])
    >>> Contrastive(margin=1.0).elementwise(pairs, np.array([1, 0]))  # 5^2, (1 - 0.5)^2
    array([25.  ,  0.25])
    """

    formula = r"y\,d^2 + (1-y)\max(0, m - d)^2"
    gradient_formula = r"(2 y d - 2 (1-y)\max(0, m - d))\,\nabla d"
    hessian_formula = r"2 \;\;(\text{surrogate})"
    y_true_domain = UNIT
    y_pred_meaning = "pairs of embeddings"

    def __init__(self, *, margin: float = 1.0, distance: str = "euclidean",
                 nan_policy: str = "raise") -> None:
        self.margin = check_real(margin, "margin", low=0.0, owner="contrastive")
        self.distance = check_choice(distance, "distance", DISTANCES, owner="contrastive")
        super().__init__(nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return Properties(convex=False, smoothness=1 if self.distance == "squared" else 0,
                          lipschitz=None, bounded_gradient=False, robust=None,
                          hessian="surrogate", statistic="n/a")

    def example(self, n: int = 8, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Pairs at distances on both sides of the margin (none within 5% of it)."""
        rng = np.random.default_rng(seed)
        m = self.margin

        def draw(rng: np.random.Generator, count: int) -> np.ndarray:
            a = rng.normal(0.0, 1.0, size=(count, _DIM))
            noise = rng.normal(0.0, 1.0, size=a.shape)
            if self.distance == "cosine":  # directions from aligned to opposite
                b = rng.uniform(-1.0, 1.0, size=(count, 1)) * a + 0.5 * noise
            else:  # distances from 0.05 m to 2 m (squared: sqrt(m))
                size = math.sqrt(m) if self.distance == "squared" else m
                length = size * np.exp(rng.uniform(np.log(0.05), np.log(2.0), size=(count, 1)))
                b = a + length * noise / np.linalg.norm(noise, axis=1, keepdims=True)
            return np.stack([a, b], axis=1)

        def bad(rows: np.ndarray) -> np.ndarray:
            d = _distance_numpy(rows[:, 0], rows[:, 1], self.distance)
            return np.asarray(np.abs(d - m) < 0.05 * m)

        pairs = _reject_near(rng, draw, bad, n)
        return pairs, rng.permutation(np.arange(n) % 2).astype(np.float64)

    def _prepare_target(self, xp: Any, y_true: Any, y_pred: Any) -> Any:
        _check_layout(self, y_pred, 2, "pairs (a, b) of embeddings")
        if tuple(y_true.shape) != tuple(y_pred.shape[:1]):
            raise ValueError(f"y_true for 'contrastive' must be pair labels of shape "
                             f"({y_pred.shape[0]},) (1 similar, 0 dissimilar); got shape "
                             f"{tuple(y_true.shape)}")
        return xp.astype(y_true, y_pred.dtype)

    def _parts(self, xp: Any, y_pred: Any, y_true: Any) -> tuple[_Distance, Any, Any]:
        pair = distance(xp, y_pred[:, 0, :], y_pred[:, 1, :], self.distance)
        gap = _relu(xp, self.margin - pair.value)
        return pair, gap, 1.0 - y_true

    def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        pair, gap, dissimilar = self._parts(xp, y_pred, y_true)
        return y_true * pair.value * pair.value + dissimilar * gap * gap

    def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        pair, gap, dissimilar = self._parts(xp, y_pred, y_true)
        slope = (2.0 * y_true * pair.value - 2.0 * dissimilar * gap)[:, None]
        return xp.stack([slope * pair.d_a, slope * pair.d_b], axis=1)

    def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return 2.0 * xp.ones_like(y_pred)


@register("triplet", aliases=("triplet_margin",))
class Triplet(Structured):
    r"""Triplet margin loss (Schroff, Kalenichenko & Philbin 2015, FaceNet).

    .. math:: L(a, p, n) = \max(0,\; d(a, p) - d(a, n) + m)

    ``y_pred`` is ``(n, 3, dim)``: anchor, positive, negative; ``y_true`` is None.
    With ``swap=True`` the negative distance is ``min(d(a, n), d(p, n))`` (the distance
    swap of Balntas et al. 2016). ``distance="euclidean"`` (default) is PyTorch's
    ``TripletMarginLoss(margin, p=2, eps=0, swap)``; ``"squared"`` and ``"cosine"`` are
    ``TripletMarginWithDistanceLoss`` with that distance. At the hinge (``L = 0``
    exactly) and at coincident points the subgradient 0 is taken; on a tie of the swap
    the anchor's distance ``d(a, n)`` is used. The Hessian surrogate is 1 per entry.

    >>> import numpy as np
    >>> triplet = np.array([[[0.0, 0.0], [0.0, 1.0], [0.0, 1.5]]])  # d_ap 1, d_an 1.5
    >>> Triplet(margin=1.0).elementwise(triplet, None)
    array([0.5])
    >>> Triplet(margin=1.0, swap=True).elementwise(triplet, None)  # d_pn 0.5 < d_an
    array([1.5])
    """

    formula = r"\max(0, d(a,p) - d(a,n) + m)"
    gradient_formula = r"1[L > 0]\,(\nabla d(a,p) - \nabla d(a,n))"
    hessian_formula = r"1 \;\;(\text{surrogate})"
    y_pred_meaning = "(anchor, positive, negative) triplets of embeddings"

    def __init__(self, *, margin: float = 1.0, swap: bool = False,
                 distance: str = "euclidean", nan_policy: str = "raise") -> None:
        self.margin = check_real(margin, "margin", low=0.0, low_inclusive=True,
                                 owner="triplet")
        if not isinstance(swap, (bool, np.bool_)):
            raise TypeError(f"swap for 'triplet' must be True or False; got {swap!r}")
        self.swap = bool(swap)
        self.distance = check_choice(distance, "distance", DISTANCES, owner="triplet")
        super().__init__(nan_policy=nan_policy)

    def _properties(self) -> Properties:
        # Euclidean: each distance gradient is a unit vector, so the stacked gradient over
        # (a, p, n) has norm <= sqrt(2^2 + 1 + 1) (the swap moves the 2 to p).
        euclidean = self.distance == "euclidean"
        return Properties(convex=False, smoothness=0,
                          lipschitz=math.sqrt(6.0) if euclidean else None,
                          bounded_gradient=euclidean, robust=None, hessian="surrogate",
                          statistic="n/a")

    def _target_optional(self) -> bool:
        return True

    def example(  # type: ignore[override]  # no y_true: the base promises an array
        self, n: int = 8, *, seed: int = 0
    ) -> tuple[np.ndarray, None]:
        """Triplets on both sides of the hinge (none within 0.05 of it, nor of a swap tie)."""
        rng = np.random.default_rng(seed)
        scale = {"euclidean": self.margin, "squared": math.sqrt(self.margin),
                 "cosine": 1.0}[self.distance] or 1.0

        def draw(rng: np.random.Generator, count: int) -> np.ndarray:
            a = rng.normal(0.0, 1.0, size=(count, _DIM))
            p = a + scale * rng.uniform(0.1, 1.0, size=(count, 1)) * rng.normal(
                0.0, 0.6, size=a.shape)
            noise = rng.normal(0.0, 0.6, size=a.shape)
            if self.distance == "cosine":  # directions from aligned to opposite
                negative = rng.uniform(-1.0, 1.0, size=(count, 1)) * a + 0.5 * noise
            else:
                negative = a + scale * rng.uniform(0.2, 1.5, size=(count, 1)) * noise
            return np.stack([a, p, negative], axis=1)

        def bad(rows: np.ndarray) -> np.ndarray:
            d_ap, d_an, d_pn = (_distance_numpy(rows[:, i], rows[:, j], self.distance)
                                for i, j in ((0, 1), (0, 2), (1, 2)))
            d_neg = np.minimum(d_an, d_pn) if self.swap else d_an
            near_hinge = np.abs(d_ap - d_neg + self.margin) < 0.05
            return np.asarray(near_hinge | (self.swap & (np.abs(d_an - d_pn) < 0.05)))

        return _reject_near(rng, draw, bad, n), None

    def _prepare(self, y_pred: Any, y_true: Any, sample_weight: Any) -> Any:
        if y_true is not None:
            raise ValueError("y_true for 'triplet' must be None: the roles are the "
                             "positions on y_pred's second axis (anchor, positive, negative)")
        batch = super()._prepare(y_pred, y_true, sample_weight)
        _check_layout(self, batch.y_pred, 3, "(anchor, positive, negative) embeddings")
        return batch

    def _parts(self, xp: Any, y_pred: Any) -> tuple[Any, ...]:
        anchor, positive, negative = (y_pred[:, i, :] for i in range(3))
        ap = distance(xp, anchor, positive, self.distance)
        an = distance(xp, anchor, negative, self.distance)
        if self.swap:
            pn = distance(xp, positive, negative, self.distance)
            use_pn = pn.value < an.value
            d_neg = xp.where(use_pn, pn.value, an.value)
        else:
            pn, use_pn, d_neg = None, None, an.value
        value = _relu(xp, ap.value - d_neg + self.margin)
        return value, ap, an, pn, use_pn

    def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self._parts(xp, y_pred)[0]

    def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        value, ap, an, pn, use_pn = self._parts(xp, y_pred)
        active = xp.astype(value > 0, y_pred.dtype)[:, None]
        if pn is None:
            grad_a, grad_p, grad_n = ap.d_a - an.d_a, ap.d_b, -an.d_b
        else:
            pn_used = xp.astype(use_pn, y_pred.dtype)[:, None]
            an_used = 1.0 - pn_used
            grad_a = ap.d_a - an_used * an.d_a
            grad_p = ap.d_b - pn_used * pn.d_a
            grad_n = -an_used * an.d_b - pn_used * pn.d_b
        return xp.stack([active * grad_a, active * grad_p, active * grad_n], axis=1)

    def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return xp.ones_like(y_pred)


@register("nt_xent", aliases=("info_nce", "ntxent"))
class NTXent(WeightsInside):
    r"""NT-Xent (normalised temperature-scaled cross-entropy), the InfoNCE loss of SimCLR.

    .. math:: \ell_i = -s(z_i, z_{i'}) + \log \sum_{k \ne i} e^{s(z_i, z_k)},\qquad
              L_j = \tfrac12 (\ell_j + \ell_{j'})

    ``y_pred`` is ``(n, 2, dim)``: two views of each of ``n`` samples, ``y_true`` is
    None. The ``2n`` embeddings are anchors in turn; the positive of a view is the
    other view of its sample and the ``2n - 2`` views of the other samples are its
    negatives. The similarity is ``s = -d / \tau``: with ``distance="cosine"``
    (default) ``s = (\cos - 1)/\tau``, which gives the same loss as SimCLR's
    ``\cos/\tau`` (Chen et al. 2020, "A Simple Framework for Contrastive Learning of
    Visual Representations", eq. 1). The mean over samples is the mean over the ``2n``
    anchors, as pytorch-metric-learning's ``NTXentLoss(temperature)`` with each
    sample's two views sharing a label. Euclidean and squared distances are computed
    from the Gram matrix, as ``torch.cdist`` does for large batches: memory
    ``O(n^2 + n dim)``, and pairs far closer than their norms are resolved to about
    ``eps |z|^2`` in squared distance.

    Samples are coupled: every sample is a negative of every other, so ``gradient`` is
    the gradient of ``sum_j w_j L_j`` with respect to every embedding, and a sample of
    weight 0 still acts as a negative of the others. The Hessian surrogate is ``w_j``
    per entry of sample ``j``.
    """

    formula = r"\tfrac12(\ell_j + \ell_{j'}),\ \ell_i = -s_{i i'} + \log\sum_{k\ne i} e^{s_{ik}}"
    gradient_formula = r"\sum_k (G_{ik} + G_{ki}) \nabla_{z_i} s_{ik},\ G = c (P - 1[k = i'])"
    hessian_formula = r"1 \;\;(\text{surrogate})"
    y_pred_meaning = "two views of each sample's embedding"

    def __init__(self, *, temperature: float = 0.5, distance: str = "cosine",
                 nan_policy: str = "raise") -> None:
        self.temperature = check_real(temperature, "temperature", low=0.0, owner="nt_xent")
        self.distance = check_choice(distance, "distance", DISTANCES, owner="nt_xent")
        super().__init__(nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return Properties(convex=False,
                          smoothness=0 if self.distance == "euclidean" else math.inf,
                          lipschitz=None, bounded_gradient=False, robust=None,
                          hessian="surrogate", statistic="n/a")

    def _target_optional(self) -> bool:
        return True

    def example(  # type: ignore[override]  # no y_true: the base promises an array
        self, n: int = 8, *, seed: int = 0
    ) -> tuple[np.ndarray, None]:
        """Two noisy views of ``n`` random embeddings."""
        rng = np.random.default_rng(seed)
        centre = rng.normal(0.0, 1.0, size=(n, 1, _DIM))
        return centre + rng.normal(0.0, 0.4, size=(n, 2, _DIM)), None

    def _prepare(self, y_pred: Any, y_true: Any, sample_weight: Any) -> Any:
        if y_true is not None:
            raise ValueError("y_true for 'nt_xent' must be None: the positive of each view "
                             "is the other view in its row of y_pred")
        batch = super()._prepare(y_pred, y_true, sample_weight)
        _check_layout(self, batch.y_pred, 2, "two views of each sample")
        return batch

    def _similarity(self, xp: Any, z: Any) -> tuple[Any, Any]:
        """(similarity matrix ``-d/tau`` of the 2n views, what its gradient needs)."""
        tau = self.temperature
        if self.distance == "cosine":
            z_hat, _, inverse = _unit(xp, z)
            cos = z_hat @ xp.matrix_transpose(z_hat)
            return (cos - 1.0) / tau, (z_hat, inverse, cos)
        # From the Gram matrix, as torch.cdist does for large batches: O(n^2 + n dim)
        # memory, not O(n^2 dim); pairs much closer than their norms lose relative
        # accuracy (the squared distance is known to about eps |z|^2).
        norms = xp.sum(z * z, axis=1)
        gram = z @ xp.matrix_transpose(z)
        squared = xp.maximum(norms[:, None] + norms[None, :] - 2.0 * gram,
                             xp.zeros_like(gram))
        if self.distance == "squared":
            return -squared / tau, 2.0 * xp.ones_like(squared)
        norm, positive = _safe_norm(xp, squared)
        inverse = xp.where(positive, 1.0 / xp.where(positive, norm, xp.ones_like(norm)),
                           xp.zeros_like(norm))
        return -norm / tau, inverse

    def _anchors(self, xp: Any, y_pred: Any) -> tuple[Any, Any, Any, Any, Any]:
        """(the 2n views, similarities with -inf on the diagonal, positive mask, gradient
        parts, raw similarities)."""
        n = y_pred.shape[0]
        z = xp.concat([y_pred[:, 0, :], y_pred[:, 1, :]], axis=0)
        similarity, extra = self._similarity(xp, z)
        where = device(y_pred)
        self_mask = xp.eye(2 * n, dtype=y_pred.dtype, device=where) > 0
        positive = (xp.eye(2 * n, k=n, dtype=y_pred.dtype, device=where)
                    + xp.eye(2 * n, k=-n, dtype=y_pred.dtype, device=where))
        masked = xp.where(self_mask, xp.full_like(similarity, -math.inf), similarity)
        return z, masked, positive, extra, similarity

    def _per_anchor(self, xp: Any, masked: Any, positive: Any, similarity: Any) -> Any:
        positive_similarity = xp.sum(positive * similarity, axis=1)
        return numerics.logsumexp(masked, axis=1, xp=xp) - positive_similarity

    @staticmethod
    def _weights(xp: Any, y_true: Weighted, like: Any) -> Any:
        if y_true.weight is None:
            return xp.ones(like.shape[:1], dtype=like.dtype, device=device(like))
        return y_true.weight

    def _elementwise(self, xp: Any, y_pred: Any, y_true: Weighted) -> Any:
        n = y_pred.shape[0]
        _, masked, positive, _, similarity = self._anchors(xp, y_pred)
        per_anchor = self._per_anchor(xp, masked, positive, similarity)
        values = 0.5 * (per_anchor[:n] + per_anchor[n:])
        return values if y_true.weight is None else y_true.weight * values

    def _gradient(self, xp: Any, y_pred: Any, y_true: Weighted) -> Any:
        n = y_pred.shape[0]
        z, masked, positive, extra, _ = self._anchors(xp, y_pred)
        half = 0.5 * self._weights(xp, y_true, y_pred)
        anchor_weight = xp.concat([half, half], axis=0)
        probabilities = numerics.softmax(masked, axis=1, xp=xp)
        # d(sum_i c_i l_i) / d s_ik; s is symmetric, so z_m collects row and column m.
        coupling = anchor_weight[:, None] * (probabilities - positive)
        symmetric = coupling + xp.matrix_transpose(coupling)
        tau = self.temperature
        if self.distance == "cosine":
            z_hat, inverse, cos = extra
            # d cos(z_m, z_k) / d z_m = (z_hat_k - cos_mk z_hat_m) / ||z_m||
            pulled = symmetric @ z_hat - xp.sum(symmetric * cos, axis=1)[:, None] * z_hat
            grad = pulled * (inverse / tau)[:, None]
        else:
            # s = -d / tau and d d(z_m, z_k) / d z_m = extra[m, k] (z_m - z_k)
            pull = symmetric * extra
            grad = -(xp.sum(pull, axis=1)[:, None] * z - pull @ z) / tau
        return xp.stack([grad[:n, :], grad[n:, :]], axis=1)

    def _hessian(self, xp: Any, y_pred: Any, y_true: Weighted) -> Any:
        weight = self._weights(xp, y_true, y_pred)
        return xp.ones_like(y_pred) * weight[:, None, None]
