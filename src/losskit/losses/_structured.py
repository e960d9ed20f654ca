"""Shared machinery of structured losses: embedding tuples, sequences, policy gradients.

A structured loss reads its own layout from ``y_pred`` (an ``(n, 2, dim)`` pair of
embeddings, a ``(batch, seq_len, vocab)`` block of logits ...), so it sets
``pointwise = False`` and leaves the pointwise generic suite. The public contract is
unchanged: ``gradient`` is the derivative of ``loss(..., reduction="sum")``, that is
``sum_i w_i L_i``, with respect to ``y_pred``.

Losses whose samples are coupled (NT-Xent: every sample is a negative of every other)
or whose weights act inside the formula (per-token weights of a per-sequence loss)
cannot be weighted afterwards, row by row, as the base class does. They derive from
``WeightsInside``: the prepared target carries the sample weights, the formulas
return weighted values and gradients, and ``_normalizer`` returns the weights of the
mean's denominator, so ``reduction="mean"`` is still ``sum_i w_i L_i / sum_i w_i``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from losskit._array import is_floating
from losskit.core import Loss, _Batch

__all__ = ["Structured", "Weighted", "WeightsInside"]


class Structured(Loss):
    """A loss over a structured ``y_pred``: per-sample values of shape ``(n,)``."""

    pointwise = False

    def _values_shape(self, pred: Any) -> tuple[int, ...]:
        return tuple(pred.shape[:1])

    def _nan_samples(self, xp: Any, pred: Any, raw_target: Any) -> Any:
        """A sample is NaN when any entry of its ``y_pred`` rows or ``y_true`` row is."""
        n_values = len(self._values_shape(pred))
        mask = _any_trailing(xp, xp.isnan(pred), n_values)
        if raw_target is not None and is_floating(raw_target):
            mask = mask | _any_trailing(xp, xp.isnan(raw_target), n_values)
        return mask

    def optimal_constant(self, y_true: Any, sample_weight: Any = None, *,
                         n_classes: int | None = None) -> Any:
        raise NotImplementedError(
            f"optimal_constant is not defined for '{self.name}': a constant y_pred is not "
            "meaningful for a structured loss (embeddings, sequences, policies)")


def _any_trailing(xp: Any, mask: Any, keep: int) -> Any:
    """``any`` over every axis after the first ``keep`` ones."""
    axes = tuple(range(keep, mask.ndim))
    return xp.any(mask, axis=axes) if axes else mask


class Weighted(NamedTuple):
    """A prepared target with the sample weights that the formulas apply themselves."""

    target: Any
    weight: Any  # None, or the validated sample_weight


class WeightsInside(Structured):
    """Structured losses that apply ``sample_weight`` inside their formulas."""

    def _prepare(self, y_pred: Any, y_true: Any, sample_weight: Any) -> _Batch:
        batch = super()._prepare(y_pred, y_true, sample_weight)
        return batch._replace(y_true=Weighted(batch.y_true, batch.weight), weight=None)

    def _normalizer(self, xp: Any, y_true: Weighted) -> Any:
        return y_true.weight

