"""losskit: loss functions as first-class objects.

>>> import numpy as np
>>> import losskit as lk
>>> huber = lk.get("huber", delta=1.0)
>>> float(huber(np.array([0.0, 3.0]), np.array([0.5, 0.0])))
1.3125
"""

from losskit import links, numerics
from losskit._config import fast_path
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
from losskit.compose import SumLoss
from losskit.core import Distribution, Loss, Properties
from losskit.fit import ConvergenceWarning, FitResult, fit
from losskit.losses import *  # noqa: F403
from losskit.losses import __all__ as _losses
from losskit.registry import aliases, get, list_losses, register

__version__ = "0.1.0"

__all__ = [
    "AlignmentResult",
    "CheckReport",
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
    "custom",
    "fast_path",
    "fit",
    "from_distribution",
    "get",
    "links",
    "list_losses",
    "loss",
    "numerics",
    "optimal_prediction",
    "register",
    *_losses,
]

_LAZY_MODULES = ("plot",)


def __getattr__(name: str) -> object:
    # Submodules with optional dependencies load on first use: lk.plot needs matplotlib.
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f"losskit.{name}")
    raise AttributeError(f"module 'losskit' has no attribute {name!r}")
