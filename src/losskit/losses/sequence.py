r"""Token-level cross-entropy for sequence models, and perplexity.

``y_pred`` is ``(batch, seq_len, vocab)`` logits (``link="softmax"``, the only link:
sequence models emit logits, and the fused softmax formulas stay exact for logits of
``1e4`` and beyond); ``y_true`` is ``(batch, seq_len)`` token
indices, padded with ``ignore_index`` (-100 by default, as PyTorch and Hugging Face),
or ``(batch, seq_len, vocab)`` probability rows (distillation). The per-token loss is
``cross_entropy``'s, with its ``label_smoothing``, ``class_weight`` and
``ignore_index``: the formula, gradient and Hessian are computed by
:class:`~losskit.losses.classification.CrossEntropy` itself, never re-derived here.

``sample_weight`` is ``(batch,)``, one weight per sequence, or ``(batch, seq_len)``,
one per token: a 0/1 padding mask is such a weight (Keras' temporal sample weights).

A sample is a sequence: ``reduction="none"`` gives ``(batch,)`` values, ``gradient``
and ``hessian`` (the diagonal over the vocabulary) are those of
``loss(..., reduction="sum")`` with respect to ``y_pred``, and ``token_losses`` gives
the ``(batch, seq_len)`` per-token losses. With ``w_b`` the sequence weights, ``m_bt``
the token weights (1 where not given), ``c_bt`` cross-entropy's own normaliser (the
class weight of the target token, 0 for an ignored one) and ``l_bt`` the token
losses, ``normalize`` sets each sequence's value ``L_b`` and its normaliser ``C_b`` in
the documented mean ``sum_b w_b L_b / sum_b w_b C_b``:

- ``"tokens"`` (default): ``L_b = sum_t m_bt l_bt``, ``C_b = sum_t m_bt c_bt``, so the
  mean is the mean over all non-padding tokens of the batch: PyTorch's
  ``cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100)``.
- ``"sequences"``: the same ``L_b`` (the sequence's negative log-likelihood) and
  ``C_b = 1``: the mean over sequences of their summed token losses.
- ``"sequence_mean"``: ``L_b = sum_t m l / sum_t m c``, each sequence's mean token
  loss, and ``C_b = 1``, so short and long sequences count alike.

A sequence without a counted token (all padding) has ``L_b = 0`` and ``C_b = 0``: it
is left out of every mean. A batch where every token is ignored has no mean:
``reduction="mean"`` raises a ``ValueError`` (``"sum"`` is 0).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from losskit import _array
from losskit._array import as_array, can_inspect, fail_where
from losskit._params import check_choice
from losskit.core import Properties
from losskit.losses._structured import Weighted, WeightsInside
from losskit.losses.classification import CrossEntropy
from losskit.registry import register

__all__ = ["SequenceCrossEntropy", "perplexity"]

NORMALIZE = ("tokens", "sequences", "sequence_mean")


class _TokenCrossEntropy(CrossEntropy):
    """``cross_entropy``'s formulas, reporting bad targets as ``sequence_cross_entropy``."""

    name = "sequence_cross_entropy"


