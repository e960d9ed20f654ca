r"""Exact fits of the piecewise-linear losses by a primal-dual interior-point method.

``interior_point`` minimises, over the columns of ``X`` (the caller's intercept column
among them),

.. math:: \frac{1}{\sum_i w_i} \sum_i w_i L(x_i^\top\beta, y_i)
          + \alpha\Big(r\,\|\beta_P\|_1 + \frac{1 - r}{2}\|\beta_P\|_2^2\Big)

for ``L`` the quantile (pinball), absolute-error, asymmetric or hinge loss, ``P`` the
penalised columns and ``r`` the ``l1_ratio``. Each loss is a multiple of a pinball
loss of a linear residual:

- ``quantile(q)``: ``rho_q(y - x'beta)``;
- ``absolute_error``: ``2 rho_{1/2}``;
- ``asymmetric(alpha_a)``: ``(1 + alpha_a) rho_tau`` with ``tau = alpha_a / (1 + alpha_a)``
  (slope ``alpha_a`` under the target, 1 over it);
- ``hinge``: ``max(0, 1 - s x'beta) = rho_1(1 - (s x)'beta)`` with signs ``s = +-1``:
  quantile regression at ``tau = 1`` of the constant 1 on the signed rows ``s x``.

So one solver serves all four: the Frisch-Newton method on the bounded dual
(:mod:`losskit.linear_model._lp_frisch_newton`), whose iterations each factor one ``p x p``
matrix, then a move to the exact vertex with a dual certificate. With an L1 penalty
the problem stays a linear programme (pseudo-observations); with an L2 part it is a
quadratic programme the same iteration solves (the ridge adds to the ``p x p``
matrix), with no vertex to move to: its certificate is the interior-point gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from losskit.linear_model._lp_frisch_newton import Design
from losskit.linear_model._lp_preprocess import solve
from losskit.linear_model._result import SolverResult

__all__ = ["PinballForm", "interior_point", "pinball_form"]

_SUPPORTED = ("quantile", "absolute_error", "asymmetric", "hinge")


@dataclass
class PinballForm:
    r"""A loss fit as ``scale * sum_i u_i rho_tau(target_i - rows_i' beta) / n``.

    ``rows`` is ``X`` (``s X`` for the hinge) with zero-weight rows dropped; ``u`` the
    weights normalised to mean 1 over the ``n`` kept rows; ``scale`` the sum of the two
    slopes (``2`` for the absolute error, ``1 + alpha`` for the asymmetric loss).
    """

    rows: np.ndarray
    target: np.ndarray
    u: np.ndarray
    tau: float
    scale: float

    @property
    def n(self) -> int:
        return self.rows.shape[0]


def _loss_levels(loss: Any) -> tuple[float, float]:
    """``(tau, slope sum)`` of a supported loss; ValueError for any other."""
    name = getattr(loss, "name", None)
    if name not in _SUPPORTED:
        raise ValueError(
            f"loss for the interior-point solver must be one of {list(_SUPPORTED)} (a losskit "
            f"loss instance); got {name or type(loss).__name__!r}. Smooth losses go to the "
            "Newton or L-BFGS solvers.")
    link = getattr(getattr(loss, "link", None), "name", "identity")
    if link != "identity":
        raise ValueError(f"the interior-point solver fits '{name}' with the identity link "
                         f"only (the loss is linear in the prediction); got link={link!r}")
    if name == "hinge":
        return 1.0, 1.0
    if name == "absolute_error":
        return 0.5, 2.0
    below, above = float(loss.below), float(loss.above)
    return below / (below + above), below + above


def _check_data(X: Any, y: Any, sample_weight: Any) -> tuple[np.ndarray, np.ndarray,
                                                              np.ndarray]:
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-d design matrix; got shape {X.shape}")
    n, p = X.shape
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},) to match X {X.shape}; got {y.shape}")
    if n == 0 or p == 0:
        raise ValueError(f"X must have at least one row and one column; got shape {X.shape}")
    for name, array in (("X", X), ("y", y)):
        if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
            raise ValueError(f"{name} must be real numbers; got dtype {array.dtype}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be finite; it holds NaN or inf")
    if sample_weight is None:
        w = np.ones(n)
    else:
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (n,):
            raise ValueError(f"sample_weight must have shape ({n},); got {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("sample_weight must be finite and >= 0")
        if not np.any(w > 0):
            raise ValueError("sample_weight must have at least one positive entry")
    return X, y, w


def pinball_form(X: Any, y: Any, loss: Any, sample_weight: Any = None) -> PinballForm:
    """Validate the inputs and write the loss as a weighted pinball problem (no copy of
    ``X`` unless it is not float64, has zero weights, or the loss is the hinge)."""
    tau, scale = _loss_levels(loss)
    X, y, w = _check_data(X, y, sample_weight)
    if loss.name == "hinge":
        loss(np.zeros(y.shape[0]), y)  # validates the labels: {0, 1} or {-1, 1}
    keep = w > 0
    if not np.all(keep):
        X, y, w = X[keep], y[keep], w[keep]
    rows = np.asarray(X, dtype=np.float64)
    target = np.asarray(y, dtype=np.float64)
    if loss.name == "hinge":
        signs = np.where(target == 0, -1.0, target)
        rows = rows * signs[:, None]
        target = np.ones_like(target)
    u = w * (w.shape[0] / np.sum(w))
    return PinballForm(rows, target, u, tau, scale)


def _penalty(coef: np.ndarray, mask: np.ndarray, alpha: float, l1_ratio: float) -> float:
    beta = coef[mask]
    return alpha * (l1_ratio * float(np.sum(np.abs(beta)))
                    + 0.5 * (1.0 - l1_ratio) * float(beta @ beta))


def interior_point(X: Any, y: Any, *, loss: Any, sample_weight: Any = None,
                   penalized: Any = None, alpha: float = 0.0, l1_ratio: float = 1.0,
                   tol: float = 1e-10, max_iter: int = 200,
                   preprocess: bool | None = None) -> SolverResult:
    r"""Fit a piecewise-linear loss exactly: Frisch-Newton, then the optimal vertex.

    Parameters
    ----------
    X : (n, p) array
        The design, with the intercept column already in it when there is one.
    y : (n,) array
        Targets (binary labels in {0, 1} or {-1, 1} for the hinge).
    loss : losskit loss
        ``quantile``, ``absolute_error``, ``asymmetric`` or ``hinge``, identity link.
    sample_weight : (n,) array, optional
        Nonnegative weights; rows of weight 0 are dropped.
    penalized : (p,) bool array, optional
        The columns the penalty applies to (None: all).
    alpha, l1_ratio : float
        The penalty ``alpha (l1_ratio |beta|_1 + (1 - l1_ratio) |beta|_2^2 / 2)``.
        ``l1_ratio = 1`` (L1 only) keeps a linear programme with an exact vertex; below
        1 the problem is a quadratic programme (solved too, certified by the gap).
    tol : float
        Duality gap, relative to the objective (or to the loss's scale, slopes times
        the spread of ``y``, when the optimum is near 0), required for ``converged``
        when no vertex is certified; a certified vertex has a gap at rounding level.
    max_iter : int
        Interior-point iterations, at most (per interior-point run).
    preprocess : bool, optional
        Portnoy-Koenker preprocessing (fit a subsample, fix the observations far from
        it at their bound, solve the reduced problem, check all rows). None: when the
        subsample ``((p + 1) n)^{2/3}`` is under a third of the rows and there is no L2
        part. The certificate is computed on the full data either way.

    Returns
    -------
    SolverResult
        ``objective`` is the objective above, computed with ``loss`` on the original
        data; ``certificate`` holds ``duality_gap`` and ``relative_gap`` (in the units
        of the objective), ``dual_infeasibility`` (``max |(A'd)_j|`` over the unpenalised
        columns, relative), ``box_violation`` and ``vertex`` (True when the solution
        interpolates ``p`` observations and a dual proves it optimal to rounding).
        ``history`` holds the relative complementarity gap after each interior-point
        iteration (of every run, in order), not the objective: an interior-point
        iterate's objective is not monotone, and after preprocessing it belongs to a
        reduced problem. ``n_iter`` counts the iterations of all runs.

    References
    ----------
    Portnoy, S. & Koenker, R. (1997). The Gaussian hare and the Laplacian tortoise.
    Statistical Science 12(4), 279-300. https://doi.org/10.1214/ss/1030037960
    """
    form = pinball_form(X, y, loss, sample_weight)
    p = form.rows.shape[1]
    mask = _mask(penalized, p)
    alpha = _nonnegative(alpha, "alpha")
    l1_ratio = _nonnegative(l1_ratio, "l1_ratio")
    if l1_ratio > 1:
        raise ValueError(f"l1_ratio must be in [0, 1]; got {l1_ratio!r}")
    if int(max_iter) < 1:
        raise ValueError(f"max_iter must be >= 1; got {max_iter!r}")
    n = form.n
    if alpha == 0.0 or not np.any(mask):
        l1 = l2 = 0.0
    else:
        l1, l2 = alpha * l1_ratio, alpha * (1.0 - l1_ratio)
    if n < p and l1 == 0.0 and l2 == 0.0:
        raise ValueError(
            f"an unpenalised fit of '{loss.name}' with {p} columns needs at least {p} rows "
            f"of positive weight (got {n}): the solution is not determined. Add an L1 or "
            "L2 penalty, or drop columns.")
    # Internal units: sum_i u_i rho(t_i/ys - a_i'b) + lam1 |b_P|_1 + lam2 |b_P|^2 / 2,
    # with beta = ys b; the objective above is (scale ys / n) times it.
    y_scale = _scale_of(form.target)
    target = form.target / y_scale
    lam1 = n * l1 / form.scale
    lam2 = n * l2 / form.scale * y_scale
    penalised_columns = np.flatnonzero(mask) if lam1 > 0 else np.zeros(0, dtype=np.intp)
    index = np.repeat(penalised_columns, 2)
    sign = np.tile([1.0, -1.0], penalised_columns.shape[0])
    design = Design(form.rows, index, sign)
    u = np.concatenate([form.u, np.full(index.shape[0], lam1)])
    y_lp = np.concatenate([target, np.zeros(index.shape[0])])
    ridge = np.where(mask, lam2, 0.0)

    outcome = solve(design, y_lp, u, form.tau, ridge, int(max_iter), preprocess)
    best = outcome.certificate
    units = form.scale * y_scale / n
    coef = best.beta * y_scale
    X_data, y_data, w = _check_data(X, y, sample_weight)
    value = float(loss(X_data @ coef, y_data, sample_weight=w)) + _penalty(coef, mask, alpha,
                                                                          l1_ratio)
    gap = units * best.gap
    relative = gap / max(abs(value), np.finfo(float).tiny)
    infeasibility = best.dual_infeasibility / max(float(np.max(np.abs(u))), 1.0)
    feasible = infeasibility <= 1e-8 and best.box_violation <= 1e-9
    # At an optimum of (nearly) zero a relative gap means little: the loss's own scale
    # (slopes times the spread of y) stands in for the objective there.
    converged = feasible and (best.vertex or gap <= tol * max(abs(value), form.scale * y_scale))
    certificate = {"duality_gap": gap, "relative_gap": relative,
                   "dual_infeasibility": infeasibility, "box_violation": best.box_violation,
                   "vertex": best.vertex, "interior_point_iterations": outcome.iterations,
                   "regularised_factorisation": outcome.regularised}
    message = ("optimal vertex, certified by its dual" if best.vertex
               else "interior-point solution" + ("" if converged else
                                                 " (gap above tol or dual infeasible)"))
    history = [float(h) for h in outcome.history]
    if outcome.notes:
        message += "; " + "; ".join(outcome.notes)
    return SolverResult(coef=coef, objective=value, n_iter=outcome.iterations,
                        converged=bool(converged), history=history, message=message,
                        certificate=certificate)


def _mask(penalized: Any, p: int) -> np.ndarray:
    if penalized is None:
        return np.ones(p, dtype=bool)
    mask = np.asarray(penalized)
    if mask.shape != (p,) or mask.dtype != bool:
        raise ValueError(f"penalized must be a boolean mask of shape ({p},); got "
                         f"{mask.dtype} of shape {mask.shape}")
    return mask


def _nonnegative(value: Any, name: str) -> float:
    number = float(value)
    if not np.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return number


def _scale_of(target: np.ndarray) -> float:
    """A scale for the targets (the interior point starts better on unit scale)."""
    spread = float(np.mean(np.abs(target - np.median(target))))
    if spread > 0 and np.isfinite(spread):
        return spread
    size = float(np.max(np.abs(target)))
    return size if size > 0 else 1.0

