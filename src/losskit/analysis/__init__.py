"""Analysis: verification of declared properties, the probabilistic view, custom losses."""

from losskit.analysis.check import AlignmentResult, CheckReport, Finding, alignment, check
from losskit.analysis.custom import CustomLoss, NumericalDerivativeWarning, custom, loss
from losskit.analysis.probabilistic import (
    DistributionLoss,
    from_distribution,
    optimal_prediction,
)

__all__ = [
    "AlignmentResult",
    "CheckReport",
    "CustomLoss",
    "DistributionLoss",
    "Finding",
    "NumericalDerivativeWarning",
    "alignment",
    "check",
    "custom",
    "from_distribution",
    "loss",
    "optimal_prediction",
]
