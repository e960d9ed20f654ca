"""Metrics: scores of fitted models, by family, and their lookup by name.

Metrics take ``(y_true, y_pred)`` as scikit-learn's do; losses take ``(y_pred,
y_true)``. Regression and classification metrics are registered by name
(``get_metric("mae")``, ``list_metrics()``; their modules load on first use, as the
classification one needs scipy); the ranking metrics (``ndcg``,
``average_precision``/``mean_average_precision``, ``mrr``) take lists of shape
``(n_lists, list_size)`` with padding, see :mod:`losskit.metrics.ranking`.
Importing this package imports only NumPy.
"""

from losskit.metrics import ranking
from losskit.metrics._metric import Metric, get_metric, list_metrics, register_metric
from losskit.metrics.ranking import average_precision, mean_average_precision, mrr, ndcg

__all__ = [
    "Metric",
    "average_precision",
    "get_metric",
    "list_metrics",
    "mean_average_precision",
    "mrr",
    "ndcg",
    "ranking",
    "register_metric",
]

_LAZY = ("classification", "regression")


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"losskit.metrics.{name}")
    raise AttributeError(f"module 'losskit.metrics' has no attribute {name!r}")
