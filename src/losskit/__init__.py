"""losskit: loss functions as first-class objects.

>>> import numpy as np
>>> import losskit as lk
>>> huber = lk.get("huber", delta=1.0)
>>> float(huber(np.array([0.0, 3.0]), np.array([0.5, 0.0])))
1.3125
"""

from typing import TYPE_CHECKING

from losskit import links, metrics, numerics
from losskit._config import fast_path
from losskit.advisor import Candidate, recommend
from losskit.analysis import (
    AlignmentResult,
    CheckReport,
    CustomLoss,
    DistributionLoss,
    Finding,
    NumericalDerivativeWarning,
    alignment,
    check,
    custom,
    from_distribution,
    loss,
    optimal_prediction,
)
from losskit.compare import Comparison, compare
from losskit.compose import SumLoss
from losskit.core import Distribution, Loss, Properties
from losskit.linear_model import ConvergenceWarning, FitResult, fit
from losskit.losses import *  # noqa: F403
from losskit.losses import __all__ as _losses
from losskit.registry import aliases, get, list_losses, register
from losskit.report import report

__version__ = "0.1.0"

__all__ = [
    "AlignmentResult",
    "Candidate",
    "CheckReport",
    "Comparison",
    "ConvergenceWarning",
    "CustomLoss",
    "Distribution",
    "DistributionLoss",
    "Finding",
    "FitResult",
    "NumericalDerivativeWarning",
    "Loss",
    "Properties",
    "SumLoss",
    "__version__",
    "aliases",
    "alignment",
    "check",
    "compare",
    "custom",
    "fast_path",
    "fit",
    "from_distribution",
    "get",
    "links",
    "list_losses",
    "loss",
    "metrics",
    "numerics",
    "optimal_prediction",
    "recommend",
    "register",
    "report",
    *_losses,
]

if TYPE_CHECKING:  # loaded on first use by __getattr__; visible to type checkers
    from losskit import plot as plot

_LAZY_MODULES = {"plot": "losskit.plot", "xgboost": "losskit.integrations.xgboost",
                 "lightgbm": "losskit.integrations.lightgbm"}
_ESTIMATORS = ("LossClassifier", "LossRegressor")


def __getattr__(name: str) -> object:
    # Submodules with optional dependencies load on first use: lk.plot needs matplotlib,
    # lk.xgboost and lk.lightgbm their libraries.
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(_LAZY_MODULES[name])
    if name in _ESTIMATORS:  # scikit-learn estimators: scikit-learn loads on first use
        from losskit.linear_model import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'losskit' has no attribute {name!r}")
