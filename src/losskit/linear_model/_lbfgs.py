"""L-BFGS (scipy's L-BFGS-B) for smooth objectives without a usable full Hessian.

Multiclass models, large ``d`` and losses without an exact Hessian take this path.
The objective and its gradient come from one fused pass over the data
(``loss_gradient``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import minimize

from losskit.linear_model._problem import EPS, LinearProblem, gradient_norm
from losskit.linear_model._result import SolverResult

__all__ = ["lbfgs"]

RESTARTS = 3


def lbfgs(problem: LinearProblem, theta: np.ndarray, *, tol: float, max_iter: int,
          callback: Callable[[Any], Any] | None = None) -> SolverResult:
    history: list[float] = [problem.smooth_value(theta)]

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(over="ignore"):  # a long trial step may overflow: rejected
            return problem.smooth_value_gradient(x)

    def record(intermediate_result: Any) -> None:
        history.append(float(intermediate_result.fun))
        if callback is not None:
            callback(intermediate_result.x)

    # L-BFGS-B also stops when the objective no longer decreases (ftol), sometimes with
    # the gradient still above tol because its curvature memory went stale: restart
    # it from there, with a fresh memory, a few times.
    x, n_iter, message = theta, 0, ""
    for _ in range(RESTARTS + 1):
        result = minimize(fun, x, jac=True, method="L-BFGS-B", callback=record,
                          options={"maxiter": max_iter - n_iter, "gtol": tol,
                                   "ftol": 64 * EPS, "maxcor": 30, "maxls": 50})
        x, n_iter, message = np.asarray(result.x), n_iter + int(result.nit), str(result.message)
        value, gradient = problem.smooth_value_gradient(x)
        converged = gradient_norm(gradient) <= max(tol, 1e3 * EPS * max(1.0, abs(value)))
        if converged or n_iter >= max_iter or result.nit == 0:
            break
    return SolverResult(x, value, n_iter, converged, history, message,
                        {"gradient_norm": gradient_norm(gradient)})
