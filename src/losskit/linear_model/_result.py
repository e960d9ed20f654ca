"""What every solver returns, and what ``losskit.linear_model`` returns to the user."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["SolverResult"]


@dataclass
class SolverResult:
    """The outcome of one solver on one design matrix.

    ``coef`` holds one entry per column of the design the solver was given (the
    caller appends the intercept column, so it is among them), shape ``(p,)`` or
    ``(p, K)`` for multiclass models. ``objective`` is the value the solver minimised
    at ``coef``; ``history`` the objective after each iteration. ``certificate``
    holds the optimality evidence the solver has: ``duality_gap`` (exact methods),
    ``gradient_norm`` (smooth methods), ...
    """

    coef: np.ndarray
    objective: float
    n_iter: int
    converged: bool
    history: list[float] = field(default_factory=list)
    message: str = ""
    certificate: dict[str, Any] = field(default_factory=dict)
