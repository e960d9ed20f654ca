r"""Damped Newton's method with a backtracking line search, for smooth losses.

Each iteration forms the Hessian ``X^T diag(h) X`` of the data term (plus the ridge
term), factors it by Cholesky and steps along the Newton direction, halving the step
until the Armijo condition holds (Nocedal & Wright, *Numerical Optimization*, 2nd ed.,
Algorithms 3.1 and 3.3). Where the Hessian is not positive definite (a Huber fit
whose residuals all lie beyond ``delta``, a non-convex loss, collinear columns or
more features than samples) the step is the minimum-norm one over the eigenvectors
of the Hessian, with each curvature taken in absolute value: a descent direction
that leaves flat directions alone, so that an underdetermined least-squares fit ends
at the same solution whether a row is repeated or weighted.

It stops when the largest entry of the gradient is at most ``tol``, or when the Newton
decrement ``-g^T s`` falls to the rounding level of the objective (no further
decrease is representable).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from losskit.linear_model._problem import EPS, LinearProblem, gradient_norm
from losskit.linear_model._result import SolverResult

__all__ = ["newton"]


def newton(problem: LinearProblem, theta: np.ndarray, *, tol: float, max_iter: int,
           callback: Callable[[Any], Any] | None = None) -> SolverResult:
    history: list[float] = []
    value, gradient, hessian = problem.smooth_value_gradient_hessian(theta)
    history.append(value)
    converged = False
    message = f"reached max_iter={max_iter}"
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        if gradient_norm(gradient) <= tol:
            converged, n_iter, message = True, n_iter - 1, "gradient below tol"
            break
        step = _newton_step(hessian, gradient)
        decrement = float(-gradient @ step)
        if decrement <= 4 * EPS * max(1.0, abs(value)):
            converged, n_iter = True, n_iter - 1
            message = "Newton decrement at the rounding level of the objective"
            break
        accepted, trial = _armijo(problem, theta, value, step, decrement)
        if accepted is None:
            # No decrease is representable: at the optimum to working precision if the
            # gradient is small relative to the curvature, else a genuine failure.
            converged = decrement <= 1e3 * EPS * max(1.0, abs(value))
            message = "line search found no decrease"
            n_iter -= 1
            break
        theta = accepted
        value, gradient, hessian = problem.smooth_value_gradient_hessian(theta, trial)
        history.append(value)
        if callback is not None:
            callback(theta)
    else:
        converged = gradient_norm(gradient) <= tol
    return SolverResult(theta, value, n_iter, converged, history, message,
                        {"gradient_norm": gradient_norm(gradient)})


def _newton_step(hessian: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """``-H^{-1} g`` by Cholesky; for a singular or indefinite ``H``, the minimum-norm
    step over the eigenvectors of ``H`` with curvature ``|lambda|`` (a descent
    direction that ignores the flat directions, as ``lstsq`` does for least squares
    with more features than samples)."""
    try:
        factor, lower = cho_factor(hessian, lower=True, check_finite=False)
        pivots = np.abs(np.diag(factor))
        if pivots.size and np.min(pivots) ** 2 > 1e-10 * np.max(pivots) ** 2:
            step = -cho_solve((factor, lower), gradient, check_finite=False)
            if np.all(np.isfinite(step)):
                return step
    except LinAlgError:
        pass
    values, vectors = np.linalg.eigh(hessian)
    curvature = np.abs(values)
    cutoff = max(float(np.max(curvature)) * hessian.shape[0] * EPS, 1e-300)
    keep = curvature > cutoff
    projected = vectors[:, keep].T @ gradient
    step = -vectors[:, keep] @ (projected / curvature[keep])
    if not np.any(keep) or float(gradient @ step) >= 0:
        return -gradient / max(float(np.max(curvature)), 1.0)
    return step


def _armijo(problem: LinearProblem, theta: np.ndarray, value: float, step: np.ndarray,
            decrement: float) -> tuple[np.ndarray | None, float]:
    """The first of ``theta + t step``, ``t = 1, 1/2, ...`` with sufficient decrease,
    and its value."""
    t = 1.0
    for _ in range(60):
        candidate = theta + t * step
        with np.errstate(over="ignore"):  # a long trial step may overflow exp: rejected
            trial = problem.smooth_value(candidate)
        if np.isfinite(trial) and trial <= value - 1e-4 * t * decrement:
            return candidate, trial
        t *= 0.5
    return None, value