@register("sequence_cross_entropy", aliases=("token_cross_entropy", "sequence_ce"))
class SequenceCrossEntropy(WeightsInside):
    r"""Per-token cross-entropy over ``(batch, seq_len, vocab)`` logits, with padding.

    .. math:: l_{bt} = -\sum_k a_{btk} \log \mathrm{softmax}(z_{bt})_k

    with ``a`` the (smoothed, class-weighted) one-hot target of token ``y_bt``, as
    ``cross_entropy``; see the module docstring for ``normalize``, masks and weights.
    ``perplexity`` is ``exp`` of the mean negative log-likelihood per token.

    >>> import numpy as np
    >>> loss = SequenceCrossEntropy()
    >>> logits = np.zeros((2, 3, 4))                       # uniform over 4 tokens
    >>> tokens = np.array([[1, 2, -100], [3, -100, -100]])  # lengths 2 and 1
    >>> round(float(loss(logits, tokens)), 6)              # log 4 per token
    1.386294
    >>> loss.elementwise(logits, tokens).round(4)             # per sequence: sums
    array([2.7726, 1.3863])
    >>> round(float(SequenceCrossEntropy(normalize="sequences")(logits, tokens)), 4)
    2.0794
    >>> round(float(loss.perplexity(logits, tokens)), 10)
    4.0
    """

    formula = r"-\sum_k a_{tk} \log p_{tk}"
    gradient_formula = r"(\textstyle\sum_k a_{tk})\, p_{tk} - a_{tk} \;\;(\text{softmax})"
    hessian_formula = r"(\textstyle\sum_k a_{tk})\, p_{tk}(1 - p_{tk}) \;\;(\text{diagonal})"
    links = ("softmax",)
    fused_links = frozenset({"softmax"})
    y_pred_meaning = "logits"

    def __init__(self, *, normalize: str = "tokens", ignore_index: int | None = -100,
                 label_smoothing: float = 0.0, class_weight: Any = None,
                 link: str | None = "softmax", nan_policy: str = "raise") -> None:
        super().__init__(link=link, nan_policy=nan_policy)
        self.normalize = check_choice(normalize, "normalize", NORMALIZE,
                                      owner="sequence_cross_entropy")
        # The token loss: one source of truth for the formula and its derivatives.
        try:
            self._token_loss = _TokenCrossEntropy(
                class_weight=class_weight, label_smoothing=label_smoothing,
                ignore_index=ignore_index, link=link, nan_policy=nan_policy)
        except (TypeError, ValueError) as error:  # name this loss in the message
            message = str(error).replace("'cross_entropy'", "'sequence_cross_entropy'")
            raise type(error)(message) from None
        self.ignore_index = self._token_loss.ignore_index
        self.label_smoothing = self._token_loss.label_smoothing
        self.class_weight = self._token_loss.class_weight

    def _properties(self) -> Properties:
        token = self._token_loss.properties
        # A sequence's summed loss has a gradient that grows with its length; its mean
        # token loss keeps the token's bound sqrt(2) (softmax, no class weights).
        bounded = (self.normalize == "sequence_mean" and self.class_weight is None
                   and token.lipschitz is not None)
        return Properties(convex=True, smoothness=math.inf,
                          lipschitz=token.lipschitz if bounded else None,
                          bounded_gradient=bounded, robust=None, hessian=token.hessian,
                          statistic="n/a")

    def example(self, n: int = 8, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``n`` sequences of lengths 1 to 5 over a vocabulary of 6, padded to 5."""
        rng = np.random.default_rng(seed)
        seq_len, vocab = 5, 6
        logits = rng.normal(0.0, 1.5, size=(n, seq_len, vocab))
        tokens = rng.integers(0, vocab, size=(n, seq_len)).astype(np.float64)
        if self.ignore_index is not None:
            lengths = rng.integers(1, seq_len + 1, size=n)
            lengths[0] = 1
            lengths[-1] = seq_len
            tokens[np.arange(seq_len)[None, :] >= lengths[:, None]] = self.ignore_index
        return logits, tokens

    # ------------------------------------------------------------ preparation
    def _prepare_target(self, xp: Any, y_true: Any, y_pred: Any) -> Any:
        if y_pred.ndim != 3 or y_pred.shape[-1] < 2:
            raise ValueError(
                "y_pred for 'sequence_cross_entropy' must have shape (batch, seq_len, vocab) "
                f"with vocab >= 2; got shape {tuple(y_pred.shape)}")
        return self._token_loss._target_mass(xp, y_true, y_pred)

    def _check_target(self, xp: Any, y_true: Any) -> None:
        """Token indices and probability rows are checked by cross_entropy."""

    def _prepare_weight(self, xp: Any, sample_weight: Any, pred: Any) -> Any:
        weight = as_array(sample_weight, "sample_weight", xp=xp, like=pred)
        batch, seq_len = tuple(pred.shape[:2])
        if tuple(weight.shape) not in ((batch,), (batch, seq_len)):
            raise ValueError(
                f"sample_weight for 'sequence_cross_entropy' must have shape ({batch},) "
                f"(one weight per sequence) or ({batch}, {seq_len}) (one per token, e.g. a "
                f"padding mask); got {tuple(weight.shape)}")
        weight = xp.astype(weight, pred.dtype)
        if can_inspect(weight):
            fail_where(xp, ~xp.isfinite(weight), "sample_weight must be finite")
            fail_where(xp, weight < 0, "sample_weight must be >= 0")
        return weight

    # --------------------------------------------------------------- weights
    def _token_factors(self, xp: Any, y_true: Weighted, like: Any) -> tuple[Any, Any, Any]:
        """(sequence weights (B,) or None, token weights (B, T) or None, counts c (B, T))."""
        weight = y_true.weight
        sequence = weight if weight is not None and weight.ndim == 1 else None
        token = weight if weight is not None and weight.ndim == 2 else None
        count = y_true.target.normalizer
        if count is None:
            count = xp.ones(like.shape[:2], dtype=like.dtype, device=_array.device(like))
        return sequence, token, count

    def _counted(self, xp: Any, token: Any, count: Any) -> Any:
        """Per sequence: ``sum_t m_bt c_bt``, the weight of its counted tokens."""
        return xp.sum(count if token is None else token * count, axis=1)

    def _scale(self, xp: Any, y_true: Weighted, like: Any) -> Any:
        """The (B, T) factor on each token's loss and derivatives, or None for 1."""
        sequence, token, count = self._token_factors(xp, y_true, like)
        scale = token
        if sequence is not None:
            scale = sequence[:, None] * (xp.ones_like(count) if token is None else token)
        if self.normalize == "sequence_mean":
            total = self._counted(xp, token, count)
            inverse = xp.where(total > 0, 1.0 / xp.where(total > 0, total, 1.0), 0.0)
            scale = inverse[:, None] * (xp.ones_like(count) if scale is None else scale)
        return scale

    def _normalizer(self, xp: Any, y_true: Weighted) -> Any:
        sequence, token, count = self._token_factors(xp, y_true, y_true.target.mass)
        counted = self._counted(xp, token, count)
        if self.normalize != "tokens":
            counted = xp.astype(counted > 0, count.dtype)
        return counted if sequence is None else sequence * counted

    # --------------------------------------------------------------- formulas
    def _elementwise(self, xp: Any, y_pred: Any, y_true: Weighted) -> Any:
        values = self._token_loss._elementwise(xp, y_pred, y_true.target)
        scale = self._scale(xp, y_true, y_pred)
        return xp.sum(values if scale is None else scale * values, axis=1)

    def _scaled(self, xp: Any, y_true: Weighted, like: Any, array: Any) -> Any:
        scale = self._scale(xp, y_true, like)
        return array if scale is None else scale[..., None] * array

    def _gradient(self, xp: Any, y_pred: Any, y_true: Weighted) -> Any:
        return self._scaled(xp, y_true, y_pred,
                            self._token_loss._gradient(xp, y_pred, y_true.target))

    def _hessian(self, xp: Any, y_pred: Any, y_true: Weighted) -> Any:
        return self._scaled(xp, y_true, y_pred,
                            self._token_loss._hessian(xp, y_pred, y_true.target))

    # ----------------------------------------------------------------- extras
    def token_losses(self, y_pred: Any, y_true: Any) -> Any:
        """``(batch, seq_len)`` per-token losses ``c_bt l_bt`` (0 at ignored tokens)."""
        if getattr(y_pred, "ndim", np.ndim(y_pred)) != 3:
            raise ValueError("y_pred for 'sequence_cross_entropy' must have shape "
                             f"(batch, seq_len, vocab); got shape {np.shape(y_pred)}")
        return self._token_loss(y_pred, y_true, reduction="none")

    def perplexity(self, y_pred: Any, y_true: Any, sample_weight: Any = None) -> Any:
        """``exp`` of the mean negative log-likelihood per counted token.

        Without label smoothing and class weights (perplexity measures the model, not
        the training objective); padding, masks and weights count as in the loss.
        """
        return perplexity(y_pred, y_true, sample_weight=sample_weight,
                          ignore_index=self.ignore_index)


def perplexity(y_pred: Any, y_true: Any, *, sample_weight: Any = None,
               ignore_index: int | None = -100) -> Any:
    """Perplexity ``exp(mean NLL per token)`` of ``(batch, seq_len, vocab)`` predictions.

    Padding (``ignore_index``) and ``sample_weight`` (``(batch,)`` or a
    ``(batch, seq_len)`` mask) count as in ``sequence_cross_entropy``. An array of
    ``y_pred``'s library, a 0-d scalar.

    >>> import numpy as np
    >>> round(float(perplexity(np.zeros((1, 2, 5)), np.array([[0, 3]]))), 10)
    5.0
    """
    nll = SequenceCrossEntropy(normalize="tokens", ignore_index=ignore_index)
    value = nll(y_pred, y_true, sample_weight=sample_weight)
    return _array.namespace(value).exp(value) if _array.is_array_api_obj(value) else (
        np.exp(value))
