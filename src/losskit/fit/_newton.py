r"""Damped Newton's method with a backtracking line search, for smooth losses.

Each iteration forms the Hessian ``X^T diag(h) X`` of the data term (plus the ridge
term), factors it by Cholesky and steps along the Newton direction, halving the step
until the Armijo condition holds (Nocedal & Wright, *Numerical Optimization*, 2nd ed.,
Algorithms 3.1 and 3.3). Where the Hessian is not positive definite (a Huber fit
whose residuals all lie beyond ``delta``, a non-convex loss, collinear columns) a
multiple of the identity is added, growing tenfold until the factorisation succeeds
(Levenberg–Marquardt damping).

It stops when the largest entry of the gradient is at most ``tol``, or when the Newton
decrement ``-g^T s`` falls to the rounding level of the objective (no further
decrease is representable).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from losskit.fit._problem import EPS, LinearProblem, gradient_norm
from losskit.fit._result import SolverResult

__all__ = ["newton"]


def newton(problem: LinearProblem, theta: np.ndarray, *, tol: float, max_iter: int,
           callback: Callable[[Any], Any] | None = None) -> SolverResult:
    history: list[float] = []
    value, gradient, hessian = problem.smooth_value_gradient_hessian(theta)
    history.append(value)
    converged = False
    message = f"reached max_iter={max_iter}"
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
        if gradient_norm(gradient) <= tol:
            converged, n_iter, message = True, n_iter - 1, "gradient below tol"
            break
        step = _newton_step(hessian, gradient)
        decrement = float(-gradient @ step)
        if decrement <= 4 * EPS * max(1.0, abs(value)):
            converged, n_iter = True, n_iter - 1
            message = "Newton decrement at the rounding level of the objective"
            break
        accepted = _armijo(problem, theta, value, step, decrement)
        if accepted is None:
            # No decrease is representable: at the optimum to working precision if the
            # gradient is small relative to the curvature, else a genuine failure.
            converged = decrement <= 1e3 * EPS * max(1.0, abs(value))
            message = "line search found no decrease"
            n_iter -= 1
            break
        theta = accepted
        value, gradient, hessian = problem.smooth_value_gradient_hessian(theta)
        history.append(value)
        if callback is not None:
            callback(theta)
    else:
        converged = gradient_norm(gradient) <= tol
    return SolverResult(theta, value, n_iter, converged, history, message,
                        {"gradient_norm": gradient_norm(gradient)})


def _newton_step(hessian: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    size = hessian.shape[0]
    scale = max(float(np.max(np.abs(np.diag(hessian)))), 1e-300)
    damping = 0.0
    for _ in range(40):
        try:
            factor = cho_factor(hessian + damping * np.eye(size), lower=True,
                                check_finite=False)
            step = -cho_solve(factor, gradient, check_finite=False)
            if np.all(np.isfinite(step)):
                return step
        except LinAlgError:
            pass
        damping = scale * 1e-12 if damping == 0.0 else damping * 10.0
    return -gradient / scale


def _armijo(problem: LinearProblem, theta: np.ndarray, value: float, step: np.ndarray,
            decrement: float) -> np.ndarray | None:
    t = 1.0
    for _ in range(60):
        candidate = theta + t * step
        with np.errstate(over="ignore"):  # a long trial step may overflow exp: rejected
            trial = problem.smooth_value(candidate)
        if np.isfinite(trial) and trial <= value - 1e-4 * t * decrement:
            return candidate
        t *= 0.5
    return None
