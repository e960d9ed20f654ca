"""Plots of losses, gradients, risk landscapes and robustness (``pip install "losskit[plot]"``).

Every function returns a ``matplotlib.figure.Figure`` built with the object API (no
pyplot state: nothing pops up, and it works headless); the curve functions also draw
into an existing Axes with ``ax=``. Losses are given as names (``"huber"``), ``Loss``
objects, ``(name, params)`` pairs whose list-valued parameters are swept
(``("quantile", {"q": [0.1, 0.5, 0.9]})``), lists of those, or dicts.

- :func:`losses`, :func:`gradients`, :func:`hessians`: curves over the residual
  ``ŷ − y`` (regression), the margin ``y·f`` (margin and classification losses on
  logits) or a probability;
- :func:`confidence_penalty`: the loss against the predicted probability of the true
  class;
- :func:`landscape`: the empirical risk of a linear model over two of its parameters,
  surface and contours, with the minimiser(s);
- :func:`outlier_sensitivity`: fitted slopes as a growing share of targets is
  corrupted.

matplotlib is imported when a plot is drawn, never by ``import losskit``.
"""

from losskit.plot._curves import confidence_penalty, gradients, hessians, losses
from losskit.plot._landscape import landscape
from losskit.plot._robustness import outlier_sensitivity

__all__ = [
    "confidence_penalty",
    "gradients",
    "hessians",
    "landscape",
    "losses",
    "outlier_sensitivity",
]
