r"""Learning-to-rank losses: pairwise (RankNet, hinge) and listwise (ListNet, ListMLE,
ApproxNDCG, LambdaLoss).

Layout. ``y_pred`` holds scores of shape ``(n_lists, list_size)``; ``y_true`` holds the
graded relevance (``0, 1, 2, ...``, any real ``>= 0``) of the same shape. Entries whose
``y_true`` equals ``padding_value`` (-1 by default, allRank's convention; ``None``: no
padding) are padding: they take part in nothing, not even in the normalisers (the
ideal DCG, the softmax of the targets), and their gradient and Hessian are 0. Their
scores must still be finite (any value). ``sample_weight`` has one weight per list.

Values. ``reduction="none"`` gives one loss per list, ``(n_lists,)`` (the list axis is
dropped, as the class axis of a multiclass loss). ``"mean"`` is
``sum_i w_i L_i / sum_i w_i c_i`` with ``c_i = 1`` for a list holding at least one
non-padding item and 0 for a list that is all padding, so such a list changes neither
the sum nor the count; a mean over lists that are all padding raises the core's
"weighted mean ... is undefined" error. Gradient and Hessian are per list, with respect
to its own scores, times its weight: ``(n_lists, list_size)``.

Every loss is computed from ``(list_size, list_size)`` comparison matrices, without a
sort: ranks and orders become counts of comparisons, so the same code runs on NumPy,
PyTorch, JAX (under ``jit``), Dask and array_api_strict. Memory is
``O(n_lists list_size^2)``: fine for lists of a few hundred items.

``optimal_constant`` is not defined for ranking losses (see
:meth:`_Ranking.optimal_constant`).

References
----------
- Burges et al. (2005), "Learning to rank using gradient descent", ICML (RankNet).
- Cao et al. (2007), "Learning to rank: from pairwise approach to listwise approach",
  ICML (ListNet).
- Xia et al. (2008), "Listwise approach to learning to rank: theory and algorithm",
  ICML (ListMLE).
- Qin, Liu, Li (2010), "A general approximation framework for direct optimization of
  information retrieval measures", Information Retrieval 13 (ApproxNDCG).
- Wang et al. (2018), "The LambdaLoss framework for ranking metric optimization",
  CIKM (LambdaLoss, NDCG-Loss2, NDCG-Loss2++).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import numpy as np
from array_api_compat import device

from losskit import numerics
from losskit._array import can_inspect, fail_where
from losskit._params import check_choice, check_real
from losskit.core import Loss, Properties
from losskit.links import Interval
from losskit.registry import register

__all__ = ["ApproxNDCG", "LambdaLoss", "ListMLE", "ListNet", "PairwiseHinge", "RankNet"]

RELEVANCE = Interval(0.0, math.inf, True, False)
_LN2 = math.log(2.0)


class _RankingTarget(NamedTuple):
    """A prepared ranking target."""

    relevance: Any  # (n, L) graded relevance, 0 at padding
    valid: Any  # (n, L) 1.0 for an item, 0.0 for padding
    normalizer: Any  # (n,) 1.0 for a list with at least one item, else 0.0


# ----------------------------------------------------------------- helpers
def _column(xp: Any, a: Any) -> Any:
    """``a[..., :, None]``: entry (i, j) of a comparison matrix is ``a_i``."""
    return xp.expand_dims(a, axis=-1)


def _row(xp: Any, a: Any) -> Any:
    """``a[..., None, :]``: entry (i, j) of a comparison matrix is ``a_j``."""
    return xp.expand_dims(a, axis=-2)


def _differences(xp: Any, a: Any) -> Any:
    """``D_ij = a_i - a_j``, shape ``(..., L, L)``."""
    return _column(xp, a) - _row(xp, a)


def _positions(xp: Any, like: Any) -> tuple[Any, Any]:
    """(position of i, position of j) as ``(L, 1)`` and ``(1, L)`` integer arrays."""
    index = xp.arange(like.shape[-1], device=device(like))
    return xp.expand_dims(index, axis=-1), xp.expand_dims(index, axis=0)


def _preferred_pairs(xp: Any, target: _RankingTarget) -> Any:
    """``M_ij = 1`` where item i is strictly more relevant than item j (both real)."""
    y, valid = target.relevance, target.valid
    more = xp.astype(_column(xp, y) > _row(xp, y), y.dtype)
    return more * _column(xp, valid) * _row(xp, valid)


def _gains(xp: Any, relevance: Any) -> Any:
    """Exponential gains ``2^y - 1`` (Burges et al. 2005; 0 at padding), times ``2^-m``.

    ``m`` is the list's largest relevance. Every use is a ratio to the ideal DCG, where
    the factor cancels, and the scaled gain ``2^(y - m) - 2^-m`` cannot overflow (``2^y``
    does from ``y = 128`` in float32). It is exactly 0 for ``y = 0``.
    """
    top = xp.max(relevance, axis=-1, keepdims=True)
    return xp.exp(_LN2 * (relevance - top)) - xp.exp(-_LN2 * top)


def _discount(xp: Any, rank: Any) -> Any:
    """``1 / log2(1 + rank)`` for ranks ``>= 1``."""
    return _LN2 / xp.log1p(rank)


def _ideal_dcg(xp: Any, target: _RankingTarget, k: int | None = None) -> Any:
    """The ideal DCG of each list, ``(n,)``, from ideal ranks counted without a sort;
    with ``k``, of its first ``k`` ranks only (the ideal DCG@k).

    The ideal rank of item i is ``1 + #{j: g_j > g_i} + #{j < i: g_j = g_i}`` (ties in
    relevance by position; tied items have equal gains, so the DCG does not depend on
    how they are ordered, and ranks are distinct, so at most ``k`` items count).
    """
    gains = _gains(xp, target.relevance)
    g_i, g_j = _column(xp, gains), _row(xp, gains)
    position_i, position_j = _positions(xp, gains)
    valid_j = _row(xp, target.valid)
    before = (g_j > g_i) | ((g_j == g_i) & (position_j < position_i))
    rank = 1.0 + xp.sum(xp.astype(before, gains.dtype) * valid_j, axis=-1)
    terms = gains * _discount(xp, rank)
    if k is not None:
        terms = xp.where(rank <= k, terms, xp.zeros_like(terms))
    return xp.sum(terms, axis=-1)


def _safe_inverse(xp: Any, z: Any) -> Any:
    """``1 / z`` where ``z > 0``, else 0 (a list with nothing relevant to rank)."""
    positive = z > 0
    return xp.where(positive, 1.0 / xp.where(positive, z, xp.ones_like(z)), xp.zeros_like(z))


def _masked_scores(xp: Any, scores: Any, mask: Any) -> Any:
    """``scores`` with masked-out entries at ``-inf`` along the last axis, for the stable
    ``numerics.logsumexp``/``softmax``; a row with nothing kept is left all zeros
    (finite, its result is discarded by the caller)."""
    kept_any = xp.any(mask, axis=-1, keepdims=True)
    fill = xp.where(kept_any, xp.full_like(scores, -math.inf), xp.zeros_like(scores))
    return xp.where(mask, scores, fill)


def _symmetric_sigmoid_product(xp: Any, x: Any) -> Any:
    """``sigma(x) sigma(-x)``, the logistic curvature, finite for every finite ``x``."""
    return numerics.expit(x, xp=xp) * numerics.expit(-x, xp=xp)


def _pair_gradient(xp: Any, weights: Any) -> Any:
    """``dL/ds_k`` of ``sum_ij f(s_i - s_j)`` from ``weights_ij = f'(s_i - s_j)``."""
    return xp.sum(weights, axis=-1) - xp.sum(weights, axis=-2)


