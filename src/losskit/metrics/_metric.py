"""The ``Metric`` record and the lookup of metrics by name (``"mae"``, ``"pinball@0.9"``).

A metric scores predictions after a model is fitted; a loss is what the model is
fitted with. ``compare`` and ``recommend`` take metrics by name, so the names live
here once, and the regression and classification modules fill the table.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Metric", "get_metric", "list_metrics", "register_metric"]

#: What a metric reads from a fitted model: the prediction in the target's units
#: (``"value"``), class probabilities (``"proba"``), a ranking score (``"score"``, for
#: ROC AUC; probabilities also work) or hard labels (``"label"``).
KINDS = ("value", "proba", "score", "label")


@dataclass(frozen=True)
class Metric:
    """A named score ``function(y_true, y_pred) -> float`` and which way is better."""

    name: str
    function: Callable[[np.ndarray, np.ndarray], float]
    greater_is_better: bool
    kind: str  # one of KINDS
    task: str  # "regression" or "classification"
    description: str = ""

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        return float(self.function(np.asarray(y_true), np.asarray(y_pred)))

    def better(self, a: float, b: float) -> bool:
        """Whether score ``a`` is strictly better than score ``b``."""
        return a > b if self.greater_is_better else a < b


_METRICS: dict[str, Metric] = {}
# Metrics with a parameter: "pinball@0.9" -> factory(0.9).
_FACTORIES: dict[str, Callable[[float], Metric]] = {}


def register_metric(metric: Metric) -> Metric:
    if metric.name in _METRICS:
        raise ValueError(f"a metric named {metric.name!r} is already registered")
    _METRICS[metric.name] = metric
    return metric


def register_factory(name: str, factory: Callable[[float], Metric]) -> None:
    _FACTORIES[name] = factory


def _load() -> None:
    # The families register themselves on import; importing them here keeps the lookup
    # independent of what the package's __init__ happens to import.
    import losskit.metrics.classification
    import losskit.metrics.regression  # noqa: F401


def list_metrics() -> list[str]:
    """Names accepted by ``get_metric`` (``NAME@VALUE`` for the parametrised ones)."""
    _load()
    return sorted([*_METRICS, *(f"{name}@q" for name in _FACTORIES)])


def get_metric(metric: str | Metric) -> Metric:
    """The metric named ``metric``: ``"mae"``, ``"roc_auc"``, ``"pinball@0.9"`` ...

    >>> get_metric("pinball@0.9").name
    'pinball@0.9'
    >>> get_metric("maae")
    Traceback (most recent call last):
    ...
    ValueError: unknown metric 'maae'; did you mean 'mae'...
    """
    if isinstance(metric, Metric):
        return metric
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a name or a Metric; got {type(metric).__name__}")
    _load()
    key = metric.strip().lower().replace("-", "_")
    if "@" in key:
        base, _, text = key.partition("@")
        if base in _FACTORIES:
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"metric {metric!r}: the level after '@' must be a number, "
                                 f"e.g. {base}@0.9") from None
            return _FACTORIES[base](value)
    if key in _FACTORIES:
        return _FACTORIES[key](0.5)
    if key in _METRICS:
        return _METRICS[key]
    known = list_metrics()
    close = difflib.get_close_matches(key, [*_METRICS, *_FACTORIES], n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"unknown metric {metric!r}{hint} (known: {', '.join(known)})")
