r"""L1 and elastic-net penalties: proximal Newton and accelerated proximal gradient.

Both minimise ``F(theta) = f(theta) + lambda_1 ||B||_1`` where ``f`` is the smooth part
(the data term and the ridge term).

- ``proximal_newton`` (single-output losses with an exact Hessian, as glmnet and
  Lee, Sun & Saunders, *Proximal Newton-type methods*, SIAM J. Optim. 24, 2014): each
  iteration minimises the quadratic model of ``f`` plus the L1 term by cyclic
  coordinate descent, then backtracks along the step until ``F`` decreases enough.
- ``proximal_gradient`` (everything else): FISTA (Beck & Teboulle, SIAM J. Imaging
  Sci. 2, 2009) with a backtracking Lipschitz estimate and the function-value restart
  of O'Donoghue & Candès (Found. Comput. Math. 15, 2015).

Optimality is measured the same way for both: the sup-norm of the minimum-norm
subgradient of ``F`` (``certificate["subgradient_norm"]``), zero exactly at a minimiser.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from losskit.linear_model._problem import EPS, LinearProblem
from losskit.linear_model._result import SolverResult

__all__ = ["proximal_gradient", "proximal_newton", "subgradient_norm"]


def subgradient_norm(problem: LinearProblem, theta: np.ndarray, gradient: np.ndarray) -> float:
    """``max_j |v_j|`` for the smallest ``v`` in the subdifferential of ``F`` at ``theta``."""
    residual = gradient.copy()
    n = problem.n_coef
    lam = problem.l1
    head, coef = residual[:n], theta[:n]
    nonzero = coef != 0
    head[nonzero] += lam * np.sign(coef[nonzero])
    head[~nonzero] = np.maximum(np.abs(head[~nonzero]) - lam, 0.0)
    return float(np.max(np.abs(residual))) if residual.size else 0.0


def proximal_newton(problem: LinearProblem, theta: np.ndarray, *, tol: float, max_iter: int,
                    callback: Callable[[Any], Any] | None = None) -> SolverResult:
    value, gradient, hessian = problem.smooth_value_gradient_hessian(theta)
    objective = value + problem.l1_value(theta)
    history = [objective]
    optimality = subgradient_norm(problem, theta, gradient)
    converged = optimality <= tol
    n_iter = 0
    message = "subgradient below tol" if converged else f"reached max_iter={max_iter}"
    while not converged and n_iter < max_iter:
        n_iter += 1
        target = _lasso_quadratic(problem, theta, gradient, hessian)
        step = target - theta
        # Predicted decrease of F along the step (Lee et al., eq. 2.20); negative.
        predicted = float(gradient @ step) + problem.l1_value(target) - problem.l1_value(theta)
        if predicted > -4 * EPS * max(1.0, abs(objective)):
            converged = True
            message = "model decrease at the rounding level of the objective"
            break
        t = 1.0
        for _ in range(60):
            candidate = theta + t * step
            with np.errstate(over="ignore"):
                trial = problem.objective(candidate)
            if np.isfinite(trial) and trial <= objective + 1e-4 * t * predicted:
                break
            t *= 0.5
        else:
            message = "line search found no decrease"
            break
        theta = candidate
        value, gradient, hessian = problem.smooth_value_gradient_hessian(theta)
        objective = value + problem.l1_value(theta)
        history.append(objective)
        if callback is not None:
            callback(theta)
        optimality = subgradient_norm(problem, theta, gradient)
        if optimality <= tol:
            converged, message = True, "subgradient below tol"
    return SolverResult(theta, objective, n_iter, converged, history, message,
                        {"subgradient_norm": optimality})


def _lasso_quadratic(problem: LinearProblem, theta: np.ndarray, gradient: np.ndarray,
                     hessian: np.ndarray, sweeps: int = 1000) -> np.ndarray:
    """``argmin_z g^T (z - theta) + 1/2 (z - theta)^T H (z - theta) + lambda ||z_B||_1``
    by cyclic coordinate descent."""
    z = theta.copy()
    model_gradient = gradient.copy()  # gradient of the quadratic at z
    diagonal = np.maximum(np.diag(hessian), 1e-12 * max(1.0, float(np.max(np.diag(hessian)))))
    n, lam = problem.n_coef, problem.l1
    scale = max(1.0, float(np.max(np.abs(theta))))
    for _ in range(sweeps):
        largest = 0.0
        for j in range(z.size):
            old = z[j]
            centre = old - model_gradient[j] / diagonal[j]
            if j < n:
                threshold = lam / diagonal[j]
                new = np.sign(centre) * max(abs(centre) - threshold, 0.0)
            else:
                new = centre
            change = new - old
            if change != 0.0:
                z[j] = new
                model_gradient += hessian[:, j] * change
                largest = max(largest, abs(change))
        if largest <= 1e-15 * scale:
            break
    return z


def proximal_gradient(problem: LinearProblem, theta: np.ndarray, *, tol: float,
                      max_iter: int,
                      callback: Callable[[Any], Any] | None = None) -> SolverResult:
    x = theta.copy()
    value_x, gradient_x = problem.smooth_value_gradient(x)
    objective_x = value_x + problem.l1_value(x)
    history = [objective_x]
    optimality = subgradient_norm(problem, x, gradient_x)
    y, gradient_y = x, gradient_x
    momentum, lipschitz = 1.0, 1.0
    converged = optimality <= tol
    n_iter = 0
    while not converged and n_iter < max_iter:
        n_iter += 1
        while True:  # backtracking on the gradient's Lipschitz bound, robust near the end
            candidate = problem.prox_l1(y - gradient_y / lipschitz, 1.0 / lipschitz)
            difference = candidate - y
            with np.errstate(over="ignore"):
                value_c, gradient_c = problem.smooth_value_gradient(candidate)
            squared = float(difference @ difference)
            if np.isfinite(value_c) and (
                    squared == 0.0
                    or float((gradient_c - gradient_y) @ difference) <= lipschitz * squared):
                break
            lipschitz *= 2.0
        objective_c = value_c + problem.l1_value(candidate)
        if objective_c > objective_x and momentum > 1.0:
            # Restart: the momentum overshot; take a plain proximal step from x next.
            momentum = 1.0
            y, gradient_y = x, gradient_x
            continue
        next_momentum = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * momentum**2))
        y = candidate + ((momentum - 1.0) / next_momentum) * (candidate - x)
        x, value_x, gradient_x, objective_x = candidate, value_c, gradient_c, objective_c
        momentum = next_momentum
        if y is not x:
            with np.errstate(over="ignore"):
                _, gradient_y = problem.smooth_value_gradient(y)
        history.append(objective_x)
        if callback is not None:
            callback(x)
        optimality = subgradient_norm(problem, x, gradient_x)
        converged = optimality <= tol
        lipschitz *= 0.95  # let the estimate shrink again
    return SolverResult(x, objective_x, n_iter, converged, history,
                        "subgradient below tol" if converged
                        else f"reached max_iter={max_iter}",
                        {"subgradient_norm": optimality})