def _pair_curvature(xp: Any, weights: Any) -> Any:
    """``d2L/ds_k2`` of ``sum_ij f(s_i - s_j)`` from ``weights_ij = f''(s_i - s_j)``."""
    return xp.sum(weights, axis=-1) + xp.sum(weights, axis=-2)


# -------------------------------------------------------------- base class
class _Ranking(Loss):
    """Shared machinery: validation of the lists, padding, normalisers, examples."""

    multiclass = True
    pointwise = False
    y_true_domain = RELEVANCE
    y_pred_meaning = "a real score"
    hessian_formula = ""

    def __init__(self, *, padding_value: float | None = -1.0, link: str | None = None,
                 nan_policy: str = "raise") -> None:
        if padding_value is not None:
            padding_value = check_real(padding_value, "padding_value", high=0.0,
                                       owner=self.name)
        self.padding_value = padding_value
        super().__init__(link=link, nan_policy=nan_policy)

    # ---------------------------------------------------------- targets
    def _prepare_target(self, xp: Any, y_true: Any, y_pred: Any) -> _RankingTarget:
        if y_pred.ndim != 2:
            raise ValueError(
                f"y_pred for '{self.name}' must have shape (n_lists, list_size); got shape "
                f"{tuple(y_pred.shape)} (one list: y_pred[None, :])")
        if tuple(y_true.shape) != tuple(y_pred.shape):
            raise ValueError(
                f"y_true for '{self.name}' must hold the graded relevance of every score, "
                f"shape {tuple(y_pred.shape)}; got shape {tuple(y_true.shape)}")
        y = xp.astype(y_true, y_pred.dtype)
        if self.padding_value is None:
            valid = xp.ones_like(y) > 0
        else:
            valid = y != self.padding_value
        if can_inspect(y):
            padding = "" if self.padding_value is None else (
                f" or padding_value={self.padding_value:g}")
            fail_where(xp, valid & (y < 0),
                       f"y_true for '{self.name}' must be graded relevance >= 0{padding}")
        relevance = xp.where(valid, y, xp.zeros_like(y))
        normalizer = xp.astype(xp.any(valid, axis=-1), y.dtype)
        return _RankingTarget(relevance, xp.astype(valid, y.dtype), normalizer)

    def _check_target(self, xp: Any, y_true: Any) -> None:
        """Values were checked while preparing the target."""

    def _normalizer(self, xp: Any, y_true: Any) -> Any:
        return y_true.normalizer

    # ------------------------------------------------- subclass interface
    def _terms(self, xp: Any, s: Any, t: _RankingTarget, order: int) -> tuple[Any, Any, Any]:
        """(per-list value, gradient if ``order >= 1``, Hessian diagonal if ``order >= 2``)."""
        raise NotImplementedError

    def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self._terms(xp, y_pred, y_true, 0)[0]

    def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self._terms(xp, y_pred, y_true, 1)[1]

    def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self._terms(xp, y_pred, y_true, 2)[2]

    def _gradient_hessian(self, xp: Any, y_pred: Any, y_true: Any) -> tuple[Any, Any]:
        _, gradient, hessian = self._terms(xp, y_pred, y_true, 2)
        return gradient, hessian

    # ----------------------------------------------------------- others
    def optimal_constant(self, y_true: Any, sample_weight: Any = None, *,
                         n_classes: int | None = None) -> Any:
        """Not defined for ranking losses: raises ``NotImplementedError``.

        A constant prediction gives every list the same scores by position, but the
        positions of a list carry no meaning (a list is a set of items), and the
        constant that ties every score is a saddle of the pairwise losses rather than
        a fit. Fit scores from item features instead (``losskit.alignment`` does so
        on a toy problem).
        """
        raise NotImplementedError(
            f"optimal_constant is not defined for the ranking loss '{self.name}': "
            "positions within a list carry no meaning, so no constant score vector is a "
            "principled baseline; score items from their features instead")

    def example(self, n: int = 8, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``n`` lists of 6 items: relevance 0-3, scores ``0.6 relevance + N(0, 1)``; the
        odd-numbered lists are padded, by one entry (by three when the index is a
        multiple of 3)."""
        rng = np.random.default_rng(seed)
        size = 6
        relevance = rng.integers(0, 4, size=(n, size)).astype(np.float64)
        scores = 0.6 * relevance + rng.normal(0.0, 1.0, size=(n, size))
        pad = -1.0 if self.padding_value is None else self.padding_value
        for i in range(1, n, 2):
            length = size - 1 - (2 if i % 3 == 0 else 0)
            relevance[i, length:] = pad
        if self.padding_value is None:
            relevance = np.abs(relevance)
        return scores, relevance

    def _base_properties(self, **kwargs: Any) -> Properties:
        # No optimal constant: nothing for it to estimate.
        defaults: dict[str, Any] = {"robust": None, "statistic": "n/a"}
        defaults.update(kwargs)
        return Properties(**defaults)


# ---------------------------------------------------------------- pairwise
@register("ranknet", aliases=("pairwise_logistic",))
class RankNet(_Ranking):
    r"""RankNet: the pairwise logistic loss over pairs of unequal relevance.

    .. math:: L(s, y) = \sum_{i, j:\ y_i > y_j} \log\bigl(1 + e^{-\sigma (s_i - s_j)}\bigr)

    summed over the pairs of each list (Burges et al. 2005, with their ``sigma``).
    Gradient ``dL/ds_k = sigma (sum_{i: y_i > y_k} rho_ik - sum_{j: y_k > y_j} rho_kj)``
    with ``rho_ij = expit(-sigma (s_i - s_j))``; exact Hessian diagonal
    ``sigma^2 sum_{pairs containing k} rho (1 - rho)``. Convex and smooth; the gradient
    is bounded (by ``sigma`` times the number of pairs of an item: no constant
    independent of the list size is declared). Tied pairs and padding contribute 0.

    >>> import numpy as np
    >>> loss = RankNet()
    >>> round(float(loss(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]))), 6)  # log 2
    0.693147
    """

    formula = r"\sum_{y_i > y_j} \log(1 + e^{-\sigma(s_i - s_j)})"
    gradient_formula = r"\sigma\,(\sum_{i: y_i>y_k}\rho_{ik} - \sum_{j: y_k>y_j}\rho_{kj})"
    hessian_formula = r"\sigma^2 \sum_{\text{pairs}\ni k} \rho(1-\rho)"

    def __init__(self, *, sigma: float = 1.0, padding_value: float | None = -1.0,
                 link: str | None = None, nan_policy: str = "raise") -> None:
        self.sigma = check_real(sigma, "sigma", low=0.0, owner="ranknet")
        super().__init__(padding_value=padding_value, link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return self._base_properties(convex=True, smoothness=math.inf, lipschitz=None,
                                     bounded_gradient=True, hessian="diagonal")

    def _terms(self, xp: Any, s: Any, t: _RankingTarget, order: int) -> tuple[Any, Any, Any]:
        pairs = _preferred_pairs(xp, t)
        x = self.sigma * _differences(xp, s)
        value = xp.sum(pairs * numerics.softplus(-x, xp=xp), axis=(-2, -1))
        gradient = hessian = None
        if order >= 1:
            gradient = -self.sigma * _pair_gradient(xp, pairs * numerics.expit(-x, xp=xp))
        if order >= 2:
            curvature = pairs * _symmetric_sigmoid_product(xp, x)
            hessian = self.sigma**2 * _pair_curvature(xp, curvature)
        return value, gradient, hessian


@register("pairwise_hinge", aliases=("ranking_hinge", "margin_ranking"))
class PairwiseHinge(_Ranking):
    r"""Pairwise hinge loss (RankSVM): a margin between every pair of unequal relevance.

    .. math:: L(s, y) = \sum_{i, j:\ y_i > y_j} \max(0,\ m - (s_i - s_j))

    ``m = margin``. PyTorch's ``MarginRankingLoss(margin=m, reduction="sum")`` on the
    pairs ``(x1, x2, target) = (s_i, s_j, 1)``. Subgradient ``dL/ds_k`` counts the
    active pairs (``m - (s_i - s_j) > 0``; 0 at the kink, as autograd's ``relu``):
    ``sum_{i: y_i > y_k} a_ik - sum_{j: y_k > y_j} a_kj``. The second derivative is 0
    almost everywhere; ``hessian`` returns the positive surrogate ``max(1, P_k)``, with
    ``P_k`` the number of pairs item k belongs to (the Newton step ``g / h`` is then
    the average step per pair), and ``properties.hessian`` says ``"surrogate"``.
    Convex, with kinks; the gradient is bounded by the number of pairs.
    """

    formula = r"\sum_{y_i > y_j} \max(0, m - (s_i - s_j))"
    gradient_formula = r"\sum_{i: y_i>y_k} a_{ik} - \sum_{j: y_k>y_j} a_{kj}"
    hessian_formula = r"0 \text{ (surrogate: } \max(1, P_k))"

    def __init__(self, *, margin: float = 1.0, padding_value: float | None = -1.0,
                 link: str | None = None, nan_policy: str = "raise") -> None:
        self.margin = check_real(margin, "margin", low=0.0, low_inclusive=True,
                                 owner="pairwise_hinge")
        super().__init__(padding_value=padding_value, link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return self._base_properties(convex=True, smoothness=0, lipschitz=None,
                                     bounded_gradient=True, hessian="surrogate")

    def _terms(self, xp: Any, s: Any, t: _RankingTarget, order: int) -> tuple[Any, Any, Any]:
        pairs = _preferred_pairs(xp, t)
        slack = self.margin - _differences(xp, s)
        value = xp.sum(pairs * xp.maximum(slack, xp.zeros_like(slack)), axis=(-2, -1))
        gradient = hessian = None
        if order >= 1:
            active = pairs * xp.astype(slack > 0, s.dtype)
            gradient = -_pair_gradient(xp, active)
        if order >= 2:
            hessian = xp.maximum(_pair_curvature(xp, pairs), xp.ones_like(s))
        return value, gradient, hessian


# ---------------------------------------------------------------- listwise
@register("listnet")
class ListNet(_Ranking):
    r"""ListNet: cross-entropy between the top-one probabilities of targets and scores.

    .. math:: L(s, y) = -\sum_i \mathrm{softmax}(y)_i \log \mathrm{softmax}(s)_i

    over the items of each list (Cao et al. 2007 with ``phi = exp``, as allRank's
    ``listNet``). Gradient ``softmax(s) - softmax(y)``, exact Hessian diagonal
    ``p (1 - p)`` with ``p = softmax(s)``. Convex, smooth, Lipschitz with constant
    ``sqrt(2)`` (``||p - t||_2^2 <= ||p||^2 + ||t||^2 <= 2``). Its minimum over the
    scores is the entropy of ``softmax(y)``, reached at ``s = y + c``.
    """

    formula = r"-\sum_i \mathrm{softmax}(y)_i \log \mathrm{softmax}(s)_i"
    gradient_formula = r"\mathrm{softmax}(s)_k - \mathrm{softmax}(y)_k"
    hessian_formula = r"p_k (1 - p_k)"

    def __init__(self, *, padding_value: float | None = -1.0, link: str | None = None,
                 nan_policy: str = "raise") -> None:
        super().__init__(padding_value=padding_value, link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return self._base_properties(convex=True, smoothness=math.inf,
                                     lipschitz=math.sqrt(2.0), bounded_gradient=True,
                                     hessian="diagonal")

    def _terms(self, xp: Any, s: Any, t: _RankingTarget, order: int) -> tuple[Any, Any, Any]:
        valid = t.valid
        mask = valid > 0
        target = numerics.softmax(_masked_scores(xp, t.relevance, mask), xp=xp) * valid
        log_p = numerics.log_softmax(_masked_scores(xp, s, mask), xp=xp)
        log_p = xp.where(mask, log_p, xp.zeros_like(log_p))
        value = -xp.sum(target * log_p, axis=-1)
        gradient = hessian = None
        if order >= 1:
            p = numerics.softmax(_masked_scores(xp, s, mask), xp=xp) * valid
            gradient = p - target
            if order >= 2:
                hessian = p * (1.0 - p)
        return value, gradient, hessian


@register("listmle")
class ListMLE(_Ranking):
    r"""ListMLE: the Plackett-Luce negative log-likelihood of the ideal ordering.

    .. math:: L(s, y) = \sum_{r=1}^{n} \Bigl(\log \sum_{q \ge r} e^{s_{\pi(q)}}
              - s_{\pi(r)}\Bigr)

    where ``pi`` sorts the items by relevance, descending (Xia et al. 2008). Ties in
    relevance are broken by position in the list (a fixed, documented order; allRank
    shuffles them at random, which makes the loss a random variable), so a list whose
    labels are all tied is the likelihood of its own order, finite. Computed without a
    sort: the denominator of item i sums over the items j that come at or after it,
    ``y_j < y_i`` or (``y_j = y_i`` and ``j >= i``). Gradient
    ``dL/ds_k = sum_i P_ik - 1`` and exact Hessian diagonal ``sum_i P_ik (1 - P_ik)``,
    with ``P_ik`` item k's softmax probability in item i's denominator. Convex, smooth,
    gradient bounded by the list size.
    """

    formula = r"\sum_r \log\sum_{q\ge r} e^{s_{\pi(q)}} - s_{\pi(r)}"
    gradient_formula = r"\sum_i P_{ik} - 1"
    hessian_formula = r"\sum_i P_{ik}(1 - P_{ik})"

    def __init__(self, *, padding_value: float | None = -1.0, link: str | None = None,
                 nan_policy: str = "raise") -> None:
        super().__init__(padding_value=padding_value, link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return self._base_properties(convex=True, smoothness=math.inf, lipschitz=None,
                                     bounded_gradient=True, hessian="diagonal")

    def _terms(self, xp: Any, s: Any, t: _RankingTarget, order: int) -> tuple[Any, Any, Any]:
        y, valid = t.relevance, t.valid
        position_i, position_j = _positions(xp, s)
        later = (_row(xp, y) < _column(xp, y)) | (
            (_row(xp, y) == _column(xp, y)) & (position_j >= position_i))
        # Row i: the items j in item i's denominator (both real).
        mask = later & (_column(xp, valid) > 0) & (_row(xp, valid) > 0)
        scores = _row(xp, s) + xp.zeros_like(_column(xp, s))  # (n, L, L): s_j in row i
        filled = _masked_scores(xp, scores, mask)
        log_norm = numerics.logsumexp(filled, xp=xp)
        value = xp.sum(valid * (log_norm - s), axis=-1)
        gradient = hessian = None
        if order >= 1:
            share = numerics.softmax(filled, xp=xp) * _column(xp, valid)
            gradient = xp.sum(share, axis=-2) - valid
            if order >= 2:
                hessian = xp.sum(share * (1.0 - share), axis=-2)
        return value, gradient, hessian


@register("approx_ndcg", aliases=("approxndcg",))
class ApproxNDCG(_Ranking):
    r"""ApproxNDCG: one minus NDCG at smoothed ranks (Qin, Liu, Li 2010).

    .. math:: L(s, y) = 1 - \frac{1}{\mathrm{IDCG}} \sum_i
              \frac{2^{y_i} - 1}{\log_2(1 + \hat\pi_i)},\qquad
              \hat\pi_i = 1 + \sum_{j \ne i} \sigma\bigl(\alpha (s_j - s_i)\bigr)

    ``alpha`` is the inverse temperature (TF-Ranking's ``temperature = 1/alpha``; the
    smoothed rank tends to the rank as ``alpha -> inf``). ``IDCG`` is the ideal DCG of
    the list; a list with no relevant item (``IDCG = 0``) has loss 0 (there is nothing
    to rank). Up to the constant 1 this is allRank's and TF-Ranking's
    ``-ApproxNDCG``. The exact gradient is
    ``-(alpha / IDCG) sum_i q_ik (A_i - A_k)`` with ``A_i = G_i D'(pi_i)``,
    ``q_ik = sigma(alpha(s_k - s_i)) sigma(alpha(s_i - s_k))``; the Hessian diagonal is
    exact as well. Not convex; smooth; bounded gradient.
    """

    formula = r"1 - \mathrm{IDCG}^{-1}\sum_i (2^{y_i}-1)/\log_2(1 + \hat\pi_i)"
    gradient_formula = r"-\tfrac{\alpha}{\mathrm{IDCG}}\sum_i q_{ik}(A_i - A_k)"
    hessian_formula = r"\text{exact diagonal (see the docstring)}"

    def __init__(self, *, alpha: float = 10.0, padding_value: float | None = -1.0,
                 link: str | None = None, nan_policy: str = "raise") -> None:
        self.alpha = check_real(alpha, "alpha", low=0.0, owner="approx_ndcg")
        super().__init__(padding_value=padding_value, link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return self._base_properties(convex=False, smoothness=math.inf, lipschitz=None,
                                     bounded_gradient=True, hessian="diagonal")

    def _terms(self, xp: Any, s: Any, t: _RankingTarget, order: int) -> tuple[Any, Any, Any]:
        alpha, valid = self.alpha, t.valid
        gains = _gains(xp, t.relevance)
        inverse_ideal = _safe_inverse(xp, _ideal_dcg(xp, t))
        position_i, position_j = _positions(xp, s)
        others = (xp.astype(position_i != position_j, s.dtype)
                  * _column(xp, valid) * _row(xp, valid))
        # x_ij = alpha (s_j - s_i): sigma(x_ij) is the chance that j outranks i.
        x = -alpha * _differences(xp, s)
        rank = 1.0 + xp.sum(others * numerics.expit(x, xp=xp), axis=-1)
        log_rank = xp.log1p(rank)
        value = xp.where(inverse_ideal > 0,
                         1.0 - inverse_ideal * xp.sum(gains * _LN2 / log_rank, axis=-1),
                         xp.zeros_like(inverse_ideal))
        gradient = hessian = None
        if order >= 1:
            first = -_LN2 / ((1.0 + rank) * log_rank * log_rank)  # D'(rank)
            a = gains * first
            q = others * _symmetric_sigmoid_product(xp, x)  # symmetric in (i, j)
            q_total = xp.sum(q, axis=-1)
            scale = -alpha * xp.expand_dims(inverse_ideal, axis=-1)
            gradient = scale * (xp.sum(q * _column(xp, a), axis=-2) - a * q_total)
            if order >= 2:
                second = _LN2 * (log_rank + 2.0) / (
                    (1.0 + rank) ** 2 * log_rank**3)  # D''(rank)
                b = gains * second
                # Entry (i, k): sigma(alpha (s_k - s_i)) = sigma(x_ik).
                tilt = 1.0 - 2.0 * numerics.expit(x, xp=xp)
                cross = xp.sum(q * tilt * (_column(xp, a) - _row(xp, a)), axis=-2)
                squares = xp.sum(_column(xp, b) * q * q, axis=-2) + b * q_total * q_total
                hessian = alpha * scale * (cross + squares)
        return value, gradient, hessian


_WEIGHTINGS = ("ndcg_loss2", "ndcg_loss2pp", "lambdarank")


@register("lambda_loss", aliases=("lambdaloss",))
class LambdaLoss(_Ranking):
    r"""LambdaLoss: pairwise logistic terms weighted by NDCG (Wang et al. 2018).

    .. math:: L(s, y) = \sum_{i, j:\ y_i > y_j} w_{ij}\,
              \log_2\bigl(1 + e^{-\sigma (s_i - s_j)}\bigr),\qquad
              w_{ij} = |G_i - G_j|\,\bigl(\rho_{ij} + \mu\,\delta_{ij}\bigr)

    with ``G_i = (2^{y_i} - 1) / IDCG``, ``r_i`` the rank of item i under the current
    scores (ties in score by position), ``D(r) = log2(1 + r)``,
    ``delta_ij = |1/D(|r_i - r_j|) - 1/D(|r_i - r_j| + 1)|`` and
    ``rho_ij = |1/D(r_i) - 1/D(r_j)|``. ``weighting`` picks the paper's scheme:
    ``"ndcg_loss2pp"`` (NDCG-Loss2++, the weights above; allRank's default, with
    ``mu``), ``"ndcg_loss2"`` (``w = |G_i - G_j| delta_ij``, the bound on NDCG the
    paper proves) or ``"lambdarank"`` (``w = |G_i - G_j| rho_ij``, LambdaRank's
    ``|Delta NDCG|``). As in the paper and allRank, the weights depend on the ranks
    only, which are piecewise constant in the scores: the loss is smooth between rank
    changes and jumps where two scores cross (``properties.smoothness = -1``:
    discontinuous, hence not convex). Gradient and Hessian diagonal are exact on each
    smooth piece (the weights held fixed, which is the paper's gradient).

    ``k`` truncates it for NDCG@k, as allRank's ``lambdaLoss(k=...)``: only pairs whose
    two items both rank in the top ``k`` under the current scores count, and ``IDCG``
    is the ideal DCG@k. None (the default): every pair, the full IDCG.
    """

    formula = r"\sum_{y_i>y_j} w_{ij} \log_2(1 + e^{-\sigma(s_i - s_j)})"
    gradient_formula = r"\tfrac{\sigma}{\ln 2}(\sum_i w_{ik}\rho_{ik} - \sum_j w_{kj}\rho_{kj})"
    hessian_formula = r"\tfrac{\sigma^2}{\ln 2}\sum_{\text{pairs}\ni k} w\rho(1-\rho)"

    def __init__(self, *, weighting: str = "ndcg_loss2pp", mu: float = 10.0,
                 sigma: float = 1.0, k: int | None = None, padding_value: float | None = -1.0,
                 link: str | None = None, nan_policy: str = "raise") -> None:
        self.weighting = check_choice(weighting, "weighting", _WEIGHTINGS, owner="lambda_loss")
        self.mu = check_real(mu, "mu", low=0.0, low_inclusive=True, owner="lambda_loss")
        self.sigma = check_real(sigma, "sigma", low=0.0, owner="lambda_loss")
        if k is not None and (isinstance(k, bool) or not isinstance(k, numbers.Integral)):
            raise TypeError(f"k for 'lambda_loss' must be a positive integer or None; got {k!r}")
        if k is not None and k < 1:
            raise ValueError(f"k for 'lambda_loss' must be a positive integer or None; got {k!r}")
        self.k = None if k is None else int(k)
        super().__init__(padding_value=padding_value, link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return self._base_properties(convex=False, smoothness=-1, lipschitz=None,
                                     bounded_gradient=True, hessian="diagonal")

    def _weights(self, xp: Any, s: Any, t: _RankingTarget) -> Any:
        valid = t.valid
        gains = _gains(xp, t.relevance) * xp.expand_dims(
            _safe_inverse(xp, _ideal_dcg(xp, t, self.k)), axis=-1)
        position_i, position_j = _positions(xp, s)
        s_i, s_j = _column(xp, s), _row(xp, s)
        ahead = (s_j > s_i) | ((s_j == s_i) & (position_j < position_i))
        rank = 1.0 + xp.sum(xp.astype(ahead, s.dtype) * _row(xp, valid), axis=-1)
        gain_gap = xp.abs(_differences(xp, gains))
        weights = xp.zeros_like(gain_gap)
        if self.weighting in ("lambdarank", "ndcg_loss2pp"):
            weights = weights + xp.abs(_differences(xp, _discount(xp, rank)))
        if self.weighting in ("ndcg_loss2", "ndcg_loss2pp"):
            gap = xp.abs(_differences(xp, rank))
            # |r_i - r_j| >= 1 between two items; 1 elsewhere keeps log2(1 + 0) away.
            gap = xp.where(gap >= 1.0, gap, xp.ones_like(gap))
            delta = xp.abs(_discount(xp, gap) - _discount(xp, gap + 1.0))
            factor = 1.0 if self.weighting == "ndcg_loss2" else self.mu
            weights = weights + factor * delta
        if self.k is not None:
            top = xp.astype(rank <= self.k, s.dtype)
            weights = weights * _column(xp, top) * _row(xp, top)
        return _preferred_pairs(xp, t) * gain_gap * weights

    def _terms(self, xp: Any, s: Any, t: _RankingTarget, order: int) -> tuple[Any, Any, Any]:
        weights = self._weights(xp, s, t)
        x = self.sigma * _differences(xp, s)
        value = xp.sum(weights * numerics.softplus(-x, xp=xp), axis=(-2, -1)) / _LN2
        gradient = hessian = None
        if order >= 1:
            slope = weights * numerics.expit(-x, xp=xp)
            gradient = (-self.sigma / _LN2) * _pair_gradient(xp, slope)
        if order >= 2:
            curvature = weights * _symmetric_sigmoid_product(xp, x)
            hessian = (self.sigma**2 / _LN2) * _pair_curvature(xp, curvature)
        return value, gradient, hessian
